"""Fairness audit reports: assemble, render, sign, export and verify.

``assemble``, ``canonical``, ``render`` and ``signing`` are pure; ``export`` and ``verify``
do the database I/O. Reports may import :mod:`storage` and analyzers, never
:mod:`monitors.alerts` nor :mod:`app`.
"""
