"""build = read → lift → validate → load, all or nothing; and the CLI over it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kg.build import build_study
from kg.errors import ValidationFailed
from kg.model import Study
from kg.stores.oxigraph import OxigraphStore
from studybuilder import break_quote
from studybuilder import build_study as make_study

STUDY_DIR = Path(__file__).parent / "data" / "lift" / "study"
HMP_BIN = Path(sys.executable).with_name("hmp")
META = "https://w3id.org/hmp/graph/demo/metadata"


def test_build_loads_every_graph(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    summary = build_study(make_study(), store)
    # one warning (a study-specific code); the excerpt outside any story is only a note
    assert summary.loaded and summary.violations == 0 and summary.warnings == 1
    assert any("not part of any story" in f.message for f in summary.findings if f.severity == "Info")
    assert (summary.participants, summary.transcripts, summary.excerpts) == (3, 3, 6)
    assert "https://w3id.org/hmp/graph/ontology" in store.graph_names()
    assert store.count(META) > 50
    assert not [g for g in store.raw.named_graphs() if g.value.startswith("urn:hmp:staging:")]


def test_a_code_kept_as_a_study_concept_is_reported_once_at_its_codebook_row(tmp_path: Path) -> None:
    """The reader keeps it quietly; the shape (hmpsh:Concept-study-code) reports it, with the row."""
    from kg.build import read_source

    summary = build_study(read_source(STUDY_DIR), OxigraphStore(tmp_path / "store"))
    about = [f for f in summary.findings if "ward" in f"{f.focus} {f.value} {f.message}"]
    assert [(f.severity, str(f.location)) for f in about] == [
        ("Warning", f"{STUDY_DIR / 'codebook.csv'}, row 6")
    ]
    assert about[0].focus is not None and about[0].focus.endswith("/code/ward-politics")


def test_a_violation_loads_nothing_and_keeps_the_previous_version(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    build_study(make_study(), store)
    before = store.dump(None, media_type="application/n-quads")
    with pytest.raises(ValidationFailed, match="nothing was loaded"):
        build_study(make_study(mutate=break_quote), store)
    assert store.dump(None, media_type="application/n-quads") == before
    assert not [g for g in store.raw.named_graphs() if g.value.startswith("urn:hmp:staging:")]


def test_a_violation_in_a_fresh_store_leaves_it_empty(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    summary = build_study(make_study(mutate=break_quote), store, raise_on_violation=False)
    assert not summary.loaded and summary.violations == 1
    assert store.count() == 0


def test_an_error_while_lifting_loads_nothing(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    build_study(make_study(), store)
    before = store.count()

    def explode(study: Study) -> None:
        def loader(ref):  # type: ignore[no-untyped-def]
            raise OSError("disk gone")

        study.loader = loader

    with pytest.raises(OSError):
        build_study(make_study(mutate=explode), store)
    assert store.count() == before
    assert store.graph_names() == sorted(store.graph_names())


def test_reloading_replaces_the_study(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    build_study(make_study(), store)
    smaller = make_study(texts={"T01": make_study.__globals__["TEXTS"]["T01"]}, codings=[])
    build_study(smaller, store)
    rows = store.select("SELECT (COUNT(*) AS ?n) WHERE { ?t a <https://w3id.org/hmp/ontology#Transcript> }")
    assert rows[0]["n"].value == "1"
    assert store.count("https://w3id.org/hmp/graph/demo/codings") == 3  # only the coder remains


# ---- CLI --------------------------------------------------------------------------------


def _hmp(*args: str, store: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HMP_STORE": str(store), "COLUMNS": "100"}
    return subprocess.run([str(HMP_BIN), *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_build_export_and_validate(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = _hmp("build", str(STUDY_DIR), store=store)
    assert done.returncode == 0, done.stderr
    assert "participants" in done.stdout and "loaded" in done.stdout and "yes" in done.stdout
    exported = _hmp("export", "--format", "nq", store=store)
    assert exported.returncode == 0
    assert "<https://w3id.org/hmp/graph/fixture/fulltext>" in exported.stdout
    out = tmp_path / "meta.ttl"
    one = _hmp(
        "export",
        "--format",
        "ttl",
        "--graph",
        "https://w3id.org/hmp/graph/fixture/metadata",
        "-o",
        str(out),
        store=store,
    )
    assert one.returncode == 0 and "HybridProfessionalManager" in out.read_text()
    report = _hmp("validate", str(STUDY_DIR), "--format", "json", store=store)
    assert report.returncode == 0
    assert "http://www.w3.org/ns/shacl#ValidationReport" in json.dumps(json.loads(report.stdout))


def test_cli_violation_exits_1_and_names_the_row(tmp_path: Path) -> None:
    broken = tmp_path / "study"
    shutil.copytree(STUDY_DIR, broken)
    # An event whose career year lies outside the participant's career: a SHACL violation.
    (broken / "events.csv").write_text("id,participant,stage,career_year\nE1,P02,awakening,40\n")
    done = _hmp("validate", str(broken), store=tmp_path / "s")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "career year" in done.stdout and "events.csv" in done.stdout
    built = _hmp("build", str(broken), store=tmp_path / "s")
    assert built.returncode == 1
    assert "NO" in built.stdout


def test_cli_validate_engines_report_the_same_results(tmp_path: Path) -> None:
    """The default engine (what hmp build checks; excerpts in Python) against every check as SPARQL."""
    broken = tmp_path / "study"
    shutil.copytree(STUDY_DIR, broken)
    (broken / "events.csv").write_text("id,participant,stage,career_year\nE1,P02,awakening,40\n")
    codings = (broken / "codings.csv").read_text().splitlines()
    codings[1] = codings[1].rsplit(",", 1)[0] + ","  # an excerpt outside any story: a note
    (broken / "codings.csv").write_text("\n".join(codings) + "\n")

    def results(*engine: str) -> set[tuple[str, str]]:
        done = _hmp("validate", str(broken), "--format", "json", *engine, store=tmp_path / "s")
        assert done.returncode == 1, done.stdout + done.stderr
        graph = json.loads(done.stdout)
        found = set()
        for node in graph if isinstance(graph, list) else graph.get("@graph", []):
            focus = node.get("http://www.w3.org/ns/shacl#focusNode")
            shape = node.get("http://www.w3.org/ns/shacl#sourceConstraint") or node.get(
                "http://www.w3.org/ns/shacl#sourceShape"
            )
            if focus and shape:
                found.add((shape[0]["@id"], focus[0]["@id"]))
        return found

    default, sparql = results(), results("--engine", "sparql")
    assert default == sparql
    assert {shape.rsplit("#", 1)[1] for shape, _focus in default} >= {"Event-careerYear", "Annotation-story"}


def test_cli_unusable_input_exits_2(tmp_path: Path) -> None:
    missing = _hmp("build", str(tmp_path / "nope"), store=tmp_path / "s")
    assert missing.returncode == 2 and "no such study" in missing.stderr
    bad = _hmp("export", "--format", "docx", store=tmp_path / "s")
    assert bad.returncode == 2 and "unknown export format" in bad.stderr
