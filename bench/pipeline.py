"""Full pipeline benchmark (issue 3 §7): read → lift → validate → load, per run in a fresh process.

    .venv/bin/python -m bench.pipeline [--participants 6500 | --source DIR] [--runs 3]
                                       [--batched] [--alternative] [--occupied]

Without ``--participants``/``--source`` the bundled example study is used; ``--participants N``
generates a synthetic study once (``hmp synth --participants N --seed 7``) into
``bench/_work/synth-N-seed7`` and reuses it. Each run is a fresh subprocess with a fresh store in
a temporary directory; its wall time (imports included), the time of each phase and its peak
RSS (``resource.getrusage``) are recorded; the median of the runs is printed.

Modes: ``pipeline`` is ``build_study`` as ``hmp build`` runs it (all or nothing: into a fresh
store the validated scratch store becomes the store's next generation; beside other data, one
transaction up to ``kg.build.TRANSACTION_QUADS`` quads, above it a new generation with the other
graphs copied in); ``--batched`` adds ``build_study(atomic=False, max_transaction_quads=0)``
(beside other data: loaded in place in bounded batches — not crash-safe); ``--alternative`` adds
the usual Python route: lift into an rdflib Graph and validate the whole study with pyshacl (no
load). ``--occupied`` puts one triple in an unrelated graph of each fresh store first, so the
study is not alone in it (no adoption of the scratch store).

``--heap`` also traces the Python heap with tracemalloc (after reading, after lift+stage, after
the checks, and the peak; imports and caches are loaded before tracing starts): what our own
code holds, which RSS mixes with RocksDB's. Tracing slows a run 2-3x.

Phases: read, lift+stage, checks, commit (everything after the checks); inside commit, for a
generation switch: copy (other graphs), compact (``optimize``), switch (symlink, old generation
removed).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from bench._speed import describe

WORK = Path(__file__).parent / "_work"


def one_run(source: str, mode: str, occupied: bool = False, heap: bool = False) -> dict[str, float]:
    heap_mb: dict[str, float] = {}
    if heap:  # the Python heap of reading and building only: imports and caches come first
        from kg.concepts import concept_index
        from kg.lift import ontology_facts
        from kg.readers._common import band_years
        from kg.validate import data_checks, shape_infos

        concept_index(), band_years(), ontology_facts(), shape_infos(), data_checks()
        tracemalloc.start()
    started = time.perf_counter()
    from kg.build import TRANSACTION_QUADS, build_study, read_source

    study = read_source(source)
    phases: dict[str, float] = {"read": time.perf_counter() - started}
    if heap:
        heap_mb["heap_after_read_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
    if mode in ("pipeline", "batched"):
        from kg.stores.oxigraph import OxigraphStore

        marks: dict[str, float] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if heap and done == 0 and stage in ("validate", "load") and stage not in marks:
                phase = "heap_after_lift_mb" if stage == "validate" else "heap_after_checks_mb"
                heap_mb[phase] = tracemalloc.get_traced_memory()[0] / 2**20
            marks.setdefault(stage if done == 0 else f"{stage}-done", time.perf_counter())

        WORK.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=WORK) as tmp:  # on the disk, as a real store is
            store = OxigraphStore(Path(tmp) / "store")
            if occupied:
                store.update("INSERT DATA { GRAPH <urn:x-bench:other> { <urn:x:s> <urn:x:p> 1 } }")
            begun = time.perf_counter()
            summary = build_study(
                study,
                store,
                raise_on_violation=False,
                progress=progress,
                atomic=mode == "pipeline",
                max_transaction_quads=0 if mode == "batched" else TRANSACTION_QUADS,
            )
            ended = time.perf_counter()
            store.close()
        phases["lift+stage"] = marks["validate"] - begun
        phases["checks"] = marks.get("load", ended) - marks["validate"]
        phases["commit"] = ended - marks["load"] if "load" in marks else 0.0
        stages = [m for m in ("copy", "compact", "switch") if m in marks]
        for this, after in zip(stages, [*stages[1:], "load-done"], strict=False):
            phases[this] = marks.get(after, ended) - marks[this]
        path = "new generation" if stages else "in place" if mode == "batched" else "transaction"
        extra = {
            "transcripts": summary.transcripts,
            "excerpts": summary.excerpts,
            "triples": summary.triples,
            "loaded": summary.loaded,
            "path": path,
        }
    else:  # rdflib Graph + pyshacl over the whole study
        import pyshacl
        from rdflib import Graph

        from kg.lift import lift_study, ontology_triples
        from kg.validate import shapes_graph, to_rdflib_triples

        graph = Graph()
        for t in to_rdflib_triples(ontology_triples()):
            graph.add(t)  # type: ignore[arg-type]
        for _g, triples in lift_study(study):
            for t in to_rdflib_triples(triples):
                graph.add(t)  # type: ignore[arg-type]
        pyshacl.validate(graph, shacl_graph=shapes_graph(), advanced=True, allow_warnings=True)
        extra = {"triples": len(graph)}
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if heap:
        heap_mb["heap_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
        extra.update({k: round(v, 1) for k, v in heap_mb.items()})
    return {"seconds": seconds, "peak_mb": peak_mb, **{k: round(v, 2) for k, v in phases.items()}, **extra}


def measure(
    source: str, mode: str, runs: int, timeout: float | None, occupied: bool, heap: bool = False
) -> dict[str, object]:
    results = []
    for _ in range(runs):
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bench.pipeline", "--one", source, "--mode", mode]
                + (["--occupied"] if occupied else [])
                + (["--heap"] if heap else []),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return {"runs": runs, "stopped": f"timeout {timeout} s"}
        if done.returncode != 0:
            return {"runs": runs, "failed": done.stderr.strip().splitlines()[-1:]}
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out: dict[str, object] = {
        k: statistics.median(r[k] for r in results)
        if isinstance(results[0][k], float | int)
        else results[0][k]
        for k in results[0]
    }
    out["runs"] = runs
    out["max_peak_mb"] = max(r["peak_mb"] for r in results)
    return out


def synthetic(participants: int, seed: int) -> Path:
    out = WORK / f"synth-{participants}-seed{seed}"
    if not (out / "study.yaml").exists():
        hmp = Path(sys.executable).with_name("hmp")
        args = ["synth", "--participants", str(participants), "--seed", str(seed), "--out", str(out)]
        subprocess.run([str(hmp), *args], check=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int)
    parser.add_argument("--source", help="an existing study folder (e.g. bench/_work/100x)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batched", action="store_true", help="also build_study(atomic=False)")
    parser.add_argument("--no-atomic", action="store_true", help="skip the default (all-or-nothing) pipeline")
    parser.add_argument("--occupied", action="store_true", help="one unrelated triple in each store first")
    parser.add_argument("--alternative", action="store_true")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per run")
    parser.add_argument(
        "--heap",
        action="store_true",
        help="also trace the Python heap (tracemalloc: after reading, lifting, checking; peak). "
        "Slows the run down 2-3x: its times are not comparable with runs without it",
    )
    parser.add_argument("--one")
    parser.add_argument("--mode", default="pipeline")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.mode, args.occupied, args.heap)))
        return
    from kg._paths import EXAMPLE_STUDY

    source = str(EXAMPLE_STUDY)
    if args.source:
        source = args.source
    elif args.participants:
        source = str(synthetic(args.participants, args.seed))
    print(f"source: {source}")
    print(describe())
    if not args.no_atomic:
        result = measure(source, "pipeline", args.runs, args.timeout, args.occupied, args.heap)
        print("pipeline, all or nothing:", json.dumps(result))
    if args.batched:
        result = measure(source, "batched", args.runs, args.timeout, args.occupied, args.heap)
        print("pipeline, batched commit (atomic=False):", json.dumps(result))
    if args.alternative:
        result = measure(source, "rdflib-pyshacl", args.runs, args.timeout, args.occupied)
        print("rdflib + pyshacl whole study (no load):", json.dumps(result))


if __name__ == "__main__":
    main()
