"""`hmp serve --build-if-empty` — what `make serve` runs — end to end on a real server.

A fresh store is empty, so the first start builds the bundled example study and serves it; the
second start on the same store must not build again.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from serverfixture import free_port, serving

HMP = str(Path(sys.executable).with_name("hmp"))


@contextlib.contextmanager
def hmp_serve(store: Path, log: Path) -> Iterator[str]:
    port = free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [HMP, "serve", "--build-if-empty", "--store", str(store), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    with serving(process, url, log, seconds=180):
        yield url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    base = tmp_path_factory.mktemp("serve")
    store, log = base / "store", base / "first.log"
    with hmp_serve(store, log) as url:
        yield url, store, log


def test_first_start_builds_the_example_study_and_serves_its_figures(served: tuple[str, Path, Path]) -> None:
    url, _, log = served
    assert "is empty: building the example study" in log.read_text()
    rows = httpx.get(
        f"{url}/queries/sample-composition", headers={"Accept": "text/csv"}, timeout=30
    ).text.splitlines()
    counts = {line.split(",")[0]: line for line in rows[1:]}
    joined = "\n".join(rows)
    assert len(counts) == 3, joined
    for label, n in (("manager", "29"), ("doctor", "21"), ("nurse", "15")):
        assert any(label in line and f",{n}" in line for line in rows), (label, joined)


def test_landing_page_says_the_example_is_synthetic(served: tuple[str, Path, Path]) -> None:
    url, _, _ = served
    page = httpx.get(url + "/", timeout=30)
    assert page.status_code == 200
    assert "synthetic" in page.text.lower()
    assert "sample-composition" in page.text


def test_landing_page_draws_the_published_figures(served: tuple[str, Path, Path]) -> None:
    """The sample-composition chart shows the paper's 29 managers, 21 doctors and 15 nurses as
    bars, and the stage questions are drawn as heatmaps and a timeline."""
    url, _, _ = served
    page = httpx.get(url + "/", timeout=30).text
    figure = re.search(r'<figure class="chart" data-query="sample-composition">(.*?)</figure>', page, re.S)
    assert figure, "no chart for sample-composition"
    bars = re.findall(r'<rect class="bar"[^>]*data-value="(\d+)"><title>([^<]*)</title>', figure.group(1))
    assert sorted(bars) == [("15", "nurse: 15"), ("21", "doctor: 21"), ("29", "manager: 29")]
    for name, kind in (
        ("stages-by-occupation", "heatmap"),
        ("awakening-timing", "boxplot"),
        ("stage-trajectories", "timeline"),
    ):
        assert re.search(rf'data-query="{name}"><svg class="chart chart-{kind}"', page), name


def test_second_start_on_a_built_store_does_not_build_again(
    served: tuple[str, Path, Path], tmp_path: Path
) -> None:
    _, store, _ = served
    # a second server over the same on-disk store (read-only while the first one runs)
    log = tmp_path / "second.log"
    with hmp_serve(store, log) as url:
        health = httpx.get(f"{url}/health", timeout=10).json()
    assert "building the example study" not in log.read_text()
    assert health["triples"] > 10_000, health
