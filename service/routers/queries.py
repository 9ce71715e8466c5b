"""Canned research-question queries: ``/queries`` (the catalogue) and ``/queries/{name}``.

One route per canned query is added at app creation (``add_canned_routes``), so the OpenAPI
document lists each query with its summary, description and parameters; all of them share the
module-level handler ``run_canned``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pyoxigraph as ox
from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from kg import charts
from kg import queries as canned
from kg.concepts import concept_index
from kg.errors import QueryError
from kg.sparql_reads import predicates_read
from service.answers import Rendering, answer
from service.dataset import DatasetView
from service.dependencies import Services, get_services, get_view
from service.errors import MalformedQuery, NotAcceptable, NotFound
from service.executor import QueryJob
from service.protocol import choose_media_type, negotiate, offered_types
from service.results import results_of
from service.tables import cell, columns_for_people
from service.templating import TEMPLATES

router = APIRouter(tags=["canned queries"])

#: Query-string names that are options of the route, not parameters of the query.
RESERVED = {"format"}
#: What a canned SELECT answers in.
_CANNED_TYPES = ("application/sparql-results+json", "text/csv")
#: ... and its chart (``kg.charts``), for a query whose ``#+ chart:`` hint draws one
SVG = "image/svg+xml"
#: ... and a page for people (a browser's Accept): the parameters as a form, the chart, the table
HTML = "text/html"
NTRIPLES = "application/n-triples"
#: what a resource is called on a page, from the answer's own triples
_LABELS = ("http://www.w3.org/2004/02/skos/core#prefLabel", "http://www.w3.org/2000/01/rdf-schema#label")
#: the most rows a page shows (all of them are in the JSON and CSV it links to)
PAGE_ROWS = 500
#: what each canned query can read (``predicates_read``), by query text; _UNKNOWN until parsed
_READS: dict[str, frozenset[str] | None] = {}
_UNKNOWN = frozenset({"?"})


def describe(query: canned.CannedQuery, request: Request | None = None) -> dict[str, Any]:
    """The catalogue entry of one query, as JSON."""
    return {
        "name": query.name,
        "iri": query.iri,
        "summary": query.summary,
        "description": query.description,
        "tags": list(query.tags),
        "claim": query.claim,
        "section": query.section,
        "chart": query.chart,
        "form": query.form,
        "params": [
            {
                "name": p.name,
                "type": p.type,
                "scheme": p.scheme,
                "default": p.default,
                "required": p.required and p.default is None,
                "values": list(p.enumeration) or (canned.accepted_values(p) if p.type == "concept" else []),
            }
            for p in query.params
        ],
        "url": f"/queries/{query.name}",
        "sparql": query.text,
    }


@router.get("/queries", summary="The catalogue of canned research-question queries")
def list_queries() -> JSONResponse:
    return JSONResponse({"queries": [describe(q) for q in canned.catalogue()]})


def _bindings(
    query: canned.CannedQuery, params: dict[str, str], services: Services
) -> tuple[tuple[str, str, str, str], ...]:
    """The parameters as RDF terms for the job (bound by the engine, never spliced into text)."""
    return QueryJob.encode_bindings(canned.bind(query, params, services.store))


async def run_canned(
    request: Request, services: Services = Depends(get_services), view: DatasetView = Depends(get_view)
) -> Response:
    """Run the canned query named by the path, parameters from the query string.

    It runs like any query of ``/sparql``: through the executor (the worker processes whose
    timeout really stops a query) over the served dataset (restricted full text withheld), and
    the answer is the serialisation the executor produced.
    """
    name = request.url.path.rstrip("/").rsplit("/", 1)[-1]
    try:
        query = canned.get(name)
    except QueryError as error:
        raise NotFound(str(error)) from error
    query_params = request.query_params
    params = {k: v for k, v in query_params.items() if k not in RESERVED}
    formats = query_params.getlist("format")
    form = "construct" if query.form == "construct" else "select"
    view_type = _view_wanted(form, formats, request.headers.get("accept"))
    rendering: Rendering | None = None
    if view_type == SVG:
        rendering = _chart_rendering(query)
    elif view_type == HTML:
        fields = await run_in_threadpool(_fields, query, params, services)
        missing = [f.name for f in fields if not f.selected]
        if missing:  # nothing to run yet: the form alone
            return HTMLResponse(_page(query, fields, missing, [], [], None, {}))
        rendering = (
            _page_rendering(query, fields) if form == "select" else _graph_page_rendering(query, fields)
        )
    if rendering is None:
        media_type = choose_media_type(form, request.headers.get("accept"), formats)
    else:  # made from the answer in a form that is quick to read back
        media_type = _CANNED_TYPES[0] if form == "select" else NTRIPLES
    if media_type is None:
        raise NotAcceptable(
            f"canned query '{name}' answers in SPARQL results JSON or CSV"
            if form == "select"
            else f"canned query '{name}' answers in an RDF format",
            value=", ".join(formats) or request.headers.get("accept"),
        )
    if form == "select" and media_type not in _CANNED_TYPES:
        raise NotAcceptable("canned queries answer in JSON or CSV", value=media_type)
    bindings: tuple[tuple[str, str, str, str], ...] = ()
    try:
        if any(p.type != "concept" for p in query.params):  # a participant is looked up in the store
            bindings = await run_in_threadpool(_bindings, query, params, services)
        elif params or query.params:  # concepts resolve from the ontology's index: no I/O, no hop
            bindings = _bindings(query, params, services)
    except QueryError as error:
        raise MalformedQuery(str(error)) from error
    reads = _READS.get(query.text, _UNKNOWN)
    if reads is _UNKNOWN:  # parsed once per query (~40 ms with rdflib): off the event loop
        reads = _READS[query.text] = await run_in_threadpool(predicates_read, query.text)
    default, named = view.for_reading(reads)
    job = QueryJob(query.text, media_type, default, named, services.settings.max_results, bindings)
    return await answer(request, services, job, rendering)


def _view_wanted(form: str, formats: list[str], accept: str | None) -> str | None:
    """SVG or HTML when asked for: ``format=svg|html`` (or the media type), or an ``Accept`` that
    prefers one of them to the answer's own formats (a browser's prefers HTML, an ``<img>``
    element's SVG; ``*/*`` gets the answer). A CONSTRUCT has a page but no chart. None: the
    answer itself."""
    views = (
        {"svg": SVG, SVG: SVG, "html": HTML, HTML: HTML} if form == "select" else {"html": HTML, HTML: HTML}
    )
    if formats:
        return views.get(formats[0].strip().lower())
    answers = _CANNED_TYPES if form == "select" else offered_types(form)
    chosen = negotiate(accept, (*answers, *dict.fromkeys(views.values())))
    return chosen if chosen in views.values() else None


@dataclass(frozen=True)
class _Field:
    """One parameter on a question's page: its options (value, label) and the one chosen."""

    name: str
    options: tuple[tuple[str, str], ...]
    selected: str | None


def _fields(query: canned.CannedQuery, params: dict[str, str], services: Services) -> list[_Field]:
    """The query's parameters as form fields, chosen as given (or by default). A concept is
    chosen by the concept the value names, whatever its spelling."""
    labels = concept_index().concepts
    fields = []
    for p in query.params:
        given = params.get(p.name, p.default)
        if p.type != "concept":
            pseudonyms = canned.accepted_values(p, services.store)
            fields.append(_Field(p.name, tuple((v, v) for v in pseudonyms), given))
            continue
        iris = {
            value: canned.resolve(p, value).value for value in (p.enumeration or canned.accepted_values(p))
        }
        options = tuple((value, labels[iri].label if iri in labels else value) for value, iri in iris.items())
        try:
            wanted = canned.resolve(p, given).value if given is not None else None
        except QueryError:  # refused when the query is bound, with the accepted values
            wanted = None
        chosen = next((value for value, iri in iris.items() if iri == wanted), given)
        fields.append(_Field(p.name, options, chosen))
    return fields


def _links(query: canned.CannedQuery, fields: list[_Field], kinds: tuple[str, ...]) -> dict[str, str]:
    """The same question, asked the same way, in each of ``kinds`` (format names)."""
    chosen = [(f.name, f.selected) for f in fields if f.selected]
    return {kind: f"/queries/{query.name}?{urlencode([*chosen, ('format', kind)])}" for kind in kinds}


def _page(
    query: canned.CannedQuery,
    fields: list[_Field],
    missing: list[str],
    columns: list[str],
    rows: list[dict[str, object]],
    chart: Markup | None,
    links: dict[str, str],
    graph: Mapping[str, object] | None = None,
) -> str:
    shown = [[cell(row.get(c)) for c in columns] for row in rows[:PAGE_ROWS]]
    return TEMPLATES.get_template("query.html").render(
        query=query,
        fields=fields,
        missing=missing,
        chart=chart,
        columns=columns,
        rows=shown,
        total=len(rows),
        links=links,
        graph=graph,
    )


def _page_rendering(query: canned.CannedQuery, fields: list[_Field]) -> Rendering:
    """The question's page from its JSON answer: the form, the chart, the table."""
    links = _links(query, fields, ("json", "csv", "svg"))
    hint = _hint(query)

    def render(body: bytes) -> bytes:
        variables, rows = results_of(body)
        drawn = charts.render(hint, rows, query.summary) if hint is not None else None
        chart = None if drawn is None else Markup(drawn)
        return _page(query, fields, [], columns_for_people(variables), rows, chart, links).encode()

    # the links are part of the page: one kept page per way of asking
    return Rendering(f"html {links['json']}", HTML, render)


def _graph_page_rendering(query: canned.CannedQuery, fields: list[_Field]) -> Rendering:
    """The page of a CONSTRUCT question: its triples grouped by the resource they describe (in
    the order the answer first names them), each resource and value linked, with the labels the
    answer itself gives."""
    links = _links(query, fields, ("ttl", "jsonld"))

    def render(body: bytes) -> bytes:
        triples = list(ox.parse(body, format=ox.RdfFormat.N_TRIPLES))
        labels = {
            t.subject.value: t.object.value
            for t in triples
            if t.predicate.value in _LABELS and isinstance(t.object, ox.Literal)
        }
        about: dict[str, list[ox.Triple]] = {}
        for t in triples:
            about.setdefault(t.subject.value, []).append(t)
        graph = {"resources": list(about.values()), "labels": labels, "triples": len(triples)}
        return _page(query, fields, [], [], [], None, links, graph).encode()

    return Rendering(f"html {links['ttl']}", HTML, render)


def _chart_rendering(query: canned.CannedQuery) -> Rendering:
    """The query's answer drawn as its ``#+ chart:`` hint says; 406 for a query that draws none."""
    hint = _hint(query)
    if hint is None:
        raise NotAcceptable(
            f"canned query '{query.name}' draws no chart (its hint is '{query.chart}'): ask for JSON or CSV",
            value=SVG,
        )
    drawn = hint  # bound for the closure

    def render(body: bytes) -> bytes:
        return charts.document(drawn, results_of(body)[1], query.summary)

    # opened on its own, an SVG is a document: it may load nothing and run nothing
    return Rendering(
        "svg", SVG, render, (("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'"),)
    )


@router.get("/queries/{name}", summary="Run a canned query by name", include_in_schema=False)
async def run_any(
    request: Request,
    name: str,
    services: Services = Depends(get_services),
    view: DatasetView = Depends(get_view),
) -> Response:
    return await run_canned(request, services, view)


def _openapi_parameters(query: canned.CannedQuery) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for p in query.params:
        schema: dict[str, Any] = {"type": "string"}
        if p.default is not None:
            schema["default"] = p.default
        values = list(p.enumeration) or (canned.accepted_values(p) if p.type == "concept" else [])
        if values:
            schema["enum"] = values
        parameters.append(
            {
                "name": p.name,
                "in": "query",
                "required": p.required and p.default is None,
                "schema": schema,
                "description": (
                    f"a concept of the {p.scheme} scheme (local name, label or IRI)"
                    if p.type == "concept"
                    else "a participant pseudonym or IRI"
                ),
            }
        )
    parameters.append(
        {
            "name": "format",
            "in": "query",
            "required": False,
            "schema": {
                "type": "string",
                "enum": (["json", "csv", *(["svg"] if _draws(query) else []), "html"])
                if query.form != "construct"
                else ["ttl", "jsonld"],
            },
            "description": "Result format, overriding Accept (svg: the answer drawn; html: its page)",
        }
    )
    return parameters


def _hint(query: canned.CannedQuery) -> charts.ChartHint | None:
    """The query's ``#+ chart:`` hint if it draws something (tests check every hint parses)."""
    try:
        return charts.drawn_hint(query.chart)
    except ValueError:
        return None


def _draws(query: canned.CannedQuery) -> bool:
    return _hint(query) is not None


def add_canned_routes(app: FastAPI) -> None:
    """One documented GET route per canned query (all served by ``run_canned``)."""
    for query in canned.catalogue():
        content: dict[str, Any] = (
            {
                "application/sparql-results+json": {},
                "text/csv": {},
                **({SVG: {}} if _draws(query) else {}),
                HTML: {},
            }
            if query.form != "construct"
            else {"text/turtle": {}, "application/ld+json": {}}
        )
        app.add_api_route(
            f"/queries/{query.name}",
            run_canned,
            methods=["GET"],
            name=f"query_{query.name}",
            summary=query.summary,
            description=f"{query.description}\n\n**Claim tested:** {query.claim} ({query.section})",
            tags=["canned queries"],
            openapi_extra={"parameters": _openapi_parameters(query)},
            responses={200: {"content": content, "description": "The query's result"}},
        )
