"""``whoknows db migrate``: create or upgrade the PostgreSQL schema of the collection (store='postgres').

Imported by :mod:`api.cli`; the command registers on its ``app``.
"""

from __future__ import annotations

import json

import typer

from api.cli import DataDir, JsonOut, app, err, fail, make_settings, out
from rag.errors import ConfigError, WhoknowsError

db_app = typer.Typer(no_args_is_help=True, help="The PostgreSQL store (WHOKNOWS_STORE=postgres): its schema.")
app.add_typer(db_app, name="db")


@db_app.command()
def migrate(data_dir: DataDir = None, as_json: JsonOut = False) -> None:
    """Create or upgrade the collection's tables (idempotent; every whoknows process also runs it at start)."""
    from rag.embeddings import make_embedder
    from rag.stores.pg import Database
    from rag.stores.pg_schema import migrate_collection

    settings = make_settings(data_dir)
    try:
        if settings.store != "postgres":
            raise ConfigError(f"`whoknows db migrate` is for WHOKNOWS_STORE=postgres (the store is {settings.store!r}"
                              ", whose files need no migration) - set WHOKNOWS_STORE and WHOKNOWS_DATABASE_URL.")
        embedder = make_embedder(settings)
        db = Database(settings)
        try:
            applied, version = migrate_collection(db, embedder=embedder.name, dim=embedder.dim,
                                                  text_search=settings.pg_text_search,
                                                  vector_index=settings.pg_vector_index)
        finally:
            db.close()
    except WhoknowsError as exc:
        fail(exc)
    if as_json:
        out.print_json(json.dumps({"schema": db.schema, "version": version, "applied": applied}))
        return
    done = f"applied {', '.join(map(str, applied))}" if applied else "already up to date"
    err.print(f"{db.where}: schema version {version} ({done})", soft_wrap=True, highlight=False)
