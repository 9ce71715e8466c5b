"""Benchmark the SPARQL service (issue 6) on the bundled example study.

Side by side in one run, on loopback:
- median latency per canned query over HTTP (``GET /sparql?query=…``, SPARQL JSON) on our service;
- the same queries on rdflib-endpoint (``pip install rdflib-endpoint``; bench only) serving the
  same quads from an rdflib ``Dataset(default_union=True)``;
- the same queries on pyoxigraph in-process (query + JSON serialisation), and a bare HTTP round
  trip (a small static file) — the overhead budget is 1.5 × in-process + round trip; all four
  are timed in alternation, one of each per round, so that they see the same machine;
- a bounded concurrent load (threads × seconds) on our service: requests/s and p95.

Each canned SELECT query is sent as it is (no parameter bindings); a parameterised one (evidence)
is also measured as a user calls it: with the catalogue's default parameters bound, over
``/sparql`` and over its route. Request URLs are encoded once per query, before timing: the
figures are the service's latency, not httpx percent-encoding a 1-4 KB query on every request.
The example study is rebuilt into a fresh store on every run (it takes about a second), so the
figures always reflect the current lifter and queries.

``--restricted`` also serves the example built as a restricted study (its transcripts' graph
withheld, as a real study's would be) and times the same requests there.

Run: ``.venv/bin/python -m bench.service [--reps 30] [--rdflib-reps 3] [--restricted] [--write]``;
``--write`` adds the run to the ``## Service (issue 6)`` section of bench/RESULTS.md, above the
earlier runs.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pyoxigraph as ox

from bench._speed import figures, probe

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "_work" / "service"
RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Service (issue 6)"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_example(store_dir: Path, dump: Path) -> None:
    """The example study (and ontology) in a fresh embedded store, plus an N-Quads dump of it.

    Always rebuilt: a store left from an earlier run would lack what the lifter adds since (the
    queries would then run fast on data they do not match)."""
    from kg.store import open_store

    shutil.rmtree(store_dir, ignore_errors=True)
    dump.unlink(missing_ok=True)
    built = subprocess.run(
        [str(ROOT / ".venv/bin/hmp"), "build", "--store", str(store_dir)], cwd=ROOT, capture_output=True
    )
    if built.returncode != 0:  # the findings report goes to stderr even on success
        raise RuntimeError(f"hmp build failed:\n{built.stderr.decode()[-4000:]}")
    store = open_store(store_dir, read_only=True)
    store.dump(dump, media_type="application/n-quads")
    store.close()


def settle(client: httpx.Client, base: str) -> None:
    """Wait until the server has computed its landing page's answers (HMP_WARM_LANDING, in the
    background from start-up): requests made meanwhile share the process with that work (its
    Python parts hold the GIL), which is start-up cost, not the latency being measured."""
    client.get(f"{base}/", headers={"Accept": "text/html"}).raise_for_status()


def build_restricted(store_dir: Path) -> None:
    """The example study with its access tier set to "restricted", in a fresh store: the service
    then withholds its transcripts' graph, as it would a real study's."""
    study = WORK / "restricted-study"
    shutil.rmtree(study, ignore_errors=True)
    shutil.rmtree(store_dir, ignore_errors=True)
    shutil.copytree(ROOT / "data" / "example-study", study)
    yaml = (study / "study.yaml").read_text(encoding="utf-8")
    if "text_access_tier: open" not in yaml:
        raise RuntimeError("data/example-study/study.yaml no longer says 'text_access_tier: open'")
    (study / "study.yaml").write_text(yaml.replace("text_access_tier: open", "text_access_tier: restricted"))
    built = subprocess.run(
        [str(ROOT / ".venv/bin/hmp"), "build", str(study), "--store", str(store_dir)],
        cwd=ROOT,
        capture_output=True,
    )
    if built.returncode != 0:
        raise RuntimeError(f"hmp build failed:\n{built.stderr.decode()[-4000:]}")


def requests_for(
    client: httpx.Client, base: str, case: Case, *, kept: bool = False
) -> dict[str, Callable[[], float]]:
    """The timed requests of ``case`` on the server at ``base``: ``/sparql`` with its text, and its
    route when it has one, each evaluated (``no-cache``); with ``kept``, also the route answered
    from the kept answer and revalidated (``If-None-Match``: 304). Each is sent once first,
    untimed (warm)."""
    url = query_url(f"{base}/sparql", case.text)
    requests: dict[str, Callable[[], float]] = {"http": lambda: timed(client, url)}
    if case.route:
        route_url = httpx.URL(base + case.route)
        requests["route"] = lambda: _bare(client, route_url)
        if kept:
            etag = client.get(route_url, headers=_ACCEPT).headers["etag"]
            requests["kept"] = lambda: _kept(client, route_url)
            requests["304"] = lambda: _revalidated(client, route_url, etag)
    for request in requests.values():
        request()
    return requests


def rounds(reps: int, probes: dict[str, Callable[[], float]]) -> dict[str, list[float]]:
    """``reps`` rounds of one sample of each probe: the probes share the machine's state, which
    swings within a minute."""
    samples: dict[str, list[float]] = {name: [] for name in probes}
    for _ in range(reps):
        for name, sample in probes.items():
            samples[name].append(sample())
    return samples


def restricted_table(selected: list[Case], port: int, reps: int) -> str:
    """Median ms per case on the example built as a restricted study (its transcripts withheld)."""
    store_dir, url = WORK / "restricted-store", f"http://127.0.0.1:{port}"
    build_restricted(store_dir)
    lines = [
        "",
        "The same example built as a **restricted** study (`--restricted`: `text_access_tier: restricted`,",
        "so its transcripts' graph is withheld and queries see the other graphs only), same server code:",
        "",
        "| query | HTTP | route |",
        "|---|---:|---:|",
    ]
    env = {"HMP_STORE": str(store_dir), "PYTHONPATH": str(ROOT)}
    with serve(uvicorn_command(port), f"{url}/health", env, WORK / "restricted.log"):
        with httpx.Client(timeout=60) as client:
            settle(client, url)
            for case in selected:
                samples = rounds(reps, requests_for(client, url, case))
                route = f"{median_ms(samples['route']):.2f}" if "route" in samples else "–"
                lines.append(f"| {case.label} | {median_ms(samples['http']):.2f} | {route} |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Case:
    """One measured query: its label, its text, and the route that runs the same text (if any)."""

    label: str
    text: str
    route: str | None
    #: The query as its route runs it (text and parameters bound by the engine), for the
    #: in-process floor; None: ``text`` as it is.
    bound: tuple[str, dict[object, object]] | None = None


def cases(store_dir: Path) -> list[Case]:
    """Every canned SELECT without a required parameter, as sent bare over ``/sparql``; one with
    optional parameters also with its defaults bound, which is what its route runs."""
    from kg import queries as canned
    from kg.store import open_store
    from kg.stores._bind import bind

    store = open_store(store_dir, read_only=True)
    out: list[Case] = []
    for q in canned.catalogue():
        if q.form != "select" or any(p.required for p in q.params):
            continue
        if not q.params:
            out.append(Case(q.name, q.text, f"/queries/{q.name}"))
            continue
        defaults = ", ".join(f"{p.name}={p.default}" for p in q.params)
        out.append(Case(f"{q.name} (no bindings: every row)", q.text, None))
        terms = canned.bind(q, {}, store)
        substitutions: dict[object, object] = {ox.Variable(k): v for k, v in terms.items()}
        out.append(
            Case(f"{q.name} ({defaults})", bind(q.text, terms), f"/queries/{q.name}", (q.text, substitutions))
        )
    store.close()
    return out


@contextlib.contextmanager
def serve(argv: list[str], url: str, env: dict[str, str], log: Path, cwd: Path = ROOT) -> Iterator[None]:
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, cwd=cwd, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
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


_ACCEPT = {"Accept": "application/sparql-results+json"}
#: Every timed evaluation asks for a fresh answer: the service keeps answers per version of the
#: store (service.answers), and the budgets are about running the query. rdflib-endpoint ignores it.
_FRESH = {**_ACCEPT, "Cache-Control": "no-cache"}


def query_url(endpoint: str, query: str) -> httpx.URL:
    """``GET endpoint?query=…``, encoded once (httpx spends ~0.2 ms encoding a 1-4 KB query)."""
    return httpx.URL(f"{endpoint}?{urlencode({'query': query})}")


def timed(client: httpx.Client, url: httpx.URL) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=_FRESH)
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    assert response.json()["head"] is not None
    assert "cache" not in response.headers.get("server-timing", ""), "a kept answer was timed"
    return elapsed


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def load(
    urls: list[list[httpx.URL]], threads: int, seconds: float, headers: dict[str, str]
) -> tuple[float, float, int]:
    """Requests/s, p95 ms and errors of ``threads`` clients for ``seconds``; client n cycles
    through ``urls[n % len(urls)]`` from its own offset."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(offset: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=30) as client:
            i = offset
            while time.monotonic() < stop:
                mine = urls[offset % len(urls)]
                url = mine[i % len(mine)]
                i += 1
                started = time.perf_counter()
                response = client.get(url, headers=headers)
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
    parser.add_argument(
        "--baseline",
        metavar="REV",
        help="also serve service/ as of git revision REV, and time both servers interleaved",
    )
    parser.add_argument(
        "--restricted",
        action="store_true",
        help="also time every query on the example built as a restricted study (transcripts withheld)",
    )
    parser.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    parser.add_argument(
        "--kept-answers",
        metavar="STORE",
        type=Path,
        help="only this: serve STORE (e.g. bench/_work/store-100x) and time a few canned routes "
        "evaluated, answered from the kept answer and revalidated (304)",
    )
    args = parser.parse_args()
    if args.kept_answers is not None:
        print(kept_answers_table(args.kept_answers, reps=5))
        return

    from kg.stores.oxigraph import OxigraphStore

    args.load_before = os.getloadavg()[0]
    args.speed_before = probe()
    WORK.mkdir(parents=True, exist_ok=True)
    store_dir, dump = WORK / "store", WORK / "example.nq"
    build_example(store_dir, dump)
    selected = cases(store_dir)

    # In-process pyoxigraph, the floor: timed inside the loop below, alternating with the HTTP
    # requests, so that both see the same machine (its speed swings within a minute).
    store = OxigraphStore(store_dir, read_only=True).raw

    def in_process(case: Case) -> float:
        started = time.perf_counter()
        text, substitutions = case.bound or (case.text, {})
        store.query(text, use_default_graph_as_union=True, substitutions=substitutions).serialize(  # type: ignore[arg-type]
            format=ox.QueryResultsFormat.JSON
        )
        return time.perf_counter() - started

    ours_port, theirs_port, base_port = free_port(), free_port(), free_port()
    ours = f"http://127.0.0.1:{ours_port}"
    theirs = f"http://127.0.0.1:{theirs_port}"
    python = sys.executable
    theirs_cmd = [
        python,
        "-c",
        f"from bench.service import rdflib_endpoint_main as m; m({str(dump)!r}, {theirs_port})",
    ]
    env = {"HMP_STORE": str(store_dir), "PYTHONPATH": str(ROOT)}
    results: dict[str, dict[str, float | None]] = {}
    # Ours first, alone on the machine; then rdflib-endpoint, restarted after each timeout so a
    # runaway query does not steal CPU from the next measurement.
    with serve(uvicorn_command(ours_port), f"{ours}/health", env, WORK / "ours.log"):
        with httpx.Client(timeout=60) as client:
            static = httpx.URL(f"{ours}/static/hmp.css")
            # The same server answering with no work at all (no file, no thread hop): a stricter
            # round trip than the static file.
            unknown = httpx.URL(f"{ours}/no-such-page")
            _bare(client, static)
            settle(client, ours)
            bare_samples: list[float] = []
            minimal_samples: list[float] = []
            for case in selected:
                hot = [in_process(case) for _ in range(args.reps)]  # back to back: caches warm
                samples = rounds(
                    args.reps,
                    {
                        "inproc": lambda: in_process(case),  # noqa: B023 - used in this iteration
                        **requests_for(client, ours, case, kept=True),
                        "bare": lambda: _bare(client, static),
                        "404": lambda: _unanswered(client, unknown),
                    },
                )
                bare_samples += samples["bare"]
                minimal_samples += samples["404"]
                results[case.label] = {
                    "http": median_ms(samples["http"]),
                    "route": median_ms(samples["route"]) if "route" in samples else None,
                    "kept": median_ms(samples["kept"]) if "kept" in samples else None,
                    "304": median_ms(samples["304"]) if "304" in samples else None,
                    "rdflib": None,
                    "inproc": median_ms(samples["inproc"]),
                    "hot": median_ms(hot),
                    # this case's own round trips, for its budget
                    "bare": median_ms(samples["bare"]),
                    "404": median_ms(samples["404"]),
                }
            bare, minimal = median_ms(bare_samples), median_ms(minimal_samples)
        # each client's texts end in a comment of its own, so that no two clients ask for the
        # same answer at once (the service would share one evaluation between them: 923ec87)
        own = [
            [query_url(f"{ours}/sparql", f"{case.text}\n# load client {n}") for case in selected]
            for n in range(args.threads)
        ]
        rps, p95, errors = load(own, args.threads, args.seconds, _FRESH)
        urls = [query_url(f"{ours}/sparql", case.text) for case in selected]
        args.kept_load = load([urls], args.threads, args.seconds, _ACCEPT)
    restricted = restricted_table(selected, free_port(), args.reps) if args.restricted else None
    baseline = None
    if args.baseline:
        baseline = compare_with(args.baseline, selected, store_dir, ours_port, base_port, args.reps)
    budget_end = time.monotonic() + args.rdflib_budget
    pending = list(selected) if args.rdflib_reps > 0 else []  # --rdflib-reps 0: ours only
    while pending and time.monotonic() < budget_end:
        with serve(theirs_cmd, f"{theirs}/", {"PYTHONPATH": str(ROOT)}, WORK / "rdflib-endpoint.log"):
            with httpx.Client(timeout=args.rdflib_timeout) as client:
                while pending and time.monotonic() < budget_end:
                    case = pending.pop(0)
                    url = query_url(f"{theirs}/", case.text)
                    try:
                        other = median_ms([timed(client, url) for _ in range(args.rdflib_reps)])
                    except httpx.TimeoutException:
                        results[case.label]["rdflib"] = float("inf")
                        break  # restart the server: it is still busy with this query
                    results[case.label]["rdflib"] = other
    for name, r in results.items():
        print(
            f"{name:28} ours {r['http']:7.2f} ms  route {r['route']}  rdflib-endpoint {r['rdflib']} ms  "
            f"in-process {r['inproc']:6.2f} ms",
            flush=True,
        )
    args.load_after = os.getloadavg()[0]
    args.speed_after = probe()
    report = render(results, bare, minimal, rps, p95, errors, args)
    if restricted is not None:
        report += restricted
    if baseline is not None:
        report += "\n" + baseline
    print(report)
    if args.write:
        write_section(report)


#: The routes ``--kept-answers`` times: the biggest answers at 100x, a small one, a parameterised one.
KEPT_ROUTES = (
    "/queries/evidence",
    "/queries/turning-points",
    "/queries/emotions-by-stage",
    "/queries/stages-by-occupation",
    "/queries/sample-composition",
    "/queries/participant-trajectory?participant=P0001",
)


def kept_answers_table(store_dir: Path, reps: int) -> str:
    """Median ms per route over ``store_dir``: evaluated (``no-cache``), answered from the kept
    answer, and revalidated with its ETag, one of each per round. httpx asks for gzip, so answers
    of ``HMP_GZIP_MIN_BYTES`` and more come compressed and are decoded inside the timing."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"HMP_STORE": str(store_dir.resolve()), "PYTHONPATH": str(ROOT), "HMP_WARM_LANDING": "0"}
    lines = [
        f"`python -m bench.service --kept-answers {store_dir}` ({reps} rounds), "
        f"{time.strftime('%Y-%m-%d %H:%M')}, {figures(*probe())}",
        "",
        "| route | evaluated | kept answer | 304 | kept / evaluated | answer | on the wire (gzip) |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    with serve(uvicorn_command(port), f"{url}/health", env, WORK / "kept.log"):
        with httpx.Client(timeout=300) as client:
            for route in KEPT_ROUTES:
                target = httpx.URL(url + route)
                etag = client.get(target, headers=_FRESH).headers["etag"]  # warm, and kept
                samples = {
                    "evaluated": lambda: _bare(client, target),  # noqa: B023 - used in this iteration
                    "kept": lambda: _kept(client, target),  # noqa: B023
                    "304": lambda: _revalidated(client, target, etag),  # noqa: B023
                }
                timed_rounds = {name: median_ms(values) for name, values in rounds(reps, samples).items()}
                sized = client.get(target, headers=_ACCEPT)  # httpx asks for gzip, and decodes it
                size, wire = len(sized.content), sized.num_bytes_downloaded
                evaluated, kept = timed_rounds["evaluated"], timed_rounds["kept"]
                lines.append(
                    f"| `{route}` | {evaluated:.1f} | {kept:.2f} | {timed_rounds['304']:.2f} | "
                    f"1/{evaluated / kept:.0f} | {size / 1024:,.1f} KB | {wire / 1024:,.1f} KB |"
                )
    return "\n".join(lines) + "\n"


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "service.main:app", "--host", "127.0.0.1", "--port", str(port)),
        *("--log-level", "warning"),
    ]


def compare_with(
    rev: str, selected: list[Case], store_dir: Path, port: int, base_port: int, reps: int
) -> str:
    """Serve ``service/`` as of ``rev`` beside the current one (same store, same kg package) and
    time both in alternating blocks of back-to-back requests: a before/after table whose two
    columns saw the same machine load."""
    old = WORK / f"baseline-{rev}"
    shutil.rmtree(old, ignore_errors=True)
    old.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", rev, "service"], cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(old)], input=archive.stdout, check=True)
    servers = [(f"http://127.0.0.1:{base_port}", old), (f"http://127.0.0.1:{port}", ROOT)]
    block, rounds = 10, max(1, reps // 10)
    rows = [("static file (round trip)", "/static/hmp.css")]
    for case in selected:
        rows.append((f"{case.label}", "/sparql?" + urlencode({"query": case.text})))
        if case.route:
            rows.append((f"{case.label} (route)", case.route))
    samples: dict[tuple[str, int], list[float]] = {}
    with contextlib.ExitStack() as stack:
        for (url, path), p in zip(servers, (base_port, port), strict=True):
            # Run from ``path`` so that ``service`` is imported from there; kg is the installed one.
            env = {"HMP_STORE": str(store_dir), "PYTHONPATH": f"{path}{os.pathsep}{ROOT}"}
            log = WORK / f"compare-{p}.log"
            stack.enter_context(serve(uvicorn_command(p), f"{url}/health", env, log, cwd=path))
        clients = [stack.enter_context(httpx.Client(timeout=60)) for _ in servers]
        for client, (url, _) in zip(clients, servers, strict=True):
            settle(client, url)
        for label, path in rows:
            urls = [httpx.URL(url + path) for url, _ in servers]
            for client, url in zip(clients, urls, strict=True):
                _bare(client, url)  # warm
            for _ in range(rounds):
                for i, (client, url) in enumerate(zip(clients, urls, strict=True)):
                    samples.setdefault((label, i), []).extend(_bare(client, url) for _ in range(block))
    lines = [
        f"Before/after, side by side (`--baseline {rev}`: service/ as of {rev} and the current one, same "
        f"store, alternating blocks of {block} back-to-back requests, {rounds * block} per server; "
        f"1-min load {os.getloadavg()[0]:.2f}). Medians in ms:",
        "",
        f"| request | {rev} | now |",
        "|---|---:|---:|",
    ]
    for label, _ in rows:
        before, after = (median_ms(samples[(label, i)]) for i in range(2))
        lines.append(f"| {label} | {before:.2f} | {after:.2f} |")
    return "\n".join(lines) + "\n"


def _unanswered(client: httpx.Client, url: httpx.URL) -> float:
    started = time.perf_counter()
    status = client.get(url).status_code
    elapsed = time.perf_counter() - started
    assert status == 404, status
    return elapsed


def _bare(client: httpx.Client, url: httpx.URL) -> float:
    started = time.perf_counter()
    client.get(url, headers=_FRESH).raise_for_status()
    return time.perf_counter() - started


def _kept(client: httpx.Client, url: httpx.URL) -> float:
    started = time.perf_counter()
    response = client.get(url, headers=_ACCEPT)
    elapsed = time.perf_counter() - started
    assert response.headers["server-timing"] == 'cache;desc="hit"', response.headers
    return elapsed


def _revalidated(client: httpx.Client, url: httpx.URL, etag: str) -> float:
    started = time.perf_counter()
    status = client.get(url, headers={**_ACCEPT, "If-None-Match": etag}).status_code
    elapsed = time.perf_counter() - started
    assert status == 304, status
    return elapsed


def render(
    results: dict[str, dict[str, float | None]],
    bare: float,
    minimal: float,
    rps: float,
    p95: float,
    errors: int,
    args: argparse.Namespace,
) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.service --reps {args.reps} --rdflib-reps {args.rdflib_reps} --rdflib-timeout "
        f"{args.rdflib_timeout:g}{f' --baseline {args.baseline}' if args.baseline else ''}` on the example "
        f"study (rebuilt for the run; embedded store, 2 query worker processes), loopback, "
        f"{time.strftime('%Y-%m-%d %H:%M')}. Medians in ms; HTTP = `GET /sparql?query=` with SPARQL JSON "
        "(URL encoded once, before timing); route = `GET /queries/NAME` (the catalogue's default "
        "parameters bound); rdflib-endpoint serves the same quads (rdflib "
        "`Dataset(default_union=True)`) and gets the same requests; in-process = pyoxigraph query + "
        "JSON serialisation in a hot loop (a parameterised query with its parameters bound as the "
        "route binds them: pyoxigraph `substitutions`; `/sparql` gets them as a VALUES block in the "
        "text, which pyoxigraph evaluates more slowly). Budget = 1.5 × in-process + bare HTTP round trip "
        f"(median {bare:.2f} ms for a small static file); strict = the same with the round trip of a "
        f"request the app answers without any work (a 404, median {minimal:.2f} ms). For each query the "
        "in-process run, the two requests and both round trips alternate, one of each per round, and "
        "its budget uses its own rounds' round trips: the machine's speed swings within a minute. "
        "'In-process, hot loop' is the same query run back to back just before (caches warm), the "
        "floor earlier runs used. Every HTTP, route and rdflib-endpoint figure is an evaluation "
        "(`Cache-Control: no-cache`); 'route, kept answer' is the same route answered from the "
        "answer the service keeps per version of the store, and 'route, 304' a revalidation with "
        "the answer's ETag (both in the same rounds). The service answers the example (under "
        "`HMP_MEMORY_COPY_QUADS`, 200k quads) from the copy in memory each worker makes of the store; "
        "in-process reads the store on disk, as `kg` does.",
        "",
        "| query | HTTP | route | rdflib-endpoint | speed-up | in-process | within budget | strict "
        "| in-process, hot loop | within budget (hot) | route, kept answer | route, 304 |",
        "|---|---:|---:|---:|---:|---:|:---:|:---:|---:|:---:|---:|---:|",
    ]
    http_all, speedups, slow, within, strict, within_hot = [], [], [], 0, 0, 0
    for name, r in results.items():
        http, other, inproc = r["http"], r["rdflib"], r["inproc"]
        assert http is not None and inproc is not None
        http_all.append(http)
        if http >= 5:
            slow.append(f"{name} {http:.1f}")
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
        case_bare, case_minimal = r.get("bare") or bare, r.get("404") or minimal
        ok, ok_strict = http <= 1.5 * inproc + case_bare, http <= 1.5 * inproc + case_minimal
        within, strict = within + ok, strict + ok_strict
        hot = r.get("hot") or inproc
        ok_hot = http <= 1.5 * hot + case_bare
        within_hot += ok_hot
        route_text, kept_text, revalidated_text = (
            f"{r[column]:.2f}" if r.get(column) is not None else "–" for column in ("route", "kept", "304")
        )
        lines.append(
            f"| {name} | {http:.2f} | {route_text} | {other_text} | {speed} | {inproc:.2f} | "
            f"{'yes' if ok else 'no'} | {'yes' if ok_strict else 'no'} | {hot:.2f} | "
            f"{'yes' if ok_hot else 'no'} | {kept_text} | {revalidated_text} |"
        )
    lines += [
        "",
        f"- Median over queries of the HTTP median: {statistics.median(http_all):.2f} ms "
        f"(max {max(http_all):.2f} ms); {len(http_all) - len(slow)} of {len(http_all)} under 5 ms over "
        f"HTTP; at or over 5 ms: {', '.join(slow) or 'none'}. Within budget: {within} of {len(http_all)} "
        f"(strict: {strict}); against the hot-loop floor (the same query back to back, the floor runs "
        f"before session 5 used): {within_hot} of {len(http_all)}.",
        f"- Speed-up over rdflib-endpoint: min {min(speedups):.0f}×, "
        f"median {statistics.median(speedups):.0f}×."
        if speedups
        else "- rdflib-endpoint not run.",
        f"- Concurrent load: {args.threads} client threads (one Python process) for {args.seconds:g} s "
        "cycling through the queries: "
        f"{rps:.0f} requests/s, p95 {p95:.2f} ms, {errors} errors (every request evaluated: each "
        "client's texts are its own); "
        f"the same with the answers kept: {args.kept_load[0]:.0f} requests/s, "
        f"p95 {args.kept_load[1]:.2f} ms, {args.kept_load[2]} errors.",
        f"- Machine load (1-min load average, 2 cores shared): {args.load_before:.2f} at the start, "
        f"{args.load_after:.2f} at the end.",
        f"- Machine speed, speed probe (bench/_speed.py, lower is faster): {figures(*args.speed_before)} "
        f"at the start; {figures(*args.speed_after)} at the end.",
        "",
    ]
    return "\n".join(lines)


def write_section(report: str, results: Path = RESULTS) -> None:
    """Add ``report`` (a rendered run, headed by ``SECTION``) to ``results`` as the newest
    ``### `` subsection of that section, above the earlier runs, which stay."""
    run = report.removeprefix(SECTION).lstrip("\n")
    run = f"### Run of {time.strftime('%Y-%m-%d %H:%M')} (`bench.service --write`)\n\n{run.rstrip()}\n\n"
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    start = text.find(SECTION)
    if start == -1:
        text = f"{text.rstrip()}\n\n{SECTION}\n\n{run}"
    else:
        after = start + len(SECTION)
        text = f"{text[:after]}\n\n{run}{text[after:].lstrip(chr(10))}"
    results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
