"""``/.well-known/void``: a VoID + DCAT description of the dataset."""

from __future__ import annotations

import pyoxigraph as ox
from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from kg import __version__
from service.dataset import ID_BASE, DatasetView, sparql
from service.dependencies import Services, get_services, get_view, public_base
from service.rdf import GraphBuilder, iri, negotiate_rdf, rdf_response

router = APIRouter(tags=["dataset description"])


def void_description(services: Services, view: DatasetView, base: str) -> GraphBuilder:
    store = services.store
    g = GraphBuilder()
    dataset = ox.NamedNode(f"{base}/.well-known/void#dataset")
    endpoint = ox.NamedNode(f"{base}/sparql")
    g.add(dataset, "rdf:type", iri("void:Dataset"))
    g.add(dataset, "rdf:type", iri("dcat:Dataset"))
    g.add(dataset, "dcterms:title", ox.Literal("Healthcare micro-politics knowledge graph", language="en"))
    g.add(
        dataset,
        "dcterms:description",
        ox.Literal(
            "Coded qualitative interview studies of how doctors, nurses and managers become politically "
            "aware and active, as linked data: participants, careers, roles, stories and coded excerpts "
            "(W3C Web Annotations) described with the HMP ontology.",
            language="en",
        ),
    )
    g.add(dataset, "void:sparqlEndpoint", endpoint)
    g.add(dataset, "void:uriSpace", ID_BASE)
    g.add(dataset, "void:rootResource", ox.NamedNode(f"{base}/ontology"))
    g.add(dataset, "void:vocabulary", ox.NamedNode("https://w3id.org/hmp/ontology#"))
    g.add(dataset, "void:feature", ox.NamedNode("http://www.w3.org/ns/formats/Turtle"))
    g.add(dataset, "void:feature", ox.NamedNode("http://www.w3.org/ns/formats/JSON-LD"))
    g.add(dataset, "dcterms:hasVersion", __version__)
    service = ox.NamedNode(f"{base}/sparql#service")
    g.add(service, "rdf:type", iri("dcat:DataService"))
    g.add(service, "dcat:endpointURL", endpoint)
    g.add(service, "dcat:endpointDescription", endpoint)
    g.add(service, "dcat:servesDataset", dataset)
    total = 0
    for name in view.served:
        count = services.views.count(name)
        total += count
        graph = ox.NamedNode(name)
        g.add(dataset, "void:subset", graph)
        g.add(graph, "rdf:type", iri("void:Dataset"))
        g.add(graph, "void:triples", count)
        g.add(graph, "void:sparqlEndpoint", endpoint)
    g.add(dataset, "void:triples", total)
    classes = services.views.remembered("void-classes", lambda: store.select(sparql("classes")))
    g.add(dataset, "void:classes", len(classes))
    for index, row in enumerate(classes):
        partition = ox.NamedNode(f"{base}/.well-known/void#class-{index}")
        g.add(dataset, "void:classPartition", partition)
        g.add(partition, "void:class", row["class"])
        g.add(partition, "void:entities", int(row["entities"].value))
    licences = set()
    synthetic = False
    for study in view.studies:
        node = ox.NamedNode(study.iri)
        g.add(dataset, "dcterms:hasPart", node)
        g.add(node, "rdf:type", iri("dcat:Dataset"))
        g.add(node, "rdf:type", iri("hmp:Study"))
        if study.title:
            g.add(node, "dcterms:title", study.title)
        if study.description:
            g.add(node, "dcterms:description", study.description)
        if study.license:
            g.add(node, "dcterms:license", ox.NamedNode(study.license))
            licences.add(study.license)
        if study.temporal:
            g.add(node, "dcterms:temporal", study.temporal)
        if study.access_tier:
            g.add(node, "hmp:accessTier", study.access_tier)
        if study.synthetic is not None:
            g.add(node, "hmp:synthetic", study.synthetic)
            synthetic = synthetic or study.synthetic
        g.add(node, "dcat:landingPage", ox.NamedNode(f"{base}/id/{study.iri[len(ID_BASE) :]}"))
    for licence in sorted(licences):
        g.add(dataset, "dcterms:license", ox.NamedNode(licence))
    g.add(dataset, "hmp:synthetic", synthetic)
    if synthetic:
        g.add(
            dataset,
            "rdfs:comment",
            ox.Literal("Contains synthetic (generated) study data: not empirical findings.", language="en"),
        )
    return g


@router.get("/.well-known/void", summary="VoID + DCAT description of the dataset")
async def void(
    request: Request,
    services: Services = Depends(get_services),
    view: DatasetView = Depends(get_view),
    base: str = Depends(public_base),
) -> Response:
    media = negotiate_rdf(request.headers.get("accept"), request.query_params.getlist("format"))
    graph = await run_in_threadpool(void_description, services, view, base)
    return rdf_response(graph, media)
