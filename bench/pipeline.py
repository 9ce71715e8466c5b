"""Full pipeline benchmark (issue 3 §7): read → lift → validate → load, per run in a fresh process.

    .venv/bin/python -m bench.pipeline [--participants 6500] [--runs 3] [--alternative]

Without ``--participants`` the bundled example study is used; with it a synthetic study is
generated once with ``hmp synth --participants N --seed 7``. Each run is a fresh subprocess
(fresh store in a temporary directory); its wall time and peak RSS (``resource.getrusage``) are
recorded; the median of the runs is printed. ``--alternative`` also runs the usual Python
route in the same session: lift into an rdflib Dataset and validate the whole study at once with
pyshacl (no store load), for comparison.
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
from pathlib import Path


def one_run(source: str, mode: str) -> dict[str, float]:
    started = time.perf_counter()
    from kg.build import build_study, read_source

    study = read_source(source)
    if mode == "pipeline":
        from kg.stores.oxigraph import OxigraphStore

        with tempfile.TemporaryDirectory() as tmp:
            store = OxigraphStore(Path(tmp) / "store")
            summary = build_study(study, store, raise_on_violation=False)
            store.close()
        extra = {"transcripts": summary.transcripts, "excerpts": summary.excerpts, "triples": summary.triples}
    else:  # rdflib Dataset + pyshacl over the whole study
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
    return {"seconds": seconds, "peak_mb": peak_mb, **extra}


def measure(source: str, mode: str, runs: int) -> dict[str, float]:
    results = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-m", "bench.pipeline", "--one", source, "--mode", mode],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {k: statistics.median(r[k] for r in results) for k in results[0]}
    out["runs"] = runs
    out["max_peak_mb"] = max(r["peak_mb"] for r in results)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--participants", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--alternative", action="store_true")
    parser.add_argument("--one")
    parser.add_argument("--mode", default="pipeline")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.one, args.mode)))
        return
    from kg._paths import EXAMPLE_STUDY

    source = str(EXAMPLE_STUDY)
    if args.participants:
        out = Path(tempfile.mkdtemp(prefix="hmp-bench-")) / "study"
        hmp = Path(sys.executable).with_name("hmp")
        subprocess.run(
            [
                str(hmp),
                "synth",
                "--participants",
                str(args.participants),
                "--seed",
                str(args.seed),
                "--out",
                str(out),
            ],
            check=True,
        )
        source = str(out)
    print(f"source: {source}")
    print(
        "pipeline (read+lift+stage+SPARQL checks+load):", json.dumps(measure(source, "pipeline", args.runs))
    )
    if args.alternative:
        print(
            "rdflib + pyshacl whole study (no load):",
            json.dumps(measure(source, "rdflib-pyshacl", args.runs)),
        )


if __name__ == "__main__":
    main()
