"""What the endpoint serves: the studies in the store and which graphs are withheld.

Verbatim transcripts live in ``<B>graph/<S>/fulltext``. Unless a study's ``hmp:accessTier`` is
"open" (or ``HMP_SERVE_FULLTEXT`` is set), that graph is left out of the dataset every query
runs against: the default graph is the merge of the other graphs and only those can be named.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

import pyoxigraph as ox

from kg.errors import KgError
from kg.store import Store
from kg.stores._bind import values_column
from kg.stores.oxigraph import ACTIVE
from service.errors import Forbidden

SPARQL_DIR = Path(__file__).resolve().parent / "sparql"
ID_BASE = "https://w3id.org/hmp/id/"
GRAPH_BASE = "https://w3id.org/hmp/graph/"
ONTOLOGY_NS = "https://w3id.org/hmp/ontology#"
ONTOLOGY_IRI = "https://w3id.org/hmp/ontology"
ONTOLOGY_GRAPH = "https://w3id.org/hmp/graph/ontology"
FULLTEXT_PART = "fulltext"


@cache
def sparql(name: str) -> str:
    """The service's own query ``service/sparql/<name>.rq``."""
    return (SPARQL_DIR / f"{name}.rq").read_text(encoding="utf-8")


def _text(term: object) -> str | None:
    return term.value if isinstance(term, ox.NamedNode | ox.Literal) else None


@dataclass(frozen=True)
class Study:
    iri: str
    title: str | None = None
    description: str | None = None
    license: str | None = None
    access_tier: str | None = None
    synthetic: bool | None = None
    temporal: str | None = None

    @property
    def open(self) -> bool:
        return (self.access_tier or "").strip().lower() == "open"


def study_of_fulltext_graph(graph: str) -> str | None:
    """``<B>graph/<S>/fulltext`` → ``<B>id/<S>``; None for any other graph."""
    head, sep, part = graph.rpartition("/")
    if not sep or part != FULLTEXT_PART:
        return None
    base_graph, sep, study = head.rpartition("/")
    if not sep or not base_graph.endswith("graph") or not study:
        return None
    return base_graph[: -len("graph")] + "id/" + study


@dataclass(frozen=True)
class DatasetView:
    """A snapshot of the store's graphs and studies, and which graphs are withheld."""

    graphs: tuple[str, ...]
    hidden: frozenset[str]
    studies: tuple[Study, ...] = field(default=())
    #: the predicates of the triples in the withheld graphs (``hmp:fullText`` as the lifter
    #: writes them); None when not known
    hidden_predicates: frozenset[str] | None = frozenset()

    @property
    def served(self) -> tuple[str, ...]:
        return tuple(g for g in self.graphs if g not in self.hidden)

    def resolve(
        self, default_graphs: Sequence[str], named_graphs: Sequence[str]
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """The dataset for one query from the request's default-graph-uri / named-graph-uri.

        Returns (default, named); None means the store's union / all graphs (nothing withheld).
        """
        asked = [g for g in (*default_graphs, *named_graphs) if g in self.hidden]
        if asked:
            raise Forbidden(
                "this graph holds verbatim transcripts of a study whose access tier is not open",
                value=asked[0],
                expected="one of the graphs listed in the service description",
            )
        if default_graphs or named_graphs:
            # SPARQL 1.1 Protocol: a dataset given in the request replaces the default one.
            return tuple(default_graphs), tuple(named_graphs)
        if not self.hidden:
            return None, None
        return self.served, self.served

    def for_reading(
        self, predicates: frozenset[str] | None
    ) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
        """The dataset for a query of ours that can only match triples with these predicates
        (``kg.sparql_reads.predicates_read``; None: any triple).

        When none of them occurs in a withheld graph, the query gives the same answer on the
        union of all graphs, which pyoxigraph evaluates faster than a list of graphs
        (turning-points at 1x 5.2 -> 3.9 ms): (None, None). Otherwise the served graphs, as
        ``resolve`` gives them."""
        if (
            self.hidden
            and predicates is not None
            and self.hidden_predicates is not None
            and predicates.isdisjoint(self.hidden_predicates)
        ):
            return None, None
        return self.resolve((), ())


def load_view(store: Store, *, serve_fulltext: bool) -> DatasetView:
    graphs = tuple(store.graph_names())
    studies = tuple(
        Study(
            iri=row["study"].value,
            title=_text(row.get("title")),
            description=_text(row.get("description")),
            license=_text(row.get("license")),
            access_tier=_text(row.get("tier")),
            synthetic=(_text(row.get("synthetic")) or "").lower() in {"true", "1"}
            if row.get("synthetic") is not None
            else None,
            temporal=_text(row.get("temporal")),
        )
        for row in store.select(sparql("studies"))
    )
    hidden: set[str] = set()
    if not serve_fulltext:
        open_studies = {s.iri for s in studies if s.open}
        for graph in graphs:
            study = study_of_fulltext_graph(graph)
            if study is not None and study not in open_studies:
                hidden.add(graph)
    return DatasetView(graphs, frozenset(hidden), studies, _predicates_in(store, hidden))


def _predicates_in(store: Store, graphs: set[str]) -> frozenset[str] | None:
    """The predicates of the triples in ``graphs``; None when the store cannot tell."""
    if not graphs:
        return frozenset()
    try:
        values = values_column("g", (ox.NamedNode(g) for g in sorted(graphs)))
        rows = store.select(f"SELECT DISTINCT ?p WHERE {{ {values} GRAPH ?g {{ ?s ?p ?o }} }}")
    except (ValueError, KgError):  # a graph name that is no IRI, or a store that cannot tell
        return None
    return frozenset(row["p"].value for row in rows if isinstance(row.get("p"), ox.NamedNode))


#: How long a remote store's derived figures are reused (it names no version to watch)
REMOTE_MEMO_SECONDS = 30.0
T = TypeVar("T")


class ViewCache:
    """``load_view`` remembered for ``ttl`` seconds, and only while the store is unchanged.

    An embedded store tells when it changed (``OxigraphStore.state_token``: one ``readlink``;
    a build switched generations or committed a write), so a view is never served across an
    ``hmp build``; a remote store's view lives its ``ttl``. Dropped after an update through
    the service either way."""

    def __init__(self, store: Store, *, serve_fulltext: bool, ttl: float) -> None:
        self.store = store
        self.serve_fulltext = serve_fulltext
        self.ttl = ttl
        self._lock = threading.Lock()
        self._view: DatasetView | None = None
        self._at = 0.0
        #: The store's version (``OxigraphStore.state_token``); None for a store that names none.
        self.state: Callable[[], object] = getattr(store, "state_token", lambda: None)
        self._view_state: object = None
        self._memo: dict[Hashable, object] = {}
        self._memo_lock = threading.Lock()
        self._memo_state: object = None
        self._memo_at = 0.0
        self._identity: tuple[object, str | None] = (None, None)

    def version(self) -> str | None:
        """The store's version, unique across stores: ``state`` (one ``readlink``), plus the
        active generation directory's inode and creation time, looked up once per new state.
        ``state`` alone starts again at ``gen-1:0`` in a store deleted and built anew, where an
        ETag must not match an answer of the old data. None for a store that names no version."""
        state = self.state()
        if not isinstance(state, str):
            return None
        known, identity = self._identity
        if known != state:
            identity = state
            path = getattr(self.store, "path", None)
            if path is not None:
                with contextlib.suppress(OSError):
                    directory = os.stat(Path(path) / ACTIVE)
                    identity = f"{state}@{directory.st_ino}.{directory.st_ctime_ns}"
            self._identity = (state, identity)
        return identity

    def cached(self) -> DatasetView | None:
        """The remembered view if it is still fresh (never queries the store)."""
        view = self._view
        if view is None or time.monotonic() - self._at > self.ttl or self.state() != self._view_state:
            return None
        return view

    def get(self) -> DatasetView:
        now = time.monotonic()
        with self._lock:
            state = self.state()  # before loading: a change meanwhile makes the next call reload
            if self._view is None or now - self._at > self.ttl or state != self._view_state:
                self._view = load_view(self.store, serve_fulltext=self.serve_fulltext)
                self._at, self._view_state = now, state
            return self._view

    def invalidate(self) -> None:
        with self._lock:
            self._view = None
            self._memo.clear()

    def count(self, graph: str | None = None) -> int:
        """The number of triples in ``graph`` (the whole store: None): the service description,
        VoID, the landing page and /health show sizes, and at 100x the biggest graph takes ~1.5 s
        to count, the whole store 0.8 s."""
        return self.remembered(("count", graph), lambda: self.store.count(graph))

    def remembered(self, key: Hashable, compute: Callable[[], T]) -> T:
        """``compute()``, kept for this version of the store (a remote store's for
        ``REMOTE_MEMO_SECONDS``): what the service derives from the whole dataset."""
        state = self.state()
        now = time.monotonic()
        with self._memo_lock:
            if state != self._memo_state or (state is None and now - self._memo_at > REMOTE_MEMO_SECONDS):
                self._memo.clear()
                self._memo_state, self._memo_at = state, now
            if key in self._memo:
                return self._memo[key]  # type: ignore[return-value]
        value = compute()
        with self._memo_lock:
            if self._memo_state == state:  # not if the store changed while computing
                self._memo[key] = value
        return value
