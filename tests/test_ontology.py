"""The ontology: header, release in sync and isomorphic, catalog, vocabulary, checks, mappings, OWL 2 DL.

The reasoner (HermiT through owlready2) has its own module, tests/test_ontology_reasoner.py.
"""

from __future__ import annotations

import csv
import importlib.metadata
import io
from pathlib import Path

import defusedxml.ElementTree as ElementTree
import owlready2
import pytest
import yaml
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS
from typer.testing import CliRunner

from kg import release
from kg._paths import CHECKS_DIR, ONTOLOGY_DIR, ONTOLOGY_OWL, ONTOLOGY_TTL
from kg.cli import app
from kg.vocab import HMP

DATA = Path(__file__).parent / "data" / "ontology"
BROKEN = DATA / "broken.ttl"
SSSOM = ONTOLOGY_DIR / "mappings" / "hmp-occupations.sssom.tsv"
CATALOG_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"
ONTOLOGY_IRI = URIRef("https://w3id.org/hmp/ontology")
VANN = Namespace("http://purl.org/vocab/vann/")
MAPPING_PREDICATES = (SKOS.exactMatch, SKOS.closeMatch, SKOS.broadMatch, SKOS.narrowMatch)
BUILT_IN = (str(RDF), str(RDFS), str(OWL))


@pytest.fixture(scope="module")
def graph() -> Graph:
    return release.load_source(ONTOLOGY_TTL)


def ours(term: object) -> bool:
    return isinstance(term, URIRef) and str(term).startswith(release.HMP_NS)


# --- header ----------------------------------------------------------------------------------


def test_header_version_matches_the_package_version(graph: Graph) -> None:
    package_version = importlib.metadata.version("hmp-kg")
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in graph
    assert graph.value(ONTOLOGY_IRI, OWL.versionInfo) == Literal(package_version)
    assert graph.value(ONTOLOGY_IRI, OWL.versionIRI) == URIRef(f"{ONTOLOGY_IRI}/{package_version}")


def test_header_has_title_description_licence_creator_and_vann(graph: Graph) -> None:
    for annotation in (DCTERMS.title, DCTERMS.description, DCTERMS.creator):
        value = graph.value(ONTOLOGY_IRI, annotation)
        assert isinstance(value, Literal) and str(value).strip(), annotation
    assert graph.value(ONTOLOGY_IRI, DCTERMS.license) == URIRef(
        "https://creativecommons.org/licenses/by/4.0/"
    )
    assert graph.value(ONTOLOGY_IRI, VANN.preferredNamespacePrefix) == Literal("hmp")
    assert graph.value(ONTOLOGY_IRI, VANN.preferredNamespaceUri) == Literal(release.HMP_NS)


# --- the RDF/XML release -----------------------------------------------------------------------


def test_release_is_isomorphic_to_the_turtle_source(graph: Graph) -> None:
    released = Graph().parse(ONTOLOGY_OWL, format="xml")
    assert len(released) == len(graph)
    assert isomorphic(released, graph)


def test_release_file_is_what_release_generates_now(graph: Graph) -> None:
    """hmp.owl is generated, never edited: regenerating it from hmp.ttl changes nothing."""
    assert ONTOLOGY_OWL.read_text(encoding="utf-8") == release.to_rdfxml(graph), "run `make ontology`"


def test_release_writes_the_same_files_into_another_directory(tmp_path: Path) -> None:
    result = release.release(
        owl_path=tmp_path / "hmp.owl",
        vocab_path=tmp_path / "vocab.py",
        catalog_path=tmp_path / "catalog-v001.xml",
    )
    assert result.owl_path.read_bytes() == ONTOLOGY_OWL.read_bytes()
    assert result.vocab_path.read_bytes() == release.VOCAB_PY.read_bytes()
    assert result.catalog_path.read_bytes() == release.ONTOLOGY_CATALOG.read_bytes()
    assert result.terms == len(release.ontology_terms(release.load_source()))


def test_owlready2_loads_the_release_offline() -> None:
    world = owlready2.World()
    ontology = world.get_ontology("file://" + str(ONTOLOGY_OWL)).load()
    assert ontology.base_iri == release.HMP_NS
    hybrid = world[release.HMP_NS + "HybridProfessionalManager"]
    assert isinstance(hybrid, owlready2.ThingClass)
    assert world[release.HMP_NS + "primaryOccupation"] in set(world.object_properties())
    doctor = world[release.HMP_NS + "occupation-doctor"]
    assert world[release.HMP_NS + "ClinicalOccupation"] in doctor.is_a
    world.close()


# --- Protégé catalog -----------------------------------------------------------------------------


def test_catalog_maps_ontology_and_version_iri_to_local_files(graph: Graph) -> None:
    path = release.ONTOLOGY_CATALOG
    root = ElementTree.parse(path).getroot()
    assert root.tag == f"{CATALOG_NS}catalog"
    assert root.get("prefer") == "public"
    entries = {uri.get("name"): uri.get("uri") for uri in root.iter(f"{CATALOG_NS}uri")}
    version_iri = str(graph.value(ONTOLOGY_IRI, OWL.versionIRI))
    assert entries == {str(ONTOLOGY_IRI): "hmp.owl", version_iri: "hmp.owl"}
    named = set(entries.values())
    local_ontologies = {p.name for p in ONTOLOGY_DIR.glob("*.owl")}
    assert named == local_ontologies, "every local ontology file is named, and nothing else"
    for name in named:
        assert (path.parent / name).is_file(), name
    assert path.read_text(encoding="utf-8") == release.catalog_xml(graph, "hmp.owl"), "run `make ontology`"


# --- generated vocabulary ------------------------------------------------------------------------


def test_vocab_module_is_in_sync_with_the_ontology(graph: Graph) -> None:
    assert release.VOCAB_PY.read_text(encoding="utf-8") == release.vocab_source(graph), "run `make ontology`"


def test_vocab_names_every_term_of_ours(graph: Graph) -> None:
    terms = release.ontology_terms(graph)
    assert len(terms) > 150
    for term in terms:
        expected = URIRef(term.iri)
        assert HMP[term.local] == expected
        if term.is_identifier:
            assert getattr(HMP, term.local) == expected
    assert HMP.HybridProfessionalManager == URIRef(release.HMP_NS + "HybridProfessionalManager")
    assert HMP["occupation-doctor"] == URIRef(release.HMP_NS + "occupation-doctor")
    assert HMP["stage-awakening"] in set(graph.subjects(RDF.type, SKOS.Concept))


def test_vocab_unknown_terms_raise() -> None:
    with pytest.raises(AttributeError, match="NoSuchTerm"):
        _ = HMP.NoSuchTerm
    with pytest.raises(AttributeError, match="occupation-astronaut"):
        _ = HMP["occupation-astronaut"]


# --- integrity checks ----------------------------------------------------------------------------

CHECKS = release.check_files()

# What each check reports on tests/data/ontology/broken.ttl: the first column of every row.
EXPECTED_ON_BROKEN: dict[str, set[str]] = {
    "ontology-missing-label": {"NoLabel"},
    "ontology-duplicate-label": {"TwinA"},
    "ontology-missing-definition": {"noDefinition"},
    "ontology-missing-ontology-title": {"ONTOLOGY"},
    "ontology-missing-ontology-description": {"ONTOLOGY"},
    "ontology-missing-ontology-license": {"ONTOLOGY"},
    "ontology-label-whitespace": {"Spacey"},
    "ontology-missing-source": {"noSource"},
    "ontology-orphan-concept": {"orphan"},
    "ontology-concept-without-top": {"loose"},
}


def _local(cell: str) -> str:
    return "ONTOLOGY" if cell == str(ONTOLOGY_IRI) else cell.removeprefix(release.HMP_NS)


def test_every_ontology_check_has_a_summary_and_a_broken_case() -> None:
    assert {path.stem for path in CHECKS} == set(EXPECTED_ON_BROKEN)
    for path in CHECKS:
        assert path.parent == CHECKS_DIR
        assert path.read_text(encoding="utf-8").startswith("#+ summary:"), path.name
        assert release.check_summary(path)


@pytest.mark.parametrize("path", CHECKS, ids=lambda path: path.stem)
def test_check_returns_no_rows_on_the_ontology(graph: Graph, path: Path) -> None:
    result = release.run_check(graph, path)
    assert result.rows == (), f"{path.name}: {result.rows}"


@pytest.mark.parametrize("path", CHECKS, ids=lambda path: path.stem)
def test_check_fires_on_the_broken_fixture(path: Path) -> None:
    broken = Graph().parse(BROKEN, format="turtle")
    result = release.run_check(broken, path)
    assert {_local(row[0]) for row in result.rows} == EXPECTED_ON_BROKEN[path.stem]


def test_duplicate_label_reports_both_terms_and_ignores_other_language_tags() -> None:
    broken = Graph().parse(BROKEN, format="turtle")
    result = release.run_check(broken, CHECKS_DIR / "ontology-duplicate-label.rq")
    assert result.variables == ("term", "other", "label")
    assert result.rows == ((release.HMP_NS + "TwinA", release.HMP_NS + "TwinB", "twin"),)


def test_cli_check_passes_on_the_ontology_and_fails_on_the_broken_fixture() -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["ontology", "check"])
    assert good.exit_code == 0, good.output
    assert f"all {len(CHECKS)} checks passed" in good.output
    bad = runner.invoke(app, ["ontology", "check", "--source", str(BROKEN)])
    assert bad.exit_code == 1
    assert "ontology-orphan-concept" in bad.output
    assert "hmp:orphan" in bad.output


# --- stages of political activation ---------------------------------------------------------------


def test_stages_are_ordered_one_to_five_and_precedes_is_a_strict_total_order(graph: Graph) -> None:
    stages = set(graph.subjects(RDF.type, HMP.ActivationStage))
    order = {stage: int(graph.value(stage, HMP.stageOrder)) for stage in stages}  # type: ignore[arg-type]
    assert sorted(order.values()) == [1, 2, 3, 4, 5]
    assert order[HMP["stage-early-impressions"]] == 1
    assert order[HMP["stage-strategic-mastery"]] == 5
    rows = graph.query(
        "SELECT ?a ?b WHERE { ?a hmp:precedes+ ?b }", initNs={"hmp": Namespace(release.HMP_NS)}
    )
    closure = {(row[0], row[1]) for row in rows}  # type: ignore[index]
    expected = {(a, b) for a in stages for b in stages if order[a] < order[b]}
    assert closure == expected  # irreflexive, antisymmetric, total, and agrees with the numbers
    assert OWL.TransitiveProperty in set(graph.objects(HMP.precedes, RDF.type))


# --- occupation mappings (SSSOM) -------------------------------------------------------------------


def _read_sssom(path: Path) -> tuple[dict[str, object], list[dict[str, str]]]:
    text = path.read_text(encoding="utf-8")
    header = "\n".join(line[2:] for line in text.splitlines() if line.startswith("# "))
    metadata = yaml.safe_load(header)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return metadata, list(csv.DictReader(io.StringIO(body), delimiter="\t"))


def test_sssom_rows_equal_the_skos_mappings_in_the_ontology(graph: Graph) -> None:
    metadata, rows = _read_sssom(SSSOM)
    curie_map = metadata["curie_map"]
    assert isinstance(curie_map, dict)
    assert metadata["license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert str(metadata["mapping_set_id"]).startswith("https://w3id.org/hmp/")

    def expand(curie: str) -> URIRef:
        prefix, local = curie.split(":", 1)
        return URIRef(curie_map[prefix] + local)

    in_table = set()
    for row in rows:
        assert row["mapping_justification"] == "semapv:ManualMappingCuration"
        assert row["comment"].strip(), "each mapping says where its identifier was verified"
        subject = expand(row["subject_id"])
        assert graph.value(subject, RDFS.label) == Literal(row["subject_label"], lang="en-GB")
        in_table.add((subject, expand(row["predicate_id"]), expand(row["object_id"])))
    in_ontology = {(s, p, o) for p in MAPPING_PREDICATES for s, o in graph.subject_objects(p) if ours(s)}
    assert in_table == in_ontology


def test_occupations_map_to_isco_08(graph: Graph) -> None:
    isco = Namespace("http://data.europa.eu/esco/isco/")
    doctor, nurse, manager = (HMP["occupation-doctor"], HMP["occupation-nurse"], HMP["occupation-manager"])
    assert {isco.C2211, isco.C2212} <= set(graph.objects(doctor, SKOS.closeMatch))
    assert isco.C2221 in set(graph.objects(nurse, SKOS.exactMatch))
    assert isco.C1342 in set(graph.objects(manager, SKOS.closeMatch))


# --- OWL 2 DL sanity ----------------------------------------------------------------------------------


def test_every_property_used_is_declared_with_exactly_one_kind(graph: Graph) -> None:
    kinds = (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    declared = {kind: set(graph.subjects(RDF.type, kind)) for kind in kinds}
    used = {p for p in graph.predicates() if not str(p).startswith(BUILT_IN)}
    undeclared = {p for p in used if not any(p in members for members in declared.values())}
    assert undeclared == set()
    for index, kind in enumerate(kinds):
        for other in kinds[index + 1 :]:
            assert declared[kind] & declared[other] == set(), (kind, other)


def test_every_class_used_as_a_type_is_declared(graph: Graph) -> None:
    classes = set(graph.subjects(RDF.type, OWL.Class))
    used = {
        o for o in graph.objects(None, RDF.type) if isinstance(o, URIRef) and not str(o).startswith(BUILT_IN)
    }
    assert used - classes == set()


def test_the_hybrid_and_occupation_classes_are_defined_not_primitive(graph: Graph) -> None:
    for name in (
        "HybridProfessionalManager",
        "DoctorParticipant",
        "NurseParticipant",
        "ManagerParticipant",
        "ClinicianParticipant",
        "LeadershipRoleHolding",
    ):
        assert graph.value(HMP[name], OWL.equivalentClass) is not None, name


def test_role_holdings_are_aligned_with_owl_time(graph: Graph) -> None:
    rows = graph.query(
        """SELECT ?interval WHERE {
             hmp:RoleHolding rdfs:subClassOf
               [ owl:onProperty org:memberDuring ; owl:allValuesFrom ?interval ] }""",
        initNs={
            "hmp": Namespace(release.HMP_NS),
            "rdfs": RDFS,
            "owl": OWL,
            "org": Namespace("http://www.w3.org/ns/org#"),
        },
    )
    assert [row[0] for row in rows] == [URIRef("http://www.w3.org/2006/time#Interval")]  # type: ignore[index]
