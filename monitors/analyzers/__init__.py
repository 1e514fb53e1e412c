"""Pure analyzers: DataFrames and a schema/config in, frozen dataclasses out.

Rule for every module here: an analyzer is a pure function over pandas DataFrames and a
schema (:mod:`storage.schema`, the contract shared with storage) and a pydantic config,
returning frozen dataclasses (and a ``*_records`` function flattening them into
:class:`~monitors.analyzers.base.MetricRecord` rows). Modules may import numpy, pandas,
scipy, scikit-learn, shap, fairlearn, pydantic, ``monitors.errors`` and ``storage.schema``
only: no SQLAlchemy, no storage engine or other ``storage.*`` module, no I/O, no clock, no
global random state.

Layout (as fairlearn's ``metrics``): one idea per private module (``_drift_stats``,
``_fairness_window``, ``_quality_column`` ...), re-exported by the public modules
``drift``, ``explain``, ``fairness``, ``performance`` and ``quality``; the result types
of each analyzer sit in a module below the ones computing them, so imports never cycle.
"""
