"""`hmp serve --store-url`: the service over a REAL Virtuoso (tests/virtuoso.py), end to end.

The service fixture and the ontology are loaded into Virtuoso through ``RemoteStore``; the service
runs in a real uvicorn on loopback with ``HMP_STORE_URL`` pointing at Virtuoso; SPARQLWrapper and
httpx check the answers' content, and that a restricted study's full text is not served.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pyoxigraph as ox
import pytest
import rdflib
from rdflib.namespace import RDF
from SPARQLWrapper import CSV, JSON, POST, TURTLE

from kg.stores.remote import RemoteStore
from serverfixture import (
    FIXTURE,
    ONTOLOGY,
    ONTOLOGY_GRAPH,
    P01,
    PARTICIPANTS,
    Server,
    assert_participants_json,
    free_port,
    running_server,
    serving,
    sparql_client,
)
from virtuoso import virtuoso_url  # noqa: F401  (the session fixture)

ID = "https://w3id.org/hmp/id/svc/"
HMP = "https://w3id.org/hmp/ontology#"
FULLTEXT = "https://w3id.org/hmp/graph/svc/fulltext"
OPEN_FULLTEXT = "https://w3id.org/hmp/graph/svcopen/fulltext"
CODINGS = "https://w3id.org/hmp/graph/svc/codings"
SD = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")


def _fixture_graphs() -> dict[str, list[ox.Triple]]:
    graphs: dict[str, list[ox.Triple]] = {ONTOLOGY_GRAPH: []}
    for quad in ox.parse(path=str(FIXTURE), format=ox.RdfFormat.TRIG):
        assert isinstance(quad.graph_name, ox.NamedNode)
        graphs.setdefault(quad.graph_name.value, []).append(quad.triple)
    graphs[ONTOLOGY_GRAPH] = [t.triple for t in ox.parse(path=str(ONTOLOGY), format=ox.RdfFormat.TURTLE)]
    return graphs


@pytest.fixture(scope="module")
def server(virtuoso_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:  # noqa: F811
    graphs = _fixture_graphs()
    store = RemoteStore(virtuoso_url)
    store.replace_graphs(graphs)
    assert store.count(CODINGS) == 26
    root = tmp_path_factory.mktemp("remote")
    with running_server(root / "unused-store", root, store_url=virtuoso_url) as running:
        yield running
    store.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs))


def test_health_reports_the_remote_store(server: Server) -> None:
    health = httpx.get(f"{server.url}/health", timeout=30).json()
    assert health["status"] == "ok"
    assert health["store"]["kind"] == "remote" and health["store"]["location"].endswith("/sparql")
    assert health["graphs_withheld"] == 1


def test_select_json_and_csv(server: Server) -> None:
    for method in ("GET", POST):
        result = sparql_client(server, PARTICIPANTS, JSON, method).query().convert()
        assert_participants_json(result)
    body = sparql_client(server, PARTICIPANTS, CSV).query().convert()
    rows_csv = list(csv.reader(io.StringIO(body.decode())))
    assert rows_csv == [["p", "label", "years"], [P01, "P01", "24"], [ID + "participant/P02", "P02", "12"]]


def test_ask(server: Server) -> None:
    yes = f"ASK {{ <{P01}> a <{HMP}HybridProfessionalManager> }}"
    no = f"ASK {{ <{ID}participant/P02> a <{HMP}HybridProfessionalManager> }}"
    assert sparql_client(server, yes, JSON).query().convert()["boolean"] is True
    assert sparql_client(server, no, JSON).query().convert()["boolean"] is False


def test_booleans_come_back_as_true_and_false(server: Server) -> None:
    # Virtuoso's JSON writes a stored xsd:boolean as "1" / "0"; the service asks it for XML, which
    # has the canonical forms, and writes the JSON itself
    query = (
        "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"
        f"SELECT ?s ?synthetic (xsd:boolean(?s = <{ID[:-1]}>) AS ?first) "
        f"WHERE {{ ?s <{HMP}synthetic> ?synthetic }}"
    )
    rows = sparql_client(server, query, JSON).query().convert()["results"]["bindings"]
    assert len(rows) == 2
    boolean = "http://www.w3.org/2001/XMLSchema#boolean"
    assert all(r["synthetic"] == {"type": "literal", "value": "true", "datatype": boolean} for r in rows)
    assert sorted(r["first"]["value"] for r in rows) == ["false", "true"]


def test_blank_nodes_come_back_as_blank_nodes(server: Server) -> None:
    # Virtuoso names them "nodeID://b10000", which is no RDF blank node label: renamed per answer
    owl = "http://www.w3.org/2002/07/owl#"
    query = f"SELECT ?r ?p WHERE {{ ?r a <{owl}Restriction> ; <{owl}onProperty> ?p }}"
    rows = sparql_client(server, query, JSON).query().convert()["results"]["bindings"]
    assert len(rows) >= 5
    assert all(r["r"]["type"] == "bnode" and not r["r"]["value"].startswith("nodeID:") for r in rows)
    assert len({r["r"]["value"] for r in rows}) == len(rows)  # one node each, as in the ontology


def test_construct_turtle(server: Server) -> None:
    query = f"CONSTRUCT {{ <{P01}> ?p ?o }} WHERE {{ <{P01}> ?p ?o }}"
    graph = sparql_client(server, query, TURTLE).query().convert()
    if not isinstance(graph, rdflib.Graph):
        graph = rdflib.Graph().parse(data=graph, format="turtle")
    p01 = rdflib.URIRef(P01)
    assert (p01, rdflib.URIRef(HMP + "careerYears"), rdflib.Literal(24)) in graph
    assert (p01, RDF.type, rdflib.URIRef(HMP + "DoctorParticipant")) in graph
    assert set(graph.subjects()) == {p01}


def test_service_description_lists_served_graphs_only(server: Server) -> None:
    response = httpx.get(server.sparql, timeout=30)
    assert response.headers["content-type"].startswith("text/turtle")
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    endpoint = rdflib.URIRef(server.sparql)
    assert (endpoint, RDF.type, SD.Service) in graph
    dataset = graph.value(endpoint, SD.defaultDataset)
    names = {str(graph.value(ng, SD.name)) for ng in graph.objects(dataset, SD.namedGraph)}
    assert {CODINGS, OPEN_FULLTEXT, ONTOLOGY_GRAPH} <= names
    assert FULLTEXT not in names
    # the remote store runs the queries: no worker memory cap of ours applies, and none is stated
    memory = rdflib.URIRef("https://w3id.org/hmp/service#queryMemoryMegabytes")
    assert graph.value(endpoint, memory) is None
    assert "MB of memory" not in str(graph.value(endpoint, rdflib.RDFS.comment))


def test_canned_query_route(server: Server) -> None:
    result = httpx.get(f"{server.url}/queries/sample-composition", timeout=30).json()
    rows = {r["occupationLabel"]["value"]: int(r["n"]["value"]) for r in result["results"]["bindings"]}
    assert rows == {"doctor": 1, "nurse": 1}
    response = httpx.get(
        f"{server.url}/queries/sample-composition", headers={"Accept": "text/csv"}, timeout=30
    )
    assert response.headers["content-type"].startswith("text/csv")
    assert {r["occupationLabel"]: r["n"] for r in csv.DictReader(io.StringIO(response.text))} == {
        "doctor": "1",
        "nurse": "1",
    }


def test_a_question_is_drawn_and_has_its_page_on_a_remote_store_too(server: Server) -> None:
    """The chart and the page are made from the answer Virtuoso gives (its JSON normalised)."""
    svg = httpx.get(f"{server.url}/queries/sample-composition", params={"format": "svg"}, timeout=30)
    assert svg.headers["content-type"] == "image/svg+xml"
    assert sorted(re.findall(r"<title>(\w+: \d+)</title>", svg.text)) == ["doctor: 1", "nurse: 1"]
    page = httpx.get(
        f"{server.url}/queries/evidence",
        params={"stage": "awakening", "occupation": "doctor", "format": "html"},
        timeout=30,
    )
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "I saw which side I was really on" in page.text
    assert re.findall(r'<option value="(\w+)" selected', page.text) == ["awakening", "doctor"]


def test_answers_from_a_remote_store_are_neither_kept_nor_validated(server: Server) -> None:
    # another client may write to the remote store at any time: every request asks it again
    answers = [httpx.get(f"{server.url}/queries/sample-composition", timeout=30) for _ in range(2)]
    for response in answers:
        assert response.status_code == 200 and "etag" not in response.headers
        assert response.headers["server-timing"].startswith("query;dur=")
    assert answers[0].content == answers[1].content


def test_linked_data_page_html_and_turtle(server: Server) -> None:
    page = httpx.get(f"{server.url}/id/svc/participant/P01", headers={"Accept": "text/html"}, timeout=30)
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>P01</h1>" in page.text
    assert 'href="/ontology/DoctorParticipant"' in page.text
    assert "doctor participant" in page.text  # the type's label from the ontology graph
    turtle = httpx.get(f"{server.url}/id/svc/participant/P01", headers={"Accept": "text/turtle"}, timeout=30)
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    assert (rdflib.URIRef(P01), rdflib.URIRef(HMP + "pseudonym"), rdflib.Literal("P01")) in graph


def test_restricted_fulltext_is_not_served(server: Server) -> None:
    query = f"SELECT ?text WHERE {{ ?t <{HMP}fullText> ?text }}"
    rows = sparql_client(server, query, JSON).query().convert()["results"]["bindings"]
    assert [r["text"]["value"] for r in rows] == ["OPEN-VERBATIM-TEXT of an open study."]
    in_graphs = f"SELECT ?g WHERE {{ GRAPH ?g {{ ?t <{HMP}fullText> ?text }} }}"
    rows = sparql_client(server, in_graphs, JSON).query().convert()["results"]["bindings"]
    assert [r["g"]["value"] for r in rows] == [OPEN_FULLTEXT]
    asked = httpx.get(server.sparql, params={"query": query, "default-graph-uri": FULLTEXT}, timeout=30)
    assert asked.status_code == 403 and FULLTEXT in asked.text
    page = httpx.get(f"{server.url}/id/svc/transcript/T01", headers={"Accept": "text/html"}, timeout=30).text
    assert "Transcript T01" in page and "SECRET" not in page
    describe = httpx.get(server.sparql, params={"query": f"DESCRIBE <{ID}transcript/T01>", "format": "nt"})
    assert "Transcript T01" in describe.text and "SECRET" not in describe.text


def test_unused_store_dir_is_not_created(server: Server) -> None:
    assert not (Path(server.store)).exists()


def test_hmp_serve_store_url(server: Server, virtuoso_url: str, tmp_path: Path) -> None:  # noqa: F811
    """The CLI form, `hmp serve --store-url URL`, serves the same remote data."""
    port = free_port()
    log = tmp_path / "hmp-serve.log"
    hmp = str(Path(sys.executable).with_name("hmp"))
    with log.open("wb") as out:
        process = subprocess.Popen(
            [hmp, "serve", "--store-url", virtuoso_url, "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    with serving(process, url, log, seconds=60):
        health = httpx.get(f"{url}/health", timeout=30).json()
        result = httpx.get(f"{url}/queries/sample-composition", timeout=30).json()
    assert health["store"] == {**health["store"], "kind": "remote", "location": virtuoso_url}
    rows = {r["occupationLabel"]["value"]: int(r["n"]["value"]) for r in result["results"]["bindings"]}
    assert rows == {"doctor": 1, "nurse": 1}
