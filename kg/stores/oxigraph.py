"""The embedded store: pyoxigraph (RocksDB) on disk.

Queries see the union of the named graphs as their default graph unless ``default_graph_uris``
are given. ``replace_graphs`` / ``replace_with`` are atomic: ONE pyoxigraph transaction either
adds the new quads (``Store.extend``, when none of the replaced graphs exists yet) or drops the
old graphs and inserts the new quads (one SPARQL Update ``DROP …; INSERT DATA {…}``); on any
error — also one raised by the caller's iterator half way — nothing changes. pyoxigraph 0.5 has
no multi-call transaction, and a transaction is buffered in memory until it commits, so this
costs memory in proportion to the replaced data (measured in ``bench/RESULTS.md``). The old
way — bulk-load into staging graphs, then ``MOVE`` them in one update — was 2-3x slower (MOVE
re-inserts and deletes every quad inside the transaction) and no lighter.

Timeouts: pyoxigraph (0.5) has no way to cancel a running query from Python. A query runs in a
worker thread that pulls results one at a time and checks a cancel flag between them; the
caller stops waiting at the deadline and gets ``QueryTimeout``. So a streaming query stops
within one solution of the deadline, while a query that must finish a blocking operator
(ORDER BY, GROUP BY, a big join) before its first solution keeps one worker thread busy until
that operator finishes — the documented limit. The service can run queries in a subprocess for
a hard stop.

On-disk layout: generations. The store directory holds ``gen-N/`` RocksDB directories and an
``active`` symlink naming the current one; ``OxigraphStore(path)`` and
``OxigraphStore(path, read_only=True)`` open what ``active`` names. A study too big for one
in-memory transaction is swapped in whole instead (``replace_by_swap``): the new version of the
store is built in a private ``gen-N`` (the build's scratch store, which already holds the
validated study, plus a copy of every other graph), then ``active`` is switched to it with one
``os.replace`` of a symlink — atomic on POSIX. A crash before the switch leaves the previous
generation active and intact; the orphan directory is removed by the next read-write open.

Readers follow the store. Each generation holds two small files of ours beside RocksDB's:
``hmp-readers``, which every read-only opener holds a shared ``flock`` on (its *lease*), and
``hmp-version``, a symlink whose target (``gen-N:K``) a writer changes after every write it
commits in place. A read-only ``OxigraphStore`` reads ``active/hmp-version`` (one ``readlink``)
at the start of each query; when it changed — a build switched generations, or committed into
the active one — it opens what ``active`` names now (lease first, then ``active`` read again, so
a switch in between is never missed) and later queries run there. A query already running
finishes on the generation it started on: it holds that generation (and its lease) until it
returns. Writers — ``replace_by_swap`` after its switch, and every read-write open — delete only
generations nobody holds a lease on: they take an exclusive ``flock`` without waiting, rename
the generation out of the way under it and remove it; a held one stays on disk until a later
writer finds it free. Readers never delete anything (they may not even have write permission).
The kernel drops a ``flock`` when its process dies, also by SIGKILL, so a dead reader pins
nothing (a child forked without ``exec`` shares its parent's leases until it exits too). A store
written before generations (no ``active``) is read without a lease; its reader moves to
``gen-1`` once a build has converted it.

A read-write ``OxigraphStore`` holds ``write.lock`` (``flock``) until ``close()``: a second
writer — another ``hmp build`` — gets a ``StoreError`` at once instead of interleaving. A store
written before generations (RocksDB files directly in the directory) is still opened read-only
as it is; a read-write open converts it first (a hard-link ``Store.backup`` into ``gen-1``,
then the switch; crash-safe the same way).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import logging
import mmap
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from kg._gc import paused_gc
from kg.errors import StoreError
from kg.store import GRAPH_FORMATS, SELECT_FORMATS, RawResult, Row, Term
from kg.stores._bind import bind

T = TypeVar("T")

log = logging.getLogger(__name__)

_RESULT_FORMATS = {
    "json": ox.QueryResultsFormat.JSON,
    "xml": ox.QueryResultsFormat.XML,
    "csv": ox.QueryResultsFormat.CSV,
    "tsv": ox.QueryResultsFormat.TSV,
}
RDF_FORMATS = {
    "ttl": ox.RdfFormat.TURTLE,
    "nt": ox.RdfFormat.N_TRIPLES,
    "jsonld": ox.RdfFormat.JSON_LD,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "nq": ox.RdfFormat.N_QUADS,
    "trig": ox.RdfFormat.TRIG,
}
QUAD_MEDIA_TYPES = {"application/n-quads", "application/trig"}
#: Graphs named so were staging graphs of older versions; never listed as data.
STAGING_PREFIX = "urn:hmp:staging:"
#: Quads per ``bulk_extend`` call in ``bulk_extend_batched`` (bounds the bulk loader's buffers).
BULK_BATCH_QUADS = 20_000
#: Lines (quads) per ``Store.bulk_load`` call in ``bulk_load_nquads``: one call over a 4.3M-quad
#: file peaked at 1.7 GB RSS, 500k-line slices at 1.0 GB (bench/RESULTS.md).
NQUADS_LOAD_LINES = 250_000

#: The store directory's layout (see the module docstring).
ACTIVE = "active"
LOCK_FILE = "write.lock"
#: Inside each generation: the readers' lease file and the version symlink (module docstring).
READERS = "hmp-readers"
VERSION = "hmp-version"
_GENERATION = re.compile(r"^gen-(\d+)$")
_WORKDIR_PREFIX = "tmp-"
#: Files RocksDB keeps in a database directory: what a store written before generations holds.
_ROCKSDB_FILE = re.compile(
    r"^(CURRENT|IDENTITY|LOCK|LOG(\.old\.\d+)?|MANIFEST-\d+|OPTIONS-\d+|\d+\.(sst|log|blob)|.*\.dbtmp)$"
)


def bulk_load_nquads(store: ox.Store, path: str | Path, *, lines: int | None = None) -> None:
    """``Store.bulk_load`` an N-Quads file in slices of ``lines`` lines (bounded memory).

    N-Quads has one quad per line, so slicing by lines is exact. ``bulk_load`` relabels blank
    nodes per call: the file must hold no blank nodes (``has_blank_node``) — load those apart.
    """
    lines = lines or NQUADS_LOAD_LINES
    with open(path, "rb") as f:
        while part := b"".join(itertools.islice(f, lines)):
            store.bulk_load(input=part, format=ox.RdfFormat.N_QUADS)


def bulk_extend_batched(store: ox.Store, quads: Iterable[ox.Quad], *, batch: int | None = None) -> int:
    """``Store.bulk_extend`` in slices of ``batch`` quads, streaming; returns the number loaded.

    One ``bulk_extend`` over millions of quads buffers them before writing (2.1 GB peak RSS at
    4.3 M quads, ``bench/RESULTS.md``); slices keep that bounded. Not atomic: for scratch stores.
    """
    batch = batch or BULK_BATCH_QUADS
    it = iter(quads)
    total = 0
    while (first := next(it, None)) is not None:
        counted = _Counted(itertools.chain((first,), itertools.islice(it, batch - 1)))
        store.bulk_extend(counted)
        total += counted.n
    return total


def _copy_graph(
    source: ox.Store, target: ox.Store, graph: ox.NamedNode | ox.DefaultGraph, spool: Path
) -> None:
    """Copy one graph between stores in bounded memory: an N-Quads dump, ``bulk_load``-ed in
    slices; a graph whose dump may hold blank nodes (``bulk_load`` would relabel them per
    slice) goes through ``bulk_extend`` of the quads themselves instead."""
    source.dump(str(spool), format=ox.RdfFormat.N_TRIPLES, from_graph=graph)
    with open(spool, "rb") as f:
        maybe_blank = f.seek(0, os.SEEK_END) > 0 and b"_:" in mmap.mmap(
            f.fileno(), 0, access=mmap.ACCESS_READ
        )
    if maybe_blank:
        bulk_extend_batched(target, source.quads_for_pattern(None, None, None, graph))
        return
    with open(spool, "rb") as f:
        while part := b"".join(itertools.islice(f, NQUADS_LOAD_LINES)):
            target.bulk_load(input=part, format=ox.RdfFormat.N_TRIPLES, to_graph=graph)


def has_blank_node(quad: ox.Quad) -> bool:
    return isinstance(quad.subject, ox.BlankNode) or isinstance(quad.object, ox.BlankNode)


class _Counted:
    def __init__(self, items: Iterator[ox.Quad]) -> None:
        self.items, self.n = items, 0

    def __iter__(self) -> Iterator[ox.Quad]:
        for item in self.items:
            self.n += 1
            yield item


def _drop_and_insert(graphs: Sequence[str], quads: Iterable[ox.Quad]) -> str:
    """One SPARQL Update: drop ``graphs``, insert ``quads`` (grouped by graph, N-Triples terms)."""
    ops = [f"DROP SILENT GRAPH {ox.NamedNode(g)}" for g in graphs]
    body: list[str] = []
    for graph, group in itertools.groupby(quads, key=lambda q: q.graph_name):
        triples = ox.serialize((q.triple for q in group), format=ox.RdfFormat.N_TRIPLES) or b""
        inner = triples.decode("utf-8")
        body.append(inner if isinstance(graph, ox.DefaultGraph) else f"GRAPH {graph} {{\n{inner}}}")
    if body:
        ops.append("INSERT DATA {\n" + "\n".join(body) + "}")
    return " ;\n".join(ops)


class QueryTimeout(StoreError):
    """The query ran longer than its timeout."""


def _bindings(substitutions: Mapping[str, Term] | None) -> dict[ox.Variable, Term] | None:
    if not substitutions:
        return None
    return {ox.Variable(name.lstrip("?$")): term for name, term in substitutions.items()}


def query_substituted(
    store: ox.Store, sparql: str, substitutions: Mapping[str, Term] | None, **options: object
) -> ox.QuerySolutions | ox.QueryBoolean | ox.QueryTriples:
    """``store.query`` with ``substitutions`` (variable name -> term) bound by pyoxigraph; where
    pyoxigraph 0.5 cannot (it substitutes only projected variables), bound as a typed VALUES
    block built from the same terms (still no string splicing). Any other RuntimeError is
    raised as it is."""
    try:
        return store.query(sparql, substitutions=_bindings(substitutions), **options)  # type: ignore[arg-type]
    except RuntimeError as error:
        if not substitutions or "projection" not in str(error):
            raise
        return store.query(bind(sparql, substitutions), **options)  # type: ignore[arg-type]


def run_with_timeout(work: Callable[[threading.Event], T], timeout: float | None) -> T:
    """Run ``work(cancelled)`` in a worker thread; give up waiting after ``timeout`` seconds."""
    if timeout is None:
        return work(threading.Event())
    cancelled = threading.Event()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = work(cancelled)
        except BaseException as error:  # handed back to the caller below
            box["error"] = error

    worker = threading.Thread(target=target, name="hmp-query", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        cancelled.set()
        raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped", value=timeout)
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def _check(cancelled: threading.Event) -> None:
    if cancelled.is_set():
        raise QueryTimeout("query cancelled")


class _Collector:
    """A binary writer for ``QuerySolutions.serialize`` that stops it once the caller gave up."""

    def __init__(self, cancelled: threading.Event) -> None:
        self.cancelled = cancelled
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        _check(self.cancelled)
        self.parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass


#: an N-Triples subject and predicate put in front of each distinct TSV cell to parse it as Turtle
_CELL_PREFIX = b"<urn:x-hmp:s> <urn:x-hmp:p> "


def solution_rows(result: ox.QuerySolutions, cancelled: threading.Event | None = None) -> list[Row] | None:
    """The solutions as rows (variable name -> term; unbound variables left out), read from
    pyoxigraph's own TSV serialisation, or None when the answer holds a quoted triple.

    Creating a Python object for every value of every solution is most of the cost of reading a
    large answer (at 100x, stage-trajectories' 25,766 rows x 12: ~0.1 s of the ~0.6 s); answers
    repeat the same terms (labels, concepts, participants), so the serialiser (Rust) writes the
    answer once and each *distinct* cell is parsed once, all of them in one Turtle document (a
    TSV cell is a term in Turtle syntax). Rows share the term objects of equal cells."""
    names = [v.value for v in result.variables]
    sink = _Collector(cancelled or threading.Event())
    try:
        result.serialize(sink, format=ox.QueryResultsFormat.TSV)  # type: ignore[arg-type]
    except (RuntimeError, OSError) as error:
        raise StoreError(f"the query failed: {error}") from error
    lines = b"".join(sink.parts).split(b"\n")[1:-1]  # a header line; every line ends with "\n"
    if not names:
        return [{} for _ in lines]
    with paused_gc():
        table = [line.split(b"\t") for line in lines]
        distinct = set(itertools.chain.from_iterable(table))
        distinct.discard(b"")  # an unbound variable
        if any(c.startswith(b"<<") for c in distinct):
            return None
        terms: list[Term] = []
        parsed = [c for c in distinct if not c.startswith(b"_:")]
        if parsed:
            doc = b"".join(_CELL_PREFIX + c + b" .\n" for c in parsed)
            terms = [t.object for t in ox.parse(doc, format=ox.RdfFormat.TURTLE)]  # type: ignore[misc]
        if len(terms) != len(parsed):
            raise StoreError("could not read the query answer back from its TSV serialisation")
        cells: dict[bytes, Term | None] = dict(zip(parsed, terms, strict=True))
        cells[b""] = None
        for c in distinct:
            if c.startswith(b"_:"):  # parsing would relabel a blank node: keep its label
                cells[c] = ox.BlankNode(c[2:].decode())
        term = cells.__getitem__
        rows: list[Row] = []
        for row in table:
            if b"" in row:
                rows.append({name: t for name, t in zip(names, map(term, row), strict=True) if t is not None})
            else:
                rows.append(dict(zip(names, map(term, row), strict=True)))  # type: ignore[arg-type]
    return rows


def _iterated_rows(result: ox.QuerySolutions, cancelled: threading.Event) -> list[Row]:
    """The solutions as rows, one pyoxigraph solution at a time (what ``solution_rows`` cannot read)."""
    names = [v.value for v in result.variables]
    rows: list[Row] = []
    with paused_gc():
        for solution in result:
            _check(cancelled)
            # a solution iterates its values in the order of ``result.variables``; this is
            # faster than looking each variable up by name (25k rows x 12: 0.2 s, not 0.45 s)
            pairs = zip(names, solution, strict=True)
            rows.append({name: value for name, value in pairs if value is not None})
    return rows


def active_generation(path: Path) -> Path | None:
    """The generation directory ``path/active`` names, or None (no generations: a legacy store)."""
    try:
        return path / os.readlink(path / ACTIVE)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _generations(path: Path) -> dict[int, Path]:
    found = {}
    for child in path.iterdir() if path.is_dir() else ():
        match = _GENERATION.match(child.name)
        if match and child.is_dir() and not child.is_symlink():
            found[int(match.group(1))] = child
    return found


def _is_legacy(path: Path) -> bool:
    """RocksDB files directly in ``path`` and no ``active``: a store written before generations."""
    return (path / "CURRENT").is_file() and not (path / ACTIVE).is_symlink()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _point_active_at(path: Path, generation: Path) -> None:
    """Atomically make ``path/active`` name ``generation`` (a new symlink renamed over the old)."""
    temporary = path / (ACTIVE + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(generation.name, temporary)
    os.replace(temporary, path / ACTIVE)
    _fsync_dir(path)


def _read_token(path: Path) -> str | None:
    """What a reader compares to notice that ``path`` changed: the active generation's version
    link (``gen-N:K``); failing that (a store no writer of this version has opened yet) the
    active generation's name; None for a store without generations."""
    try:
        return os.readlink(path / ACTIVE / VERSION)
    except OSError:
        pass
    try:
        return os.readlink(path / ACTIVE)
    except OSError:
        return None


def _set_version(directory: Path, version: int) -> str:
    """Point ``directory/hmp-version`` at ``<gen-N>:<version>`` (a new symlink renamed over the
    old: readers never see it missing). Not fsync'ed: it only matters to running readers."""
    token = f"{directory.name}:{version}"
    temporary = directory / (VERSION + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    os.symlink(token, temporary)
    os.replace(temporary, directory / VERSION)
    return token


def _version_of(token: str | None) -> int:
    _, _, number = (token or "").partition(":")
    return int(number) if number.isdigit() else 0


def _open_lease(directory: Path) -> int | None:
    """A descriptor of ``directory/hmp-readers`` (created when missing and allowed), or None when
    the generation is gone (or the file cannot be had: a read-only store of an older version)."""
    lease = directory / READERS
    try:
        return os.open(lease, os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except FileNotFoundError:
        return None
    except OSError:  # no write permission, a read-only file system: the writer made it, or not
        try:
            return os.open(lease, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None


class _Busy(Exception):
    """The generation is being deleted (a writer holds its lease exclusively)."""


def _take_lease(directory: Path) -> int | None:
    """Hold a shared lease on ``directory``: the descriptor (closing it releases the lease), or
    None when no lease can be had there; raises ``_Busy`` while a writer is deleting it."""
    fd = _open_lease(directory)
    if fd is None:
        if not directory.is_dir():
            raise _Busy(directory.name)
        return None  # e.g. read-only access to a store written before leases: read it unleased
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _Busy(directory.name) from None
    return fd


def _remove_if_unused(path: Path, generation: Path) -> bool:
    """Delete ``generation`` unless a reader holds its lease; whether it was deleted. Called by
    writers only, never on the active generation: an exclusive ``flock`` without waiting, then
    the directory is renamed into a ``tmp-`` directory (so no reader can lease it any more; a
    crash part way leaves a ``tmp-`` directory the next read-write open removes) and removed."""
    fd = _open_lease(generation)
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        doomed = Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX, dir=path))
        try:
            os.rename(generation, doomed / generation.name)
        except FileNotFoundError:
            pass
    finally:
        if fd is not None:
            os.close(fd)
    shutil.rmtree(doomed, ignore_errors=True)
    return True


class Generation:
    """One opened generation: the pyoxigraph store, its directory, the version it was opened at
    and — for a reader — the lease that keeps it on disk while this object lives. Hold it for as
    long as ``store`` is used (``OxigraphStore.snapshot``)."""

    __slots__ = ("__weakref__", "directory", "store", "token")

    def __init__(self, store: ox.Store, directory: Path | None, token: str | None, lease: int | None) -> None:
        self.store = store
        self.directory = directory
        self.token = token
        if lease is not None:
            weakref.finalize(self, os.close, lease)  # closing the descriptor releases the lease


#: How long a reader keeps trying to open a generation a writer is still compacting.
READ_ONLY_OPEN_SECONDS = 5.0


def _read_only(directory: Path) -> ox.Store:
    """``ox.Store.read_only(directory)``, tried again while a writer is changing its files.

    RocksDB opens read-only from the MANIFEST as it is at that moment; a writer still compacting
    the generation (the build that just switched to it, or a commit in place) can delete a file
    the MANIFEST listed before the reader opens it: "Corruption: ... No such file or directory".
    Read again, the MANIFEST lists the files that replaced it. Other errors are raised at once."""
    deadline = time.monotonic() + READ_ONLY_OPEN_SECONDS
    pause = 0.005
    while True:
        try:
            return ox.Store.read_only(str(directory))
        except (RuntimeError, OSError) as error:
            missing_table = "No such file" in str(error) and ".sst" in str(error)
            if not missing_table or time.monotonic() > deadline:
                raise
            log.info("reopening %s: a writer changed its files meanwhile (%s)", directory, error)
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def _open_reader(path: Path) -> Generation:
    """Open ``path``'s active generation read-only under a lease (or a legacy store as it is).

    The version is read first, then the lease taken, then ``active`` read again: when it still
    names the same generation, no writer can have started deleting it (writers only delete
    generations ``active`` no longer names, and only without a lease on them)."""
    for attempt in range(5):
        last = attempt == 4
        token = _read_token(path)
        if token is None:  # no generations: RocksDB files directly in ``path``
            return Generation(_read_only(path), path, None, None)
        directory = path / token.partition(":")[0]
        try:
            lease = _take_lease(directory)
        except _Busy:
            if last:
                raise StoreError(
                    f"the store's generation {directory.name} went away while being opened",
                    value=str(path),
                    expected="a store that is not rebuilt many times a second; try again",
                ) from None
            continue
        opened = None
        try:
            # on the last attempt a leased generation that is no longer active is still a
            # consistent version of the store: open it, the next query moves on
            if last or os.readlink(path / ACTIVE) == directory.name:
                opened = Generation(_read_only(directory), directory, token, lease)
                return opened
        except OSError:
            if last:
                raise
        finally:
            if opened is None and lease is not None:
                os.close(lease)
    raise AssertionError("unreachable")


class OxigraphStore:
    """``kg.store.Store`` over a pyoxigraph store in ``path`` (created when missing).

    ``path`` holds generations (module docstring); ``path=None`` is an in-memory store.
    """

    def __init__(self, path: str | Path | None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self._lock_fd: int | None = None
        # a reader on disk looks at this link before each query and follows the store
        self._follow = self.path is not None and read_only
        self._version_link = str(self.path / ACTIVE / VERSION) if self.path is not None else ""
        self._switching = threading.Lock()
        try:
            if self.path is None:
                self._gen = Generation(ox.Store(), None, None, None)
            elif read_only:
                self._gen = _open_reader(self.path)
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._lock()
                directory = self._prepare(self.path)
                token = os.readlink(directory / VERSION)
                self._gen = Generation(ox.Store(str(directory)), directory, token, None)
        except OSError as error:
            self._unlock()
            raise StoreError(
                f"cannot open the store: {error}", value=str(path), expected="a writable directory"
            ) from error
        except StoreError:
            self._unlock()
            raise

    @property
    def directory(self) -> Path | None:
        """The generation directory in use (the store directory for a legacy store)."""
        return self._gen.directory

    @property
    def _store(self) -> ox.Store:
        """The store in use, unchecked: what writers work on (readers call ``snapshot``)."""
        return self._gen.store

    def snapshot(self) -> Generation:
        """The generation to run one query on; hold it while using its ``store``.

        A reader on disk first looks whether the store changed since it opened its generation
        (one ``readlink`` of ``active/hmp-version``) and if so opens the new version — later
        snapshots are of that; one still held keeps its generation open and leased. A writer,
        or an in-memory store, just returns what it has."""
        generation = self._gen
        if self._follow:
            try:
                token: str | None = os.readlink(self._version_link)
            except OSError:
                token = _read_token(self.path)  # type: ignore[arg-type]
            if token != generation.token:
                generation = self._switch()
        return generation

    def _switch(self) -> Generation:
        assert self.path is not None
        with self._switching:
            current = self._gen
            if _read_token(self.path) == current.token:  # another thread was first
                return current
            try:
                self._gen = _open_reader(self.path)
            except (OSError, StoreError) as error:
                log.warning(
                    "cannot open the new version of the store %s, still answering from %s: %s",
                    self.path,
                    current.directory,
                    error,
                )
                return current
            return self._gen

    def state_token(self) -> str | None:
        """A string that changes whenever the store on disk changes (a generation switch, or a
        write committed in place); one ``readlink``, opens nothing. None in memory."""
        if self.path is None:
            return None
        try:
            return os.readlink(self._version_link)  # a prepared string: Path joins cost 3 µs
        except OSError:
            return _read_token(self.path)

    def _changed(self) -> None:
        """After a write committed in place: a new version link, so that readers reopen."""
        generation = self._gen
        directory = generation.directory
        if self.read_only or self.path is None or directory is None or directory == self.path:
            return
        try:
            generation.token = _set_version(directory, _version_of(generation.token) + 1)
        except OSError as error:
            log.warning(
                "cannot tell readers of %s about a write (they keep the old view): %s", self.path, error
            )

    def _lock(self) -> None:
        """Hold ``write.lock`` until ``close()`` (or until this object is collected)."""
        assert self.path is not None
        lock = self.path / LOCK_FILE
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip()
            os.close(fd)
            raise StoreError(
                f"the store {self.path} is being written by another process"
                + (f" (pid {holder})" if holder else "")
                + "; nothing was changed",
                value=str(self.path),
                expected="one writer at a time: wait for the other `hmp build` (or a service "
                "started with HMP_UPDATE_TOKEN) to finish, then run this again",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        self._lock_finalizer = weakref.finalize(self, os.close, fd)

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            self._lock_finalizer()  # closing the descriptor releases the flock
            self._lock_fd = None

    def _prepare(self, path: Path) -> Path:
        """Under the write lock: convert a legacy store, create a first generation, remove what
        a crashed build left behind; returns the active generation's directory."""
        if _is_legacy(path):
            legacy = ox.Store(str(path))
            for orphan in _generations(path).values():  # a conversion that crashed before its switch
                shutil.rmtree(orphan)
            legacy.backup(str(path / "gen-1"))  # hard links: cheap, and the legacy files stay intact
            del legacy
            _point_active_at(path, path / "gen-1")
        active = active_generation(path)
        if active is not None and not active.is_dir():
            # never start afresh here: that would delete the other generations, which may be
            # the only copy of the data (no build leaves ``active`` dangling; a person might)
            left = ", ".join(sorted(p.name for p in _generations(path).values())) or "none"
            raise StoreError(
                f"the store's active generation {active.name} is missing",
                value=str(path / ACTIVE),
                expected=f"{ACTIVE} pointing at an existing generation directory (there: {left}); "
                "restore it or re-point the link, or remove the store directory to start empty",
            )
        if active is None:
            active = path / f"gen-{max(_generations(path), default=0) + 1}"
            ox.Store(str(active)).flush()
            _point_active_at(path, active)
        fd = _open_lease(active)  # created here, so that readers without write access can lease
        if fd is not None:
            os.close(fd)
        if not os.path.lexists(active / VERSION):
            _set_version(active, 0)
        generations = _generations(path).values()
        for child in list(path.iterdir()):
            if child == active or child.name in (ACTIVE, LOCK_FILE):
                continue
            if child in generations:
                _remove_if_unused(path, child)  # switched away from, or a crashed build's
            elif _GENERATION.match(child.name) or child.name.startswith(_WORKDIR_PREFIX):
                shutil.rmtree(child, ignore_errors=True)  # a crashed build's, or a half deletion
            elif child.name == ACTIVE + ".tmp" or (child.is_file() and _ROCKSDB_FILE.match(child.name)):
                child.unlink()  # a switch that crashed, or the files of a converted legacy store
        return active

    # ---- generations (building a new version of the whole store) ---------------------------
    @property
    def swappable(self) -> bool:
        """Whether ``replace_by_swap`` works here: a read-write store on disk."""
        return self.path is not None and not self.read_only

    def new_generation(self) -> Path:
        """A directory for a new generation (not created; private until ``replace_by_swap``)."""
        assert self.path is not None and self._lock_fd is not None, "needs a read-write store on disk"
        return self.path / f"gen-{max(_generations(self.path), default=0) + 1}"

    def workdir(self) -> Path:
        """A private temporary directory beside the generations (same file system); removed by
        the caller, or by the next read-write open if the process dies first."""
        assert self.path is not None
        return Path(tempfile.mkdtemp(prefix=_WORKDIR_PREFIX, dir=self.path))

    def other_graphs(self, graphs: Sequence[str]) -> list[ox.NamedNode | ox.DefaultGraph]:
        """The graphs holding data that are not in ``graphs`` (the default graph included)."""
        wanted = set(graphs)
        others: list[ox.NamedNode | ox.DefaultGraph] = [
            g for g in self._store.named_graphs() if isinstance(g, ox.NamedNode) and g.value not in wanted
        ]
        if next(iter(self._store.quads_for_pattern(None, None, None, ox.DefaultGraph())), None):
            others.append(ox.DefaultGraph())
        return others

    def replace_by_swap(
        self,
        new: ox.Store,
        directory: Path,
        *,
        replace: Sequence[str],
        progress: Callable[[str], None] | None = None,
    ) -> None:
        """Atomically make this store hold ``new`` plus every graph it holds now outside
        ``replace``; ``new`` is a store opened in ``directory`` (from ``new_generation()``).

        The other graphs are copied into ``new`` (N-Quads dumps, ``bulk_load``-ed in slices;
        graphs with blank nodes through ``bulk_extend``), ``new`` is compacted and flushed, then
        ``active`` is switched to ``directory`` — the only step that changes what the store
        holds, and one ``os.replace``. Memory stays bounded whatever the size. This object
        then uses ``new``; the previous generation is closed and deleted unless a reader still
        holds it (then a later writer deletes it). On an error (or a crash) before the switch
        the store is unchanged; the caller removes ``directory``.
        """
        assert self.path is not None and self._lock_fd is not None, "needs a read-write store on disk"
        workdir = self.workdir()
        try:
            for graph in self.other_graphs(replace):
                if progress:
                    progress("copy")
                _copy_graph(self._store, new, graph, workdir / "graph.nq")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if progress:
            progress("compact")
        # bulk loads leave many small SST files; compacting them made the canned queries
        # 1.3-3.3x faster on the 100x study (bench/RESULTS.md)
        new.optimize()
        new.flush()
        if progress:
            progress("switch")
        fd = _open_lease(directory)
        if fd is not None:
            os.close(fd)
        token = _set_version(directory, 0)
        _point_active_at(self.path, directory)
        old, self._gen = self._gen, Generation(new, directory, token, None)
        del old
        self.remove_unused_generations()

    def remove_unused_generations(self) -> list[Path]:
        """Delete every generation but the active one that no reader holds (a read-write store
        only); returns those kept because a reader still holds them."""
        assert self.path is not None and self._lock_fd is not None, "needs a read-write store on disk"
        kept = []
        for generation in _generations(self.path).values():
            if generation != self._gen.directory and not _remove_if_unused(self.path, generation):
                kept.append(generation)
        if kept:
            log.info("kept %s: still read by another process", ", ".join(p.name for p in kept))
        return kept

    @property
    def raw(self) -> ox.Store:
        """The underlying pyoxigraph store (for bulk work inside ``kg``). A reader's is the
        current generation's, kept open and leased until this object moves on to a newer one;
        to keep one for longer, hold a ``snapshot()``."""
        return self.snapshot().store

    # ---- queries ---------------------------------------------------------------------------
    @staticmethod
    def _query(
        store: ox.Store,
        sparql: str,
        substitutions: Mapping[str, Term] | None,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
    ) -> object:
        options: dict[str, object] = {}
        if default_graph_uris:
            options["default_graph"] = [ox.NamedNode(g) for g in default_graph_uris]
        else:
            options["use_default_graph_as_union"] = True
        if named_graph_uris:
            options["named_graphs"] = [ox.NamedNode(g) for g in named_graph_uris]
        try:
            return query_substituted(store, sparql, substitutions, **options)
        except RuntimeError as error:
            raise StoreError(f"the query failed: {error}") from error
        except SyntaxError as error:
            raise StoreError(f"malformed SPARQL query: {error}", expected="a SPARQL 1.1 query") from error
        except OSError as error:
            raise StoreError(f"the query failed: {error}") from error

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        def work(cancelled: threading.Event) -> list[Row]:
            generation = self.snapshot()  # held until the result is read: its lease too
            result = self._query(generation.store, sparql, substitutions)
            if not isinstance(result, ox.QuerySolutions):
                raise StoreError("not a SELECT query", expected="SELECT")
            rows = solution_rows(result, cancelled)
            if rows is None:  # a quoted triple in the answer: read it solution by solution
                result = self._query(generation.store, sparql, substitutions)
                assert isinstance(result, ox.QuerySolutions)
                rows = _iterated_rows(result, cancelled)
            return rows

        return run_with_timeout(work, timeout)

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool:
        def work(cancelled: threading.Event) -> bool:
            generation = self.snapshot()  # held until the result is read: its lease too
            result = self._query(generation.store, sparql, substitutions)
            if not isinstance(result, ox.QueryBoolean):
                raise StoreError("not an ASK query", expected="ASK")
            return bool(result)

        return run_with_timeout(work, timeout)

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]:
        def work(cancelled: threading.Event) -> list[ox.Triple]:
            generation = self.snapshot()  # held until the result is read: its lease too
            result = self._query(generation.store, sparql, substitutions)
            if not isinstance(result, ox.QueryTriples):
                raise StoreError("not a CONSTRUCT or DESCRIBE query", expected="CONSTRUCT")
            out = []
            with paused_gc():
                for triple in result:
                    _check(cancelled)
                    out.append(triple)
            return out

        return run_with_timeout(work, timeout)

    def query_raw(
        self,
        sparql: str,
        *,
        media_type: str,
        substitutions: Mapping[str, Term] | None = None,
        default_graph_uris: Sequence[str] = (),
        named_graph_uris: Sequence[str] = (),
        timeout: float | None = None,
    ) -> RawResult:
        def work(cancelled: threading.Event) -> RawResult:
            generation = self.snapshot()
            result = self._query(
                generation.store, sparql, substitutions, default_graph_uris, named_graph_uris
            )
            if isinstance(result, ox.QuerySolutions | ox.QueryBoolean):
                key = SELECT_FORMATS.get(media_type)
                if key is None:
                    raise StoreError(
                        "unsupported result format", value=media_type, expected=", ".join(SELECT_FORMATS)
                    )
                form = "select" if isinstance(result, ox.QuerySolutions) else "ask"
                body = result.serialize(format=_RESULT_FORMATS[key])
                return RawResult(body or b"", media_type, form)
            fmt = GRAPH_FORMATS.get(media_type)
            if fmt is None:
                raise StoreError(
                    "unsupported graph format", value=media_type, expected=", ".join(GRAPH_FORMATS)
                )
            triples = []
            for t in result:  # type: ignore[attr-defined]
                _check(cancelled)
                triples.append(t)
            form = "describe" if sparql.lstrip().upper().startswith("DESCRIBE") else "construct"
            rdf_format = RDF_FORMATS[fmt]
            if media_type in QUAD_MEDIA_TYPES:
                items: list[ox.Triple] | list[ox.Quad] = [
                    ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples
                ]
            else:
                items = triples
            return RawResult(ox.serialize(items, format=rdf_format) or b"", media_type, form)

        return run_with_timeout(work, timeout)

    # ---- updates -----------------------------------------------------------------------------
    def update(self, sparql_update: str) -> None:
        try:
            self._store.update(sparql_update)
        except SyntaxError as error:
            raise StoreError(f"malformed SPARQL update: {error}") from error
        except OSError as error:
            raise StoreError(f"the update failed: {error}") from error
        self._changed()

    def replace_graphs(
        self, graphs: Mapping[str, Iterable[ox.Triple]], *, drop: Sequence[str] = (), atomic: bool = True
    ) -> None:
        """One transaction, whatever ``atomic`` says (big studies go through ``replace_by_swap`` or
        ``replace_from_nquads`` instead)."""

        def quads() -> Iterator[ox.Quad]:
            for graph, triples in graphs.items():
                g = ox.NamedNode(graph)
                for t in triples:
                    yield ox.Quad(t.subject, t.predicate, t.object, g)

        self.replace_with(quads(), replace=[*graphs, *drop])

    def replace_with(self, quads: Iterable[ox.Quad], *, replace: Sequence[str]) -> None:
        """Atomically drop the graphs ``replace`` and add ``quads``, in ONE transaction.

        None of ``replace`` exists (a first load): one ``Store.extend``. Otherwise one SPARQL
        Update: ``DROP SILENT GRAPH`` each existing one, then ``INSERT DATA`` with the quads as
        pyoxigraph serialises them (RDF terms in N-Triples syntax, never spliced text). Either
        way an error anywhere, including in ``quads``, leaves the store as it was.
        """
        existing = [g for g in dict.fromkeys(replace) if self._store.contains_named_graph(ox.NamedNode(g))]
        try:
            if not existing:
                self._store.extend(quads)
            else:
                self._store.update(_drop_and_insert(existing, quads))
        except SyntaxError as error:
            raise StoreError(f"cannot write the new graphs: {error}") from error
        except OSError as error:
            raise StoreError(f"the write failed; nothing was changed: {error}") from error
        self._changed()

    def replace_from_nquads(
        self,
        path: str | Path,
        *,
        replace: Sequence[str],
        quads: Iterable[ox.Quad] = (),
        batch: int | None = None,
        lines: int | None = None,
    ) -> None:
        """NOT atomic, bounded memory: drop ``replace`` in batches, then load the new quads: the
        bulk from the N-Quads file ``path`` (no blank nodes; ``bulk_load_nquads``), plus
        ``quads`` (e.g. those with blank nodes) with ``bulk_extend``, then compact.

        For a study too big for one in-memory transaction beside other studies, when the caller
        opts out of the copy-and-switch (``build_study(atomic=False)``). On an error the partial
        load is removed again, so the graphs end up empty, not at their previous version; a crash
        mid-way can leave them partial. Batched loads leave many small SST files; compacting them
        made the canned queries 1.3-3.3x faster on the 100x study (bench/RESULTS.md).

        ``Store.bulk_load`` of a file parses and sorts in Rust: for 4.3M quads about 2x faster
        than ``bulk_extend`` slices fed from Python (bench/RESULTS.md).
        """
        batch = batch or BULK_BATCH_QUADS
        try:
            self._drop_in_batches(replace, batch)
            bulk_extend_batched(self._store, quads, batch=batch)
            bulk_load_nquads(self._store, path, lines=lines)
            self._store.optimize()
        except BaseException:
            with contextlib.suppress(StoreError, OSError):
                self._drop_in_batches(replace, batch)
            raise
        finally:
            self._changed()

    def _drop_in_batches(self, graphs: Sequence[str], batch: int) -> None:
        for graph in dict.fromkeys(graphs):
            g = ox.NamedNode(graph)
            while True:
                part = list(itertools.islice(self._store.quads_for_pattern(None, None, None, g), batch))
                if not part:
                    break
                ground = [q.triple for q in part if not has_blank_node(q)]
                for q in part:  # DELETE DATA cannot name blank nodes: one small transaction each
                    if has_blank_node(q):
                        self._store.remove(q)
                if ground:
                    triples = ox.serialize(ground, format=ox.RdfFormat.N_TRIPLES) or b""
                    self.update(f"DELETE DATA {{ GRAPH {g} {{\n{triples.decode('utf-8')}}} }}")
            with contextlib.suppress(OSError):
                self._store.remove_graph(g)

    # ---- inspection --------------------------------------------------------------------------
    def graph_names(self) -> list[str]:
        generation = self.snapshot()
        return sorted(
            g.value
            for g in generation.store.named_graphs()
            if isinstance(g, ox.NamedNode) and not g.value.startswith(STAGING_PREFIX)
        )

    def count(self, graph: str | None = None) -> int:
        generation = self.snapshot()  # held (open and leased) until this returns
        if graph is None:
            return len(generation.store)
        # counted inside pyoxigraph: iterating the quads in Python took 33 s for the 4M-quad
        # codings graph of the 100x study, against 1.4 s
        result = generation.store.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
            substitutions={ox.Variable("g"): ox.NamedNode(graph)},
        )
        assert isinstance(result, ox.QuerySolutions)
        rows = [solution[1] for solution in result]
        return int(rows[0].value) if rows and rows[0] is not None else 0

    def dump(self, out: Path | None, *, media_type: str, graph: str | None = None) -> bytes | None:
        fmt = GRAPH_FORMATS.get(media_type)
        if fmt is None:
            raise StoreError("unsupported export format", value=media_type, expected=", ".join(GRAPH_FORMATS))
        rdf_format = RDF_FORMATS[fmt]
        output: object = str(out) if out is not None else None
        generation = self.snapshot()
        store = generation.store
        try:
            if graph is not None:
                if media_type in QUAD_MEDIA_TYPES:
                    quads = store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
                    return self._write(ox.serialize(quads, format=rdf_format), out)
                return store.dump(output, format=rdf_format, from_graph=ox.NamedNode(graph))  # type: ignore[arg-type]
            if media_type in QUAD_MEDIA_TYPES:
                return store.dump(output, format=rdf_format)  # type: ignore[arg-type]
            # Triple formats: the union of all graphs.
            triples = (q.triple for q in store)
            return self._write(ox.serialize(triples, format=rdf_format), out)
        except OSError as error:
            raise StoreError(f"cannot export: {error}", value=str(out)) from error

    @staticmethod
    def _write(data: bytes | None, out: Path | None) -> bytes | None:
        if out is None:
            return data or b""
        Path(out).write_bytes(data or b"")
        return None

    def flush(self) -> None:
        if not self.read_only:
            self._store.flush()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()
        del self._gen  # a reader's lease goes with it (once no query holds it any more)
        self._unlock()
