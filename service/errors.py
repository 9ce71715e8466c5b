"""Errors the service turns into HTTP statuses (each a ``kg.errors.KgError``)."""

from __future__ import annotations

from starlette.responses import PlainTextResponse

from kg.errors import KgError


class ServiceError(KgError):
    """A request the service refuses or cannot answer; ``status`` is the HTTP status code."""

    status = 500


class MalformedQuery(ServiceError):
    """The request string is not valid SPARQL (the parser's message and position are kept)."""

    status = 400

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None) -> None:
        self.line = line
        self.column = column
        super().__init__(message)


class ResultTooLarge(ServiceError):
    """More result rows/triples than the configured maximum."""

    status = 400


class QueryTooLong(ServiceError):
    """The query text is longer than the configured maximum (413 in a body, 414 in a URL)."""

    status = 413


class QueryTimedOut(ServiceError):
    """The query ran out of time and was stopped, or no query worker became free in time."""

    status = 503


class QueryOutOfMemory(ServiceError):
    """The query needed more memory than a query worker may use, and its worker was stopped."""

    status = 503


class Forbidden(ServiceError):
    """Updates without the bearer token, or a restricted graph asked for by name."""

    status = 403


class NotAcceptable(ServiceError):
    """No result format the client accepts exists for this query form."""

    status = 406


class NotFound(ServiceError):
    status = 404


def error_response(error: Exception) -> PlainTextResponse:
    """The plain-text answer for ``error``: its message and status (400 for other KgErrors)."""
    status = error.status if isinstance(error, ServiceError) else 400
    return PlainTextResponse(str(error) + "\n", status_code=status)
