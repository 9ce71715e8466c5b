"""A small store is answered from a copy in memory (``service.executor.MemoryCopy``).

The copy must hold exactly the store's quads, follow every build and every write committed in
place (never answer from an old version), stay out of the way of a store over the limit, and give
the service the same answers as the store on disk. Real stores built by ``hmp build``, a real
writer process, and two real servers on loopback.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from kg.stores.oxigraph import OxigraphStore
from serverfixture import (
    PARTICIPANT_COUNT,
    WRITTEN_IN_PLACE,
    hmp_build,
    running_server,
    study_versions,
    write_in_place,
)
from service.executor import MemoryCopy, copy_if_small

EX = "https://example.org/"


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two versions of one study (same id): 6 participants, then 9."""
    return study_versions(tmp_path_factory.mktemp("studies"))


def participants(store: object) -> int:
    rows = list(store.query(PARTICIPANT_COUNT, use_default_graph_as_union=True))  # type: ignore[attr-defined]
    return int(rows[0]["n"].value)


def quads(store: object) -> set[object]:
    return set(store.quads_for_pattern(None, None, None, None))  # type: ignore[attr-defined]


def test_the_copy_holds_exactly_the_stores_quads(tmp_path: Path, studies: tuple[Path, Path]) -> None:
    where = tmp_path / "store"
    hmp_build(where, studies[0])
    disk = OxigraphStore(where, read_only=True).snapshot().store
    held = quads(disk)
    copy = copy_if_small(disk, len(held))
    assert copy is not None and copy is not disk
    assert quads(copy) == held and len(held) > 1000
    assert copy_if_small(disk, len(held) - 1) is None  # one quad over the limit: no copy


def test_the_copy_follows_builds_and_writes_committed_in_place(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    old, new = studies
    where = tmp_path / "store"
    hmp_build(where, old)
    answering = MemoryCopy(OxigraphStore(where, read_only=True), 1_000_000)
    generation, target = answering.current()
    assert target is not generation.store and participants(target) == 6
    assert answering.current()[1] is target  # the same version: the same copy, not a new one

    hmp_build(where, new)
    generation, target = answering.current()
    assert target is not generation.store and participants(target) == 9
    assert quads(target) == quads(generation.store)

    write_in_place(where)
    generation, target = answering.current()
    assert target.query(f"ASK {{ GRAPH <{EX}g> {{ {WRITTEN_IN_PLACE} }} }}")
    assert participants(target) == 9


def test_a_store_over_the_limit_or_copies_switched_off_are_answered_from_disk(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    where = tmp_path / "store"
    hmp_build(where, studies[0])
    reader = OxigraphStore(where, read_only=True)
    for limit in (1000, 0):  # the built study has several thousand quads
        generation, target = MemoryCopy(reader, limit).current()
        assert target is generation.store
    in_memory = OxigraphStore(None)  # nothing to copy: it is in memory already
    generation, target = MemoryCopy(in_memory, 1_000_000).current()
    assert target is generation.store


def test_the_service_answers_the_same_from_the_copy_and_from_disk(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    where = tmp_path / "store"
    hmp_build(where, studies[0])
    with (
        running_server(where, tmp_path, warm_landing="0") as copied,
        running_server(where, tmp_path, warm_landing="0", memory_copy_quads="0") as on_disk,
    ):
        # /health says where queries are answered from
        for server, expected in ((copied, True), (on_disk, False)):
            workers = httpx.get(f"{server.url}/health").json()["query_workers"]
            assert workers["from_memory"] is expected, workers
        names = [q["name"] for q in httpx.get(f"{copied.url}/queries").json()["queries"]]
        assert len(names) >= 20
        answered = 0
        for name in names:
            answers = []
            for server in (copied, on_disk):
                response = httpx.get(f"{server.url}/queries/{name}", headers={"Accept": "application/json"})
                answers.append((response.status_code, response.content))
            (status, copy_body), (disk_status, disk_body) = answers
            assert status == disk_status, name
            if status != 200:  # a query that needs a parameter the catalogue gives no default for
                continue
            answered += 1
            copy_rows, disk_rows = json.loads(copy_body), json.loads(disk_body)
            assert copy_rows["head"] == disk_rows["head"], name
            rows = copy_rows["results"]["bindings"]
            assert sorted(map(json.dumps, rows)) == sorted(
                map(json.dumps, disk_rows["results"]["bindings"])
            ), name
        assert answered >= 18
