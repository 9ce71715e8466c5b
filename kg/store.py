"""The store interface: an embedded Oxigraph store on disk, or a remote SPARQL 1.1 store.

The store knows nothing about the domain. Everything above it (queries, CLI, service) talks to
this interface only; ``open_store`` picks the backend.

Implementations: ``kg.stores.oxigraph.OxigraphStore`` (default, pyoxigraph on disk) and
``kg.stores.remote.RemoteStore`` (SPARQLWrapper for queries; SPARQL Update / Graph Store
Protocol for loads).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeGuard, runtime_checkable

import pyoxigraph as ox

from kg.errors import StoreError

#: An RDF term as the store API passes it around (pyoxigraph's classes on both backends).
Term = ox.NamedNode | ox.BlankNode | ox.Literal
#: A typed result row of a SELECT: variable name (without '?') -> term, unbound variables absent.
Row = dict[str, Term]

# Media types of the result serialisations every backend can produce.
SELECT_FORMATS = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
}
GRAPH_FORMATS = {
    "text/turtle": "ttl",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "application/n-quads": "nq",
    "application/trig": "trig",
}


def json_term(term: Term | ox.Triple) -> dict[str, object]:
    """A term as SPARQL 1.1 Query Results JSON writes it (a quoted triple as SPARQL-star does)."""
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, object] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != "http://www.w3.org/2001/XMLSchema#string":
            out["datatype"] = term.datatype.value
        return out
    return {
        "type": "triple",
        "value": {
            "subject": json_term(term.subject),
            "predicate": json_term(term.predicate),
            "object": json_term(term.object),
        },
    }


@dataclass(frozen=True)
class RawResult:
    """A query result already serialised for the wire."""

    body: bytes
    media_type: str
    form: str  # "select" | "ask" | "construct" | "describe"


@runtime_checkable
class Store(Protocol):
    """What every backend offers. Queries see the union of named graphs as the default graph."""

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        """Run a SELECT; ``substitutions`` bind variables (names without '?') to RDF terms."""
        ...

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool: ...

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]: ...

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
        """Run any query form and serialise the result as ``media_type`` (see *_FORMATS)."""
        ...

    def update(self, sparql_update: str) -> None: ...

    def replace_graphs(
        self, graphs: Mapping[str, Iterable[ox.Triple]], *, drop: Sequence[str] = (), atomic: bool = True
    ) -> None:
        """Atomically: drop ``drop`` graphs and replace each graph in ``graphs`` with its triples.

        On any error nothing changes (embedded store: one transaction; remote: staging graphs
        then a single SPARQL Update of MOVEs where the store allows it). ``atomic=False`` lets a
        store that cannot switch a large study in one transaction (Virtuoso's log limit) load
        it in place in bounded requests instead, not all-or-nothing; the embedded store's is
        one transaction either way.
        """
        ...

    def graph_names(self) -> list[str]: ...

    def count(self, graph: str | None = None) -> int:
        """Number of quads in ``graph`` or in the whole store."""
        ...

    def dump(self, out: Path | None, *, media_type: str, graph: str | None = None) -> bytes | None:
        """Serialise the whole store (quads formats) or one graph (any format)."""
        ...

    def close(self) -> None: ...


def is_endpoint_url(location: object) -> TypeGuard[str]:
    """Whether ``location`` names a remote store (an http(s) URL) rather than a directory."""
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def open_remote(url: str, *, graph_store_url: str | None = None) -> Store:
    """The remote store whose SPARQL 1.1 endpoint is ``url``, loading through the Graph Store
    Protocol at ``graph_store_url`` if given; StoreError unless both are http(s) URLs (a path
    given as ``--store-url`` would otherwise open, or create, a local store of that name)."""
    for option, value in (("--store-url", url), ("--graph-store-url", graph_store_url)):
        if value is not None and not is_endpoint_url(value):
            raise StoreError(
                f"{option} must be the http(s) URL of a SPARQL store's endpoint",
                value=value,
                expected="e.g. http://127.0.0.1:8890/sparql (Virtuoso), with --graph-store-url "
                "http://127.0.0.1:8890/sparql-graph-crud; a store directory goes in --store",
            )
    from kg.stores.remote import RemoteStore

    return RemoteStore(url, graph_store_url=graph_store_url)


def open_store(location: str | Path | None = None, *, read_only: bool = False) -> Store:
    """Open the store at ``location``: an ``http(s)://`` SPARQL endpoint URL, or a directory.

    ``None`` means ``$HMP_STORE`` or ``.hmp-store`` in the repository.
    """
    from kg._paths import DEFAULT_STORE

    if is_endpoint_url(location):
        return open_remote(location)
    from kg.stores.oxigraph import OxigraphStore

    return OxigraphStore(Path(location) if location is not None else DEFAULT_STORE, read_only=read_only)
