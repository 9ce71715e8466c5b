"""Read a REFI-QDA project (``.qdpx`` zip or bare ``.qde``) into the study model.

What becomes what (see ``kg/readers/README.md`` for the conventions in full):

* ``Users/User`` -> :class:`Coder` (id from the user's ``id`` attribute, else its name).
* ``CodeBook/Codes/Code`` (nested) -> :class:`Code` with its parent. A code whose GUID is the
  GUID ``hmp export-codebook`` gave an ontology concept maps to that concept; otherwise the
  code's name is looked up in every scheme; otherwise it is a study concept (a warning).
* ``Sources/TextSource`` -> transcript; ``PlainTextSelection`` + ``Coding/CodeRef`` -> codings,
  positions converted to code points over the stored text (unit detected, see ``_positions``).
* ``Cases/Case`` with ``VariableValue``s and ``SourceRef``s -> participants and their transcripts.
* ``Notes/Note`` referenced by a selection's ``NoteRef`` -> the codings' memo; other notes ->
  INFO findings; notes named ``hmp:study`` / ``hmp:events`` carry study metadata and events.
* ``Sets/Set`` whose members are sources or selections -> stories.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from kg.concepts import HMP_NS, SCHEMES, concept_index
from kg.errors import Location, ReadError
from kg.model import (
    Code,
    Coder,
    Coding,
    Finding,
    Participant,
    Severity,
    Story,
    Study,
    StudyInfo,
    TranscriptData,
    TranscriptRef,
)
from kg.readers._archive import Archive
from kg.readers._common import (
    ID_RE,
    check_id,
    check_unique,
    coding_id,
    decode_text,
    load_yaml,
    normalise_newlines,
    parse_datetime,
    parse_events,
    parse_participant,
    parse_study_info,
    read_csv_file,
    read_csv_text,
    resolve,
    resolve_any,
    resolve_optional,
    sha256_hex,
    slug,
    split_list,
    unique_id,
)
from kg.readers._positions import UTF16, Reading, TextPositions
from kg.readers._spill import LookupMapping, Spill
from kg.readers._xml import child, child_text, children, local, namespace, norm_guid, parse_xml

PROJECT_NS_PREFIX = "urn:QDA-XML:project"
STUDY_NOTE = "hmp:study"
EVENTS_NOTE = "hmp:events"
STORY_MARK = "hmp:story"
HMP_ORIGIN = "hmp-kg"

# case variable name (normalised) -> participants.csv column
VARIABLE_COLUMNS = {
    "occupation": "occupation",
    "primary occupation": "occupation",
    "profession": "occupation",
    "current setting": "current_setting",
    "current care setting": "current_setting",
    "care setting": "current_setting",
    "setting": "current_setting",
    "career band": "career_band",
    "career length": "career_band",
    "career length band": "career_band",
    "band": "career_band",
    "career years": "career_years",
    "years in career": "career_years",
    "career length years": "career_years",
    "years": "career_years",
    "roles": "roles",
    "role holdings": "roles",
}
VALUE_ELEMENTS = ("TextValue", "IntegerValue", "FloatValue", "BooleanValue", "DateValue", "DateTimeValue")


def _norm_name(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


@lru_cache(maxsize=1)
def concept_guids() -> dict[str, str]:
    """uuid5(NAMESPACE_URL, concept IRI) -> concept local name, for every ontology concept."""
    return {str(uuid.uuid5(uuid.NAMESPACE_URL, c.iri)): c.local for c in concept_index().concepts.values()}


@lru_cache(maxsize=1)
def scheme_guids() -> dict[str, str]:
    return {str(uuid.uuid5(uuid.NAMESPACE_URL, HMP_NS + name)): name for name in SCHEMES.values()}


@dataclass
class _Selection:
    """One PlainTextSelection of the source being resolved (read back from the spill)."""

    guid: str
    start: int
    end: int
    name: str
    user: str | None
    created: str | None
    notes: list[str]
    location: Location
    story: str | None  # the story a Set makes of it
    codings: list[_RawCoding] = field(default_factory=list)


@dataclass(frozen=True)
class _RawCoding:
    """A selection's Coding element as written: creatingUser, creationDateTime, CodeRef."""

    guid: str
    user: str
    created: str
    code: str  # the CodeRef's targetGUID (normalised), "" without a CodeRef
    location: Location


@dataclass
class _RawSource:
    """What the streaming parse keeps of one child of Sources; its selections go to the spill."""

    index: int  # the key of its selections and codings in the spill
    kind: str
    guid: str | None
    name: str | None
    plain_text_path: str | None
    has_inline: bool
    variables: list[tuple[str, str | None, str]]  # (variable GUID, name attribute, value)
    selection_count: int
    location: Location
    problem: ReadError | None = None  # the first unusable selection, raised in document order


@dataclass(frozen=True)
class _RawSet:
    """What the streaming parse keeps of one Set; its MemberSources go to the spill."""

    index: int
    guid: str | None
    name: str | None
    description: str
    location: Location


@dataclass
class _Source:
    index: int
    guid: str
    tid: str
    name: str
    member: str | None  # archive member / relative path of the plain text, None when inline
    has_inline: bool
    variables: dict[str, str]
    location: Location
    participant: str | None = None
    reading: Reading | None = None


# Per-selection data, spilled while the project XML streams through (see _spill): the
# selections and their Coding elements as written, then the resolved codings for the loader.
_SCHEMA = """
CREATE TABLE inline (source INTEGER PRIMARY KEY, text TEXT NOT NULL);
CREATE TABLE selections (
    seq INTEGER PRIMARY KEY, source INTEGER NOT NULL, guid TEXT NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL, name TEXT NOT NULL, user TEXT, created TEXT, notes TEXT,
    line INTEGER
);
CREATE INDEX selections_by_source ON selections (source, seq);
CREATE INDEX selections_by_guid ON selections (guid);
CREATE TABLE selection_codings (
    seq INTEGER PRIMARY KEY, source INTEGER NOT NULL, selection INTEGER NOT NULL, guid TEXT NOT NULL,
    user TEXT NOT NULL, created TEXT NOT NULL, code TEXT NOT NULL, line INTEGER
);
CREATE INDEX selection_codings_by_source ON selection_codings (source, seq);
CREATE TABLE codings (
    seq INTEGER PRIMARY KEY, source INTEGER NOT NULL, id TEXT NOT NULL, start INTEGER NOT NULL,
    end INTEGER NOT NULL, code TEXT NOT NULL, coder TEXT, created TEXT NOT NULL, memo TEXT,
    story TEXT, line INTEGER
);
CREATE INDEX codings_by_source ON codings (source, seq);
CREATE INDEX codings_by_id ON codings (id);
CREATE TABLE evidence (key TEXT PRIMARY KEY, coding TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE set_members (seq INTEGER PRIMARY KEY, set_index INTEGER NOT NULL, guid TEXT NOT NULL);
CREATE INDEX set_members_by_set ON set_members (set_index, seq);
CREATE TABLE selection_story (guid TEXT PRIMARY KEY, story TEXT NOT NULL) WITHOUT ROWID;
"""


def read_refiqda(path: Path, *, participants_csv: Path | None = None) -> Study:
    with Archive(path) as archive:
        return _Reader(path, archive, participants_csv).read()


class _Reader:
    def __init__(self, path: Path, archive: Archive, participants_csv: Path | None) -> None:
        self.path = path
        self.archive = archive
        self.participants_csv = participants_csv
        self.findings: list[Finding] = []
        self.qde_label = archive.label(archive.qde_name) if archive.zip is not None else str(path)

    # ------------------------------------------------------------------ top level

    def read(self) -> Study:
        for other in self.archive.other_qdes:
            self.findings.append(
                Finding(
                    Severity.WARNING,
                    f"archive has several .qde files; read {self.archive.qde_name}",
                    value=other,
                )
            )
        self.spill = Spill(_SCHEMA)
        self.raw_sources: list[_RawSource] = []
        self.selection_seq = 0
        self.spill.db.execute("BEGIN")
        self.raw_sets: list[_RawSet] = []
        splits = {"Sources": self._take_source, "Sets": self._take_set}
        doc = parse_xml(self.archive.iter_qde(), self.qde_label, splits=splits)
        self.doc = doc
        root = doc.root
        if local(root.tag) != "Project" or (
            namespace(root.tag) and not namespace(root.tag).startswith(PROJECT_NS_PREFIX)
        ):
            raise ReadError(
                "not a REFI-QDA project",
                location=doc.loc(root),
                value=root.tag,
                expected="a <Project xmlns='urn:QDA-XML:project:1.0'> root element",
            )
        self.origin = root.get("origin") or ""
        self.notes = self._notes(root)
        info, declared_unit = self._study_info(root)
        coders = self._coders(root)
        codes = self._codes(root)
        sources = self._sources()
        participants = self._participants(root, sources)
        stories = self._stories(sources)
        self._resolve_texts(sources, codes, coders, declared_unit)
        self.spill.db.execute("COMMIT")
        transcripts = [self._transcript_ref(s) for s in sources]
        coding_guids = _Evidence(self.spill)
        events = []
        if EVENTS_NOTE in self.special_notes:
            text, location = self.special_notes[EVENTS_NOTE]
            rows = read_csv_text(text, location.file, required=("id", "participant", "stage"))
            events = parse_events(rows, {p.id for p in participants}, coding_guids)
        # kept on disk, beside the codings, from here on (``SpilledList``)
        spilled = [self.spill.list(kind) for kind in ("participants", "transcripts", "stories", "events")]
        lists: tuple[list[Any], ...] = (participants, transcripts, stories, events)
        for items, target in zip(lists, spilled, strict=True):
            for item in items:
                target.append(item, key=item.id)
            target.flush()
        del participants, transcripts, stories, events, lists
        study = Study(
            info=info,
            source_path=str(self.path),
            source_sha256=_file_sha256(self.path),
            reader="refi-qda",
            participants=spilled[0],
            transcripts=spilled[1],
            stories=spilled[2],
            events=spilled[3],
            codes=list(codes.values()),
            coders=list({c.id: c for c in coders.values()}.values()),
            findings=self.findings,
        )
        study.loader = _Loader(self.path, self.spill, sources, self.qde_label)
        return study

    # ------------------------------------------------------------------ notes and study info

    def _notes(self, root: Element) -> dict[str, str]:
        notes: dict[str, str] = {}
        self.special_notes: dict[str, tuple[str, Location]] = {}
        self.note_locations: dict[str, Location] = {}
        container = child(root, "Notes")
        for note in children(container, "Note") if container is not None else []:
            guid = norm_guid(note.get("guid"))
            text = child_text(note, "PlainTextContent")
            if text is None and note.get("plainTextPath"):
                member = self.archive.find_source(note.get("plainTextPath", ""), self.doc.loc(note))
                text = normalise_newlines(
                    decode_text(self.archive.read_source(member), self.archive.label(member))
                )
            text = text or ""
            name = (note.get("name") or "").strip()
            if name in (STUDY_NOTE, EVENTS_NOTE):
                self.special_notes[name] = (text, Location(file=f"{self.qde_label} (note {name})"))
                continue
            notes[guid] = text
            self.note_locations[guid] = self.doc.loc(note)
        self.used_notes: set[str] = set()
        return notes

    def _study_info(self, root: Element) -> tuple[StudyInfo, str | None]:
        if STUDY_NOTE in self.special_notes:
            text, location = self.special_notes[STUDY_NOTE]
            data = load_yaml(text, location.file)
            declared = data.pop("position_unit", None) if isinstance(data, dict) else None
            return parse_study_info(data, location.file), str(declared) if declared else None
        name = (root.get("name") or "").strip()
        stem = self.path.stem
        description = child_text(root, "Description")
        info = StudyInfo(
            id=slug(stem if ID_RE.match(stem) else name or stem, "study"),
            title=name or stem,
            description=description.strip() if description and description.strip() else None,
            location=self.doc.loc(root),
        )
        self.findings.append(
            Finding(
                Severity.INFO,
                f"study id {info.id!r} taken from the file name; title from the project name",
                location=self.doc.loc(root),
            )
        )
        return info, None

    # ------------------------------------------------------------------ users and codes

    def _coders(self, root: Element) -> dict[str, Coder]:
        coders: dict[str, Coder] = {}
        used: set[str] = set()
        container = child(root, "Users")
        for user in children(container, "User") if container is not None else []:
            guid = norm_guid(user.get("guid"))
            name = (user.get("name") or "").strip() or None
            given = (user.get("id") or "").strip()
            candidate = (
                given if ID_RE.match(given) else slug((name or "").lower().replace(".", " "), "u-" + guid[:8])
            )
            coders[guid] = Coder(id=unique_id(candidate, used), name=name)
        self.coder_ids_used = used
        return coders

    def _codes(self, root: Element) -> dict[str, Code]:
        codes: dict[str, Code] = {}
        names: set[str] = set()
        book = child(root, "CodeBook")
        container = child(book, "Codes") if book is not None else None
        if container is None:
            return codes

        def walk(element: Element, parent: str | None) -> None:
            for code_el in children(element, "Code"):
                guid = norm_guid(code_el.get("guid"))
                location = self.doc.loc(code_el)
                name = (code_el.get("name") or "").strip() or guid
                if name in names:
                    renamed = f"{name} ({parent})" if parent else name
                    name = unique_id(renamed, names)
                    self.findings.append(
                        Finding(
                            Severity.INFO,
                            f"code name used twice; this one is called {name!r}",
                            location=location,
                        )
                    )
                else:
                    names.add(name)
                if guid in codes:
                    raise ReadError(
                        "duplicate code GUID", location=location, value=guid, expected="unique GUIDs"
                    )
                description = (child_text(code_el, "Description") or "").strip() or None
                concept = self._code_concept(guid, name, description, location)
                codes[guid] = Code(
                    name=name,
                    concept=concept,
                    description=_strip_marker(description),
                    parent=parent,
                    guid=guid,
                    location=location,
                )
                walk(code_el, name)

        walk(container, None)
        return codes

    def _code_concept(self, guid: str, name: str, description: str | None, location: Location) -> str | None:
        if guid in concept_guids():
            return concept_guids()[guid]
        for line in (description or "").splitlines():
            if line.strip().lower().startswith("hmp:concept:"):
                target = line.split(":", 2)[2].strip()
                concept = resolve_any(target)
                if concept is None:
                    raise ReadError(
                        f"code {name!r} is mapped to an unknown concept",
                        location=location,
                        value=target,
                        expected="an ontology concept local name, label or IRI",
                    )
                return concept
        concept = resolve_any(name)
        if concept is not None:
            return concept
        if guid in scheme_guids():
            self.findings.append(
                Finding(
                    Severity.INFO,
                    f"code {name!r} groups the hmp scheme {scheme_guids()[guid]}",
                    location=location,
                )
            )
            return None
        # kept as a study concept; the shapes report it (hmpsh:Concept-study-code), not the reader
        return None

    # ------------------------------------------------------------------ sources

    def _take_source(self, element: Element, lines: dict[Element, int]) -> None:
        """Keep what later steps need of one child of Sources; spill its selections."""
        index = len(self.raw_sources)
        kind = local(element.tag)
        location = Location(file=self.qde_label, line=lines.get(element))
        raw = _RawSource(
            index=index,
            kind=kind,
            guid=element.get("guid"),
            name=element.get("name"),
            plain_text_path=element.get("plainTextPath"),
            has_inline=False,
            variables=[],
            selection_count=0,
            location=location,
        )
        self.raw_sources.append(raw)
        if kind != "TextSource":
            raw.selection_count = sum(1 for sel in element.iter() if local(sel.tag).endswith("Selection"))
            return
        inline = child_text(element, "PlainTextContent")
        if inline is not None:
            raw.has_inline = True
            if not raw.plain_text_path:
                self.spill.db.execute("INSERT INTO inline VALUES (?, ?)", (index, inline))
        selections = []
        codings = []
        for sel in children(element, "PlainTextSelection"):
            sel_location = Location(file=self.qde_label, line=lines.get(sel))
            positions = []
            for attr in ("startPosition", "endPosition"):
                value = sel.get(attr)
                if value is None or not value.strip().isdigit():
                    raw.problem = raw.problem or ReadError(
                        f"selection has no valid {attr}",
                        location=sel_location,
                        value=value,
                        expected="a non-negative whole number",
                    )
                    positions.append(0)
                else:
                    positions.append(int(value))
            if raw.problem is not None:
                continue  # the source is unusable: reading stops there once the XML is known well-formed
            notes = [norm_guid(ref.get("targetGUID")) for ref in children(sel, "NoteRef")]
            self.selection_seq += 1
            selections.append(
                (
                    self.selection_seq,
                    index,
                    norm_guid(sel.get("guid")),
                    positions[0],
                    positions[1],
                    sel.get("name") or "",
                    norm_guid(sel.get("creatingUser")) or None,
                    sel.get("creationDateTime"),
                    "\n".join(notes) if notes else None,
                    sel_location.line,
                )
            )
            for coding_el in children(sel, "Coding"):
                ref = child(coding_el, "CodeRef")
                codings.append(
                    (
                        index,
                        self.selection_seq,
                        norm_guid(coding_el.get("guid")),
                        coding_el.get("creatingUser") or "",
                        coding_el.get("creationDateTime") or "",
                        norm_guid(ref.get("targetGUID")) if ref is not None else "",
                        lines.get(coding_el),
                    )
                )
        self.spill.db.executemany(
            "INSERT INTO selections (seq, source, guid, start, end, name, user, created, notes, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            selections,
        )
        self.spill.db.executemany(
            "INSERT INTO selection_codings (source, selection, guid, user, created, code, line)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            codings,
        )
        for value_el in children(element, "VariableValue"):
            ref = child(value_el, "VariableRef")
            var_guid = norm_guid(ref.get("targetGUID")) if ref is not None else ""
            for tag in VALUE_ELEMENTS:
                text = child_text(value_el, tag)
                if text is not None:
                    raw.variables.append((var_guid, value_el.get("name"), text.strip()))
                    break

    def _take_set(self, element: Element, lines: dict[Element, int]) -> None:
        if local(element.tag) != "Set":
            return
        index = len(self.raw_sets)
        self.raw_sets.append(
            _RawSet(
                index=index,
                guid=element.get("guid"),
                name=element.get("name"),
                description=child_text(element, "Description") or "",
                location=Location(file=self.qde_label, line=lines.get(element)),
            )
        )
        self.spill.db.executemany(
            "INSERT INTO set_members (set_index, guid) VALUES (?, ?)",
            ((index, norm_guid(m.get("targetGUID"))) for m in children(element, "MemberSource")),
        )

    def _sources(self) -> list[_Source]:
        sources: list[_Source] = []
        used: set[str] = set()
        for raw in self.raw_sources:
            kind = raw.kind
            location = raw.location
            if kind != "TextSource":
                self.findings.append(
                    Finding(
                        Severity.WARNING,
                        f"{kind} {raw.name!r} is not a text source; "
                        f"its {raw.selection_count} selection(s) are not imported",
                        location=location,
                    )
                )
                continue
            guid = norm_guid(raw.guid)
            name = (raw.name or "").strip() or guid
            stem = re.sub(r"\.(txt|docx?|rtf|pdf)$", "", name, flags=re.IGNORECASE)
            tid = unique_id(slug(stem, "t-" + guid[:8]), used)
            member = None
            path_attr = raw.plain_text_path
            if path_attr:
                member = self.archive.find_source(path_attr, location)
            elif not raw.has_inline:
                raise ReadError(
                    f"text source {name!r} has neither plainTextPath nor PlainTextContent",
                    location=location,
                    expected="a plain-text representation of the source (export with plain text)",
                )
            if raw.problem is not None:
                raise raw.problem
            variables: dict[str, str] = {}
            for var_guid, var_name, value in raw.variables:
                variables[self.variable_names.get(var_guid) or var_name or var_guid] = value
            sources.append(_Source(raw.index, guid, tid, name, member, member is None, variables, location))
        return sources

    def _selections(self, source: _Source) -> list[_Selection]:
        """The source's selections with their codings, in document order, from the spill."""
        db = self.spill.db
        by_seq: dict[int, _Selection] = {}
        for seq, guid, start, end, name, user, created, notes, line, story in db.execute(
            "SELECT seq, s.guid, start, end, name, user, created, notes, line, story"
            " FROM selections AS s LEFT JOIN selection_story AS t ON t.guid = s.guid"
            " WHERE source = ? ORDER BY seq",
            (source.index,),
        ):
            by_seq[seq] = _Selection(
                guid=guid,
                start=start,
                end=end,
                name=name,
                user=user,
                created=created,
                notes=notes.split("\n") if notes is not None else [],
                location=Location(file=self.qde_label, line=line),
                story=story,
            )
        for selection, guid, user, created, code, line in db.execute(
            "SELECT selection, guid, user, created, code, line FROM selection_codings"
            " WHERE source = ? ORDER BY seq",
            (source.index,),
        ):
            by_seq[selection].codings.append(
                _RawCoding(guid, user, created, code, Location(file=self.qde_label, line=line))
            )
        return list(by_seq.values())

    def _variables(self, element: Element) -> dict[str, str]:
        values: dict[str, str] = {}
        for value_el in children(element, "VariableValue"):
            ref = child(value_el, "VariableRef")
            var_guid = norm_guid(ref.get("targetGUID")) if ref is not None else ""
            name = self.variable_names.get(var_guid) or value_el.get("name") or var_guid
            for tag in VALUE_ELEMENTS:
                text = child_text(value_el, tag)
                if text is not None:
                    values[name] = text.strip()
                    break
        return values

    @property
    def variable_names(self) -> dict[str, str]:
        if not hasattr(self, "_variable_names"):
            names: dict[str, str] = {}
            container = child(self.doc.root, "Variables")
            for var in children(container, "Variable") if container is not None else []:
                names[norm_guid(var.get("guid"))] = (var.get("name") or "").strip()
            self._variable_names = names
        return self._variable_names

    # ------------------------------------------------------------------ participants

    def _participants(self, root: Element, sources: list[_Source]) -> list[Participant]:
        by_guid = {s.guid: s for s in sources}
        values: dict[str, dict[str, str]] = {}
        locations: dict[str, Location] = {}
        used: set[str] = set()
        container = child(root, "Cases")
        for case in children(container, "Case") if container is not None else []:
            location = self.doc.loc(case)
            name = (case.get("name") or "").strip()
            pid = slug(name, "case-" + norm_guid(case.get("guid"))[:8])
            if pid != name:
                self.findings.append(
                    Finding(Severity.INFO, f"case {name!r} becomes participant id {pid!r}", location=location)
                )
            if pid in used:
                raise ReadError(
                    f"duplicate case (participant) {pid!r}: also at {locations[pid]}",
                    location=location,
                    value=name,
                    expected="each case once",
                )
            used.add(pid)
            row = {"id": pid}
            for var_name, var_value in self._variables(case).items():
                column = VARIABLE_COLUMNS.get(_norm_name(var_name), var_name)
                if var_value:
                    row[column] = var_value
            values[pid] = row
            locations[pid] = location
            for ref in children(case, "SourceRef"):
                source = by_guid.get(norm_guid(ref.get("targetGUID")))
                if source is None:
                    continue
                if source.participant is not None and source.participant != pid:
                    self.findings.append(
                        Finding(
                            Severity.WARNING,
                            f"source {source.name!r} is in cases {source.participant!r} and {pid!r}; "
                            f"it is taken as {source.participant!r}'s",
                            location=location,
                        )
                    )
                    continue
                source.participant = pid
        if self.participants_csv is not None:
            rows = read_csv_file(self.participants_csv, required=("id",))
            check_unique(rows, "id", "participant")
            for csv_row in rows:
                pid = check_id(csv_row.get("id"), csv_row.location, "participant id")
                merged = values.setdefault(pid, {"id": pid})
                merged.update({k: v for k, v in csv_row.values.items() if v})
                locations[pid] = csv_row.location
        for source in sources:
            if source.participant is None:
                named = source.variables.get("participant") or source.variables.get("Participant")
                if named and named not in values:
                    raise ReadError(
                        f"source {source.name!r} names an unknown participant",
                        location=source.location,
                        value=named,
                        expected="a case name or an id of --participants",
                    )
                source.participant = named or source.tid
            if source.participant not in values:
                values[source.participant] = {"id": source.participant}
                locations[source.participant] = source.location
                self.findings.append(
                    Finding(
                        Severity.WARNING,
                        f"source {source.name!r} belongs to no case; participant {source.participant!r} "
                        "was created without attributes",
                        location=source.location,
                        expected="a case with this source, or --participants FILE.csv",
                    )
                )
        return [parse_participant(row, locations[pid]) for pid, row in values.items()]

    # ------------------------------------------------------------------ stories

    def _stories(self, sources: list[_Source]) -> list[Story]:
        by_guid = {s.guid: s for s in sources}
        by_index = {s.index: s for s in sources}
        stories: list[Story] = []
        used: set[str] = set()
        for raw_set in self.raw_sets:
            location = raw_set.location
            name = (raw_set.name or "").strip()
            keys = _marker_keys(raw_set.description)
            members = [
                str(guid)
                for (guid,) in self.spill.db.execute(
                    "SELECT guid FROM set_members WHERE set_index = ? ORDER BY seq", (raw_set.index,)
                )
            ]
            transcripts: dict[str, list[str]] = {}
            for guid in members:
                if guid in by_guid:
                    transcripts.setdefault(by_guid[guid].tid, [])
                elif (selected := self._selection_source(guid, by_index)) is not None:
                    transcripts.setdefault(selected.tid, []).append(guid)
            if not transcripts:
                self.findings.append(
                    Finding(
                        Severity.INFO,
                        f"set {name!r} groups no text sources or selections; it is not read as a story",
                        location=location,
                    )
                )
                continue
            base = keys.get("id") or (
                name if ID_RE.match(name) else slug(name, "set-" + norm_guid(raw_set.guid)[:8])
            )
            if len(transcripts) > 1:
                self.findings.append(
                    Finding(
                        Severity.INFO,
                        f"set {name!r} spans {len(transcripts)} transcripts; one story per transcript",
                        location=location,
                    )
                )
            for tid, selections in transcripts.items():
                sid = unique_id(base if len(transcripts) == 1 else f"{base}-{tid}", used)
                stories.append(
                    Story(
                        id=sid,
                        transcript_id=tid,
                        title=keys.get("title", name or None) or None,
                        initiative=resolve_optional(
                            "initiative", keys.get("initiative", ""), location, "change initiative"
                        ),
                        actors=[
                            resolve("actor", a, location, "actor group")
                            for a in split_list(keys.get("actors", ""))
                        ],
                        location=location,
                    )
                )
                self.spill.db.executemany(
                    "INSERT OR IGNORE INTO selection_story VALUES (?, ?)", ((sel, sid) for sel in selections)
                )
        return stories

    def _selection_source(self, guid: str, by_index: dict[int, _Source]) -> _Source | None:
        """The text source with the selection ``guid`` (the last one, if the GUID repeats)."""
        for (index,) in self.spill.db.execute(
            "SELECT source FROM selections WHERE guid = ? ORDER BY seq DESC", (guid,)
        ):
            if index in by_index:
                return by_index[index]
        return None

    # ------------------------------------------------------------------ texts, positions, codings

    def _resolve_texts(
        self,
        sources: list[_Source],
        codes: dict[str, Code],
        coders: dict[str, Coder],
        declared_unit: str | None,
    ) -> None:
        spill = self.spill
        hmp_file = self.origin.startswith(HMP_ORIGIN)
        if hmp_file:
            text_sources = {s.index for s in sources}
            names = spill.db.execute("SELECT source, name FROM selections").fetchall()
            spill.db.executemany(
                "INSERT OR IGNORE INTO ids VALUES (?, ?, NULL)",
                ((name, name) for index, name in names if index in text_sources and ID_RE.match(name)),
            )
        insert = "INSERT INTO codings (source, id, start, end, code, coder, created, memo, story, line)"
        insert += " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        for source in sources:
            selections = self._selections(source)
            raw, _ = _source_text(self.archive, source, spill)
            positions = TextPositions(raw)
            triples = [(sel.start, sel.end, sel.name) for sel in selections]
            if declared_unit is not None:
                reading = Reading(UTF16 if declared_unit == UTF16 else "codepoint", crlf_counted=True)
                how = "declared by the file"
            else:
                reading = positions.detect(triples)
                how = "detected"
            source.reading = reading
            if len(positions.readings()) > 1:
                self.findings.append(
                    Finding(
                        Severity.INFO,
                        f"selection positions in {source.name!r} read as {reading.describe()} ({how}); "
                        "converted to code points over the stored text",
                        location=source.location,
                        focus=source.tid,
                    )
                )
            rows = []
            evidence: list[tuple[str, str]] = []
            for sel in selections:
                start, end = positions.to_stored(sel.start, reading), positions.to_stored(sel.end, reading)
                if start is None or end is None or start > end:
                    raise ReadError(
                        f"selection {sel.guid} is outside the text of {source.name!r} "
                        f"({len(positions.stored)} characters)",
                        location=sel.location,
                        value=f"{sel.start}-{sel.end}",
                        expected="0 <= startPosition <= endPosition <= text length, "
                        f"counted in {reading.describe()}",
                    )
                if start == end:
                    self.findings.append(
                        Finding(
                            Severity.WARNING, f"empty selection {sel.guid} skipped", location=sel.location
                        )
                    )
                    continue
                memo = self._memo(sel)
                for index, coding_el in enumerate(sel.codings):
                    code_guid = coding_el.code
                    if code_guid not in codes:
                        raise ReadError(
                            "coding refers to an unknown code",
                            location=coding_el.location,
                            value=code_guid,
                            expected="the GUID of a Code in the project's CodeBook",
                        )
                    code = codes[code_guid].name
                    user = norm_guid(coding_el.user) or sel.user
                    coder = None
                    if user:
                        if user not in coders:
                            coders[user] = Coder(id=unique_id("u-" + user[:8], self.coder_ids_used))
                        coder = coders[user].id
                    if hmp_file and len(sel.codings) == 1 and ID_RE.match(sel.name):
                        cid = sel.name
                    else:
                        cid = spill.unique_id(coding_id(source.tid, start, end, code))
                    created_raw = coding_el.created or sel.created or ""
                    _created(created_raw, coding_el.location)  # checked now, parsed again when loaded
                    story = sel.story
                    line = coding_el.location.line
                    rows.append((source.index, cid, start, end, code, coder, created_raw, memo, story, line))
                    evidence.append((coding_el.guid, cid))
                    if index == 0:
                        evidence.append((sel.guid, cid))
            spill.db.executemany(insert, rows)
            spill.db.executemany("INSERT OR IGNORE INTO evidence VALUES (?, ?)", evidence)
        for guid, text in self.notes.items():
            if guid not in self.used_notes and text.strip():
                self.findings.append(
                    Finding(Severity.INFO, "memo: " + text.strip(), location=self.note_locations.get(guid))
                )

    def _memo(self, sel: _Selection) -> str | None:
        texts = []
        for guid in sel.notes:
            if guid in self.notes:
                self.used_notes.add(guid)
                texts.append(self.notes[guid])
        return "\n\n".join(texts) if texts else None

    def _transcript_ref(self, source: _Source) -> TranscriptRef:
        date = source.variables.get("interview date") or source.variables.get("date") or ""
        interview_date = None
        if date:
            parsed = parse_datetime(date, source.location, "interview date")
            interview_date = parsed.date() if isinstance(parsed, dt.datetime) else parsed
        assert source.participant is not None and source.reading is not None
        return TranscriptRef(
            id=source.tid,
            participant_id=source.participant,
            interview_date=interview_date,
            source_file=source.member or f"{self.qde_label} (inline text of {source.name})",
            position_unit=source.reading.unit,
            location=source.location,
        )


def _source_text(archive: Archive, source: _Source, spill: Spill) -> tuple[str, bytes]:
    """The decoded text (BOM removed, line ends as in the file) and the bytes it came from."""
    if source.member is None:
        row = spill.db.execute("SELECT text FROM inline WHERE source = ?", (source.index,)).fetchone()
        text = row[0] if row is not None else ""
        return text, text.encode("utf-8")
    data = archive.read_source(source.member)
    return decode_text(data, archive.label(source.member)), data


def _created(value: str, location: Location) -> dt.date | dt.datetime | None:
    """REFI-QDA dateTime; exactly midnight UTC is read as a plain date (how dates are written)."""
    if not value:
        return None
    parsed = parse_datetime(value, location, "creationDateTime")
    if (
        isinstance(parsed, dt.datetime)
        and parsed.utcoffset() == dt.timedelta(0)
        and parsed.time() == dt.time(0, 0)
        and value.endswith("T00:00:00Z")
    ):
        return parsed.date()
    return parsed


def _marker_keys(description: str) -> dict[str, str]:
    """``key: value`` lines of a description that starts with the ``hmp:story`` marker line."""
    lines = description.strip().splitlines()
    if not lines or lines[0].strip() != STORY_MARK:
        return {}
    keys = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            keys[key.strip().lower()] = value.strip()
    return keys


def _strip_marker(description: str | None) -> str | None:
    if not description:
        return None
    kept = [line for line in description.splitlines() if not line.strip().lower().startswith("hmp:concept:")]
    return "\n".join(kept).strip() or None


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class _Evidence(LookupMapping[str]):
    """What an event's evidence may name -> coding id: a coding or selection GUID, or a coding id."""

    def __init__(self, spill: Spill) -> None:
        self.db = spill.db
        self._last: tuple[str, str | None] = ("", None)  # `key in` is mostly followed by `[key]`

    def get(self, key: str, default: str | None = None) -> str | None:  # type: ignore[override]
        if self._last[0] != key:
            row = self.db.execute("SELECT coding FROM evidence WHERE key = ?", (key,)).fetchone()
            if row is None:
                row = self.db.execute("SELECT id FROM codings WHERE id = ? LIMIT 1", (key,)).fetchone()
            self._last = (key, None if row is None else str(row[0]))
        found = self._last[1]
        return default if found is None else found

    def __iter__(self) -> Iterator[str]:
        keys = "SELECT key FROM evidence UNION SELECT id FROM codings ORDER BY 1"
        for (key,) in self.db.execute(keys).fetchall():
            yield str(key)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def _close_archive(holder: list[Archive]) -> None:
    for archive in holder:
        archive.close()


class _Loader:
    """Reads one source's text from the project when asked, with its codings from the spill.

    Holds no texts and no codings between calls; the archive is opened once, on the first call,
    and closed with the loader.
    """

    def __init__(self, path: Path, spill: Spill, sources: list[_Source], qde_label: str) -> None:
        self.path = path
        self.spill = spill
        self.qde_label = qde_label
        self.sources = {s.tid: s for s in sources}
        self._archive: list[Archive] = []
        weakref.finalize(self, _close_archive, self._archive)

    def _open(self) -> Archive:
        if not self._archive:
            self._archive.append(Archive(self.path, guard=False))
        return self._archive[0]

    def __call__(self, ref: TranscriptRef) -> TranscriptData:
        source = self.sources[ref.id]
        raw, data = _source_text(self._open(), source, self.spill)
        text = normalise_newlines(raw)
        codings = []
        for cid, start, end, code, coder, created, memo, story, line in self.spill.db.execute(
            "SELECT id, start, end, code, coder, created, memo, story, line FROM codings"
            " WHERE source = ? ORDER BY seq",
            (source.index,),
        ):
            location = Location(file=self.qde_label, line=line)
            codings.append(
                Coding(
                    id=cid,
                    transcript_id=source.tid,
                    start=start,
                    end=end,
                    exact=text[start:end],
                    code=code,
                    coder=coder,
                    created=_created(created, location),
                    memo=memo,
                    story_id=story,
                    location=location,
                )
            )
        return TranscriptData(ref=ref, text=text, sha256=sha256_hex(data), codings=codings)


__all__ = ["concept_guids", "read_refiqda"]
