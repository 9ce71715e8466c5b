"""Benchmark the SPARQL service (issue 6) on the bundled example study.

Side by side in one run, on loopback:
- median latency per canned query over HTTP (``GET /sparql?query=…``, SPARQL JSON) on our service;
- the same queries on rdflib-endpoint (``pip install rdflib-endpoint``; bench only) serving the
  same quads from an rdflib ``Dataset(default_union=True)``;
- the same queries on pyoxigraph in-process (query + JSON serialisation), and a bare HTTP round
  trip (a small static file) — the overhead budget is 1.5 × in-process + round trip;
- a bounded concurrent load (threads × seconds) on our service: requests/s and p95.

Run: ``.venv/bin/python -m bench.service [--reps 30] [--rdflib-reps 3] [--write]``; ``--write``
replaces the ``## Service (issue 6)`` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "service"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Service (issue 6)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_example(store_dir: Path, dump: Path) -> None:
    """The example study (and ontology) in an embedded store, plus an N-Quads dump of it."""
    from kg.store import open_store

    if not store_dir.exists():
        subprocess.run(
            [str(ROOT / ".venv/bin/hmp"), "build", "--store", str(store_dir)],
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    if not dump.exists():
        store = open_store(store_dir, read_only=True)
        store.dump(dump, media_type="application/n-quads")
        store.close()


@contextlib.contextmanager
def serve(argv: list[str], url: str, env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{argv} exited: {log.read_text()[-2000:]}")
            with contextlib.suppress(httpx.HTTPError):
                httpx.get(url, timeout=5)
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{argv} did not start")
            time.sleep(0.2)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def rdflib_endpoint_main(dump: str, port: int) -> None:  # pragma: no cover - subprocess
    """Serve ``dump`` with rdflib-endpoint (the comparison)."""
    import rdflib
    import uvicorn
    from rdflib_endpoint import SparqlEndpoint

    dataset = rdflib.Dataset(default_union=True)
    dataset.parse(dump, format="nquads")
    app = SparqlEndpoint(graph=dataset, cors_enabled=False, public_url=f"http://127.0.0.1:{port}/")
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def timed(client: httpx.Client, url: str, query: str) -> float:
    started = time.perf_counter()
    response = client.get(url, params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    assert response.json()["head"] is not None
    return elapsed


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def load(url: str, queries: list[str], threads: int, seconds: float) -> tuple[float, float, int]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            i = offset
            while time.monotonic() < stop:
                query = queries[i % len(queries)]
                i += 1
                started = time.perf_counter()
                response = client.get(
                    url, params={"query": query}, headers={"Accept": "application/sparql-results+json"}
                )
                elapsed = time.perf_counter() - started
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] * 1000 if latencies else float("nan")
    return len(latencies) / wall, p95, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--rdflib-reps", type=int, default=3)
    parser.add_argument("--rdflib-timeout", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--rdflib-budget", type=float, default=240.0, help="seconds for all rdflib-endpoint runs"
    )
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = parser.parse_args()

    from kg import queries as canned

    args.load_before = os.getloadavg()[0]
    WORK.mkdir(parents=True, exist_ok=True)
    store_dir, dump = WORK / "store", WORK / "example.nq"
    build_example(store_dir, dump)
    selected = [q for q in canned.catalogue() if q.form == "select" and not any(p.required for p in q.params)]

    # In-process pyoxigraph: the floor.
    store = ox.Store.read_only(str(store_dir))
    inproc: dict[str, float] = {}
    for q in selected:
        samples = []
        for _ in range(args.reps):
            started = time.perf_counter()
            store.query(q.text, use_default_graph_as_union=True).serialize(format=ox.QueryResultsFormat.JSON)
            samples.append(time.perf_counter() - started)
        inproc[q.name] = median_ms(samples)
    del store

    ours_port, theirs_port = free_port(), free_port()
    ours = f"http://127.0.0.1:{ours_port}"
    theirs = f"http://127.0.0.1:{theirs_port}"
    python = sys.executable
    ours_cmd = [python, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1", "--port", str(ours_port)]
    theirs_cmd = [
        python,
        "-c",
        f"from bench.service import rdflib_endpoint_main as m; m({str(dump)!r}, {theirs_port})",
    ]
    env = {"HMP_STORE": str(store_dir), "PYTHONPATH": str(ROOT)}
    results: dict[str, dict[str, float | None]] = {}
    # Ours first, alone on the machine; then rdflib-endpoint, restarted after each timeout so a
    # runaway query does not steal CPU from the next measurement.
    with serve([*ours_cmd, "--log-level", "warning"], f"{ours}/health", env, WORK / "ours.log"):
        with httpx.Client(timeout=60) as client:
            bare = median_ms([_bare(client, f"{ours}/static/hmp.css") for _ in range(args.reps)])
            for q in selected:
                timed(client, f"{ours}/sparql", q.text)  # warm
                http = median_ms([timed(client, f"{ours}/sparql", q.text) for _ in range(args.reps)])
                route = median_ms([_bare(client, f"{ours}/queries/{q.name}") for _ in range(args.reps)])
                results[q.name] = {"http": http, "route": route, "rdflib": None, "inproc": inproc[q.name]}
        rps, p95, errors = load(f"{ours}/sparql", [q.text for q in selected], args.threads, args.seconds)
    budget_end = time.monotonic() + args.rdflib_budget
    pending = list(selected)
    while pending and time.monotonic() < budget_end:
        with serve(theirs_cmd, f"{theirs}/", {"PYTHONPATH": str(ROOT)}, WORK / "rdflib-endpoint.log"):
            with httpx.Client(timeout=args.rdflib_timeout) as client:
                while pending and time.monotonic() < budget_end:
                    q = pending.pop(0)
                    try:
                        other = median_ms(
                            [timed(client, f"{theirs}/", q.text) for _ in range(args.rdflib_reps)]
                        )
                    except httpx.TimeoutException:
                        results[q.name]["rdflib"] = float("inf")
                        break  # restart the server: it is still busy with this query
                    results[q.name]["rdflib"] = other
    for name, r in results.items():
        print(
            f"{name:28} ours {r['http']:7.2f} ms  route {r['route']:7.2f}  rdflib-endpoint {r['rdflib']} ms  "
            f"in-process {r['inproc']:6.2f} ms",
            flush=True,
        )
    args.load_after = os.getloadavg()[0]
    report = render(results, bare, rps, p95, errors, args)
    print(report)
    if args.write:
        write_section(report)


def _bare(client: httpx.Client, url: str) -> float:
    started = time.perf_counter()
    client.get(url).raise_for_status()
    return time.perf_counter() - started


def render(
    results: dict[str, dict[str, float | None]],
    bare: float,
    rps: float,
    p95: float,
    errors: int,
    args: argparse.Namespace,
) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.service --reps {args.reps} --rdflib-reps {args.rdflib_reps} --rdflib-timeout "
        f"{args.rdflib_timeout:g}` on the example study "
        f"(embedded store, 2 query worker processes), loopback, {time.strftime('%Y-%m-%d')}. Medians in ms; "
        "HTTP = `GET /sparql?query=` with SPARQL JSON; route = `GET /queries/NAME`; rdflib-endpoint "
        "serves the same quads (rdflib `Dataset(default_union=True)`); in-process = pyoxigraph "
        "query + JSON serialisation. Budget = 1.5 × in-process + bare HTTP round trip "
        f"({bare:.2f} ms for a small static file).",
        "",
        "| query | HTTP | route | rdflib-endpoint | speed-up | in-process | within budget |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    http_all, speedups = [], []
    for name, r in results.items():
        http, route, other, inproc = r["http"], r["route"], r["rdflib"], r["inproc"]
        assert http is not None and inproc is not None and route is not None
        http_all.append(http)
        if other is None:
            speed, other_text = "n/a", "not run (budget)"
        elif other == float("inf"):
            speed, other_text = (
                f">{args.rdflib_timeout * 1000 / http:.0f}×",
                f">{args.rdflib_timeout:g} s (timeout)",
            )
            speedups.append(args.rdflib_timeout * 1000 / http)
        else:
            speed, other_text = f"{other / http:.0f}×", f"{other:.1f}"
            speedups.append(other / http)
        ok = "yes" if http <= 1.5 * inproc + bare else "no"
        lines.append(f"| {name} | {http:.2f} | {route:.2f} | {other_text} | {speed} | {inproc:.2f} | {ok} |")
    lines += [
        "",
        f"- Median over queries of the HTTP median: {statistics.median(http_all):.2f} ms "
        f"(max {max(http_all):.2f} ms); speed-up over rdflib-endpoint: min {min(speedups):.0f}×, "
        f"median {statistics.median(speedups):.0f}×."
        if speedups
        else "",
        f"- Concurrent load: {args.threads} client threads for {args.seconds:g} s cycling through the "
        "queries: "
        f"{rps:.0f} requests/s, p95 {p95:.2f} ms, {errors} errors.",
        f"- Machine load (1-min load average, 2 cores shared): {args.load_before:.2f} at the start, "
        f"{args.load_after:.2f} at the end.",
        "",
    ]
    return "\n".join(lines)


def write_section(report: str) -> None:
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + report
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + report + ("\n" + text[end + 1 :] if end != -1 else "")
    RESULTS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
