"""A fixed workload timed beside every benchmark, so that runs hours apart can be compared.

The machine (a shared 2-core VM) has run 10-50 % slower for hours at a time for code that did not
change, with nothing else running and a low load average (bench/RESULTS.md). The load average
does not show it; this probe does: the same in-memory pyoxigraph join and grouping, and the same
pure-Python loop, every time. Quote a benchmark's figures together with its probe.
"""

from __future__ import annotations

import statistics
import time

import pyoxigraph as ox

_EX = "http://example.org/"
_QUERY = (
    f"SELECT ?g (COUNT(DISTINCT ?o) AS ?n) WHERE {{ ?s <{_EX}p> ?o . ?s <{_EX}q> ?g }} "
    "GROUP BY ?g ORDER BY ?g"
)


def _store() -> ox.Store:
    store = ox.Store()
    p, q = ox.NamedNode(_EX + "p"), ox.NamedNode(_EX + "q")
    quads = []
    for i in range(20_000):
        s = ox.NamedNode(f"{_EX}s{i}")
        quads.append(ox.Quad(s, p, ox.Literal(str(i % 997)), ox.DefaultGraph()))
        quads.append(ox.Quad(s, q, ox.NamedNode(f"{_EX}g{i % 50}"), ox.DefaultGraph()))
    store.extend(quads)
    return store


def _python_loop() -> None:
    total = 0
    for i in range(1_000_000):
        total += i


def probe(reps: int = 7) -> tuple[float, float]:
    """Median ms of the pyoxigraph workload and of the Python loop."""
    store = _store()
    oxigraph, python = [], []
    for _ in range(reps):
        started = time.perf_counter()
        rows = list(store.query(_QUERY))
        oxigraph.append(time.perf_counter() - started)
        assert len(rows) == 50
        started = time.perf_counter()
        _python_loop()
        python.append(time.perf_counter() - started)
    return statistics.median(oxigraph) * 1000, statistics.median(python) * 1000


def describe() -> str:
    oxigraph, python = probe()
    return f"speed probe (bench/_speed.py, lower is faster): {figures(oxigraph, python)}"


def figures(oxigraph: float, python: float) -> str:
    return f"pyoxigraph {oxigraph:.1f} ms, Python {python:.1f} ms"
