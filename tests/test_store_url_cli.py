"""A ``--store-url`` (or ``--graph-store-url``) that is not an http(s) URL is refused with exit 2,
naming the option, the value and what would be accepted; nothing is opened or created in its
name (a path given there used to open, or create, a local store of that name)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HMP = str(Path(sys.executable).with_name("hmp"))


def _hmp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HMP, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("query", "sample-composition", "--store-url", "my-store"),
        ("sparql", "SELECT * WHERE { ?s ?p ?o } LIMIT 1", "--store-url", "my-store"),
        ("build", "--store-url", "my-store"),
        ("export", "--format", "nq", "--store-url", "my-store"),
    ],
)
def test_a_path_given_as_store_url_is_refused_and_not_created(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = _hmp(*args, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "--store-url must be the http(s) URL of a SPARQL store's endpoint (got 'my-store')" in done.stderr
    assert "a store directory goes in --store" in done.stderr
    assert "Traceback" not in done.stderr
    assert os.listdir(tmp_path) == []


def test_a_graph_store_url_needs_the_store_url(tmp_path: Path) -> None:
    done = _hmp("build", "--graph-store-url", "http://127.0.0.1:1/sparql-graph-crud", cwd=tmp_path)
    assert done.returncode == 2
    assert "--graph-store-url loads into a remote store: give its SPARQL endpoint too" in done.stderr
    assert "expected --store-url URL with --graph-store-url" in done.stderr


def test_a_graph_store_url_must_be_http(tmp_path: Path) -> None:
    done = _hmp(
        "build",
        "--store-url",
        "http://127.0.0.1:1/sparql",
        "--graph-store-url",
        "file:///etc/passwd",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert (
        "--graph-store-url must be the http(s) URL of a SPARQL store's endpoint (got 'file:///etc/passwd')"
        in (done.stderr)
    )
