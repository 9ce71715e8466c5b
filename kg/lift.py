"""Lift a ``kg.model.Study`` into RDF, following ``ontology/DATA-MODEL.md`` exactly.

The lifter streams: ``lift_chunks`` yields one chunk for the study metadata, one per transcript
(its metadata, codings and full text) and one for the provenance record, so a study of any size
lifts in memory bounded by its largest transcript. ``lift_study`` flattens that into
``(graph_iri, triples)`` pairs.

Deterministic: IRIs derive from the study's own ids; the only clock reading is the provenance
end time, which comes from ``SOURCE_DATE_EPOCH`` when it is set (reproducible builds).

Defined classes (``hmp:DoctorParticipant`` ... ``hmp:HybridProfessionalManager``,
``hmp:LeadershipRoleHolding``) are materialised with the rule their OWL definitions state; the
definitions (``owl:intersectionOf`` of a base class and one ``owl:hasValue`` /
``owl:someValuesFrom`` restriction) are read from the ontology graph, not hard-coded.

Activation events: when a study lists none, one ``hmp:ActivationEvent`` is derived per
(participant, activation-stage concept) from the codings whose code maps to a concept of the
activation stage scheme; it is evidenced by those codings and triggered by the concepts of the
activation-trigger codings in the same story (``Coding.story_id``). Derived event ids are
``<participant>-<stage local name>``; their career year is unknown (left out).
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any

import pyoxigraph as ox

from kg import __version__
from kg._paths import ONTOLOGY_TTL
from kg.errors import ConfigError, LiftError, Location
from kg.model import ActivationEvent, Code, Coding, Participant, Story, Study, TranscriptData, TranscriptRef
from kg.readers._spill import LookupMapping, Spill

HMP = "https://w3id.org/hmp/ontology#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
OA = "http://www.w3.org/ns/oa#"
PROV = "http://www.w3.org/ns/prov#"
ORG = "http://www.w3.org/ns/org#"
DCT = "http://purl.org/dc/terms/"

ONTOLOGY_GRAPH = "https://w3id.org/hmp/graph/ontology"
SOFTWARE = f"https://w3id.org/hmp/software/hmp-kg/{__version__}"
CONTEXT_CHARS = 32  # TextQuoteSelector prefix/suffix length, in code points
STAGE_SCHEME = HMP + "ActivationStageScheme"
TRIGGER_SCHEME = HMP + "ActivationTriggerScheme"

_Term = ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple


def _n(iri: str) -> ox.NamedNode:
    return ox.NamedNode(iri)


def _int(value: int) -> ox.Literal:
    return ox.Literal(str(value), datatype=_n(XSD + "integer"))


def _str(value: str) -> ox.Literal:
    return ox.Literal(value)


def _date(value: dt.date | dt.datetime) -> ox.Literal:
    if isinstance(value, dt.datetime):
        return ox.Literal(value.isoformat(), datatype=_n(XSD + "dateTime"))
    return ox.Literal(value.isoformat(), datatype=_n(XSD + "date"))


def slug(text: str) -> str:
    """An IRI-safe path segment for a study's own code name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "code"


# --------------------------------------------------------------------------------------------
# The ontology, read once


@dataclass(frozen=True)
class DefinedClass:
    iri: str
    base: str  # the class the definition intersects with
    prop: str
    kind: str  # "hasValue" | "someValuesFrom"
    filler: str


@dataclass(frozen=True)
class OntologyFacts:
    triples: tuple[ox.Triple, ...]
    types: dict[str, frozenset[str]]  # concept IRI -> its rdf:types in the ontology
    schemes: dict[str, frozenset[str]]  # concept IRI -> skos:inScheme
    defined: tuple[DefinedClass, ...]


@lru_cache(maxsize=1)
def ontology_facts() -> OntologyFacts:
    """The ontology's triples plus the facts the lifter needs: concept types, schemes, definitions."""
    triples = tuple(q.triple for q in ox.parse(path=str(ONTOLOGY_TTL), format=ox.RdfFormat.TURTLE))
    by_subject: dict[ox.NamedNode | ox.BlankNode, dict[str, list[_Term]]] = {}
    for t in triples:
        if isinstance(t.subject, ox.NamedNode | ox.BlankNode):
            by_subject.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)
    types: dict[str, set[str]] = {}
    schemes: dict[str, set[str]] = {}
    for subject, props in by_subject.items():
        if isinstance(subject, ox.NamedNode):
            types[subject.value] = {
                o.value for o in props.get(RDF + "type", []) if isinstance(o, ox.NamedNode)
            }
            schemes[subject.value] = {
                o.value for o in props.get(SKOS + "inScheme", []) if isinstance(o, ox.NamedNode)
            }

    def rdf_list(node: _Term) -> list[_Term]:
        items: list[_Term] = []
        while isinstance(node, ox.BlankNode | ox.NamedNode) and node.value != RDF + "nil":
            props = by_subject.get(node, {})
            items.extend(props.get(RDF + "first", []))
            rest = props.get(RDF + "rest", [])
            if not rest:
                break
            node = rest[0]
        return items

    defined: list[DefinedClass] = []
    for subject, props in by_subject.items():
        if not isinstance(subject, ox.NamedNode):
            continue
        for equivalent in props.get(OWL + "equivalentClass", []):
            eq = by_subject.get(equivalent, {})  # type: ignore[arg-type]
            for members in eq.get(OWL + "intersectionOf", []):
                parts = rdf_list(members)
                bases = [p.value for p in parts if isinstance(p, ox.NamedNode)]
                restrictions = [by_subject.get(p, {}) for p in parts if isinstance(p, ox.BlankNode)]
                if len(bases) != 1 or len(restrictions) != 1:
                    continue
                r = restrictions[0]
                on = r.get(OWL + "onProperty", [])
                for kind in ("hasValue", "someValuesFrom"):
                    filler = r.get(OWL + kind, [])
                    if (
                        on
                        and filler
                        and isinstance(on[0], ox.NamedNode)
                        and isinstance(filler[0], ox.NamedNode)
                    ):
                        defined.append(
                            DefinedClass(subject.value, bases[0], on[0].value, kind, filler[0].value)
                        )
    return OntologyFacts(
        triples=triples,
        types={k: frozenset(v) for k, v in types.items()},
        schemes={k: frozenset(v) for k, v in schemes.items()},
        defined=tuple(sorted(defined, key=lambda d: d.iri)),
    )


def classify(
    base_types: set[str], values: dict[str, list[str]], value_types: dict[str, frozenset[str]]
) -> set[str]:
    """The defined classes a node belongs to, by the ontology's definitions (to a fixpoint)."""
    facts = ontology_facts()
    found = set(base_types)
    changed = True
    while changed:
        changed = False
        for d in facts.defined:
            if d.iri in found or d.base not in found:
                continue
            vals = values.get(d.prop, [])
            if d.kind == "hasValue":
                ok = d.filler in vals
            else:
                ok = any(d.filler in value_types.get(v, facts.types.get(v, frozenset())) for v in vals)
            if ok:
                found.add(d.iri)
                changed = True
    return found


# --------------------------------------------------------------------------------------------
# IRIs


@dataclass(frozen=True)
class Iris:
    base: str
    study_id: str

    @property
    def study(self) -> str:
        return f"{self.base}id/{self.study_id}"

    def id(self, kind: str, local: str) -> str:
        return f"{self.base}id/{self.study_id}/{kind}/{local}"

    def graph(self, part: str) -> str:
        return f"{self.base}graph/{self.study_id}/{part}"

    @property
    def graphs(self) -> dict[str, str]:
        return {p: self.graph(p) for p in ("metadata", "codings", "fulltext", "provenance")}


def study_iris(study: Study) -> Iris:
    base = study.info.base_iri if study.info.base_iri.endswith("/") else study.info.base_iri + "/"
    return Iris(base, study.info.id)


def study_graphs(study: Study) -> list[str]:
    """The named graphs a study's lift fills (what a re-load replaces)."""
    return list(study_iris(study).graphs.values())


def concept_iri(value: str) -> str:
    """An hmp concept local name or a full IRI, as an IRI."""
    return value if re.match(r"^[a-z][a-z0-9+.-]*:", value) else HMP + value


def provenance_time() -> dt.datetime:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        if not epoch.strip().isdigit():
            raise ConfigError(
                "SOURCE_DATE_EPOCH is not a time", value=epoch, expected="whole seconds since 1970-01-01 UTC"
            )
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).replace(tzinfo=None)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


# --------------------------------------------------------------------------------------------
# Lifting


@dataclass(frozen=True)
class SelectorRecord:
    """One excerpt's selectors as lifted, so they can be checked against the text in Python."""

    annotation: str  # the coding's IRI (the shapes' focus node)
    source: str  # the transcript IRI the target points at
    start: int
    end: int
    exact: str


#: Triples per metadata chunk (participants, interviews, stories, events): bounds the memory of
#: lifting a study with many of them (the 100x study's metadata is ~570k triples, ~200 MB at once).
METADATA_CHUNK_TRIPLES = 20_000


@dataclass
class LiftChunk:
    """Triples per graph for one part of a study: ``metadata``, a transcript, or ``provenance``.

    A transcript chunk also carries its text (``texts``: transcript IRI -> text) and its excerpts'
    selectors (``selectors``), so quotes and offsets are checked per transcript in Python
    (``kg.validate.check_selectors``) instead of by a SPARQL join over every full text; likewise
    its excerpts' targets, codes and shortcuts (``kg.validate.check_excerpts``).
    """

    part: str
    transcript_id: str | None
    graphs: dict[str, list[ox.Triple]] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    selectors: list[SelectorRecord] = field(default_factory=list)
    #: the study's own concepts (lifted, with their scheme, in the metadata chunk), so an
    #: excerpt's code can be checked per transcript (``kg.validate.check_excerpts``)
    study_concepts: frozenset[str] = frozenset()

    def add(self, graph: str, s: str, p: str, o: ox.NamedNode | ox.Literal | str) -> None:
        obj = _n(o) if isinstance(o, str) else o
        self.graphs.setdefault(graph, []).append(ox.Triple(_n(s), _n(p), obj))

    def __len__(self) -> int:
        return sum(len(v) for v in self.graphs.values())


_LOCATIONS_SCHEMA = """
CREATE TABLE locations (
    iri TEXT NOT NULL UNIQUE, file TEXT NOT NULL, line INTEGER, col INTEGER, row INTEGER, offset INTEGER
);
CREATE TABLE sources (name TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (name, sha256)) WITHOUT ROWID;
"""
#: Locations written to the database at once.
_LOCATION_BATCH = 1000


class LocationMap(LookupMapping[Location]):
    """Resource IRI -> where it came from, kept in a temporary SQLite database, not in memory:
    one entry per excerpt (260k for the 100x study, ~60 MB as a dict). Assigning an IRI again
    replaces its location, as in a dict; iteration is in first-assignment order."""

    def __init__(self) -> None:
        self.spill = Spill(_LOCATIONS_SCHEMA)  # the readers' scratch database (private temp dir)
        self._pending: list[tuple[str, str, int | None, int | None, int | None, int | None]] = []
        self._sources: list[tuple[str, str]] = []  # (file name, sha256) for the provenance record
        self._last: tuple[str, Location | None] = ("", None)

    def __setitem__(self, iri: str, location: Location) -> None:
        self._pending.append(
            (iri, location.file, location.line, location.column, location.row, location.offset)
        )
        if len(self._pending) + len(self._sources) >= _LOCATION_BATCH:
            self.flush()

    def add_source(self, name: str, sha256: str) -> None:
        self._sources.append((name, sha256))

    def flush(self) -> None:
        if self._pending or self._sources:
            with self.spill.batch():
                self.spill.db.executemany(
                    "INSERT INTO locations VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (iri) DO UPDATE SET"
                    " file = excluded.file, line = excluded.line, col = excluded.col, row = excluded.row,"
                    " offset = excluded.offset",
                    self._pending,
                )
                self.spill.db.executemany("INSERT OR IGNORE INTO sources VALUES (?, ?)", self._sources)
            self._pending.clear()
            self._sources.clear()
            self._last = ("", None)

    def get(self, iri: str, default: Location | None = None) -> Location | None:  # type: ignore[override]
        self.flush()
        if self._last[0] != iri:
            row = self.spill.db.execute(
                "SELECT file, line, col, row, offset FROM locations WHERE iri = ?", (iri,)
            ).fetchone()
            self._last = (iri, None if row is None else Location(*row))
        found = self._last[1]
        return default if found is None else found

    def __iter__(self) -> Iterator[str]:
        self.flush()
        for (iri,) in self.spill.db.execute("SELECT iri FROM locations ORDER BY rowid").fetchall():
            yield str(iri)

    def __len__(self) -> int:
        self.flush()
        return int(self.spill.db.execute("SELECT count(*) FROM locations").fetchone()[0])


class Lifter:
    """Lifts one study; remembers where each resource came from (``locations``) for reports."""

    def __init__(self, study: Study) -> None:
        self.study = study
        self.iris = study_iris(study)
        self.locations = LocationMap()
        self.code_bodies: dict[str, str] = {}  # code name -> body IRI
        self._derived: set[tuple[str, str]] = set()
        self.counts = {"participants": 0, "transcripts": 0, "excerpts": 0, "stories": 0, "events": 0}
        self.study_concepts: frozenset[str] = frozenset()
        self._has_events = len(study.events) > 0
        self._assign_code_bodies()

    def _assign_code_bodies(self) -> None:
        used: set[str] = set()
        for code in self.study.codes:
            if code.concept:
                self.code_bodies[code.name] = concept_iri(code.concept)
                continue
            base = candidate = slug(code.name)
            n = 2
            while candidate in used:
                candidate = f"{base}-{n}"
                n += 1
            used.add(candidate)
            self.code_bodies[code.name] = self.iris.id("code", candidate)

    def _where(self, iri: str, location: Location | None) -> None:
        if location is not None:
            self.locations[iri] = location

    def chunks(self) -> Iterator[LiftChunk]:
        yield from self._metadata()
        for data in self.study.iter_transcripts():
            yield self._transcript(data)
        yield from self._provenance()

    # ---- metadata ------------------------------------------------------------------------
    def _metadata(self) -> Iterator[LiftChunk]:
        """The study's metadata, in chunks of about ``METADATA_CHUNK_TRIPLES`` triples, so a study
        with many participants, stories and events is lifted in bounded memory too."""
        st, iris = self.study, self.iris
        info = st.info
        chunk = LiftChunk("metadata", None)
        g = iris.graph("metadata")
        s = iris.study
        self._where(s, info.location)
        chunk.add(g, s, RDF + "type", HMP + "Study")
        chunk.add(g, s, DCT + "title", _str(info.title))
        chunk.add(g, s, DCT + "identifier", _str(info.id))
        if info.description:
            chunk.add(g, s, DCT + "description", _str(info.description))
        if info.licence:
            chunk.add(g, s, DCT + "license", info.licence)
        chunk.add(g, s, HMP + "accessTier", _str(info.text_access_tier))
        chunk.add(
            g,
            s,
            HMP + "synthetic",
            ox.Literal("true" if info.synthetic else "false", datatype=_n(XSD + "boolean")),
        )
        if info.period_start or info.period_end:
            period = "/".join(str(y) for y in (info.period_start, info.period_end) if y)
            chunk.add(g, s, DCT + "temporal", _str(period))
        for creator in info.creators:
            chunk.add(g, s, DCT + "creator", _str(creator))
        # each participant, interview, story and event whole in one chunk; a new chunk once
        # this one is big enough
        items: Iterator[tuple[Callable[[LiftChunk, str, Any], None], Any]] = itertools.chain(
            ((self._participant, p) for p in st.participants),
            ((self._interview, t) for t in st.transcripts),
            ((self._story, story) for story in st.stories),
            ((self._event, e) for e in st.events),
        )
        for lift, item in items:
            lift(chunk, g, item)
            if len(chunk) >= METADATA_CHUNK_TRIPLES:
                yield chunk
                chunk = LiftChunk("metadata", None)
        self._study_concepts(chunk, g)
        cg = iris.graph("codings")
        for coder in st.coders:
            ci = iris.id("coder", coder.id)
            chunk.add(cg, ci, RDF + "type", HMP + "Coder")
            chunk.add(cg, ci, RDF + "type", PROV + "Agent")
            chunk.add(cg, ci, RDFS + "label", _str(coder.name or coder.id))
        yield chunk

    def _interview(self, chunk: LiftChunk, g: str, t: TranscriptRef) -> None:
        iris, s = self.iris, self.iris.study
        interview = iris.id("interview", t.id)
        self._where(interview, t.location)
        chunk.add(g, interview, RDF + "type", HMP + "Interview")
        chunk.add(g, interview, HMP + "interviewee", iris.id("participant", t.participant_id))
        chunk.add(g, interview, HMP + "inStudy", s)
        if t.interview_date:
            when = (
                dt.datetime.combine(t.interview_date, dt.time())
                if not isinstance(t.interview_date, dt.datetime)
                else t.interview_date
            )
            chunk.add(g, interview, PROV + "startedAtTime", _date(when))

    def _story(self, chunk: LiftChunk, g: str, story: Story) -> None:
        iris, s = self.iris, self.iris.study
        si = iris.id("story", story.id)
        self._where(si, story.location)
        self.counts["stories"] += 1
        chunk.add(g, si, RDF + "type", HMP + "Story")
        chunk.add(g, si, RDFS + "label", _str(story.title or f"Story {story.id}"))
        chunk.add(g, si, HMP + "toldIn", iris.id("transcript", story.transcript_id))
        if story.initiative:
            chunk.add(g, si, HMP + "aboutInitiative", concept_iri(story.initiative))
        for actor in story.actors:
            chunk.add(g, si, HMP + "involvesActorGroup", concept_iri(actor))
        chunk.add(g, si, HMP + "inStudy", s)

    def _participant(self, chunk: LiftChunk, g: str, p: Participant) -> None:
        iris = self.iris
        pi = iris.id("participant", p.id)
        self._where(pi, p.location)
        self.counts["participants"] += 1
        holding_types: dict[str, frozenset[str]] = {}
        for n, role in enumerate(p.roles, start=1):
            ri = iris.id("role-holding", f"{p.id}-{n}")
            self._where(ri, role.location or p.location)
            role_iri = concept_iri(role.role)
            types = classify({HMP + "RoleHolding"}, {HMP + "roleType": [role_iri]}, {})
            holding_types[ri] = frozenset(types)
            for t in sorted(types):
                chunk.add(g, ri, RDF + "type", t)
            chunk.add(g, ri, ORG + "member", pi)
            chunk.add(g, ri, HMP + "roleType", role_iri)
            if role.setting:
                chunk.add(g, ri, HMP + "atCareSetting", concept_iri(role.setting))
            if role.start_year is not None:
                chunk.add(g, ri, HMP + "startCareerYear", _int(role.start_year))
            if role.end_year is not None:
                chunk.add(g, ri, HMP + "endCareerYear", _int(role.end_year))
        values: dict[str, list[str]] = {HMP + "hasRoleHolding": list(holding_types)}
        if p.occupation:
            values[HMP + "primaryOccupation"] = [concept_iri(p.occupation)]
        for t in sorted(classify({HMP + "Participant"}, values, holding_types)):
            chunk.add(g, pi, RDF + "type", t)
        chunk.add(g, pi, RDFS + "label", _str(p.id))
        chunk.add(g, pi, HMP + "pseudonym", _str(p.id))
        chunk.add(g, pi, HMP + "inStudy", iris.study)
        if p.occupation:
            chunk.add(g, pi, HMP + "primaryOccupation", concept_iri(p.occupation))
        if p.current_setting:
            chunk.add(g, pi, HMP + "currentCareSetting", concept_iri(p.current_setting))
        if p.career_band:
            chunk.add(g, pi, HMP + "careerLengthBand", concept_iri(p.career_band))
        if p.career_years is not None:
            chunk.add(g, pi, HMP + "careerYears", _int(p.career_years))
        for ri in holding_types:
            chunk.add(g, pi, HMP + "hasRoleHolding", ri)

    def _event(self, chunk: LiftChunk, g: str, e: ActivationEvent) -> None:
        iris = self.iris
        ei = iris.id("event", e.id)
        self._where(ei, e.location)
        self.counts["events"] += 1
        chunk.add(g, ei, RDF + "type", HMP + "ActivationEvent")
        chunk.add(g, ei, HMP + "ofParticipant", iris.id("participant", e.participant_id))
        chunk.add(g, ei, HMP + "stage", concept_iri(e.stage))
        if e.career_year is not None:
            chunk.add(g, ei, HMP + "careerYear", _int(e.career_year))
        if e.career_stage:
            chunk.add(g, ei, HMP + "careerStage", concept_iri(e.career_stage))
        for trigger in e.triggers:
            chunk.add(g, ei, HMP + "triggeredBy", concept_iri(trigger))
        for cid in e.evidence:
            chunk.add(g, ei, HMP + "evidencedBy", iris.id("coding", cid))
        chunk.add(g, ei, HMP + "inStudy", iris.study)

    def _study_concepts(self, chunk: LiftChunk, g: str) -> None:
        iris = self.iris
        scheme = iris.id("scheme", "codes")
        study_codes = [c for c in self.study.codes if not c.concept]
        if not study_codes:
            return
        chunk.add(g, scheme, RDF + "type", SKOS + "ConceptScheme")
        chunk.add(g, scheme, RDFS + "label", _str(f"codes of study {self.study.info.id}"))
        for code in study_codes:
            self._study_concept(chunk, g, scheme, code)
        self.study_concepts = frozenset(self.code_bodies[code.name] for code in study_codes)

    def _study_concept(self, chunk: LiftChunk, g: str, scheme: str, code: Code) -> None:
        ci = self.code_bodies[code.name]
        self._where(ci, code.location)
        chunk.add(g, ci, RDF + "type", SKOS + "Concept")
        chunk.add(g, ci, SKOS + "inScheme", scheme)
        chunk.add(g, ci, SKOS + "prefLabel", _str(code.label or code.name))
        if code.description:
            chunk.add(g, ci, SKOS + "definition", _str(code.description))
        if code.parent and code.parent in self.code_bodies:
            chunk.add(g, ci, SKOS + "broader", self.code_bodies[code.parent])

    # ---- one transcript --------------------------------------------------------------------
    def _transcript(self, data: TranscriptData) -> LiftChunk:
        iris = self.iris
        ref = data.ref
        chunk = LiftChunk("transcript", ref.id, study_concepts=self.study_concepts)
        g, cg, fg = iris.graph("metadata"), iris.graph("codings"), iris.graph("fulltext")
        ti = iris.id("transcript", ref.id)
        self._where(ti, ref.location or Location(ref.source_file))
        self.counts["transcripts"] += 1
        chunk.add(g, ti, RDF + "type", HMP + "Transcript")
        chunk.add(g, ti, RDFS + "label", _str(f"Transcript {ref.id}"))
        chunk.add(g, ti, HMP + "transcriptOf", iris.id("interview", ref.id))
        narrator = iris.id("participant", ref.participant_id)
        chunk.add(g, ti, HMP + "narrator", narrator)
        chunk.add(g, ti, HMP + "textLength", _int(len(data.text)))
        chunk.add(g, ti, HMP + "sha256", _str(data.sha256))
        chunk.add(g, ti, HMP + "inStudy", iris.study)
        chunk.add(fg, ti, HMP + "fullText", _str(data.text))
        chunk.texts[ti] = data.text
        if ref.source_file:  # (file name, sha256) for the provenance record, kept on disk
            self.locations.add_source(PurePath(ref.source_file).name, data.sha256)
        for coding in data.codings:
            self._coding(chunk, cg, ti, narrator, data.text, coding)
        if not self._has_events:
            self._derive_events(chunk, g, ref.participant_id, data.codings)
        return chunk

    def _coding(self, chunk: LiftChunk, g: str, ti: str, narrator: str, text: str, c: Coding) -> None:
        iris = self.iris
        body = self.code_bodies.get(c.code)
        if body is None:
            raise LiftError(
                f"coding {c.id} uses code {c.code!r}, which the study's codebook does not define",
                location=c.location,
                value=c.code,
                expected="a code listed in the codebook",
            )
        ai = iris.id("coding", c.id)
        target, pos, quote = f"{ai}/target", f"{ai}/target/position", f"{ai}/target/quote"
        # the target and selectors are found under the excerpt's IRI (kg.validate._locate walks up
        # the path), so one entry per excerpt: the map is a quarter of the size on big studies
        self._where(ai, c.location or Location(c.transcript_id, offset=c.start))
        self.counts["excerpts"] += 1
        chunk.add(g, ai, RDF + "type", OA + "Annotation")
        chunk.add(g, ai, RDF + "type", HMP + "CodedExcerpt")
        chunk.add(g, ai, OA + "motivatedBy", OA + "classifying")
        chunk.add(g, ai, OA + "hasBody", body)
        chunk.add(g, ai, OA + "hasTarget", target)
        # Shortcuts of target -> source -> narrator, so queries need not walk the target
        chunk.add(g, ai, HMP + "inTranscript", ti)
        chunk.add(g, ai, HMP + "narratedBy", narrator)
        chunk.add(g, ai, HMP + "inStudy", iris.study)
        if c.story_id:
            chunk.add(g, ai, HMP + "inStory", iris.id("story", c.story_id))
        if c.coder:
            coder = iris.id("coder", c.coder)
            chunk.add(g, ai, PROV + "wasAttributedTo", coder)
            chunk.add(g, ai, DCT + "creator", coder)
        if c.created:
            chunk.add(g, ai, DCT + "created", _date(c.created))
        if c.memo:
            chunk.add(g, ai, RDFS + "comment", _str(c.memo))
        chunk.add(g, target, RDF + "type", OA + "SpecificResource")
        chunk.add(g, target, OA + "hasSource", ti)
        chunk.add(g, target, OA + "hasSelector", pos)
        chunk.add(g, target, OA + "hasSelector", quote)
        chunk.add(g, pos, RDF + "type", OA + "TextPositionSelector")
        chunk.add(g, pos, OA + "start", _int(c.start))
        chunk.add(g, pos, OA + "end", _int(c.end))
        chunk.add(g, quote, RDF + "type", OA + "TextQuoteSelector")
        chunk.add(g, quote, OA + "exact", _str(c.exact))
        chunk.selectors.append(SelectorRecord(ai, ti, c.start, c.end, c.exact))
        prefix = text[max(0, c.start - CONTEXT_CHARS) : max(0, c.start)]
        suffix = text[max(0, c.end) : max(0, c.end) + CONTEXT_CHARS]
        if prefix:
            chunk.add(g, quote, OA + "prefix", _str(prefix))
        if suffix:
            chunk.add(g, quote, OA + "suffix", _str(suffix))

    def _derive_events(self, chunk: LiftChunk, g: str, pid: str, codings: list[Coding]) -> None:
        schemes = ontology_facts().schemes
        stages: dict[str, list[Coding]] = {}
        triggers_by_story: dict[str, list[str]] = {}
        for c in codings:
            body = self.code_bodies.get(c.code, "")
            in_schemes = schemes.get(body, frozenset())
            if STAGE_SCHEME in in_schemes:
                stages.setdefault(body, []).append(c)
            elif TRIGGER_SCHEME in in_schemes and c.story_id:
                triggers_by_story.setdefault(c.story_id, []).append(body)
        for stage, evidence in sorted(stages.items()):
            eid = f"{pid}-{stage.removeprefix(HMP)}"
            ei = self.iris.id("event", eid)
            if (pid, stage) not in self._derived:
                self._derived.add((pid, stage))
                self.counts["events"] += 1
                self._where(ei, evidence[0].location)
                chunk.add(g, ei, RDF + "type", HMP + "ActivationEvent")
                chunk.add(g, ei, HMP + "ofParticipant", self.iris.id("participant", pid))
                chunk.add(g, ei, HMP + "stage", stage)
                chunk.add(g, ei, HMP + "inStudy", self.iris.study)
            triggers: set[str] = set()
            for c in evidence:
                chunk.add(g, ei, HMP + "evidencedBy", self.iris.id("coding", c.id))
                if c.story_id:
                    triggers.update(triggers_by_story.get(c.story_id, []))
            for trigger in sorted(triggers):
                chunk.add(g, ei, HMP + "triggeredBy", trigger)

    # ---- provenance ------------------------------------------------------------------------
    def _provenance(self) -> Iterator[LiftChunk]:
        """The provenance record; like the metadata, in chunks of about ``METADATA_CHUNK_TRIPLES``
        triples (four per source file: 26k triples for the 100x study's 6,500 transcripts)."""
        iris, st = self.iris, self.study
        chunk = LiftChunk("provenance", None)
        g = iris.graph("provenance")
        act = f"{iris.study}/lifting"
        chunk.add(g, act, RDF + "type", PROV + "Activity")
        chunk.add(g, act, RDFS + "label", _str(f"lifting of study {st.info.id} ({st.reader or 'reader'})"))
        chunk.add(g, act, PROV + "wasAssociatedWith", SOFTWARE)
        chunk.add(g, SOFTWARE, RDF + "type", PROV + "SoftwareAgent")
        chunk.add(g, SOFTWARE, RDFS + "label", _str(f"hmp-kg {__version__}"))
        chunk.add(g, act, PROV + "endedAtTime", _date(provenance_time()))
        for coder in st.coders:
            chunk.add(g, act, PROV + "wasAssociatedWith", iris.id("coder", coder.id))
        if st.source_sha256:
            self.locations.add_source(PurePath(st.source_path).name, st.source_sha256)
        self.locations.flush()
        db = self.locations.spill.db
        after = ("", "")
        while True:  # the sources in (name, sha256) order, a page at a time
            page = db.execute(
                "SELECT name, sha256 FROM sources WHERE (name, sha256) > (?, ?) ORDER BY name, sha256"
                " LIMIT 1000",
                after,
            ).fetchall()
            if not page:
                break
            for name, sha in page:
                src = iris.id("source", sha[:16])
                chunk.add(g, act, PROV + "used", src)
                chunk.add(g, src, RDF + "type", PROV + "Entity")
                chunk.add(g, src, DCT + "title", _str(name))
                chunk.add(g, src, HMP + "sha256", _str(sha))
                if len(chunk) >= METADATA_CHUNK_TRIPLES:
                    yield chunk
                    chunk = LiftChunk("provenance", None)
            after = page[-1]
        for graph in iris.graphs.values():
            chunk.add(g, graph, PROV + "wasGeneratedBy", act)
        yield chunk


def lift_chunks(study: Study, lifter: Lifter | None = None) -> Iterator[LiftChunk]:
    """Stream a study as chunks: metadata, one per transcript, provenance."""
    return (lifter or Lifter(study)).chunks()


def lift_study(study: Study) -> Iterator[tuple[str, list[ox.Triple]]]:
    """Stream a study as ``(graph_iri, triples)`` pairs, per transcript chunk plus metadata."""
    for chunk in lift_chunks(study):
        yield from chunk.graphs.items()


def ontology_triples() -> tuple[ox.Triple, ...]:
    """The ontology itself, for the graph ``ONTOLOGY_GRAPH``."""
    return ontology_facts().triples
