"""Migrations: applied on first use, idempotent, one head matching the ORM models."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from storage.engine import (
    MIGRATIONS,
    SCHEMA_HEAD,
    current_revision,
    dispose_all,
    get_engine,
    head_revision,
    upgrade,
)
from storage.errors import DatabaseUnavailableError
from storage.models import Base

METADATA_TABLES = set(Base.metadata.tables)


def _tables(url: str) -> set[str]:
    return set(inspect(get_engine(url, migrate=False)).get_table_names())


def test_a_fresh_database_is_migrated_on_first_use(empty_database_url: str) -> None:
    assert _tables(empty_database_url) == set()
    engine = get_engine(empty_database_url)
    assert current_revision(engine) == head_revision()
    assert _tables(empty_database_url) == METADATA_TABLES | {"alembic_version"}


def test_upgrade_is_idempotent(empty_database_url: str) -> None:
    engine = get_engine(empty_database_url)
    tables = _tables(empty_database_url)
    assert upgrade(engine) == head_revision()
    assert upgrade(engine) == head_revision()
    dispose_all()  # a new process would check again
    engine = get_engine(empty_database_url)
    assert current_revision(engine) == head_revision()
    assert _tables(empty_database_url) == tables


def test_schema_head_names_the_newest_migration() -> None:
    # get_engine skips Alembic when the stored revision is SCHEMA_HEAD: a new migration
    # must move it, or databases would never be upgraded to it
    assert ScriptDirectory(str(MIGRATIONS)).get_current_head() == SCHEMA_HEAD


def test_an_older_database_is_still_upgraded(empty_database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    engine = get_engine(empty_database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    command.downgrade(cfg, "0005")
    assert current_revision(engine) == "0005"
    dispose_all()
    assert current_revision(get_engine(empty_database_url)) == SCHEMA_HEAD


def test_one_head_equal_to_the_current_revision(database_url: str) -> None:
    heads = ScriptDirectory(str(MIGRATIONS)).get_heads()
    assert heads == [head_revision()]
    assert current_revision(get_engine(database_url)) == heads[0]


def test_migrations_match_the_orm_models(database_url: str) -> None:
    """Autogenerate finds nothing to do: models and migrations agree (log tables skipped)."""

    def include_name(name: str | None, type_: str, parent_names: object) -> bool:
        return not (type_ == "table" and name is not None and name.startswith("log_"))

    engine = get_engine(database_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_name": include_name, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_an_unreachable_server_is_a_clear_error_without_the_password() -> None:
    url = "postgresql://someone:s3cret@127.0.0.1:1/nowhere"
    try:
        with pytest.raises(
            DatabaseUnavailableError,
            match=re.escape("cannot open the database at postgresql+psycopg://someone:***@"),
        ) as caught:
            get_engine(url)
        assert "s3cret" not in str(caught.value)
    finally:
        dispose_all()
