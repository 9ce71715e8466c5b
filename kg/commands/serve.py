"""`hmp` sub-commands: serve."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer


def _build_if_empty(store_dir: Path) -> None:
    """Build the bundled example study into the embedded store when the store holds nothing."""
    from kg._paths import EXAMPLE_STUDY
    from kg.store import open_store

    store = open_store(store_dir)
    try:
        if store.ask("ASK { ?s ?p ?o }"):  # not count(): at 100x counting takes 0.8 s
            return
        from kg.build import build

        typer.echo(f"The store {store_dir} is empty: building the example study {EXAMPLE_STUDY}", err=True)
        summaries = build([EXAMPLE_STUDY], store)
        triples = sum(getattr(s, "triples", 0) for s in summaries)
        typer.echo(f"Built {len(summaries)} study ({triples} triples).", err=True)
    finally:
        store.close()


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8000,
    store: Annotated[
        Path | None, typer.Option("--store", help="Store directory (default: $HMP_STORE or .hmp-store).")
    ] = None,
    store_url: Annotated[
        str | None, typer.Option("--store-url", help="Serve a remote SPARQL 1.1 endpoint instead.")
    ] = None,
    build_if_empty: Annotated[
        bool, typer.Option("--build-if-empty", help="Build the example study first if the store is empty.")
    ] = False,
) -> None:
    """Serve the SPARQL endpoint, canned queries, linked-data pages and the landing page."""
    import uvicorn

    from kg._paths import DEFAULT_STORE

    if store_url:
        os.environ["HMP_STORE_URL"] = store_url
    else:
        store_dir = (store or Path(os.environ.get("HMP_STORE") or DEFAULT_STORE)).resolve()
        os.environ["HMP_STORE"] = str(store_dir)
        os.environ.pop("HMP_STORE_URL", None)
    from service.settings import Settings

    settings = Settings.from_env()  # a bad HMP_* value stops here, before any build
    if build_if_empty and not store_url:
        _build_if_empty(Path(os.environ["HMP_STORE"]))
    from service.main import create_app

    typer.echo(f"Serving on http://{host}:{port}/ (SPARQL at /sparql)", err=True)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("serve")(serve_command)
