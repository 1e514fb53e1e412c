"""Alembic environment: migrates the metadata tables; per-model ``log_*`` tables are skipped."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import create_engine

from storage.models import Base

config = context.config
target_metadata = Base.metadata


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Per-model prediction logs are built from each model's schema, not migrated here."""
    if type_ == "table" and name is not None:
        return not name.startswith("log_")
    return True


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = create_engine(
            config.get_main_option("sqlalchemy.url") or "sqlite:///driftwarden.db"
        )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        if connection.in_transaction():
            connection.commit()


run_migrations_online()
