"""Alerts: rule files, a pure evaluation state machine, notifiers and the delivery outbox.

Reads and writes through :mod:`storage`; imports no analyzers and never :mod:`app`. It is
driven by :mod:`monitors.pipeline`, the CLI, the demo and the dashboard's actions.
"""
