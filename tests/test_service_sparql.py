"""SPARQL 1.1 Protocol behaviours of /sparql, against a real uvicorn server over loopback.

Clients: SPARQLWrapper (each result format it supports, GET and POST) and httpx (status codes,
headers, negotiation, dataset parameters, the service description as RDF).
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import rdflib
from rdflib.namespace import RDF, RDFS
from SPARQLWrapper import CSV, JSON, JSONLD, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, XML
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

from serverfixture import (
    P01,
    PARTICIPANTS,
    Server,
    assert_participants_json,
    build_store,
    running_server,
    sparql_client,
)

ID = "https://w3id.org/hmp/id/svc/"
HMP = "https://w3id.org/hmp/ontology#"
METADATA = "https://w3id.org/hmp/graph/svc/metadata"
CODINGS = "https://w3id.org/hmp/graph/svc/codings"
FULLTEXT = "https://w3id.org/hmp/graph/svc/fulltext"
OPEN_FULLTEXT = "https://w3id.org/hmp/graph/svcopen/fulltext"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
HMPS = rdflib.Namespace("https://w3id.org/hmp/service#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")

CONSTRUCT_P01 = f"CONSTRUCT {{ <{P01}> ?p ?o }} WHERE {{ <{P01}> ?p ?o }}"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("sparql")
    store = build_store(root / "store")
    with running_server(store, root) as running:
        yield running


# ---- SPARQLWrapper: every result format -------------------------------------------------------


def test_select_json_with_sparqlwrapper(server: Server) -> None:
    result = sparql_client(server, PARTICIPANTS, JSON).query().convert()
    assert_participants_json(result)


def test_select_xml_with_sparqlwrapper(server: Server) -> None:
    document = sparql_client(server, PARTICIPANTS, XML).query().convert()
    ns = "http://www.w3.org/2005/sparql-results#"
    variables = [v.getAttribute("name") for v in document.getElementsByTagNameNS(ns, "variable")]
    assert variables == ["p", "label", "years"]
    uris = [u.firstChild.data for u in document.getElementsByTagNameNS(ns, "uri")]
    assert uris == [P01, ID + "participant/P02"]


def test_select_csv_with_sparqlwrapper(server: Server) -> None:
    body = sparql_client(server, PARTICIPANTS, CSV).query().convert()
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows == [["p", "label", "years"], [P01, "P01", "24"], [ID + "participant/P02", "P02", "12"]]


def test_select_tsv_with_sparqlwrapper(server: Server) -> None:
    body = sparql_client(server, PARTICIPANTS, TSV).query().convert()
    lines = body.decode().splitlines()
    assert lines[0] == "?p\t?label\t?years"
    assert lines[1] == f'<{P01}>\t"P01"\t"24"^^<http://www.w3.org/2001/XMLSchema#integer>'


def test_select_by_post_form_and_direct_post(server: Server) -> None:
    form = sparql_client(server, PARTICIPANTS, JSON, POST).query().convert()
    direct = sparql_client(server, PARTICIPANTS, JSON, POST)
    direct.setRequestMethod(POSTDIRECTLY)
    assert form == direct.query().convert()
    assert len(form["results"]["bindings"]) == 2


def test_ask_in_json_and_xml(server: Server) -> None:
    yes = f"ASK {{ <{P01}> a <{HMP}HybridProfessionalManager> }}"
    no = f"ASK {{ <{ID}participant/P02> a <{HMP}HybridProfessionalManager> }}"
    assert sparql_client(server, yes, JSON).query().convert()["boolean"] is True
    assert sparql_client(server, no, JSON).query().convert()["boolean"] is False
    document = sparql_client(server, yes, XML).query().convert()
    assert document.getElementsByTagName("boolean")[0].firstChild.data == "true"


@pytest.mark.parametrize("fmt", [TURTLE, RDFXML, JSONLD, XML])
def test_construct_with_sparqlwrapper(server: Server, fmt: str) -> None:
    result = sparql_client(server, CONSTRUCT_P01, fmt).query().convert()
    graph = result if isinstance(result, rdflib.Graph) else rdflib.Graph().parse(data=result, format="turtle")
    p01 = rdflib.URIRef(P01)
    assert (p01, rdflib.URIRef(HMP + "careerYears"), rdflib.Literal(24)) in graph
    assert (p01, RDF.type, rdflib.URIRef(HMP + "DoctorParticipant")) in graph
    assert len(graph) == len(set(graph.predicate_objects(p01)))


def test_construct_in_ntriples_and_describe_in_nquads(server: Server) -> None:
    response = httpx.get(
        server.sparql, params={"query": CONSTRUCT_P01}, headers={"Accept": "application/n-triples"}
    )
    assert response.headers["content-type"].startswith("application/n-triples")
    graph = rdflib.Graph().parse(data=response.text, format="nt")
    assert (rdflib.URIRef(P01), rdflib.URIRef(HMP + "pseudonym"), rdflib.Literal("P01")) in graph
    response = httpx.get(server.sparql, params={"query": f"DESCRIBE <{P01}>", "format": "nq"})
    assert response.headers["content-type"].startswith("application/n-quads")
    dataset = rdflib.Dataset().parse(data=response.text, format="nquads")
    assert (
        rdflib.URIRef(P01),
        rdflib.URIRef(HMP + "careerYears"),
        rdflib.Literal(24),
    ) in dataset.default_graph


def test_malformed_query_is_400_with_position(server: Server) -> None:
    response = httpx.get(server.sparql, params={"query": "SELECT * WHERE { ?s ?p }"})
    assert response.status_code == 400
    assert "line 1, column 25" in response.text  # as the parser reports it
    assert "expected" in response.text
    with pytest.raises(QueryBadFormed, match="line 1"):
        sparql_client(server, "SELECT * WHERE { ?s ?p }", JSON).query()


def test_large_result_crosses_the_worker_pipe_whole(server: Server) -> None:
    """Regression: uvloop left the worker's socket non-blocking, and a reply bigger than the
    socket buffer failed half way with EAGAIN ("the query worker died", 500)."""
    count = httpx.get(
        server.sparql, params={"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }", "format": "json"}
    )
    triples = int(count.json()["results"]["bindings"][0]["n"]["value"])
    query = "SELECT ?s ?p ?o ?copy WHERE { ?s ?p ?o VALUES ?copy { 1 2 3 4 5 6 7 8 } }"
    for _ in range(2):  # the same worker answers again afterwards
        response = httpx.get(server.sparql, params={"query": query, "format": "json"}, timeout=60)
        assert response.status_code == 200, response.text
        assert len(response.content) > 1_000_000
        bindings = response.json()["results"]["bindings"]
        assert len(bindings) == 8 * triples
        assert {b["copy"]["value"] for b in bindings} == {str(n) for n in range(1, 9)}
    small = httpx.get(server.sparql, params={"query": PARTICIPANTS, "format": "json"})
    assert [b["label"]["value"] for b in small.json()["results"]["bindings"]] == ["P01", "P02"]


# ---- negotiation -------------------------------------------------------------------------------


def test_accept_negotiation_by_query_form(server: Server) -> None:
    accept = "text/tab-separated-values;q=0.5, text/turtle, application/sparql-results+xml;q=0.9"
    select = httpx.get(server.sparql, params={"query": PARTICIPANTS}, headers={"Accept": accept})
    assert select.headers["content-type"].startswith("application/sparql-results+xml")
    assert "<literal>P01</literal>" in select.text
    construct = httpx.get(server.sparql, params={"query": CONSTRUCT_P01}, headers={"Accept": accept})
    assert construct.headers["content-type"].startswith("text/turtle")
    assert '"P01"' in construct.text
    assert "Accept" in select.headers["vary"]


def test_format_parameter_overrides_accept(server: Server) -> None:
    response = httpx.get(
        server.sparql, params={"query": PARTICIPANTS, "format": "csv"}, headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert response.text.splitlines()[1] == f"{P01},P01,24"


def test_406_when_nothing_acceptable(server: Server) -> None:
    response = httpx.get(server.sparql, params={"query": PARTICIPANTS}, headers={"Accept": "image/png"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.text
    response = httpx.get(server.sparql, params={"query": CONSTRUCT_P01, "format": "csv"})
    assert response.status_code == 406
    assert "text/turtle" in response.text


# ---- dataset parameters and the withheld tier --------------------------------------------------


def test_default_graph_uri_restricts_the_default_graph(server: Server) -> None:
    query = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    counts = {}
    for graph in (METADATA, CODINGS):
        response = httpx.get(
            server.sparql, params={"query": query, "default-graph-uri": graph, "format": "json"}
        )
        counts[graph] = int(response.json()["results"]["bindings"][0]["n"]["value"])
    assert counts == {METADATA: 52, CODINGS: 26}
    both = httpx.get(
        server.sparql, params={"query": query, "default-graph-uri": [METADATA, CODINGS], "format": "json"}
    )
    assert int(both.json()["results"]["bindings"][0]["n"]["value"]) == 78


def test_named_graph_uri_limits_graph_patterns(server: Server) -> None:
    query = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } } ORDER BY ?g"
    response = httpx.post(
        server.sparql,
        data={"query": query, "named-graph-uri": [CODINGS, METADATA]},
        headers={"Accept": "application/sparql-results+json"},
    )
    graphs = [b["g"]["value"] for b in response.json()["results"]["bindings"]]
    assert graphs == [CODINGS, METADATA]


def test_restricted_fulltext_is_not_served(server: Server) -> None:
    query = f"SELECT ?text WHERE {{ ?t <{HMP}fullText> ?text }}"
    texts = [
        b["text"]["value"]
        for b in httpx.get(server.sparql, params={"query": query, "format": "json"}).json()["results"][
            "bindings"
        ]
    ]
    assert texts == ["OPEN-VERBATIM-TEXT of an open study."]
    in_graphs = f"SELECT ?g WHERE {{ GRAPH ?g {{ ?t <{HMP}fullText> ?text }} }}"
    rows = httpx.get(server.sparql, params={"query": in_graphs, "format": "json"}).json()["results"][
        "bindings"
    ]
    assert [r["g"]["value"] for r in rows] == [OPEN_FULLTEXT]
    asked = httpx.get(server.sparql, params={"query": query, "default-graph-uri": FULLTEXT})
    assert asked.status_code == 403
    assert FULLTEXT in asked.text
    describe = httpx.get(server.sparql, params={"query": f"DESCRIBE <{ID}transcript/T01>", "format": "nt"})
    assert "Transcript T01" in describe.text
    assert "SECRET" not in describe.text


# ---- service description ------------------------------------------------------------------------


def test_service_description_is_rdf_with_formats_dataset_and_limits(server: Server) -> None:
    response = httpx.get(server.sparql)
    assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    endpoint = rdflib.URIRef(server.sparql)
    assert (endpoint, RDF.type, SD.Service) in graph
    assert (endpoint, SD.endpoint, endpoint) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Query) in graph
    assert (endpoint, SD.supportedLanguage, SD.SPARQL11Update) not in graph
    formats = {str(o).rsplit("/", 1)[1] for o in graph.objects(endpoint, SD.resultFormat)}
    assert {
        "SPARQL_Results_JSON",
        "SPARQL_Results_XML",
        "SPARQL_Results_CSV",
        "SPARQL_Results_TSV",
    } <= formats
    assert {"Turtle", "N-Triples", "JSON-LD", "RDF_XML"} <= formats
    dataset = graph.value(endpoint, SD.defaultDataset)
    names = {str(graph.value(ng, SD.name)) for ng in graph.objects(dataset, SD.namedGraph)}
    assert {METADATA, CODINGS, OPEN_FULLTEXT, "https://w3id.org/hmp/graph/ontology"} <= names
    assert FULLTEXT not in names
    assert graph.value(endpoint, HMPS.queryTimeoutSeconds).toPython() == 10
    assert graph.value(endpoint, HMPS.maxResults).toPython() == 100_000
    assert graph.value(endpoint, HMPS.maxQueryLength).toPython() == 20_000
    assert graph.value(endpoint, HMPS.queryMemoryMegabytes).toPython() == 4096
    assert "needs more than 4096 MB of memory is stopped (503)" in str(graph.value(endpoint, RDFS.comment))
    for ng in graph.objects(dataset, SD.namedGraph):
        if str(graph.value(ng, SD.name)) == CODINGS:
            assert graph.value(graph.value(ng, SD.graph), VOID.triples).toPython() == 26
    as_jsonld = httpx.get(server.sparql, headers={"Accept": "application/ld+json"})
    assert rdflib.Graph().parse(data=as_jsonld.text, format="json-ld").isomorphic(graph)


# ---- updates, CORS -------------------------------------------------------------------------------


def test_updates_are_forbidden_without_token(server: Server) -> None:
    update = f'INSERT DATA {{ GRAPH <{METADATA}> {{ <{P01}> <{HMP}pseudonym> "X" }} }}'
    for response in (
        httpx.post(server.sparql, data={"update": update}),
        httpx.post(server.sparql, content=update, headers={"Content-Type": "application/sparql-update"}),
        httpx.get(server.sparql, params={"query": update}),
    ):
        assert response.status_code == 403
        assert "read-only" in response.text
    ask = httpx.get(
        server.sparql, params={"query": f'ASK {{ <{P01}> <{HMP}pseudonym> "X" }}', "format": "json"}
    )
    assert ask.json()["boolean"] is False


def test_cors_allows_get_from_any_origin(server: Server) -> None:
    response = httpx.get(
        server.sparql, params={"query": "ASK {}", "format": "json"}, headers={"Origin": "https://example.org"}
    )
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["boolean"] is True
    preflight = httpx.options(
        server.sparql,
        headers={"Origin": "https://example.org", "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert "GET" in preflight.headers["access-control-allow-methods"]


def test_unsupported_post_body_is_415(server: Server) -> None:
    response = httpx.post(server.sparql, content="{}", headers={"Content-Type": "application/json"})
    assert response.status_code == 415
    assert "application/sparql-query" in response.text


# ---- limits and the update token (their own servers) ---------------------------------------------


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limited")
    store = build_store(root / "store")
    with running_server(
        store, root, query_timeout="1", max_results="5", max_query_length="400", cors_origins=""
    ) as running:
        yield running


def test_timeout_stops_the_query_and_frees_the_worker(limited: Server) -> None:
    runaway = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    started = time.monotonic()
    response = httpx.get(limited.sparql, params={"query": runaway, "format": "json"}, timeout=30)
    assert response.status_code == 503
    assert "longer than 1 s and was stopped" in response.text
    assert time.monotonic() - started < 5
    # The only worker was killed and replaced: a cheap query is answered, not queued behind it.
    deadline = time.monotonic() + 20
    while True:
        ok = httpx.get(limited.sparql, params={"query": "ASK { ?s ?p ?o }", "format": "json"}, timeout=30)
        if ok.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert ok.json()["boolean"] is True


@pytest.mark.parametrize("format_", ["json", "xml", "csv"])
def test_result_row_limit(limited: Server, format_: str) -> None:
    response = httpx.get(limited.sparql, params={"query": "SELECT * WHERE { ?s ?p ?o }", "format": format_})
    assert response.status_code == 400
    assert "more than 5 rows" in response.text
    # Exactly at the limit: every row holds several of the bytes the quick bound counts
    # (``{``, ``<result``, newlines in literals), so the rows are counted exactly.
    at_limit = 'SELECT ?s ?p ?o ("{a}\\n{b}" AS ?x) WHERE { ?s ?p ?o } LIMIT 5'
    small = httpx.get(limited.sparql, params={"query": at_limit, "format": format_})
    assert small.status_code == 200, small.text
    if format_ == "json":
        rows = small.json()["results"]["bindings"]
        assert len(rows) == 5
        assert {row["x"]["value"] for row in rows} == {"{a}\n{b}"}
    elif format_ == "xml":
        assert small.text.count("<result>") == 5
        assert small.text.count("<literal>{a}\n{b}</literal>") == 5
    else:
        lines = small.text.split("\r\n")
        assert lines[0] == "s,p,o,x"
        assert sum(line.endswith('"{a}\n{b}"') for line in lines) == 5


def test_query_length_limit(limited: Server) -> None:
    long_query = "SELECT * WHERE { ?s ?p ?o } " + "#" * 500
    in_url = httpx.get(limited.sparql, params={"query": long_query})
    assert in_url.status_code == 414
    assert "more than the 400" in in_url.text
    in_body = httpx.post(
        limited.sparql, content=long_query, headers={"Content-Type": "application/sparql-query"}
    )
    assert in_body.status_code == 413


def test_cors_can_be_switched_off(limited: Server) -> None:
    response = httpx.get(
        limited.sparql, params={"query": "ASK {}"}, headers={"Origin": "https://example.org"}
    )
    assert "access-control-allow-origin" not in response.headers


def test_a_query_over_the_workers_memory_cap_is_stopped_and_the_service_goes_on(tmp_path: Path) -> None:
    """A query building a huge intermediate result (a distinct set over a three-way product of
    the fixture's triples: hundreds of millions of rows) fails its allocation at the cap: 503 with
    what to do, and the next query is answered by a fresh worker. Without the cap it grows until
    the timeout, gigabytes a second."""
    store = build_store(tmp_path / "store")
    hostile = "SELECT (COUNT(*) AS ?n) WHERE { SELECT DISTINCT * WHERE { ?a ?b ?c . ?d ?e ?f . ?g a ?h } }"
    with running_server(store, tmp_path, worker_memory_mb="1536", query_timeout="15") as server:
        refused = httpx.get(server.sparql, params={"query": hostile, "format": "json"}, timeout=60)
        assert refused.status_code == 503
        assert "more memory than a query worker may use (1536 MB, HMP_WORKER_MEMORY_MB)" in refused.text
        assert "add LIMIT" in refused.text
        after = httpx.get(server.sparql, params={"query": PARTICIPANTS, "format": "json"}, timeout=60)
        assert after.status_code == 200
        assert_participants_json(after.json())


def test_update_with_bearer_token(tmp_path: Path) -> None:
    store = build_store(tmp_path / "store")
    update = f'INSERT DATA {{ GRAPH <{METADATA}> {{ <{P01}> <{HMP}pseudonym> "Dr X" }} }}'
    ask = f'ASK {{ <{P01}> <{HMP}pseudonym> "Dr X" }}'
    with running_server(store, tmp_path, update_token="s3cret") as server:
        wrong = httpx.post(server.sparql, data={"update": update}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 403
        assert "Authorization: Bearer" in wrong.text
        assert httpx.get(server.sparql, params={"query": ask, "format": "json"}).json()["boolean"] is False
        done = httpx.post(
            server.sparql,
            content=update,
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer s3cret"},
        )
        assert done.status_code == 204
        assert httpx.get(server.sparql, params={"query": ask, "format": "json"}).json()["boolean"] is True
        description = rdflib.Graph().parse(data=httpx.get(server.sparql).text, format="turtle")
        assert (rdflib.URIRef(server.sparql), SD.supportedLanguage, SD.SPARQL11Update) in description
        assert json.loads(httpx.get(f"{server.url}/health").text)["status"] == "ok"
