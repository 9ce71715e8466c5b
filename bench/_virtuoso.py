"""The Virtuoso the benchmarks run: the tests' server (tests/virtuoso.py: same configuration, same
binary, temporary database on loopback) with 2.6 GB of buffers and 2 GB of query memory, so that
the 100x study stays in memory."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from virtuoso import Virtuoso  # tests/ is not a package: found through the path above


def bench_virtuoso(workdir: Path, **settings: Any) -> Virtuoso:
    """A Virtuoso server (not started) in ``workdir`` with the benchmarks' memory settings."""
    return Virtuoso(workdir, **{"buffers": 340_000, "query_mem": "2G", **settings})
