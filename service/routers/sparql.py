"""SPARQL 1.1 Protocol at ``/sparql``: query via GET and POST, negotiation, service description,
updates only with the bearer token."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from kg.errors import StoreError
from kg.store import Store
from service.answers import answer
from service.dataset import DatasetView
from service.dependencies import Services, get_services, get_settings, get_view
from service.errors import Forbidden, MalformedQuery, NotAcceptable, QueryTooLong, ServiceError
from service.executor import QueryJob
from service.protocol import choose_media_type, offered_types, operation_of
from service.rdf import negotiate_rdf, rdf_response
from service.service_description import service_description
from service.settings import Settings

router = APIRouter(tags=["SPARQL 1.1 Protocol"])

_FORM = "application/x-www-form-urlencoded"


async def _answer_query(
    request: Request,
    services: Services,
    view: DatasetView,
    text: str,
    default_graphs: list[str],
    named_graphs: list[str],
    format_param: list[str],
) -> Response:
    settings = services.settings
    operation = operation_of(text)
    if operation.is_update:
        _authorize(request, settings)
        raise MalformedQuery(
            "an update was sent as a query; send it as 'update' or application/sparql-update"
        )
    if operation.form is None:
        raise MalformedQuery(
            "malformed SPARQL query: no SELECT, ASK, CONSTRUCT or DESCRIBE found",
        )
    media_type = choose_media_type(operation.form, request.headers.get("accept"), format_param)
    if media_type is None:
        raise NotAcceptable(
            f"no acceptable format for a {operation.form.upper()} result",
            value=", ".join(format_param) or request.headers.get("accept"),
            expected=", ".join(offered_types(operation.form)),
        )
    default, named = view.resolve(default_graphs, named_graphs)
    return await answer(request, services, QueryJob(text, media_type, default, named, settings.max_results))


def _authorize(request: Request, settings: Settings) -> None:
    token = settings.update_token
    if not token:
        raise Forbidden("this endpoint is read-only: SPARQL Update is disabled")
    given = request.headers.get("authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        raise Forbidden("SPARQL Update needs the header 'Authorization: Bearer <token>'")


async def _answer_update(request: Request, services: Services, text: str) -> Response:
    _authorize(request, services.settings)
    store: Store = services.store
    try:
        await run_in_threadpool(store.update, text)
    except StoreError as error:
        raise MalformedQuery(str(error)) from error
    services.views.invalidate()  # the query workers see the write by themselves
    return Response(status_code=204)


def _check_length(text: str, settings: Settings, *, in_url: bool) -> None:
    if len(text) > settings.max_query_length:
        error = QueryTooLong(
            f"the query has {len(text)} characters, more than the {settings.max_query_length} "
            "this endpoint accepts"
        )
        error.status = 414 if in_url else 413
        raise error


def _string(name: str, description: str, *, many: bool = False) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "array", "items": {"type": "string"}} if many else {"type": "string"}
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_GET_PARAMETERS = [
    _string("query", "A SPARQL 1.1 query (none: the service description)"),
    _string("default-graph-uri", "A graph of the default graph (repeatable)", many=True),
    _string("named-graph-uri", "A named graph of the dataset (repeatable)", many=True),
    _string("format", "Result format overriding Accept: json, xml, csv, tsv, ttl, nt, jsonld, ..."),
]


@router.get(
    "/sparql",
    summary="SPARQL query (GET), or the service description when no query is given",
    responses={
        200: {
            "content": {t: {} for t in (*offered_types("select"), *offered_types("construct"))},
            "description": "Query results, negotiated by query form and Accept (or format=).",
        },
        400: {"description": "Malformed query: the parser's message with line and column."},
        403: {"description": "Update without the bearer token, or a restricted graph."},
        406: {"description": "No acceptable result format for this query form."},
        414: {"description": "Query longer than the configured maximum."},
        503: {"description": "The query ran out of time and was stopped."},
    },
    openapi_extra={"parameters": _GET_PARAMETERS},
)
async def sparql_get(request: Request, services: Services = Depends(get_services)) -> Response:
    # The query string is read directly, not declared as FastAPI parameters: validating eight
    # declared parameters and three dependencies cost more than the rest of a cheap query. The
    # OpenAPI document still lists the parameters (``_GET_PARAMETERS``).
    params = request.query_params
    if "update" in params:
        _authorize(request, services.settings)
        raise ServiceError("SPARQL Update must be sent with POST", expected="POST /sparql")
    view = await get_view(services)
    query = params.get("query")
    if query is None:
        media_type = negotiate_rdf(request.headers.get("accept"), _format_values(request))
        base = services.settings.public_base or str(request.base_url).rstrip("/")
        graph = await run_in_threadpool(service_description, services, view, base)  # counts triples
        return rdf_response(graph, media_type)
    _check_length(query, services.settings, in_url=True)
    return await _answer_query(
        request,
        services,
        view,
        query,
        params.getlist("default-graph-uri"),
        params.getlist("named-graph-uri"),
        _format_values(request),
    )


def _format_values(request: Request, fields: dict[str, list[str]] | None = None) -> list[str]:
    """Every ``format``/``output`` value, from a form body if any, then from the URL."""
    values: list[str] = []
    for source in (fields or {},):
        values += source.get("format", []) + source.get("output", [])
    return values + request.query_params.getlist("format") + request.query_params.getlist("output")


@router.post(
    "/sparql",
    summary="SPARQL query or update (POST: form, application/sparql-query, application/sparql-update)",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/sparql-query": {"schema": {"type": "string"}},
                "application/sparql-update": {"schema": {"type": "string"}},
                _FORM: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "query": {"type": "string"},
                            "update": {"type": "string"},
                            "default-graph-uri": {"type": "array", "items": {"type": "string"}},
                            "named-graph-uri": {"type": "array", "items": {"type": "string"}},
                        },
                    }
                },
            }
        }
    },
)
async def sparql_post(
    request: Request,
    services: Services = Depends(get_services),
    view: DatasetView = Depends(get_view),
    settings: Settings = Depends(get_settings),
) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    # Refuse oversized bodies before decoding them (4 bytes per character at most in UTF-8,
    # plus room for form encoding and the other parameters).
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_query_length * 12 + 8192:
        _check_length("x" * (settings.max_query_length + 1), settings, in_url=False)
    body = (await request.body()).decode("utf-8", errors="replace")
    url_params = request.query_params
    format_param = _format_values(request)
    if content_type == _FORM:
        fields = parse_qs(body, keep_blank_values=True)
        format_param = _format_values(request, fields)
        default_graphs = fields.get("default-graph-uri", []) + url_params.getlist("default-graph-uri")
        named_graphs = fields.get("named-graph-uri", []) + url_params.getlist("named-graph-uri")
        if "update" in fields:
            _check_length(fields["update"][0], settings, in_url=False)
            return await _answer_update(request, services, fields["update"][0])
        if "query" not in fields:
            raise MalformedQuery("the form has neither a 'query' nor an 'update' field")
        text = fields["query"][0]
    elif content_type == "application/sparql-query":
        text = body
        default_graphs = url_params.getlist("default-graph-uri")
        named_graphs = url_params.getlist("named-graph-uri")
    elif content_type == "application/sparql-update":
        _check_length(body, settings, in_url=False)
        return await _answer_update(request, services, body)
    else:
        error = ServiceError(
            "unsupported request body",
            value=content_type or None,
            expected=f"{_FORM}, application/sparql-query or application/sparql-update",
        )
        error.status = 415
        raise error
    _check_length(text, settings, in_url=False)
    return await _answer_query(request, services, view, text, default_graphs, named_graphs, format_param)
