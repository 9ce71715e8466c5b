"""A running service over the embedded store follows ``hmp build`` into that store.

A real uvicorn server with two query worker processes serves a store that ``hmp build`` (a
subprocess) then rebuilds: every request made while the build runs is answered (old or new
data, never an error), the first query after the build answers from the new data, and
``/health``, VoID and the service description count what the store holds now. The generation
switched away from is released by the service (its workers follow the store even while idle)
and deleted by a later writer.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest

from kg.stores.oxigraph import OxigraphStore
from kg.synth import generate
from serverfixture import PARTICIPANT_COUNT as PARTICIPANTS
from serverfixture import Server, hmp_build, running_server, study_versions
from service.dataset import load_view

VOID = "http://rdfs.org/ns/void#"
SD = "http://www.w3.org/ns/sparql-service-description#"


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("studies")
    generate(3, 3, base / "another", study_id="another")
    return study_versions(base)


def participants(client: httpx.Client, server: Server) -> int:
    answer = client.get(server.sparql, params={"query": PARTICIPANTS}, headers={"Accept": "text/csv"})
    assert answer.status_code == 200, answer.text
    return int(answer.text.splitlines()[1])


def triples_in(client: httpx.Client, url: str, sparql: str) -> int:
    """The one number ``sparql`` selects from the Turtle document at ``url``."""
    answer = client.get(url, headers={"Accept": "text/turtle"})
    assert answer.status_code == 200, answer.text
    graph = ox.Store()
    graph.load(answer.content, format=ox.RdfFormat.TURTLE)
    rows = list(graph.query(sparql))  # type: ignore[arg-type]
    assert len(rows) == 1, rows
    return int(rows[0][0].value)


def served_triples(where: Path) -> int:
    """What the description's total must be: the triples of the graphs the service serves."""
    store = OxigraphStore(where, read_only=True)
    view = load_view(store, serve_fulltext=False)
    return sum(store.count(g) for g in view.served)


def test_a_running_server_answers_with_the_new_data_after_hmp_build_and_never_errors_meanwhile(
    tmp_path: Path, studies: tuple[Path, Path]
) -> None:
    old, new = studies
    where = tmp_path / "store"
    hmp_build(where, old)
    first = where / (where / "active").readlink()
    # the dataset view's TTL is long: only noticing the store's change can refresh it in time
    with (
        running_server(where, tmp_path, query_workers="2", policy_ttl="600") as server,
        httpx.Client(timeout=60) as client,
    ):
        void = f"SELECT ?n WHERE {{ <{server.url}/.well-known/void#dataset> <{VOID}triples> ?n }}"
        described = f"SELECT ?n WHERE {{ ?e <{SD}defaultDataset>/<{SD}defaultGraph>/<{VOID}triples> ?n }}"
        assert participants(client, server) == 6
        before = client.get(f"{server.url}/health").json()
        assert triples_in(client, f"{server.url}/.well-known/void", void) == served_triples(where)

        answers: list[tuple[str, int, str]] = []
        stop = threading.Event()

        def ask() -> None:
            with httpx.Client(timeout=60) as own:
                while not stop.is_set():
                    query = own.get(
                        server.sparql, params={"query": PARTICIPANTS}, headers={"Accept": "text/csv"}
                    )
                    answers.append(("query", query.status_code, query.text))
                    health = own.get(f"{server.url}/health")
                    answers.append(("health", health.status_code, health.text))

        askers = [threading.Thread(target=ask) for _ in range(2)]
        for asker in askers:
            asker.start()
        try:
            hmp_build(where, new)  # the only study in the store: a new generation
        finally:
            stop.set()
            for asker in askers:
                asker.join(120)

        assert answers
        assert all(status == 200 for _, status, _ in answers), [a for a in answers if a[1] != 200][:3]
        assert {text.splitlines()[1] for kind, _, text in answers if kind == "query"} <= {"6", "9"}

        assert participants(client, server) == 9  # the first query after the build: new data
        health = client.get(f"{server.url}/health").json()
        now = OxigraphStore(where, read_only=True).count()
        assert health["status"] == "ok" and health["triples"] == now != before["triples"]
        assert health["studies"] == before["studies"] == 1
        total = served_triples(where)
        assert triples_in(client, f"{server.url}/.well-known/void", void) == total
        assert triples_in(client, server.sparql, described) == total
        assert f"{now:,}" in client.get(f"{server.url}/").text  # the landing page's figure

        # the server let go of the old generation (the idle worker too, on its own): the next
        # writer deletes it; wait for that, with a generous deadline (not a timing claim)
        deadline = time.monotonic() + 60
        while first.exists() and time.monotonic() < deadline:
            OxigraphStore(where).close()
            time.sleep(0.5)
        assert not first.exists()
        assert participants(client, server) == 9

        # another study beside it (a new graph set): the studies and graphs are recounted at once
        hmp_build(where, old.parent / "another")
        health = client.get(f"{server.url}/health").json()
        assert health["studies"] == 2 and health["graphs"] > before["graphs"]
        assert participants(client, server) == 12
