"""The landing page in headless Chromium: research-question tables and charts render, YASGUI
loads from /static and shows the result of its first tab. Saves tests/_artifacts/landing.png."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from serverfixture import Server, build_store, running_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parent / "_artifacts"
YASGUI = (
    Path(__file__).resolve().parents[1]
    / "service/static/vendor/node_modules/@zazuko/yasgui/build/yasgui.min.js"
)

pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (make chromium)"),
    pytest.mark.skipif(not YASGUI.exists(), reason="YASGUI is not installed (make vendor)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("browser")
    with running_server(build_store(root / "store"), root) as running:
        yield running


def chromium(url: str, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,2000",
            "--virtual-time-budget=10000",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_landing_page_renders_tables_and_yasgui_runs_first_tab(server: Server, tmp_path: Path) -> None:
    dom = chromium(server.url + "/", tmp_path / "profile", "--dump-dom").stdout
    assert '<table class="result" data-query="sample-composition">' in dom
    # the answers are drawn too (inline SVG, nothing downloaded), above their tables
    assert '<figure class="chart" data-query="sample-composition"><svg class="chart chart-bar"' in dom
    assert dom.count('<rect class="bar"') >= 3
    # YASGUI built its editor and one tab per canned query ...
    assert 'class="yasqe' in dom and "CodeMirror" in dom
    assert dom.count('role="tab"') >= 5
    # ... and ran the first tab against /sparql: its results table (DataTables) is filled.
    assert 'class="yasr' in dom
    assert "dataTable" in dom
    assert "results in" in dom  # the response chip, e.g. "2 results in 0.01 seconds"
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "landing.png"
    chromium(server.url + "/", tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000


def test_a_question_page_shows_its_form_and_answer(server: Server, tmp_path: Path) -> None:
    url = server.url + "/queries/evidence?stage=awakening&occupation=doctor"  # a browser's own Accept
    dom = chromium(url, tmp_path / "profile", "--dump-dom").stdout
    assert '<form class="params"' in dom and '<select name="stage">' in dom
    assert '<table class="result" data-query="evidence">' in dom
    assert "I saw which side I was really on" in dom
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "question.png"
    chromium(url, tmp_path / "profile2", f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000
