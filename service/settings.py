"""Service settings, read once from environment variables (``HMP_*``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from kg._paths import DEFAULT_STORE
from kg.errors import ConfigError
from kg.store import is_endpoint_url


def _env_float(name: str, default: float, *, minimum: float = 0.0, above: bool = False) -> float:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not (number > minimum if above else number >= minimum):  # also NaN
        bound = f"above {minimum:g}" if above else f"{minimum:g} or more"
        raise ConfigError(f"{name} is not a usable number", value=value, expected=f"a number {bound}")
    return number


def _env_int(name: str, default: int, *, minimum: int = 0) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ConfigError(
            f"{name} is not a usable whole number", value=value, expected=f"a whole number, {minimum} or more"
        )
    return number


def _env_url(name: str) -> str | None:
    value = os.environ.get(name) or None
    if value is not None and not is_endpoint_url(value):
        raise ConfigError(
            f"{name} is not the http(s) URL of a SPARQL endpoint",
            value=value,
            expected="e.g. http://127.0.0.1:8890/sparql; a store directory goes in HMP_STORE (--store)",
        )
    return value


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    word = value.strip().lower()
    if word not in _TRUE | _FALSE:
        raise ConfigError(
            f"{name} is neither on nor off", value=value, expected="1/true/yes/on or 0/false/no/off"
        )
    return word in _TRUE


def _env_list(name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = os.environ.get(name)
    if value is None:
        return default
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """Everything the service can be configured with. ``from_env`` reads the ``HMP_*`` variables."""

    #: Embedded store directory (``HMP_STORE``); ignored when ``store_url`` is set.
    store: Path = DEFAULT_STORE
    #: A remote SPARQL 1.1 endpoint (``HMP_STORE_URL``) instead of the embedded store.
    store_url: str | None = None
    #: Seconds a query may run before it is stopped (``HMP_QUERY_TIMEOUT``).
    query_timeout: float = 10.0
    #: Most result rows (SELECT) or triples (CONSTRUCT/DESCRIBE) returned (``HMP_MAX_RESULTS``).
    max_results: int = 100_000
    #: Longest query accepted, in characters (``HMP_MAX_QUERY_LENGTH``).
    max_query_length: int = 20_000
    #: Origins allowed by CORS (``HMP_CORS_ORIGINS``, comma-separated; empty disables CORS).
    cors_origins: tuple[str, ...] = ("*",)
    #: Methods allowed by CORS (``HMP_CORS_METHODS``).
    cors_methods: tuple[str, ...] = ("GET",)
    #: Bearer token that enables SPARQL Update (``HMP_UPDATE_TOKEN``); unset = read-only.
    update_token: str | None = None
    #: Public base URL of this service, e.g. ``https://kg.example.org`` (``HMP_PUBLIC_BASE``);
    #: unset = taken from each request.
    public_base: str | None = None
    #: Serve the verbatim-transcript graphs of studies that are not ``open`` (``HMP_SERVE_FULLTEXT``).
    serve_fulltext: bool = False
    #: Query worker processes for the embedded store (``HMP_QUERY_WORKERS``).
    query_workers: int = 2
    #: Address space each query worker may use, in MB (``HMP_WORKER_MEMORY_MB``; 0: no cap). A
    #: worker over the 100x store peaks under 1 GB of it (RSS ~0.3 GB) for every canned query.
    worker_memory_mb: int = 4096
    #: A store of at most this many quads is answered from a copy in memory, made once per
    #: version (``HMP_MEMORY_COPY_QUADS``; 0: never): pyoxigraph's in-memory store answers the
    #: 1x example (49k quads) 1.3-2.1x faster than RocksDB, and is no faster from ~500k quads.
    memory_copy_quads: int = 200_000
    #: Studies' metadata cache lifetime in seconds (``HMP_POLICY_TTL``).
    policy_ttl: float = 5.0
    #: Compute the landing page's answers in the background at start-up (``HMP_WARM_LANDING``).
    warm_landing: bool = True
    #: Megabytes of query answers kept per version of the embedded store (``HMP_ANSWER_CACHE_MB``;
    #: 0 keeps none). See ``service.answers``.
    answer_cache_mb: float = 64.0
    #: Answers and pages at least this many bytes long are sent gzip-compressed to clients that
    #: accept it (``HMP_GZIP_MIN_BYTES``; 0: never). Below it, compressing costs more on a fast
    #: network than it saves.
    gzip_min_bytes: int = 128 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            store=Path(os.environ.get("HMP_STORE") or DEFAULT_STORE),
            store_url=_env_url("HMP_STORE_URL"),
            query_timeout=_env_float("HMP_QUERY_TIMEOUT", cls.query_timeout, above=True),
            max_results=_env_int("HMP_MAX_RESULTS", cls.max_results, minimum=1),
            max_query_length=_env_int("HMP_MAX_QUERY_LENGTH", cls.max_query_length, minimum=1),
            cors_origins=_env_list("HMP_CORS_ORIGINS", cls.cors_origins),
            cors_methods=_env_list("HMP_CORS_METHODS", cls.cors_methods),
            update_token=os.environ.get("HMP_UPDATE_TOKEN") or None,
            public_base=(os.environ.get("HMP_PUBLIC_BASE") or "").rstrip("/") or None,
            serve_fulltext=_env_bool("HMP_SERVE_FULLTEXT", cls.serve_fulltext),
            query_workers=_env_int("HMP_QUERY_WORKERS", cls.query_workers),
            worker_memory_mb=_env_int("HMP_WORKER_MEMORY_MB", cls.worker_memory_mb),
            memory_copy_quads=_env_int("HMP_MEMORY_COPY_QUADS", cls.memory_copy_quads),
            policy_ttl=_env_float("HMP_POLICY_TTL", cls.policy_ttl),
            warm_landing=_env_bool("HMP_WARM_LANDING", cls.warm_landing),
            answer_cache_mb=_env_float("HMP_ANSWER_CACHE_MB", cls.answer_cache_mb),
            gzip_min_bytes=_env_int("HMP_GZIP_MIN_BYTES", cls.gzip_min_bytes),
        )
