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
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from kg.errors import StoreError
from kg.store import GRAPH_FORMATS, SELECT_FORMATS, RawResult, Row, Term
from kg.stores._bind import bind

T = TypeVar("T")

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


class OxigraphStore:
    """``kg.store.Store`` over a pyoxigraph store in ``path`` (created when missing)."""

    def __init__(self, path: str | Path | None, *, read_only: bool = False) -> None:
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        try:
            if self.path is None:
                self._store = ox.Store()
            elif read_only:
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as error:
            raise StoreError(
                f"cannot open the store: {error}", value=str(path), expected="a writable directory"
            ) from error

    @property
    def raw(self) -> ox.Store:
        """The underlying pyoxigraph store (for bulk work inside ``kg``)."""
        return self._store

    # ---- queries ---------------------------------------------------------------------------
    def _query(
        self,
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
            try:
                return self._store.query(sparql, substitutions=_bindings(substitutions), **options)  # type: ignore[arg-type]
            except RuntimeError as error:
                # pyoxigraph 0.5 substitutes only projected variables; otherwise bind with a
                # typed VALUES block built from the RDF terms (still no string splicing).
                if not substitutions or "projection" not in str(error):
                    raise StoreError(f"the query failed: {error}") from error
                return self._store.query(bind(sparql, substitutions), **options)  # type: ignore[arg-type]
        except SyntaxError as error:
            raise StoreError(f"malformed SPARQL query: {error}", expected="a SPARQL 1.1 query") from error
        except OSError as error:
            raise StoreError(f"the query failed: {error}") from error

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        def work(cancelled: threading.Event) -> list[Row]:
            result = self._query(sparql, substitutions)
            if not isinstance(result, ox.QuerySolutions):
                raise StoreError("not a SELECT query", expected="SELECT")
            names = [v.value for v in result.variables]
            rows: list[Row] = []
            for solution in result:
                _check(cancelled)
                row: Row = {}
                for name in names:
                    value = solution[name]
                    if value is not None:
                        row[name] = value  # type: ignore[assignment]
                rows.append(row)
            return rows

        return run_with_timeout(work, timeout)

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool:
        def work(cancelled: threading.Event) -> bool:
            result = self._query(sparql, substitutions)
            if not isinstance(result, ox.QueryBoolean):
                raise StoreError("not an ASK query", expected="ASK")
            return bool(result)

        return run_with_timeout(work, timeout)

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]:
        def work(cancelled: threading.Event) -> list[ox.Triple]:
            result = self._query(sparql, substitutions)
            if not isinstance(result, ox.QueryTriples):
                raise StoreError("not a CONSTRUCT or DESCRIBE query", expected="CONSTRUCT")
            out = []
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
            result = self._query(sparql, substitutions, default_graph_uris, named_graph_uris)
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

    def replace_graphs(self, graphs: Mapping[str, Iterable[ox.Triple]], *, drop: Sequence[str] = ()) -> None:
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

    def replace_in_batches(
        self, quads: Iterable[ox.Quad], *, replace: Sequence[str], batch: int | None = None
    ) -> None:
        """NOT atomic, bounded memory: drop ``replace`` in batches, then bulk-load ``quads``.

        For studies too big for one in-memory transaction (see ``replace_with``). On an error the
        partial load is removed again, so the graphs end up empty, not at their previous version;
        a crash mid-way can leave them partial. Callers must opt in (``build_study(atomic=False)``).
        """
        batch = batch or BULK_BATCH_QUADS
        try:
            self._drop_in_batches(replace, batch)
            bulk_extend_batched(self._store, quads, batch=batch)
            # batched bulk loads leave many small SST files; compacting them made the canned
            # queries 1.3-3.3x faster on the 100x study (bench/RESULTS.md)
            self._store.optimize()
        except BaseException:
            with contextlib.suppress(StoreError, OSError):
                self._drop_in_batches(replace, batch)
            raise

    def replace_from_nquads(
        self,
        path: str | Path,
        *,
        replace: Sequence[str],
        quads: Iterable[ox.Quad] = (),
        batch: int | None = None,
        lines: int | None = None,
    ) -> None:
        """Like ``replace_in_batches`` (NOT atomic, same clean-up), but the bulk of the new quads
        come from the N-Quads file ``path`` (no blank nodes; ``bulk_load_nquads``), plus
        ``quads`` (e.g. those with blank nodes), loaded with ``bulk_extend``.

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
        return sorted(
            g.value
            for g in self._store.named_graphs()
            if isinstance(g, ox.NamedNode) and not g.value.startswith(STAGING_PREFIX)
        )

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            return len(self._store)
        return sum(1 for _ in self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph)))

    def dump(self, out: Path | None, *, media_type: str, graph: str | None = None) -> bytes | None:
        fmt = GRAPH_FORMATS.get(media_type)
        if fmt is None:
            raise StoreError("unsupported export format", value=media_type, expected=", ".join(GRAPH_FORMATS))
        rdf_format = RDF_FORMATS[fmt]
        output: object = str(out) if out is not None else None
        try:
            if graph is not None:
                if media_type in QUAD_MEDIA_TYPES:
                    quads = self._store.quads_for_pattern(None, None, None, ox.NamedNode(graph))
                    return self._write(ox.serialize(quads, format=rdf_format), out)
                return self._store.dump(output, format=rdf_format, from_graph=ox.NamedNode(graph))  # type: ignore[arg-type]
            if media_type in QUAD_MEDIA_TYPES:
                return self._store.dump(output, format=rdf_format)  # type: ignore[arg-type]
            # Triple formats: the union of all graphs.
            triples = (q.triple for q in self._store)
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
        del self._store
