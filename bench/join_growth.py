"""One join, alone, in several engines: does its time grow with the data?

The canned queries' time grows x11-x15 from the 10x to the 100x example (x10 data); bench/RESULTS.md
traces it to pyoxigraph's joins of tables that no longer fit the CPU's cache. This benchmark
takes the project out of it: the same two synthetic tables as those queries join (excerpt ->
story, with ~40 % of the excerpts carrying a stage code; 12,600 / 126,000 / 1,260,000 rows are
the 10x / 100x / 1000x example's sizes), joined and counted by

- pyoxigraph, in memory and on disk (RocksDB), as SPARQL (two sub-SELECT tables, as the canned
  queries write them), next to a plain scan of the larger table;
- SQLite (Python's standard library; in memory, both tables indexed on the join column);
- DuckDB (``pip install '.[bench]'``; one thread, like the others), when installed;
- a hash join in plain Python (a dict of the larger table, probed by the smaller one).

Every engine must count the same rows. ``python -m bench.join_growth [--sizes 12600,126000]
[--repeat 9]``; prints a Markdown table of median ms per size and the growth for each x10.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import itertools
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pyoxigraph as ox

from bench._speed import describe

EX = "https://example.org/hmp-bench/"
IN_STORY = f"{EX}inStory"
STAGE = f"{EX}stage"
TURNING = f"{EX}stage-turning-point"
JOIN = f"""SELECT (COUNT(*) AS ?n) WHERE {{
  {{ SELECT ?e WHERE {{ ?e <{STAGE}> <{TURNING}> }} }}
  {{ SELECT ?e ?s WHERE {{ ?e <{IN_STORY}> ?s }} }} }}"""
SCAN = f"SELECT (COUNT(*) AS ?n) WHERE {{ ?e <{IN_STORY}> ?s }}"
SQL_JOIN = "SELECT COUNT(*) FROM stage JOIN in_story USING (e)"


def tables(rows: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(excerpt, story) pairs, ten excerpts a story on average, in random order; and the ~40 %
    of excerpts that carry the stage code."""
    rnd = random.Random(rows)
    stories = max(1, rows // 10)
    order = list(range(rows))
    rnd.shuffle(order)
    in_story = [
        (f"{EX}study/s1/excerpt/{i:07d}", f"{EX}study/s1/story/{rnd.randrange(stories):06d}") for i in order
    ]
    stage = [excerpt for excerpt, _ in in_story if rnd.random() < 0.4]
    return in_story, stage


def median_ms(call: Callable[[], int], repeat: int) -> tuple[float, int]:
    times, result = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def _count(store: ox.Store, query: str) -> int:
    solutions = store.query(query)
    assert isinstance(solutions, ox.QuerySolutions)
    return int(next(iter(solutions))[0].value)  # type: ignore[union-attr]


def engines(in_story: list[tuple[str, str]], stage: list[str], work: Path) -> dict[str, Callable[[], int]]:
    """Each engine loaded with the two tables, as a call that joins and counts them."""
    quads = [ox.Quad(ox.NamedNode(e), ox.NamedNode(IN_STORY), ox.NamedNode(s)) for e, s in in_story]
    quads += [ox.Quad(ox.NamedNode(e), ox.NamedNode(STAGE), ox.NamedNode(TURNING)) for e in stage]
    memory = ox.Store()
    memory.bulk_extend(quads)
    disk = ox.Store(str(work / "oxigraph"))
    disk.bulk_extend(quads)
    disk.flush()
    disk.optimize()
    lite = sqlite3.connect(":memory:")
    lite.execute("CREATE TABLE in_story(e TEXT, s TEXT)")
    lite.execute("CREATE TABLE stage(e TEXT)")
    lite.executemany("INSERT INTO in_story VALUES (?, ?)", in_story)
    lite.executemany("INSERT INTO stage VALUES (?)", [(e,) for e in stage])
    lite.execute("CREATE INDEX in_story_e ON in_story(e)")
    lite.execute("CREATE INDEX stage_e ON stage(e)")
    lite.execute("ANALYZE")
    story_of = dict(in_story)
    calls: dict[str, Callable[[], int]] = {
        "pyoxigraph in memory: scan of excerpt -> story": lambda: _count(memory, SCAN),
        "pyoxigraph in memory: join": lambda: _count(memory, JOIN),
        "pyoxigraph on disk: scan of excerpt -> story": lambda: _count(disk, SCAN),
        "pyoxigraph on disk: join": lambda: _count(disk, JOIN),
        "SQLite (indexed): join": lambda: int(lite.execute(SQL_JOIN).fetchone()[0]),
        "Python dict: join": lambda: sum(1 for e in stage if e in story_of),
    }
    if importlib.util.find_spec("duckdb") is not None:
        import duckdb

        for name, rows in (("in_story", in_story), ("stage", [(e,) for e in stage])):
            with (work / f"{name}.csv").open("w", newline="") as out:
                csv.writer(out).writerows(rows)
        duck = duckdb.connect()
        duck.execute("SET threads = 1")
        for name, columns in (("in_story", "column0 AS e, column1 AS s"), ("stage", "column0 AS e")):
            duck.execute(
                f"CREATE TABLE {name} AS SELECT {columns} FROM read_csv('{work}/{name}.csv', header = false)"
            )
        calls["DuckDB (one thread): join"] = lambda: int(duck.execute(SQL_JOIN).fetchone()[0])  # type: ignore[index]
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default="12600,126000,1260000", help="excerpt -> story rows, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(describe(), flush=True)
    figures: dict[str, list[float]] = {}
    for rows in sizes:
        in_story, stage = tables(rows)
        with tempfile.TemporaryDirectory() as work:
            calls = engines(in_story, stage, Path(work))
            expected = {"scan": rows, "join": len(stage)}
            for name, call in calls.items():
                ms, counted = median_ms(call, args.repeat if rows < 1_000_000 else max(3, args.repeat // 2))
                want = expected["scan" if "scan" in name else "join"]
                if counted != want:
                    raise SystemExit(f"{name} counted {counted} rows at {rows}, not {want}")
                figures.setdefault(name, []).append(ms)
                print(f"  {rows:>9,} {name}: {ms:.2f} ms", flush=True)
    growth = [f"{b // a}x rows: growth" for a, b in itertools.pairwise(sizes)]
    print()
    print("| engine | " + " | ".join(f"{n:,} rows ms" for n in sizes) + " | " + " | ".join(growth) + " |")
    print("|---|" + "---:|" * (2 * len(sizes) - 1))
    for name, times in figures.items():
        ratios = [f"x{b / a:.1f}" for a, b in itertools.pairwise(times)]
        print(f"| {name} | " + " | ".join(f"{t:.2f}" for t in times) + " | " + " | ".join(ratios) + " |")
    print()
    print(describe())


if __name__ == "__main__":
    main()
