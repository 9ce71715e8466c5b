"""``RemoteStore`` against a second SPARQL 1.1 endpoint: this project's own, a real uvicorn server
over the query fixture study. Unlike Virtuoso it refuses a query sent as an update (403, updates
are off), as Fuseki's query service does, so it shows which kind of request a client sent.

Every canned query run through ``kg.queries.run(RemoteStore(url), ...)`` must give exactly the
terms the embedded engine gives over the same quads. Six of the catalogue's texts have a word
that SPARQLWrapper takes for the query's form ("move", "drop", "describe"; a CONSTRUCT taken for
a SELECT). The four taken for updates were sent as updates and failed here (403) before
``RemoteStore`` said the form itself; the one taken for a DESCRIBE got 406 from Virtuoso when
asked for SPARQL XML results.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from SPARQLWrapper import SPARQLWrapper

from kg import queries
from kg._query_engines import MemoryStore, load_quads
from kg.stores.remote import RemoteStore
from serverfixture import ONTOLOGY, ONTOLOGY_GRAPH, running_server

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "queries" / "fixture-study.trig"
CASES = [
    (q.name, {"participant": "D1"} if any(p.type == "participant" for p in q.params) else None)
    for q in queries.catalogue()
] + [("evidence", {"stage": "turning point", "occupation": "doctor"})]


@pytest.fixture(scope="module")
def quads() -> list[ox.Quad]:
    return load_quads([FIXTURE, (ONTOLOGY, ONTOLOGY_GRAPH)])


@pytest.fixture(scope="module")
def endpoint(quads: list[ox.Quad], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("own-endpoint")
    store = ox.Store(str(work / "store"))
    store.bulk_extend(quads)
    store.flush()
    del store
    with running_server(work / "store", work, memory_copy_quads="0") as server:
        yield server.sparql


def test_sparqlwrapper_guesses_six_catalogue_queries_wrong() -> None:
    # the premise: without the form said, these go out as something else
    wrong = {}
    for query in queries.catalogue():
        client = SPARQLWrapper("http://127.0.0.1:1/sparql")
        client.setQuery(query.text)
        if client.queryType != query.form.upper():
            wrong[query.name] = client.queryType
    assert len(wrong) >= 4 and {"MOVE", "DROP"} <= set(wrong.values()), wrong


@pytest.mark.parametrize(("name", "params"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_every_canned_query_gives_the_embedded_answer_through_our_own_endpoint(
    endpoint: str, quads: list[ox.Quad], name: str, params: dict[str, str] | None
) -> None:
    expected = queries.run(MemoryStore(quads), name, params)
    got = queries.run(RemoteStore(endpoint), name, params)
    if expected.form == "construct":
        assert len(expected.triples) > 0
        assert Counter(map(str, got.triples)) == Counter(map(str, expected.triples))
    else:
        assert got.variables == expected.variables
        assert Counter(tuple(sorted((k, str(v)) for k, v in row.items())) for row in got.terms) == Counter(
            tuple(sorted((k, str(v)) for k, v in row.items())) for row in expected.terms
        )
