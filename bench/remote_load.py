"""Loading a study into a remote store: SPARQL Update against the Graph Store Protocol.

    .venv/bin/python -m bench.remote_load [--source bench/_work/10x] [--runs 3]

Starts a real Virtuoso (Debian's ``virtuoso-opensource``, tests/virtuoso.py: temporary database on
loopback, 2.6 GB of buffers) and times ``hmp build SOURCE`` (default: the example study), each run
a fresh process, three ways in alternation: into the embedded store (a fresh directory), into
Virtuoso through SPARQL Update (``--store-url``: ``INSERT DATA`` in chunks of 500 triples), and
into Virtuoso through the Graph Store Protocol (``--graph-store-url``: N-Triples ``POST``s of 50,000
triples). Each remote build replaces the study loaded by the one before it (staging graphs, then
one ``DROP``/``MOVE`` update). After each remote build the study's graphs must hold as many
triples as the embedded store's. Prints the median wall time of each way and their ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._speed import describe
from bench._virtuoso import bench_virtuoso
from kg._paths import EXAMPLE_STUDY
from kg.stores.oxigraph import OxigraphStore
from kg.stores.remote import RemoteStore

HMP = str(Path(sys.executable).with_name("hmp"))


def _build(*args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([HMP, "build", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"hmp build {' '.join(args)} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=EXAMPLE_STUDY, help="a study folder")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(describe(), flush=True)
    times: dict[str, list[float]] = {"embedded": [], "SPARQL Update": [], "Graph Store Protocol": []}
    with tempfile.TemporaryDirectory(prefix="hmp-remote-load-") as work:
        server = bench_virtuoso(Path(work))
        server.start()
        try:
            gsp = server.url.rsplit("/", 1)[0] + "/sparql-graph-crud"
            remote = RemoteStore(server.url, timeout=600)
            source = str(args.source)
            expected: dict[str, int] = {}
            for run in range(args.runs):
                store = Path(work) / f"embedded-{run}"
                times["embedded"].append(_build(source, "--store", str(store)))
                if not expected:
                    embedded = OxigraphStore(store, read_only=True)
                    expected = {g: embedded.count(g) for g in embedded.graph_names()}
                    embedded.close()
                for way, extra in (
                    ("SPARQL Update", ()),
                    ("Graph Store Protocol", ("--graph-store-url", gsp)),
                ):
                    times[way].append(_build(source, "--store-url", server.url, *extra))
                    loaded = {g: remote.count(g) for g in expected}
                    if loaded != expected:
                        raise SystemExit(f"{way}: the store holds {loaded}, not {expected}")
                    print(f"run {run + 1}: {way} {times[way][-1]:.1f} s", flush=True)
        finally:
            server.stop()
    medians = {way: statistics.median(ts) for way, ts in times.items()}
    quads = sum(expected.values())
    print(f"\n`hmp build {args.source}` ({quads:,} triples), median of {args.runs} runs:\n")
    print("| into | wall s | triples/s | against the Graph Store Protocol |")
    print("|---|---:|---:|---:|")
    for way, seconds in medians.items():
        ratio = seconds / medians["Graph Store Protocol"]
        print(f"| {way} | {seconds:.1f} | {quads / seconds:,.0f} | {ratio:.2f}x |")
    print()
    print(describe())


if __name__ == "__main__":
    main()
