"""Readers of the embedded store follow it across builds, and a generation in use is never deleted.

``kg.stores.oxigraph``: a read-only ``OxigraphStore`` looks at ``active/hmp-version`` before each
query and reopens on what the store holds now; it holds a shared ``flock`` on its generation's
``hmp-readers`` (its lease), and writers delete only generations nobody holds. Real processes
and real builds (``hmp build`` in a subprocess) on a real on-disk store; the reader that must
pin a generation is another process too, ended normally or by SIGKILL.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.stores.oxigraph import OxigraphStore
from serverfixture import PARTICIPANT_COUNT as PARTICIPANTS
from serverfixture import WRITTEN_IN_PLACE, hmp_build, study_versions, write_in_place

HMP = str(Path(sys.executable).with_name("hmp"))
EX = "https://example.org/"


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two versions of one study (same id): 6 participants, then 9."""
    return study_versions(tmp_path_factory.mktemp("studies"))


def participants(store: OxigraphStore) -> int:
    return int(store.select(PARTICIPANTS)[0]["n"].value)


def entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


# A reader in its own process: prints its participants and generation when opened and for every
# "count" line on stdin; exits when stdin closes.
_READER = textwrap.dedent(
    f"""
    import sys
    from kg.stores.oxigraph import OxigraphStore
    store = OxigraphStore(sys.argv[1], read_only=True)
    def report():
        n = store.select({PARTICIPANTS!r})[0]["n"].value
        print(n, store.directory.name, flush=True)
    report()
    for line in sys.stdin:
        report()
    """
)


@pytest.fixture
def reader_process(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_read_only_store_sees_a_builds_new_data_on_its_next_query(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    old, new = studies
    where = tmp_path / "store"
    hmp_build(where, old)
    reader = OxigraphStore(where, read_only=True)
    first = reader.directory
    assert first is not None and participants(reader) == 6

    hmp_build(where, new)  # the only study in the store: rebuilt as a new generation
    assert first.is_dir()  # this reader still holds it, so the build kept it
    assert participants(reader) == 9  # the next query already sees the new generation
    assert reader.directory != first and reader.directory == where / (where / "active").readlink()

    # a write committed in place (no new generation) by another process is seen as well
    write_in_place(where)
    assert reader.ask(f"ASK {{ {WRITTEN_IN_PLACE} }}")
    assert reader.count(EX + "g") == 1 and participants(reader) == 9

    # the reader moved on, so the next read-write open deletes the generation it left
    OxigraphStore(where).close()
    assert not first.exists()
    assert entries(where) == ["active", reader.directory.name, "write.lock"]  # type: ignore[union-attr]


@pytest.mark.parametrize("ending", ["exit", "sigkill", "moves-on"])
def test_a_generation_is_kept_while_a_reader_process_holds_it_and_removed_after(
    tmp_path: Path,
    studies: tuple[Path, Path],
    reader_process: list[subprocess.Popen[str]],
    ending: str,
) -> None:
    old, new = studies
    where = tmp_path / "store"
    hmp_build(where, old)
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(where)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    reader_process.append(reader)
    assert reader.stdin is not None and reader.stdout is not None
    count, name = reader.stdout.readline().split()
    held = where / name
    assert count == "6" and held.is_dir()

    hmp_build(where, new)
    assert held.is_dir()  # the build switched away from it, but a reader holds it
    fresh = OxigraphStore(where, read_only=True)
    assert participants(fresh) == 9 and fresh.directory != held
    del fresh
    OxigraphStore(where).close()  # another writer: still held, still kept
    assert held.is_dir()

    if ending == "moves-on":  # the reader's next query is on the new generation: it lets go
        reader.stdin.write("count\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == ["9", (where / "active").readlink().name]
    elif ending == "exit":
        reader.stdin.close()
        assert reader.wait(60) == 0
    else:
        reader.send_signal(signal.SIGKILL)  # the kernel drops its flock with the process
        assert reader.wait(60) == -signal.SIGKILL
    assert held.is_dir()  # readers never delete: the next writer does
    OxigraphStore(where).close()
    assert not held.exists()
    assert entries(where) == ["active", (where / "active").readlink().name, "write.lock"]


def test_a_reader_of_a_store_written_before_generations_follows_its_conversion(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy"
    raw = ox.Store(str(legacy))  # RocksDB files directly in the store directory
    raw.add(ox.Quad(ox.NamedNode(EX + "s"), ox.NamedNode(EX + "p"), ox.Literal("v"), ox.NamedNode(EX + "g")))
    raw.flush()
    del raw
    reader = OxigraphStore(legacy, read_only=True)
    assert reader.count(EX + "g") == 1 and reader.directory == legacy
    writer = OxigraphStore(legacy)  # converted into gen-1; the legacy files are removed
    writer.update(f'INSERT DATA {{ GRAPH <{EX}g> {{ <{EX}s> <{EX}p> "w" }} }}')
    assert reader.count(EX + "g") == 2 and reader.directory == legacy / "gen-1"
    writer.close()


def test_a_snapshot_keeps_its_generation_until_dropped_while_the_store_moves_on(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    """What a query that was running during the switch holds: its version, open and on disk."""
    old, new = studies
    where = tmp_path / "store"
    hmp_build(where, old)
    reader = OxigraphStore(where, read_only=True)
    running = reader.snapshot()
    hmp_build(where, new)
    assert participants(reader) == 9  # the store moved on ...
    result = running.store.query(PARTICIPANTS, use_default_graph_as_union=True)
    assert isinstance(result, ox.QuerySolutions)
    assert [row["n"].value for row in result] == ["6"]  # ... the running query did not
    OxigraphStore(where).close()
    assert running.directory is not None and running.directory.is_dir()
    held = running.directory
    del running, result
    OxigraphStore(where).close()
    assert not held.exists()


def test_a_reader_opens_a_generation_whose_files_a_writer_is_still_replacing(tmp_path: Path) -> None:
    """The build that just switched to a generation may still be compacting it: a file that
    RocksDB's MANIFEST listed is gone when the reader opens it ("Corruption: ... No such file").
    The reader reads the MANIFEST again until the files it lists are there (here: the file comes
    back 0.1 s later); a store that is simply missing is reported at once."""
    import threading
    import time

    from kg.stores.oxigraph import _read_only

    directory = tmp_path / "gen"
    writer = ox.Store(str(directory))
    writer.bulk_load(input=b"<urn:x:s> <urn:x:p> <urn:x:o> .\n", format=ox.RdfFormat.N_TRIPLES)
    writer.flush()
    del writer
    table = sorted(directory.glob("*.sst"))[0]
    away = tmp_path / "away.sst"
    table.rename(away)
    with pytest.raises(RuntimeError, match="No such file"):
        ox.Store.read_only(str(directory))  # what the service met before
    threading.Timer(0.1, away.rename, [table]).start()
    reader = _read_only(directory)
    assert len(reader) == 1
    started = time.monotonic()
    with pytest.raises(OSError, match="No such file"):
        _read_only(tmp_path / "nothing-here")
    assert time.monotonic() - started < 1.0  # not retried: no table file is missing
