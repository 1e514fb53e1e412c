"""Mergeable window summaries and the executors that compute them where the rows live.

See ``docs/scale.md``: :mod:`.types` (the summary), :mod:`.spec` (the reference-fixed
bins), :mod:`.merge`, and the executors :mod:`.memory` (pandas), :mod:`.postgres`
(one SQL statement per window) and :mod:`.spark` (Spark DataFrame API).
"""
