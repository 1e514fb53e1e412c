"""``driftwarden keys …``: API keys of the HTTP collector (create, list, revoke)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, database, errors

keys_app = typer.Typer(
    help="API keys of the HTTP collector (driftwarden serve).", no_args_is_help=True
)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(help="A unique name: who uses the key.")],
    scope: Annotated[str, typer.Option(help="ingest (POST), read (GET, /metrics) or admin.")],
    model: Annotated[str | None, typer.Option(help="Restrict the key to this model.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a key and print it once (stdout); only a salted hash is stored."""
    url = database(database_url, create=True)
    from monitors.service.keys import create_key

    with errors():
        created = create_key(url, name, scope=scope, model=model)
    where = f"model {model}" if model else "every model"
    typer.echo(
        f"created key {name!r} (scope {scope}, {where}); it is shown once, store it now:",
        err=True,
    )
    typer.echo(created.key)


@keys_app.command("list")
def keys_list(
    as_json: Annotated[bool, typer.Option("--json", help="JSON output.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """List keys (name, public part, scope, model, created, revoked); never the secrets."""
    url = database(database_url)
    from monitors.service.keys import list_keys

    with errors():
        found = list_keys(url)
    if as_json:
        records = [
            {
                "name": k.name,
                "key": k.shown,
                "scope": k.scope,
                "model": k.model,
                "created_at": k.created_at.isoformat(),
                "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
            }
            for k in found
        ]
        typer.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    if not found:
        typer.echo("no keys yet: driftwarden keys create NAME --scope ingest|read|admin")
    for k in found:
        state = f"revoked {k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "active"
        typer.echo(
            f"{k.name}\t{k.shown}\t{k.scope}\t{k.model or '*'}\t"
            f"created {k.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@keys_app.command("revoke")
def keys_revoke(
    name: Annotated[str, typer.Argument(help="Name of the key.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Revoke a key: its next request gets 401."""
    url = database(database_url)
    from monitors.service.keys import revoke_key

    with errors():
        info = revoke_key(url, name)
    typer.echo(f"revoked key {info.name!r} ({info.shown})")
