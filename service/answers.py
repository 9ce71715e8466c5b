"""Answering a query job over HTTP: validators, a cache of answers per version of the store, and
the time the query took.

An embedded store names its version (``ViewCache.version``: ``OxigraphStore.state_token``,
changed by every ``hmp build`` and every write committed, plus the identity of the generation
directory, so that a store deleted and built anew never repeats one), and an answer depends only
on that version and the job (the query text, its bound parameters, the served graphs, the media
type, the row limit). So:

- every answer carries a weak ``ETag`` computed from those alone, and a ``GET`` whose
  ``If-None-Match`` names it is answered ``304 Not Modified`` without running the query; with
  ``Cache-Control: no-cache`` a browser or proxy keeps the body and asks again each time;
- answers are kept in memory, least recently used first out, up to ``HMP_ANSWER_CACHE_MB``
  (0: none kept), and dropped together when the store's version changes. A request with
  ``Cache-Control: no-cache`` (or ``no-store``) is evaluated anyway;
- requests for the same answer that arrive while it is being evaluated wait for that evaluation
  instead of starting their own (a page of questions opened by several people after a build
  costs one evaluation per question);
- ``Server-Timing`` says what was done: ``query;dur=<ms>`` for an evaluation (the time from
  handing the job to the executor until its answer was back; ``desc="shared"`` when this request
  waited for an evaluation another one had started), ``cache;desc=hit`` for a kept answer.

A remote store names no version: its answers are neither kept nor given an ETag (another client
may write to it at any time).
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from service.executor import QueryJob
from service.protocol import accepts_gzip, content_type
from service.validators import matches, weak_etag

if TYPE_CHECKING:  # the services hold an AnswerCache
    from service.dependencies import Services

#: An answer larger than this share of the cache is not kept (it would push out everything else).
LARGEST_SHARE = 8


class AnswerCache:
    """Serialised answers by (store version, job), least recently used first out, at most
    ``max_bytes`` of bodies; everything is dropped when the version changes. Used from the
    event loop only (no lock)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._state: object = None
        self._entries: OrderedDict[Hashable, bytes] = OrderedDict()

    def _follow(self, state: object) -> None:
        if state != self._state:
            self._entries.clear()
            self.size, self._state = 0, state

    def get(self, state: object, key: Hashable) -> bytes | None:
        self._follow(state)
        body = self._entries.get(key)
        if body is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return body

    def put(self, state: object, key: Hashable, body: bytes) -> None:
        if len(body) * LARGEST_SHARE > self.max_bytes:
            return
        self._follow(state)
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._entries[key] = body
        self.size += len(body)
        while self.size > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.size -= len(dropped)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True)
class Rendering:
    """The answer made into something else before it is sent and kept (a canned query's chart
    from its JSON answer): ``name`` tells its answers and validators apart from the plain ones."""

    name: str
    media_type: str
    render: Callable[[bytes], bytes]
    #: headers the rendered answer is sent with (an SVG's Content-Security-Policy)
    headers: tuple[tuple[str, str], ...] = ()


def _key(job: QueryJob, rendering: Rendering | None = None) -> tuple[object, ...]:
    key = (job.sparql, job.media_type, job.default_graphs, job.named_graphs, job.max_results, job.bindings)
    return key if rendering is None else (*key, rendering.name)


def etag_of(state: str, job: QueryJob, rendering: Rendering | None = None) -> str:
    """A weak validator for the answer to ``job`` on the store's version ``state``."""
    return weak_etag(state, _key(job, rendering))


def _fresh_wanted(request: Request) -> tuple[bool, bool]:
    """(evaluate anyway, do not keep) from the request's ``Cache-Control``."""
    directives = {
        d.strip().split("=")[0].lower() for d in request.headers.get("cache-control", "").split(",")
    }
    return ("no-cache" in directives or "no-store" in directives), "no-store" in directives


#: Evaluations under way, by (store version, job): a request for the same answer while one is
#: running waits for it instead of starting another (event loop only, like the cache).
_RUNNING: dict[Hashable, asyncio.Future[bytes]] = {}


async def _evaluate(services: Services, job: QueryJob, running_key: Hashable | None) -> tuple[bytes, bool]:
    """The job's answer from the executor, and whether it was shared with a request that had
    already started the same evaluation on the same version of the store (its error, such as a
    timeout, is shared too)."""
    running = _RUNNING.get(running_key) if running_key is not None else None
    if running is not None:
        try:
            return await asyncio.shield(running), True
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this request itself was cancelled
            # the evaluation it waited for was abandoned: run its own below
    future: asyncio.Future[bytes] | None = None
    if running_key is not None:
        future = _RUNNING[running_key] = asyncio.get_running_loop().create_future()
    try:
        body = (await services.executor.run(job, timeout=services.settings.query_timeout)).body
    except BaseException as error:
        if future is not None:
            _RUNNING.pop(running_key, None)
            if isinstance(error, Exception):
                future.set_exception(error)
                future.exception()  # retrieved here: no warning when nobody was waiting
            else:
                future.cancel()
        raise
    if future is not None:
        _RUNNING.pop(running_key, None)
        future.set_result(body)
    return body, False


async def answer(
    request: Request, services: Services, job: QueryJob, rendering: Rendering | None = None
) -> Response:
    """The response to ``job``: ``304``, a kept answer, or the executor's answer (then kept);
    made into ``rendering`` first when one is given."""
    state = services.views.version()
    headers = {"Vary": "Accept"}
    cache = services.answers if isinstance(state, str) else None
    key = _key(job, rendering)
    keep = False
    body: bytes | None = None
    if isinstance(state, str):
        etag = headers["ETag"] = etag_of(state, job, rendering)
        headers["Cache-Control"] = "no-cache"
        if request.method == "GET" and matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        fresh, no_store = _fresh_wanted(request)
        keep = cache is not None and not no_store
        if cache is not None and not fresh:
            body = cache.get(state, key)
            if body is not None:
                headers["Server-Timing"] = 'cache;desc="hit"'
    if body is None:
        started = time.perf_counter()
        body, shared = await _evaluate(services, job, (state, key) if isinstance(state, str) else None)
        took = f"query;dur={(time.perf_counter() - started) * 1000:.2f}"
        headers["Server-Timing"] = f'{took};desc="shared"' if shared else took
        if rendering is not None:
            body = await run_in_threadpool(rendering.render, body)
        if keep and cache is not None:
            cache.put(state, key, body)
    threshold = services.settings.gzip_min_bytes
    if threshold > 0 and len(body) >= threshold:
        headers["Vary"] = "Accept, Accept-Encoding"
        if accepts_gzip(request.headers.get("accept-encoding")):
            # compressed once per kept answer, in a thread (a 5 MB answer: ~10 ms); the
            # middleware leaves a response that already names its encoding alone
            packed = cache.get(state, (key, "gzip")) if keep and cache is not None else None
            if packed is None:
                packed = await run_in_threadpool(gzip.compress, body, 1, mtime=0)
                if keep and cache is not None:
                    cache.put(state, (key, "gzip"), packed)
            body, headers["Content-Encoding"] = packed, "gzip"
    media_type = job.media_type if rendering is None else rendering.media_type
    if rendering is not None:
        headers.update(rendering.headers)
    return Response(body, media_type=content_type(media_type), headers=headers)
