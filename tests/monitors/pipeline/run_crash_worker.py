"""Runner for ``test_run_crash.py``: a pre-imported "zygote" that forks one real pass per command.

Started as ``python run_crash_worker.py DATABASE_URL NOW`` (``NOW`` in ISO 8601). For each
line ``go TAG`` on stdin it forks a child that points the test's channel variables at
``$CRASH_HOOK_BASE/TAG/...`` and runs one real analysis pass,
``monitors.pipeline.run.run_pass(url=DATABASE_URL, now=NOW)`` (load windows, analyse,
store, evaluate the alert rules, deliver the outbox); it prints ``pid <pid>``, waits for
the child and prints ``exit <status>``; it prints ``ready`` once imported. The test kills
children with SIGKILL at random moments. Forking from a process that has already
imported everything keeps each restart cheap; the zygote itself never opens a database
connection.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from datetime import datetime

import fairlearn.metrics  # noqa: F401  (imported here so that children start warm)

# run_pass imports the alert modules lazily: import them here for the same reason
import monitors.alerts.engine
import monitors.alerts.notifiers
import monitors.alerts.outbox  # noqa: F401
from monitors.pipeline.run import run_pass
from storage.engine import dispose_all

CHILD_DEADLINE_SECONDS = 60
CHANNEL_PATHS = {"CRASH_HOOK_URL": "hook", "CRASH_SLACK_URL": "chat"}


def child(url: str, now: datetime, tag: str) -> None:
    """One pass, with this command's channel URLs."""
    signal.alarm(CHILD_DEADLINE_SECONDS)  # a stuck runner dies (SIGALRM) instead of hanging
    dispose_all()  # never use a connection inherited through fork
    base = os.environ["CRASH_HOOK_BASE"]
    for variable, path in CHANNEL_PATHS.items():
        os.environ[variable] = f"{base}/{tag}/{path}"
    run_pass(url=url, now=now)


def main() -> None:
    url, now = sys.argv[1], datetime.fromisoformat(sys.argv[2])
    print("ready", flush=True)
    for line in sys.stdin:
        words = line.split()
        if len(words) != 2 or words[0] != "go":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(url, now, words[1])
            except BaseException as exc:  # reported; the test fails on a non-zero exit
                print(f"child error {type(exc).__name__}: {exc}", file=sys.stderr)
                traceback.print_exc(file=sys.stderr)
                sys.stderr.flush()
                code = 1
            finally:
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {status}", flush=True)


if __name__ == "__main__":
    main()
