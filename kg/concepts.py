"""Look up ontology concepts by local name, IRI, label or synonym.

Readers use this to normalise what a researcher wrote (``doctor``, ``Doctor``, ``GP``,
``21-30``) to a concept of the right scheme, and to say which values would be accepted.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import lru_cache

from rdflib import RDF, RDFS, SKOS, Graph, Literal, URIRef

from kg._paths import ONTOLOGY_TTL

HMP_NS = "https://w3id.org/hmp/ontology#"

# Scheme keys used across the code base -> scheme local names in the ontology.
SCHEMES: dict[str, str] = {
    "occupation": "OccupationScheme",
    "role": "RoleScheme",
    "setting": "CareSettingScheme",
    "band": "CareerLengthBandScheme",
    "career-stage": "CareerStageScheme",
    "initiative": "ChangeInitiativeScheme",
    "stage": "ActivationStageScheme",
    "trigger": "ActivationTriggerScheme",
    "dimension": "IdentityWorkDimensionScheme",
    "moral": "MoralStanceScheme",
    "emotion": "EmotionScheme",
    "commitment": "CommitmentTargetScheme",
    "loyalty": "LoyaltyConflictScheme",
    "skill": "PoliticalSkillScheme",
    "actor": "ActorGroupScheme",
}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-–—/]+", " ", text.strip().lower().replace("'", "").replace("’", ""))


@dataclass(frozen=True)
class Concept:
    iri: str
    local: str
    label: str
    scheme: str  # scheme key (see SCHEMES)
    alt_labels: tuple[str, ...] = ()
    definition: str = ""
    notation: str | None = None


@dataclass
class ConceptIndex:
    concepts: dict[str, Concept] = field(default_factory=dict)  # by IRI
    #: scheme key -> the prefix its concepts' local names share ("career-stage-"), so the
    #: short name after it ("early") is accepted too
    prefixes: dict[str, str] = field(default_factory=dict)
    _by_key: dict[tuple[str, str], Concept] = field(default_factory=dict)

    def add(self, concept: Concept) -> None:
        self.concepts[concept.iri] = concept
        suffix = concept.local.removeprefix(self.prefixes.get(concept.scheme, ""))
        keys = {concept.local, suffix, concept.label, concept.iri, *concept.alt_labels}
        if concept.notation:
            keys.add(concept.notation)
        for key in keys:
            self._by_key.setdefault((concept.scheme, _norm(key)), concept)

    def lookup(self, scheme: str, text: str) -> Concept | None:
        """The concept of ``scheme`` that ``text`` names (local name, IRI, label, synonym)."""
        if text.startswith(HMP_NS):
            found = self.concepts.get(text)
            return found if found and found.scheme == scheme else None
        return self._by_key.get((scheme, _norm(text)))

    def in_scheme(self, scheme: str) -> list[Concept]:
        return sorted((c for c in self.concepts.values() if c.scheme == scheme), key=lambda c: c.local)

    def any_scheme(self, text: str) -> Concept | None:
        """The concept any scheme knows by ``text``; local names and IRIs first."""
        if text.startswith(HMP_NS):
            return self.concepts.get(text)
        key = _norm(text)
        for concept in self.concepts.values():
            if _norm(concept.local) == key:
                return concept
        for scheme in SCHEMES:
            found = self._by_key.get((scheme, key))
            if found:
                return found
        return None

    def accepted(self, scheme: str) -> str:
        """A human-readable list of accepted values for error messages."""
        prefix = self.prefixes.get(scheme, "")
        return ", ".join(f"'{c.local.removeprefix(prefix)}' ({c.label})" for c in self.in_scheme(scheme))


def _text(value: object) -> str:
    return str(value) if isinstance(value, Literal) else ""


def _scheme_prefixes(members: list[tuple[URIRef, str]]) -> dict[str, str]:
    """Per scheme, the hyphen-terminated prefix all its concepts' local names share."""
    locals_by_scheme: dict[str, list[str]] = {}
    for concept, scheme in members:
        locals_by_scheme.setdefault(scheme, []).append(str(concept).removeprefix(HMP_NS))
    prefixes = {}
    for scheme, names in locals_by_scheme.items():
        common = os.path.commonprefix(names)  # noqa: RUF071 - character prefix wanted, not paths
        prefixes[scheme] = common[: common.rfind("-") + 1]
    return prefixes


@lru_cache(maxsize=1)
def ontology_graph() -> Graph:
    graph = Graph()
    graph.parse(ONTOLOGY_TTL, format="turtle")
    return graph


@lru_cache(maxsize=1)
def concept_index() -> ConceptIndex:
    graph = ontology_graph()
    scheme_keys = {URIRef(HMP_NS + local): key for key, local in SCHEMES.items()}
    members: list[tuple[URIRef, str]] = []
    for concept in graph.subjects(RDF.type, SKOS.Concept):
        scheme_iri = graph.value(concept, SKOS.inScheme)
        if scheme_iri in scheme_keys:
            members.append((URIRef(str(concept)), scheme_keys[scheme_iri]))  # type: ignore[index]
    index = ConceptIndex(prefixes=_scheme_prefixes(members))
    for concept, scheme in sorted(members):
        iri = str(concept)
        label = graph.value(concept, SKOS.prefLabel) or graph.value(concept, RDFS.label)
        index.add(
            Concept(
                iri=iri,
                local=iri.removeprefix(HMP_NS),
                label=_text(label),
                scheme=scheme,
                alt_labels=tuple(_text(a) for a in graph.objects(concept, SKOS.altLabel)),
                definition=_text(graph.value(concept, SKOS.definition)),
                notation=_text(graph.value(concept, SKOS.notation)) or None,
            )
        )
    return index
