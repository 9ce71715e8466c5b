"""Run SPARQL queries with a hard time limit and a result-size limit.

pyoxigraph (0.5) cannot cancel a running query from Python, and a thread that is evaluating an
ORDER BY or a big join cannot be stopped. So, for the embedded store, queries run in a small
pool of worker processes, each holding its own read-only view of the store (RocksDB allows
read-only opens beside a writer). When a query runs out of time its worker process is killed,
the client gets 503, and a fresh worker is started in the background: a long query never keeps
a worker busy after its response. Results are counted row by row in the worker, which stops at
``max_results + 1``.

For a remote store the query goes through ``Store.query_raw`` with the timeout as the HTTP
timeout; stopping the query on the remote side is that server's job (Virtuoso
``MaxQueryExecutionTime``, Fuseki ``arq:queryTimeout``), and the row limit is the remote
server's own ``ResultSetMaxRows``-style setting.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Protocol

import pyoxigraph as ox

from kg.errors import StoreError
from kg.store import RawResult, Store
from service.errors import MalformedQuery, QueryTimedOut, ResultTooLarge, ServiceError
from service.results import serialize_boolean, serialize_solutions, serialize_triples

log = logging.getLogger(__name__)

_POSITION = re.compile(r"error at (\d+):(\d+)")


@dataclass(frozen=True)
class QueryJob:
    """One query as the protocol layer hands it to an executor.

    ``default_graphs``/``named_graphs`` of None mean "the union of all graphs" / "all graphs".
    """

    sparql: str
    media_type: str
    default_graphs: tuple[str, ...] | None = None
    named_graphs: tuple[str, ...] | None = None
    max_results: int | None = None


# ---- evaluation (in a worker process, or in-process) ----------------------------------------


def _graph_list(names: Sequence[str]) -> list[ox.NamedNode | ox.DefaultGraph]:
    # An empty list must mean "no graph", not "the store default": the store's default graph
    # is empty in this project (all data lives in named graphs).
    return [ox.NamedNode(n) for n in names] or [ox.DefaultGraph()]


def evaluate(store: ox.Store, job: QueryJob) -> RawResult:
    """Evaluate ``job`` on a pyoxigraph store; raises ServiceError subclasses."""
    options: dict[str, object] = {}
    if job.default_graphs is None:
        options["use_default_graph_as_union"] = True
    else:
        options["default_graph"] = _graph_list(job.default_graphs)
    if job.named_graphs is not None:
        options["named_graphs"] = [ox.NamedNode(n) for n in job.named_graphs]
    limit = job.max_results
    try:
        result = store.query(job.sparql, **options)  # type: ignore[arg-type]
        if isinstance(result, ox.QueryBoolean):
            return RawResult(serialize_boolean(bool(result), job.media_type), job.media_type, "ask")
        if isinstance(result, ox.QuerySolutions):
            names = [v.value for v in result.variables]
            rows: list[list[object]] = []
            for solution in result:
                rows.append([solution[i] for i in range(len(names))])
                if limit is not None and len(rows) > limit:
                    raise ResultTooLarge(
                        f"the result has more than {limit} rows, the most this endpoint returns",
                        expected="a query with LIMIT or a narrower pattern",
                    )
            return RawResult(serialize_solutions(names, rows, job.media_type), job.media_type, "select")  # type: ignore[arg-type]
        triples: list[ox.Triple] = []
        for triple in result:
            triples.append(triple)
            if limit is not None and len(triples) > limit:
                raise ResultTooLarge(
                    f"the result has more than {limit} triples, the most this endpoint returns",
                    expected="a narrower CONSTRUCT or DESCRIBE",
                )
        return RawResult(serialize_triples(triples, job.media_type), job.media_type, "construct")
    except SyntaxError as error:
        message = str(error)
        match = _POSITION.search(message)
        line, column = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        if match:
            message = message.replace(match.group(0), f"error at line {line}, column {column}")
        raise MalformedQuery(f"malformed SPARQL query: {message}", line=line, column=column) from error
    except OSError as error:
        raise ServiceError(f"the query failed: {error}") from error


def _worker_main(conn: Connection, path: str) -> None:  # pragma: no cover - runs in a subprocess
    """A query worker: open the store read-only, then answer jobs until the pipe closes."""
    from kg.stores.oxigraph import OxigraphStore

    generation = 0
    try:
        store = OxigraphStore(path, read_only=True).raw
    except StoreError as error:
        conn.send(("failed", str(error)))
        return
    conn.send(("ready",))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        wanted, job = message
        if wanted != generation:  # the store was updated: see the new state
            store = OxigraphStore(path, read_only=True).raw
            generation = wanted
        try:
            conn.send(("ok", evaluate(store, job)))
        except ServiceError as error:
            conn.send(
                (
                    "error",
                    type(error).__name__,
                    error.message,
                    getattr(error, "line", None),
                    getattr(error, "column", None),
                )
            )


# ---- executors ---------------------------------------------------------------------------------


class Executor(Protocol):
    def run(self, job: QueryJob, *, timeout: float) -> RawResult: ...

    def changed(self) -> None:
        """The store was updated: later queries must see the new state."""
        ...

    def close(self) -> None: ...


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    def kill(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self.conn.close()


_ERRORS: dict[str, type[ServiceError]] = {
    "MalformedQuery": MalformedQuery,
    "ResultTooLarge": ResultTooLarge,
}


class ProcessPoolExecutor:
    """Worker processes over a read-only view of the embedded store; kills a worker on timeout."""

    def __init__(self, path: Path, size: int = 2) -> None:
        self.path = path
        self.size = max(1, size)
        self._context = multiprocessing.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._generation = 0
        self._closed = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        starting = [self._start() for _ in range(self.size)]
        for worker in starting:
            self._await_ready(worker)
            self._idle.put(worker)

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker_main, args=(child, str(self.path)), name="hmp-query-worker", daemon=True
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        with self._lock:
            self._all.add(worker)
        return worker

    def _await_ready(self, worker: _Worker) -> None:
        if not worker.conn.poll(60):
            worker.kill()
            raise StoreError("a query worker did not start within 60 s", value=str(self.path))
        message = worker.conn.recv()
        if message[0] != "ready":
            worker.kill()
            raise StoreError(f"a query worker could not open the store: {message[1]}", value=str(self.path))

    def _replace(self) -> None:
        def start() -> None:
            if self._closed:
                return
            try:
                worker = self._start()
                self._await_ready(worker)
            except StoreError as error:
                log.error("cannot restart a query worker: %s", error)
                return
            self._idle.put(worker)

        threading.Thread(target=start, name="hmp-worker-restart", daemon=True).start()

    @property
    def idle(self) -> int:
        return self._idle.qsize()

    def changed(self) -> None:
        self._generation += 1

    def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        try:
            worker = self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimedOut(
                f"no query worker became free within {timeout:g} s; try again later"
            ) from None
        try:
            worker.conn.send((self._generation, job))
            if not worker.conn.poll(timeout):
                self._discard(worker)
                raise QueryTimedOut(
                    f"the query ran longer than {timeout:g} s and was stopped",
                    expected="a cheaper query (add LIMIT, bind more variables)",
                )
            reply = worker.conn.recv()
        except (EOFError, OSError) as error:
            self._discard(worker)
            raise ServiceError(f"the query worker died: {error}") from error
        self._idle.put(worker)
        if reply[0] == "ok":
            return reply[1]  # type: ignore[no-any-return]
        _, kind, message, line, column = reply
        if kind == "MalformedQuery":
            raise MalformedQuery(message, line=line, column=column)
        raise _ERRORS.get(kind, ServiceError)(message)

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._all.discard(worker)
        self._replace()

    def close(self) -> None:
        self._closed = True
        with self._lock:
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
            worker.process.join(1)
            worker.kill()


class InProcessExecutor:
    """Evaluate in the server process (HMP_QUERY_WORKERS=0): fast, but the timeout only stops
    waiting — a runaway query keeps running in its thread. For tests and benchmarks."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store

    def changed(self) -> None:
        pass

    def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        return evaluate(self.store, job)

    def close(self) -> None:
        pass


class StoreExecutor:
    """Delegate to ``Store.query_raw`` (the remote store); limits are the remote server's."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def changed(self) -> None:
        pass

    def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        try:
            return self.store.query_raw(
                job.sparql,
                media_type=job.media_type,
                default_graph_uris=job.default_graphs or (),
                named_graph_uris=job.named_graphs or (),
                timeout=timeout,
            )
        except StoreError as error:
            text = str(error)
            if "timeout" in text.lower() or "timed out" in text.lower():
                raise QueryTimedOut(text) from error
            if "malformed" in text.lower() or "syntax" in text.lower() or "parse" in text.lower():
                raise MalformedQuery(text) from error
            raise ServiceError(text) from error

    def close(self) -> None:
        pass
