"""Two small in-memory query engines over the same quads, for tests and the benchmark.

``MemoryStore`` is pyoxigraph in memory (the embedded store's engine); ``RdflibStore`` is rdflib's
own SPARQL engine over ``Dataset(default_union=True)``. Both answer ``select``/``ask``/``construct``
over the union of named graphs, with parameters bound as RDF terms (pyoxigraph ``substitutions``,
rdflib ``initBindings``) — never spliced into the query text. They are not the production
backends (``kg.stores``): no persistence, no serialisation, no updates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Dataset, Literal, URIRef
from rdflib.term import Identifier, Node

from kg.errors import QueryError

Term = ox.NamedNode | ox.BlankNode | ox.Literal
Row = dict[str, Term]


def load_quads(files: Iterable[Path | tuple[Path, str]]) -> list[ox.Quad]:
    """Parse TriG/N-Quads files, or ``(turtle_file, graph_iri)`` pairs, into quads."""
    quads: list[ox.Quad] = []
    for item in files:
        if isinstance(item, tuple):
            path, graph = item
            quads.extend(
                ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph))
                for t in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)
            )
        else:
            fmt = ox.RdfFormat.from_extension(item.suffix.lstrip(".")) or ox.RdfFormat.TRIG
            quads.extend(q for q in ox.parse(path=str(item), format=fmt) if isinstance(q, ox.Quad))
    return quads


class MemoryStore:
    """pyoxigraph in memory; the default graph is the union of the named graphs."""

    def __init__(self, quads: Iterable[ox.Quad] = ()) -> None:
        self.store = ox.Store()
        self.store.extend(quads)

    def _query(self, sparql: str, substitutions: Mapping[str, Term] | None) -> object:
        subs: dict[ox.Variable, ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple] = {
            ox.Variable(k): v for k, v in (substitutions or {}).items()
        }
        try:
            return self.store.query(sparql, use_default_graph_as_union=True, substitutions=subs)
        except SyntaxError as error:
            raise QueryError(f"SPARQL syntax error: {error}") from error

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        solutions = self._query(sparql, substitutions)
        assert isinstance(solutions, ox.QuerySolutions)
        names = [v.value for v in solutions.variables]
        rows: list[Row] = []
        for solution in solutions:
            row: Row = {}
            for name in names:
                value = solution[name]
                if value is not None and not isinstance(value, ox.Triple):
                    row[name] = value
            rows.append(row)
        return rows

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool:
        return bool(self._query(sparql, substitutions))

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]:
        triples = self._query(sparql, substitutions)
        assert isinstance(triples, ox.QueryTriples)
        return list(triples)

    def quads(self) -> list[ox.Quad]:
        return list(self.store)


def to_rdflib(term: Term) -> Identifier:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=URIRef(term.datatype.value))


def from_rdflib(node: Node) -> Term:
    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise QueryError("unexpected term in a result", value=node)


class RdflibStore:
    """rdflib's own SPARQL engine over ``Dataset(default_union=True)``."""

    def __init__(self, quads: Iterable[ox.Quad] = ()) -> None:
        self.dataset = Dataset(default_union=True)
        for q in quads:
            assert isinstance(q.graph_name, ox.NamedNode)
            graph = self.dataset.graph(URIRef(q.graph_name.value))
            graph.add((to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)))  # type: ignore[arg-type]

    def _query(self, sparql: str, substitutions: Mapping[str, Term] | None) -> object:
        bindings = {k: to_rdflib(v) for k, v in (substitutions or {}).items()}
        return self.dataset.query(sparql, initBindings=bindings)

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]:
        result = self._query(sparql, substitutions)
        names = [str(v) for v in result.vars or []]  # type: ignore[attr-defined]
        rows: list[Row] = []
        for solution in result:  # type: ignore[attr-defined]
            rows.append({n: from_rdflib(solution[i]) for i, n in enumerate(names) if solution[i] is not None})
        return rows

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool:
        return bool(self._query(sparql, substitutions).askAnswer)  # type: ignore[attr-defined]

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]:
        graph = self._query(sparql, substitutions).graph  # type: ignore[attr-defined]
        return [ox.Triple(from_rdflib(s), from_rdflib(p), from_rdflib(o)) for s, p, o in graph]  # type: ignore[arg-type]
