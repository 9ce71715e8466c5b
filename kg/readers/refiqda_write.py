"""Write REFI-QDA files: a project (``.qdpx``) from a Study, and our ontology as a codebook (``.qdc``).

The conventions that carry what REFI-QDA has no element for (study metadata, stories, events,
coding ids) are documented in ``kg/readers/README.md``; :mod:`kg.readers.refiqda` reads them back,
so folder -> Study -> .qdpx -> Study is lossless. Output is deterministic (GUIDs are uuid5 of
stable names, zip timestamps fixed).
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path
from xml.etree.ElementTree import Element, ElementTree, SubElement, indent

from rdflib import RDFS, SKOS, Literal, URIRef

from kg import __version__
from kg.concepts import HMP_NS, SCHEMES, Concept, concept_index, ontology_graph
from kg.model import Code, RoleHolding, Study
from kg.readers._common import concept_iri, events_csv, resolve_any, study_info_yaml
from kg.readers._positions import CODEPOINT, UTF16, utf16_offset
from kg.readers.refiqda import EVENTS_NOTE, HMP_ORIGIN, STORY_MARK, STUDY_NOTE

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def concept_guid(concept: str) -> str:
    """The GUID a concept's code has in ``hmp export-codebook`` output: uuid5(NAMESPACE_URL, IRI)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, concept_iri(concept)))


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "urn:hmp:" + ":".join(parts)))


def _datetime(value: dt.date | dt.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value.isoformat() + "T00:00:00Z"


def write_qdpx(
    study: Study,
    out: Path,
    *,
    position_unit: str = CODEPOINT,
    line_ends: str = "lf",
    bom: bool = False,
    declare_unit: bool = True,
) -> None:
    """Write ``study`` as a REFI-QDA project exchange file.

    ``position_unit`` (codepoint | utf16), ``line_ends`` (lf | crlf) and ``bom`` imitate what other
    tools write (NVivo: utf16, crlf, bom). ``declare_unit`` records the unit in the ``hmp:study``
    note; without it a reader has to detect it.
    """
    if position_unit not in (CODEPOINT, UTF16) or line_ends not in ("lf", "crlf"):
        raise ValueError("position_unit must be codepoint|utf16 and line_ends lf|crlf")
    sid = study.info.id
    n = PROJECT_NS

    def tag(name: str) -> str:
        return name

    root = Element(
        tag("Project"), {"xmlns": n, "name": study.info.title, "origin": f"{HMP_ORIGIN} {__version__}"}
    )

    # users
    coder_guid: dict[str, str] = {}
    users = SubElement(root, tag("Users"))
    coder_names = {c.id: c.name for c in study.coders}
    loaded = list(study.iter_transcripts())  # texts are needed for the sources
    for coding in (c for t in loaded for c in t.codings):
        if coding.coder and coding.coder not in coder_names:
            coder_names[coding.coder] = None
    for coder_id, name in coder_names.items():
        coder_guid[coder_id] = _guid(sid, "coder", coder_id)
        SubElement(
            users, tag("User"), {"guid": coder_guid[coder_id], "id": coder_id, "name": name or coder_id}
        )

    # codes
    code_guid: dict[str, str] = {}
    used_concepts: set[str] = set()
    book = SubElement(root, tag("CodeBook"))
    codes_el = SubElement(book, tag("Codes"))
    all_codes = {c.name: c for c in study.codes}
    for coding in (c for t in loaded for c in t.codings):
        all_codes.setdefault(coding.code, Code(name=coding.code))
    kids: dict[str | None, list[Code]] = defaultdict(list)
    for code in all_codes.values():
        kids[code.parent if code.parent in all_codes else None].append(code)

    def add_codes(parent_el: Element, parent: str | None, seen: set[str]) -> None:
        for code in kids.get(parent, []):
            if code.name in seen:
                continue
            seen.add(code.name)
            guid = code.guid
            if guid is None and code.concept and code.concept not in used_concepts:
                guid = concept_guid(code.concept)
                used_concepts.add(code.concept)
            guid = guid or _guid(sid, "code", code.name)
            code_guid[code.name] = guid
            el = SubElement(parent_el, tag("Code"), {"guid": guid, "name": code.name, "isCodable": "true"})
            lines = [code.description] if code.description else []
            if code.concept and guid != concept_guid(code.concept) and resolve_any(code.name) != code.concept:
                lines.append(f"hmp:concept: {code.concept}")
            if lines:
                SubElement(el, tag("Description")).text = "\n".join(lines)
            add_codes(el, code.name, seen)

    add_codes(codes_el, None, set())

    # variables
    participant_columns = [
        ("occupation", "Text"),
        ("current setting", "Text"),
        ("career band", "Text"),
        ("career years", "Integer"),
        ("roles", "Text"),
    ]
    extra = sorted({k for p in study.participants for k in p.attributes})
    variables = [*participant_columns, *((name, "Text") for name in extra), ("interview date", "Date")]
    variables_el = SubElement(root, tag("Variables"))
    var_guid = {}
    for name, kind in variables:
        var_guid[name] = _guid(sid, "variable", name)
        SubElement(
            variables_el, tag("Variable"), {"guid": var_guid[name], "name": name, "typeOfVariable": kind}
        )

    def add_value(parent_el: Element, name: str, value: object, kind: str = "TextValue") -> None:
        if value is None or value == "":
            return
        value_el = SubElement(parent_el, tag("VariableValue"))
        SubElement(value_el, tag("VariableRef"), {"targetGUID": var_guid[name]})
        SubElement(value_el, tag(kind)).text = str(value)

    source_guid = {t.ref.id: _guid(sid, "transcript", t.ref.id) for t in loaded}
    cases = SubElement(root, tag("Cases"))
    for p in study.participants:
        case = SubElement(cases, tag("Case"), {"guid": _guid(sid, "participant", p.id), "name": p.id})
        add_value(case, "occupation", p.occupation)
        add_value(case, "current setting", p.current_setting)
        add_value(case, "career band", p.career_band)
        add_value(case, "career years", p.career_years, "IntegerValue")
        add_value(case, "roles", ";".join(_role_text(r) for r in p.roles))
        for key in sorted(p.attributes):
            add_value(case, key, p.attributes[key])
        for t in loaded:
            if t.ref.participant_id == p.id:
                SubElement(case, tag("SourceRef"), {"targetGUID": source_guid[t.ref.id]})

    # sources, selections and memo notes
    sources = SubElement(root, tag("Sources"))
    notes_el = Element(tag("Notes"))
    story_members: dict[str, list[str]] = defaultdict(list)
    files: dict[str, bytes] = {}
    for t in loaded:
        guid = source_guid[t.ref.id]
        text = t.text.replace("\n", "\r\n") if line_ends == "crlf" else t.text
        files[f"sources/{guid}.txt"] = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
        source = SubElement(
            sources,
            tag("TextSource"),
            {"guid": guid, "name": t.ref.id, "plainTextPath": f"internal://{guid}.txt"},
        )
        for coding in t.codings:
            sel_guid = _guid(sid, "coding", coding.id)
            start_pos = _position(t.text, coding.start, position_unit, line_ends)
            end_pos = _position(t.text, coding.end, position_unit, line_ends)
            attrs = {
                "guid": sel_guid,
                "name": coding.id,
                "startPosition": str(start_pos),
                "endPosition": str(end_pos),
            }
            created = _datetime(coding.created)
            if coding.coder:
                attrs["creatingUser"] = coder_guid[coding.coder]
            if created:
                attrs["creationDateTime"] = created
            sel = SubElement(source, tag("PlainTextSelection"), attrs)
            coding_attrs = {k: v for k, v in attrs.items() if k in ("creatingUser", "creationDateTime")}
            coding_el = SubElement(
                sel, tag("Coding"), {"guid": _guid(sid, "coding-of", coding.id), **coding_attrs}
            )
            SubElement(coding_el, tag("CodeRef"), {"targetGUID": code_guid[coding.code]})
            if coding.memo:
                note_guid = _guid(sid, "memo", coding.id)
                note = SubElement(notes_el, tag("Note"), {"guid": note_guid, "name": f"memo {coding.id}"})
                SubElement(note, tag("PlainTextContent")).text = coding.memo
                SubElement(sel, tag("NoteRef"), {"targetGUID": note_guid})
            if coding.story_id:
                story_members[coding.story_id].append(sel_guid)
        add_value(
            source,
            "interview date",
            t.ref.interview_date.isoformat() if t.ref.interview_date else None,
            "DateValue",
        )

    # study metadata and events as notes
    meta = study_info_yaml(study.info)
    if declare_unit:
        meta += f"position_unit: {position_unit}\n"
    note = SubElement(notes_el, tag("Note"), {"guid": _guid(sid, "note", STUDY_NOTE), "name": STUDY_NOTE})
    SubElement(note, tag("PlainTextContent")).text = meta
    if study.events:
        note = SubElement(
            notes_el, tag("Note"), {"guid": _guid(sid, "note", EVENTS_NOTE), "name": EVENTS_NOTE}
        )
        SubElement(note, tag("PlainTextContent")).text = events_csv(study.events)
    root.append(notes_el)

    # stories as sets
    if study.stories:
        sets = SubElement(root, tag("Sets"))
        for story in study.stories:
            set_el = SubElement(
                sets, tag("Set"), {"guid": _guid(sid, "story", story.id), "name": story.title or story.id}
            )
            SubElement(set_el, tag("Description")).text = "\n".join(
                [
                    STORY_MARK,
                    f"id: {story.id}",
                    f"title: {story.title or ''}",
                    f"initiative: {story.initiative or ''}",
                    f"actors: {'; '.join(story.actors)}",
                ]
            )
            SubElement(set_el, tag("MemberSource"), {"targetGUID": source_guid[story.transcript_id]})
            for member in story_members.get(story.id, []):
                SubElement(set_el, tag("MemberSource"), {"targetGUID": member})
    if study.info.description:
        SubElement(root, tag("Description")).text = study.info.description

    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("project.qde", _ZIP_TIME), _xml_bytes(root), zipfile.ZIP_DEFLATED)
        for name in sorted(files):
            archive.writestr(zipfile.ZipInfo(name, _ZIP_TIME), files[name], zipfile.ZIP_DEFLATED)


def _position(text: str, cp: int, unit: str, line_ends: str) -> int:
    prefix = text[:cp]
    position = cp + (prefix.count("\n") if line_ends == "crlf" else 0)
    if unit == UTF16:
        position += utf16_offset(prefix, len(prefix)) - len(prefix)
    return position


def _role_text(role: RoleHolding) -> str:
    text = role.role + (f"@{role.setting}" if role.setting else "")
    if role.start_year is not None or role.end_year is not None:
        start = "" if role.start_year is None else str(role.start_year)
        end = "" if role.end_year is None else str(role.end_year)
        text += f":{start}-{end}"
    return text


def _xml_bytes(root: Element) -> bytes:
    """Serialise with the namespace declared as the default (``xmlns`` attribute on the root)."""
    indent(root)
    buffer = io.BytesIO()
    ElementTree(root).write(buffer, encoding="utf-8", xml_declaration=True)
    return buffer.getvalue()


def export_codebook(out: Path) -> None:
    """Write the ontology's concept schemes as a REFI-QDA codebook (.qdc, urn:QDA-XML:codebook:1.0).

    One top-level code per scheme (not codable), its concepts nested under it following
    ``skos:broader``; each code's GUID is uuid5(NAMESPACE_URL, concept IRI), its name the
    prefLabel and its description the definition.
    """
    graph = ontology_graph()
    index = concept_index()
    n = CODEBOOK_NS

    def tag(name: str) -> str:
        return name

    root = Element(tag("CodeBook"), {"xmlns": n, "origin": f"{HMP_ORIGIN} {__version__}"})
    codes = SubElement(root, tag("Codes"))
    for key, scheme_local in SCHEMES.items():
        scheme_iri = HMP_NS + scheme_local
        label = graph.value(URIRef(scheme_iri), SKOS.prefLabel) or graph.value(URIRef(scheme_iri), RDFS.label)
        scheme_el = SubElement(
            codes,
            tag("Code"),
            {
                "guid": str(uuid.uuid5(uuid.NAMESPACE_URL, scheme_iri)),
                "name": str(label) if isinstance(label, Literal) else scheme_local,
                "isCodable": "false",
            },
        )
        definition = graph.value(URIRef(scheme_iri), SKOS.definition)
        if isinstance(definition, Literal):
            SubElement(scheme_el, tag("Description")).text = str(definition)
        concepts = index.in_scheme(key)
        in_scheme = {c.iri for c in concepts}
        broader: dict[str | None, list[str]] = defaultdict(list)
        for concept in concepts:
            parent = graph.value(URIRef(concept.iri), SKOS.broader)
            broader[str(parent) if parent is not None and str(parent) in in_scheme else None].append(
                concept.iri
            )
        by_iri = {c.iri: c for c in concepts}

        def add(
            parent_el: Element,
            parent: str | None,
            seen: set[str],
            broader: dict[str | None, list[str]] = broader,
            by_iri: dict[str, Concept] = by_iri,
        ) -> None:
            for iri in broader.get(parent, []):
                if iri in seen:
                    continue
                seen.add(iri)
                concept = by_iri[iri]
                el = SubElement(
                    parent_el,
                    tag("Code"),
                    {"guid": concept_guid(iri), "name": concept.label or concept.local, "isCodable": "true"},
                )
                if concept.definition:
                    SubElement(el, tag("Description")).text = concept.definition
                add(el, iri, seen)

        add(scheme_el, None, set())
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(_xml_bytes(root))


__all__ = ["concept_guid", "export_codebook", "write_qdpx"]
