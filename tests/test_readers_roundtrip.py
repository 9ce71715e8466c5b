"""folder -> Study -> .qdpx -> Study is lossless; the .qdc codebook export maps back by GUID."""
# ruff: noqa: E501  (hand-written REFI-QDA XML and CSV fixtures read best unbroken)

from __future__ import annotations

import dataclasses
import sys
import uuid
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from kg.concepts import HMP_NS, SCHEMES, concept_index
from kg.model import Severity, Study
from kg.readers import export_codebook, read_study, write_qdpx
from kg.readers._spill import SpilledList

FIXTURE = Path(__file__).parent / "data" / "readers" / "study-basic"
IGNORED = {"location", "guid", "source_file", "position_unit"}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in vars(value).items() if k not in IGNORED}
    if isinstance(value, list | SpilledList):  # readers keep a study's lists on disk
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def content(study: Study) -> dict[str, Any]:
    """Everything a study says, minus where it came from."""
    transcripts = list(study.iter_transcripts())
    return {
        "info": _plain(study.info),
        "participants": _plain(study.participants),
        "transcripts": _plain(study.transcripts),
        "texts": {t.ref.id: t.text for t in transcripts},
        "codings": _plain([c for t in transcripts for c in t.codings]),
        "codes": sorted(_plain(study.codes), key=lambda c: c["name"]),
        "coders": _plain(study.coders),
        "stories": _plain(study.stories),
        "events": _plain(study.events),
    }


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"position_unit": "utf16", "line_ends": "crlf", "bom": True},
        {"position_unit": "utf16", "line_ends": "crlf", "bom": True, "declare_unit": False},
        {"position_unit": "codepoint", "line_ends": "crlf", "declare_unit": False},
    ],
)
def test_folder_qdpx_round_trip(tmp_path: Path, options: dict[str, Any]) -> None:
    original = read_study(FIXTURE)
    out = tmp_path / "mini.qdpx"
    write_qdpx(original, out, **options)
    again = read_study(out)
    assert again.reader == "refi-qda"
    assert content(again) == content(original)
    unit = options.get("position_unit", "codepoint")
    by_id = {t.id: t.position_unit for t in again.transcripts}
    if options.get("declare_unit", True):
        assert by_id["T01"] == unit  # T01 has an emoji, so the unit matters and is recorded
    else:  # T01's only emoji ends its last coding: both readings give the same spans, code points win
        assert by_id["T01"] == "codepoint"


def test_written_project_layout_and_determinism(tmp_path: Path) -> None:
    study = read_study(FIXTURE)
    write_qdpx(study, tmp_path / "a.qdpx")
    write_qdpx(study, tmp_path / "b.qdpx")
    assert (tmp_path / "a.qdpx").read_bytes() == (tmp_path / "b.qdpx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.qdpx") as archive:
        names = archive.namelist()
        root = ElementTree.fromstring(archive.read("project.qde"))
    assert names[0] == "project.qde" and all(n.startswith("sources/") for n in names[1:]) and len(names) == 4
    ns = "{urn:QDA-XML:project:1.0}"
    assert root.tag == f"{ns}Project"
    assert [child.tag.removeprefix(ns) for child in root] == [
        "Users",
        "CodeBook",
        "Variables",
        "Cases",
        "Sources",
        "Notes",
        "Sets",
        "Description",
    ]
    awakening = next(c for c in root.iter(f"{ns}Code") if c.get("name") == "Awakening")
    assert awakening.get("guid") == str(uuid.uuid5(uuid.NAMESPACE_URL, HMP_NS + "stage-awakening"))


def test_model_built_in_python_round_trips(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    try:
        from studybuilder import build_study  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    study = build_study(events=True)
    write_qdpx(study, tmp_path / "demo.qdpx")
    again = read_study(tmp_path / "demo.qdpx")
    before, after = content(study), content(again)
    for key in ("info", "participants", "texts", "codings", "stories", "events"):
        assert after[key] == before[key], key


# --------------------------------------------------------------------------- codebook export


def test_export_codebook_structure(tmp_path: Path) -> None:
    out = tmp_path / "hmp.qdc"
    export_codebook(out)
    root = ElementTree.parse(out).getroot()
    ns = "{urn:QDA-XML:codebook:1.0}"
    assert root.tag == f"{ns}CodeBook"
    tops = list(root.find(f"{ns}Codes") or [])
    assert len(tops) == len(SCHEMES)
    index = concept_index()
    occupation_top = tops[list(SCHEMES).index("occupation")]
    assert occupation_top.get("isCodable") == "false"
    nested = {c.get("guid"): c for c in occupation_top.iter(f"{ns}Code") if c is not occupation_top}
    for concept in index.in_scheme("occupation"):
        code = nested[str(uuid.uuid5(uuid.NAMESPACE_URL, concept.iri))]
        assert code.get("name") == concept.label
        if concept.definition:
            assert code.find(f"{ns}Description").text == concept.definition  # type: ignore[union-attr]
    all_guids = [c.get("guid") for c in root.iter(f"{ns}Code")]
    assert len(all_guids) == len(set(all_guids)) == len(SCHEMES) + len(index.concepts)


def test_codebook_codes_map_back_by_guid(tmp_path: Path) -> None:
    """A team imports the .qdc into their QDA tool, renames codes, codes, exports: concepts come back."""
    qdc = tmp_path / "hmp.qdc"
    export_codebook(qdc)
    cb = "{urn:QDA-XML:codebook:1.0}"
    codes = ElementTree.parse(qdc).getroot().find(f"{cb}Codes")
    assert codes is not None
    stage_scheme = codes[list(SCHEMES).index("stage")]
    awakening_guid = str(uuid.uuid5(uuid.NAMESPACE_URL, HMP_NS + "stage-awakening")).upper()
    for code in stage_scheme.iter(f"{cb}Code"):
        if code.get("guid", "").upper() == awakening_guid:
            code.set("name", "Politisches Erwachen")  # renamed by the team
            code.set("guid", "{" + awakening_guid + "}")  # NVivo style
    codebook_xml = ElementTree.tostring(stage_scheme, encoding="unicode").replace(
        cb[1:-1], "urn:QDA-XML:project:1.0"
    )
    text = "P1: I woke up to politics then."
    project = (
        '<?xml version="1.0"?><Project xmlns="urn:QDA-XML:project:1.0" name="Team">'
        f"<CodeBook><Codes>{codebook_xml}</Codes></CodeBook>"
        '<Sources><TextSource guid="aaaaaaaa-0000-4000-8000-000000000001" name="P1" plainTextPath="internal://p1.txt">'
        '<PlainTextSelection guid="bbbbbbbb-0000-4000-8000-000000000001" startPosition="4" endPosition="25">'
        f'<Coding guid="cccccccc-0000-4000-8000-000000000001"><CodeRef targetGUID="{{{awakening_guid}}}"/></Coding>'
        "</PlainTextSelection></TextSource></Sources></Project>"
    )
    path = tmp_path / "team.qdpx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("project.qde", project)
        archive.writestr("sources/p1.txt", text)
    study = read_study(path)
    codes_by_name = {c.name: c for c in study.codes}
    assert codes_by_name["Politisches Erwachen"].concept == "stage-awakening"
    (data,) = list(study.iter_transcripts())
    assert data.codings[0].code == "Politisches Erwachen" and data.codings[0].exact == "I woke up to politics"
    warnings = [
        f for f in study.findings if f.severity is Severity.WARNING and "maps to no ontology" in f.message
    ]
    assert warnings == []  # the scheme's grouping code is reported as INFO, not as a study concept warning
