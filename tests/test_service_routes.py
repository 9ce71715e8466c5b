"""Canned-query routes, linked-data pages, the ontology, VoID and /health over a real server."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
import rdflib
from rdflib.namespace import DCTERMS, RDF, RDFS

from serverfixture import Server, build_store, running_server

ID = "https://w3id.org/hmp/id/svc/"
HMP = rdflib.Namespace("https://w3id.org/hmp/ontology#")
VOID = rdflib.Namespace("http://rdfs.org/ns/void#")
DCAT = rdflib.Namespace("http://www.w3.org/ns/dcat#")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("routes")
    with running_server(build_store(root / "store"), root) as running:
        yield running


def test_catalogue_lists_queries_with_parameters(server: Server) -> None:
    catalogue = httpx.get(f"{server.url}/queries").json()["queries"]
    by_name = {q["name"]: q for q in catalogue}
    assert "sample-composition" in by_name
    evidence = by_name["evidence"]
    assert {p["name"] for p in evidence["params"]} == {"stage", "occupation"}
    stage = next(p for p in evidence["params"] if p["name"] == "stage")
    assert stage["default"] == "awakening" and "awakening" in stage["values"]
    assert evidence["sparql"].lstrip().startswith("#+")


def test_openapi_documents_each_canned_query(server: Server) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    operation = schema["paths"]["/queries/evidence"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"stage", "occupation", "format"} <= names
    assert "Claim tested" in operation["description"]
    assert "/queries/sample-composition" in schema["paths"]
    assert "/sparql" in schema["paths"]


def test_canned_query_as_json_and_csv(server: Server) -> None:
    result = httpx.get(f"{server.url}/queries/sample-composition").json()
    rows = {r["occupationLabel"]["value"]: int(r["n"]["value"]) for r in result["results"]["bindings"]}
    assert rows == {"doctor": 1, "nurse": 1}
    response = httpx.get(
        f"{server.url}/queries/evidence",
        params={"stage": "awakening", "occupation": "doctor"},
        headers={"Accept": "text/csv"},
    )
    assert response.headers["content-type"].startswith("text/csv")
    rows_csv = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["quote"] for r in rows_csv] == ["I saw which side I was really on"]
    assert rows_csv[0]["pseudonym"] == "P01"


def test_canned_query_as_a_chart(server: Server) -> None:
    """``format=svg`` (or an Accept that prefers SVG) serves the answer drawn as the query's
    ``#+ chart:`` hint says: a standalone SVG document whose bars are the JSON answer's rows."""
    url = f"{server.url}/queries/sample-composition"
    answer = httpx.get(url).json()
    counts = {r["occupationLabel"]["value"]: r["n"]["value"] for r in answer["results"]["bindings"]}
    drawn = httpx.get(url, params={"format": "svg"})
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    assert drawn.headers["content-security-policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = ET.fromstring(drawn.content)  # well-formed XML
    ns = {"svg": "http://www.w3.org/2000/svg"}
    assert svg.tag == "{http://www.w3.org/2000/svg}svg" and svg.find("svg:style", ns) is not None
    bars = {
        bar.find("svg:title", ns).text: bar.get("data-value")  # type: ignore[union-attr]
        for bar in svg.iter("{http://www.w3.org/2000/svg}rect")
        if bar.get("class") == "bar"
    }
    assert bars == {f"{label}: {n}": n for label, n in counts.items()}
    # what an <img> element asks for gets the chart; */* still gets JSON
    img = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
    assert httpx.get(url, headers={"Accept": img}).content == drawn.content
    assert (
        httpx.get(url, headers={"Accept": "*/*"})
        .headers["content-type"]
        .startswith("application/sparql-results+json")
    )
    # a query whose answer is a table draws none
    table = httpx.get(f"{server.url}/queries/evidence", params={"format": "svg"})
    assert table.status_code == 406 and "draws no chart" in table.text
    documented = httpx.get(f"{server.url}/openapi.json").json()["paths"]
    formats = {
        name: next(p for p in documented[f"/queries/{name}"]["get"]["parameters"] if p["name"] == "format")
        for name in ("sample-composition", "evidence")
    }
    assert formats["sample-composition"]["schema"]["enum"] == ["json", "csv", "svg", "html"]
    assert formats["evidence"]["schema"]["enum"] == ["json", "csv", "html"]


BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def _selected(page: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)" selected', select.group(1))


def test_a_question_has_a_page_for_people_with_its_parameters_as_a_form(server: Server) -> None:
    url = f"{server.url}/queries/evidence"
    page = httpx.get(url, params={"stage": "Awakening", "occupation": "doctor"}, headers={"Accept": BROWSER})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    # the parameters: every stage in the catalogue's order, the one asked for chosen (by concept,
    # whatever its spelling), and a run button
    options = re.findall(
        r'<option value="([^"]*)"', re.search(r'<select name="stage">(.*?)</select>', html, re.S).group(1)
    )  # type: ignore[union-attr]
    assert options == [
        "early-impressions",
        "awakening",
        "normalisation",
        "turning-point",
        "strategic-mastery",
    ]
    assert _selected(html, "stage") == ["awakening"] and _selected(html, "occupation") == ["doctor"]
    # the answer: the evidencing excerpt, its participant linked to their page
    assert '<table class="result" data-query="evidence">' in html
    assert "I saw which side I was really on" in html and 'href="/id/svc/' in html
    # where the rows are for machines, with the chosen parameters; the query text, escaped
    assert 'href="/queries/evidence?stage=awakening&amp;occupation=doctor&amp;format=csv"' in html
    assert "?_stage a hmp:ActivationStage" in html and "&lt;https://w3id.org/hmp/ontology#&gt;" in html
    # the same page by format=html; JSON stays the answer for */*
    assert (
        httpx.get(url, params={"stage": "awakening", "occupation": "doctor", "format": "html"}).text == html
    )
    assert (
        httpx.get(url, params={"stage": "awakening", "occupation": "doctor"})
        .headers["content-type"]
        .startswith("application/sparql-results+json")
    )


def test_a_question_page_draws_its_chart_and_asks_for_what_is_missing(server: Server) -> None:
    drawn = httpx.get(f"{server.url}/queries/sample-composition", headers={"Accept": BROWSER}).text
    assert '<figure class="chart" data-query="sample-composition"><svg class="chart chart-bar"' in drawn
    assert "<form" not in drawn  # no parameters
    # a participant's trajectory needs a participant: the form lists them, and nothing is run
    asked = httpx.get(f"{server.url}/queries/participant-trajectory", headers={"Accept": BROWSER})
    assert asked.status_code == 200
    assert "Choose participant to run this question." in asked.text
    assert re.findall(r'<option value="(P\d+)"', asked.text) == ["P01", "P02"]
    assert '<table class="result"' not in asked.text
    chosen = httpx.get(
        f"{server.url}/queries/participant-trajectory",
        params={"participant": "P01"},
        headers={"Accept": BROWSER},
    )
    assert _selected(chosen.text, "participant") == ["P01"] and '<table class="result"' in chosen.text
    # a CONSTRUCT's page lists its statements by resource, labelled as the answer labels them
    profile = httpx.get(
        f"{server.url}/queries/participant-profile",
        params={"participant": "P01"},
        headers={"Accept": BROWSER},
    )
    assert profile.headers["content-type"].startswith("text/html")
    turtle = httpx.get(f"{server.url}/queries/participant-profile", params={"participant": "P01"})
    assert turtle.headers["content-type"].startswith("text/turtle")  # */* still gets the answer
    graph = rdflib.Graph().parse(data=turtle.text, format="turtle")
    sections = re.findall(r'<section class="described">\s*<h3><a href="([^"]+)"', profile.text)
    assert len(sections) == len(set(graph.subjects())) and "/id/svc/participant/P01" in sections
    shown = int(re.search(r"(\d+) statements about", profile.text).group(1))  # type: ignore[union-attr]
    assert shown == len(graph)
    assert 'href="/queries/participant-profile?participant=P01&amp;format=ttl"' in profile.text
    # the landing page links the questions it cannot answer itself to their pages
    assert 'href="/queries/evidence?format=html"' in httpx.get(server.url + "/").text


def test_a_participants_page_draws_their_activation_events(server: Server) -> None:
    events = httpx.get(f"{server.url}/queries/participant-trajectory", params={"participant": "P01"}).json()
    years = sorted(b["careerYear"]["value"] for b in events["results"]["bindings"])
    assert years  # the fixture's P01 has activation events
    page = httpx.get(f"{server.url}/id/svc/participant/P01", headers={"Accept": BROWSER}).text
    figure = re.search(
        r'<figure class="chart" data-query="participant-trajectory">(.*?)</figure>', page, re.S
    )
    assert figure, "no trajectory on the participant's page"
    assert sorted(re.findall(r'<circle class="dot"[^>]*data-value="(\d+)"', figure.group(1))) == years
    assert 'href="/queries/participant-trajectory?participant=P01&amp;format=html"' in page
    # other resources have none
    assert "<figure" not in httpx.get(f"{server.url}/ontology/Participant", headers={"Accept": BROWSER}).text


def test_canned_query_bad_parameter_and_unknown_query(server: Server) -> None:
    bad = httpx.get(f"{server.url}/queries/evidence", params={"stage": "no-such-stage"})
    assert bad.status_code == 400
    assert "no-such-stage" in bad.text and "awakening" in bad.text
    missing = httpx.get(f"{server.url}/queries/no-such-query")
    assert missing.status_code == 404
    assert "sample-composition" in missing.text


def test_canned_routes_keep_cors_and_error_form_on_the_fast_path(server: Server) -> None:
    """``/queries/NAME`` is dispatched by service.fastpath, not the router: the CORS header, the
    plain-text error answer and the trailing-slash and HEAD forms must be what the app gives."""
    origin = {"Origin": "https://example.org"}
    ok = httpx.get(f"{server.url}/queries/sample-composition", headers=origin)
    assert ok.headers["access-control-allow-origin"] == "*"
    assert "Accept" in ok.headers["vary"]
    assert {r["occupationLabel"]["value"] for r in ok.json()["results"]["bindings"]} == {"doctor", "nurse"}
    bad = httpx.get(f"{server.url}/queries/evidence", params={"occupation": "pilot"}, headers=origin)
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("text/plain")
    assert bad.headers["access-control-allow-origin"] == "*"
    assert "pilot" in bad.text and "nurse" in bad.text
    refused = httpx.get(f"{server.url}/queries/sample-composition", headers={"Accept": "image/png"})
    assert refused.status_code == 406
    slash = httpx.get(f"{server.url}/queries/sample-composition/")  # left to the router: a redirect
    assert slash.status_code == 307
    assert slash.headers["location"] == f"{server.url}/queries/sample-composition"
    head = httpx.head(f"{server.url}/queries/sample-composition", headers=origin)  # as GET, no body
    assert head.status_code == 200 and head.content == b""
    assert head.headers["access-control-allow-origin"] == "*"


def test_resource_page_html_for_people(server: Server) -> None:
    response = httpx.get(f"{server.url}/id/svc/participant/P01", headers={"Accept": "text/html"})
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert "<h1>P01</h1>" in html
    assert 'href="/ontology/DoctorParticipant"' in html
    assert 'href="/id/svc/role-holding/P01-1"' in html
    assert "Referred to by" in html and 'href="/id/svc/interview/T01"' in html
    assert "doctor participant" in html  # the type's label, not its IRI


def test_resource_turtle_jsonld_rdfxml_for_machines(server: Server) -> None:
    url = f"{server.url}/id/svc/participant/P01"
    p01 = rdflib.URIRef(ID + "participant/P01")
    graphs = {}
    for accept, fmt in (
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
    ):
        response = httpx.get(url, headers={"Accept": accept})
        assert response.headers["content-type"].startswith(accept)
        graphs[fmt] = rdflib.Graph().parse(data=response.text, format=fmt)
        assert (p01, HMP.primaryOccupation, HMP["occupation-doctor"]) in graphs[fmt]
        assert set(graphs[fmt].subjects()) == {p01}
    assert graphs["turtle"].isomorphic(graphs["json-ld"]) and graphs["turtle"].isomorphic(graphs["xml"])
    assert (
        httpx.get(url, params={"format": "ttl"}).text
        == httpx.get(url, headers={"Accept": "text/turtle"}).text
    )


def test_withheld_fulltext_is_not_on_resource_pages(server: Server) -> None:
    restricted = httpx.get(f"{server.url}/id/svc/transcript/T01", headers={"Accept": "text/turtle"}).text
    assert "Transcript T01" in restricted and "fullText" not in restricted and "SECRET" not in restricted
    opened = httpx.get(f"{server.url}/id/svcopen/transcript/T09", headers={"Accept": "text/turtle"}).text
    assert "OPEN-VERBATIM-TEXT" in opened


def test_unknown_resource_is_404(server: Server) -> None:
    response = httpx.get(f"{server.url}/id/svc/participant/P99", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "https://w3id.org/hmp/id/svc/participant/P99" in response.text


def test_ontology_term_with_blank_node_closure(server: Server) -> None:
    response = httpx.get(f"{server.url}/ontology/DoctorParticipant", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    term = HMP.DoctorParticipant
    assert (term, RDFS.label, rdflib.Literal("doctor participant", lang="en-gb")) in graph
    equivalent = graph.value(term, rdflib.OWL.equivalentClass)
    members = list(rdflib.collection.Collection(graph, graph.value(equivalent, rdflib.OWL.intersectionOf)))
    assert HMP.Participant in members
    html = httpx.get(f"{server.url}/ontology/DoctorParticipant", headers={"Accept": "text/html"}).text
    assert "A study participant whose primary occupation is doctor." in html


def test_whole_ontology_in_each_format(server: Server) -> None:
    turtle = rdflib.Graph().parse(data=httpx.get(f"{server.url}/ontology?format=ttl").text, format="turtle")
    assert (rdflib.URIRef("https://w3id.org/hmp/ontology"), RDF.type, rdflib.OWL.Ontology) in turtle
    rdfxml = httpx.get(f"{server.url}/ontology", headers={"Accept": "application/rdf+xml"})
    assert rdfxml.headers["content-type"].startswith("application/rdf+xml")
    assert len(rdflib.Graph().parse(data=rdfxml.text, format="xml")) == len(turtle)
    html = httpx.get(f"{server.url}/ontology", headers={"Accept": "text/html"}).text
    assert "Healthcare micro-politics ontology" in html
    assert 'href="/ontology/HybridProfessionalManager"' in html


def test_void_and_dcat_description(server: Server) -> None:
    response = httpx.get(f"{server.url}/.well-known/void", headers={"Accept": "text/turtle"})
    graph = rdflib.Graph().parse(data=response.text, format="turtle")
    dataset = rdflib.URIRef(f"{server.url}/.well-known/void#dataset")
    assert (dataset, RDF.type, VOID.Dataset) in graph and (dataset, RDF.type, DCAT.Dataset) in graph
    assert (dataset, VOID.sparqlEndpoint, rdflib.URIRef(server.sparql)) in graph
    assert graph.value(dataset, HMP.synthetic).toPython() is True
    assert (dataset, DCTERMS.license, rdflib.URIRef("https://creativecommons.org/licenses/by/4.0/")) in graph
    subsets = {str(s) for s in graph.objects(dataset, VOID.subset)}
    assert "https://w3id.org/hmp/graph/svc/metadata" in subsets
    assert "https://w3id.org/hmp/graph/svc/fulltext" not in subsets
    partitions = {
        str(graph.value(p, VOID["class"])): graph.value(p, VOID.entities).toPython()
        for p in graph.objects(dataset, VOID.classPartition)
    }
    assert partitions[str(HMP.Participant)] == 2
    assert graph.value(dataset, VOID.triples).toPython() == sum(
        graph.value(s, VOID.triples).toPython() for s in graph.objects(dataset, VOID.subset)
    )
    study = rdflib.URIRef("https://w3id.org/hmp/id/svc")
    assert graph.value(study, HMP.accessTier) == rdflib.Literal("restricted")


def test_health_reports_store_and_size(server: Server) -> None:
    health = httpx.get(f"{server.url}/health").json()
    assert health["status"] == "ok"
    assert health["store"]["kind"] == "oxigraph" and health["store"]["status"] == "ok"
    assert health["triples"] > 1600
    assert health["graphs_withheld"] == 1 and health["studies"] == 2


def test_landing_page_lists_questions_with_tables(server: Server) -> None:
    html = httpx.get(server.url + "/").text
    assert "Healthcare micro-politics knowledge graph" in html
    assert "Service test study" in html and "synthetic" in html
    assert '<table class="result" data-query="sample-composition">' in html
    assert "/static/vendor/node_modules/@zazuko/yasgui/build/yasgui.min.js" in html
    assert "cdn" not in html.lower()
    assert (
        httpx.get(server.url + "/static/vendor/node_modules/@zazuko/yasgui/build/yasgui.min.js").status_code
        == 200
    )


@pytest.mark.parametrize(
    "path",
    [
        "/queries/sample-composition",
        "/sparql?query=ASK%20%7B%7D",
        "/sparql",
        "/id/svc/participant/P01",
        "/ontology",
        "/",
        "/health",
        "/.well-known/void",
        "/queries",
        "/static/hmp.css",
    ],
)
def test_head_gives_the_get_answers_status_and_headers_without_its_body(server: Server, path: str) -> None:
    """RFC 9110 9.1: a general-purpose server supports HEAD wherever it supports GET."""
    get = httpx.get(server.url + path, headers={"Accept-Encoding": "identity"})
    head = httpx.head(server.url + path, headers={"Accept-Encoding": "identity"})
    assert get.status_code == head.status_code == 200
    assert head.content == b"" and get.content
    for name in ("content-type", "etag"):
        assert head.headers.get(name) == get.headers.get(name), name
    if "content-length" in get.headers and path not in ("/", "/health"):  # those two change per call
        assert head.headers["content-length"] == get.headers["content-length"]
