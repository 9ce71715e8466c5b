"""The SPARQL 1.1 Service Description of ``/sparql``: formats, dataset, limits."""

from __future__ import annotations

import pyoxigraph as ox

from kg import __version__
from service.dataset import DatasetView
from service.dependencies import Services
from service.rdf import GraphBuilder, iri

RESULT_FORMATS = ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV")
RDF_FORMATS = ("Turtle", "N-Triples", "JSON-LD", "RDF_XML", "N-Quads", "TriG")


def service_description(services: Services, view: DatasetView, base: str) -> GraphBuilder:
    settings = services.settings
    g = GraphBuilder()
    endpoint = ox.NamedNode(f"{base}/sparql")
    g.add(endpoint, "rdf:type", iri("sd:Service"))
    g.add(endpoint, "sd:endpoint", endpoint)
    g.add(endpoint, "sd:supportedLanguage", iri("sd:SPARQL11Query"))
    if settings.update_token:
        g.add(endpoint, "sd:supportedLanguage", iri("sd:SPARQL11Update"))
    for name in (*RESULT_FORMATS, *RDF_FORMATS):
        g.add(endpoint, "sd:resultFormat", iri(f"formats:{name}"))
    g.add(endpoint, "sd:feature", iri("sd:UnionDefaultGraph"))
    g.add(endpoint, "dcterms:title", "HMP knowledge graph SPARQL endpoint")
    g.add(endpoint, "hmps:softwareVersion", __version__)
    g.add(endpoint, "hmps:queryTimeoutSeconds", float(settings.query_timeout))
    g.add(endpoint, "hmps:maxResults", settings.max_results)
    g.add(endpoint, "hmps:maxQueryLength", settings.max_query_length)
    g.add(endpoint, "hmps:updatesEnabled", bool(settings.update_token))
    capped = not settings.store_url and settings.query_workers > 0 and settings.worker_memory_mb > 0
    if capped:
        g.add(endpoint, "hmps:queryMemoryMegabytes", settings.worker_memory_mb)
    memory = (
        f"a query that needs more than {settings.worker_memory_mb} MB of memory is stopped (503); "
        if capped
        else ""
    )
    g.add(
        endpoint,
        "rdfs:comment",
        ox.Literal(
            f"Read-only unless a bearer token is configured. Limits: a query is stopped after "
            f"{settings.query_timeout:g} s (503); {memory}results over {settings.max_results} rows or "
            f"triples are refused (400); queries over {settings.max_query_length} characters are refused "
            f"(414 in a URL, 413 in a body). The default graph is the merge of the named graphs listed "
            f"here; graphs with verbatim transcripts of studies whose access tier is not open are withheld.",
            language="en",
        ),
    )
    dataset = ox.BlankNode("dataset")
    default_graph = ox.BlankNode("defaultGraph")
    g.add(endpoint, "sd:defaultDataset", dataset)
    g.add(dataset, "rdf:type", iri("sd:Dataset"))
    g.add(dataset, "sd:defaultGraph", default_graph)
    g.add(default_graph, "rdf:type", iri("sd:Graph"))
    total = 0
    for index, name in enumerate(view.served):
        count = services.views.count(name)
        total += count
        named = ox.BlankNode(f"ng{index}")
        graph = ox.BlankNode(f"g{index}")
        g.add(dataset, "sd:namedGraph", named)
        g.add(named, "rdf:type", iri("sd:NamedGraph"))
        g.add(named, "sd:name", ox.NamedNode(name))
        g.add(named, "sd:graph", graph)
        g.add(graph, "rdf:type", iri("sd:Graph"))
        g.add(graph, "void:triples", count)
    g.add(default_graph, "void:triples", total)
    g.add(endpoint, "hmps:withheldGraphs", len(view.hidden))
    return g
