"""Data-driven shape tests: every constraint in ``shapes/*.ttl`` against its own fixtures.

Each fixture ``tests/data/shapes/<shape-file>/{valid,invalid}-NN.{ttl,trig}`` holds a small study
fragment and, in the same document, the results it must produce (``hmpt:Expectation`` nodes; see
``tests/data/shapes/README.md``). Both engines run over every fixture and must report exactly the
expected set of (constraint, focus node, severity) for the constraints of that shape file:

- pyshacl (``advanced=True``) over the shapes, with the ontology merged into the data graph (the
  shapes need its individuals' ``skos:inScheme``, which pyshacl's ``ont_graph`` does not mix in:
  it only inoculates class and property axioms);
- the SPARQL twins ``queries/checks/data-*.rq`` on pyoxigraph, run the way ``kg.validate``'s
  ``sparql`` engine runs them (union of the named graphs, ontology in its own graph), but
  directly, so these tests depend only on the shapes, the twins and the fixtures.

So the two engines are shown to agree constraint by constraint, not only on ``conforms``; a third
test runs ``kg.validate.validate(engine="sparql")`` (the production report graph) on each fixture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import RDF, RDFS, SH, Graph, Namespace, URIRef
from rdflib.term import Node

from kg._paths import CHECKS_DIR, ONTOLOGY_TTL, SHAPES_DIR

FIXTURES = Path(__file__).parent / "data" / "shapes"
HMPT = Namespace("https://w3id.org/hmp/shapes-test#")
HMPSH = "https://w3id.org/hmp/shapes#"
FIXTURE_GRAPH = "https://w3id.org/hmp/graph/fx/fixture"

# rdflib 7's own Dataset.graphs() and TriG parser still use what rdflib 7 deprecates
pytestmark = [
    pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
]

Result = tuple[str, str, str]  # (constraint IRI, focus node IRI, severity IRI)


@dataclass(frozen=True)
class Fixture:
    path: Path
    shape_file: str
    data: rdflib.Dataset
    expected: frozenset[Result]
    twin_gaps: dict[str, str]  # constraint -> why its SPARQL twin is known to disagree (fix pending)

    @property
    def valid(self) -> bool:
        return self.path.name.startswith("valid-")


@cache
def shapes_by_file() -> dict[str, Graph]:
    return {p.stem: Graph().parse(p, format="turtle") for p in sorted(SHAPES_DIR.glob("*.ttl"))}


@cache
def all_shapes() -> Graph:
    graph = Graph()
    for g in shapes_by_file().values():
        graph += g
    return graph


@cache
def constraints_of(shape_file: str) -> frozenset[str]:
    """The constraints a shape file declares: every node it gives a message (and a severity)."""
    g = shapes_by_file()[shape_file]
    return frozenset(str(s) for s in g.subjects(SH.message, None) if isinstance(s, URIRef))


@cache
def all_constraints() -> frozenset[str]:
    return frozenset().union(*(constraints_of(name) for name in shapes_by_file()))


@cache
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_TTL, format="turtle")


def _fixture_paths() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*/*") if p.suffix in (".ttl", ".trig"))


def load_fixture(path: Path) -> Fixture:
    data = rdflib.Dataset()
    data.parse(path, format="trig" if path.suffix == ".trig" else "turtle")
    expected: set[Result] = set()
    twin_gaps: dict[str, str] = {}
    for graph in data.graphs():
        meta = set(graph.subjects(RDF.type, HMPT.Expectation)) | set(graph.subjects(RDF.type, HMPT.TwinGap))
        for node in meta:
            if (node, RDF.type, HMPT.Expectation) in graph:
                shape, focus, severity = (
                    graph.value(node, HMPT.sourceShape),
                    graph.value(node, HMPT.focusNode),
                    graph.value(node, HMPT.severity),
                )
                assert None not in (shape, focus, severity), f"{path.name}: incomplete expectation"
                expected.add((str(shape), str(focus), str(severity)))
            else:
                twin_gaps[str(graph.value(node, HMPT.constraint))] = str(graph.value(node, RDFS.comment))
            graph.remove((node, None, None))
    return Fixture(path, path.parent.name, data, frozenset(expected), twin_gaps)


def _results(report: Graph, scope: frozenset[str]) -> set[Result]:
    """(constraint, focus, severity) of every result for a constraint in ``scope``.

    The constraint is ``sh:sourceShape`` (a property shape, or a node shape such as
    ``ParticipantCareerShape``), or ``sh:sourceConstraint`` for a SPARQL-based constraint, whose
    ``sh:sourceShape`` is the node shape holding it.
    """
    found = set()
    for result in report.subjects(RDF.type, SH.ValidationResult):
        constraint: Node | None = report.value(result, SH.sourceConstraint)
        if not (isinstance(constraint, URIRef) and str(constraint) in all_constraints()):
            constraint = report.value(result, SH.sourceShape)
        if str(constraint) in scope:
            found.add(
                (
                    str(constraint),
                    str(report.value(result, SH.focusNode)),
                    str(report.value(result, SH.resultSeverity)),
                )
            )
    return found


def _union(data: rdflib.Dataset) -> Graph:
    """The fixture's graphs and the ontology, as one data graph (what the SPARQL engine sees)."""
    graph = Graph()
    graph += ontology()
    for g in data.graphs():
        for t in g:
            graph.add(t)
    return graph


@dataclass(frozen=True)
class Twin:
    name: str
    constraint: str
    sparql: str


@cache
def twins() -> tuple[Twin, ...]:
    found = []
    for path in sorted(CHECKS_DIR.glob("data-*.rq")):
        text = path.read_text(encoding="utf-8")
        header = re.search(r"^#\+ shape:\s*(\S+)", text, re.M)
        found.append(Twin(path.name, header.group(1) if header else "", text))
    return tuple(found)


@cache
def _ontology_quads() -> tuple[ox.Quad, ...]:
    graph = ox.NamedNode("https://w3id.org/hmp/graph/ontology")
    return tuple(
        ox.Quad(t.subject, t.predicate, t.object, graph)
        for t in (q.triple for q in ox.parse(path=str(ONTOLOGY_TTL), format=ox.RdfFormat.TURTLE))
    )


def _store(data: rdflib.Dataset) -> ox.Store:
    """The fixture (each graph under its name; the default graph named) and the ontology, in memory."""
    store = ox.Store()
    store.extend(_ontology_quads())
    for g in data.graphs():
        name = str(g.identifier)
        if name == str(rdflib.graph.DATASET_DEFAULT_GRAPH_ID):
            name = FIXTURE_GRAPH
        text = g.serialize(format="nt", encoding="utf-8")
        store.load(text, format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(name))
    return store


def _twin_results(data: rdflib.Dataset, scope: frozenset[str]) -> set[Result]:
    """Run the SPARQL twins of the constraints in ``scope`` as ``kg.validate``'s sparql engine
    does: over the union of the graphs, one row per (?this, ?value), severity from the shape."""
    store = _store(data)
    shapes = all_shapes()
    found = set()
    for twin in twins():
        if twin.constraint not in scope:
            continue
        severity = str(shapes.value(URIRef(twin.constraint), SH.severity))
        for row in store.query(twin.sparql, use_default_graph_as_union=True):  # type: ignore[union-attr]
            focus = row["this"]
            if focus is not None:
                found.add((twin.constraint, focus.value, severity))
    return found


def _pretty(results: set[Result] | frozenset[Result]) -> list[str]:
    return sorted(
        f"{c.removeprefix(HMPSH)} @ {f.rsplit('/id/', 1)[-1]} ({s.rsplit('#', 1)[-1]})" for c, f, s in results
    )


FIXTURE_PATHS = _fixture_paths()
IDS = [f"{p.parent.name}/{p.stem}" for p in FIXTURE_PATHS]


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=IDS)
def test_pyshacl_reports_exactly_the_expected_results(path: Path) -> None:
    import pyshacl

    fixture = load_fixture(path)
    _conforms, report, _text = pyshacl.validate(
        _union(fixture.data),
        shacl_graph=all_shapes(),
        advanced=True,
        inference="none",
        allow_warnings=True,
    )
    assert isinstance(report, Graph)
    got = _results(report, constraints_of(fixture.shape_file))
    assert _pretty(got) == _pretty(fixture.expected)


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=IDS)
def test_sparql_twins_report_exactly_the_expected_results(path: Path) -> None:
    fixture = load_fixture(path)
    got = _twin_results(fixture.data, constraints_of(fixture.shape_file))
    gaps = set(fixture.twin_gaps)
    assert _pretty({r for r in got if r[0] not in gaps}) == _pretty(
        {r for r in fixture.expected if r[0] not in gaps}
    )
    if gaps:
        caught_up = {r for r in got if r[0] in gaps} == {r for r in fixture.expected if r[0] in gaps}
        assert not caught_up, "the SPARQL twin now agrees with the shape: remove the hmpt:TwinGap"
        pytest.xfail("SPARQL twin behind its shape: " + "; ".join(fixture.twin_gaps.values()))


def _pairs(data: rdflib.Dataset) -> list[tuple[str, list[ox.Triple]]]:
    """The fixture as ``(named graph, triples)`` pairs, the input ``kg.validate.validate`` takes."""
    store = _store(data)
    return [
        (graph.value, [q.triple for q in store.quads_for_pattern(None, None, None, graph)])
        for graph in store.named_graphs()
        if graph.value != "https://w3id.org/hmp/graph/ontology"  # validate() adds the ontology
    ]


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=IDS)
def test_kg_validate_sparql_engine_reports_what_the_twins_report(path: Path) -> None:
    """The production path (``kg.validate``, its report graph and severities) over the same fixture."""
    from kg.validate import validate

    fixture = load_fixture(path)
    scope = constraints_of(fixture.shape_file)
    report = validate(_pairs(fixture.data), engine="sparql")
    assert _pretty(_results(report.graph, scope)) == _pretty(_twin_results(fixture.data, scope))


EXCERPT_FIXTURES = [p for p in FIXTURE_PATHS if p.parent.name == "annotation"]


@pytest.mark.parametrize("path", EXCERPT_FIXTURES, ids=[f"annotation/{p.stem}" for p in EXCERPT_FIXTURES])
def test_python_excerpt_twins_report_what_the_sparql_twins_report(path: Path) -> None:
    """``hmp build`` checks targets, codes, shortcuts and stories in Python per transcript chunk
    (``kg.validate.check_excerpts``); on each annotation fixture, taken as one chunk, it must
    report what the SPARQL twins report for those three constraints."""
    from kg.lift import LiftChunk
    from kg.validate import check_excerpts

    fixture = load_fixture(path)
    names = ("Annotation-target", "Annotation-body", "Annotation-shortcut", "Annotation-story")
    scope = frozenset(HMPSH + n for n in names)
    chunk = LiftChunk("transcript", None)
    for graph, triples in _pairs(fixture.data):
        chunk.graphs.setdefault(graph, []).extend(triples)
    # the study's own concepts (every scheme of theirs declared), as the lifter hands them over
    skos = rdflib.namespace.SKOS
    declared = set(fixture.data.subjects(RDF.type, skos.ConceptScheme))
    concepts = set(fixture.data.subjects(skos.inScheme, None))
    chunk.study_concepts = frozenset(
        str(c) for c in concepts if set(fixture.data.objects(c, skos.inScheme)) <= declared
    )
    severity = {c: str(all_shapes().value(URIRef(c), SH.severity)) for c in scope}
    got = {(shape, focus, severity[shape]) for shape, focus, _message, _value in check_excerpts(chunk)}
    assert _pretty(got) == _pretty(_twin_results(fixture.data, scope))


TEXT_FIXTURES = [p for p in FIXTURE_PATHS if p.parent.name == "transcript"]


@pytest.mark.parametrize("path", TEXT_FIXTURES, ids=[f"transcript/{p.stem}" for p in TEXT_FIXTURES])
def test_python_text_twins_report_what_the_sparql_twins_report(path: Path) -> None:
    """``hmp build`` checks each transcript's text and stated length in Python, in the chunk the
    transcript is lifted in (``kg.validate.check_transcripts``), not over the store; on each
    transcript fixture, taken as one chunk, it must report what the SPARQL twins report."""
    from kg.lift import LiftChunk
    from kg.validate import check_transcripts

    fixture = load_fixture(path)
    names = ("Transcript-fullText", "Transcript-textLength", "Transcript-textLength-matches")
    scope = frozenset(HMPSH + n for n in names)
    chunk = LiftChunk("transcript", None)
    for graph, triples in _pairs(fixture.data):
        chunk.graphs.setdefault(graph, []).extend(triples)
    severity = {c: str(all_shapes().value(URIRef(c), SH.severity)) for c in scope}
    got = {(shape, focus, severity[shape]) for shape, focus, _message, _value in check_transcripts(chunk)}
    assert _pretty(got) == _pretty(_twin_results(fixture.data, scope))
    wanted = {r for r in fixture.expected if r[0] in scope}
    assert wanted <= got  # what the fixture was written to catch is caught, not just agreed with


@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=IDS)
def test_fixture_is_well_formed(path: Path) -> None:
    fixture = load_fixture(path)
    assert re.fullmatch(r"(valid|invalid)-\d\d", path.stem), path.name
    assert fixture.shape_file in shapes_by_file(), f"no shapes/{fixture.shape_file}.ttl"
    if fixture.valid:
        assert not fixture.expected, "a valid fixture expects no results"
    else:
        assert fixture.expected, "an invalid fixture names the results it expects"
    assert {c for c, _f, _s in fixture.expected} <= constraints_of(fixture.shape_file)
    severities = {str(SH.Violation), str(SH.Warning), str(SH.Info)}
    for constraint, _focus, severity in fixture.expected:
        assert severity in severities
        declared = all_shapes().value(URIRef(constraint), SH.severity)
        assert str(declared) == severity, f"{constraint} is declared {declared}"


def test_every_constraint_has_an_invalid_fixture_and_every_shape_file_a_valid_one() -> None:
    fixtures = [load_fixture(p) for p in FIXTURE_PATHS]
    covered = {c for f in fixtures if not f.valid for c, _focus, _s in f.expected}
    assert sorted(all_constraints() - covered) == []
    with_valid = {f.shape_file for f in fixtures if f.valid}
    assert sorted(set(shapes_by_file()) - with_valid) == []


def test_every_sparql_twin_names_an_existing_constraint_and_every_constraint_has_one() -> None:
    named = {twin.name: twin.constraint for twin in twins()}
    assert {n: s for n, s in named.items() if s not in all_constraints()} == {}
    # a constraint may lack its twin only while a fixture records the gap (hmpt:TwinGap)
    pending = {c for p in FIXTURE_PATHS for c in load_fixture(p).twin_gaps}
    assert sorted(all_constraints() - set(named.values()) - pending) == []


def test_every_constraint_has_a_severity_and_a_message() -> None:
    g = all_shapes()
    for constraint in all_constraints():
        node = URIRef(constraint)
        assert constraint.startswith(HMPSH), constraint
        assert g.value(node, SH.severity) in (SH.Violation, SH.Warning, SH.Info), constraint
        messages = list(g.objects(node, SH.message))
        assert len(messages) == 1, constraint


#: the checks ``PythonChecks`` twins besides the excerpt and transcript text ones
METADATA_TWINS = (
    "Event-careerYear",
    "Event-participant",
    "Event-stage",
    "Interview-interviewee",
    "Participant-careerBand",
    "Participant-careerYears",
    "ParticipantCareerShape",
    "Participant-occupation-missing",
    "Participant-occupation",
    "RoleHolding-member",
    "RoleHolding-roleType",
    "RoleHolding-years",
    "Story-initiative-missing",
    "Story-initiative",
    "Story-toldIn",
    "Transcript-interview",
    "Transcript-narrator",
)


def _twin_rows(data: rdflib.Dataset, scope: frozenset[str]) -> list[tuple[str, str, str | None]]:
    """The (constraint, focus, value) rows the SPARQL twins of ``scope`` make, sorted."""
    store = _store(data)
    found = []
    for twin in twins():
        if twin.constraint in scope:
            for row in store.query(twin.sparql, use_default_graph_as_union=True):  # type: ignore[union-attr]
                value = row["value"]
                if row["this"] is not None:
                    found.append((twin.constraint, row["this"].value, None if value is None else value.value))
    return sorted(found)


@pytest.mark.parametrize("split", [False, True], ids=["one-chunk", "chunk-per-subject"])
@pytest.mark.parametrize("path", FIXTURE_PATHS, ids=IDS)
def test_python_metadata_twins_make_the_rows_the_sparql_twins_make(path: Path, split: bool) -> None:
    """``hmp build`` checks events, interviews, participants, role holdings, stories and
    transcripts in Python (``kg.validate.PythonChecks``): on every fixture, taken as one chunk or
    as one chunk per subject (every reference, and a study concept's scheme, then resolved
    across chunks), it must make exactly the rows the SPARQL twins make, values included (one
    per value, unbound when none)."""
    from kg.lift import LiftChunk
    from kg.validate import PythonChecks

    fixture = load_fixture(path)
    scope = frozenset(HMPSH + n for n in METADATA_TWINS)
    by_subject: dict[str, list[tuple[str, ox.Triple]]] = {}
    for graph, triples in _pairs(fixture.data):
        for t in triples:
            by_subject.setdefault(t.subject.value if split else "", []).append((graph, t))
    python = PythonChecks()
    for part in reversed(list(by_subject.values())):
        chunk = LiftChunk("metadata", None)
        for graph, t in part:
            chunk.graphs.setdefault(graph, []).append(t)
        python.check(chunk)
    got = sorted(
        (shape, focus, None if value is None else str(value))
        for shape, focus, _message, value in python.finish()
        if shape in scope
    )
    expected = _twin_rows(fixture.data, scope)
    assert got == expected
    assert {(c, f) for c, f, _s in fixture.expected if c in scope} <= {(c, f) for c, f, _v in got}
