"""Collectors: the SDK client, schema validation, batch/file import and label backfill."""

from monitors.collectors.client import Client, ModelInfo
from monitors.collectors.ingest import IngestResult, LabelResult

__all__ = ["Client", "IngestResult", "LabelResult", "ModelInfo"]
