"""``python -m monitors.cli``: the ``driftwarden`` command line."""

from monitors.cli import main

main()
