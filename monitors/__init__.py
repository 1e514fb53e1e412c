"""Monitors: ingest, analyse, alert and report. Uses :mod:`storage`; never imports :mod:`app`.

``analyzers`` are pure and take only :mod:`storage.schema` from storage; ``collectors``,
``alerts`` and ``reports`` read and write through :mod:`storage` (``reports`` also uses
``analyzers``, ``alerts`` never does); ``pipeline`` alone wires storage, analyzers and
alerts; the ``cli*`` modules sit on top and may import any of them.
"""
