"""Benchmark the canned queries: median time per query on the embedded store vs rdflib in memory.

    .venv/bin/python -m bench.queries [--scales 1,10,100] [--repeat 5] [--rdflib-max-scale 10]
        [--rdflib-cap 20] [--store 10=bench/_work/store-10x --store 100=bench/_work/store-100x]
        [--only NAME,NAME] [--virtuoso-max-scale 100 [--virtuoso-threads 1]]

Scale 1 is the bundled example study (65 participants); scale k is `hmp synth --participants
65*k --seed 7`. A scale without ``--store SCALE=DIR`` is built with `hmp build` into
bench/_work/queries-<k>/store (kept between runs). Every canned query runs once to warm up, then
``--repeat`` times on the embedded pyoxigraph store (OxigraphStore, read-only) through
``kg.queries.run``; the script reports the median wall-clock ms and the median CPU ms of this
process (on a shared machine the CPU time shows what the query costs when other jobs take the
cores). Up to ``--rdflib-max-scale`` the same queries run on rdflib's SPARQL engine over the same
quads (Dataset(default_union=True)); a query that takes longer than ``--rdflib-cap`` seconds is
stopped (SIGALRM; rdflib is pure Python) and reported as ">cap". Prints `uptime` before and after
and a Markdown table. Not a test: nothing is asserted.

Up to ``--virtuoso-max-scale`` the same queries also run on a real Virtuoso (Debian's
``virtuoso-opensource``, tests/virtuoso.py; temporary database on loopback, 2.6 GB of buffers so
that the data stays in memory, ``--virtuoso-threads`` threads per query: 1 by default, as
pyoxigraph evaluates a query on one), the store's quads bulk-loaded, through ``kg.queries.run`` on a
``RemoteStore`` (so each time includes the HTTP round trip and reading the JSON answer): one warm-up,
then ``--repeat`` runs; a query whose answer has another number of rows than pyoxigraph's is
reported with "rows differ".
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType

from bench._speed import describe
from kg import queries
from kg._query_engines import RdflibStore, load_quads
from kg.store import open_store
from kg.stores.remote import RemoteStore

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work"
HMP = str(Path(sys.executable).with_name("hmp"))


def build(scale: int) -> Path:
    target = WORK / f"queries-{scale}"
    store = target / "store"
    if (target / ".built").exists():
        return store
    target.mkdir(parents=True, exist_ok=True)
    source = ROOT / "data" / "example-study"
    if scale > 1:
        source = target / "study"
        subprocess.run(
            [HMP, "synth", "--participants", str(65 * scale), "--seed", "7", "--out", str(source), "-q"],
            check=True,
        )
    env = {**os.environ, "HMP_ATOMIC_LOAD": "0"} if scale >= 100 else None
    subprocess.run(
        [HMP, "build", str(source), "--store", str(store)], check=True, capture_output=True, env=env
    )
    (target / ".built").touch()
    return store


def timed(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall-clock ms and median process CPU ms of ``repeat`` calls after one warm-up."""
    call()
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        call()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


class Timeout(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Timeout


def capped_ms(call: Callable[[], object], repeat: int, cap: float) -> float | None:
    """Median wall ms of ``repeat`` calls (no warm-up: rdflib has no plan cache); None past ``cap`` s."""
    times = []
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for _ in range(repeat):
            signal.setitimer(signal.ITIMER_REAL, cap)
            start = time.perf_counter()
            try:
                call()
            except Timeout:
                return None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            times.append((time.perf_counter() - start) * 1000)
            if times[-1] > cap * 1000 / 3:
                break  # slow enough that one run is the measurement
    finally:
        signal.signal(signal.SIGALRM, previous)
    return statistics.median(times)


def params(name: str, store: queries.QueryableStore) -> dict[str, str] | None:
    """A query about one participant (participant-profile, participant-trajectory) is run for the
    first participant (P01 in the example, P0001 in synthetic studies)."""
    found = [p for p in queries.get(name).params if p.type == "participant"]
    if not found:
        return None
    return {"participant": queries.accepted_values(found[0], store)[0]}


def virtuoso_ms(
    store: queries.QueryableStore, scale: int, names: list[str], repeat: int, threads: int
) -> dict[str, tuple[float, str]]:
    """Median wall ms of each query on a Virtuoso holding ``store``'s quads, and a note when its
    answer has another number of rows than ``store``'s."""
    from bench._virtuoso import bench_virtuoso

    work = WORK / f"virtuoso-{scale}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    dump = work / "dump.nq"
    store.dump(dump, media_type="application/n-quads")  # type: ignore[attr-defined]
    server = bench_virtuoso(work, max_rows=10_000_000, threads=threads)
    times: dict[str, tuple[float, str]] = {}
    try:
        server.start()
        started = time.perf_counter()
        server.bulk_load(dump)
        print(f"{scale}x: Virtuoso bulk load {time.perf_counter() - started:.0f} s", file=sys.stderr)
        remote = RemoteStore(server.url, timeout=600)
        for name in names:
            args = params(name, store)
            wall, _ = timed(partial(queries.run, remote, name, args), repeat)
            ours, theirs = (_size(queries.run(s, name, args)) for s in (store, remote))
            times[name] = (wall, "" if ours == theirs else f" (rows differ: {theirs} not {ours})")
            print(f"{scale}x virtuoso {name}: {wall:.1f} ms{times[name][1]}", file=sys.stderr)
    finally:
        server.stop()
        dump.unlink(missing_ok=True)
    return times


def _size(result: queries.QueryResult) -> int:
    return len(result.triples) if result.form == "construct" else len(result.rows)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rdflib-max-scale", type=int, default=1)
    parser.add_argument("--rdflib-cap", type=float, default=20.0, help="seconds per rdflib query")
    parser.add_argument("--store", action="append", default=[], help="SCALE=DIR: a store already built")
    parser.add_argument("--only", default="", help="comma-separated query names (default: all)")
    parser.add_argument("--virtuoso-max-scale", type=int, default=0, help="run on Virtuoso up to this scale")
    parser.add_argument(
        "--virtuoso-threads", type=int, default=1, help="threads a query may use (pyoxigraph uses one)"
    )
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    prebuilt = {int(k): Path(v) for k, v in (item.split("=", 1) for item in args.store)}
    names = [q.name for q in queries.catalogue() if not args.only or q.name in args.only.split(",")]
    oxigraph: dict[int, dict[str, tuple[float, float]]] = {}
    rdflib: dict[int, dict[str, float | None]] = {}
    virtuoso: dict[int, dict[str, tuple[float, str]]] = {}
    print(f"before: {uptime()}; {describe()}", file=sys.stderr)
    for scale in scales:
        path = prebuilt.get(scale) or build(scale)
        store = open_store(path, read_only=True)
        quads = store.count()
        oxigraph[scale] = {}
        for name in names:
            oxigraph[scale][name] = timed(partial(queries.run, store, name, params(name, store)), args.repeat)
            print(f"{scale}x ({quads} quads) {name}: {oxigraph[scale][name][0]:.1f} ms", file=sys.stderr)
        if scale <= args.rdflib_max_scale:
            dump = WORK / f"queries-{scale}" / "dump.nq"
            dump.parent.mkdir(parents=True, exist_ok=True)
            store.dump(dump, media_type="application/n-quads")
            rdflib_store = RdflibStore(load_quads([dump]))
            rdflib[scale] = {}
            for name in names:
                ms = capped_ms(
                    partial(queries.run, rdflib_store, name, params(name, store)),
                    max(1, args.repeat // 2),
                    args.rdflib_cap,
                )
                rdflib[scale][name] = ms
                print(f"{scale}x rdflib {name}: {ms if ms is not None else '>cap'} ms", file=sys.stderr)
            del rdflib_store
        if scale <= args.virtuoso_max_scale:
            virtuoso[scale] = virtuoso_ms(store, scale, names, args.repeat, args.virtuoso_threads)
        store.close()
    print(f"after: {uptime()}; {describe()}", file=sys.stderr)
    _table(names, scales, oxigraph, rdflib, args.rdflib_cap)
    if virtuoso:
        print()
        _virtuoso_table(names, oxigraph, virtuoso)


def _virtuoso_table(
    names: list[str],
    oxigraph: dict[int, dict[str, tuple[float, float]]],
    virtuoso: dict[int, dict[str, tuple[float, str]]],
) -> None:
    """pyoxigraph beside Virtuoso at each scale both ran, with each engine's growth between
    successive scales."""
    scales = sorted(virtuoso)
    head = ["query"]
    for s in scales:
        head += [f"pyoxigraph {s}x ms", f"Virtuoso {s}x ms"]
    for a, b in itertools.pairwise(scales):
        head += [f"pyoxigraph {b}x/{a}x", f"Virtuoso {b}x/{a}x"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---:|" * (len(head) - 1))
    for name in names:
        cells = [name]
        for s in scales:
            cells += [f"{oxigraph[s][name][0]:.1f}", f"{virtuoso[s][name][0]:.1f}{virtuoso[s][name][1]}"]
        for a, b in itertools.pairwise(scales):
            cells += [
                f"x{oxigraph[b][name][0] / oxigraph[a][name][0]:.1f}",
                f"x{virtuoso[b][name][0] / virtuoso[a][name][0]:.1f}",
            ]
        print("| " + " | ".join(cells) + " |")


def _table(
    names: list[str],
    scales: list[int],
    oxigraph: dict[int, dict[str, tuple[float, float]]],
    rdflib: dict[int, dict[str, float | None]],
    cap: float,
) -> None:
    head = ["query"] + [f"{s}x ms (cpu)" for s in scales]
    if len(scales) > 1:
        head.append(f"{scales[-1]}x/{scales[0]}x")
    for s in sorted(rdflib):
        head += [f"rdflib {s}x ms", f"rdflib/ox {s}x"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in names:
        cells = [name]
        for s in scales:
            wall, cpu = oxigraph[s][name]
            cells.append(f"{wall:.1f} ({cpu:.1f})")
        if len(scales) > 1:
            cells.append(f"{oxigraph[scales[-1]][name][0] / oxigraph[scales[0]][name][0]:.0f}")
        for s in sorted(rdflib):
            ms = rdflib[s][name]
            ox_ms = oxigraph[s][name][0]
            cells += (
                [f"{ms:.0f}", f"{ms / ox_ms:.0f}x"]
                if ms is not None
                else [f">{cap * 1000:.0f}", f">{cap * 1000 / ox_ms:.0f}x"]
            )
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
