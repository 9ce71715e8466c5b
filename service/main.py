"""Create the FastAPI application: settings, lifespan (store + query workers), routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse
from fastapi.staticfiles import StaticFiles

from kg import __version__
from kg import queries as canned_queries
from kg.errors import KgError
from service.dependencies import open_services
from service.errors import error_response
from service.fastpath import FastPath
from service.protocol import Compression, HeadAsGet
from service.routers import health, landing, linked_data, queries, sparql, void
from service.settings import Settings
from service.validators import Validators

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def _service_error(request: Request, error: Exception) -> PlainTextResponse:
    return error_response(error)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The application for ``settings`` (default: from ``HMP_*`` environment variables)."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = open_services(settings)
        if settings.warm_landing:
            landing.warm(app)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(
        title="Healthcare micro-politics knowledge graph",
        version=__version__,
        description=(
            "Read-only SPARQL 1.1 endpoint, canned research-question queries, linked-data pages "
            "and a VoID/DCAT description of the HMP knowledge graph."
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Added first, so it runs inside the CORS and server-error middlewares added after it.
    app.add_middleware(FastPath, canned=frozenset(q.name for q in canned_queries.catalogue()))
    app.add_middleware(Validators)  # pages' ETags; query answers get theirs in service.answers
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=list(settings.cors_methods),
            allow_headers=["Accept", "Content-Type", "Authorization", "If-None-Match", "Cache-Control"],
            # the answer's validator and what the server did (service.answers), for scripts
            expose_headers=["ETag", "Server-Timing"],
        )
    if settings.gzip_min_bytes > 0:
        # Level 1: a 5 MB evidence answer (100x) shrinks 16x in ~10 ms (level 6: 27x in ~19 ms);
        # bodies of 128 KiB and more are compressed in a worker thread, off the event loop.
        app.add_middleware(Compression, minimum_size=settings.gzip_min_bytes)
    app.add_middleware(HeadAsGet)  # outermost: every route below sees a GET
    app.add_exception_handler(KgError, _service_error)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # Routes are matched in order: /sparql first (the busiest), then one route per canned query,
    # which must come before the generic /queries/{name}.
    app.include_router(sparql.router)
    queries.add_canned_routes(app)
    for module in (queries, linked_data, void, health, landing):
        app.include_router(module.router)
    return app


app = create_app()
