"""Run SPARQL queries with a hard time limit and a result-size limit.

pyoxigraph (0.5) cannot cancel a running query from Python, and a thread that is evaluating an
ORDER BY or a big join cannot be stopped. So, for the embedded store, queries run in a small
pool of worker processes, each holding its own read-only view of the store (RocksDB allows
read-only opens beside a writer). That view follows the store: before each job a worker looks
whether the store changed (``OxigraphStore.snapshot``: one ``readlink``) — an ``hmp build``
switched generations, or a write was committed, by the service's own SPARQL Update or by a
build — and if so answers from the new version; the job already running when that happens
finishes on the old one, which its lease keeps on disk until then. When a query runs out of time
its worker process is killed, the client gets 503, and a fresh worker is started in the
background: a long query never keeps a worker busy after its response. Results are counted row
by row in the worker, which stops at ``max_results + 1``.

The server and a worker exchange bytes only (the job as a small JSON array, the reply as one tag
byte and the serialised body), framed as ``multiprocessing.Connection`` frames them. The worker
uses ``send_bytes``/``recv_bytes``; on the server the worker's socket is an asyncio transport
(``_Channel``): the job is written without blocking and the reply is read by the event loop as it
arrives, however big, so a large result never blocks the loop and no thread is involved. Idle
workers are taken last in, first out, so back-to-back requests go to the worker whose caches are
warm. A small store (``HMP_MEMORY_COPY_QUADS``) is answered from a copy in memory that a worker
makes once per version of the store (``MemoryCopy``).

For a remote store the query goes through ``Store.query_raw`` with the timeout as the HTTP
timeout; stopping the query on the remote side is that server's job (Virtuoso
``MaxQueryExecutionTime``, Fuseki ``arq:queryTimeout``), and the row limit is the remote
server's own ``ResultSetMaxRows``-style setting.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import queue
import re
import resource
import signal
import socket
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import NoReturn, Protocol, cast

import pyoxigraph as ox
from starlette.concurrency import run_in_threadpool

from kg.errors import StoreError
from kg.store import RawResult, Store, Term
from kg.stores._bind import bind as bind_values
from kg.stores.oxigraph import Generation, OxigraphStore, query_substituted
from service.errors import MalformedQuery, QueryOutOfMemory, QueryTimedOut, ResultTooLarge, ServiceError
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
    #: Parameters bound as RDF terms (canned queries): ``(variable, kind, value, datatype or
    #: language)`` with kind ``iri`` or ``literal``; given to pyoxigraph as ``substitutions``.
    bindings: tuple[tuple[str, str, str, str], ...] = ()

    @staticmethod
    def encode_bindings(substitutions: Mapping[str, Term]) -> tuple[tuple[str, str, str, str], ...]:
        """``substitutions`` (variable -> IRI or literal) in the plain form a job carries."""
        out = []
        for name, term in substitutions.items():
            if isinstance(term, ox.NamedNode):
                out.append((name, "iri", term.value, ""))
            elif isinstance(term, ox.Literal):
                extra = f"@{term.language}" if term.language else term.datatype.value
                out.append((name, "literal", term.value, extra))
            else:
                raise ServiceError("only IRIs and literals can be bound", value=str(term))
        return tuple(out)

    def substitutions(self) -> dict[str, Term]:
        """The bindings as pyoxigraph terms, by variable name."""
        terms: dict[str, Term] = {}
        for name, kind, value, extra in self.bindings:
            if kind == "iri":
                terms[name] = ox.NamedNode(value)
            elif extra.startswith("@"):
                terms[name] = ox.Literal(value, language=extra[1:])
            else:
                terms[name] = ox.Literal(value, datatype=ox.NamedNode(extra))
        return terms


# ---- evaluation (in a worker process, or in-process) ----------------------------------------


def _graph_list(names: Sequence[str]) -> list[ox.NamedNode | ox.DefaultGraph]:
    # An empty list must mean "no graph", not "the store default": the store's default graph
    # is empty in this project (all data lives in named graphs).
    return [ox.NamedNode(n) for n in names] or [ox.DefaultGraph()]


JSON_RESULTS = "application/sparql-results+json"
XML_RESULTS = "application/sparql-results+xml"

#: pyoxigraph's own serialisers for SELECT results (native: no Python object per term). TSV stays
#: on the row-by-row path: pyoxigraph abbreviates numbers there (``24``), ours keeps the typed form.
_NATIVE = {
    "application/sparql-results+json": ox.QueryResultsFormat.JSON,
    "application/sparql-results+xml": ox.QueryResultsFormat.XML,
    "text/csv": ox.QueryResultsFormat.CSV,
}
#: A byte string that every result row contains at least once in each format (a JSON row is an
#: object, an XML row a ``<result>`` element, a CSV row ends with CRLF): its count in the body is
#: an upper bound on the number of rows, found in one pass in C. Only when that bound is over the
#: limit are the rows counted exactly.
_ROW_MARKER = {
    "application/sparql-results+json": b"{",
    "application/sparql-results+xml": b"<result",
    "text/csv": b"\n",
}
#: Native serialisation stops past this many bytes; the row-by-row path then applies the limit.
NATIVE_MAX_BYTES = 64 * 1024 * 1024


class _TooBig(Exception):
    """Raised inside pyoxigraph's serialiser by ``_Sink`` to stop it."""


class _Sink:
    """A binary writer for ``QuerySolutions.serialize`` that gives up past ``cap`` bytes."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.size += len(data)
        if self.size > self.cap:
            raise _TooBig
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


def _native_select(result: ox.QuerySolutions, media_type: str, limit: int | None) -> bytes | None:
    """The result serialised by pyoxigraph, or None when the row limit must be checked row by row."""
    sink = _Sink(NATIVE_MAX_BYTES)
    try:
        result.serialize(sink, format=_NATIVE[media_type])  # type: ignore[arg-type]
    except _TooBig:
        return None
    body = sink.parts[0] if len(sink.parts) == 1 else b"".join(sink.parts)
    if limit is None or body.count(_ROW_MARKER[media_type]) <= limit:
        return body
    if media_type == "text/csv":  # lossy: pyoxigraph cannot parse it back to count rows
        return None
    rows = 0
    for _ in ox.parse_query_results(body, format=_NATIVE[media_type]):  # type: ignore[union-attr]
        rows += 1
        if rows > limit:
            _too_many_rows(limit)
    return body


def _too_many_rows(limit: int) -> NoReturn:
    raise ResultTooLarge(
        f"the result has more than {limit} rows, the most this endpoint returns",
        expected="a query with LIMIT or a narrower pattern",
    )


def _query(
    store: ox.Store, job: QueryJob, options: dict[str, object]
) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
    """``store.query`` for ``job``, its bindings as pyoxigraph ``substitutions`` (the engine then
    starts from the bound terms: the evidence route at 1x 5.2 -> 4.0 ms against the same terms in
    a VALUES block; ``query_substituted`` falls back to that block where it must)."""
    try:
        return query_substituted(store, job.sparql, job.substitutions(), **options)
    except RuntimeError as error:
        raise ServiceError(f"the query failed: {error}") from error


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
        result = _query(store, job, options)
        if isinstance(result, ox.QueryBoolean):
            return RawResult(serialize_boolean(bool(result), job.media_type), job.media_type, "ask")
        if isinstance(result, ox.QuerySolutions):
            body = _native_select(result, job.media_type, limit) if job.media_type in _NATIVE else None
            if body is not None:
                return RawResult(body, job.media_type, "select")
            if job.media_type in _NATIVE:  # too big to check in serialised form: run again
                result = _query(store, job, options)
            assert isinstance(result, ox.QuerySolutions)
            names = [v.value for v in result.variables]
            rows: list[list[object]] = []
            for solution in result:
                rows.append([solution[i] for i in range(len(names))])
                if limit is not None and len(rows) > limit:
                    _too_many_rows(limit)
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


# ---- a small store answered from memory ---------------------------------------------------------


class MemoryCopy:
    """Answers from an in-memory copy of a small store's current version.

    pyoxigraph's in-memory store answers the canned queries over the 1x example 1.3-2.1x faster
    than the same quads in RocksDB (turning-points 3.3 -> 2.2 ms: a lookup is a map probe, not a
    RocksDB seek), but no faster from about half a million quads (10x: 0.7-2.1x, 100x: 0.7-1.4x).
    So a store of at most ``max_quads`` quads (0: none) is copied, once per version (49k quads in
    ~0.25 s), and queries run on the copy; a bigger one is answered from disk. The version is the
    store's ``state_token``, read before its generation is taken, so a change in between only
    costs one more copy, never a stale answer."""

    def __init__(self, store: OxigraphStore, max_quads: int) -> None:
        self.store = store
        self.max_quads = max_quads
        self._version: object = None
        self._copy: ox.Store | None = None

    def current(self) -> tuple[Generation, ox.Store]:
        """The generation to hold while querying, and the store to query: its copy if small."""
        version = self.store.state_token() if self.max_quads > 0 else None
        generation = self.store.snapshot()
        if version is None:  # in memory already, or copies switched off
            return generation, generation.store
        if version != self._version:
            self._copy = None  # the old copy goes before the new one is made
            self._copy = copy_if_small(generation.store, self.max_quads)
            self._version = version
        return generation, generation.store if self._copy is None else self._copy


def copy_if_small(store: ox.Store, max_quads: int) -> ox.Store | None:
    """An in-memory copy of ``store`` if it holds at most ``max_quads`` quads, else None. The
    quads are counted in the engine, no further than ``max_quads + 1`` (~60 ms for 200k)."""
    count = store.query(
        "SELECT (COUNT(*) AS ?n) WHERE { SELECT * WHERE { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } "
        f"LIMIT {max_quads + 1:d} }}"
    )
    assert isinstance(count, ox.QuerySolutions)
    if int(next(iter(count))[0].value) > max_quads:  # type: ignore[union-attr]
        return None
    copy = ox.Store()
    copy.bulk_extend(store.quads_for_pattern(None, None, None, None))
    return copy


# ---- the wire between the server and a worker: bytes only ------------------------------------

_OK, _ERROR = b"K", b"E"


def encode_job(job: QueryJob) -> bytes:
    return json.dumps(
        [job.sparql, job.media_type, job.default_graphs, job.named_graphs, job.max_results, job.bindings],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


def decode_job(data: bytes) -> QueryJob:
    sparql, media_type, default, named, limit, bindings = json.loads(data)
    return QueryJob(
        sparql,
        media_type,
        tuple(default) if default is not None else None,
        tuple(named) if named is not None else None,
        limit,
        tuple(tuple(b) for b in bindings),
    )


def _out_of_memory(memory_mb: int | None) -> QueryOutOfMemory:
    cap = f" ({memory_mb} MB, HMP_WORKER_MEMORY_MB)" if memory_mb else ""
    return QueryOutOfMemory(
        f"the query needed more memory than a query worker may use{cap} and was stopped; "
        "add LIMIT, bind more variables, or avoid DISTINCT or ORDER BY over huge intermediate results"
    )


def _reply(store: ox.Store, job: QueryJob) -> bytes:
    try:
        try:
            return _OK + evaluate(store, job).body
        except MemoryError:  # Python's side ran out under the cap (pyoxigraph's side aborts)
            raise _out_of_memory(None) from None
    except ServiceError as error:
        position = (getattr(error, "line", None), getattr(error, "column", None))
        detail = [type(error).__name__, error.message, *position]
        return _ERROR + json.dumps(detail).encode()


def decode_reply(data: bytes | bytearray, job: QueryJob) -> RawResult:
    """The worker's reply as a result, or the ServiceError it reported (raised)."""
    if data[:1] == _OK:
        return RawResult(bytes(memoryview(data)[1:]), job.media_type, "select")
    kind, message, line, column = json.loads(bytes(memoryview(data)[1:]))
    if kind == "MalformedQuery":
        raise MalformedQuery(message, line=line, column=column)
    raise _ERRORS.get(kind, ServiceError)(message)


#: How often an idle query worker looks whether the store changed (one ``readlink``).
IDLE_FOLLOW_SECONDS = 2.0


def _limit_memory(megabytes: int) -> None:
    """Cap this process's address space: a query that would need more fails its allocation (the
    worker ends, and is replaced) instead of driving the machine out of memory."""
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _worker_main(  # pragma: no cover - subprocess
    conn: Connection, path: str, memory_mb: int = 0, copy_quads: int = 0
) -> None:
    """A query worker: open the store read-only, then answer jobs until the pipe closes. While
    idle it looks every ``IDLE_FOLLOW_SECONDS`` whether the store changed, so that an idle worker
    moves to a new generation too (releasing the old one, and opening — or copying into memory,
    ``MemoryCopy`` — the new one before a query has to wait for that). Its address space is capped
    at ``memory_mb`` (0: no cap)."""
    _limit_memory(memory_mb)
    try:
        store = OxigraphStore(path, read_only=True)
        answering = MemoryCopy(store, copy_quads)
        answering.current()
    except (StoreError, OSError) as error:
        conn.send_bytes(_ERROR + str(error).encode())
        return
    conn.send_bytes(b"ready")
    while True:
        try:
            if not conn.poll(IDLE_FOLLOW_SECONDS):
                answering.current()
                continue
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not message:
            return
        job = decode_job(message)
        generation, target = answering.current()  # the generation is held until the reply is out
        reply = _reply(target, job)
        del generation, target
        conn.send_bytes(reply)


# ---- executors ---------------------------------------------------------------------------------


class Executor(Protocol):
    async def run(self, job: QueryJob, *, timeout: float) -> RawResult: ...

    def close(self) -> None: ...


_LENGTH = struct.Struct("!i")
_LONG_LENGTH = struct.Struct("!Q")


def _frame(payload: bytes) -> bytes:
    """``payload`` framed as ``Connection.send_bytes`` frames it."""
    if len(payload) > 0x7FFFFFFF:
        return _LENGTH.pack(-1) + _LONG_LENGTH.pack(len(payload)) + payload
    return _LENGTH.pack(len(payload)) + payload


class _Channel(asyncio.BufferedProtocol):
    """The server's end of one worker's socket on the event loop: a job out, its reply in.

    The reply's length prefix is read first; the event loop then reads the reply straight into
    one buffer of that size (no chunks joined, however big the result)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._header = bytearray(_LENGTH.size + _LONG_LENGTH.size)
        self._header_read = 0
        self._body: bytearray | None = None
        self._body_read = 0
        self._reply: asyncio.Future[bytearray] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def request(self, payload: bytes) -> asyncio.Future[bytearray]:
        """Send ``payload``; the future is the reply frame (without its length prefix)."""
        assert self.transport is not None
        self._reply = asyncio.get_running_loop().create_future()
        self.transport.write(_frame(payload))
        return self._reply

    def get_buffer(self, sizehint: int) -> memoryview:
        if self._body is not None:
            return memoryview(self._body)[self._body_read :]
        # Never read past the prefix: 4 bytes, or 12 when the first four say -1 (over 2 GiB).
        wanted = _LENGTH.size
        if self._header_read >= _LENGTH.size and _LENGTH.unpack_from(self._header)[0] == -1:
            wanted += _LONG_LENGTH.size
        return memoryview(self._header)[self._header_read : wanted]

    def buffer_updated(self, nbytes: int) -> None:
        if self._body is not None:
            self._body_read += nbytes
        else:
            self._header_read += nbytes
            if self._header_read < _LENGTH.size:
                return
            (size,) = _LENGTH.unpack_from(self._header)
            if size == -1:
                if self._header_read < _LENGTH.size + _LONG_LENGTH.size:
                    return
                (size,) = _LONG_LENGTH.unpack_from(self._header, _LENGTH.size)
            self._body, self._body_read = bytearray(size), 0
        if self._body_read == len(self._body):
            body, self._body, self._header_read = self._body, None, 0
            if self._reply is not None and not self._reply.done():
                self._reply.set_result(body)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._reply is not None and not self._reply.done():
            self._reply.set_exception(EOFError(f"the query worker closed its socket ({exc or 'EOF'})"))


class _Worker:
    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn  # blocking, for the start-up handshake and the goodbye
        self.channel: _Channel | None = None  # the same socket on the event loop, once used

    async def attach(self) -> _Channel:
        loop = asyncio.get_running_loop()
        sock = socket.socket(fileno=os.dup(self.conn.fileno()))
        _, channel = await loop.create_unix_connection(_Channel, sock=sock)
        self.channel = channel
        return channel

    def kill(self) -> None:
        if self.channel is not None and self.channel.transport is not None:
            self.channel.transport.abort()
        with contextlib.suppress(OSError, ValueError):
            self.process.kill()
            self.process.join(2)
        with contextlib.suppress(OSError):
            self.conn.close()


_ERRORS: dict[str, type[ServiceError]] = {
    "MalformedQuery": MalformedQuery,
    "ResultTooLarge": ResultTooLarge,
    "QueryOutOfMemory": QueryOutOfMemory,
}


class ProcessPoolExecutor:
    """Worker processes over a read-only view of the embedded store; kills a worker on timeout."""

    def __init__(self, path: Path, size: int = 2, memory_mb: int = 0, copy_quads: int = 0) -> None:
        self.path = path
        self.size = max(1, size)
        self.memory_mb = memory_mb
        self.copy_quads = copy_quads
        self._context = multiprocessing.get_context("spawn")
        # Last in, first out: back-to-back requests go to the worker that just answered, whose
        # caches are warm; the other one only takes the overflow.
        self._idle: queue.Queue[_Worker] = queue.LifoQueue()
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
            target=_worker_main,
            args=(child, str(self.path), self.memory_mb, self.copy_quads),
            name="hmp-query-worker",
            daemon=True,
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
        message = worker.conn.recv_bytes()
        if message != b"ready":
            worker.kill()
            reason = message[1:].decode(errors="replace")
            raise StoreError(f"a query worker could not open the store: {reason}", value=str(self.path))

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

    def _take(self, timeout: float) -> _Worker:
        try:
            return self._idle.get(timeout=timeout)
        except queue.Empty:
            raise QueryTimedOut(
                f"no query worker became free within {timeout:g} s; try again later"
            ) from None

    async def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        try:
            worker = self._idle.get_nowait()  # the usual case: no thread hop
        except queue.Empty:
            worker = await run_in_threadpool(self._take, timeout)
        try:
            channel = worker.channel or await worker.attach()
            data = await asyncio.wait_for(channel.request(encode_job(job)), timeout)
        except TimeoutError:
            self._discard(worker)  # the worker may still be busy with the query: end it
            raise QueryTimedOut(
                f"the query ran longer than {timeout:g} s and was stopped",
                expected="a cheaper query (add LIMIT, bind more variables)",
            ) from None
        except (EOFError, OSError) as error:
            worker.process.join(2)  # how it ended: an allocation over the cap aborts it
            ended = worker.process.exitcode
            self._discard(worker)
            if self.memory_mb > 0 and ended == -signal.SIGABRT:  # pyoxigraph aborts on a failed allocation
                raise _out_of_memory(self.memory_mb) from error
            raise ServiceError(f"the query worker died (exit code {ended}): {error}") from error
        except BaseException:  # the request was cancelled: the worker may be busy
            self._discard(worker)
            raise
        self._idle.put(worker)
        return decode_reply(data, job)

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
                worker.conn.send_bytes(b"")
            worker.process.join(1)
            worker.kill()


class InProcessExecutor:
    """Evaluate in the server process (HMP_QUERY_WORKERS=0): fast, but the timeout only stops
    waiting — a runaway query keeps running in its thread. For tests and benchmarks."""

    def __init__(self, store: OxigraphStore, copy_quads: int = 0) -> None:
        self.store = store
        self._answering = MemoryCopy(store, copy_quads)
        self._lock = threading.Lock()

    def _evaluate(self, job: QueryJob) -> RawResult:
        with self._lock:  # one thread makes a new version's copy; the others wait for it
            _held, target = self._answering.current()  # the generation is held while the query runs
        return evaluate(target, job)

    async def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        try:
            return await asyncio.wait_for(run_in_threadpool(self._evaluate, job), timeout)
        except TimeoutError:
            raise QueryTimedOut(f"the query ran longer than {timeout:g} s") from None

    def close(self) -> None:
        pass


class StoreExecutor:
    """Delegate to ``Store.query_raw`` (the remote store); limits are the remote server's.

    SPARQL JSON is asked of the store as SPARQL XML and rewritten by pyoxigraph: Virtuoso writes
    XML 1.4-2.1x faster than JSON for long answers (bench/RESULTS.md), and its JSON still uses
    the 2007 note's ``"typed-literal"``, which had to be rewritten anyway."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def run(self, job: QueryJob, *, timeout: float) -> RawResult:
        return await run_in_threadpool(self._run, job, timeout)

    def _run(self, job: QueryJob, timeout: float) -> RawResult:
        if job.media_type == JSON_RESULTS:
            return _as_json(self._ask_store(job, XML_RESULTS, timeout))
        return self._ask_store(job, job.media_type, timeout)

    def _ask_store(self, job: QueryJob, media_type: str, timeout: float) -> RawResult:
        try:
            return self.store.query_raw(
                bind_values(job.sparql, job.substitutions()),  # a typed VALUES block
                media_type=media_type,
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


def _as_json(result: RawResult) -> RawResult:
    """A store's SPARQL XML results (solutions or a boolean) as SPARQL 1.1 Query Results JSON."""
    try:
        parsed = ox.parse_query_results(result.body, format=ox.QueryResultsFormat.XML)
    except (SyntaxError, ValueError) as error:
        raise ServiceError(f"the SPARQL store's answer is not SPARQL XML results: {error}") from error
    body = parsed.serialize(format=ox.QueryResultsFormat.JSON) or b""
    return RawResult(body, JSON_RESULTS, "ask" if isinstance(parsed, ox.QueryBoolean) else result.form)
