"""Model registry: models, their schemas and column mapping, reference datasets, artifacts."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from storage.errors import DuplicateModelError, SchemaConflictError, SchemaError, UnknownModelError
from storage.logs import add_log_column, create_log_table, physical_name
from storage.models import Model, ModelArtifact, ModelColumn, ReferenceDataset
from storage.schema import (
    ColumnSpec,
    DType,
    IngestPolicy,
    ModelSchema,
    Role,
    validate_model_name,
)

WINDOW_RE = re.compile(r"^(\d+)(m|h|d|w|mo)$")


def validate_window(window: str) -> str:
    """Return ``window`` if it is a valid window size (``15m``, ``1h``, ``1d``, ``7d``, ``1mo``)."""
    match = WINDOW_RE.match(window or "")
    if not match or int(match.group(1)) <= 0:
        raise SchemaError(
            f"window {window!r} is invalid: expected a positive number followed by "
            "m, h, d, w or mo (e.g. '1h', '1d', '7d', '1mo')"
        )
    return window


def get_model(session: Session, name: str) -> Model:
    """The model called ``name``, with its columns loaded.

    Raises
    ------
    UnknownModelError
        If no model has that name.
    """
    model = session.scalars(
        select(Model).where(Model.name == name).options(selectinload(Model.columns))
    ).one_or_none()
    if model is None:
        known = session.scalars(select(Model.name).order_by(Model.name)).all()
        hint = f"; registered: {', '.join(known)}" if known else "; no model is registered yet"
        raise UnknownModelError(f"unknown model {name!r}{hint}")
    return model


def list_models(session: Session) -> list[Model]:
    """Every registered model, by name."""
    return list(
        session.scalars(select(Model).order_by(Model.name).options(selectinload(Model.columns)))
    )


def model_schema(model: Model) -> ModelSchema:
    """The validated schema of a stored model."""
    return ModelSchema.model_validate(model.schema_json)


def create_model(
    session: Session,
    name: str,
    schema: ModelSchema,
    *,
    window: str = "1d",
    config: dict[str, Any] | None = None,
    retention_days: int | None = None,
    policy: IngestPolicy | None = None,
) -> Model:
    """Register a model and create its prediction log table (in the caller's transaction).

    Raises
    ------
    DuplicateModelError
        If the name is taken.
    SchemaError
        If the name or window is invalid.
    """
    validate_model_name(name)
    validate_window(window)
    if retention_days is not None and retention_days <= 0:
        raise SchemaError(f"retention_days must be a positive number of days; got {retention_days}")
    if session.scalar(select(Model.id).where(Model.name == name)) is not None:
        raise DuplicateModelError(f"model {name!r} is already registered")
    model = Model(
        name=name,
        task=schema.task.value,
        window=window,
        schema_json=schema.model_dump(mode="json"),
        config=config or {},
        log_table="pending",
        next_column=0,
        retention_days=retention_days,
        ingest_policy=(
            policy.model_dump(mode="json", exclude_defaults=True) if policy is not None else None
        ),
    )
    session.add(model)
    session.flush()
    model.log_table = f"log_{model.id}"
    for spec in schema.columns:
        _append_column(model, spec)
    session.flush()
    create_log_table(session.connection(), model)
    return model


def _append_column(model: Model, spec: ColumnSpec) -> ModelColumn:
    column = _new_column(model, spec, model.next_column)
    model.columns.append(column)
    model.next_column = column.position + 1
    return column


def _new_column(model: Model, spec: ColumnSpec, position: int) -> ModelColumn:
    """A ``model_column`` row for ``spec`` at ``position`` (not attached to the model)."""
    return ModelColumn(
        model_id=model.id,
        position=position,
        name=spec.name,
        physical=physical_name(position),
        role=spec.role.value,
        dtype=spec.dtype.value,
        categorical=spec.categorical,
    )


def _checked_new_specs(model: Model, specs: Sequence[ColumnSpec]) -> list[ColumnSpec]:
    """The specs not yet in the schema; another role than feature/sensitive or type raises."""
    existing = {c.name: c for c in model_schema(model).columns}
    new: list[ColumnSpec] = []
    for spec in specs:
        if spec.role not in (Role.FEATURE, Role.SENSITIVE):
            raise SchemaError(
                f"column {spec.name!r}: only feature or sensitive columns can be added; "
                f"got role {spec.role.value!r}"
            )
        old = existing.get(spec.name)
        if old is not None:
            if (old.dtype, old.role) != (spec.dtype, spec.role):
                raise SchemaConflictError(
                    f"model {model.name!r}, column {spec.name!r}: stored as {old.role.value} "
                    f"{old.dtype.value}; got {spec.role.value} {spec.dtype.value}"
                )
            continue
        new.append(spec)
    return new


def plan_columns(
    model: Model, specs: Sequence[ColumnSpec]
) -> tuple[ModelSchema, list[ModelColumn]]:
    """The schema after adding ``specs`` and the new ``model_column`` rows; changes nothing.

    For writers that apply the change in their own transaction
    (:func:`storage.bulk.add_log_columns`). Raises as :func:`add_columns`.
    """
    schema = model_schema(model)
    columns: list[ModelColumn] = []
    for spec in _checked_new_specs(model, specs):
        schema = schema.with_column(spec)
        columns.append(_new_column(model, spec, model.next_column + len(columns)))
    return schema, columns


def add_columns(session: Session, model: Model, specs: Sequence[ColumnSpec]) -> list[ModelColumn]:
    """Schema evolution: add new nullable feature/sensitive columns to a model.

    A column whose name exists with another type is a :class:`SchemaConflictError`
    and nothing changes.
    """
    schema = model_schema(model)
    added: list[ModelColumn] = []
    for spec in _checked_new_specs(model, specs):
        schema = schema.with_column(spec)
        column = _append_column(model, spec)
        session.flush()
        add_log_column(session.connection(), model, column)
        added.append(column)
    model.schema_json = schema.model_dump(mode="json")
    session.flush()
    return added


def ingest_policy(model: Model) -> IngestPolicy:
    """The model's ingest policy: its stored overrides over the documented defaults."""
    return IngestPolicy.model_validate(model.ingest_policy or {})


def update_model(
    session: Session,
    model: Model,
    *,
    config: dict[str, Any] | None = None,
    window: str | None = None,
    retention_days: int | None = None,
    policy: IngestPolicy | None = None,
) -> Model:
    """Change a model's analysis config, window size, retention or ingest policy."""
    if policy is not None:
        model.ingest_policy = policy.model_dump(mode="json", exclude_defaults=True)
    if config is not None:
        model.config = config
    if window is not None:
        model.window = validate_window(window)
    if retention_days is not None:
        if retention_days <= 0:
            raise SchemaError(f"retention_days must be positive; got {retention_days}")
        model.retention_days = retention_days
    session.flush()
    return model


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def set_reference(
    session: Session, model: Model, frame: pd.DataFrame, *, replace: bool = False
) -> ReferenceDataset:
    """Store a new version of the model's reference dataset (Parquet bytes).

    With ``replace`` every older version is deleted (on SQLite its bytes are zeroed:
    ``secure_delete``), e.g. to remove a reference that holds sensitive values; the new
    version keeps counting up, so results stay tied to the version they used.
    """
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buf, compression="zstd")
    data = buf.getvalue()
    version = (
        session.scalar(
            select(func.max(ReferenceDataset.version)).where(ReferenceDataset.model_id == model.id)
        )
        or 0
    ) + 1
    ref = ReferenceDataset(
        model_id=model.id, version=version, n_rows=len(frame), sha256=_sha256(data), data=data
    )
    session.add(ref)
    session.flush()
    if replace:
        session.execute(
            delete(ReferenceDataset).where(
                ReferenceDataset.model_id == model.id, ReferenceDataset.version < version
            )
        )
    return ref


def reference_version(session: Session, model: Model) -> int | None:
    """The newest reference version of a model, or ``None``."""
    return session.scalar(
        select(func.max(ReferenceDataset.version)).where(ReferenceDataset.model_id == model.id)
    )


def load_reference(
    session: Session, model: Model, version: int | None = None
) -> tuple[int, pd.DataFrame] | None:
    """``(version, frame)`` of a model's reference (newest unless ``version``), or ``None``."""
    query = select(ReferenceDataset).where(ReferenceDataset.model_id == model.id)
    if version is not None:
        query = query.where(ReferenceDataset.version == version)
    ref = session.scalars(query.order_by(ReferenceDataset.version.desc()).limit(1)).one_or_none()
    if ref is None:
        return None
    frame = pq.read_table(io.BytesIO(ref.data)).to_pandas()
    return ref.version, frame


def save_artifact(
    session: Session, model: Model, data: bytes, *, fmt: str = "skops", trusted: Sequence[str] = ()
) -> ModelArtifact:
    """Store a new version of the model's artifact bytes."""
    version = (
        session.scalar(
            select(func.max(ModelArtifact.version)).where(ModelArtifact.model_id == model.id)
        )
        or 0
    ) + 1
    artifact = ModelArtifact(
        model_id=model.id,
        version=version,
        format=fmt,
        sha256=_sha256(data),
        trusted=list(trusted),
        data=data,
    )
    session.add(artifact)
    session.flush()
    return artifact


def latest_artifact(session: Session, model: Model) -> ModelArtifact | None:
    """The newest stored artifact of a model, or ``None``."""
    return session.scalars(
        select(ModelArtifact)
        .where(ModelArtifact.model_id == model.id)
        .order_by(ModelArtifact.version.desc())
        .limit(1)
    ).one_or_none()


__all__ = [
    "DType",
    "add_columns",
    "create_model",
    "ingest_policy",
    "plan_columns",
    "get_model",
    "latest_artifact",
    "list_models",
    "load_reference",
    "model_schema",
    "reference_version",
    "save_artifact",
    "set_reference",
    "update_model",
    "validate_window",
]
