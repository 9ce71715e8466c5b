"""HermiT (through owlready2) on the RDF/XML release: consistent, and it classifies participants.

HermiT runs in Java and takes seconds, so one module-scoped world is reasoned over once and every
assertion reads from it. owlready2 cannot read Turtle: the fixtures are converted to RDF/XML first.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import owlready2
import pytest
from rdflib import Graph

from kg._paths import ONTOLOGY_OWL
from kg.release import HMP_NS

DATA = Path(__file__).parent / "data" / "ontology"
TEST_ID = "https://w3id.org/hmp/id/reasoner-test/"
DEFINED = (
    "DoctorParticipant",
    "NurseParticipant",
    "ManagerParticipant",
    "ClinicianParticipant",
    "HybridProfessionalManager",
)

pytestmark = pytest.mark.skipif(
    shutil.which("java") is None,
    reason="HermiT needs java on PATH (`make java` installs Debian's default-jre-headless)",
)


def _as_rdfxml(turtle: Path, directory: Path) -> Path:
    target = directory / (turtle.stem + ".owl")
    Graph().parse(turtle, format="turtle").serialize(target, format="xml")
    return target


def _load(world: owlready2.World, path: Path) -> None:
    world.get_ontology("file://" + str(path)).load()


@pytest.fixture(scope="module")
def reasoned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[owlready2.World]:
    directory = tmp_path_factory.mktemp("reasoner")
    world = owlready2.World()
    _load(world, ONTOLOGY_OWL)
    _load(world, _as_rdfxml(DATA / "individuals.ttl", directory))
    owlready2.sync_reasoner(world, infer_property_values=False, debug=0)
    yield world
    world.close()


def _defined_memberships(world: owlready2.World, local: str) -> set[str]:
    individual = world[TEST_ID + local]
    assert individual is not None, local
    names = {cls.iri.removeprefix(HMP_NS) for cls in individual.INDIRECT_is_a if hasattr(cls, "iri")}
    return names & set(DEFINED)


def test_hermit_finds_the_ontology_and_fixture_consistent(reasoned: owlready2.World) -> None:
    assert list(reasoned.inconsistent_classes()) == []
    assert reasoned[HMP_NS + "HybridProfessionalManager"] is not None


def test_doctor_medical_director_is_classified_as_hybrid(reasoned: owlready2.World) -> None:
    assert _defined_memberships(reasoned, "participant-doctor") == {
        "DoctorParticipant",
        "ClinicianParticipant",
        "HybridProfessionalManager",
    }


def test_staff_nurse_is_a_nurse_clinician_but_not_hybrid(reasoned: owlready2.World) -> None:
    assert _defined_memberships(reasoned, "participant-staff-nurse") == {
        "NurseParticipant",
        "ClinicianParticipant",
    }


def test_nurse_matron_is_classified_as_hybrid(reasoned: owlready2.World) -> None:
    assert _defined_memberships(reasoned, "participant-matron") == {
        "NurseParticipant",
        "ClinicianParticipant",
        "HybridProfessionalManager",
    }


def test_manager_is_a_manager_participant_and_not_hybrid(reasoned: owlready2.World) -> None:
    assert _defined_memberships(reasoned, "participant-manager") == {"ManagerParticipant"}


def test_leadership_role_holdings_are_inferred_from_the_role_type(reasoned: owlready2.World) -> None:
    leadership = reasoned[HMP_NS + "LeadershipRoleHolding"]
    inferred = {ind.iri.removeprefix(TEST_ID) for ind in leadership.instances()}
    assert inferred == {"holding-doctor-2", "holding-matron-1", "holding-manager-1"}


def test_hermit_rejects_two_primary_occupations_across_the_clinical_divide(tmp_path: Path) -> None:
    world = owlready2.World()
    _load(world, ONTOLOGY_OWL)
    _load(world, _as_rdfxml(DATA / "inconsistent.ttl", tmp_path))
    with pytest.raises(owlready2.OwlReadyInconsistentOntologyError):
        owlready2.sync_reasoner(world, infer_property_values=False, debug=0)
    world.close()
