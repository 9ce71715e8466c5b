"""The lifter: DATA-MODEL.md shapes, determinism, selectors, defined classes, derived events, snapshot."""

from __future__ import annotations

import os
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Dataset, Graph
from rdflib.compare import isomorphic

from kg.lift import HMP, ONTOLOGY_GRAPH, Lifter, lift_study, ontology_triples
from studybuilder import build_study

SNAPSHOT = Path(__file__).parent / "data" / "lift" / "demo.trig"
B = "https://w3id.org/hmp/id/demo"


def _store(study) -> ox.Store:
    store = ox.Store()
    for graph, triples in lift_study(study):
        store.extend(ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(graph)) for t in triples)
    return store


def _trig(study) -> bytes:
    return ox.serialize(
        (
            ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(g))
            for g, ts in lift_study(study)
            for t in ts
        ),
        format=ox.RdfFormat.N_QUADS,
    )


def _types(store: ox.Store, iri: str) -> set[str]:
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    return {
        q.object.value.removeprefix(HMP) for q in store.quads_for_pattern(ox.NamedNode(iri), rdf_type, None)
    }


def test_lifting_twice_gives_identical_triples(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first = sorted(_trig(build_study()).splitlines())
    second = sorted(_trig(build_study()).splitlines())
    assert first == second
    assert any(b"2023-11-14T22:13:20" in line for line in first)


def test_snapshot_is_isomorphic(monkeypatch: pytest.MonkeyPatch) -> None:
    """Regenerate on purpose with HMP_UPDATE_SNAPSHOTS=1."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    data = _trig(build_study())
    if os.environ.get("HMP_UPDATE_SNAPSHOTS") or not SNAPSHOT.exists():
        store = ox.Store()
        store.load(data, format=ox.RdfFormat.N_QUADS)
        SNAPSHOT.write_bytes(store.dump(format=ox.RdfFormat.TRIG) or b"")
    expected = Dataset()
    expected.parse(SNAPSHOT, format="trig")
    actual = Dataset()
    actual.parse(data=data.decode(), format="nquads")
    for context in expected.graphs():
        if len(context) == 0:
            continue
        other = actual.graph(context.identifier)
        assert isomorphic(Graph() + context, Graph() + other), f"graph {context.identifier} differs"
    assert len(expected) == len(actual)


def test_every_excerpt_quote_equals_the_text_slice() -> None:
    study = build_study()
    store = _store(study)
    rows = list(
        store.query(
            """PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX hmp: <https://w3id.org/hmp/ontology#>
            SELECT ?exact ?start ?end ?text ?prefix ?suffix WHERE {
              ?a oa:hasTarget ?t . ?t oa:hasSource ?src ; oa:hasSelector ?p , ?q .
              ?p oa:start ?start ; oa:end ?end . ?q oa:exact ?exact .
              OPTIONAL { ?q oa:prefix ?prefix } OPTIONAL { ?q oa:suffix ?suffix }
              ?src hmp:fullText ?text }""",
            use_default_graph_as_union=True,
        )
    )
    assert len(rows) == 6
    for row in rows:
        text, start, end = row["text"].value, int(row["start"].value), int(row["end"].value)
        assert text[start:end] == row["exact"].value
        assert text[max(0, start - 32) : start] == row["prefix"].value
        assert len(row["prefix"].value) <= 32 and len(row["suffix"].value) <= 32
        assert text[end : end + 32] == row["suffix"].value


def test_excerpt_shortcuts_repeat_the_target_source_and_its_narrator() -> None:
    """hmp:inTranscript / hmp:narratedBy on each excerpt equal what the target chain says."""
    store = _store(build_study())
    rows = list(
        store.query(
            """PREFIX oa: <http://www.w3.org/ns/oa#> PREFIX hmp: <https://w3id.org/hmp/ontology#>
            SELECT ?a ?t ?src ?p ?narrator WHERE {
              ?a a oa:Annotation ; oa:hasTarget/oa:hasSource ?src .
              OPTIONAL { ?a hmp:inTranscript ?t } OPTIONAL { ?a hmp:narratedBy ?p }
              ?src hmp:narrator ?narrator }""",
            use_default_graph_as_union=True,
        )
    )
    assert len(rows) == 6
    for row in rows:
        assert row["t"] == row["src"]
        assert row["p"] == row["narrator"]
    assert {str(row["narrator"].value).rsplit("/", 1)[1] for row in rows} == {"P01", "P02", "P03"}


def test_non_ascii_positions_are_code_points() -> None:
    store = _store(build_study())
    (row,) = store.query(
        """PREFIX oa: <http://www.w3.org/ns/oa#>
        SELECT ?exact WHERE { ?q oa:exact ?exact FILTER(CONTAINS(?exact, "naïvely")) }""",
        use_default_graph_as_union=True,
    )
    assert row["exact"].value.endswith("— naïvely")


def test_defined_classes_are_materialised_from_the_ontology_definitions() -> None:
    store = _store(build_study())
    assert _types(store, f"{B}/participant/P01") == {
        "Participant",
        "DoctorParticipant",
        "ClinicianParticipant",
        "HybridProfessionalManager",
    }
    assert _types(store, f"{B}/participant/P02") == {
        "Participant",
        "NurseParticipant",
        "ClinicianParticipant",
        "HybridProfessionalManager",  # matron is a LeadershipRoleType in the ontology
    }
    # A manager with a leadership role is not a hybrid: not a clinician.
    assert _types(store, f"{B}/participant/P03") == {"Participant", "ManagerParticipant"}
    assert _types(store, f"{B}/role-holding/P01-1") == {"RoleHolding"}  # consultant: clinical role
    assert _types(store, f"{B}/role-holding/P01-2") == {"RoleHolding", "LeadershipRoleHolding"}


def test_events_are_derived_from_stage_codings_when_the_study_has_none() -> None:
    store = _store(build_study())
    rows = {
        (r["e"].value.rsplit("/", 1)[-1], r["trigger"].value.removeprefix(HMP) if r["trigger"] else None)
        for r in store.query(
            """PREFIX hmp: <https://w3id.org/hmp/ontology#>
            SELECT ?e ?trigger WHERE { ?e a hmp:ActivationEvent OPTIONAL { ?e hmp:triggeredBy ?trigger } }""",
            use_default_graph_as_union=True,
        )
    }
    assert rows == {
        ("P01-stage-awakening", "trigger-permanent-post"),
        ("P01-stage-turning-point", "trigger-permanent-post"),
        ("P03-stage-awakening", None),
    }


def test_given_events_are_lifted_and_not_derived() -> None:
    store = _store(build_study(events=True))
    events = {q.subject.value for q in store.quads_for_pattern(None, ox.NamedNode(HMP + "stage"), None)}
    assert events == {f"{B}/event/E01"}


def test_unmapped_codes_become_study_concepts_in_the_metadata_graph() -> None:
    study = build_study()
    graphs = {
        g: ts for g, ts in lift_study(study) if g.endswith("/metadata") and any("code/" in str(t) for t in ts)
    }
    triples = [t for ts in graphs.values() for t in ts if t.subject.value == f"{B}/code/ward-politics"]
    preds = {t.predicate.value.rsplit("#", 1)[-1] for t in triples}
    assert {"type", "inScheme", "prefLabel", "definition"} <= preds


def test_graphs_follow_the_data_model() -> None:
    graphs = {g for g, _ in lift_study(build_study())}
    assert graphs == {
        f"https://w3id.org/hmp/graph/demo/{p}" for p in ("metadata", "codings", "fulltext", "provenance")
    }
    assert ONTOLOGY_GRAPH == "https://w3id.org/hmp/graph/ontology"
    assert len(ontology_triples()) > 1000


def test_full_text_is_only_in_the_fulltext_graph() -> None:
    for graph, triples in lift_study(build_study()):
        has_text = any(t.predicate.value == HMP + "fullText" for t in triples)
        assert has_text == graph.endswith("/fulltext")


def test_locations_map_focus_nodes_back_to_input_rows() -> None:
    lifter = Lifter(build_study())
    for _ in lifter.chunks():
        pass
    assert lifter.locations[f"{B}/participant/P02"].row == 3
    assert lifter.locations[f"{B}/coding/c002"].row == 3
    # a selector is found under its excerpt, the way validation reports locate a focus node
    from kg.validate import _locate

    location = _locate(f"{B}/coding/c002/target/position", lifter.locations)
    assert location is not None and location.row == 3
    assert f"{B}/coding/c002/target/position" not in lifter.locations  # one entry per excerpt


def test_metadata_comes_in_bounded_chunks_with_the_same_triples(monkeypatch: pytest.MonkeyPatch) -> None:
    """A study with many participants, stories and events is lifted in several metadata chunks."""
    import kg.lift

    def lifted() -> tuple[list[str], set[tuple[str, str, str, str]]]:
        parts, quads = [], set()
        for chunk in Lifter(build_study(events=True)).chunks():
            parts.append(chunk.part)
            for graph, triples in chunk.graphs.items():
                quads |= {(str(t.subject), str(t.predicate), str(t.object), graph) for t in triples}
        return parts, quads

    whole_parts, whole = lifted()
    monkeypatch.setattr(kg.lift, "METADATA_CHUNK_TRIPLES", 25)
    split_parts, split = lifted()
    assert whole_parts.count("metadata") == 1
    assert split_parts.count("metadata") > 3
    assert split_parts[: split_parts.count("metadata")] == ["metadata"] * split_parts.count("metadata")
    assert split == whole
