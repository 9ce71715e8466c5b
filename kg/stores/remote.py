"""A remote SPARQL 1.1 store (Virtuoso, Fuseki, GraphDB ...) behind ``kg.store.Store``.

Queries go through SPARQLWrapper. ``substitutions`` become a typed ``VALUES`` block built from
RDF terms (pyoxigraph serialises each term), inserted after the query's ``WHERE {`` — user text
is never spliced into the query. Updates use SPARQL Update: ``replace_graphs`` inserts the new
triples in chunks (``INSERT DATA``; triples with blank nodes in one ``INSERT ... WHERE {}``, since
Virtuoso refuses blank nodes in ``INSERT DATA``) into staging graphs, then runs ONE update of
``DROP SILENT GRAPH`` + ``MOVE SILENT GRAPH`` per graph, so readers switch from the old to the
new version in one request (atomic where the store runs one update request as one transaction,
as Virtuoso and Fuseki do). On any error the staging graphs are dropped and the previous
version stays.

With ``graph_store_url`` (the store's SPARQL 1.1 Graph Store Protocol endpoint) the staging
graphs are filled by ``POST``ing N-Triples to it instead, ``GSP_CHUNK`` triples a request (a
graph's triples with blank nodes in one request: a blank node label names one node per
document), and the switch is the same single update. Virtuoso takes a study this way ~20x faster
than as ``INSERT DATA`` (bench/RESULTS.md).

Queries on a remote store see the union of graphs as the default graph when the store does so
(Virtuoso does by default; for Fuseki set ``tdb:unionDefaultGraph true``).
"""

from __future__ import annotations

import contextlib
import hashlib
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

import pyoxigraph as ox
from SPARQLWrapper import CSV, JSON, POST, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import SPARQLWrapperException

from kg.errors import StoreError
from kg.store import GRAPH_FORMATS, SELECT_FORMATS, RawResult, Row, Term
from kg.stores._bind import bind
from kg.stores.oxigraph import QUAD_MEDIA_TYPES, RDF_FORMATS, STAGING_PREFIX

# Triples per INSERT DATA request: Virtuoso refuses ~2000 of the ontology's ("generated SQL text has
# exceeded 10000 lines of code").
CHUNK = 500
# Triples per Graph Store Protocol POST: ~8 MB of N-Triples, which Virtuoso takes in ~0.3 s.
GSP_CHUNK = 50_000


def _term(binding: Mapping[str, str]) -> Term:
    kind = binding["type"]
    if kind == "uri":
        return ox.NamedNode(binding["value"])
    if kind == "bnode":
        return ox.BlankNode(binding["value"])
    if "xml:lang" in binding:
        return ox.Literal(binding["value"], language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(binding["value"], datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(binding["value"])


class RemoteStore:
    """``kg.store.Store`` over a SPARQL 1.1 endpoint; ``update_url`` defaults to ``url``; loads go
    through the Graph Store Protocol at ``graph_store_url`` when one is given."""

    def __init__(
        self,
        url: str,
        *,
        update_url: str | None = None,
        graph_store_url: str | None = None,
        timeout: float = 60,
    ) -> None:
        self.url = url
        self.update_url = update_url or url
        self.graph_store_url = graph_store_url
        self.timeout = timeout

    def _wrapper(self, url: str, timeout: float | None) -> SPARQLWrapper:
        wrapper = SPARQLWrapper(url)
        wrapper.setTimeout(int(timeout or self.timeout) or 1)
        wrapper.setMethod(POST)
        return wrapper

    def _run(self, wrapper: SPARQLWrapper) -> bytes:
        try:
            response = wrapper.query().response
            return response.read()  # type: ignore[no-any-return]
        except (SPARQLWrapperException, URLError, OSError) as error:
            raise StoreError(f"the SPARQL endpoint failed: {error}", value=self.url) from error

    def _json(self, sparql: str, substitutions: Mapping[str, Term] | None, timeout: float | None) -> dict:  # type: ignore[type-arg]
        import json

        wrapper = self._wrapper(self.url, timeout)
        wrapper.setQuery(bind(sparql, substitutions))
        wrapper.setReturnFormat(JSON)
        return json.loads(self._run(wrapper))  # type: ignore[no-any-return]

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        data = self._json(sparql, substitutions, timeout)
        return [{k: _term(v) for k, v in b.items()} for b in data["results"]["bindings"]]

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool:
        return bool(self._json(sparql, substitutions, timeout)["boolean"])

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]:
        raw = self.query_raw(
            sparql, media_type="application/n-triples", substitutions=substitutions, timeout=timeout
        )
        return [q.triple for q in ox.parse(raw.body, format=ox.RdfFormat.N_TRIPLES)]

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
        if media_type not in SELECT_FORMATS and media_type not in GRAPH_FORMATS:
            raise StoreError("unsupported result format", value=media_type)
        wrapper = self._wrapper(self.url, timeout)
        wrapper.setQuery(bind(sparql, substitutions))
        for g in default_graph_uris:
            wrapper.addDefaultGraph(g)
        for g in named_graph_uris:
            wrapper.addNamedGraph(g)
        form = (wrapper.queryType or "SELECT").lower()
        if media_type in SELECT_FORMATS:
            wrapper.setReturnFormat(
                {"json": JSON, "xml": XML, "csv": CSV, "tsv": TSV}[SELECT_FORMATS[media_type]]
            )
            body = self._run(wrapper)
        else:
            wrapper.setReturnFormat(TURTLE)  # what every store offers; converted below
            triples = [q.triple for q in ox.parse(self._run(wrapper), format=ox.RdfFormat.TURTLE)]
            fmt = RDF_FORMATS[GRAPH_FORMATS[media_type]]
            if media_type in QUAD_MEDIA_TYPES:
                quads = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
                body = ox.serialize(quads, format=fmt) or b""
            else:
                body = ox.serialize(triples, format=fmt) or b""
        return RawResult(
            body, media_type, form if form in ("select", "ask", "construct", "describe") else "select"
        )

    # ---- updates -----------------------------------------------------------------------------
    def update(self, sparql_update: str) -> None:
        wrapper = self._wrapper(self.update_url, None)
        wrapper.setQuery(sparql_update)
        wrapper.setMethod(POST)
        wrapper.queryType = "INSERT"  # make SPARQLWrapper send it as an update
        try:
            wrapper.query()
        except (SPARQLWrapperException, URLError, OSError) as error:
            raise StoreError(f"the SPARQL update failed: {error}", value=self.update_url) from error

    def _post_graph(self, graph: str, triples: list[ox.Triple]) -> None:
        """Add ``triples`` to ``graph`` with one Graph Store Protocol ``POST`` of N-Triples."""
        assert self.graph_store_url is not None
        separator = "&" if "?" in self.graph_store_url else "?"
        request = urllib.request.Request(
            f"{self.graph_store_url}{separator}{urlencode({'graph': graph})}",
            data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"",
            method="POST",
            headers={"Content-Type": "application/n-triples"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except HTTPError as error:
            detail = error.read()[:300].decode("utf-8", errors="replace").strip()
            raise StoreError(
                f"the Graph Store Protocol load failed: HTTP {error.code} {error.reason}"
                + (f": {detail}" if detail else ""),
                value=self.graph_store_url,
                expected="the store's Graph Store Protocol endpoint, writable by this client "
                "(Virtuoso: http://host:8890/sparql-graph-crud with SPARQL_UPDATE granted)",
            ) from error
        except (URLError, OSError) as error:
            raise StoreError(
                f"the Graph Store Protocol load failed: {error}", value=self.graph_store_url
            ) from error

    def _post(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        batch: list[ox.Triple] = []
        with_blank_nodes: list[ox.Triple] = []
        for t in triples:
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                with_blank_nodes.append(t)
                continue
            batch.append(t)
            if len(batch) >= GSP_CHUNK:
                self._post_graph(graph, batch)
                batch = []
        if batch:
            self._post_graph(graph, batch)
        if with_blank_nodes:
            self._post_graph(graph, with_blank_nodes)

    def _insert(self, graph: str, triples: Iterable[ox.Triple]) -> None:
        if self.graph_store_url is not None:
            self._post(graph, triples)
            return
        batch: list[str] = []
        with_blank_nodes: list[str] = []
        for t in triples:
            line = f"{t.subject} {t.predicate} {t.object} ."
            if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode):
                with_blank_nodes.append(line)
                continue
            batch.append(line)
            if len(batch) >= CHUNK:
                self.update(f"INSERT DATA {{ GRAPH <{graph}> {{ {' '.join(batch)} }} }}")
                batch = []
        if batch:
            self.update(f"INSERT DATA {{ GRAPH <{graph}> {{ {' '.join(batch)} }} }}")
        if with_blank_nodes:
            # Virtuoso rejects blank nodes in INSERT DATA ("not allowed in a constant clause"), so
            # triples with blank nodes (the ontology's OWL restrictions and lists) go in ONE
            # INSERT ... WHERE {} request: a template's blank node labels name one node per request.
            self.update(f"INSERT {{ GRAPH <{graph}> {{ {' '.join(with_blank_nodes)} }} }} WHERE {{}}")

    def replace_graphs(self, graphs: Mapping[str, Iterable[ox.Triple]], *, drop: Sequence[str] = ()) -> None:
        staging = {g: STAGING_PREFIX + hashlib.sha256(g.encode()).hexdigest()[:24] for g in graphs}
        try:
            self.update(" ;\n".join(f"DROP SILENT GRAPH <{s}>" for s in staging.values()))
            for graph, triples in graphs.items():
                self._insert(staging[graph], triples)
            ops = [f"DROP SILENT GRAPH <{g}>" for g in drop if g not in staging]
            for graph, stage in staging.items():
                ops.append(f"DROP SILENT GRAPH <{graph}>")
                ops.append(f"MOVE SILENT GRAPH <{stage}> TO <{graph}>")
            if ops:
                self.update(" ;\n".join(ops))
        except BaseException:
            with contextlib.suppress(StoreError):
                self.update(" ;\n".join(f"DROP SILENT GRAPH <{s}>" for s in staging.values()))
            raise

    # ---- inspection --------------------------------------------------------------------------
    def graph_names(self) -> list[str]:
        rows = self.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
        return sorted(
            r["g"].value
            for r in rows
            if isinstance(r.get("g"), ox.NamedNode) and not r["g"].value.startswith(STAGING_PREFIX)
        )

    def count(self, graph: str | None = None) -> int:
        if graph is None:
            rows = self.select("SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }")
        else:
            rows = self.select(
                "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }",
                substitutions={"g": ox.NamedNode(graph)},
            )
        return int(rows[0]["n"].value) if rows else 0

    def dump(self, out: Path | None, *, media_type: str, graph: str | None = None) -> bytes | None:
        fmt = GRAPH_FORMATS.get(media_type)
        if fmt is None:
            raise StoreError("unsupported export format", value=media_type, expected=", ".join(GRAPH_FORMATS))
        rows = self.select(
            "SELECT ?g ?s ?p ?o WHERE { GRAPH ?g { ?s ?p ?o } }",
            substitutions={"g": ox.NamedNode(graph)} if graph else None,
        )
        quads = [
            ox.Quad(r["s"], r["p"], r["o"], r["g"])  # type: ignore[arg-type]
            for r in rows
            if not r["g"].value.startswith(STAGING_PREFIX)
        ]
        rdf_format = RDF_FORMATS[fmt]
        data = ox.serialize(
            quads if media_type in QUAD_MEDIA_TYPES else [q.triple for q in quads], format=rdf_format
        )
        if out is None:
            return data or b""
        Path(out).write_bytes(data or b"")
        return None

    def close(self) -> None:
        """Nothing to release: every request opens its own connection."""
