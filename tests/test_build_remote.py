"""``hmp build`` into a remote SPARQL store (a real Virtuoso): validated in the scratch store,
then handed over with ``replace_graphs``; a violation never reaches the remote store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import queries
from kg._paths import EXAMPLE_STUDY
from kg._query_engines import MemoryStore, load_quads
from kg.build import build_study, read_source
from kg.errors import StoreError, ValidationFailed
from kg.stores import remote as remote_module
from kg.stores.oxigraph import STAGING_PREFIX, OxigraphStore
from kg.stores.remote import RemoteStore
from studybuilder import break_quote
from studybuilder import build_study as make_study
from virtuoso import VIRTUOSO, Virtuoso, virtuoso_url  # noqa: F401  (the session fixture)

GRAPHS = [f"https://w3id.org/hmp/graph/demo/{part}" for part in ("metadata", "codings", "fulltext")]
ONTOLOGY_GRAPH = "https://w3id.org/hmp/graph/ontology"
HMP = str(Path(sys.executable).with_name("hmp"))


def test_build_into_a_remote_store_matches_the_embedded_one(virtuoso_url: str, tmp_path: Path) -> None:  # noqa: F811
    remote = RemoteStore(virtuoso_url)
    remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))
    embedded = OxigraphStore(tmp_path / "store")
    assert build_study(make_study(), remote).loaded
    build_study(make_study(), embedded)
    assert [remote.count(g) for g in GRAPHS] == [embedded.count(g) for g in GRAPHS]
    with pytest.raises(ValidationFailed, match="nothing was loaded"):
        build_study(make_study(mutate=break_quote), remote)
    assert [remote.count(g) for g in GRAPHS] == [embedded.count(g) for g in GRAPHS]
    remote.close()


# ---- loading through the Graph Store Protocol ------------------------------------------------

ONTOLOGY = Path(__file__).resolve().parents[1] / "ontology" / "hmp.ttl"
RESTRICTIONS = (
    "PREFIX owl: <http://www.w3.org/2002/07/owl#>\n"
    "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?r a owl:Restriction ; owl:onProperty ?p . "
    "{ ?r owl:someValuesFrom ?v } UNION { ?r owl:allValuesFrom ?v } UNION { ?r owl:hasValue ?v } "
    "UNION { ?r owl:onClass ?v } UNION { ?r owl:cardinality ?v } UNION { ?r owl:minCardinality ?v } "
    "UNION { ?r owl:maxCardinality ?v } UNION { ?r owl:qualifiedCardinality ?v } "
    "UNION { ?r owl:minQualifiedCardinality ?v } UNION { ?r owl:maxQualifiedCardinality ?v } } }"
)

BLANK_SUBJECTS = "SELECT (COUNT(DISTINCT ?b) AS ?n) WHERE { GRAPH ?g { ?b ?p ?o FILTER (isBlank(?b)) } }"


def _graph_store(sparql_url: str) -> str:
    return sparql_url.rsplit("/", 1)[0] + "/sparql-graph-crud"


def _triples_of(store: RemoteStore | OxigraphStore, graph: str) -> set[str]:
    """A graph's triples without blank nodes, as N-Triples lines."""
    data = store.dump(None, media_type="application/n-triples", graph=graph) or b""
    return {line for line in data.decode().splitlines() if line and "_:" not in line}


def _staging_graphs(store: RemoteStore) -> list[str]:
    rows = store.select("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }")
    return [r["g"].value for r in rows if r["g"].value.startswith(STAGING_PREFIX)]


def test_a_build_through_the_graph_store_protocol_loads_what_sparql_update_loads(
    virtuoso_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # compared in Virtuoso's own terms: it stores typed literals by value ("true" as "1")
    plain = RemoteStore(virtuoso_url)
    plain.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))
    assert build_study(make_study(), plain).loaded
    by_update = {g: _triples_of(plain, g) for g in GRAPHS}
    embedded = OxigraphStore(tmp_path / "store")
    build_study(make_study(), embedded)
    monkeypatch.setattr(remote_module, "GSP_CHUNK", 2)  # two or more requests for every graph
    gsp = RemoteStore(virtuoso_url, graph_store_url=_graph_store(virtuoso_url))
    for _ in range(2):  # loaded, then replaced (not added to)
        assert build_study(make_study(), gsp).loaded
        for graph in GRAPHS:
            assert _triples_of(gsp, graph) == by_update[graph]
            assert gsp.count(graph) == embedded.count(graph) > 2
    assert _staging_graphs(gsp) == []


def test_blank_nodes_split_across_requests_stay_one_node_each(
    virtuoso_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the ontology's OWL restrictions are blank nodes with two or more triples each: posted in
    # several documents, each would become several nodes with one triple apiece
    monkeypatch.setattr(remote_module, "GSP_CHUNK", 3)
    quads = load_quads([(ONTOLOGY, ONTOLOGY_GRAPH)])
    embedded = MemoryStore(quads)
    expected = [embedded.select(q)[0]["n"].value for q in (RESTRICTIONS, BLANK_SUBJECTS)]
    assert int(expected[0]) >= 5 and int(expected[1]) > 3
    gsp = RemoteStore(virtuoso_url, graph_store_url=_graph_store(virtuoso_url))
    gsp.replace_graphs({ONTOLOGY_GRAPH: [q.triple for q in quads]})
    try:
        in_graph = f"GRAPH <{ONTOLOGY_GRAPH}>"
        found = [
            gsp.select(q.replace("GRAPH ?g", in_graph))[0]["n"].value for q in (RESTRICTIONS, BLANK_SUBJECTS)
        ]
        assert found == expected
        assert gsp.count(ONTOLOGY_GRAPH) == len(quads)
        # read back: Virtuoso names blank nodes "nodeID://b10000", which pyoxigraph refuses
        owl = "http://www.w3.org/2002/07/owl#"
        restrictions = gsp.select(
            f"SELECT ?r WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?r a <{owl}Restriction> }} }}"
        )
        assert len({r["r"] for r in restrictions}) == len(restrictions) == int(expected[0])
        assert all(isinstance(r["r"], ox.BlankNode) for r in restrictions)
        dumped = gsp.dump(None, media_type="application/n-triples", graph=ONTOLOGY_GRAPH) or b""
        back = [t for t in ox.parse(dumped, format=ox.RdfFormat.N_TRIPLES)]
        assert len(back) == len(quads)
        assert len({t.subject for t in back if isinstance(t.subject, ox.BlankNode)}) == int(expected[1])
    finally:
        gsp.update(f"DROP SILENT GRAPH <{ONTOLOGY_GRAPH}>")


def test_a_refused_graph_store_load_keeps_the_previous_version(virtuoso_url: str) -> None:  # noqa: F811
    plain = RemoteStore(virtuoso_url)
    plain.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))
    assert build_study(make_study(), plain).loaded
    before = [plain.count(g) for g in GRAPHS]
    wrong = virtuoso_url.rsplit("/", 1)[0] + "/no-such-graph-store"
    broken = RemoteStore(virtuoso_url, graph_store_url=wrong)
    with pytest.raises(StoreError) as refused:
        build_study(make_study(texts=None, events=True), broken)
    message = str(refused.value)
    assert "the Graph Store Protocol load failed: HTTP 404" in message and wrong in message
    assert "sparql-graph-crud" in message  # what would be accepted
    assert [plain.count(g) for g in GRAPHS] == before
    assert _staging_graphs(plain) == []


def test_hmp_build_takes_a_graph_store_url(virtuoso_url: str, tmp_path: Path) -> None:  # noqa: F811
    embedded = OxigraphStore(tmp_path / "store")
    build_study(read_source(EXAMPLE_STUDY), embedded)
    remote = RemoteStore(virtuoso_url)
    remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))  # the other tests' study
    try:
        done = subprocess.run(
            [HMP, "build", "--store-url", virtuoso_url, "--graph-store-url", _graph_store(virtuoso_url)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        for graph in embedded.graph_names():
            assert remote.count(graph) == embedded.count(graph), graph
        # the paper's sample: 21 doctors, 15 nurses, 29 managers
        assert sorted(
            (str(r["occupationLabel"]), int(r["n"])) for r in queries.run(remote, "sample-composition").rows
        ) == [("doctor", 21), ("manager", 29), ("nurse", 15)]
    finally:
        remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in embedded.graph_names()))


# ---- a switch too big for the store, and loading in place ---------------------------------------


@pytest.mark.parametrize("through", ["SPARQL Update", "Graph Store Protocol"])
def test_without_atomic_a_remote_build_loads_in_place_what_the_switch_loads(
    virtuoso_url: str,  # noqa: F811
    through: str,
) -> None:
    gsp = _graph_store(virtuoso_url) if through == "Graph Store Protocol" else None
    remote = RemoteStore(virtuoso_url, graph_store_url=gsp)
    remote.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in GRAPHS))
    assert build_study(make_study(), remote).loaded
    switched = {g: _triples_of(remote, g) for g in GRAPHS}
    for _ in range(2):  # in place into an empty graph, then over the study already there
        assert build_study(make_study(), remote, atomic=False).loaded
        assert {g: _triples_of(remote, g) for g in GRAPHS} == switched
    assert _staging_graphs(remote) == []


@pytest.fixture(scope="module")
def small_log_virtuoso(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Virtuoso whose transactions may log 2 MB: the example study's 49k triples do not fit one
    switch, as a 100x study does not fit the default 50 MB."""
    if not Path(VIRTUOSO).exists():
        pytest.skip(f"Virtuoso is not installed ({VIRTUOSO} missing; `make virtuoso` installs it)")
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso-small-log"), after_image=2_000_000)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()


def test_a_switch_too_big_for_the_store_is_refused_clearly_and_nothing_changes(
    small_log_virtuoso: str,
) -> None:
    remote = RemoteStore(small_log_virtuoso)
    with pytest.raises(StoreError) as refused:
        build_study(read_source(EXAMPLE_STUDY), remote)
    message = str(refused.value)
    assert "would not switch to the new 49,479 triples in one transaction" in message
    assert "nothing was changed" in message
    assert "TransactionAfterImageLimit" in message and "--no-atomic" in message
    assert len(message) < 1_500  # not the whole update echoed back
    assert _staging_graphs(remote) == []
    assert (
        remote.select("SELECT ?s WHERE { GRAPH ?g { ?s a <https://w3id.org/hmp/ontology#Participant> } }")
        == []
    )

    done = subprocess.run(
        [HMP, "build", "--store-url", small_log_virtuoso, "--no-atomic"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(
        (str(r["occupationLabel"]), int(r["n"])) for r in queries.run(remote, "sample-composition").rows
    ) == [("doctor", 21), ("manager", 29), ("nurse", 15)]
