"""The plain in-memory study model that every reader produces and the lifter consumes.

Readers know file formats and nothing about RDF; the lifter knows the ontology and nothing
about file formats. This module is the contract between them.

Conventions
-----------
* Identifiers (``Participant.id``, ``TranscriptRef.id`` ...) are the study's own local ids,
  already checked to be unique and safe for an IRI path segment (``[A-Za-z0-9._-]+``).
* Codes are the study's own code names (``Code.name``). ``Code.concept`` is the ontology
  concept the code maps to — the local name in the hmp namespace (``"stage-awakening"``) or a
  full IRI — or ``None`` for a study-specific code (kept, reported as a warning).
* Occupations, care settings, career bands, role types, change initiatives, actor groups,
  stages and triggers on participants/stories/events are given as hmp concept local names
  (``"doctor"`` is normalised by the reader to ``"occupation-doctor"``; see
  ``kg.vocab_lookup``) or full IRIs.
* Text positions are Unicode code points over the *stored* text (UTF-8 decoded, BOM removed,
  CRLF/CR normalised to LF), 0-based, end exclusive. Readers convert from whatever their
  format counts in (UTF-16 code units for NVivo) and record what they chose.
* Transcript texts are loaded one at a time through ``Study.iter_transcripts()`` so a study
  of any size lifts and validates in memory bounded by its largest transcript. For the same
  reason the readers give participants, transcripts, stories and events as sequences kept on
  disk (read in order, a page at a time; reading an item gives a new object each time, so
  changing it changes nothing stored). Studies built in Python may use plain lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from kg.errors import Location


class Severity(StrEnum):
    VIOLATION = "Violation"
    WARNING = "Warning"
    INFO = "Info"


@dataclass(frozen=True)
class Finding:
    """A problem or remark found while reading, lifting or validating."""

    severity: Severity
    message: str
    location: Location | None = None
    focus: str | None = None  # IRI or local id the finding is about
    value: str | None = None
    expected: str | None = None

    def __str__(self) -> str:
        text = f"{self.severity.value}: "
        if self.location:
            text += f"{self.location}: "
        text += self.message
        if self.value is not None:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


@dataclass
class StudyInfo:
    id: str
    title: str
    base_iri: str = "https://w3id.org/hmp/"
    description: str | None = None
    period_start: int | None = None  # year interviews began
    period_end: int | None = None
    licence: str | None = None  # IRI of the licence
    text_access_tier: str = "restricted"  # open | registered | restricted
    synthetic: bool = False
    creators: list[str] = field(default_factory=list)
    location: Location | None = None


@dataclass
class RoleHolding:
    role: str  # concept local name (role-medical-director) or IRI or study-specific label
    start_year: int | None = None  # career year, 1 = first year in healthcare work
    end_year: int | None = None  # None while still held
    setting: str | None = None  # care setting concept
    location: Location | None = None


@dataclass
class Participant:
    id: str  # pseudonymous id, e.g. P07
    occupation: str | None  # occupation concept (occupation-doctor ...)
    roles: list[RoleHolding] = field(default_factory=list)
    current_setting: str | None = None
    career_band: str | None = None  # career length band concept (band-21-30 ...)
    career_years: int | None = None
    attributes: dict[str, str] = field(default_factory=dict)  # other case variables, kept as-is
    location: Location | None = None


@dataclass
class Coder:
    id: str
    name: str | None = None  # display name as the QDA tool gives it (may be a pseudonym)


@dataclass
class Code:
    name: str  # the study's own code name (unique within the study)
    concept: str | None = None  # mapped ontology concept, or None: a study concept
    label: str | None = None
    description: str | None = None
    parent: str | None = None  # parent code name in the study's code tree
    guid: str | None = None  # REFI-QDA GUID, normalised lower-case without braces
    location: Location | None = None


@dataclass
class Story:
    id: str
    transcript_id: str
    title: str | None = None
    initiative: str | None = None  # change initiative concept
    actors: list[str] = field(default_factory=list)  # actor group concepts
    location: Location | None = None


@dataclass
class ActivationEvent:
    id: str
    participant_id: str
    stage: str  # activation stage concept
    career_year: int | None = None
    career_stage: str | None = None  # career stage concept
    triggers: list[str] = field(default_factory=list)  # activation trigger concepts
    evidence: list[str] = field(default_factory=list)  # Coding ids
    location: Location | None = None


@dataclass
class Coding:
    id: str  # unique within the study, deterministic
    transcript_id: str
    start: int  # code points, 0-based
    end: int  # code points, end exclusive
    exact: str  # the text at [start:end] of the stored transcript text
    code: str  # Code.name
    coder: str | None = None  # Coder.id
    created: dt.datetime | dt.date | None = None
    memo: str | None = None
    story_id: str | None = None
    location: Location | None = None


@dataclass
class TranscriptRef:
    """A transcript's metadata, known without reading its text."""

    id: str
    participant_id: str
    interview_date: dt.date | None = None
    source_file: str = ""  # path as the user gave it (inside the archive for .qdpx)
    position_unit: str = "codepoint"  # what the source counted in: codepoint | utf16
    location: Location | None = None


@dataclass
class TranscriptData:
    """One transcript with its stored text and its resolved codings."""

    ref: TranscriptRef
    text: str  # stored text: no BOM, LF line ends
    sha256: str  # of the source file's bytes
    codings: list[Coding] = field(default_factory=list)


@dataclass
class Study:
    info: StudyInfo
    source_path: str  # the folder or file the study was read from
    source_sha256: str | None = None  # of the .qdpx/.qde file; None for a folder
    reader: str = ""  # "folder" | "refi-qda"
    # lists, or for a study read from files sequences kept on disk (``kg.readers._spill``)
    participants: Sequence[Participant] = field(default_factory=list)
    transcripts: Sequence[TranscriptRef] = field(default_factory=list)
    stories: Sequence[Story] = field(default_factory=list)
    events: Sequence[ActivationEvent] = field(default_factory=list)
    codes: list[Code] = field(default_factory=list)
    coders: list[Coder] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # reader warnings
    loader: Callable[[TranscriptRef], TranscriptData] | None = None

    def iter_transcripts(self) -> Iterator[TranscriptData]:
        """Yield each transcript's text and codings, one at a time."""
        if self.loader is None:
            return
        for ref in self.transcripts:
            yield self.loader(ref)
