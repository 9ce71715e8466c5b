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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
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
    guid: str
    start: int
    end: int
    name: str
    user: str | None
    created: str | None
    codings: list[Element]
    notes: list[str]
    location: Location


@dataclass
class _Source:
    guid: str
    tid: str
    name: str
    member: str | None  # archive member / relative path of the plain text, None when inline
    inline: str | None
    selections: list[_Selection]
    variables: dict[str, str]
    location: Location
    participant: str | None = None
    reading: Reading | None = None
    codings: list[Coding] = field(default_factory=list)  # resolved, exact filled by the loader


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
        doc = parse_xml(self.archive.read_qde(), self.qde_label)
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
        sources = self._sources(root)
        participants = self._participants(root, sources)
        stories = self._stories(root, sources)
        self._resolve_texts(sources, codes, coders, declared_unit)
        transcripts = [self._transcript_ref(s) for s in sources]
        coding_guids: dict[str, str] = {}
        for source in sources:
            for coding in source.codings:
                coding_guids[coding.id] = coding.id
        coding_guids.update(self.evidence_guids)
        events = []
        if EVENTS_NOTE in self.special_notes:
            text, location = self.special_notes[EVENTS_NOTE]
            rows = read_csv_text(text, location.file, required=("id", "participant", "stage"))
            events = parse_events(rows, {p.id for p in participants}, coding_guids)
        study = Study(
            info=info,
            source_path=str(self.path),
            source_sha256=_file_sha256(self.path),
            reader="refi-qda",
            participants=participants,
            transcripts=transcripts,
            stories=stories,
            events=events,
            codes=list(codes.values()),
            coders=list({c.id: c for c in coders.values()}.values()),
            findings=self.findings,
        )
        study.loader = _Loader(self.path, {s.tid: s for s in sources})
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

    def _sources(self, root: Element) -> list[_Source]:
        sources: list[_Source] = []
        container = child(root, "Sources")
        used: set[str] = set()
        for element in list(container) if container is not None else []:
            kind = local(element.tag)
            location = self.doc.loc(element)
            if kind != "TextSource":
                count = sum(1 for sel in element.iter() if local(sel.tag).endswith("Selection"))
                self.findings.append(
                    Finding(
                        Severity.WARNING,
                        f"{kind} {element.get('name')!r} is not a text source; "
                        f"its {count} selection(s) are not imported",
                        location=location,
                    )
                )
                continue
            guid = norm_guid(element.get("guid"))
            name = (element.get("name") or "").strip() or guid
            stem = re.sub(r"\.(txt|docx?|rtf|pdf)$", "", name, flags=re.IGNORECASE)
            tid = unique_id(slug(stem, "t-" + guid[:8]), used)
            inline = child_text(element, "PlainTextContent")
            member = None
            path_attr = element.get("plainTextPath")
            if path_attr:
                member = self.archive.find_source(path_attr, location)
            elif inline is None:
                raise ReadError(
                    f"text source {name!r} has neither plainTextPath nor PlainTextContent",
                    location=location,
                    expected="a plain-text representation of the source (export with plain text)",
                )
            selections = [self._selection(sel) for sel in children(element, "PlainTextSelection")]
            variables = self._variables(element)
            sources.append(
                _Source(
                    guid,
                    tid,
                    name,
                    member,
                    inline if member is None else None,
                    selections,
                    variables,
                    location,
                )
            )
        return sources

    def _selection(self, element: Element) -> _Selection:
        location = self.doc.loc(element)
        positions = []
        for attr in ("startPosition", "endPosition"):
            raw = element.get(attr)
            if raw is None or not raw.strip().isdigit():
                raise ReadError(
                    f"selection has no valid {attr}",
                    location=location,
                    value=raw,
                    expected="a non-negative whole number",
                )
            positions.append(int(raw))
        notes = [norm_guid(ref.get("targetGUID")) for ref in children(element, "NoteRef")]
        return _Selection(
            guid=norm_guid(element.get("guid")),
            start=positions[0],
            end=positions[1],
            name=element.get("name") or "",
            user=norm_guid(element.get("creatingUser")) or None,
            created=element.get("creationDateTime"),
            codings=list(children(element, "Coding")),
            notes=notes,
            location=location,
        )

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

    def _stories(self, root: Element, sources: list[_Source]) -> list[Story]:
        by_guid = {s.guid: s for s in sources}
        selection_source = {sel.guid: s for s in sources for sel in s.selections}
        self.selection_story: dict[str, str] = {}
        stories: list[Story] = []
        used: set[str] = set()
        container = child(root, "Sets")
        for set_el in children(container, "Set") if container is not None else []:
            location = self.doc.loc(set_el)
            name = (set_el.get("name") or "").strip()
            keys = _marker_keys(child_text(set_el, "Description") or "")
            members = [norm_guid(m.get("targetGUID")) for m in children(set_el, "MemberSource")]
            transcripts: dict[str, list[str]] = {}
            for guid in members:
                if guid in by_guid:
                    transcripts.setdefault(by_guid[guid].tid, [])
                elif guid in selection_source:
                    transcripts.setdefault(selection_source[guid].tid, []).append(guid)
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
                name if ID_RE.match(name) else slug(name, "set-" + norm_guid(set_el.get("guid"))[:8])
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
                for sel in selections:
                    self.selection_story.setdefault(sel, sid)
        return stories

    # ------------------------------------------------------------------ texts, positions, codings

    def _resolve_texts(
        self,
        sources: list[_Source],
        codes: dict[str, Code],
        coders: dict[str, Coder],
        declared_unit: str | None,
    ) -> None:
        self.evidence_guids: dict[str, str] = {}
        used_ids: set[str] = set()
        hmp_file = self.origin.startswith(HMP_ORIGIN)
        if hmp_file:
            used_ids = {sel.name for s in sources for sel in s.selections if ID_RE.match(sel.name)}
        for source in sources:
            raw, _ = _source_text(self.archive, source)
            positions = TextPositions(raw)
            triples = [(sel.start, sel.end, sel.name) for sel in source.selections]
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
            for sel in source.selections:
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
                    ref = child(coding_el, "CodeRef")
                    code_guid = norm_guid(ref.get("targetGUID")) if ref is not None else ""
                    if code_guid not in codes:
                        raise ReadError(
                            "coding refers to an unknown code",
                            location=self.doc.loc(coding_el),
                            value=code_guid,
                            expected="the GUID of a Code in the project's CodeBook",
                        )
                    code = codes[code_guid].name
                    user = norm_guid(coding_el.get("creatingUser")) or sel.user
                    coder = None
                    if user:
                        if user not in coders:
                            coders[user] = Coder(id=unique_id("u-" + user[:8], self.coder_ids_used))
                        coder = coders[user].id
                    if hmp_file and len(sel.codings) == 1 and ID_RE.match(sel.name):
                        cid = sel.name
                    else:
                        cid = unique_id(coding_id(source.tid, start, end, code), used_ids)
                    created_raw = coding_el.get("creationDateTime") or sel.created or ""
                    source.codings.append(
                        Coding(
                            id=cid,
                            transcript_id=source.tid,
                            start=start,
                            end=end,
                            exact="",
                            code=code,
                            coder=coder,
                            created=_created(created_raw, self.doc.loc(coding_el)),
                            memo=memo,
                            story_id=self.selection_story.get(sel.guid),
                            location=self.doc.loc(coding_el),
                        )
                    )
                    self.evidence_guids.setdefault(norm_guid(coding_el.get("guid")), cid)
                    if index == 0:
                        self.evidence_guids.setdefault(sel.guid, cid)
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


def _source_text(archive: Archive, source: _Source) -> tuple[str, bytes]:
    """The decoded text (BOM removed, line ends as in the file) and the bytes it came from."""
    if source.member is None:
        text = source.inline or ""
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


class _Loader:
    """Re-reads one source's text from the project when asked; holds no texts between calls."""

    def __init__(self, path: Path, sources: Mapping[str, _Source]) -> None:
        self.path = path
        self.sources = sources

    def __call__(self, ref: TranscriptRef) -> TranscriptData:
        source = self.sources[ref.id]
        with Archive(self.path, guard=False) as archive:
            raw, data = _source_text(archive, source)
        text = normalise_newlines(raw)
        codings = [replace(coding, exact=text[coding.start : coding.end]) for coding in source.codings]
        return TranscriptData(ref=ref, text=text, sha256=sha256_hex(data), codings=codings)


__all__ = ["concept_guids", "read_refiqda"]
