"""What route handlers get through ``Depends``: settings, the store, the query executor and the
dataset view. ``service.main.create_app`` puts one ``Services`` on ``app.state``; tests may swap
any of these with ``app.dependency_overrides``.

The providers are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in the thread
pool, one thread hop per dependency per request — most of the service's fixed cost per request
before they were made async. None of them blocks except ``get_view`` once every ``policy_ttl``
seconds (then it runs in the thread pool)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kg.store import Store, open_remote, open_store
from kg.stores.oxigraph import OxigraphStore
from service.answers import AnswerCache
from service.dataset import DatasetView, ViewCache
from service.executor import Executor, ProcessPoolExecutor, StoreExecutor
from service.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    executor: Executor
    views: ViewCache
    #: Answers kept per version of the store (None: none kept).
    answers: AnswerCache | None = None

    def close(self) -> None:
        self.executor.close()
        with contextlib.suppress(Exception):  # closing is best effort at shutdown
            self.store.close()


def open_services(settings: Settings) -> Services:
    """Open the store and start the query executor that ``settings`` describe."""
    store: Store
    executor: Executor
    if settings.store_url:
        store = open_remote(settings.store_url)
        executor = StoreExecutor(store)
    else:
        path = Path(settings.store)
        if not path.exists() or settings.update_token:
            open_store(path).close()  # create it, so that read-only opens work
        # Read-only unless updates are enabled: `hmp build` may then run beside the server, and
        # the store and the query workers follow what it writes (``OxigraphStore.snapshot``).
        store = open_store(path, read_only=not settings.update_token)
        if settings.query_workers > 0:
            executor = ProcessPoolExecutor(
                path, settings.query_workers, settings.worker_memory_mb, settings.memory_copy_quads
            )
        else:
            from service.executor import InProcessExecutor

            assert isinstance(store, OxigraphStore)
            executor = InProcessExecutor(store, settings.memory_copy_quads)
    views = ViewCache(store, serve_fulltext=settings.serve_fulltext, ttl=settings.policy_ttl)
    cache_bytes = int(settings.answer_cache_mb * 1024 * 1024)
    return Services(settings, store, executor, views, AnswerCache(cache_bytes) if cache_bytes > 0 else None)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_store(services: Services = Depends(get_services)) -> Store:
    return services.store


async def get_executor(services: Services = Depends(get_services)) -> Executor:
    return services.executor


async def get_view(services: Services = Depends(get_services)) -> DatasetView:
    view = services.views.cached()
    if view is None:  # expired: reloading queries the store
        view = await run_in_threadpool(services.views.get)
    return view


async def public_base(request: Request, settings: Settings = Depends(get_settings)) -> str:
    """This service's base URL as clients see it (``HMP_PUBLIC_BASE`` or the request's)."""
    return settings.public_base or str(request.base_url).rstrip("/")
