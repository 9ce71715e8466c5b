"""The native study-folder reader: the fixture study reads completely, and every bad input is a clear error."""
# ruff: noqa: E501  (hand-written REFI-QDA XML and CSV fixtures read best unbroken)

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kg.errors import ReadError
from kg.model import Severity, Study
from kg.readers import read_study

FIXTURE = Path(__file__).parent / "data" / "readers" / "study-basic"


@pytest.fixture
def study() -> Study:
    return read_study(FIXTURE)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "study"
    shutil.copytree(FIXTURE, target)
    return target


def _edit(path: Path, change: Callable[[str], str]) -> None:
    path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")


def _error(folder: Path) -> ReadError:
    with pytest.raises(ReadError) as info:
        study = read_study(folder)
        list(study.iter_transcripts())  # text-level checks happen when texts are loaded
    return info.value


# --------------------------------------------------------------------------- the good study


def test_study_metadata(study: Study) -> None:
    info = study.info
    assert (info.id, info.period_start, info.period_end) == ("mini-study", 2018, 2020)
    assert info.text_access_tier == "registered" and info.synthetic is True
    assert info.licence == "https://creativecommons.org/licenses/by/4.0/"
    assert info.creators == ["HMP test team"] and info.base_iri == "https://w3id.org/hmp/"
    assert study.reader == "folder" and study.source_sha256 is None


def test_participants_normalised_to_concepts(study: Study) -> None:
    p01, p02, p03 = study.participants
    assert (p01.occupation, p01.current_setting, p01.career_band, p01.career_years) == (
        "occupation-doctor",
        "setting-general-hospital",
        "band-21-30",
        24,
    )
    assert [(r.role, r.setting, r.start_year, r.end_year) for r in p01.roles] == [
        ("role-consultant", "setting-general-hospital", 8, 17),
        ("role-medical-director", "setting-general-hospital", 18, None),
    ]
    assert p01.attributes == {"gender": "female"}
    assert (p02.occupation, p02.current_setting, p02.career_band) == (
        "occupation-nurse",
        "setting-community-care",
        "band-11-20",
    )
    assert (p03.occupation, p03.career_band, p03.roles[0].role) == (
        "occupation-manager",
        "band-not-stated",
        "role-service-manager",
    )
    assert p01.location is not None and p01.location.row == 2


def test_transcripts_interviews_and_lazy_texts(study: Study) -> None:
    assert [(t.id, t.participant_id, t.interview_date) for t in study.transcripts] == [
        ("T01", "P01", dt.date(2019, 3, 2)),
        ("T02", "P02", dt.date(2019, 4, 11)),
        ("P03", "P03", None),
    ]
    texts = {t.ref.id: t for t in study.iter_transcripts()}
    assert "\r" not in texts["T02"].text  # CRLF normalised
    assert texts["P03"].text.startswith("Interviewer:")  # BOM stripped
    raw = (FIXTURE / "transcripts" / "P03.txt").read_bytes()
    import hashlib

    assert texts["P03"].sha256 == hashlib.sha256(raw).hexdigest()


def test_codings_resolved_and_exact(study: Study) -> None:
    codings = {c.id: c for t in study.iter_transcripts() for c in t.codings}
    assert len(codings) == 7
    for t in study.iter_transcripts():
        for c in t.codings:
            assert t.text[c.start : c.end] == c.exact
    awake = codings["c-awake"]
    assert (awake.exact, awake.code, awake.coder, awake.created, awake.memo, awake.story_id) == (
        "I had to take sides",
        "Awakening",
        "r-watson",
        dt.date(2019, 5, 1),
        "first clear awakening",
        "S01",
    )
    located = codings["c-post"]  # quote only: located by the reader, over CRLF-normalised text
    assert located.exact == "When I got the permanent post everything changed." and located.start == 51
    emoji = next(c for c in codings.values() if c.code == "organisational memory")
    assert emoji.exact.endswith("🙂")
    generated = [i for i in codings if i not in ("c-awake", "c-post")]
    assert all(i.startswith("c-") and len(i) == 14 for i in generated)
    assert {c.name for c in study.coders} == {"R. Watson", "J. Doe"}


def test_generated_coding_ids_are_deterministic() -> None:
    first = [c.id for t in read_study(FIXTURE).iter_transcripts() for c in t.codings]
    second = [c.id for t in read_study(FIXTURE).iter_transcripts() for c in t.codings]
    assert first == second


def test_codes_mapped_and_study_concepts_kept(study: Study) -> None:
    codes = {c.name: c for c in study.codes}
    assert codes["Awakening"].concept == "stage-awakening"
    assert codes["Normalisation"].concept == "stage-normalisation"  # suffix of the local name
    assert codes["Shock"].parent == "Emotions"
    assert codes["negotiation"].concept == "skill-negotiation"  # not in the codebook: any scheme
    assert codes["soft power and influence"].concept == "skill-soft-power"  # by label
    assert codes["organisational memory"].concept is None
    assert codes["organisational memory"].location is not None
    assert codes["organisational memory"].location.file.endswith("codebook.csv")
    # kept as a study concept: the shapes report that (hmpsh:Concept-study-code), not the reader
    assert [f for f in study.findings if f.severity is Severity.WARNING] == []


def test_stories_and_events(study: Study) -> None:
    s01, s02 = study.stories
    assert (s01.initiative, s01.actors, s01.title) == (
        "initiative-service-redesign",
        ["actor-consultants", "actor-trust-executives"],
        "The reconfiguration",
    )
    assert (s02.initiative, s02.title) == (None, None)
    e01, e02 = study.events
    assert (e01.stage, e01.career_year, e01.career_stage, e01.triggers, e01.evidence) == (
        "stage-awakening",
        18,
        "career-stage-mid",
        ["trigger-leading-a-change"],
        ["c-awake"],
    )
    assert e02.evidence == ["c-post"]


def test_without_interviews_csv_transcripts_belong_to_participant_of_same_id(folder: Path) -> None:
    (folder / "interviews.csv").unlink()
    for name in ("T01", "T02"):
        (folder / "transcripts" / f"{name}.txt").unlink()
    _edit(
        folder / "codings.csv",
        lambda t: "\n".join(line for line in t.splitlines() if ",P03," in line or line.startswith("id")),
    )
    (folder / "stories.csv").unlink()
    (folder / "events.csv").unlink()
    study = read_study(folder)
    assert [(t.id, t.participant_id) for t in study.transcripts] == [("P03", "P03")]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", ["study.yaml", "participants.csv", "codings.csv"])
def test_missing_required_file(folder: Path, name: str) -> None:
    (folder / name).unlink()
    error = _error(folder)
    assert name in str(error) and "study.yaml, participants.csv" in str(error)


def test_missing_transcripts_dir(folder: Path) -> None:
    shutil.rmtree(folder / "transcripts")
    assert "transcripts" in str(_error(folder))


def test_malformed_yaml(folder: Path) -> None:
    (folder / "study.yaml").write_text("id: x\ntitle: [unclosed\n", encoding="utf-8")
    error = _error(folder)
    assert error.location is not None and error.location.file.endswith("study.yaml")
    assert error.location.line is not None and "malformed YAML" in error.message


def test_study_yaml_without_title(folder: Path) -> None:
    (folder / "study.yaml").write_text("id: x\n", encoding="utf-8")
    assert "title" in str(_error(folder))


def test_bad_study_id(folder: Path) -> None:
    (folder / "study.yaml").write_text("id: my study\ntitle: t\n", encoding="utf-8")
    error = _error(folder)
    assert "my study" in str(error) and "letters, digits" in str(error)


def test_malformed_csv_too_many_fields(folder: Path) -> None:
    _edit(folder / "participants.csv", lambda t: t + "P09,doctor,,,,,x,extra,fields\n")
    error = _error(folder)
    assert error.location is not None and error.location.row == 5
    assert "participants.csv" in str(error) and "header" in str(error)


def test_malformed_csv_bad_quoting(folder: Path) -> None:
    _edit(folder / "stories.csv", lambda t: t + 'S03,T01,"unclosed"x,,\n')
    error = _error(folder)
    assert "malformed CSV" in error.message and "stories.csv" in str(error)


def test_missing_column(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t.replace(",code,", ",kode,", 1))
    error = _error(folder)
    assert "missing column(s) code" in str(error) and error.location is not None and error.location.row == 1


def test_unknown_occupation_lists_accepted(folder: Path) -> None:
    _edit(folder / "participants.csv", lambda t: t.replace("P02,Nurse", "P02,astronaut"))
    error = _error(folder)
    assert "unknown occupation" in str(error) and "'astronaut'" in str(error)
    assert "participants.csv, row 3" in str(error) and "'doctor'" in str(error) and "'nurse'" in str(error)


def test_unknown_role_lists_accepted(folder: Path) -> None:
    _edit(folder / "participants.csv", lambda t: t.replace("service manager", "wizard"))
    error = _error(folder)
    assert "unknown role" in str(error) and "'matron'" in str(error) and "row 4" in str(error)


def test_role_start_after_end(folder: Path) -> None:
    _edit(
        folder / "participants.csv",
        lambda t: t.replace("consultant@general-hospital:8-17", "consultant:17-8"),
    )
    error = _error(folder)
    assert "starts after it ends" in str(error) and "row 2" in str(error) and "consultant:17-8" in str(error)


def test_career_years_must_agree_with_band(folder: Path) -> None:
    _edit(folder / "participants.csv", lambda t: t.replace("21-30,24", "21-30,35"))
    error = _error(folder)
    assert "does not fall in career band" in str(error) and "21-30" in str(error) and "row 2" in str(error)


def test_unknown_code_in_codebook_mapping(folder: Path) -> None:
    _edit(folder / "codebook.csv", lambda t: t.replace("stage-awakening", "stage-enlightenment"))
    error = _error(folder)
    assert "unknown concept" in str(error) and "stage-enlightenment" in str(error)
    assert "codebook.csv, row 2" in str(error) and "stage-awakening" in str(error)


def test_offsets_outside_the_text(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t.replace(",P03,82,92,soft power,", ",P03,82,900,,"))
    error = _error(folder)
    assert "outside the text of P03.txt (125 characters)" in str(error) and "row 8" in str(error)
    assert "<= 125" in str(error)


def test_quote_that_does_not_match(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t.replace(",P03,82,92,soft power,", ",P03,82,92,hard power,"))
    error = _error(folder)
    assert "does not match" in str(error) and "'soft power'" in str(error) and "'hard power'" in str(error)
    assert "codings.csv, row 8" in str(error)


def test_quote_not_found(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t.replace("you cannot stay neutral.", "you can stay neutral."))
    error = _error(folder)
    assert "quote not found in T01.txt" in str(error) and "row 4" in str(error)


def test_ambiguous_quote_names_positions(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t + ",T01,,,Interviewer:,Awakening,,,,\n")
    error = _error(folder)
    assert "occurs 2 times" in str(error) and "at 0-12" in str(error) and "start and end" in str(error)


@pytest.mark.parametrize(
    ("file", "change", "row"),
    [
        ("participants.csv", lambda t: t + "P01,doctor,,,,\n", 5),
        ("stories.csv", lambda t: t + "S01,T02,,,\n", 4),
        ("codings.csv", lambda t: t + "c-awake,T01,0,5,,Awakening,,,,\n", 9),
        ("events.csv", lambda t: t + "E01,P02,awakening,,,,\n", 4),
        ("interviews.csv", lambda t: t + "T01,P02,\n", 5),
    ],
)
def test_duplicate_ids_name_both_rows(
    folder: Path, file: str, change: Callable[[str], str], row: int
) -> None:
    _edit(folder / file, change)
    error = _error(folder)
    assert "duplicate" in str(error) and f"{file}, row {row}" in str(error) and "also in" in str(error)


def test_coding_to_unknown_transcript(folder: Path) -> None:
    _edit(folder / "codings.csv", lambda t: t + ",T99,0,5,,Awakening,,,,\n")
    error = _error(folder)
    assert "unknown transcript" in str(error) and "'T99'" in str(error) and "T01" in str(error)


def test_story_to_unknown_transcript(folder: Path) -> None:
    _edit(folder / "stories.csv", lambda t: t + "S03,T99,,,\n")
    assert "unknown transcript" in str(_error(folder))


def test_event_to_unknown_participant_and_coding(folder: Path) -> None:
    _edit(folder / "events.csv", lambda t: t + "E03,P99,awakening,,,,\n")
    assert "unknown participant" in str(_error(folder))
    _edit(folder / "events.csv", lambda t: t.replace("E03,P99,awakening,,,,", "E03,P01,awakening,,,,c-nope"))
    error = _error(folder)
    assert "unknown coding" in str(error) and "c-nope" in str(error)


def test_non_utf8_text_names_file_and_byte_offset(folder: Path) -> None:
    (folder / "transcripts" / "P03.txt").write_bytes(b"Interviewer: caf\xe9?\nP03: yes\n")
    error = _error(folder)
    assert "P03.txt" in str(error) and "byte offset 16" in str(error) and "UTF-8" in str(error)


def test_non_utf8_csv(folder: Path) -> None:
    (folder / "stories.csv").write_bytes(b"id,transcript,title\nS01,T01,Caf\xe9\n")
    error = _error(folder)
    assert "stories.csv" in str(error) and "byte offset" in str(error)


def test_transcript_without_participant(folder: Path) -> None:
    (folder / "transcripts" / "X9.txt").write_text("hello", encoding="utf-8")
    error = _error(folder)
    assert "X9.txt belongs to no participant" in str(error) and "interviews.csv" in str(error)


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="no such file"):
        read_study(tmp_path / "nothing")
    (tmp_path / "notes.docx").write_text("x")
    with pytest.raises(ReadError, match="unknown kind"):
        read_study(tmp_path / "notes.docx")


def test_readme_example_reads(tmp_path: Path) -> None:
    """The full example in kg/readers/README.md is a valid study folder."""
    import re

    readme = (Path(__file__).parents[1] / "kg" / "readers" / "README.md").read_text(encoding="utf-8")
    example = readme.split("### A full small example", 1)[1].split("## REFI-QDA", 1)[0]
    files = re.findall(r"^`([^`\n]+)`[^\n]*\n```\w*\n(.*?)```", example, flags=re.M | re.S)
    assert len(files) == 9
    for name, body in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body, encoding="utf-8")
    study = read_study(tmp_path)
    codings = [c for t in study.iter_transcripts() for c in t.codings]
    assert [c.exact for c in codings][:2] == [
        "I had to take sides",
        "When I got the permanent post everything changed.",
    ]
    assert [e.evidence for e in study.events] == [["c-awake"], ["c-post"]]


# --------------------------------------------------------------------------- codings streamed through disk


def test_codings_csv_problems_keep_their_whole_file_order(folder: Path) -> None:
    """codings.csv is read a row at a time, yet problems come in the order a whole-file read gave them:
    a bad byte anywhere, then malformed CSV anywhere, then the first duplicate id, then the first bad row."""
    bad_row = ",T99,0,5,,Awakening,,,,\n"  # row 9: unknown transcript
    duplicate = "c-awake,T01,0,5,,Awakening,,,,\n"  # row 10: duplicate of row 2
    _edit(folder / "codings.csv", lambda t: t + bad_row + duplicate)
    error = _error(folder)
    assert "duplicate coding id 'c-awake'" in error.message and error.location is not None
    assert error.location.row == 10 and error.message.endswith("codings.csv, row 2")
    _edit(folder / "codings.csv", lambda t: t + 'c-late,T01,0,5,"unclosed,Awakening\n')
    assert "malformed CSV" in str(_error(folder))
    with (folder / "codings.csv").open("ab") as handle:
        handle.write(b"c-byte,T01,0,5,caf\xe9,Awakening,,,,\n")
    assert "not UTF-8 text" in str(_error(folder)) and "codings.csv" in str(_error(folder))


def test_multiline_memo_and_unsorted_rows_come_back_in_row_order(folder: Path) -> None:
    rows = (folder / "codings.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    rows[1] = rows[1].replace("first clear awakening", '"first clear\nawakening, over two lines"')
    (folder / "codings.csv").write_text("".join([rows[0], *reversed(rows[1:])]), encoding="utf-8")
    study = read_study(folder)
    by_transcript = {t.ref.id: t.codings for t in study.iter_transcripts()}
    awake = next(c for c in by_transcript["T01"] if c.id == "c-awake")
    assert awake.memo == "first clear\nawakening, over two lines" and awake.exact == "I had to take sides"
    for codings in by_transcript.values():  # each transcript's codings in codings.csv row order
        rows_seen = [c.location.row for c in codings if c.location is not None]
        assert rows_seen == sorted(rows_seen) and len(rows_seen) == len(codings)
    assert [c.code for c in by_transcript["T01"]] == ["organisational memory", "Shock", "Awakening"]


def test_ids_made_for_located_quotes_are_kept_when_a_transcript_is_loaded_again() -> None:
    study = read_study(FIXTURE)
    first = [(c.id, c.start) for t in study.iter_transcripts() for c in t.codings]
    again = [(c.id, c.start) for t in study.iter_transcripts() for c in t.codings]
    assert first == again and len({i for i, _ in first}) == 7


def test_the_codings_spill_is_removed_with_the_study() -> None:
    import gc

    study = read_study(FIXTURE)
    spill = Path(study.loader.spill.directory)  # type: ignore[union-attr]
    assert spill.is_dir() and next(spill.iterdir()).name == "spill.sqlite"
    del study
    gc.collect()
    assert not spill.exists()


def test_generated_ids_avoid_explicit_ids_given_later_in_the_file(folder: Path) -> None:
    from kg.readers._common import coding_id

    taken = coding_id("T01", 219, 233, "Shock")  # what row 3 (no id, offsets) would be called
    _edit(folder / "codings.csv", lambda t: t + f"{taken},T02,0,5,,Shock,,,,\n")
    study = read_study(folder)
    ids = {(c.transcript_id, c.start): c.id for t in study.iter_transcripts() for c in t.codings}
    assert (ids[("T01", 219)], ids[("T02", 0)]) == (f"{taken}-2", taken)


@pytest.mark.parametrize(
    ("file", "bad_row", "duplicate", "what"),
    [
        ("participants.csv", "P09,astronaut,,,,,\n", "P01,doctor,,,,,\n", "participant id 'P01'"),
        ("interviews.csv", "T01x,P01,\n", "T01,P01,\n", "transcript id 'T01'"),
        ("stories.csv", "S09,T99,,,\n", "S01,T02,,,\n", "story id 'S01'"),
        ("events.csv", "E09,P99,awakening,,,,\n", "E01,P02,awakening,,,,\n", "event id 'E01'"),
    ],
)
def test_metadata_csv_problems_keep_their_whole_file_order(
    folder: Path, file: str, bad_row: str, duplicate: str, what: str
) -> None:
    """participants.csv, interviews.csv, stories.csv and events.csv are read a row at a time into
    the study's spill, yet problems come in the order reading each file whole gave them: a bad
    byte anywhere, then malformed CSV anywhere, then the first duplicate id (naming both rows),
    then the first bad row."""
    rows = len((folder / file).read_text(encoding="utf-8").splitlines())
    _edit(folder / file, lambda t: t + bad_row)
    error = _error(folder)
    assert "duplicate" not in error.message and error.location is not None
    assert error.location.file.endswith(file) and error.location.row == rows + 1
    _edit(folder / file, lambda t: t + duplicate)
    error = _error(folder)
    assert error.message.startswith(f"duplicate {what}: also in ") and error.message.endswith(", row 2")
    assert error.location is not None and error.location.row == rows + 2
    _edit(folder / file, lambda t: t + '"unclosed,x\n')
    assert "malformed CSV" in str(_error(folder))
    with (folder / file).open("ab") as handle:
        handle.write(b"caf\xe9,x\n")
    error = _error(folder)
    assert "not UTF-8 text" in error.message and error.location is not None
    assert error.location.file.endswith(file) and error.location.line == rows + 4
