"""All or nothing on the real on-disk store: a failure or a kill in the middle of the write.

``hmp build`` validates a study in a scratch store and only then replaces its graphs in the
target store: a small study beside other studies in ONE pyoxigraph transaction
(``OxigraphStore.replace_with``); otherwise by switching the store to a new generation
(``replace_by_swap``, tested in ``test_build_swap.py``). These tests break the write half way —
an exception from inside the transaction, or SIGKILL of the process while it commits — and
reopen the store from disk to check that the previous version is intact.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

import kg.build
from kg.build import build_study
from kg.errors import StoreError
from kg.stores.oxigraph import OxigraphStore
from kg.synth import generate
from studybuilder import TEXTS
from studybuilder import build_study as make_study

CODINGS = "https://w3id.org/hmp/graph/demo/codings"


def _study_quads(store: OxigraphStore) -> set[str]:
    """Every quad outside the ontology graph (whose blank nodes are relabelled on a re-load)."""
    return {
        str(q)
        for q in store.raw.quads_for_pattern(None, None, None, None)
        if not str(q.graph_name).endswith("/graph/ontology>")
    }


def _break_after(n: int, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the commit's quad stream raise after ``n`` quads (inside the store transaction)."""
    real = kg.build._quads
    seen = [0]

    def failing(store: ox.Store, graphs: list[str]) -> Iterator[ox.Quad]:
        for quad in real(store, graphs):
            if seen[0] == n:
                raise OSError("disk gone half way through the write")
            seen[0] += 1
            yield quad

    monkeypatch.setattr(kg.build, "_quads", failing)
    return seen


def _with_another_study(store: OxigraphStore) -> None:
    """Another study in the store, so the scratch store is not simply adopted."""
    build_study(make_study(study_id="other", texts={"T01": TEXTS["T01"]}, codings=[]), store)


@pytest.fixture
def one_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small studies beside others go in by one transaction (never by copying the others)."""
    monkeypatch.setattr(kg.build, "SWAP_COPY_RATIO", 0)


def test_a_failure_half_way_through_a_first_load_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_transaction: None
) -> None:
    store = OxigraphStore(tmp_path / "store")
    _with_another_study(store)
    before = store.dump(None, media_type="application/n-quads")
    seen = _break_after(300, monkeypatch)
    with pytest.raises(StoreError, match="half way"):  # an OSError inside the write
        build_study(make_study(), store)
    assert seen[0] == 300
    store.close()
    reopened = OxigraphStore(tmp_path / "store")
    assert reopened.dump(None, media_type="application/n-quads") == before
    assert not [g for g in reopened.graph_names() if "/graph/demo/" in g]


def test_a_failure_half_way_through_a_reload_keeps_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_transaction: None
) -> None:
    store = OxigraphStore(tmp_path / "store")
    _with_another_study(store)
    build_study(make_study(), store)
    before = store.dump(None, media_type="application/n-quads")
    seen = _break_after(300, monkeypatch)
    with pytest.raises(StoreError, match="half way"):  # an OSError inside the write
        build_study(make_study(texts={"T01": TEXTS["T01"]}, codings=[]), store)
    assert seen[0] == 300
    store.close()
    reopened = OxigraphStore(tmp_path / "store")
    assert reopened.dump(None, media_type="application/n-quads") == before


def test_replace_with_an_iterator_that_breaks_inside_the_transaction(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    g = ox.NamedNode("https://example.org/g")

    def quads() -> Iterator[ox.Quad]:
        for i in range(5000):
            yield ox.Quad(ox.NamedNode(f"https://example.org/s{i}"), g, ox.Literal(str(i)), g)
        raise StoreError("source broke half way")

    with pytest.raises(StoreError, match="half way"):
        store.replace_with(quads(), replace=[g.value])
    assert store.count() == 0 and not store.raw.contains_named_graph(g)


_CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading
    from pathlib import Path
    import kg.build
    from kg.build import build_study, read_source
    from kg.stores.oxigraph import OxigraphStore

    kg.build.SWAP_COPY_RATIO = float(sys.argv[6])

    store = OxigraphStore(Path(sys.argv[1]))
    delay, at = float(sys.argv[3]), sys.argv[4]

    def progress(stage, done, total):
        if stage == at and done == 0:
            print("COMMITTING", flush=True)
            if delay == 0:
                os.kill(os.getpid(), signal.SIGKILL)
            threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL)).start()

    build_study(read_source(sys.argv[2]), store, progress=progress, max_transaction_quads=int(sys.argv[5]))
    print("COMMITTED", flush=True)
    threading.Event().wait(5)  # the timer kills the process here at the latest
    """
)


@pytest.mark.parametrize(
    ("others", "limit", "ratio", "at", "delay"),
    [
        # the study is alone in the store: its validated scratch store becomes the next generation
        (False, 500_000, 2, "load", 0.05),
        (False, 500_000, 2, "load", 0.3),
        (False, 500_000, 2, "compact", 0.0),
        (False, 500_000, 2, "switch", 0.0),
        # beside another study, small: one transaction
        (True, 500_000, 0, "load", 0.05),
        (True, 500_000, 0, "load", 0.3),
        # beside another study, over the (lowered) limit: a new generation with the other copied in
        (True, 1_000, 0, "load", 0.1),
        (True, 1_000, 0, "copy", 0.0),
        (True, 1_000, 0, "compact", 0.0),
        (True, 1_000, 0, "switch", 0.0),
        # small, but the other study is smaller still: the same switch
        (True, 500_000, 100, "copy", 0.0),
        (True, 500_000, 100, "load", 0.2),
    ],
)
def test_a_process_killed_while_committing_leaves_the_old_or_the_new_version_never_a_mix(
    tmp_path: Path,
    others: bool,
    limit: int,
    ratio: float,
    at: str,
    delay: float,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # same provenance time in both processes
    old, new = tmp_path / "old", tmp_path / "new"
    generate(12, 1, old, study_id="atomic")
    generate(30, 2, new, study_id="atomic")
    where, reference_dir = tmp_path / "store", tmp_path / "reference"
    for path, source in ((where, old), (reference_dir, new)):
        store = OxigraphStore(path)
        if others:
            _with_another_study(store)
        build_study(kg.build.read_source(source), store)
        store.close()
    before = _study_quads(OxigraphStore(where, read_only=True))
    reference = _study_quads(OxigraphStore(reference_dir, read_only=True))

    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(where), str(new), str(delay), at, str(limit), str(ratio)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent), "TMPDIR": str(tmp_path)},
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert "COMMITTING" in done.stdout

    # readable as it was left, before any clean-up: read-only opens do not clean up
    after = _study_quads(OxigraphStore(where, read_only=True))
    if "COMMITTED" in done.stdout:  # the kill came after the load: all of the new study
        assert after == reference
    elif at in ("copy", "compact") or (at == "switch" and delay == 0):  # before the switch
        assert after == before
    else:  # killed somewhere in the load: one version or the other, never a mix
        assert after in (before, reference)
    # the next build succeeds, and the first read-write open removed what the killed one left
    store = OxigraphStore(where)
    assert sorted(p.name for p in where.iterdir()) == ["active", store.directory.name, "write.lock"]
    build_study(kg.build.read_source(new), store)
    assert _study_quads(store) == reference
    store.close()
    assert sorted(p.name for p in where.iterdir()) == ["active", _active(where), "write.lock"]


def _active(where: Path) -> str:
    return os.readlink(where / "active")


def test_in_memory_a_study_too_big_for_one_transaction_is_refused_before_anything_is_written(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Only a store on disk can swap in a new generation; in memory the transaction limit holds."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    store = OxigraphStore(None)
    build_study(make_study(texts={"T01": TEXTS["T01"]}, codings=[]), store)
    before = store.dump(None, media_type="application/n-quads")
    with pytest.raises(StoreError, match="too many to load in one transaction"):
        build_study(make_study(), store, atomic=True, max_transaction_quads=100)
    assert store.dump(None, media_type="application/n-quads") == before
    # Opting out of atomicity loads it in bounded batches (still only after it validated) and
    # replaces the previous version just as the one-transaction commit does.
    summary = build_study(make_study(), store, atomic=False, max_transaction_quads=100)
    assert summary.loaded
    reference = OxigraphStore(None)
    build_study(make_study(), reference)
    assert _study_quads(store) == _study_quads(reference)


def test_no_atomic_beside_another_study_loads_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``atomic=False`` over the limit: no new generation, the batched in-place load."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    store = OxigraphStore(tmp_path / "store")
    _with_another_study(store)
    build_study(make_study(texts={"T01": TEXTS["T01"]}, codings=[]), store)
    generation = store.directory
    summary = build_study(make_study(), store, atomic=False, max_transaction_quads=100)
    assert summary.loaded and store.directory == generation
    reference = OxigraphStore(tmp_path / "reference")
    _with_another_study(reference)
    build_study(make_study(), reference)
    assert _study_quads(store) == _study_quads(reference)


def test_replace_from_nquads_loads_the_file_and_kept_quads_and_cleans_up_on_error(tmp_path: Path) -> None:
    """The batched load reads N-Quads back in slices; blank-node quads come in apart (NOT atomic)."""
    store = OxigraphStore(tmp_path / "s")
    g = "https://example.org/g"
    old = ox.Quad(
        ox.NamedNode("https://example.org/old"),
        ox.NamedNode("https://example.org/p"),
        ox.Literal("o"),
        ox.NamedNode(g),
    )
    store.raw.add(old)
    lines = b"".join(
        f'<https://example.org/s{i}> <https://example.org/p> "v{i}\\nx" <{g}> .\n'.encode() for i in range(5)
    )
    (tmp_path / "ok.nq").write_bytes(lines)
    blank = ox.Quad(
        ox.BlankNode("b1"), ox.NamedNode("https://example.org/p"), ox.BlankNode("b2"), ox.NamedNode(g)
    )
    store.replace_from_nquads(tmp_path / "ok.nq", replace=[g], quads=[blank], lines=2)
    quads = set(store.raw.quads_for_pattern(None, None, None, ox.NamedNode(g)))
    assert old not in quads and blank in quads and len(quads) == 6
    (tmp_path / "bad.nq").write_bytes(lines + b"<broken\n")
    with pytest.raises(SyntaxError):
        store.replace_from_nquads(tmp_path / "bad.nq", replace=[g], lines=2)
    assert store.count(g) == 0  # the partial load was removed (not the previous version: not atomic)
