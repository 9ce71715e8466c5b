"""The landing page's answers are computed once per version of the data, not on a timer."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from service.dataset import DatasetView, ViewCache
from service.routers import landing

HMP = "https://w3id.org/hmp/ontology#"


def _calls(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def questions(services: object, view: object) -> list[landing.Question]:
        calls.append(services)
        return []

    monkeypatch.setattr(landing, "_questions", questions)
    return calls


def test_answers_are_kept_until_the_embedded_store_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg.stores.oxigraph import OxigraphStore

    calls = _calls(monkeypatch)
    monkeypatch.setattr(landing, "CACHE_SECONDS", 0.0)  # a timer would expire at once
    store = OxigraphStore(tmp_path / "store")
    try:
        services = SimpleNamespace(views=ViewCache(store, serve_fulltext=False, ttl=5.0))
        request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()))
        view = DatasetView(graphs=("urn:x:g",), hidden=frozenset())
        for _ in range(3):
            landing._cached_questions(request, services, view)  # type: ignore[arg-type]
        assert len(calls) == 1
        # the view is reloaded every few seconds: an equal one is the same data
        landing._cached_questions(request, services, DatasetView(graphs=("urn:x:g",), hidden=frozenset()))  # type: ignore[arg-type]
        assert len(calls) == 1
        store.update("INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 1 } }")
        landing._cached_questions(request, services, view)  # type: ignore[arg-type]
        assert len(calls) == 2
        landing._cached_questions(request, services, DatasetView(graphs=("urn:x:h",), hidden=frozenset()))  # type: ignore[arg-type]
        assert len(calls) == 3
    finally:
        store.close()


def test_a_store_without_a_version_keeps_answers_for_a_while(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _calls(monkeypatch)
    # like a remote store: no state_token
    services = SimpleNamespace(views=ViewCache(object(), serve_fulltext=False, ttl=5.0))  # type: ignore[arg-type]
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace()))
    view = DatasetView(graphs=(), hidden=frozenset())
    monkeypatch.setattr(landing, "CACHE_SECONDS", 3600.0)
    landing._cached_questions(request, services, view)  # type: ignore[arg-type]
    landing._cached_questions(request, services, view)  # type: ignore[arg-type]
    assert len(calls) == 1
    monkeypatch.setattr(landing, "CACHE_SECONDS", 0.0)
    landing._cached_questions(request, services, view)  # type: ignore[arg-type]
    assert len(calls) == 2


def test_graph_sizes_are_counted_once_per_version_of_the_store(tmp_path: Path) -> None:
    from kg.stores.oxigraph import OxigraphStore

    store = OxigraphStore(tmp_path / "store")
    try:
        store.update("INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 1 , 2 } }")
        views = ViewCache(store, serve_fulltext=False, ttl=5.0)
        counted: list[str] = []
        count = store.count

        def counting(graph: str | None = None) -> int:
            counted.append(str(graph))
            return count(graph)

        store.count = counting  # type: ignore[method-assign]
        assert [views.count("urn:x:g") for _ in range(3)] == [2, 2, 2]
        assert views.count("urn:x:none") == 0
        assert counted == ["urn:x:g", "urn:x:none"]  # each graph counted once
        store.update("INSERT DATA { GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 3 } }")
        assert views.count("urn:x:g") == 3  # a new version of the store: counted again
        assert counted == ["urn:x:g", "urn:x:none", "urn:x:g"]
        assert views.remembered("key", lambda: "first") == "first"
        assert views.remembered("key", lambda: "second") == "first"
        views.invalidate()
        assert views.remembered("key", lambda: "third") == "third"
    finally:
        store.close()


def test_answers_are_computed_ahead_at_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.stores.oxigraph import OxigraphStore

    calls = _calls(monkeypatch)
    store = OxigraphStore(tmp_path / "store")
    try:
        services = SimpleNamespace(views=ViewCache(store, serve_fulltext=False, ttl=5.0))
        app = SimpleNamespace(state=SimpleNamespace(services=services))
        landing.warm(app).join(30)
        assert len(calls) == 1 and app.state.landing_cache[3] == []
        # the first visitor gets them without computing
        request = SimpleNamespace(app=app)
        landing._cached_questions(request, services, services.views.get())  # type: ignore[arg-type]
        assert len(calls) == 1
    finally:
        store.close()


def test_a_question_that_could_read_withheld_transcripts_is_not_answered_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kg import queries
    from kg.stores.oxigraph import OxigraphStore

    reader = tmp_path / "reads-text.rq"
    reader.write_text(
        "#+ summary: Text lengths\n#+ description: d\n#+ claim: c\n#+ section: s\n#+ chart: table\n"
        "SELECT ?t (STRLEN(?text) AS ?n) WHERE { ?t <https://w3id.org/hmp/ontology#fullText> ?text }\n"
    )
    counter = tmp_path / "counts.rq"
    counter.write_text(
        "#+ summary: Triples\n#+ description: d\n#+ claim: c\n#+ section: s\n#+ chart: table\n"
        "SELECT (COUNT(*) AS ?n) WHERE { ?s <urn:x:p> ?o }\n"
    )
    monkeypatch.setattr(
        queries,
        "catalogue",
        lambda directory=None: [queries.parse_query(reader), queries.parse_query(counter)],
    )
    store = OxigraphStore(tmp_path / "store")
    try:
        store.update(
            "INSERT DATA { GRAPH <https://w3id.org/hmp/graph/s/fulltext> { <urn:x:t> "
            "<https://w3id.org/hmp/ontology#fullText> 'secret words' } "
            "GRAPH <urn:x:g> { <urn:x:s> <urn:x:p> 1 } }"
        )
        services = SimpleNamespace(store=store, settings=SimpleNamespace(query_timeout=10.0))
        text = "https://w3id.org/hmp/graph/s/fulltext"
        withheld = DatasetView(
            ("urn:x:g", text), frozenset({text}), hidden_predicates=frozenset({HMP + "fullText"})
        )
        reads, counts = landing._questions(services, withheld)  # type: ignore[arg-type]
        assert reads.note and "withheld" in reads.note and reads.rows == []
        assert counts.rows == [["1"]] and counts.note is None  # cells as the page shows them
        open_view = DatasetView(("urn:x:g", text), frozenset())
        reads, _ = landing._questions(services, open_view)  # type: ignore[arg-type]
        assert reads.note is None and reads.rows == [[{"iri": "urn:x:t"}, "12"]]
    finally:
        store.close()
