"""Validators (``ETag``, ``If-None-Match`` → ``304``) for what the service derives from the store.

On the embedded store a page is a function of the store's version (``ViewCache.version``),
the code that renders it, the settings, and the request (path, query string, ``Accept``, host).
So its validator can be computed *before* the page is: ``Validators`` answers a matching
``If-None-Match`` with ``304 Not Modified`` without describing the resource or counting graphs
(a participant's page at 100x: ~23 ms), and adds the ``ETag`` (with ``Cache-Control: no-cache``:
reuse, but ask first) to every other ``200``. It covers the linked-data pages (``/id/…``,
``/ontology…``), VoID, the service description (``GET /sparql`` without a query) and the
catalogue (``/queries``); query answers get theirs in ``service.answers``. The landing page and
``/health`` have none: they show work in progress and the server's state.

A remote store, or a plain pyoxigraph directory, names no version: no validator is given.
"""

from __future__ import annotations

import hashlib
import os
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import kg
from kg import __version__
from kg._paths import QUERIES_DIR
from service.settings import Settings

SERVICE_DIR = Path(__file__).resolve().parent
KG_DIR = Path(kg.__file__).resolve().parent


@cache
def code_fingerprint() -> str:
    """What the running code renders with: the service's own modules, templates and the queries
    it runs (not ``static/``: pages only link to those files, which have validators of their own),
    the ``kg`` package the pages and answers are made with, the canned-query catalogue
    (``/queries`` shows its texts), and the versions of the packages that serialise answers.
    A few ms, once."""
    digest = hashlib.blake2b(digest_size=12)
    for name in ("pyoxigraph", "rdflib", "jinja2"):
        try:
            digest.update(f"{name}={version(name)};".encode())
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            digest.update(f"{name}=?;".encode())
    digest.update(__version__.encode())
    for root in (SERVICE_DIR, KG_DIR, QUERIES_DIR):
        files: list[Path] = []
        for directory, subdirectories, names in os.walk(root):
            subdirectories[:] = [d for d in subdirectories if d not in ("static", "__pycache__")]
            files += (Path(directory, name) for name in names)
        for path in sorted(files):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def weak_etag(*parts: object) -> str:
    """A weak validator over ``parts`` and the running code."""
    digest = hashlib.blake2b(repr((code_fingerprint(), parts)).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): ``*`` or any listed tag equal once ``W/`` is ignored."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def settings_part(settings: Settings) -> tuple[object, ...]:
    """The settings a page or an answer can show (not the update token itself)."""
    return (
        settings.public_base,
        settings.serve_fulltext,
        settings.max_results,
        settings.query_timeout,
        settings.max_query_length,
        settings.update_token is not None,
        settings.store_url,
    )


def _validated(path: str, query_string: bytes) -> bool:
    if path.startswith(("/id/", "/ontology", "/.well-known/void")) or path == "/queries":
        return True
    return path == "/sparql" and b"query=" not in query_string


class Validators:
    """ASGI middleware: ``ETag`` and ``304`` for the pages ``_validated`` names (see the module)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        code_fingerprint()  # at start-up, not in the first request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"  # HEAD arrives as GET (protocol.HeadAsGet)
            or not _validated(scope["path"], scope["query_string"])
        ):
            await self.app(scope, receive, send)
            return
        services = getattr(scope["app"].state, "services", None)
        state = services.views.version() if services is not None else None
        if services is None or not isinstance(state, str):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        etag = weak_etag(
            state,
            settings_part(services.settings),
            scope["path"],
            scope["query_string"],
            headers.get("accept"),
            headers.get("host"),
            scope.get("scheme"),
            scope.get("root_path"),
        )
        if matches(headers.get("if-none-match"), etag):
            await send(
                {
                    "type": "http.response.start",
                    "status": 304,
                    "headers": [
                        (b"etag", etag.encode()),
                        (b"cache-control", b"no-cache"),
                        (b"vary", b"Accept"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return

        async def send_with_etag(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 200:
                given = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(b"etag", etag.encode())]
                if b"cache-control" not in given:
                    extra.append((b"cache-control", b"no-cache"))
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_etag)
