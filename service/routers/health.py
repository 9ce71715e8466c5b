"""``/health``: is the store reachable, how much is in it."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from kg import __version__
from kg.errors import KgError
from service.dependencies import Services, get_services

router = APIRouter(tags=["service"])


@router.get("/health", summary="Store status and size")
async def health(services: Services = Depends(get_services)) -> JSONResponse:
    settings = services.settings
    store_info: dict[str, object] = {
        "kind": "remote" if settings.store_url else "oxigraph",
        "location": settings.store_url or str(settings.store),
    }
    started = time.perf_counter()
    try:
        # reachable: one cheap query every time; the size (830 ms to count at 100x) once per
        # version of the store
        await run_in_threadpool(services.store.ask, "ASK { ?s ?p ?o }")
        triples = await run_in_threadpool(services.views.count)
        view = await run_in_threadpool(services.views.get)
    except KgError as error:
        store_info.update(status="unavailable", error=str(error))
        return JSONResponse({"status": "error", "version": __version__, "store": store_info}, status_code=503)
    store_info.update(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))
    idle = getattr(services.executor, "idle", None)
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "store": store_info,
            "triples": triples,
            "graphs": len(view.graphs),
            "graphs_withheld": len(view.hidden),
            "studies": len(view.studies),
            "query_workers": {
                "configured": settings.query_workers,
                "idle": idle,
                # a store of at most HMP_MEMORY_COPY_QUADS quads is answered from a copy in memory
                # (service.executor.MemoryCopy); only one that names its version is copied
                "from_memory": not settings.store_url
                and services.views.version() is not None
                and 0 < triples <= settings.memory_copy_quads,
                "memory_copy_quads": settings.memory_copy_quads,
            },
            "answers_kept": _kept(services),
        }
    )


def _kept(services: Services) -> dict[str, object]:
    """What the cache of answers holds (``service.answers``); ``enabled`` false when none are
    kept (``HMP_ANSWER_CACHE_MB=0``, or a store that names no version)."""
    cache = services.answers
    if cache is None:
        return {"enabled": False}
    return {
        "enabled": services.views.version() is not None,
        "answers": len(cache),
        "bytes": cache.size,
        "max_bytes": cache.max_bytes,
        "hits": cache.hits,
        "misses": cache.misses,
    }
