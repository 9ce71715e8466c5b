"""The REFI-QDA reader on hand-made projects that imitate real NVivo / QualCoder / ATLAS.ti exports."""
# ruff: noqa: E501  (hand-written REFI-QDA XML and CSV fixtures read best unbroken)

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kg.errors import ReadError, UnsafeInputError
from kg.model import Severity, Study
from kg.readers import read_study
from kg.readers._positions import UTF16, Reading, TextPositions

USER = "{5A7B1C2D-0000-4000-8000-00000000000A}"
CODES = {  # name -> GUID as an NVivo export spells it (upper case, braces)
    "Awakening": "{0B5C0F4E-1111-4000-8000-000000000001}",
    "Frustration": "{0B5C0F4E-1111-4000-8000-000000000002}",
    "ward politics": "{0B5C0F4E-1111-4000-8000-000000000003}",
    "Emotions": "{0B5C0F4E-1111-4000-8000-000000000004}",
}
VARS = {
    "Occupation": "{9F000000-0000-4000-8000-000000000001}",
    "Care setting": "{9F000000-0000-4000-8000-000000000002}",
    "Career length": "{9F000000-0000-4000-8000-000000000003}",
    "Roles": "{9F000000-0000-4000-8000-000000000004}",
    "Gender": "{9F000000-0000-4000-8000-000000000005}",
}
SOURCE = "{C0FFEE00-0000-4000-8000-000000000001}"
TEXT = (
    "Interviewer: How was it? 😀\r\n"
    "P07: I felt 😡 about the board. They decided everything 🙄 without us.\r\n"
    "Interviewer: And then?\r\n"
    "P07: Then 🎉 I became clinical director and learned the game.\r\n"
)
QUOTES = [  # (quote, code)
    ("the board", "Frustration"),
    ("They decided everything", "ward politics"),
    ("without us", "ward politics"),
    ("I became clinical director", "Awakening"),
    ("learned the game", "Awakening"),
]


def u16(text: str, cp: int) -> int:
    return len(text[:cp].encode("utf-16-le")) // 2


def selections(
    text: str, *, unit: str = "codepoint", crlf_counted: bool = True, note: str | None = None
) -> str:
    counted = text if crlf_counted else text.replace("\r\n", "\n")
    out = []
    for n, (quote, code) in enumerate(QUOTES):
        start = counted.index(quote)
        end = start + len(quote)
        if unit == UTF16:
            start, end = u16(counted, start), u16(counted, end)
        note_ref = f'<NoteRef targetGUID="{note}"/>' if note and n == 0 else ""
        out.append(
            f'<PlainTextSelection guid="{{AB000000-0000-4000-8000-00000000000{n}}}" name="{quote}" '
            f'startPosition="{start}" endPosition="{end}" creatingUser="{USER}" '
            f'creationDateTime="2021-02-03T10:11:12Z"><Coding guid="{{CD000000-0000-4000-8000-00000000000{n}}}" '
            f'creatingUser="{USER}"><CodeRef targetGUID="{CODES[code]}"/></Coding>{note_ref}</PlainTextSelection>'
        )
    return "".join(out)


def codebook(ns: str | None = None) -> str:
    xmlns = f' xmlns="{ns}"' if ns else ""
    return (
        f"<CodeBook{xmlns}><Codes>"
        f'<Code guid="{CODES["Awakening"]}" name="Awakening" isCodable="true"/>'
        f'<Code guid="{CODES["Emotions"]}" name="Emotions" isCodable="true">'
        f'<Code guid="{CODES["Frustration"]}" name="Frustration" isCodable="true"><Description>anger</Description></Code>'
        f"</Code>"
        f'<Code guid="{CODES["ward politics"]}" name="ward politics" isCodable="true"/>'
        f"</Codes></CodeBook>"
    )


def case(name: str = "P07", source: str = SOURCE, **values: str) -> str:
    values = values or {"Occupation": "Doctor", "Care setting": "General hospital", "Career length": "21-30"}
    body = "".join(
        f'<VariableValue><VariableRef targetGUID="{VARS[k]}"/><TextValue>{v}</TextValue></VariableValue>'
        for k, v in values.items()
    )
    return f'<Case guid="{{CA5E0000-0000-4000-8000-000000000001}}" name="{name}">{body}<SourceRef targetGUID="{source}"/></Case>'


def project(
    sources: str,
    *,
    cases: str | None = None,
    extra: str = "",
    codes: str | None = None,
    prolog: str = '<?xml version="1.0" encoding="utf-8"?>\n',
) -> str:
    variables = "".join(f'<Variable guid="{g}" name="{n}" typeOfVariable="Text"/>' for n, g in VARS.items())
    return (
        f'{prolog}<Project xmlns="urn:QDA-XML:project:1.0" name="Ward study" origin="NVivo 14.23">\n'
        f'<Users><User guid="{USER}" name="Rachel W"/></Users>\n'
        f"{codes if codes is not None else codebook()}\n"
        f"<Variables>{variables}</Variables>\n"
        f"<Cases>{case() if cases is None else cases}</Cases>\n"
        f"<Sources>{sources}</Sources>\n{extra}</Project>\n"
    )


def text_source(path: str, body: str, *, guid: str = SOURCE, name: str = "P07 interview.docx") -> str:
    return f'<TextSource guid="{guid}" name="{name}" plainTextPath="{path}">{body}</TextSource>'


def qdpx(tmp_path: Path, members: dict[str, bytes | str], name: str = "study.qdpx") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def nvivo_like(tmp_path: Path, **kwargs: str) -> Path:
    """NVivo (Windows): UTF-16 positions over the CRLF text, BOM, Sources/, braced upper-case GUIDs."""
    xml = project(text_source("internal://C0FFEE00.txt", selections(TEXT, unit=UTF16)), **kwargs)
    return qdpx(tmp_path, {"Ward study.qde": xml, "Sources/C0FFEE00.txt": b"\xef\xbb\xbf" + TEXT.encode()})


def expected_quotes(study: Study) -> list[tuple[str, str]]:
    (data,) = list(study.iter_transcripts())
    for c in data.codings:
        assert data.text[c.start : c.end] == c.exact
    return [(c.exact, c.code) for c in data.codings]


# --------------------------------------------------------------------------- real-export quirks


def test_nvivo_like_export(tmp_path: Path) -> None:
    study = read_study(nvivo_like(tmp_path))
    assert study.reader == "refi-qda" and study.source_sha256 is not None
    assert expected_quotes(study) == QUOTES
    (ref,) = study.transcripts
    assert (ref.id, ref.participant_id, ref.position_unit) == ("P07-interview", "P07", "utf16")
    assert ref.source_file == "Sources/C0FFEE00.txt"
    infos = [f for f in study.findings if f.severity is Severity.INFO and "UTF-16" in f.message]
    assert len(infos) == 1 and "detected" in infos[0].message
    (data,) = list(study.iter_transcripts())
    assert "\r" not in data.text and not data.text.startswith("\ufeff")
    (p,) = study.participants
    assert (p.occupation, p.current_setting, p.career_band) == (
        "occupation-doctor",
        "setting-general-hospital",
        "band-21-30",
    )
    codes = {c.name: c for c in study.codes}
    assert codes["Frustration"].parent == "Emotions" and codes["Frustration"].concept == "emotion-frustration"
    assert codes["Frustration"].guid == "0b5c0f4e-1111-4000-8000-000000000002"  # no braces, lower case
    assert codes["Awakening"].concept == "stage-awakening"
    assert codes["ward politics"].concept is None
    assert not any("ward politics" in f.message for f in study.findings)  # the shapes report it
    (coder,) = study.coders
    assert coder.name == "Rachel W" and data.codings[0].coder == coder.id
    assert data.codings[0].created == dt.datetime(2021, 2, 3, 10, 11, 12, tzinfo=dt.UTC)


def test_qualcoder_like_export_codepoints_lowercase(tmp_path: Path) -> None:
    """QualCoder: code points, project.qde, sources/, no internal:// prefix, lower-case GUIDs, LF."""
    text = TEXT.replace("\r\n", "\n")
    xml = project(text_source("c0ffee00.txt", selections(text), guid=SOURCE.lower()))
    xml = xml.replace(SOURCE, SOURCE.lower().strip("{}"))
    path = qdpx(tmp_path, {"project.qde": xml, "sources/c0ffee00.txt": text})
    study = read_study(path)
    assert expected_quotes(study) == QUOTES
    assert study.transcripts[0].position_unit == "codepoint"
    assert study.transcripts[0].participant_id == "P07"


def test_positions_over_lf_text_of_a_crlf_file(tmp_path: Path) -> None:
    xml = project(text_source("internal://x.txt", selections(TEXT, crlf_counted=False)))
    study = read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    assert expected_quotes(study) == QUOTES
    assert any("code points" in f.message and "CR of CRLF" not in f.message for f in study.findings)


def test_codebook_namespace_0_4_accepted(tmp_path: Path) -> None:
    for ns in ("urn:QDA-XML:codebook:0:4", "urn:QDA-XML:codebook:1.0"):
        study = read_study(nvivo_like(tmp_path, codes=codebook(ns)))
        assert {c.name for c in study.codes} == set(CODES)


def test_inline_plain_text_content_in_bare_qde(tmp_path: Path) -> None:
    text = TEXT.replace("\r\n", "\n")
    body = f"<PlainTextContent>{text}</PlainTextContent>{selections(text)}"
    path = tmp_path / "export.qde"
    path.write_text(project(f'<TextSource guid="{SOURCE}" name="P07">{body}</TextSource>'), encoding="utf-8")
    study = read_study(path)
    assert expected_quotes(study) == QUOTES


def test_bare_qde_with_sources_folder_beside_it(tmp_path: Path) -> None:
    (tmp_path / "Sources").mkdir()
    (tmp_path / "Sources" / "x.txt").write_bytes(TEXT.encode())
    path = tmp_path / "export.qde"
    path.write_text(project(text_source("internal://x.txt", selections(TEXT, unit=UTF16))), encoding="utf-8")
    assert expected_quotes(read_study(path)) == QUOTES


def test_notes_become_memos_or_info_findings(tmp_path: Path) -> None:
    note = "{A0000000-0000-4000-8000-0000000000AA}"
    notes = (
        f'<Notes><Note guid="{note}" name="memo"><PlainTextContent>board = trust board</PlainTextContent></Note>'
        '<Note guid="{A0000000-0000-4000-8000-0000000000BB}" name="diary">'
        "<PlainTextContent>Coding diary: revisit</PlainTextContent></Note></Notes>"
    )
    xml = project(text_source("internal://x.txt", selections(TEXT, unit=UTF16, note=note)), extra=notes)
    study = read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    (data,) = list(study.iter_transcripts())
    assert data.codings[0].memo == "board = trust board" and data.codings[1].memo is None
    assert any(f.severity is Severity.INFO and "Coding diary" in f.message for f in study.findings)


def test_sets_become_stories(tmp_path: Path) -> None:
    sets = (
        '<Sets><Set guid="{5E700000-0000-4000-8000-000000000001}" name="Theatre redesign">'
        "<Description>hmp:story\nid: S1\ninitiative: service redesign\nactors: surgeons; the board</Description>"
        f'<MemberSource targetGUID="{SOURCE}"/>'
        '<MemberSource targetGUID="{AB000000-0000-4000-8000-000000000003}"/></Set>'
        '<Set guid="{5E700000-0000-4000-8000-000000000002}" name="Plain NVivo set">'
        '<MemberSource targetGUID="{ab000000-0000-4000-8000-000000000000}"/></Set>'
        '<Set guid="{5E700000-0000-4000-8000-000000000003}" name="Codes only">'
        f'<MemberCode targetGUID="{CODES["Awakening"]}"/></Set></Sets>'
    )
    xml = project(text_source("internal://x.txt", selections(TEXT, unit=UTF16)), extra=sets)
    study = read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    s1, plain = study.stories
    assert (s1.id, s1.transcript_id, s1.initiative, s1.actors, s1.title) == (
        "S1",
        "P07-interview",
        "initiative-service-redesign",
        ["actor-surgeons", "actor-board"],
        "Theatre redesign",
    )
    assert (plain.id, plain.title) == ("Plain-NVivo-set", "Plain NVivo set")
    (data,) = list(study.iter_transcripts())
    assert [c.story_id for c in data.codings] == ["Plain-NVivo-set", None, None, "S1", None]
    assert any("Codes only" in f.message for f in study.findings)


def test_participants_csv_supplies_and_overrides(tmp_path: Path) -> None:
    csv_path = tmp_path / "participants.csv"
    csv_path.write_text(
        "id,occupation,career_years,roles,site\nP07,,24,clinical director@general hospital:18-,north\n"
        "P99,nurse,,,\n",
        encoding="utf-8",
    )
    path = nvivo_like(tmp_path, cases=case(Occupation="nurse"))
    study = read_study(path, participants_csv=csv_path)
    p07, p99 = study.participants
    assert (p07.occupation, p07.career_years, p07.attributes) == ("occupation-nurse", 24, {"site": "north"})
    assert p07.roles[0].role == "role-clinical-director" and p07.roles[0].start_year == 18
    assert (p99.id, p99.occupation) == ("P99", "occupation-nurse")


def test_source_without_case_becomes_participant_with_warning(tmp_path: Path) -> None:
    study = read_study(nvivo_like(tmp_path, cases=""))
    assert study.participants[0].id == "P07-interview" and study.participants[0].occupation is None
    assert any(f.severity is Severity.WARNING and "belongs to no case" in f.message for f in study.findings)


def test_unknown_case_variable_values_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError) as info:
        read_study(nvivo_like(tmp_path, cases=case(Occupation="astronaut")))
    assert (
        "unknown occupation" in str(info.value)
        and "'doctor'" in str(info.value)
        and "line" in str(info.value)
    )


def test_other_case_variables_kept_as_attributes(tmp_path: Path) -> None:
    study = read_study(nvivo_like(tmp_path, cases=case(Occupation="doctor", Gender="female")))
    assert study.participants[0].attributes == {"Gender": "female"}


# --------------------------------------------------------------------------- bad input


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "broken.qdpx"
    path.write_text("this is not a zip")
    with pytest.raises(ReadError) as info:
        read_study(path)
    assert "not a zip archive" in str(info.value) and "broken.qdpx" in str(info.value)


def test_no_qde_inside(tmp_path: Path) -> None:
    path = qdpx(tmp_path, {"sources/x.txt": TEXT, "readme.md": "hi"})
    with pytest.raises(ReadError) as info:
        read_study(path)
    assert "no .qde" in str(info.value) and "sources/x.txt" in str(info.value)


def test_malformed_xml_has_line_and_column(tmp_path: Path) -> None:
    xml = project(text_source("internal://x.txt", "")).replace("</Sources>", "</Source>")
    with pytest.raises(ReadError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    error = info.value
    assert not isinstance(error, UnsafeInputError)
    assert error.location is not None and error.location.line == 7 and error.location.column is not None
    assert "project.qde" in str(error) and "malformed XML" in str(error)


def test_doctype_with_external_entity_is_never_resolved(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    prolog = f'<?xml version="1.0"?>\n<!DOCTYPE Project [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
    xml = project(text_source("internal://x.txt", ""), prolog=prolog).replace(
        'name="Ward study"', 'name="&xxe;"'
    )
    with pytest.raises(UnsafeInputError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    assert "TOP SECRET" not in str(info.value) and "DOCTYPE" in str(info.value)


@pytest.mark.parametrize(
    "bad", ["internal://../x.txt", "internal://sources/../../etc/passwd", "/etc/passwd", "C:\\x.txt"]
)
def test_source_outside_the_archive(tmp_path: Path, bad: str) -> None:
    xml = project(text_source(bad, ""))
    with pytest.raises(UnsafeInputError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    assert repr(bad) in str(info.value) and "project.qde" in str(info.value)


def test_external_file_reference(tmp_path: Path) -> None:
    xml = project(text_source("file:///home/me/x.txt", ""))
    with pytest.raises(ReadError, match="outside the project"):
        read_study(qdpx(tmp_path, {"project.qde": xml}))


def test_zip_bomb_rejected_before_reading(tmp_path: Path) -> None:
    xml = project(text_source("internal://x.txt", ""))
    path = qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": b"\0" * (16 * 1024 * 1024)})
    assert path.stat().st_size < 100_000
    with pytest.raises(UnsafeInputError) as info:
        read_study(path)
    assert "zip bomb" in str(info.value) and "sources/x.txt" in str(info.value)


def test_total_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.readers import _archive

    monkeypatch.setattr(_archive, "LIMITS", _archive.ZipLimits(max_total_bytes=1000))
    path = nvivo_like(tmp_path)
    with pytest.raises(UnsafeInputError, match="expand to"):
        read_study(path)


def test_missing_source_file(tmp_path: Path) -> None:
    xml = project(text_source("internal://missing.txt", ""))
    with pytest.raises(ReadError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    assert "not found" in str(info.value) and "sources/missing.txt" in str(info.value)


def test_non_utf8_source(tmp_path: Path) -> None:
    xml = project(text_source("internal://x.txt", ""))
    with pytest.raises(ReadError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": b"caf\xe9"}))
    assert "sources/x.txt" in str(info.value) and "byte offset 3" in str(info.value)


def test_selection_outside_text(tmp_path: Path) -> None:
    sel = (
        '<PlainTextSelection guid="{AB000000-0000-4000-8000-000000000000}" startPosition="5" endPosition="5000">'
        f'<Coding guid="{{CD000000-0000-4000-8000-000000000000}}"><CodeRef targetGUID="{CODES["Awakening"]}"/>'
        "</Coding></PlainTextSelection>"
    )
    with pytest.raises(ReadError) as info:
        read_study(
            qdpx(
                tmp_path,
                {"project.qde": project(text_source("internal://x.txt", sel)), "sources/x.txt": TEXT},
            )
        )
    assert "outside the text" in str(info.value) and "5-5000" in str(info.value) and "line" in str(info.value)


def test_coding_with_unknown_code(tmp_path: Path) -> None:
    sel = (
        '<PlainTextSelection guid="{AB000000-0000-4000-8000-000000000000}" startPosition="0" endPosition="5">'
        '<Coding guid="{CD000000-0000-4000-8000-000000000000}"><CodeRef targetGUID="{DEADBEEF-0000-4000-8000-000000000000}"/>'
        "</Coding></PlainTextSelection>"
    )
    with pytest.raises(ReadError) as info:
        read_study(
            qdpx(
                tmp_path,
                {"project.qde": project(text_source("internal://x.txt", sel)), "sources/x.txt": TEXT},
            )
        )
    assert "unknown code" in str(info.value) and "deadbeef" in str(info.value)


def test_not_a_refi_project(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="not a REFI-QDA project"):
        read_study(qdpx(tmp_path, {"project.qde": '<html xmlns="http://www.w3.org/1999/xhtml"/>'}))


# --------------------------------------------------------------------------- positions, property-based

ASTRAL = st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF)
TEXT_CHARS = st.one_of(
    st.characters(blacklist_categories=("Cs",)), ASTRAL, st.sampled_from(["\r\n", "\n", " "])
)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT_CHARS, min_size=1, max_size=80).map("".join), st.data())
def test_utf16_and_crlf_offsets_convert_for_arbitrary_unicode(raw: str, data: st.DataObject) -> None:
    positions = TextPositions(raw)
    stored = positions.stored
    start = data.draw(st.integers(0, len(stored)))
    end = data.draw(st.integers(start, len(stored)))
    # where the same span lies in the raw (CRLF) text, counted in UTF-16 units and in code points
    raw_index = [
        i
        for i in range(len(raw) + 1)
        if not (i > 0 and raw[i - 1] == "\r" and i < len(raw) and raw[i] == "\n")
    ]
    raw_start, raw_end = raw_index[start], raw_index[end]
    for reading, (s, e) in [
        (Reading("codepoint", True), (raw_start, raw_end)),
        (Reading(UTF16, True), (u16(raw, raw_start), u16(raw, raw_end))),
        (Reading(UTF16, False), (u16(stored, start), u16(stored, end))),
        (Reading("codepoint", False), (start, end)),
    ]:
        assert (positions.to_stored(s, reading), positions.to_stored(e, reading)) == (start, end)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(["word", "emoji 😀", "🎉", "naïve", "\r\n", " ", ".", "x"]), min_size=3, max_size=30
    )
)
def test_nvivo_style_utf16_projects_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, parts: list[str]
) -> None:
    text = " ".join(parts) + " the board. "
    stored = text.replace("\r\n", "\n")
    quote_start = stored.rindex("the board")
    counted_start = text.rindex("the board")
    s, e = u16(text, counted_start), u16(text, counted_start + 9)
    sel = (
        f'<PlainTextSelection guid="{{AB000000-0000-4000-8000-000000000000}}" startPosition="{s}" endPosition="{e}">'
        f'<Coding guid="{{CD000000-0000-4000-8000-000000000000}}"><CodeRef targetGUID="{CODES["Awakening"]}"/>'
        "</Coding></PlainTextSelection>"
    )
    tmp = tmp_path_factory.mktemp("nv")
    path = qdpx(
        tmp, {"project.qde": project(text_source("internal://x.txt", sel)), "sources/x.txt": "\ufeff" + text}
    )
    (data,) = list(read_study(path).iter_transcripts())
    (coding,) = data.codings
    assert (coding.start, coding.exact) == (quote_start, "the board")


def test_archive_reads_members_in_memory_only(tmp_path: Path) -> None:
    path = nvivo_like(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    read_study(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_zip_helper_is_valid() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.qde", "<x/>")
    assert zipfile.is_zipfile(io.BytesIO(buffer.getvalue()))


def test_per_member_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.readers import _archive

    monkeypatch.setattr(_archive, "LIMITS", _archive.ZipLimits(max_member_bytes=100))
    with pytest.raises(UnsafeInputError) as info:
        read_study(nvivo_like(tmp_path))
    assert "would expand to" in str(info.value) and "at most 100 bytes per member" in str(info.value)


def test_selection_with_two_codings_and_two_coders(tmp_path: Path) -> None:
    other = "{5A7B1C2D-0000-4000-8000-00000000000B}"
    start = TEXT.index("the board")
    sel = (
        f'<PlainTextSelection guid="{{AB000000-0000-4000-8000-000000000000}}" startPosition="{u16(TEXT, start)}" '
        f'endPosition="{u16(TEXT, start + 9)}" creatingUser="{USER}">'
        f'<Coding guid="{{CD000000-0000-4000-8000-000000000001}}"><CodeRef targetGUID="{CODES["Frustration"]}"/></Coding>'
        f'<Coding guid="{{CD000000-0000-4000-8000-000000000002}}" creatingUser="{other}"><CodeRef targetGUID="{CODES["Frustration"]}"/></Coding>'
        "</PlainTextSelection>"
    )
    xml = project(text_source("internal://x.txt", sel + selections(TEXT, unit=UTF16)))
    xml = xml.replace("</Users>", f'<User guid="{other}" name="Second Coder" id="sc"/></Users>')
    study = read_study(qdpx(tmp_path, {"a.qde": xml, "b.qde": xml, "sources/x.txt": TEXT}))
    (data,) = list(study.iter_transcripts())
    first, second = data.codings[:2]
    assert first.exact == second.exact == "the board" and first.id != second.id
    assert (first.coder, second.coder) == ("rachel-w", "sc")
    assert any("several .qde" in f.message for f in study.findings)


def test_project_xml_streams_yet_malformed_xml_is_reported_before_a_bad_selection(tmp_path: Path) -> None:
    """Sources and Sets are handed over element by element while the XML is parsed; problems in
    them still wait until the whole XML is known to be well-formed, as when it was parsed at once."""
    bad = '<PlainTextSelection guid="{AB000000-0000-4000-8000-000000000000}" endPosition="5"/>'
    xml = project(text_source("internal://x.txt", bad), extra="<Sets><Set name='x'></Sets>")
    with pytest.raises(ReadError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}))
    assert "malformed XML" in str(info.value)
    xml = project(text_source("internal://x.txt", bad))
    with pytest.raises(ReadError) as info:
        read_study(qdpx(tmp_path, {"project.qde": xml, "sources/x.txt": TEXT}, name="good-xml.qdpx"))
    assert "selection has no valid startPosition" in str(info.value) and "line 7" in str(info.value)


def test_transcripts_load_again_and_in_any_order_from_the_spill(tmp_path: Path) -> None:
    import gc

    second = "{C0FFEE00-0000-4000-8000-000000000002}"
    sources = text_source("internal://a.txt", selections(TEXT, unit=UTF16)) + text_source(
        "internal://b.txt", selections(TEXT), guid=second, name="P08 interview.txt"
    )
    xml = project(sources)
    path = qdpx(tmp_path, {"project.qde": xml, "sources/a.txt": TEXT, "sources/b.txt": TEXT})
    study = read_study(path)
    assert study.loader is not None
    first = list(study.iter_transcripts())
    backwards = [study.loader(ref) for ref in reversed(study.transcripts)]
    assert [(t.ref.id, t.codings) for t in first] == [(t.ref.id, t.codings) for t in reversed(backwards)]
    assert [len(t.codings) for t in first] == [len(QUOTES), len(QUOTES)]
    assert all(c.exact == q for t in first for c, (q, _) in zip(t.codings, QUOTES, strict=True))
    spill = Path(study.loader.spill.directory)  # type: ignore[attr-defined]
    assert spill.is_dir()
    del study, first, backwards
    gc.collect()
    assert not spill.exists()
