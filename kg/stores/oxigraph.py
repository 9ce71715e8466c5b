"""The embedded store: pyoxigraph (RocksDB) on disk.

Queries see the union of the named graphs as their default graph unless ``default_graph_uris``
are given. ``replace_graphs`` is atomic: new data is bulk-loaded into staging graphs, then one
SPARQL Update (one transaction) drops the old graphs and moves the staging graphs into place;
on any error the staging graphs are dropped and the previous version is untouched.

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
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
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
STAGING_PREFIX = "urn:hmp:staging:"


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
        staging = self.stage(graphs.items(), targets=list(graphs))
        self.commit_staged(staging, drop=drop)

    def stage(
        self, parts: Iterable[tuple[str, Iterable[ox.Triple]]], *, targets: Sequence[str]
    ) -> dict[str, str]:
        """Bulk-load ``parts`` into fresh staging graphs; returns target graph -> staging graph.

        ``parts`` may name a graph several times (streamed chunks); ``targets`` lists every graph
        that will be replaced (also those that get no triples). On error nothing stays behind.
        """
        staging = {g: STAGING_PREFIX + hashlib.sha256(g.encode()).hexdigest()[:24] for g in targets}

        def quads() -> Iterable[ox.Quad]:
            for graph, triples in parts:
                if graph not in staging:
                    raise StoreError(
                        "a lifted graph was not announced", value=graph, expected=", ".join(targets)
                    )
                g = ox.NamedNode(staging[graph])
                for t in triples:
                    yield ox.Quad(t.subject, t.predicate, t.object, g)

        try:
            self._drop_staging(staging.values())
            self._store.bulk_extend(quads())
        except BaseException:
            self.discard_staged(staging)
            raise
        return staging

    def commit_staged(self, staging: Mapping[str, str], *, drop: Sequence[str] = ()) -> None:
        """Swap staged graphs into place in ONE update (one transaction)."""
        ops = [f"DROP SILENT GRAPH <{g}>" for g in drop if g not in staging]
        for graph, stage in staging.items():
            ops.append(f"DROP SILENT GRAPH <{graph}>")
            ops.append(f"MOVE SILENT GRAPH <{stage}> TO <{graph}>")
        try:
            if ops:
                self.update(" ;\n".join(ops))
        except BaseException:
            self.discard_staged(staging)
            raise

    def discard_staged(self, staging: Mapping[str, str]) -> None:
        with contextlib.suppress(StoreError, OSError):
            self._drop_staging(staging.values())

    def _drop_staging(self, graphs: Iterable[str]) -> None:
        ops = [f"DROP SILENT GRAPH <{g}>" for g in graphs]
        if ops:
            self.update(" ;\n".join(ops))

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
