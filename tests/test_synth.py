"""The seeded synthetic-study generator: determinism, scaling, streaming, exact quotes, formats."""

from __future__ import annotations

import collections
import csv
import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from kg.synth import figures, generate
from kg.synth.cohort import iter_cohort

HMP = str(Path(sys.executable).with_name("hmp"))
CLINICAL = figures.CLINICAL_ROLES


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    generate(30, 7, tmp_path / "a" / "study", words=300)
    generate(30, 7, tmp_path / "b" / "study", words=300)
    generate(30, 8, tmp_path / "c" / "study", words=300)
    first, second, other = (_tree(tmp_path / x / "study") for x in "abc")
    assert first == second
    assert first.keys() == other.keys()
    assert first["codings.csv"] != other["codings.csv"]
    assert first["transcripts/T01.txt"] != other["transcripts/T01.txt"]


def test_published_proportions_scale_exactly_to_650(tmp_path: Path) -> None:
    out = tmp_path / "x10"
    generate(650, 3, out, words=150)
    people = _rows(out, "participants.csv")
    assert len(people) == 650
    assert collections.Counter(p["occupation"] for p in people) == {
        "manager": 290,
        "doctor": 210,
        "nurse": 150,
    }
    assert collections.Counter(p["current_setting"] for p in people) == {
        k: 10 * v for k, v in figures.SETTINGS.items()
    }
    assert collections.Counter(p["career_band"] for p in people) == {
        k: 10 * v for k, v in figures.BANDS.items()
    }
    roles = {p["id"]: [r.split("@")[0] for r in p["roles"].split(";")] for p in people}
    doctors = [p["id"] for p in people if p["occupation"] == "doctor"]
    assert sum(any(r not in CLINICAL for r in roles[d]) for d in doctors) == 90
    nurses = [p["id"] for p in people if p["occupation"] == "nurse"]
    for role, count in figures.NURSE_LEADERSHIP.items():
        assert sum(role in roles[n] for n in nurses) == 10 * count
    assert len(_rows(out, "stories.csv")) > 10 * 100


@pytest.mark.parametrize("n", [1, 7, 64, 66, 131])
def test_any_size_keeps_the_margins_exact(n: int) -> None:
    people = list(iter_cohort(n, 11))
    assert collections.Counter(p.occupation for p in people) == {
        k: v for k, v in figures.scale(n, figures.OCCUPATIONS).items() if v
    }
    assert collections.Counter(p.setting for p in people) == {
        k: v for k, v in figures.scale(n, figures.SETTINGS).items() if v
    }
    assert collections.Counter(p.band for p in people) == {
        k: v for k, v in figures.scale(n, figures.BANDS).items() if v
    }


def test_generation_streams_in_memory_bounded_by_one_transcript(tmp_path: Path) -> None:
    generate(2, 5, tmp_path / "warm", words=100)  # imports and caches outside the measurement
    out = tmp_path / "big"
    tracemalloc.start()
    try:
        generate(1000, 5, out, words=2000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    sizes = [p.stat().st_size for p in (out / "transcripts").glob("*.txt")]
    corpus = sum(sizes) + sum(p.stat().st_size for p in out.glob("*.csv"))
    assert len(sizes) == 1000
    assert peak < 20 * max(sizes), (peak, max(sizes))  # holding the corpus would need ~1000x
    assert peak < corpus / 50


def _check_quotes(folder: Path) -> int:
    checked = 0
    texts: dict[str, str] = {}
    for row in _rows(folder, "codings.csv"):
        tid = row["transcript"]
        if tid not in texts:
            texts = {tid: (folder / "transcripts" / f"{tid}.txt").read_text(encoding="utf-8")}
        text = texts[tid]
        start, end = int(row["start"]), int(row["end"])
        assert text[start:end] == row["quote"], row["id"]
        line_start = text.rfind("\n", 0, start) + 1
        speaker = text[line_start : text.index(":", line_start)]
        assert re.fullmatch(r"P\d+", speaker), (row["id"], speaker)  # the participant's own turn
        assert "\n" not in row["quote"]
        checked += 1
    return checked


def test_every_quote_is_the_text_at_its_offsets(tmp_path: Path) -> None:
    generate(40, 9, tmp_path / "s", words=500)
    assert _check_quotes(tmp_path / "s") > 400


def test_careers_events_and_roles_are_consistent(tmp_path: Path) -> None:
    generate(200, 4, tmp_path / "s", words=150)
    bands = {"under-10": (0, 10), "11-20": (11, 20), "21-30": (21, 30), "over-30": (31, 60)}
    people = {p["id"]: p for p in _rows(tmp_path / "s", "participants.csv")}
    for p in people.values():
        if p["career_band"] == "not-stated":
            assert p["career_years"] == ""
            continue
        years = int(p["career_years"])
        low, high = bands[p["career_band"]]
        assert low <= years <= high
        for holding in p["roles"].split(";"):
            start, end = holding.split(":")[1].split("-")
            assert 1 <= int(start) <= (int(end) if end else years) <= years, (p["id"], holding)
        if p["occupation"] == "doctor" and p["profile"] == "doctor-clinical":
            assert all(h.split("@")[0] in CLINICAL for h in p["roles"].split(";"))
    events = _rows(tmp_path / "s", "events.csv")
    assert {e["participant"] for e in events} == set(people)
    for e in events:
        stated = people[e["participant"]]["career_years"]
        assert 1 <= int(e["career_year"]) <= (int(stated) if stated else 40)
        assert e["evidence"], e["id"]
    for row in _rows(tmp_path / "s", "interviews.csv"):
        assert "2018-01-01" <= row["date"] <= "2020-12-31"


def test_words_knob_gives_realistic_interview_length(tmp_path: Path) -> None:
    generate(4, 1, tmp_path / "long", words=8000)
    lengths = [len(p.read_text().split()) for p in (tmp_path / "long" / "transcripts").glob("*.txt")]
    assert all(7000 <= n <= 10000 for n in lengths), lengths


def test_qdpx_reads_back_to_the_same_study_as_the_folder(tmp_path: Path) -> None:
    from kg.readers import read_study

    generate(12, 2, tmp_path / "folder", words=300)
    generate(12, 2, tmp_path / "study.qdpx", fmt="qdpx", words=300)
    folder, packed = read_study(tmp_path / "folder"), read_study(tmp_path / "study.qdpx")
    assert packed.info.id == folder.info.id and packed.info.synthetic
    assert [(p.id, p.occupation, p.current_setting, p.career_band) for p in packed.participants] == [
        (p.id, p.occupation, p.current_setting, p.career_band) for p in folder.participants
    ]

    def codings(study):  # type: ignore[no-untyped-def]
        return sorted(
            (c.transcript_id, c.start, c.end, c.code, c.exact)
            for t in study.iter_transcripts()
            for c in t.codings
        )

    assert codings(packed) == codings(folder)
    assert len(packed.stories) == len(folder.stories) and len(packed.events) == len(folder.events)


def test_cli_writes_a_study_and_rejects_an_unknown_format(tmp_path: Path) -> None:
    done = subprocess.run(
        [HMP, "synth", "-n", "5", "--seed", "3", "--out", str(tmp_path / "s"), "-q"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "not empirical data" in done.stdout
    assert len(_rows(tmp_path / "s", "participants.csv")) == 5
    bad = subprocess.run(
        [HMP, "synth", "-n", "5", "--out", str(tmp_path / "t"), "--format", "xls"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
