# ruff: noqa: E501  (expected-row tables read best one row per line)
"""Canned queries on a hand-built fixture study whose every answer is known by construction.

The fixture (tests/data/queries/fixture-study.trig, made by make_fixture.py there) has 7
participants: doctors D1 (hybrid, medical director) and D2; nurses N1 (hybrid, quality-improvement
lead), N2, N3; managers M1, M2. Each query's expected rows are written out below.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from kg import queries
from kg._query_engines import MemoryStore, RdflibStore, load_quads, to_rdflib
from kg.concepts import concept_index
from kg.errors import QueryError

pytestmark = pytest.mark.filterwarnings("ignore:Dataset.default_context:DeprecationWarning")

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "queries" / "fixture-study.trig"
ONTOLOGY = (ROOT / "ontology" / "hmp.ttl", "https://w3id.org/hmp/graph/ontology")
HMP = "https://w3id.org/hmp/ontology#"
XSD = "http://www.w3.org/2001/XMLSchema#"
ID = "https://w3id.org/hmp/id/fixture/"
FIXED = {
    "sample-composition", "clinical-leadership", "care-settings", "career-length", "stages-by-occupation",
    "awakening-timing", "awakening-triggers", "turning-points", "moral-stance-by-stage", "emotions-by-stage",
    "commitments-by-occupation", "hybrid-loyalty", "initiatives-by-occupation", "counterparts",
    "political-skills", "stage-trajectories", "evidence", "participant-profile",
}  # fmt: skip


@pytest.fixture(scope="module")
def quads() -> list[ox.Quad]:
    return load_quads([FIXTURE, ONTOLOGY])


@pytest.fixture(scope="module")
def store(quads: list[ox.Quad]) -> MemoryStore:
    return MemoryStore(quads)


@pytest.fixture(scope="module")
def rdflib_store(quads: list[ox.Quad]) -> RdflibStore:
    return RdflibStore(quads)


def short(value: Any) -> Any:
    """Concept and data IRIs by their local names, so expectations stay readable."""
    if isinstance(value, str) and value.startswith(HMP):
        return value[len(HMP) :]
    if isinstance(value, str) and value.startswith(ID):
        return value[len(ID) :]
    return value


def table(result: queries.QueryResult, *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(short(row.get(c)) for c in columns) for row in result.rows]


# --- the catalogue ---------------------------------------------------------------------------


def test_catalogue_has_the_fixed_names_and_complete_headers() -> None:
    catalogue = queries.catalogue()
    names = {q.name for q in catalogue}
    assert names >= FIXED
    assert len(names) > len(FIXED)  # plus questions the fixed set does not answer
    for q in catalogue:
        assert q.summary and q.description and q.claim and q.section and q.chart, q.name
        assert q.tags, q.name
        assert q.text.lstrip().startswith("#+ summary:"), q.name
    assert queries.get("participant-profile").form == "construct"


def test_parameters_are_declared_and_projected() -> None:
    evidence = queries.get("evidence")
    stage, occupation = evidence.params
    assert (stage.name, stage.scheme, stage.default) == ("stage", "stage", "awakening")
    assert (occupation.name, occupation.scheme, occupation.default) == ("occupation", "occupation", "nurse")
    # the header's enumeration is exactly the ontology's stages
    assert set(stage.enumeration) == set(queries.accepted_values(stage))
    profile = queries.get("participant-profile")
    assert [(p.name, p.type, p.required) for p in profile.params] == [("participant", "participant", True)]
    for q in queries.catalogue():
        if q.form == "select":  # SEP-0007 substitution binds only projected variables
            assert {f"_{p.name}" for p in q.params} <= set(queries.projection(q.text)), q.name


def test_unknown_query_and_bad_parameters_name_the_accepted_values(store: MemoryStore) -> None:
    with pytest.raises(QueryError, match="sample-composition"):
        queries.run(store, "no-such-query")
    with pytest.raises(QueryError, match="'awakening'"):
        queries.run(store, "evidence", {"stage": "epiphany"})
    with pytest.raises(QueryError, match="has no parameter 'colour'"):
        queries.run(store, "evidence", {"colour": "red"})
    with pytest.raises(QueryError, match="D1, D2, M1, M2, N1, N2, N3"):
        queries.run(store, "participant-profile", {"participant": "P99"})
    with pytest.raises(QueryError, match="needs parameter 'participant'"):
        queries.run(store, "participant-profile")


# --- golden answers --------------------------------------------------------------------------


def test_sample_composition(store: MemoryStore) -> None:
    result = queries.run(store, "sample-composition")
    assert table(result, "occupation", "occupationLabel", "n") == [
        ("occupation-nurse", "nurse", 3),
        ("occupation-doctor", "doctor", 2),
        ("occupation-manager", "manager", 2),
    ]
    assert result.variables == ["occupation", "occupationLabel", "n"]


def test_clinical_leadership(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "clinical-leadership"),
        "occupationLabel",
        "role",
        "roleLabel",
        "n",
        "occupationTotal",
    ) == [
        ("doctor", "role-medical-director", "medical director", 1, 1),
        ("nurse", "role-quality-improvement-lead", "quality-improvement lead", 1, 1),
    ]


def test_care_settings(store: MemoryStore) -> None:
    assert table(queries.run(store, "care-settings"), "setting", "settingLabel", "n") == [
        ("setting-general-hospital", "general hospital", 3),
        ("setting-primary-care", "primary care", 2),
        ("setting-community-care", "community care", 1),
        ("setting-regional-planning", "regional care planning", 1),
    ]


def test_career_length_uses_recorded_then_derived_band_then_not_stated(store: MemoryStore) -> None:
    # D2 has only careerYears 15 (derived 11-20); M2 has neither (not stated)
    assert table(queries.run(store, "career-length"), "band", "bandLabel", "n") == [
        ("band-under-10", "under 10 years", 2),
        ("band-11-20", "11 to 20 years", 2),
        ("band-21-30", "21 to 30 years", 1),
        ("band-over-30", "over 30 years", 1),
        ("band-not-stated", "not stated", 1),
    ]


def test_stages_by_occupation(store: MemoryStore) -> None:
    rows = table(
        queries.run(store, "stages-by-occupation"),
        "occupationLabel",
        "stage",
        "n",
        "occupationTotal",
        "sharePercent",
    )
    assert rows == [
        ("doctor", "stage-awakening", 2, 2, 100),
        ("doctor", "stage-turning-point", 2, 2, 100),
        ("doctor", "stage-strategic-mastery", 1, 2, 50),
        ("manager", "stage-early-impressions", 1, 2, 50),
        ("manager", "stage-awakening", 2, 2, 100),
        ("manager", "stage-strategic-mastery", 1, 2, 50),
        ("nurse", "stage-awakening", 3, 3, 100),
        ("nurse", "stage-turning-point", 1, 3, Decimal("33.3")),
        ("nurse", "stage-strategic-mastery", 1, 3, Decimal("33.3")),
    ]


def test_awakening_timing_median_for_odd_even_and_tied_n(store: MemoryStore) -> None:
    # nurses 2, 3, 5 (odd n); managers 4, 4 (tie); doctors 6, 8 (even n)
    assert table(queries.run(store, "awakening-timing"), "occupationLabel", "median", "min", "max", "n") == [
        ("nurse", 3, 2, 5, 3),
        ("manager", 4, 4, 4, 2),
        ("doctor", 7, 6, 8, 2),
    ]


@pytest.mark.parametrize("seed", range(6))
def test_awakening_median_matches_statistics_median(seed: int) -> None:
    rng = random.Random(seed)
    years = {occ: [rng.randint(0, 12) for _ in range(rng.randint(1, 9))] for occ in ("doctor", "nurse")}
    p = "https://w3id.org/hmp/id/m/"
    g = ox.NamedNode("https://w3id.org/hmp/graph/m/metadata")
    data = []
    for occ, values in years.items():
        for i, year in enumerate(values):
            person, event = ox.NamedNode(f"{p}participant/{occ}{i}"), ox.NamedNode(f"{p}event/{occ}{i}")
            data += [
                ox.Quad(
                    person, ox.NamedNode(HMP + "primaryOccupation"), ox.NamedNode(f"{HMP}occupation-{occ}"), g
                ),
                ox.Quad(
                    event,
                    ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                    ox.NamedNode(HMP + "ActivationEvent"),
                    g,
                ),
                ox.Quad(event, ox.NamedNode(HMP + "ofParticipant"), person, g),
                ox.Quad(event, ox.NamedNode(HMP + "stage"), ox.NamedNode(HMP + "stage-awakening"), g),
                ox.Quad(
                    event,
                    ox.NamedNode(HMP + "careerYear"),
                    ox.Literal(str(year), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")),
                    g,
                ),
            ]
    for engine in (MemoryStore(data), RdflibStore(data)):
        got = {short(r["occupation"]): r for r in queries.run(engine, "awakening-timing").rows}
        for occ, values in years.items():
            row = got[f"occupation-{occ}"]
            assert Decimal(str(statistics.median(values))) == row["median"], (occ, values)
            assert (row["min"], row["max"], row["n"]) == (min(values), max(values), len(values))


def test_awakening_triggers(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "awakening-triggers"), "occupationLabel", "trigger", "triggerLabel", "n"
    ) == [
        ("doctor", "trigger-permanent-post", "permanent post", 1),
        ("doctor", "trigger-specialist-training", "specialist training", 1),
        ("manager", "trigger-first-management-post", "first management post", 2),
        ("nurse", "trigger-promotion-into-leadership", "promotion into leadership", 2),
        ("nurse", "trigger-appraisal", "appraisal", 1),
    ]


def test_turning_points_by_occupation_and_hybrid_status(store: MemoryStore) -> None:
    rows = table(
        queries.run(store, "turning-points"),
        "occupationLabel",
        "hybrid",
        "code",
        "scheme",
        "participants",
        "excerpts",
    )
    assert Counter(rows) == Counter([
        ("doctor", False, "emotion-distress", "EmotionScheme", 1, 1),
        ("doctor", True, "emotion-distress", "EmotionScheme", 1, 2),
        ("doctor", True, "loyalty-changing-sides", "LoyaltyConflictScheme", 1, 1),
        ("doctor", True, "commitment-organisation", "CommitmentTargetScheme", 1, 1),
        ("nurse", True, "emotion-distress", "EmotionScheme", 1, 1),
        ("nurse", True, "loyalty-torn", "LoyaltyConflictScheme", 1, 1),
    ])  # fmt: skip


def test_moral_stance_by_stage(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "moral-stance-by-stage"), "stage", "stance", "occupationLabel", "participants"
    ) == [
        ("stage-early-impressions", "moral-illegitimate", "manager", 1),
        ("stage-awakening", "moral-own-community", "doctor", 2),
        ("stage-awakening", "moral-illegitimate", "nurse", 1),
        ("stage-strategic-mastery", "moral-neutral-instrumental", "doctor", 1),
        ("stage-strategic-mastery", "moral-neutral-instrumental", "manager", 1),
        ("stage-strategic-mastery", "moral-values-based", "nurse", 1),
    ]


def test_emotions_by_stage_counts_participants_and_excerpts(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "emotions-by-stage"),
        "stage",
        "emotion",
        "emotionLabel",
        "participants",
        "excerpts",
    ) == [
        ("stage-early-impressions", "emotion-confusion", "confusion", 1, 1),
        ("stage-awakening", "emotion-shock", "shock or surprise", 5, 5),
        ("stage-awakening", "emotion-frustration", "frustration", 2, 2),
        ("stage-turning-point", "emotion-distress", "distress or moral distress", 3, 4),
        ("stage-strategic-mastery", "emotion-pride", "pride", 1, 1),
    ]


def test_commitments_by_occupation_and_hybrid_status(store: MemoryStore) -> None:
    rows = table(
        queries.run(store, "commitments-by-occupation"),
        "occupationLabel",
        "hybrid",
        "commitment",
        "n",
        "groupSize",
    )
    assert Counter(rows) == Counter([
        ("doctor", False, "commitment-profession", 1, 1),
        ("doctor", True, "commitment-profession", 1, 1),
        ("doctor", True, "commitment-organisation", 1, 1),
        ("manager", False, "commitment-career", 1, 2),
        ("manager", False, "commitment-managing-process", 1, 2),
        ("nurse", True, "commitment-patients", 1, 1),
        ("nurse", True, "commitment-organisation", 1, 1),
    ])  # fmt: skip


def test_hybrid_loyalty(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "hybrid-loyalty"),
        "participant",
        "pseudonym",
        "loyalty",
        "loyaltyLabel",
        "role",
        "excerpts",
    ) == [
        (
            "participant/D1",
            "D1",
            "loyalty-changing-sides",
            "seen as changing sides",
            "role-medical-director",
            1,
        ),
        (
            "participant/N1",
            "N1",
            "loyalty-torn",
            "torn between profession and organisation",
            "role-quality-improvement-lead",
            1,
        ),
    ]


def test_initiatives_by_occupation(store: MemoryStore) -> None:
    rows = table(
        queries.run(store, "initiatives-by-occupation"),
        "occupationLabel",
        "initiative",
        "stories",
        "narrators",
    )
    assert Counter(rows) == Counter([
        ("doctor", "initiative-service-redesign", 2, 1), ("doctor", "initiative-care-pathway-reorganisation", 1, 1),
        ("doctor", "initiative-evidence-based-medicine", 1, 1), ("doctor", "initiative-cost-control", 1, 1),
        ("nurse", "initiative-quality-improvement", 3, 2), ("nurse", "initiative-integrated-working", 1, 1),
        ("nurse", "initiative-workforce-change", 1, 1), ("manager", "initiative-service-redesign", 1, 1),
        ("manager", "initiative-technological-innovation", 1, 1), ("manager", "initiative-workforce-change", 1, 1),
        ("manager", "initiative-cost-control", 1, 1),
    ])  # fmt: skip


def test_counterparts(store: MemoryStore) -> None:
    rows = table(queries.run(store, "counterparts"), "occupationLabel", "actorGroup", "stories", "narrators")
    assert Counter(rows) == Counter([
        ("doctor", "actor-surgeons", 2, 1), ("doctor", "actor-trust-executives", 3, 2),
        ("doctor", "actor-doctors", 1, 1), ("doctor", "actor-managers", 2, 2),
        ("nurse", "actor-frontline-staff", 2, 1), ("nurse", "actor-doctors", 2, 2), ("nurse", "actor-board", 1, 1),
        ("nurse", "actor-consultants", 1, 1), ("nurse", "actor-managers", 1, 1),
        ("manager", "actor-surgeons", 1, 1), ("manager", "actor-consultants", 1, 1),
        ("manager", "actor-frontline-staff", 1, 1), ("manager", "actor-board", 1, 1),
        ("manager", "actor-managers", 1, 1), ("manager", "actor-senior-colleagues", 1, 1),
    ])  # fmt: skip


def test_political_skills(store: MemoryStore) -> None:
    assert table(
        queries.run(store, "political-skills"), "band", "occupationLabel", "skill", "participants"
    ) == [
        ("band-11-20", "nurse", "skill-soft-power", 1),
        ("band-21-30", "doctor", "skill-building-the-case", 1),
        ("band-21-30", "doctor", "skill-negotiation", 1),
        ("band-over-30", "manager", "skill-diplomacy", 1),
        ("band-over-30", "manager", "skill-soft-intelligence", 1),
    ]


TRAJECTORY = ("pseudonym", "events", "stagesReached", "earlyImpressions", "awakening", "normalisation",
              "turningPoint", "strategicMastery", "inversions", "breaksOrder")  # fmt: skip


def test_stage_trajectories_flag_the_out_of_order_participant(store: MemoryStore) -> None:
    rows = table(queries.run(store, "stage-trajectories"), *TRAJECTORY)
    assert rows == [
        ("D1", 3, 3, None, 8, None, 18, 22, 0, False),
        ("D2", 2, 2, None, 6, None, 5, None, 1, True),
        ("M1", 2, 2, None, 4, None, None, 25, 0, False),
        ("M2", 2, 2, 1, 4, None, None, None, 0, False),
        ("N1", 3, 3, None, 3, None, 10, 15, 0, False),
        ("N2", 1, 1, None, 2, None, None, None, 0, False),
        ("N3", 1, 1, None, 5, None, None, None, 0, False),
    ]  # fmt: skip


def _events(*events: tuple[str, str, int]) -> list[ox.Quad]:
    """Activation events (participant, stage, career year) of participants of a tiny study."""
    graph, hmp = ox.NamedNode(ID + "graph"), lambda name: ox.NamedNode(HMP + name)
    quads, seen = [], set()
    for n, (who, stage, year) in enumerate(events):
        participant, event = ox.NamedNode(ID + "participant/" + who), ox.NamedNode(f"{ID}event/{n}")
        if who not in seen:
            seen.add(who)
            quads += [ox.Quad(participant, hmp("pseudonym"), ox.Literal(who), graph),
                      ox.Quad(participant, hmp("primaryOccupation"), hmp("occupation-nurse"), graph)]  # fmt: skip
        quads += [ox.Quad(event, hmp("ofParticipant"), participant, graph),
                  ox.Quad(event, hmp("stage"), hmp("stage-" + stage), graph),
                  ox.Quad(event, hmp("careerYear"), ox.Literal(str(year), datatype=ox.NamedNode(XSD + "integer")), graph)]  # fmt: skip
    return quads


@pytest.mark.parametrize("engine", [MemoryStore, RdflibStore])
def test_stage_trajectories_count_each_stage_from_its_first_evidence(engine: Any) -> None:
    """A stage counts from the first career year that evidences it; a stage never evidenced is empty
    and breaks no order; every pair of stages first reached in reverse order is one inversion."""
    study = _events(
        ("A", "awakening", 3), ("A", "turning-point", 7), ("A", "awakening", 12),  # awakening again later: in order
        ("B", "turning-point", 4),  # only a later stage: nothing to break
        ("C", "strategic-mastery", 2), ("C", "normalisation", 5), ("C", "early-impressions", 9),
        ("D", "awakening", 1500),  # no "not evidenced" stand-in year can clash with a real one
    )  # fmt: skip
    rows = table(queries.run(engine(study + load_quads([ONTOLOGY])), "stage-trajectories"), *TRAJECTORY)
    assert rows == [
        ("A", 3, 2, None, 3, None, 7, None, 0, False),
        ("B", 1, 1, None, None, None, 4, None, 0, False),
        ("C", 3, 3, 9, None, 5, None, 2, 3, True),
        ("D", 1, 1, None, 1500, None, None, None, 0, False),
    ]  # fmt: skip


def test_participant_trajectory_is_one_participants_events_in_career_order(store: MemoryStore) -> None:
    columns = ("pseudonym", "event", "careerYear", "stage", "stageOrder", "careerStage", "excerpts")
    assert table(queries.run(store, "participant-trajectory", {"participant": "D2"}), *columns) == [
        ("D2", "event/ED2-1", 5, "stage-turning-point", 4, "career-stage-early", 1),
        ("D2", "event/ED2-2", 6, "stage-awakening", 2, "career-stage-early", 1),
    ]  # the fixture's EVENTS: D2's turning point (year 5) comes before their awakening (year 6)
    by_iri = queries.run(store, "participant-trajectory", {"participant": ID + "participant/M2"})
    assert table(by_iri, "careerYear", "stage", "careerStageLabel") == [
        (1, "stage-early-impressions", "training"), (4, "stage-awakening", "early career"),
    ]  # fmt: skip
    with pytest.raises(QueryError, match="D1"):
        queries.run(store, "participant-trajectory", {"participant": "X9"})


def test_evidence_defaults_and_quotes_match_the_transcript(store: MemoryStore) -> None:
    result = queries.run(store, "evidence")  # defaults: awakening, nurse
    assert table(
        result, "excerpt", "pseudonym", "story", "event", "careerYear", "stageLabel", "occupationLabel"
    ) == [
        ("coding/c21", "N1", "story/SN1-1", "event/EN1-1", 3, "awakening and taking sides", "nurse"),
        ("coding/c31", "N2", "story/SN2-1", "event/EN2-1", 2, "awakening and taking sides", "nurse"),
        ("coding/c34", "N3", "story/SN3-1", "event/EN3-1", 5, "awakening and taking sides", "nurse"),
    ]
    texts = {r["transcript"].value: r["text"].value for r in store.select(
        "SELECT ?transcript ?text WHERE { ?transcript <https://w3id.org/hmp/ontology#fullText> ?text }")}  # fmt: skip
    for row in result.rows:
        assert texts[row["transcript"]][row["start"] : row["end"]] == row["quote"]
    # labels, local names and IRIs all name the same concept
    by_label = queries.run(
        store, "evidence", {"stage": "turning point", "occupation": HMP + "occupation-doctor"}
    )
    assert table(by_label, "excerpt") == [("coding/c05",), ("coding/c19",)]


def test_participant_profile_is_one_participant_without_full_text(store: MemoryStore) -> None:
    result = queries.run(store, "participant-profile", {"participant": "N2"})
    by_iri = queries.run(store, "participant-profile", {"participant": ID + "participant/N2"})
    assert Counter(map(str, result.triples)) == Counter(map(str, by_iri.triples))
    subjects = {short(t.subject.value) for t in result.triples}
    data_subjects = {s for s in subjects if "/" in s}  # concepts are bare local names
    assert data_subjects == {
        "participant/N2", "role-holding/N2-1", "interview/TN2", "transcript/TN2", "story/SN2-1", "event/EN2-1",
        *(f"coding/{c}{suffix}" for c in ("c31", "c32", "c33") for suffix in ("", "/target", "/target/position", "/target/quote")),
    }  # fmt: skip
    predicates = {t.predicate.value for t in result.triples}
    assert HMP + "fullText" not in predicates
    facts = {
        (short(t.subject.value), short(t.predicate.value), short(t.object.value)) for t in result.triples
    }
    assert ("participant/N2", "primaryOccupation", "occupation-nurse") in facts
    assert ("event/EN2-1", "triggeredBy", "trigger-appraisal") in facts
    assert ("trigger-appraisal", "http://www.w3.org/2004/02/skos/core#prefLabel", "appraisal") in facts


def test_extra_queries(store: MemoryStore) -> None:
    assert table(queries.run(store, "awakening-career-stage"), "occupationLabel", "careerStage", "n") == [
        ("doctor", "career-stage-early", 2), ("manager", "career-stage-early", 2), ("nurse", "career-stage-early", 3),
    ]  # fmt: skip
    rows = table(
        queries.run(store, "stages-by-career-band"), "band", "stage", "n", "bandTotal", "sharePercent"
    )
    assert ("band-11-20", "stage-strategic-mastery", 1, 2, 50) in rows
    assert ("band-not-stated", "stage-early-impressions", 1, 1, 100) in rows
    assert len(rows) == 11


def test_results_serialise_as_standard_sparql_json_and_csv(store: MemoryStore) -> None:
    result = queries.run(store, "sample-composition")
    doc = result.to_sparql_json()
    assert doc["head"]["vars"] == ["occupation", "occupationLabel", "n"]
    first = doc["results"]["bindings"][0]
    assert first["occupation"] == {"type": "uri", "value": HMP + "occupation-nurse"}
    assert first["occupationLabel"] == {"type": "literal", "value": "nurse", "xml:lang": "en-gb"}
    assert first["n"] == {
        "type": "literal",
        "value": "3",
        "datatype": "http://www.w3.org/2001/XMLSchema#integer",
    }
    assert result.to_csv().splitlines()[1] == f"{HMP}occupation-nurse,nurse,3"


@pytest.mark.parametrize(
    ("header", "where", "problem"),
    [
        (
            "#+ summary: fine\n#+ description: One row: per participant\n",
            "line 2, column 24",
            "mapping values",
        ),
        ("#+ summary: fine\n#+ tags:\n#+   - a\n#+  - b\n", "line 4", "not valid YAML"),
        ("#+ - just\n#+ - a list\n", "bad.rq", "not a YAML mapping"),
    ],
)
def test_a_header_that_is_not_yaml_names_the_file_line_and_column(
    header: str, where: str, problem: str, tmp_path: Path
) -> None:
    (tmp_path / "bad.rq").write_text(header + "SELECT * WHERE { ?s ?p ?o }\n", encoding="utf-8")
    with pytest.raises(QueryError) as caught:
        queries.catalogue(tmp_path)
    message = str(caught.value)
    assert str(tmp_path / "bad.rq") in message and where in message and problem in message
    assert "#+ key: value" in message  # what would be accepted


# --- engine independence ---------------------------------------------------------------------


def _params(name: str) -> dict[str, str] | None:
    return {"participant": "D1"} if any(p.type == "participant" for p in queries.get(name).params) else None


def _normalised(result: queries.QueryResult) -> Counter[tuple[tuple[str, Any], ...]]:
    return Counter(tuple(sorted(row.items())) for row in result.rows)


@pytest.mark.parametrize("name", [q.name for q in queries.catalogue()])
def test_same_results_on_pyoxigraph_and_rdflib(
    name: str, store: MemoryStore, rdflib_store: RdflibStore
) -> None:
    ours, theirs = queries.run(store, name, _params(name)), queries.run(rdflib_store, name, _params(name))
    if ours.form == "construct":
        g1, g2 = Graph(), Graph()
        for graph, result in ((g1, ours), (g2, theirs)):
            for t in result.triples:
                graph.add((to_rdflib(t.subject), to_rdflib(t.predicate), to_rdflib(t.object)))  # type: ignore[arg-type]
        assert len(g1) > 50 and isomorphic(g1, g2)
    else:
        assert ours.rows and _normalised(ours) == _normalised(theirs)


# --- injection -------------------------------------------------------------------------------

HOSTILE = [
    'awakening" } ; DROP ALL ; #',
    "} ; DROP ALL ; #",
    "<x> } UNION { ?s ?p ?o }",
    "awakening\n} UNION { ?s ?p ?o",
    "'; DELETE WHERE { ?s ?p ?o } #",
    "{}",
    "x" * 10_000,
    "https://w3id.org/hmp/ontology#stage-awakening> } UNION { ?s ?p ?o . <x",
    "https://example.org/x> ?p ?o } #",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_parameter_values_cannot_change_a_query(value: str, store: MemoryStore) -> None:
    before = len(store.quads())
    for name, param in (
        ("evidence", "stage"),
        ("evidence", "occupation"),
        ("participant-profile", "participant"),
        ("participant-trajectory", "participant"),
    ):
        try:
            result = queries.run(store, name, {param: value})
        except QueryError as error:
            assert "expected" in str(error)  # the error lists what is accepted
        else:  # only values that name a real concept/participant get through, bound as terms
            benign = queries.run(store, name, {param: "awakening" if param == "stage" else "nurse"})
            assert _normalised(result) == _normalised(benign)
    assert len(store.quads()) == before


def test_parameters_reach_the_store_only_as_terms(store: MemoryStore) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    class Spy:
        def select(self, sparql: str, *, substitutions: Any = None, timeout: Any = None) -> Any:
            seen.append((sparql, dict(substitutions or {})))
            return store.select(sparql, substitutions=substitutions)

        def ask(self, sparql: str, *, substitutions: Any = None, timeout: Any = None) -> bool:
            seen.append((sparql, dict(substitutions or {})))
            return store.ask(sparql, substitutions=substitutions)

        def construct(self, sparql: str, *, substitutions: Any = None, timeout: Any = None) -> Any:
            seen.append((sparql, dict(substitutions or {})))
            return store.construct(sparql, substitutions=substitutions)

    queries.run(Spy(), "evidence", {"stage": "Turning Point", "occupation": "doctor"})
    queries.run(Spy(), "participant-profile", {"participant": "N1"})
    texts = {q.text for q in queries.catalogue()}
    for sparql, subs in seen:
        assert "Turning" not in sparql and '"N1"' not in sparql
        assert all(isinstance(v, ox.NamedNode | ox.Literal) for v in subs.values())
    assert seen[0][1] == {
        "_stage": ox.NamedNode(HMP + "stage-turning-point"),
        "_occupation": ox.NamedNode(HMP + "occupation-doctor"),
    }
    assert seen[0][0] in texts and seen[-1][0] in texts


# --- findings graph --------------------------------------------------------------------------


def test_findings_graph_links_every_claim_to_its_query() -> None:
    graph = ox.Store()
    graph.extend(
        ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(queries.FINDINGS_GRAPH))
        for t in queries.findings_graph()
    )
    rows = list(graph.query(
        """PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX prov: <http://www.w3.org/ns/prov#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
        SELECT ?name ?claim ?section ?text WHERE {
          ?finding a prov:Entity ; dcterms:description ?claim ; dcterms:source ?section ; rdfs:seeAlso ?query .
          ?query a prov:Plan ; rdfs:label ?name ; rdf:value ?text ; dcterms:subject ?finding . }""",
        use_default_graph_as_union=True,
    ))  # fmt: skip
    got = {r["name"].value: (r["claim"].value, r["section"].value, r["text"].value) for r in rows}
    assert set(got) == {q.name for q in queries.catalogue()}
    assert "29 managers, 21 doctors and 15 nurses" in got["sample-composition"][0]
    assert got["sample-composition"][1] == "The study"
    assert got["evidence"][2] == queries.get("evidence").text
    assert "prov:Entity" in queries.findings_turtle()


def test_concept_lookup_used_for_parameters_is_the_shared_index() -> None:
    assert concept_index().lookup("stage", "awakening") is not None
