"""The two busiest GET routes — ``/sparql?query=…`` and ``/queries/NAME`` — dispatched without
the framework's router.

A cheap query costs the service ~1 ms over loopback, and about a third of that was FastAPI's
generic path: matching the path against ~30 routes, solving the handlers' ``Depends`` graph,
and the exception middleware (bench/RESULTS.md). ``FastPath`` sits inside the CORS and server-error
middlewares (so those still apply) and calls the *same* handlers the routes use
(``sparql.sparql_get``, ``queries.run_canned``) with the services taken straight from
``app.state``; any other request, and the service description (``GET /sparql`` without a
query), goes down the normal path. Errors become the same plain-text answers as the app's
exception handler gives them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from kg.errors import KgError
from service.dependencies import Services, get_view
from service.errors import error_response
from service.routers import queries, sparql


class FastPath:
    """ASGI middleware: ``GET /sparql`` with a query and ``GET /queries/<canned name>``."""

    def __init__(self, app: ASGIApp, canned: frozenset[str]) -> None:
        self.app = app
        self.canned_paths = frozenset(f"/queries/{name}" for name in canned)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/sparql":
            if b"query=" not in scope["query_string"]:  # the service description, or no query
                await self.app(scope, receive, send)
                return
            canned = False
        elif path in self.canned_paths:
            canned = True
        else:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        services: Services = scope["app"].state.services
        try:
            if canned:
                response = await queries.run_canned(request, services, await get_view(services))
            else:
                response = await sparql.sparql_get(request, services)
        except KgError as error:
            response = error_response(error)
        await response(scope, receive, send)
