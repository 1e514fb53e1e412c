"""Per-model prediction log tables.

Each model's log is a Core :class:`~sqlalchemy.Table` named ``log_<model id>`` whose
columns are ``c_<n>`` — generated names mapped to the user's names in
``model_column``. No user string ever becomes SQL text, so names that collide after
case-folding or PostgreSQL's 63-byte limit, reserved words and hostile strings all work.

Storage forms: timestamps are ``BIGINT`` epoch microseconds UTC (the same on SQLite,
which has no timestamp type, and PostgreSQL, so a window is a range on one integer
index); ``prediction_id`` is ``TEXT PRIMARY KEY``; booleans are ``BOOLEAN`` (0/1 on
SQLite). Internal columns start with ``m_``: ``m_labeled_at`` (epoch µs when the
label arrived).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Double,
    Index,
    MetaData,
    Table,
    Text,
    func,
    literal,
    select,
)
from sqlalchemy.types import TypeEngine

from storage.models import Model, ModelColumn
from storage.schema import DType, Role

LABELED_AT = "m_labeled_at"
ROW = "m_row"

_SQL_TYPES: dict[DType, type[TypeEngine[Any]]] = {
    DType.FLOAT: Double,
    DType.INT: BigInteger,
    DType.BOOL: Boolean,
    DType.STRING: Text,
    DType.TIMESTAMP: BigInteger,
}


def sql_type(dtype: DType | str) -> TypeEngine[Any]:
    """The SQL column type used to store a schema dtype."""
    return _SQL_TYPES[DType(dtype)]()


def physical_name(position: int) -> str:
    """Generated physical column name for the column at ``position``."""
    return f"c_{position}"


def _column(col: ModelColumn) -> Column[object]:
    role = Role(col.role)
    kwargs: dict[str, object] = {"nullable": role not in (Role.ID, Role.TIMESTAMP)}
    if role is Role.ID:
        kwargs["primary_key"] = True
    return Column(col.physical, sql_type(col.dtype), **kwargs)  # type: ignore[arg-type]


def log_table(model: Model, columns: Sequence[ModelColumn] | None = None) -> Table:
    """The Core table of ``model``'s prediction log (not bound to any database)."""
    columns = list(columns if columns is not None else model.columns)
    metadata = MetaData()
    table = Table(
        model.log_table,
        metadata,
        *[_column(c) for c in columns],
        Column(LABELED_AT, BigInteger, nullable=True),
    )
    ts = next(c for c in columns if c.role == Role.TIMESTAMP.value)
    Index(f"ix_{model.log_table}_ts", table.c[ts.physical])
    return table


def create_log_table(conn: Connection, model: Model) -> Table:
    """Create ``model``'s log table and its timestamp index."""
    table = log_table(model)
    table.create(conn)
    return table


def add_log_column(conn: Connection, model: Model, column: ModelColumn) -> None:
    """Add one nullable column to a model's log table (schema evolution)."""
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    ops = Operations(MigrationContext.configure(conn))
    ops.add_column(model.log_table, Column(column.physical, sql_type(column.dtype), nullable=True))


def next_timestamp(conn: Connection, model: Model, at_us: int | None) -> int | None:
    """Epoch µs of the model's first logged row at or after ``at_us`` (any row if ``None``).

    One index seek on the timestamp index: the pass uses it to visit only the windows
    that hold rows.
    """
    table = log_table(model)
    ts = table.c[role_column(model, Role.TIMESTAMP).physical]
    query = select(func.min(ts))
    if at_us is not None:
        query = query.where(ts >= literal(int(at_us), BigInteger))
    value = conn.scalar(query)
    return None if value is None else int(value)


def physical_map(model: Model) -> dict[str, str]:
    """User column name → physical column name."""
    return {c.name: c.physical for c in model.columns}


def role_column(model: Model, role: Role) -> ModelColumn:
    """The model's column with ``role`` (id, timestamp, prediction …)."""
    for col in model.columns:
        if col.role == role.value:
            return col
    raise LookupError(f"model {model.name!r} has no {role.value!r} column")
