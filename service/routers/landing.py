"""``/``: what the dataset is, each research question with its result table, and YASGUI with the
catalogue as example tabs (served from ``/static/vendor``, no CDN)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from kg import charts
from kg import queries as canned
from kg.errors import KgError
from kg.sparql_reads import predicates_read
from service.dataset import DatasetView
from service.dependencies import Services, get_services, get_view
from service.tables import cell, columns_for_people
from service.templating import TEMPLATES

router = APIRouter(tags=["pages"])
log = logging.getLogger(__name__)

MAX_ROWS = 25
CACHE_SECONDS = 30.0


@dataclass
class Question:
    query: canned.CannedQuery
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    total: int = 0
    error: str | None = None
    note: str | None = None
    #: the answer drawn as its ``#+ chart:`` hint says (``kg.charts``), if it draws one
    chart: Markup | None = None


def _questions(services: Services, view: DatasetView) -> list[Question]:
    questions = []
    for query in canned.catalogue():
        question = Question(query)
        if any(p.required and p.default is None for p in query.params) or query.form != "select":
            question.note = "takes a parameter: choose it on the question's page"
            questions.append(question)
            continue
        # The answers here are computed on the whole store: a question that could read a
        # withheld graph (verbatim transcripts) is left to its route, which keeps them out.
        if view.for_reading(predicates_read(query.text)) != (None, None):
            question.note = "may read withheld transcripts: its page runs it without them"
            questions.append(question)
            continue
        try:
            result = canned.run(services.store, query.name, timeout=services.settings.query_timeout)
        except KgError as error:
            question.error = str(error)
            questions.append(question)
            continue
        question.columns = columns_for_people(result.variables)
        question.total = len(result.terms)
        question.rows = [[cell(row.get(c)) for c in question.columns] for row in result.terms[:MAX_ROWS]]
        question.chart = _chart(query, result.terms)
        questions.append(question)
    return questions


def _chart(query: canned.CannedQuery, rows: list[Any]) -> Markup | None:
    """The answer drawn as the query's ``#+ chart:`` hint says; None (and a warning in the log)
    for a hint that cannot be drawn: the table is still there."""
    if not query.chart:
        return None
    try:
        drawn = charts.draw(query, rows)
        return None if drawn is None else Markup(drawn)
    except ValueError as error:
        log.warning("query %s: %s", query.name, error)
        return None


_LOCK = threading.Lock()


def _cached_questions(request: Request, services: Services, view: DatasetView) -> list[Question]:
    """The questions with their answers, computed once per version of the data.

    An embedded store names its version (``ViewCache.state``: changed by every build or
    committed write), so the answers are kept until it changes: at 100x running the catalogue
    takes ~3 s, which a visitor would otherwise wait for every ``CACHE_SECONDS``. A remote store
    names none: there the answers live ``CACHE_SECONDS``. One request computes them while others
    wait."""
    state = services.views.state()

    def fresh() -> list[Question] | None:
        cached = getattr(request.app.state, "landing_cache", None)
        if cached is None or cached[0] != view or cached[1] != state:
            return None
        if state is None and time.monotonic() - cached[2] >= CACHE_SECONDS:
            return None
        return cached[3]  # type: ignore[no-any-return]

    questions = fresh()
    if questions is not None:
        return questions
    with _LOCK:
        questions = fresh()  # computed by the request this one waited for
        if questions is None:
            questions = _questions(services, view)
            request.app.state.landing_cache = (view, state, time.monotonic(), questions)
        return questions


def warm(app: Any) -> threading.Thread:
    """Compute the landing page's answers in the background (at start-up), so that the first
    visitor does not wait for them: at 100x running the catalogue takes ~5.6 s."""

    def run() -> None:
        try:
            services: Services = app.state.services
            _cached_questions(_AppRequest(app), services, services.views.get())  # type: ignore[arg-type]
        except Exception as error:  # a visitor will compute them, and see any error
            log.warning("could not compute the landing page's answers ahead: %s", error)

    thread = threading.Thread(target=run, name="hmp-landing-warm", daemon=True)
    thread.start()
    return thread


@dataclass
class _AppRequest:
    """What ``_cached_questions`` reads of a request: the application, for its state."""

    app: Any


@router.get("/", summary="Landing page", include_in_schema=False)
async def landing(
    request: Request, services: Services = Depends(get_services), view: DatasetView = Depends(get_view)
) -> Response:
    questions = await run_in_threadpool(_cached_questions, request, services, view)
    tabs = [{"name": q.query.name, "query": q.query.text} for q in questions]
    triples = await run_in_threadpool(services.views.count)  # kept per version: 0.8 s at 100x
    return TEMPLATES.TemplateResponse(
        request,
        "landing.html",
        {
            "studies": view.studies,
            "questions": questions,
            "tabs": tabs,
            "triples": triples,
            "graphs": len(view.served),
            "withheld": len(view.hidden),
        },
    )
