"""Canned queries on the bundled example study: the published figures and ground-truth patterns.

The example is built with the real CLI (`hmp build data/example-study --store DIR`) into a
temporary embedded store; the queries then run through `hmp query` and through the Python API.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg import queries

ROOT = Path(__file__).resolve().parents[1]
HMP = str(Path(sys.executable).with_name("hmp"))
NS = "https://w3id.org/hmp/ontology#"


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("example-store")
    subprocess.run(
        [HMP, "build", str(ROOT / "data" / "example-study"), "--store", str(directory)],
        check=True, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    return directory


@pytest.fixture(scope="module")
def store(store_dir: Path) -> Iterator[Any]:
    from kg.store import open_store

    opened = open_store(store_dir, read_only=True)
    yield opened
    opened.close()


def counts(store: Any, name: str, key: str, value: str = "n") -> dict[str, int]:
    return {row[key].removeprefix(NS): row[value] for row in queries.run(store, name).rows}


def test_sample_composition_reproduces_the_paper(store: Any) -> None:
    assert counts(store, "sample-composition", "occupation") == {
        "occupation-manager": 29, "occupation-doctor": 21, "occupation-nurse": 15,
    }  # fmt: skip


def test_clinical_leadership_reproduces_the_paper(store: Any) -> None:
    rows = queries.run(store, "clinical-leadership").rows
    totals = {r["occupation"].removeprefix(NS): r["occupationTotal"] for r in rows}
    assert totals["occupation-doctor"] == 9
    nurses = {r["role"].removeprefix(NS): r["n"] for r in rows if r["occupation"] == NS + "occupation-nurse"}
    assert nurses == {
        "role-quality-improvement-lead": 6,
        "role-departmental-manager": 4,
        "role-senior-hospital-leader": 5,
    }


def test_care_settings_reproduce_the_paper(store: Any) -> None:
    assert counts(store, "care-settings", "setting") == {
        "setting-general-hospital": 27, "setting-specialist-hospital": 5, "setting-primary-care": 14,
        "setting-community-care": 3, "setting-regional-planning": 8, "setting-national-leadership": 8,
    }  # fmt: skip


def test_career_length_reproduces_the_paper(store: Any) -> None:
    assert counts(store, "career-length", "band") == {
        "band-under-10": 5, "band-11-20": 5, "band-21-30": 28, "band-over-30": 19, "band-not-stated": 8,
    }  # fmt: skip


def test_nurses_awaken_earlier_than_managers_and_doctors(store: Any) -> None:
    medians = counts(store, "awakening-timing", "occupation", "median")
    assert medians["occupation-nurse"] < medians["occupation-doctor"]
    assert medians["occupation-manager"] < medians["occupation-doctor"]


def test_stage_trajectories_follow_the_documented_pattern(store: Any) -> None:
    rows = queries.run(store, "stage-trajectories").rows
    assert len(rows) == 65  # every participant has events: early impressions at least
    assert all(r["earlyImpressions"] in (1, 2) for r in rows)
    assert sum("turningPoint" in r for r in rows) == 61
    assert 0 < sum("awakening" not in r for r in rows) < 10  # a few short careers, no awakening yet
    assert not any(r["breaksOrder"] or r["inversions"] for r in rows)  # synthetic careers keep the order
    assert [r["pseudonym"] for r in rows] == sorted(r["pseudonym"] for r in rows)


def test_emotions_follow_the_documented_pattern(store: Any) -> None:
    rows = queries.run(store, "emotions-by-stage").rows
    top: dict[str, tuple[int, str]] = {}
    for r in rows:
        stage, emotion = r["stage"].removeprefix(NS), r["emotion"].removeprefix(NS)
        top[stage] = max(top.get(stage, (0, "")), (r["participants"], emotion))
    assert top["stage-awakening"][1] == "emotion-shock"
    assert top["stage-turning-point"][1] == "emotion-distress"
    assert top["stage-strategic-mastery"][1] == "emotion-pride"


def test_every_canned_query_answers_on_the_example(store: Any) -> None:
    for q in queries.catalogue():
        params = {"participant": "P01"} if any(p.type == "participant" for p in q.params) else None
        result = queries.run(store, q.name, params)
        assert result.rows or result.triples, q.name


def test_cli_query_json_is_standard_sparql_results(store_dir: Path) -> None:
    done = subprocess.run(
        [HMP, "query", "sample-composition", "--store", str(store_dir), "--format", "json"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    doc = json.loads(done.stdout)
    assert doc["head"]["vars"] == ["occupation", "occupationLabel", "n"]
    assert {b["occupationLabel"]["value"]: int(b["n"]["value"]) for b in doc["results"]["bindings"]} == {
        "manager": 29, "doctor": 21, "nurse": 15,
    }  # fmt: skip


def test_cli_query_svg_draws_the_published_figures(store_dir: Path) -> None:
    done = subprocess.run(
        [HMP, "query", "sample-composition", "--store", str(store_dir), "--format", "svg"],
        check=True, capture_output=True,
    )  # fmt: skip
    svg = ET.fromstring(done.stdout)  # a standalone SVG document
    bars = {
        rect.findtext("{http://www.w3.org/2000/svg}title"): rect.get("data-value")
        for rect in svg.iter("{http://www.w3.org/2000/svg}rect")
        if rect.get("class") == "bar"
    }
    assert bars == {"manager: 29": "29", "doctor: 21": "21", "nurse: 15": "15"}
    table = subprocess.run(
        [HMP, "query", "evidence", "--store", str(store_dir), "--format", "svg"],
        capture_output=True,
        text=True,
    )
    assert table.returncode == 2 and table.stdout == ""
    assert "draws no chart" in table.stderr and "sample-composition" in table.stderr


def test_cli_query_csv_with_parameters(store_dir: Path) -> None:
    done = subprocess.run(
        [HMP, "query", "evidence", "--param", "stage=turning-point", "--param", "occupation=doctor",
         "--store", str(store_dir), "--format", "csv"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert rows and {r["stage"] for r in rows} == {NS + "stage-turning-point"}
    assert {r["occupationLabel"] for r in rows} == {"doctor"}


def test_cli_table_shows_labels_and_leaves_out_the_iris_they_name(store_dir: Path) -> None:
    def table(*extra: str) -> list[str]:
        done = subprocess.run(
            [HMP, "query", "stage-trajectories", "--store", str(store_dir), *extra],
            check=True, capture_output=True, text=True, env={**os.environ, "COLUMNS": "220"},
        )  # fmt: skip
        return done.stdout.splitlines()

    lines = table()
    header = next(line for line in lines if "pseudonym" in line).split()
    assert header[:3] == ["pseudonym", "occupationLabel", "events"]  # whole headers, labels only
    assert not any("w3id.org" in line or "id:" in line for line in lines)
    assert any(line.split()[:2] == ["P01", "doctor"] for line in lines)
    assert (
        lines[-1] == "65 row(s); not shown, as their labels are: occupation, participant (--iris shows them)"
    )
    with_iris = table("--iris")
    assert next(line for line in with_iris if "pseudonym" in line).split()[:3] == [
        "participant",
        "pseudonym",
        "occupation",
    ]
    first = next(line for line in with_iris if " P01 " in line).split()  # the IRI may fold: P / 01
    assert first[0].startswith("id:example-study/participant/P") and first[1:3] == [
        "P01",
        "hmp:occupation-doctor",
    ]
    assert with_iris[-1] == "65 row(s)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["query", "no-such-query"], "sample-composition"),
        (["query", "evidence", "--param", "stage=epiphany"], "'awakening'"),
        (["query", "participant-profile", "--param", "participant=Z99"], "P01"),
    ],
)
def test_cli_exit_2_lists_accepted_values(store_dir: Path, args: list[str], message: str) -> None:
    done = subprocess.run([HMP, *args, "--store", str(store_dir)], capture_output=True, text=True)
    assert done.returncode == 2
    assert message in done.stderr


def test_cli_sparql_formats(store_dir: Path) -> None:
    q = "SELECT (COUNT(*) AS ?n) WHERE { ?p a <https://w3id.org/hmp/ontology#Participant> }"
    done = subprocess.run(
        [HMP, "sparql", q, "--store", str(store_dir), "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["results"]["bindings"][0]["n"]["value"] == "65"
    construct = "CONSTRUCT { ?p a ?t } WHERE { ?p a ?t ; <https://w3id.org/hmp/ontology#pseudonym> 'P01' }"
    done = subprocess.run(
        [HMP, "sparql", construct, "--store", str(store_dir), "--format", "nt"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "<https://w3id.org/hmp/ontology#Participant>" in done.stdout
    done = subprocess.run([HMP, "queries"], capture_output=True, text=True, check=True)
    assert "awakening-timing" in done.stdout


def test_every_canned_answer_reads_the_same_from_tsv_as_solution_by_solution(store_dir: Path) -> None:
    """``OxigraphStore.select`` reads answers from pyoxigraph's TSV output (each distinct cell
    parsed once): on the example study every canned SELECT query's rows must equal, term for term,
    what iterating the solutions gives."""
    import threading

    from kg.stores.oxigraph import OxigraphStore, _iterated_rows, solution_rows

    raw = OxigraphStore(store_dir, read_only=True).raw
    checked = 0
    for query in queries.catalogue():
        if query.form != "select":
            continue
        fast = solution_rows(raw.query(query.text, use_default_graph_as_union=True))  # type: ignore[arg-type]
        slow = _iterated_rows(raw.query(query.text, use_default_graph_as_union=True), threading.Event())  # type: ignore[arg-type]
        assert fast is not None and fast == slow, query.name
        assert all(repr(a[k]) == repr(b[k]) for a, b in zip(fast, slow, strict=True) for k in a), query.name
        assert fast, query.name  # every canned query answers something on the example
        checked += 1
    assert checked == len([q for q in queries.catalogue() if q.form == "select"]) >= 18
