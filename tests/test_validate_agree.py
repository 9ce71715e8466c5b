"""The shapes are the specification: SHACL (pyshacl) and the SPARQL checks must agree.

Each broken fixture is the demo study with one defect; both engines must report the same
(shape or SPARQL constraint, focus node) pairs, and the expected one must be among them. The
``build`` engine (most checks in Python as the study is lifted, ``kg.validate.PythonChecks``)
must report exactly what the ``sparql`` engine reports: the same findings, values, order.

Some defects cannot come from a ``Study`` (an event with two stages, an interview without its
interviewee): those fixtures edit the lifted triples (``_set``), for every engine alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg.validate
from kg.lift import HMP, ORG, LiftChunk, Lifter
from kg.model import Study
from kg.validate import PYTHON_CHECKS, SHAPES_NS, PythonChecks, validate
from studybuilder import build_study

B = "https://w3id.org/hmp/id/demo/"


class _EditedLifter(Lifter):
    """The lifter, then the study's ``triple_edits`` ((subject, predicate) -> the objects it has
    instead, in the chunk that lifts the subject) applied to every chunk."""

    def chunks(self) -> Iterator[LiftChunk]:
        edits: dict[tuple[str, str], list[ox.NamedNode | ox.Literal]] = getattr(
            self.study, "triple_edits", {}
        )
        for chunk in super().chunks():
            for triples in chunk.graphs.values():
                keys = {(t.subject.value, t.predicate.value) for t in triples} & set(edits)
                triples[:] = [t for t in triples if (t.subject.value, t.predicate.value) not in keys]
                for s, p in sorted(keys):
                    triples.extend(ox.Triple(ox.NamedNode(s), ox.NamedNode(p), o) for o in edits[s, p])
            yield chunk


@pytest.fixture(autouse=True)
def _edited_lifter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kg.validate, "Lifter", _EditedLifter)


def _set(subject: str, predicate: str, *objects: str | ox.Literal) -> Callable[[Study], None]:
    """A mutation: ``subject`` has ``objects`` (IRIs or literals) for ``predicate`` once lifted."""

    def mutate(s: Study) -> None:
        edits = s.__dict__.setdefault("triple_edits", {})
        edits[subject, predicate] = [ox.NamedNode(o) if isinstance(o, str) else o for o in objects]

    return mutate


_PREFIXES = {"hmp:": HMP, "org:": ORG, "id:": B}


def _iri(name: str) -> str:
    """``hmp:x``, ``org:x`` or ``id:x`` (a resource of the demo study) as an IRI."""
    prefix = name[: name.index(":") + 1]
    return _PREFIXES[prefix] + name.removeprefix(prefix)


def _edited(name: str, shape: str, subject: str, predicate: str, *objects: str | ox.Literal) -> tuple:  # type: ignore[type-arg]
    """A case: ``B + subject`` lifted with ``objects`` (``_iri`` names or literals) for
    ``predicate`` breaks ``shape`` (no objects: it lacks ``predicate``)."""
    values = [_iri(o) if isinstance(o, str) else o for o in objects]
    return (name, _set(B + subject, _iri(predicate), *values), shape, B + subject)


def _both(*mutations: Callable[[Study], None]) -> Callable[[Study], None]:
    def mutate(s: Study) -> None:
        for m in mutations:
            m(s)

    return mutate


def _coding(study: Study, tid: str, change: Callable) -> None:  # type: ignore[type-arg]
    loader = study.loader
    assert loader is not None

    def patched(ref):  # type: ignore[no-untyped-def]
        data = loader(ref)
        if ref.id == tid:
            change(data)
        return data

    study.loader = patched


def _quote(s: Study) -> None:
    _coding(s, "T02", lambda d: setattr(d.codings[0], "exact", "not in the text"))


def _offsets(s: Study) -> None:
    _coding(s, "T02", lambda d: setattr(d.codings[0], "end", 10_000))


def _occupation(s: Study) -> None:
    s.participants[0].occupation = "stage-awakening"


def _no_occupation(s: Study) -> None:
    s.participants[2].occupation = None


def _no_career(s: Study) -> None:
    s.participants[1].career_years = None


def _role_years(s: Study) -> None:
    s.participants[2].roles[0].start_year = 12


def _event_year(s: Study) -> None:
    s.events[0].career_year = 40


def _story_transcript(s: Study) -> None:
    s.stories[1].transcript_id = "T99"


def _narrator(s: Study) -> None:
    s.transcripts[0].participant_id = "P99"


def _initiative(s: Study) -> None:
    s.stories[0].initiative = "emotion-frustration"


def _event_year_zero(s: Study) -> None:
    s.events[0].career_year = 0


def _derived_event_participant(s: Study) -> None:
    """No events listed: they are derived in the transcript chunks, here of an unknown participant."""
    s.events = []
    s.transcripts[0].participant_id = "P99"


def _band(s: Study) -> None:
    s.participants[0].career_band = "stage-awakening"


def _negative_years(s: Study) -> None:
    s.participants[1].career_years = -1


def _role_type(s: Study) -> None:
    s.participants[1].roles[0].role = "no-such-role"


def _no_initiative(s: Study) -> None:
    s.stories[1].initiative = None


P2, P3 = "id:participant/P02", "id:participant/P03"
STAGES = ("hmp:stage-awakening", "hmp:stage-normalisation")
JOBS = ("hmp:occupation-manager", "hmp:occupation-nurse")
INITIATIVES = ("hmp:initiative-service-redesign", "hmp:initiative-cost-control")
_DECIMAL_9 = ox.Literal("9.0", datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#decimal"))


CASES = [
    ("quote", _quote, "Annotation-exact", B + "coding/c004"),
    ("offsets", _offsets, "Annotation-position", B + "coding/c004"),
    ("occupation", _occupation, "Participant-occupation", B + "participant/P01"),
    ("no-occupation", _no_occupation, "Participant-occupation-missing", B + "participant/P03"),
    ("no-career", _no_career, "ParticipantCareerShape", B + "participant/P02"),
    ("role-years", _role_years, "RoleHolding-years", B + "role-holding/P03-1"),
    ("event-year", _event_year, "Event-careerYear", B + "event/E01"),
    ("story-transcript", _story_transcript, "Story-toldIn", B + "story/S02"),
    ("narrator", _narrator, "Transcript-narrator", B + "transcript/T01"),
    ("initiative", _initiative, "Story-initiative", B + "story/S01"),
    # the metadata checks hmp build runs in Python (PythonChecks)
    _edited("two-stages", "Event-stage", "event/E01", "hmp:stage", *STAGES),
    _edited("stage-outside", "Event-stage", "event/E01", "hmp:stage", "hmp:occupation-nurse"),
    _edited("event-no-participant", "Event-participant", "event/E01", "hmp:ofParticipant"),
    _edited("event-of-interview", "Event-participant", "event/E01", "hmp:ofParticipant", "id:interview/T01"),
    _edited("event-year-text", "Event-careerYear", "event/E01", "hmp:careerYear", ox.Literal("nine")),
    _edited("event-year-decimal", "Event-careerYear", "event/E01", "hmp:careerYear", _DECIMAL_9),
    ("event-year-zero", _event_year_zero, "Event-careerYear", B + "event/E01"),
    ("derived-event", _derived_event_participant, "Event-participant", B + "event/P99-stage-awakening"),
    _edited("no-interviewee", "Interview-interviewee", "interview/T02", "hmp:interviewee"),
    _edited("two-interviewees", "Interview-interviewee", "interview/T02", "hmp:interviewee", P2, P3),
    ("band", _band, "Participant-careerBand", B + "participant/P01"),
    ("negative-years", _negative_years, "Participant-careerYears", B + "participant/P02"),
    _edited("two-occupations", "Participant-occupation", "participant/P03", "hmp:primaryOccupation", *JOBS),
    _edited("role-member", "RoleHolding-member", "role-holding/P02-1", "org:member", "id:interview/T02"),
    _edited("role-no-member", "RoleHolding-member", "role-holding/P02-1", "org:member"),
    ("role-type", _role_type, "RoleHolding-roleType", B + "role-holding/P02-1"),
    _edited(
        "role-year-text", "RoleHolding-years", "role-holding/P01-1", "hmp:startCareerYear", ox.Literal("8")
    ),
    ("no-initiative", _no_initiative, "Story-initiative-missing", B + "story/S02"),
    _edited("two-initiatives", "Story-initiative", "story/S01", "hmp:aboutInitiative", *INITIATIVES),
    _edited("story-told-in-interview", "Story-toldIn", "story/S03", "hmp:toldIn", "id:interview/T03"),
    _edited("story-told-nowhere", "Story-toldIn", "story/S03", "hmp:toldIn"),
    _edited("no-interview", "Transcript-interview", "transcript/T03", "hmp:transcriptOf"),
    _edited("transcript-of-participant", "Transcript-interview", "transcript/T03", "hmp:transcriptOf", P3),
    _edited("two-narrators", "Transcript-narrator", "transcript/T02", "hmp:narrator", P2, P3),
    _edited("narrator-literal", "Transcript-narrator", "transcript/T01", "hmp:narrator", ox.Literal("P01")),
]


def _pairs(report) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from rdflib import RDF, SH, URIRef

    g = report.graph
    pairs = set()
    for result in g.subjects(RDF.type, SH.ValidationResult):
        constraint = g.value(result, SH.sourceConstraint)
        shape = constraint if isinstance(constraint, URIRef) else g.value(result, SH.sourceShape)
        pairs.add((str(shape).removeprefix(SHAPES_NS), str(g.value(result, SH.focusNode))))
    return pairs


@pytest.mark.parametrize(("name", "mutate", "shape", "focus"), CASES, ids=[c[0] for c in CASES])
def test_shacl_and_sparql_checks_agree(name: str, mutate, shape: str, focus: str) -> None:  # type: ignore[no-untyped-def]
    sparql = validate(build_study(events=True, mutate=mutate), engine="sparql")
    shacl = validate(build_study(events=True, mutate=mutate), engine="shacl")
    assert (shape, focus) in _pairs(sparql)
    assert _pairs(sparql) == _pairs(shacl)
    finding = next(f for f in sparql.findings if f.focus == focus)
    assert finding.location is not None or "/story/" in focus  # the demo's stories have no row


def test_good_study_conforms_on_both_engines() -> None:
    for engine in ("sparql", "shacl"):
        report = validate(build_study(events=True), engine=engine)
        assert report.conforms
        assert {p[0] for p in _pairs(report)} == {"Annotation-story", "Concept-study-code"}


@pytest.mark.parametrize(("name", "mutate", "shape", "focus"), CASES, ids=[c[0] for c in CASES])
def test_what_build_enforces_agrees_with_shacl(name: str, mutate, shape: str, focus: str) -> None:  # type: ignore[no-untyped-def]
    """``hmp build`` checks all but the concepts and the study in Python (``PythonChecks``), those
    in SPARQL: it must report exactly what pyshacl reports from the shapes."""
    build = validate(build_study(events=True, mutate=mutate), engine="build")
    shacl = validate(build_study(events=True, mutate=mutate), engine="shacl")
    assert build.engine == "build"
    assert (shape, focus) in _pairs(build)
    assert _pairs(build) == _pairs(shacl)


def _rows(report, names: tuple[str, ...] = PYTHON_CHECKS) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    """The (shape, focus, value) rows of ``report`` for the checks ``names``, sorted."""
    shapes = {kg.validate._check_shapes()[n] for n in names}
    return sorted(
        (shape, focus, None if value is None else str(value))
        for shape, focus, _m, value in report.rows
        if shape in shapes
    )


_METADATA_CHECKS = tuple(n for n in PYTHON_CHECKS if not n.startswith("data-annotation-"))


@pytest.mark.parametrize(("name", "mutate", "shape", "focus"), CASES, ids=[c[0] for c in CASES])
def test_build_engine_reports_what_the_sparql_engine_reports(
    name: str, mutate, shape: str, focus: str
) -> None:  # type: ignore[no-untyped-def]
    """The same findings in the same order (severity, message, location, focus, value), and for
    the checks twinned in Python the same rows (value included: one per value, unbound when none)."""
    build = validate(build_study(events=True, mutate=mutate), engine="build")
    sparql = validate(build_study(events=True, mutate=mutate), engine="sparql")
    assert list(build.findings) == list(sparql.findings)
    assert build.conforms == sparql.conforms
    assert _rows(build, _METADATA_CHECKS) == _rows(sparql, _METADATA_CHECKS)
    assert any(f.focus == focus and f.message.endswith(_message(shape)) for f in build.findings)


def _message(shape: str) -> str:
    return kg.validate.shape_infos()[SHAPES_NS + shape].message


def test_build_engine_rows_come_from_python_for_quotes_and_offsets() -> None:
    """The quote/offset findings of the build engine are not the SPARQL twins' (those are skipped)."""
    from kg.validate import check_selectors

    study = build_study(events=True, mutate=_offsets)
    rows = [row for chunk in Lifter(study).chunks() for row in check_selectors(chunk)]
    assert {(shape.removeprefix(SHAPES_NS), focus) for shape, focus, _m, _v in rows} == {
        ("Annotation-position", B + "coding/c004"),
        ("Annotation-exact", B + "coding/c004"),
        ("Annotation-story", B + "coding/c005"),  # a note: the demo's one excerpt outside a story
    }


#: defects in resources lifted in different chunks: the event of a participant lifted earlier, a
#: story told in what is lifted later, references to what is not of the class they need
_MANY = _both(
    _event_year,
    _narrator,
    _role_type,
    _no_initiative,
    _set(B + "story/S03", HMP + "toldIn", B + "interview/T03"),
    _set(B + "transcript/T02", HMP + "transcriptOf", B + "participant/P02"),
    _set(B + "role-holding/P02-1", ORG + "member", B + "story/S01"),
    _set(B + "event/E01", HMP + "stage", HMP + "stage-awakening", HMP + "stage-turning-point"),
)


def test_build_engine_rows_come_from_python_for_the_metadata_checks() -> None:
    """``PythonChecks`` over the lifted chunks, without any store, makes the rows the SPARQL twins
    make of the same study: each chunk's own, and those of references resolved at the end."""
    study = build_study(events=True, mutate=_MANY)
    python = PythonChecks()
    for chunk in _EditedLifter(study).chunks():
        python.check(chunk)
    rows = python.finish()
    shapes = {kg.validate._check_shapes()[n] for n in _METADATA_CHECKS}
    got = sorted((s, f, None if v is None else str(v)) for s, f, _m, v in rows if s in shapes)
    assert got == _rows(validate(build_study(events=True, mutate=_MANY), engine="sparql"), _METADATA_CHECKS)
    assert {(s.removeprefix(SHAPES_NS), f) for s, f, _v in got} == {
        ("Event-careerYear", B + "event/E01"),
        ("Event-stage", B + "event/E01"),
        ("Transcript-narrator", B + "transcript/T01"),
        ("Interview-interviewee", B + "interview/T01"),  # the transcript's participant, P99
        ("RoleHolding-roleType", B + "role-holding/P02-1"),
        ("RoleHolding-member", B + "role-holding/P02-1"),
        ("Story-initiative-missing", B + "story/S02"),
        ("Story-toldIn", B + "story/S03"),
        ("Transcript-interview", B + "transcript/T02"),
    }
    assert (SHAPES_NS + "Story-toldIn", B + "story/S03", B + "interview/T03") in got  # the value


def test_a_role_type_that_is_one_of_the_study_concepts_is_known_to_every_engine() -> None:
    """The study's own concepts (in its own concept scheme, lifted after the participants) are
    known concepts: a role type may be one (resolved once the study is lifted)."""
    mutate = _set(B + "role-holding/P02-1", HMP + "roleType", B + "code/ward-politics")
    reports = {e: validate(build_study(events=True, mutate=mutate), engine=e) for e in kg.validate.ENGINES}
    for report in reports.values():
        assert not any(shape == "RoleHolding-roleType" for shape, _f in _pairs(report))
    assert _pairs(reports["build"]) == _pairs(reports["shacl"]) == _pairs(reports["sparql"])
    assert list(reports["build"].findings) == list(reports["sparql"].findings)


def _ran(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the SPARQL checks ``run_checks`` runs from now on (appended as they run)."""
    ran: list[str] = []
    groups = kg.validate._check_groups

    def spy(checks):  # type: ignore[no-untyped-def]
        for group in groups(checks):
            ran.extend(c.name for c in group)
            yield group

    monkeypatch.setattr(kg.validate, "_check_groups", spy)
    return ran


def test_the_build_runs_only_the_concept_and_study_checks_as_sparql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``hmp build`` (and the ``build`` engine) run in SPARQL over the store only the checks not
    twinned in Python: every other one would make RocksDB cache index blocks as big as the store."""
    from kg.build import build_study as build
    from kg.stores.oxigraph import OxigraphStore

    every = [c.name for c in kg.validate.data_checks()]
    cheap = [n for n in every if n.startswith(("data-concept-", "data-study-"))]
    assert sorted(set(every) - set(PYTHON_CHECKS)) == cheap and set(PYTHON_CHECKS) <= set(every)
    ran = _ran(monkeypatch)
    summary = build(
        build_study(events=True, mutate=_narrator), OxigraphStore(tmp_path / "s"), raise_on_violation=False
    )
    assert ran == cheap
    assert summary.report is not None and ("Transcript-narrator", B + "transcript/T01") in _pairs(
        summary.report
    )
    ran.clear()
    report = validate(build_study(events=True, mutate=_narrator), engine="build")
    assert ran == cheap and ("Transcript-narrator", B + "transcript/T01") in _pairs(report)
    ran.clear()
    validate(build_study(events=True, mutate=_narrator), engine="sparql")
    assert ran == every  # hmp validate keeps all the SPARQL twins


@pytest.mark.parametrize("engine", ["sparql", "shacl", "build"])
def test_engines_report_the_same_when_the_metadata_is_lifted_in_small_chunks(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event checked against its participant's career lifted in an earlier metadata chunk."""
    import kg.lift

    whole = validate(build_study(events=True, mutate=_event_year), engine=engine)
    monkeypatch.setattr(kg.lift, "METADATA_CHUNK_TRIPLES", 25)
    split = validate(build_study(events=True, mutate=_event_year), engine=engine)
    assert ("Event-careerYear", B + "event/E01") in _pairs(split)
    assert _pairs(split) == _pairs(whole)


_SPLIT_CASES = [
    c
    for c in CASES
    if c[0]
    in (
        "event-year",
        "narrator",
        "story-told-in-interview",
        "role-member",
        "derived-event",
        "no-interviewee",
        "no-career",
    )
]


@pytest.mark.parametrize(("name", "mutate", "shape", "focus"), _SPLIT_CASES, ids=[c[0] for c in _SPLIT_CASES])
def test_build_engine_reports_what_the_sparql_engine_reports_in_small_metadata_chunks(
    name: str,
    mutate,
    shape: str,
    focus: str,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    """Each participant, interview, story and event in a chunk of its own, nearly: a reference
    to a resource of another chunk is resolved at the end, with the same result."""
    import kg.lift

    monkeypatch.setattr(kg.lift, "METADATA_CHUNK_TRIPLES", 5)
    chunks = list(_EditedLifter(build_study(events=True, mutate=mutate)).chunks())
    assert sum(c.part == "metadata" for c in chunks) > 5
    build = validate(build_study(events=True, mutate=mutate), engine="build")
    sparql = validate(build_study(events=True, mutate=mutate), engine="sparql")
    assert (shape, focus) in _pairs(build)
    assert list(build.findings) == list(sparql.findings)
    assert _rows(build, _METADATA_CHECKS) == _rows(sparql, _METADATA_CHECKS)
