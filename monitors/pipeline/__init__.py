"""The analysis pass: the one place that wires storage, analyzers and alerts.

It loads closed windows from :mod:`storage`, runs :mod:`monitors.analyzers`, stores the
results, then hands them to :mod:`monitors.alerts` (evaluation and outbox delivery).
"""
