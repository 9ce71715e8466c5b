# ruff: noqa: E501  (SPARQL reads better unwrapped)
"""The bundled synthetic example study: regenerates byte for byte, stays small, and reproduces the
published figures and the synthetic ground truth *through the store and SPARQL* (not the CSVs)."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from kg._paths import EXAMPLE_STUDY
from kg.synth import CANONICAL_SEED, generate

HMP = str(Path(sys.executable).with_name("hmp"))
PREFIXES = """
PREFIX hmp: <https://w3id.org/hmp/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
"""


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "README.md"
    }


def test_committed_example_equals_a_fresh_generation(tmp_path: Path) -> None:
    generate(65, CANONICAL_SEED, tmp_path / "example-study")
    assert _tree(tmp_path / "example-study") == _tree(EXAMPLE_STUDY)


def test_example_is_small_and_labelled_synthetic() -> None:
    size = sum(p.stat().st_size for p in EXAMPLE_STUDY.rglob("*") if p.is_file())
    assert size < 2_500_000
    marker = "synthetic; shaped on published aggregates; not empirical data"
    assert marker in (EXAMPLE_STUDY / "study.yaml").read_text()
    assert marker.capitalize() in (EXAMPLE_STUDY / "README.md").read_text()


def test_transcripts_vary_like_people_not_a_template() -> None:
    sentences: set[str] = set()
    for path in (EXAMPLE_STUDY / "transcripts").glob("*.txt"):
        for line in path.read_text().splitlines():
            if line.startswith("P"):
                sentences.update(s.strip() for s in line.split(": ", 1)[1].split(". "))
    assert len(sentences) > 500


# -- through the store --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from kg.stores.oxigraph import OxigraphStore

    where = tmp_path_factory.mktemp("example-store") / "store"
    done = subprocess.run(
        [HMP, "build", str(EXAMPLE_STUDY), "--store", str(where)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return OxigraphStore(where, read_only=True).raw  # the active generation of the store


def _rows(store, query: str) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    result = store.query(PREFIXES + query, use_default_graph_as_union=True)
    return [tuple(term.value if term is not None else "" for term in row) for row in result]


def _count_by(store, query: str) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {key.rsplit("#", 1)[-1]: int(n) for key, n in _rows(store, query)}


def test_primary_occupations(store) -> None:  # type: ignore[no-untyped-def]
    assert _count_by(
        store,
        "SELECT ?o (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a hmp:Participant ; hmp:primaryOccupation ?o } GROUP BY ?o",
    ) == {"occupation-manager": 29, "occupation-doctor": 21, "occupation-nurse": 15}


def test_clinicians_in_leadership(store) -> None:  # type: ignore[no-untyped-def]
    leaders = _rows(
        store,
        """SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE {
             ?p hmp:primaryOccupation hmp:occupation-doctor ; hmp:hasRoleHolding ?h .
             ?h hmp:roleType ?r . ?r a hmp:LeadershipRoleType }""",
    )
    assert leaders == [("9",)]
    nurses = _count_by(
        store,
        """SELECT ?r (COUNT(DISTINCT ?p) AS ?n) WHERE {
             ?p hmp:primaryOccupation hmp:occupation-nurse ; hmp:hasRoleHolding ?h .
             ?h hmp:roleType ?r . ?r a hmp:LeadershipRoleType } GROUP BY ?r""",
    )
    assert nurses == {
        "role-quality-improvement-lead": 6,
        "role-departmental-manager": 4,
        "role-senior-hospital-leader": 5,
    }


def test_current_care_settings(store) -> None:  # type: ignore[no-untyped-def]
    assert _count_by(
        store, "SELECT ?s (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hmp:currentCareSetting ?s } GROUP BY ?s"
    ) == {
        "setting-general-hospital": 27,
        "setting-specialist-hospital": 5,
        "setting-primary-care": 14,
        "setting-community-care": 3,
        "setting-regional-planning": 8,
        "setting-national-leadership": 8,
    }


def test_career_length_bands(store) -> None:  # type: ignore[no-untyped-def]
    assert _count_by(
        store, "SELECT ?b (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p hmp:careerLengthBand ?b } GROUP BY ?b"
    ) == {"band-under-10": 5, "band-11-20": 5, "band-21-30": 28, "band-over-30": 19, "band-not-stated": 8}


def test_interview_period_and_story_count(store) -> None:  # type: ignore[no-untyped-def]
    ((low, high, n),) = _rows(
        store,
        """SELECT (MIN(?t) AS ?low) (MAX(?t) AS ?high) (COUNT(?i) AS ?n) WHERE {
             ?i a hmp:Interview ; prov:startedAtTime ?t }""",
    )
    assert n == "65" and low >= "2018-01-01" and high < "2021-01-01"
    ((stories,),) = _rows(store, "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a hmp:Story }")
    assert int(stories) > 100


# -- the synthetic ground truth ---------------------------------------------------------------------


def _event_years(store, stage: str) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    years: dict[str, list[int]] = {}
    for occ, year in _rows(
        store,
        f"""SELECT ?o ?y WHERE {{ ?e hmp:stage hmp:{stage} ; hmp:careerYear ?y ; hmp:ofParticipant ?p .
              ?p hmp:primaryOccupation ?o }}""",
    ):
        years.setdefault(occ.rsplit("-", 1)[-1], []).append(int(year))
    return years


def test_nurses_then_managers_awaken_earlier_than_doctors(store) -> None:  # type: ignore[no-untyped-def]
    years = _event_years(store, "stage-awakening")
    medians = {occ: statistics.median(v) for occ, v in years.items()}
    assert medians["nurse"] < medians["manager"] < medians["doctor"], medians


def _codes_with(store, anchor: str, where: str = "") -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Codes on excerpts of the same transcript whose span lies inside an excerpt coded ``anchor``."""
    return _count_by(
        store,
        f"""SELECT ?code (COUNT(DISTINCT ?x) AS ?n) WHERE {{
          ?a oa:hasBody hmp:{anchor} ; oa:hasTarget ?at .
          ?at oa:hasSource ?t ; oa:hasSelector ?as . ?as a oa:TextPositionSelector ; oa:start ?s0 ; oa:end ?e0 .
          ?x oa:hasBody ?code ; oa:hasTarget ?xt .
          ?xt oa:hasSource ?t ; oa:hasSelector ?xs . ?xs a oa:TextPositionSelector ; oa:start ?s1 ; oa:end ?e1 .
          FILTER (?s1 >= ?s0 && ?e1 <= ?e0 && ?x != ?a)
          ?t hmp:narrator ?p . {where}
        }} GROUP BY ?code""",
    )


def test_early_encounters_are_confusing_and_illegitimate(store) -> None:  # type: ignore[no-untyped-def]
    codes = _codes_with(store, "stage-early-impressions")
    assert codes["emotion-confusion"] > 40 and codes["moral-illegitimate"] > 40


def test_emotions_shift_from_shock_to_distress_to_pride(store) -> None:  # type: ignore[no-untyped-def]
    for stage, emotion in (
        ("stage-awakening", "emotion-shock"),
        ("stage-turning-point", "emotion-distress"),
        ("stage-strategic-mastery", "emotion-pride"),
    ):
        codes = _codes_with(store, stage)
        emotions = {c: n for c, n in codes.items() if c.startswith("emotion-")}
        assert max(emotions, key=emotions.__getitem__) == emotion, (stage, emotions)


def test_doctors_awakening_triggers_and_senior_colleagues(store) -> None:  # type: ignore[no-untyped-def]
    triggers = _count_by(
        store,
        """SELECT ?g (COUNT(DISTINCT ?e) AS ?n) WHERE { ?e hmp:stage hmp:stage-awakening ; hmp:triggeredBy ?g ;
             hmp:ofParticipant/hmp:primaryOccupation hmp:occupation-doctor } GROUP BY ?g""",
    )
    assert set(triggers) <= {
        "trigger-specialist-training",
        "trigger-permanent-post",
        "trigger-senior-colleagues",
    }
    codes = _codes_with(store, "stage-awakening", "?p hmp:primaryOccupation hmp:occupation-doctor .")
    assert codes["actor-senior-colleagues"] > 10 and codes["commitment-peers"] > 10
    for occ, expected in (
        ("nurse", {"trigger-promotion-into-leadership", "trigger-appraisal"}),
        ("manager", {"trigger-first-management-post", "trigger-entering-senior-management"}),
    ):
        found = _count_by(
            store,
            f"""SELECT ?g (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e hmp:stage hmp:stage-awakening ;
                 hmp:triggeredBy ?g ; hmp:ofParticipant/hmp:primaryOccupation hmp:occupation-{occ} }} GROUP BY ?g""",
        )
        assert set(found) <= expected, (occ, found)


def test_most_participants_describe_a_turning_point(store) -> None:  # type: ignore[no-untyped-def]
    ((n,),) = _rows(
        store,
        "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?e hmp:stage hmp:stage-turning-point ; hmp:ofParticipant ?p }",
    )
    assert int(n) >= 0.8 * 65


def test_hybrids_are_torn_or_change_sides(store) -> None:  # type: ignore[no-untyped-def]
    loyalty = _count_by(
        store,
        """SELECT ?code (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x oa:hasBody ?code ; oa:hasTarget/oa:hasSource ?t .
             ?t hmp:narrator ?p . FILTER (STRSTARTS(STR(?code), STR(hmp:loyalty-)))
             FILTER NOT EXISTS { ?p a hmp:HybridProfessionalManager } } GROUP BY ?code""",
    )
    assert loyalty == {}  # only hybrids carry loyalty codes
    codes = _codes_with(store, "stage-turning-point", "?p a hmp:HybridProfessionalManager .")
    assert codes["loyalty-torn"] + codes["loyalty-changing-sides"] > codes.get("loyalty-balancing", 0)


def test_senior_nurses_values_based_managers_instrumental(store) -> None:  # type: ignore[no-untyped-def]
    for occ, stance in (("nurse", "moral-values-based"), ("manager", "moral-neutral-instrumental")):
        codes = _codes_with(
            store, "stage-strategic-mastery", f"?p hmp:primaryOccupation hmp:occupation-{occ} ."
        )
        morals = {c: n for c, n in codes.items() if c.startswith("moral-")}
        assert max(morals, key=morals.__getitem__) == stance, (occ, morals)


def test_managers_commitment_is_the_process_of_managing(store) -> None:  # type: ignore[no-untyped-def]
    commitments = _count_by(
        store,
        """SELECT ?code (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x oa:hasBody ?code ; oa:hasTarget/oa:hasSource ?t .
             ?t hmp:narrator/hmp:primaryOccupation hmp:occupation-manager .
             FILTER (STRSTARTS(STR(?code), STR(hmp:commitment-))) } GROUP BY ?code""",
    )
    assert max(commitments, key=commitments.__getitem__) == "commitment-managing-process", commitments


def test_every_participant_has_events_within_their_career(store) -> None:  # type: ignore[no-untyped-def]
    ((missing,),) = _rows(
        store,
        """SELECT (COUNT(?p) AS ?n) WHERE { ?p a hmp:Participant .
             FILTER NOT EXISTS { ?e hmp:ofParticipant ?p } }""",
    )
    assert missing == "0"
    ((beyond,),) = _rows(
        store,
        """SELECT (COUNT(?e) AS ?n) WHERE { ?e hmp:ofParticipant ?p ; hmp:careerYear ?y .
             ?p hmp:careerYears ?len FILTER (?y > ?len || ?y < 1) }""",
    )
    assert beyond == "0"
