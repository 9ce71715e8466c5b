"""Linked data: ``/id/{path}`` and ``/ontology[/{term}]`` dereference with content negotiation —
an HTML page for people, Turtle / JSON-LD / RDF/XML / N-Triples (the concise bounded
description) for machines. ``https://w3id.org/hmp/id/...`` maps to ``/id/...``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from kg import charts
from kg import queries as canned
from kg.errors import KgError
from kg.sparql_reads import predicates_read
from kg.store import Store
from service.dataset import ID_BASE, ONTOLOGY_GRAPH, ONTOLOGY_IRI, ONTOLOGY_NS, DatasetView, sparql
from service.dependencies import get_store, get_view
from service.describe import Description, describe
from service.errors import NotFound
from service.protocol import negotiate
from service.rdf import TRIPLE_TYPES, negotiate_rdf, rdf_response
from service.templating import TEMPLATES

router = APIRouter(tags=["linked data"])

HTML = "text/html"
_RDF_ALIASES = {
    "application/x-turtle": "text/turtle",
    "application/turtle": "text/turtle",
    "application/json": "application/ld+json",
    "application/xml": "application/rdf+xml",
    "text/plain": "application/n-triples",
    "application/xhtml+xml": HTML,
}


def _wanted(request: Request) -> str:
    """HTML for browsers, an RDF type for machines; ``?format=`` overrides ``Accept``."""
    formats = request.query_params.getlist("format")
    if formats:
        if formats[0].lower() in ("html", HTML):
            return HTML
        return negotiate_rdf(None, formats)
    media = negotiate(request.headers.get("accept"), (HTML, *TRIPLE_TYPES), _RDF_ALIASES)
    if media is None:
        return negotiate_rdf(request.headers.get("accept"), None)  # raises 406 with the list
    return media


async def _resource(request: Request, iri: str, store: Store, view: DatasetView) -> Response:
    media = _wanted(request)
    description = await run_in_threadpool(describe, store, view, iri, incoming=media == HTML)
    if not description.found:
        if media == HTML:
            return TEMPLATES.TemplateResponse(request, "not_found.html", {"iri": iri}, status_code=404)
        raise NotFound("no statements about this resource", value=iri)
    if media != HTML:
        return rdf_response(description.triples(), media)
    trajectory = await run_in_threadpool(_trajectory, store, view, description)
    context = {"d": description, "page": request.url.path, **trajectory}
    return TEMPLATES.TemplateResponse(request, "resource.html", context, headers={"Vary": "Accept"})


log = logging.getLogger(__name__)
_PARTICIPANT = "https://w3id.org/hmp/ontology#Participant"
_TRAJECTORY = "participant-trajectory"


def _trajectory(store: Store, view: DatasetView, description: Description) -> dict[str, object]:
    """A participant's activation events in career order, drawn (the ``participant-trajectory``
    question, whose page has them as a table); nothing for any other resource."""
    if not any(t.value == _PARTICIPANT for t in description.types):
        return {}
    query = canned.get(_TRAJECTORY)
    if view.for_reading(predicates_read(query.text)) != (None, None):
        return {}  # it could read withheld transcripts: left to its route
    try:
        result = canned.run(store, _TRAJECTORY, {"participant": description.iri})
        drawn = charts.draw(query, result.terms)
    except (KgError, ValueError) as error:
        log.warning("no trajectory for %s: %s", description.iri, error)
        return {}
    if drawn is None:
        return {}
    pseudonym = next((row["pseudonym"].value for row in result.terms if "pseudonym" in row), None)
    chosen = pseudonym or description.iri  # the question's form lists participants by pseudonym
    link = f"/queries/{_TRAJECTORY}?{urlencode({'participant': chosen, 'format': 'html'})}"
    return {"trajectory": Markup(drawn), "trajectory_link": link}


@router.get("/id/{path:path}", summary="A resource of the knowledge graph (HTML or RDF by Accept)")
async def resource(
    request: Request, path: str, store: Store = Depends(get_store), view: DatasetView = Depends(get_view)
) -> Response:
    return await _resource(request, ID_BASE + path, store, view)


@router.get("/ontology/{term}", summary="One ontology term (HTML or RDF by Accept)")
async def ontology_term(
    request: Request, term: str, store: Store = Depends(get_store), view: DatasetView = Depends(get_view)
) -> Response:
    return await _resource(request, ONTOLOGY_NS + term, store, view)


@dataclass
class _Term:
    local: str
    label: str | None
    definition: str | None


_SECTIONS = {
    "http://www.w3.org/2002/07/owl#Class": "Classes",
    "http://www.w3.org/2002/07/owl#ObjectProperty": "Object properties",
    "http://www.w3.org/2002/07/owl#DatatypeProperty": "Datatype properties",
    "http://www.w3.org/2004/02/skos/core#ConceptScheme": "Concept schemes",
    "http://www.w3.org/2004/02/skos/core#Concept": "Concepts",
}


def _ontology_page(store: Store) -> dict[str, object]:
    sections: dict[str, list[_Term]] = {name: [] for name in _SECTIONS.values()}
    for row in store.select(sparql("ontology-terms")):
        section = _SECTIONS[row["kind"].value]
        label, definition = row.get("label"), row.get("definition")
        sections[section].append(
            _Term(
                row["term"].value[len(ONTOLOGY_NS) :],
                label.value if label is not None else None,
                definition.value if definition is not None else None,
            )
        )
    header = describe(store, DatasetView((), frozenset()), ONTOLOGY_IRI, incoming=False)
    title = next(
        (s.object.value for s in header.statements if s.predicate.value.endswith("/title")),
        "HMP ontology",
    )
    return {
        "title": title,
        "description": header.definition,
        "sections": [(name, terms) for name, terms in sections.items() if terms],
    }


@router.get("/ontology", summary="The whole ontology (HTML, Turtle, JSON-LD, RDF/XML, N-Triples)")
async def ontology(request: Request, store: Store = Depends(get_store)) -> Response:
    media = _wanted(request)
    if media == HTML:
        context = await run_in_threadpool(_ontology_page, store)
        return TEMPLATES.TemplateResponse(request, "ontology.html", context, headers={"Vary": "Accept"})
    if ONTOLOGY_GRAPH not in store.graph_names():
        raise NotFound("the ontology is not loaded in the store", value=ONTOLOGY_GRAPH)
    body = await run_in_threadpool(store.dump, None, media_type=media, graph=ONTOLOGY_GRAPH)
    charset = "; charset=utf-8" if media.startswith("text/") or media.endswith("json") else ""
    return Response(body or b"", media_type=media + charset, headers={"Vary": "Accept"})
