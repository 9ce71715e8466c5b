"""Descriptions of one resource for linked-data pages: its statements (with blank-node closure,
the concise bounded description), incoming links and the labels to show, restricted graphs left
out."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from kg.store import Row, Store, Term
from kg.stores._bind import values_column
from service.dataset import ID_BASE, ONTOLOGY_GRAPH, ONTOLOGY_IRI, ONTOLOGY_NS, DatasetView, sparql

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABELS = ("http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel")
DEFINITIONS = (
    "http://www.w3.org/2004/02/skos/core#definition",
    "http://purl.org/dc/terms/description",
    "http://www.w3.org/2000/01/rdf-schema#comment",
)
MAX_BNODES = 200


@dataclass
class Statement:
    predicate: ox.NamedNode
    object: Term
    graph: str


@dataclass
class Description:
    iri: str
    statements: list[Statement] = field(default_factory=list)
    #: statements about blank nodes reached from the resource (by blank node id)
    bnodes: dict[str, list[Statement]] = field(default_factory=dict)
    incoming: list[tuple[ox.NamedNode, ox.NamedNode, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def found(self) -> bool:
        return bool(self.statements or self.incoming)

    def values(self, predicates: tuple[str, ...]) -> list[Term]:
        return [s.object for s in self.statements if s.predicate.value in predicates]

    @property
    def label(self) -> str | None:
        found = self.values(LABELS)
        return found[0].value if found else None

    @property
    def definition(self) -> str | None:
        found = self.values(DEFINITIONS)
        return found[0].value if found else None

    @property
    def types(self) -> list[Term]:
        return self.values((RDF_TYPE,))

    def triples(self) -> list[ox.Triple]:
        """The concise bounded description as triples (for machine formats)."""
        subject = ox.NamedNode(self.iri)
        out = [ox.Triple(subject, s.predicate, s.object) for s in self.statements]
        for node_id, statements in self.bnodes.items():
            node = ox.BlankNode(node_id)
            out += [ox.Triple(node, s.predicate, s.object) for s in statements]
        return out


def _statements(store: Store, view: DatasetView, resource: ox.NamedNode | ox.BlankNode) -> list[Statement]:
    rows = store.select(sparql("resource-out"), substitutions={"resource": resource})
    return [
        Statement(row["p"], row["o"], row["g"].value)  # type: ignore[arg-type]
        for row in rows
        if row["g"].value not in view.hidden
    ]


def describe(store: Store, view: DatasetView, iri: str, *, incoming: bool = True) -> Description:
    node = ox.NamedNode(iri)
    description = Description(iri, _statements(store, view, node))
    pending = [s.object for s in description.statements if isinstance(s.object, ox.BlankNode)]
    while pending and len(description.bnodes) < MAX_BNODES:
        bnode = pending.pop()
        if bnode.value in description.bnodes:
            continue
        statements = _statements(store, view, bnode)  # type: ignore[arg-type]
        description.bnodes[bnode.value] = statements
        pending += [s.object for s in statements if isinstance(s.object, ox.BlankNode)]
    if incoming:
        for row in store.select(sparql("resource-in"), substitutions={"resource": node}):
            if row["g"].value not in view.hidden:
                description.incoming.append((row["s"], row["p"], row["g"].value))  # type: ignore[arg-type]
    shown = [*description.statements, *(s for statements in description.bnodes.values() for s in statements)]
    named = {s.predicate.value for s in shown} | {
        s.object.value for s in shown if isinstance(s.object, ox.NamedNode)
    }
    named |= {term.value for subject, predicate, _ in description.incoming for term in (subject, predicate)}
    for row in _labels(store, sorted(named)):
        key, label = row["x"].value, row["label"]
        if key not in description.labels or _preferred(label):
            description.labels[key] = label.value
    if description.label:
        description.labels[iri] = description.label
    return description


#: how many IRIs one label query asks for (a VALUES block of that many rows)
LABEL_BATCH = 400


def _labels(store: Store, iris: list[str]) -> list[Row]:
    """The labels of the IRIs a page shows, looked up by a VALUES block of those IRIs (terms
    serialised by pyoxigraph). One query per kind of link used to find them instead (a UNION
    over what the resource links to): pyoxigraph evaluated each branch over the whole store,
    4 s for a participant's page at 100x."""
    rows: list[Row] = []
    for start in range(0, len(iris), LABEL_BATCH):
        values = values_column("x", (ox.NamedNode(iri) for iri in iris[start : start + LABEL_BATCH]))
        rows += store.select(f"{_LABELS_OF} {values} ?x rdfs:label|skos:prefLabel ?label }}")
    return rows


_LABELS_OF = (
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
    "SELECT ?x ?label WHERE {"
)


def _preferred(label: Term) -> bool:
    return isinstance(label, ox.Literal) and (label.language or "").startswith("en")


def local_url(iri: str) -> str:
    """Where this service shows ``iri``: our data and ontology IRIs map to local pages."""
    if iri.startswith(ID_BASE):
        return "/id/" + iri[len(ID_BASE) :]
    if iri.startswith(ONTOLOGY_NS):
        return "/ontology/" + iri[len(ONTOLOGY_NS) :]
    if iri in (ONTOLOGY_IRI, ONTOLOGY_GRAPH):
        return "/ontology"
    return iri
