"""Collectors: the SDK ``Client`` (a façade), validation, batch/file ingest, label backfill.

May import ``storage``, :mod:`monitors.windows`, ``errors``, ``config``, ``artifacts`` and
(lazily, for ``Client.explain``) :mod:`monitors.explanations`; never pipeline, reports, alerts, cli.
"""

from monitors.collectors.client import Client, ModelInfo
from monitors.collectors.ingest import IngestResult, LabelResult

__all__ = ["Client", "IngestResult", "LabelResult", "ModelInfo"]
