"""``bench.service --write`` adds a run to bench/RESULTS.md without losing the earlier ones."""

from __future__ import annotations

from pathlib import Path

from bench.service import SECTION, write_section

EARLIER = f"""# Benchmark results

## Canned queries (issue 5)

### Session 6
queries table

{SECTION}

### Session 5
the session-5 table

## Pipeline (issue 3)

pipeline figures
"""


def test_a_written_run_goes_above_the_earlier_runs_of_its_section(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text(EARLIER, encoding="utf-8")
    write_section(f"{SECTION}\n\n| query | HTTP |\n|---|---:|\n| sample-composition | 1.00 |\n", results)
    text = results.read_text(encoding="utf-8")
    for kept in ("### Session 6\nqueries table", "### Session 5\nthe session-5 table", "pipeline figures"):
        assert kept in text
    assert text.count(SECTION) == 1
    section = text[text.index(SECTION) : text.index("## Pipeline")]
    assert (
        section.index("### Run of ")
        < section.index("| sample-composition | 1.00 |")
        < section.index("### Session 5")
    )


def test_a_run_starts_the_section_when_there_is_none(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    write_section(f"{SECTION}\n\nthe figures\n", results)
    text = results.read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results")
    assert text.index(SECTION) < text.index("### Run of ") < text.index("the figures")
