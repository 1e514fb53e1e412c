"""Start (or reuse) a throwaway PostgreSQL cluster on a loopback port, for tests and benchmarks.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root the cluster runs as an OS
user ``pgtest`` (created if missing). Usage::

    python scripts/pgcluster.py start  [--dir .pg] [--port 55432]   # prints the URL
    python scripts/pgcluster.py stop   [--dir .pg]
    python scripts/pgcluster.py remove [--dir .pg]   # stop, then delete the directory

The cluster directory holds a ``.gitignore`` of ``*``, so a cluster in any ``--dir`` (the
Makefile's ``PG_DIR``) stays out of git; ``remove`` deletes only a directory this script
made (one holding ``data/PG_VERSION`` or that ``.gitignore``, or an empty one).
"""

from __future__ import annotations

import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

USER = "pgtest"
#: The ``.gitignore`` written into every cluster directory (and recognised by ``remove``).
MARKER = "# a throwaway PostgreSQL cluster of scripts/pgcluster.py\n*\n"


def _bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _as_user(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["su", USER, "-s", "/bin/sh", "-c", " ".join(_quote(c) for c in cmd)]


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\"'\"'") + "'"


def _ensure_user() -> None:
    if os.geteuid() != 0:
        return
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "-m", USER], check=True)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def url_for(port: int) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"


def start(directory: Path, port: int) -> str:
    """Start the cluster in ``directory`` (creating it) and return its SQLAlchemy URL."""
    if _port_open(port):
        return url_for(port)
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries (pg_ctl, initdb) not found; install 'postgresql'"
        )
    _ensure_user()
    directory = directory.resolve()
    data = directory / "data"
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text(MARKER)
    if os.geteuid() == 0:
        pw = pwd.getpwnam(USER)
        for path in [directory, *directory.rglob("*")]:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        # every parent must be traversable by the cluster user
        for parent in directory.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                os.chmod(parent, mode | 0o001)
    if not (data / "PG_VERSION").exists():
        subprocess.run(
            _as_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )
    opts = (
        f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        _as_user(
            [
                str(bindir / "pg_ctl"),
                "-D",
                str(data),
                "-l",
                str(directory / "log"),
                "-o",
                opts,
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not _port_open(port):
        if time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start on port {port}; see {directory / 'log'}")
        time.sleep(0.1)
    return url_for(port)


def stop(directory: Path) -> None:
    bindir = _bindir()
    data = directory.resolve() / "data"
    if bindir is None or not (data / "postmaster.pid").exists():
        return
    subprocess.run(
        _as_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
        check=False,
        stdout=subprocess.DEVNULL,
    )


def remove(directory: Path) -> None:
    """Stop the cluster in ``directory`` and delete the directory, if this script made it."""
    directory = directory.resolve()
    if not directory.exists():
        return
    ignore = directory / ".gitignore"
    ours = (
        (directory / "data" / "PG_VERSION").exists()
        or (ignore.is_file() and ignore.read_text(errors="replace") == MARKER)
        or not any(directory.iterdir())
    )
    if not ours:
        raise SystemExit(
            f"pgcluster: {directory} is not a cluster directory of this script "
            "(no data/PG_VERSION); not removing it"
        )
    stop(directory)
    shutil.rmtree(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "remove"])
    parser.add_argument("--dir", default=".pg")
    parser.add_argument("--port", type=int, default=55432)
    args = parser.parse_args()
    if args.action == "start":
        print(start(Path(args.dir), args.port))
    elif args.action == "remove":
        remove(Path(args.dir))
    else:
        stop(Path(args.dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
