"""The canned-query contract on a real Virtuoso (issue 6 §3), the same as on the embedded engine.

The fixture study of test_queries.py (tests/data/queries/fixture-study.trig) and the ontology graph
are loaded into a temporary Virtuoso (tests/virtuoso.py) through ``RemoteStore.replace_graphs``; every
canned query then runs through ``kg.queries.run(RemoteStore(url), name, params)`` and must give the
same rows as pyoxigraph over the same quads.

Virtuoso answers a query without FROM over the union of all its graphs, which is the embedded store's
``use_default_graph_as_union``; RemoteStore sends no FROM, and the first test checks a join that
needs two of the study's graphs at once.

Comparison: rows as multisets (ties in ORDER BY may legitimately come back in another order). Terms
are compared by kind, value, language tag and datatype, with ONE normalisation, of representation
only: the XSD integer subtypes (xsd:int, xsd:long ... which some stores give COUNT results) count as
xsd:integer, and numbers are compared by value, so "7" and "7.0" as xsd:decimal are the same number.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest

from kg import queries
from kg._query_engines import MemoryStore, load_quads
from kg.stores.remote import RemoteStore
from virtuoso import virtuoso_url  # noqa: F401  (the session fixture)

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "queries" / "fixture-study.trig"
ONTOLOGY = (ROOT / "ontology" / "hmp.ttl", "https://w3id.org/hmp/graph/ontology")
HMP = "https://w3id.org/hmp/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
INTEGER_TYPES = {XSD + t for t in ("int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger")}
EXTRA_GRAPH = "https://w3id.org/hmp/graph/median-check/metadata"

CASES = [
    (q.name, {"participant": "D1"} if any(p.type == "participant" for p in q.params) else None)
    for q in queries.catalogue()
] + [
    ("participant-trajectory", {"participant": "D2"}),
    ("evidence", {"stage": "turning point", "occupation": "doctor"}),
    ("evidence", {"stage": "strategic-mastery", "occupation": HMP + "occupation-manager"}),
    ("participant-profile", {"participant": "N2"}),
]


@pytest.fixture(scope="module")
def quads() -> list[ox.Quad]:
    return load_quads([FIXTURE, ONTOLOGY])


@pytest.fixture(scope="module")
def embedded(quads: list[ox.Quad]) -> MemoryStore:
    return MemoryStore(quads)


@pytest.fixture(scope="module")
def remote(virtuoso_url: str, quads: list[ox.Quad]) -> Iterator[RemoteStore]:  # noqa: F811
    graphs: dict[str, list[ox.Triple]] = defaultdict(list)
    for quad in quads:
        assert isinstance(quad.graph_name, ox.NamedNode)
        graphs[quad.graph_name.value].append(quad.triple)
    store = RemoteStore(virtuoso_url)
    store.replace_graphs(graphs)
    yield store
    store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in [*graphs, EXTRA_GRAPH]))


def _term(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> tuple[Any, ...]:
    """A term by kind, value, language and datatype; integer subtypes as xsd:integer, numbers by value."""
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    if isinstance(term, ox.BlankNode):
        return ("bnode", term.value)
    datatype = term.datatype.value
    datatype = XSD + "integer" if datatype in INTEGER_TYPES else datatype
    value = queries.python_value(term)
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        value = Decimal(value).normalize()
    return ("literal", value, term.language, datatype)


def _rows(result: queries.QueryResult) -> Counter[tuple[tuple[str, tuple[Any, ...]], ...]]:
    return Counter(tuple(sorted((k, _term(v)) for k, v in row.items())) for row in result.term_rows())


def test_default_graph_is_the_union_of_the_study_graphs(remote: RemoteStore) -> None:
    # the narrator is in the metadata graph, the excerpt's source in the codings graph
    rows = remote.select(
        "PREFIX hmp: <https://w3id.org/hmp/ontology#> PREFIX oa: <http://www.w3.org/ns/oa#>\n"
        "SELECT DISTINCT ?participant WHERE { ?target oa:hasSource ?t . ?t hmp:narrator ?participant }"
    )
    assert len(rows) == 7


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_canned_query_gives_the_same_rows_on_virtuoso(
    name: str, params: dict[str, str] | None, embedded: MemoryStore, remote: RemoteStore
) -> None:
    ours = queries.run(embedded, name, params)
    theirs = queries.run(remote, name, params)
    assert theirs.variables == ours.variables
    assert ours.term_rows(), "the fixture must give every query some rows"
    assert _rows(theirs) == _rows(ours)


def test_median_of_an_even_count_is_a_decimal_on_virtuoso(remote: RemoteStore, quads: list[ox.Quad]) -> None:
    """Doctors' awakening years become 6, 8, 9, 10: median 8.5, which integer division would make 8."""
    base = "https://w3id.org/hmp/id/median-check/"
    extra: list[ox.Triple] = []
    for pid, year in (("D3", 9), ("D4", 10)):
        person, event = ox.NamedNode(f"{base}participant/{pid}"), ox.NamedNode(f"{base}event/E{pid}")
        extra += [
            ox.Triple(
                person, ox.NamedNode(HMP + "primaryOccupation"), ox.NamedNode(HMP + "occupation-doctor")
            ),
            ox.Triple(
                event,
                ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                ox.NamedNode(HMP + "ActivationEvent"),
            ),
            ox.Triple(event, ox.NamedNode(HMP + "ofParticipant"), person),
            ox.Triple(event, ox.NamedNode(HMP + "stage"), ox.NamedNode(HMP + "stage-awakening")),
            ox.Triple(
                event,
                ox.NamedNode(HMP + "careerYear"),
                ox.Literal(str(year), datatype=ox.NamedNode(XSD + "integer")),
            ),
        ]
    graph = ox.NamedNode(EXTRA_GRAPH)
    embedded = MemoryStore([*quads, *(ox.Quad(t.subject, t.predicate, t.object, graph) for t in extra)])
    remote.replace_graphs({EXTRA_GRAPH: extra})
    try:
        theirs = queries.run(remote, "awakening-timing")
        doctors = [r for r in theirs.rows if r["occupation"] == HMP + "occupation-doctor"]
        assert [(r["median"], r["min"], r["max"], r["n"]) for r in doctors] == [(Decimal("8.5"), 6, 10, 4)]
        assert _rows(theirs) == _rows(queries.run(embedded, "awakening-timing"))
    finally:
        remote.update(f"DROP SILENT GRAPH <{EXTRA_GRAPH}>")
