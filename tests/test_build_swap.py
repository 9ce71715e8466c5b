"""A study too big for one transaction goes in by switching the store to a new generation.

The embedded store on disk keeps its data in ``gen-N/`` directories and an ``active`` symlink
(``kg.stores.oxigraph``). ``build_study`` builds the next generation in private — the
validated scratch store plus a copy of every other graph — and switches ``active`` to it in one
``os.replace``. These tests lower the transaction limit so the small test studies take that
path, and check it is all or nothing on the real on-disk store (the SIGKILL cases are in
``test_build_atomic.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg.stores.oxigraph
from kg.build import build_study
from kg.errors import StoreError, ValidationFailed
from kg.stores.oxigraph import Generation, OxigraphStore
from studybuilder import TEXTS, break_quote
from studybuilder import build_study as make_study

LIMIT = 1_000  # quads: every test study here is bigger, so it is swapped in
EX = "https://example.org/"
HMP_BIN = Path(sys.executable).with_name("hmp")


@pytest.fixture(autouse=True)
def _fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")


def _nq(store: OxigraphStore) -> bytes:
    return store.dump(None, media_type="application/n-quads") or b""


def _study(store: OxigraphStore, study: str = "demo") -> set[str]:
    """The quads of one study's graphs."""
    return {str(q) for q in store.raw if f"/graph/{study}/" in str(q.graph_name)}


def _store_with_others(path: Path) -> OxigraphStore:
    """A store holding the demo study, another study, a graph with blank nodes and a default-graph
    triple: everything a swap must carry over from the previous generation."""
    store = OxigraphStore(path)
    build_study(make_study(study_id="other", texts={"T01": TEXTS["T01"]}, codings=[]), store)
    build_study(make_study(texts={"T01": TEXTS["T01"]}, codings=[]), store)
    b = ox.BlankNode()
    store.update(
        f'INSERT DATA {{ GRAPH <{EX}blank> {{ _:x <{EX}p> _:y . _:y <{EX}q> "two\\nlines ." }} '
        f"<{EX}s> <{EX}p> <{EX}o> }}"
    )
    store.raw.add(ox.Quad(b, ox.NamedNode(EX + "r"), b, ox.NamedNode(EX + "blank")))
    return store


def _others(store: OxigraphStore) -> set[str]:
    """Quads outside the demo study and the graphs it reloads (the ontology graph's blank nodes
    are relabelled by every load), and the blank-node graph, compared by size instead."""
    skip = ("/graph/demo/", "/graph/ontology", "/graph/findings", EX + "blank")
    return {str(q) for q in store.raw if not any(s in str(q.graph_name) for s in skip)}


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_a_study_over_the_limit_is_swapped_in_and_replaces_the_previous_version(tmp_path: Path) -> None:
    store = _store_with_others(tmp_path / "store")
    others = _others(store)
    blank = store.count(EX + "blank")
    first = store.directory
    summary = build_study(make_study(), store, max_transaction_quads=LIMIT)
    assert summary.loaded and store.directory != first  # a new generation, now in use
    assert not first.exists()  # the previous generation is gone
    assert _entries(tmp_path / "store") == ["active", store.directory.name, "write.lock"]
    # the other study, the blank-node graph and the default graph came along unchanged
    assert _others(store) == others and "/graph/other/" in str(others)
    assert store.count(EX + "blank") == blank
    assert store.ask(f"ASK {{ GRAPH <{EX}blank> {{ ?x <{EX}p> ?y . ?y <{EX}q> ?text }} }}")
    assert store.ask(f"ASK {{ GRAPH <{EX}blank> {{ ?x <{EX}r> ?x }} }}")
    # and the demo study is exactly what a one-transaction load gives
    reference = OxigraphStore(tmp_path / "reference")
    build_study(make_study(study_id="other", texts={"T01": TEXTS["T01"]}, codings=[]), reference)
    build_study(make_study(), reference)
    assert _study(store) == _study(reference)
    store.close()
    reopened = OxigraphStore(tmp_path / "store", read_only=True)
    assert _study(reopened) == _study(reference)


def test_a_violation_over_the_limit_leaves_the_store_unchanged(tmp_path: Path) -> None:
    store = _store_with_others(tmp_path / "store")
    before, entries = _nq(store), _entries(tmp_path / "store")
    with pytest.raises(ValidationFailed, match="nothing was loaded"):
        build_study(make_study(mutate=break_quote), store, max_transaction_quads=LIMIT)
    assert _nq(store) == before
    assert _entries(tmp_path / "store") == entries  # no orphan generation or work directory


@pytest.mark.parametrize("where", ["_copy_graph", "_point_active_at"])
def test_an_error_during_the_swap_leaves_the_store_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    store = _store_with_others(tmp_path / "store")
    before, entries, generation = _nq(store), _entries(tmp_path / "store"), store.directory

    def broken(*args: object) -> None:
        raise OSError("disk full half way through the swap")

    monkeypatch.setattr(kg.stores.oxigraph, where, broken)
    with pytest.raises(OSError, match="half way"):
        build_study(make_study(), store, max_transaction_quads=LIMIT)
    assert store.directory == generation and _nq(store) == before
    assert _entries(tmp_path / "store") == entries
    monkeypatch.undo()
    store.close()
    assert _nq(OxigraphStore(tmp_path / "store", read_only=True)) == before


def test_the_first_build_into_an_empty_store_adopts_the_validated_scratch_store(tmp_path: Path) -> None:
    """Nothing else in the store: the scratch store the checks ran on becomes the store, and it
    holds what a one-transaction load would (the ontology and findings graphs included)."""
    store = OxigraphStore(tmp_path / "store")
    first = store.directory
    build_study(make_study(), store)
    assert store.directory != first and not first.exists()
    reference = OxigraphStore(None)
    build_study(make_study(), reference)
    assert store.graph_names() == reference.graph_names()
    for graph in reference.graph_names():
        assert store.count(graph) == reference.count(graph), graph
    assert _study(store) == _study(reference)
    assert store.count() == reference.count()


def test_a_reader_opened_before_the_swap_moves_to_the_new_version_and_its_old_one_is_kept_meanwhile(
    tmp_path: Path,
) -> None:
    store = _store_with_others(tmp_path / "store")
    first = store.directory
    assert first is not None
    reader = OxigraphStore(tmp_path / "store", read_only=True)
    running = reader.snapshot()  # what a query that started before the swap holds

    def demo(generation: Generation) -> set[str]:
        return {str(q) for q in generation.store if "/graph/demo/" in str(q.graph_name)}

    old = demo(running)
    build_study(make_study(), store, max_transaction_quads=LIMIT)
    new = _study(store)
    assert new != old
    assert first.is_dir()  # the reader holds it, so the build kept it
    assert _study(reader) == new  # the reader's next query sees the new version
    assert demo(running) == old  # the query that was running finishes on the old one
    assert store.remove_unused_generations() == [first]
    del running  # the query finished: nothing holds the old generation any more
    assert store.remove_unused_generations() == [] and not first.exists()
    assert _entries(tmp_path / "store") == ["active", store.directory.name, "write.lock"]
    assert _study(reader) == new


def test_a_store_written_before_generations_still_opens_and_is_converted_by_a_build(
    tmp_path: Path,
) -> None:
    legacy = tmp_path / "legacy"
    raw = ox.Store(str(legacy))  # RocksDB files directly in the store directory
    raw.add(ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("v"), ox.NamedNode(EX + "g")))
    raw.flush()
    del raw
    assert OxigraphStore(legacy, read_only=True).count(EX + "g") == 1
    store = OxigraphStore(legacy)  # read-write: converted to a first generation
    assert _entries(legacy) == ["active", "gen-1", "write.lock"]
    assert store.count(EX + "g") == 1
    build_study(make_study(), store, max_transaction_quads=LIMIT)
    assert store.count(EX + "g") == 1 and _study(store)
    store.close()
    assert OxigraphStore(legacy, read_only=True).count(EX + "g") == 1


_HOLDER = textwrap.dedent(
    """
    import sys, time
    from kg.stores.oxigraph import Generation, OxigraphStore
    store = OxigraphStore(sys.argv[1])
    print("OPEN", flush=True)
    time.sleep(60)
    """
)


def test_a_second_writer_gets_a_clear_error_and_the_build_exits_2(tmp_path: Path) -> None:
    where = tmp_path / "store"
    OxigraphStore(where).close()
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(where)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "OPEN"
        with pytest.raises(StoreError, match=f"being written by another process \\(pid {holder.pid}\\)"):
            OxigraphStore(where)
        done = subprocess.run(
            [str(HMP_BIN), "build", "--store", str(where)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2
        assert "being written by another process" in done.stderr and "wait for" in done.stderr
        assert OxigraphStore(where, read_only=True).count() == 0  # readers are not blocked
    finally:
        holder.kill()
        holder.wait()
    store = OxigraphStore(where)  # the lock went with the process
    store.close()


def test_closing_releases_the_lock_and_a_dropped_store_releases_it_too(tmp_path: Path) -> None:
    OxigraphStore(tmp_path / "store").close()
    OxigraphStore(tmp_path / "store")  # dropped at once
    OxigraphStore(tmp_path / "store").close()


def test_the_cli_rebuilds_a_study_through_a_new_generation(tmp_path: Path) -> None:
    env = {**os.environ, "HMP_STORE": str(tmp_path / "store")}
    study = Path(__file__).parent / "data" / "lift" / "study"
    for _ in range(2):
        done = subprocess.run(
            [str(HMP_BIN), "build", str(study)], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
    assert _entries(tmp_path / "store")[0] == "active"
    assert len(_entries(tmp_path / "store")) == 3


def test_an_active_link_to_a_missing_generation_is_an_error_not_a_fresh_empty_store(tmp_path: Path) -> None:
    """Starting afresh would delete the other generations, which may hold the only copy."""
    where = tmp_path / "store"
    store = OxigraphStore(where)
    store.raw.add(
        ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("kept"), ox.DefaultGraph())
    )
    store.close()
    (where / "active").unlink()
    kept = next(p for p in where.iterdir() if p.name.startswith("gen-"))
    os.symlink("gen-99", where / "active")
    with pytest.raises(StoreError, match="active generation gen-99 is missing") as caught:
        OxigraphStore(where)
    assert kept.name in str(caught.value.expected)
    assert kept.is_dir()  # nothing was deleted
    os.replace(where / "active", where / "dangling")
    os.symlink(kept.name, where / "active")
    (where / "dangling").unlink()
    assert OxigraphStore(where).count() == 1  # re-pointed: the data is there, and the lock was released


def test_a_directory_measured_while_files_come_and_go_is_measured_without_error(tmp_path: Path) -> None:
    """RocksDB compacts in the background while a build measures its directories
    (``_disk_bytes``): a file listed and then removed must not fail the build (it failed a CI
    run once). A thread writes and removes files for a second while the directory is measured."""
    import threading
    import time

    from kg.build import _disk_bytes

    stop = threading.Event()

    def churn() -> None:
        i = 0
        while not stop.is_set():
            (tmp_path / f"{i % 50:06d}.sst").write_bytes(b"x" * 100)
            (tmp_path / f"{(i + 25) % 50:06d}.sst").unlink(missing_ok=True)
            i += 1

    worker = threading.Thread(target=churn)
    worker.start()
    sizes: list[int] = []
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            sizes.append(_disk_bytes(tmp_path))  # raised FileNotFoundError ~3 % of the time before
    finally:
        stop.set()
        worker.join()
    assert len(sizes) > 100
    assert all(0 <= size <= 50 * 100 and size % 100 == 0 for size in sizes)
    (tmp_path / "000001.sst").write_bytes(b"y" * 7)
    for stale in tmp_path.glob("*.sst"):
        if stale.name != "000001.sst":
            stale.unlink()
    assert _disk_bytes(tmp_path) == 7
