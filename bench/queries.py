"""Benchmark the canned queries: median time per query on the embedded store vs rdflib in memory.

    .venv/bin/python -m bench.queries [--scales 1,10,100] [--repeat 5] [--rdflib-max-scale 10]

Scale 1 is the bundled example study (65 participants); scale k is `hmp synth --participants
65*k`. Each scale is built with `hmp build` into bench/_work/queries-<k>/store (kept between runs),
then every canned query runs `--repeat` times on the embedded pyoxigraph store (OxigraphStore)
and on rdflib's SPARQL engine over the same quads (Dataset(default_union=True)); the script prints
a Markdown table (median ms, ratio rdflib/oxigraph). Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kg import queries
from kg._query_engines import RdflibStore, load_quads
from kg.store import open_store

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
    subprocess.run([HMP, "build", str(source), "--store", str(store)], check=True, capture_output=True)
    (target / ".built").touch()
    return store


def median_ms(call: Callable[[], object], repeat: int) -> float:
    call()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def params(name: str) -> dict[str, str] | None:
    return {"participant": "P01"} if name == "participant-profile" else None


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,10")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rdflib-max-scale", type=int, default=1)
    args = parser.parse_args()
    scales = [int(s) for s in args.scales.split(",")]
    results: dict[int, dict[str, tuple[float, float | None]]] = {}
    for scale in scales:
        path = build(scale)
        store = open_store(path, read_only=True)
        rdflib_store = None
        if scale <= args.rdflib_max_scale:
            dump = WORK / f"queries-{scale}" / "dump.nq"
            store.dump(dump, media_type="application/n-quads")
            rdflib_store = RdflibStore(load_quads([dump]))
        results[scale] = {}
        for q in queries.catalogue():
            ox_ms = median_ms(lambda q=q, st=store: queries.run(st, q.name, params(q.name)), args.repeat)
            rl_ms = None
            if rdflib_store is not None:
                rl_ms = median_ms(
                    lambda q=q, rl=rdflib_store: queries.run(rl, q.name, params(q.name)),
                    max(1, args.repeat // 2),
                )
            results[scale][q.name] = (ox_ms, rl_ms)
            print(
                f"scale {scale} {q.name}: {ox_ms:.1f} ms" + (f", rdflib {rl_ms:.0f} ms" if rl_ms else ""),
                file=sys.stderr,
            )
        store.close()
    header = "| query | " + " | ".join(f"{s}x oxigraph ms | {s}x rdflib/ox" for s in scales) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(scales)))
    for q in queries.catalogue():
        cells = []
        for s in scales:
            ox_ms, rl_ms = results[s][q.name]
            cells += [f"{ox_ms:.1f}", f"{rl_ms / ox_ms:.0f}x" if rl_ms else "-"]
        print(f"| {q.name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
