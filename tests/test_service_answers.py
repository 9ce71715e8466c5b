"""Answers kept per version of the store, the validators (ETag, 304) of answers and pages,
Server-Timing and compression, over a real server; and the cache's own bookkeeping."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from kg.stores.oxigraph import OxigraphStore
from serverfixture import P01, PARTICIPANTS, Server, assert_participants_json, build_store, running_server
from service.answers import AnswerCache
from service.protocol import accepts_gzip

HMP = "https://w3id.org/hmp/ontology#"
METADATA = "https://w3id.org/hmp/graph/svc/metadata"


def versioned_store(path: Path) -> Path:
    """The service fixture in a store with generations, as ``hmp build`` leaves one: only such a
    store names its version (a plain pyoxigraph directory does not, and nothing is kept)."""
    OxigraphStore(build_store(path)).close()
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("answers")
    with running_server(versioned_store(root / "store"), root) as running:
        yield running


def _composition(response: httpx.Response) -> dict[str, int]:
    rows = response.json()["results"]["bindings"]
    return {r["occupationLabel"]["value"]: int(r["n"]["value"]) for r in rows}


def test_a_repeated_canned_query_is_answered_from_the_kept_answer(server: Server) -> None:
    url = f"{server.url}/queries/sample-composition"
    # no-cache first: this module's other tests may already have run the query
    first = httpx.get(url, headers={"Cache-Control": "no-cache"})
    second = httpx.get(url)
    assert _composition(first) == _composition(second) == {"doctor": 1, "nurse": 1}
    assert first.content == second.content
    assert first.headers["server-timing"].startswith("query;dur=")
    assert float(first.headers["server-timing"].split("dur=")[1]) > 0
    assert second.headers["server-timing"] == 'cache;desc="hit"'
    assert first.headers["etag"] == second.headers["etag"]
    assert first.headers["etag"].startswith('W/"')
    assert second.headers["cache-control"] == "no-cache"
    assert second.headers["content-type"].startswith("application/sparql-results+json")


def test_a_chart_is_kept_and_validated_apart_from_the_answer_it_draws(server: Server) -> None:
    url = f"{server.url}/queries/sample-composition"
    plain = httpx.get(url)
    first = httpx.get(url, params={"format": "svg"}, headers={"Cache-Control": "no-cache"})
    second = httpx.get(url, params={"format": "svg"})
    assert first.headers["content-type"] == second.headers["content-type"] == "image/svg+xml"
    assert first.content == second.content and b'<rect class="bar"' in first.content
    assert first.headers["server-timing"].startswith("query;dur=")
    assert second.headers["server-timing"] == 'cache;desc="hit"'  # the drawn chart was kept
    etag = first.headers["etag"]
    assert etag == second.headers["etag"] != plain.headers["etag"]
    assert httpx.get(url, params={"format": "svg"}, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 200  # not the JSON's


def test_health_tells_what_the_cache_of_answers_holds(server: Server) -> None:
    url = f"{server.url}/queries/counterparts"
    before = httpx.get(f"{server.url}/health").json()["answers_kept"]
    httpx.get(url, headers={"Cache-Control": "no-cache"})  # evaluated and kept
    assert httpx.get(url).headers["server-timing"] == 'cache;desc="hit"'
    after = httpx.get(f"{server.url}/health").json()["answers_kept"]
    assert after["enabled"] is True and after["max_bytes"] == 64 * 1024 * 1024
    assert after["hits"] >= before["hits"] + 1
    assert after["answers"] >= 1 and 0 < after["bytes"] <= after["max_bytes"]


def test_if_none_match_with_the_answers_etag_is_304_without_running_the_query(server: Server) -> None:
    url = f"{server.url}/queries/sample-composition"
    etag = httpx.get(url).headers["etag"]
    unchanged = httpx.get(url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    assert "server-timing" not in unchanged.headers
    # the strong form of the same tag, a list holding it, and * match too (weak comparison)
    for given in (etag.removeprefix("W/"), f'"other", {etag}', "*"):
        assert httpx.get(url, headers={"If-None-Match": given}).status_code == 304, given
    other = httpx.get(url, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200
    assert _composition(other) == {"doctor": 1, "nurse": 1}


def test_the_validator_depends_on_the_format_and_the_parameters(server: Server) -> None:
    url = f"{server.url}/queries/evidence"
    json_doctor = httpx.get(url, params={"stage": "awakening", "occupation": "doctor"})
    csv_doctor = httpx.get(url, params={"stage": "awakening", "occupation": "doctor", "format": "csv"})
    json_nurse = httpx.get(url, params={"stage": "awakening", "occupation": "nurse"})
    assert csv_doctor.headers["content-type"].startswith("text/csv")
    etags = {r.headers["etag"] for r in (json_doctor, csv_doctor, json_nurse)}
    assert len(etags) == 3
    # a kept answer is never given for another format or other parameters
    again = httpx.get(url, params={"stage": "awakening", "occupation": "nurse"})
    assert again.headers["server-timing"] == 'cache;desc="hit"'
    assert again.content == json_nurse.content != json_doctor.content
    doctor_rows = json_doctor.json()["results"]["bindings"]
    assert doctor_rows and {r["occupationLabel"]["value"] for r in doctor_rows} == {"doctor"}
    assert json_nurse.json()["results"]["bindings"] == []  # the fixture's nurse has no awakening


def test_no_cache_from_the_client_runs_the_query_again(server: Server) -> None:
    url = f"{server.url}/queries/care-settings"
    httpx.get(url)
    kept = httpx.get(url)
    assert kept.headers["server-timing"] == 'cache;desc="hit"'
    for directive in ("no-cache", "max-age=0, no-store"):
        fresh = httpx.get(url, headers={"Cache-Control": directive})
        assert fresh.headers["server-timing"].startswith("query;dur="), directive
        assert fresh.content == kept.content
        assert fresh.headers["etag"] == kept.headers["etag"]


def test_sparql_get_and_post_answers_are_kept_but_only_get_is_validated(server: Server) -> None:
    accept = {"Accept": "application/sparql-results+json"}
    first = httpx.get(server.sparql, params={"query": PARTICIPANTS}, headers=accept)
    assert_participants_json(first.json())
    etag = first.headers["etag"]
    assert (
        httpx.get(
            server.sparql, params={"query": PARTICIPANTS}, headers={**accept, "If-None-Match": etag}
        ).status_code
        == 304
    )
    posted = httpx.post(
        server.sparql,
        content=PARTICIPANTS,
        headers={**accept, "Content-Type": "application/sparql-query", "If-None-Match": etag},
    )
    assert posted.status_code == 200  # a POST is never answered 304
    assert_participants_json(posted.json())
    assert posted.headers["server-timing"] == 'cache;desc="hit"'  # the same job as the GET
    other_dataset = httpx.get(
        server.sparql,
        params={"query": PARTICIPANTS, "default-graph-uri": METADATA},
        headers={**accept, "If-None-Match": etag},
    )
    assert other_dataset.status_code == 200 and other_dataset.headers["etag"] != etag


def test_a_store_that_names_no_version_gets_no_validator_and_nothing_kept(tmp_path: Path) -> None:
    with running_server(build_store(tmp_path / "plain"), tmp_path) as plain:
        url = f"{plain.url}/queries/sample-composition"
        answers = [httpx.get(url) for _ in range(2)]
        assert _composition(answers[1]) == {"doctor": 1, "nurse": 1}
        assert all("etag" not in a.headers for a in answers)
        assert all(a.headers["server-timing"].startswith("query;dur=") for a in answers)
        kept = httpx.get(f"{plain.url}/health").json()["answers_kept"]
        assert kept["enabled"] is False and kept["answers"] == 0


def test_a_script_on_another_origin_may_revalidate_and_read_the_validator(server: Server) -> None:
    url = f"{server.url}/queries/sample-composition"
    origin = {"Origin": "https://example.org"}
    response = httpx.get(url, headers=origin)
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"etag", "server-timing"} <= exposed
    preflight = httpx.options(
        url,
        headers={
            **origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "if-none-match, cache-control",
        },
    )
    assert preflight.status_code == 200
    allowed = preflight.headers["access-control-allow-headers"].lower()
    assert "if-none-match" in allowed and "cache-control" in allowed


def test_requests_for_an_answer_being_evaluated_wait_for_it_instead_of_running_it_again(
    server: Server,
) -> None:
    # ~0.6 s on the fixture (three products of its ~1,700 triples), so requests sent together
    # overlap; each asks for a fresh answer, which the evaluation under way is
    product = "{ ?a ?b ?c . ?d ?e ?f }"
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ {product} UNION {product} UNION {product} }}"
    barrier = threading.Barrier(4)

    def ask(_: int) -> httpx.Response:
        barrier.wait()
        return httpx.get(
            server.sparql,
            params={"query": query},
            headers={"Accept": "application/sparql-results+json", "Cache-Control": "no-cache"},
            timeout=60,
        )

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    counts = {int(a.json()["results"]["bindings"][0]["n"]["value"]) for a in answers}
    assert len(counts) == 1 and counts.pop() > 1_000_000
    timings = [a.headers["server-timing"] for a in answers]
    assert all(t.startswith("query;dur=") for t in timings), timings
    shared = [t for t in timings if t.endswith('desc="shared"')]
    assert 1 <= len(shared) <= 3, timings  # at least one waited; at least one evaluated


def test_an_error_is_neither_kept_nor_validated(server: Server) -> None:
    bad = httpx.get(server.sparql, params={"query": "SELECT * WHERE { ?s ?p "})
    assert bad.status_code == 400
    assert "etag" not in bad.headers
    again = httpx.get(server.sparql, params={"query": "SELECT * WHERE { ?s ?p "})
    assert again.status_code == 400 and "server-timing" not in again.headers


def test_a_write_changes_the_validator_and_drops_kept_answers(tmp_path: Path) -> None:
    store = build_store(tmp_path / "store")
    ask = f'ASK {{ <{P01}> <{HMP}pseudonym> "Dr X" }}'
    update = f'INSERT DATA {{ GRAPH <{METADATA}> {{ <{P01}> <{HMP}pseudonym> "Dr X" }} }}'
    with running_server(store, tmp_path, update_token="s3cret") as server:
        before = httpx.get(server.sparql, params={"query": ask, "format": "json"})
        assert before.json()["boolean"] is False
        assert (
            httpx.get(server.sparql, params={"query": ask, "format": "json"}).headers["server-timing"]
            == 'cache;desc="hit"'
        )
        done = httpx.post(
            server.sparql,
            content=update,
            headers={"Content-Type": "application/sparql-update", "Authorization": "Bearer s3cret"},
        )
        assert done.status_code == 204
        after = httpx.get(
            server.sparql,
            params={"query": ask, "format": "json"},
            headers={"If-None-Match": before.headers["etag"]},
        )
        assert after.status_code == 200
        assert after.json()["boolean"] is True
        assert after.headers["server-timing"].startswith("query;dur=")
        assert after.headers["etag"] != before.headers["etag"]
        page = httpx.get(f"{server.url}/id/svc/participant/P01", headers={"Accept": "text/turtle"})
        assert "Dr X" in page.text  # the page shows the write, under a validator of its own
        assert page.headers["etag"] not in (before.headers["etag"], after.headers["etag"])


def test_a_store_deleted_and_built_anew_never_matches_an_old_validator(tmp_path: Path) -> None:
    store = tmp_path / "store"
    url_path = "/queries/sample-composition"
    with running_server(versioned_store(store), tmp_path) as first:
        old = httpx.get(first.url + url_path)
        old_page = httpx.get(f"{first.url}/id/svc/participant/P01", headers={"Accept": "text/turtle"})
    state = os.readlink(store / "active" / "hmp-version")
    shutil.rmtree(store)
    # the same fixture plus one more participant: same version token, other data
    extra = tmp_path / "extra.trig"
    extra.write_text(
        f"<{METADATA}> {{ <https://w3id.org/hmp/id/svc/participant/P03> a <{HMP}Participant> ; "
        f"<{HMP}primaryOccupation> <{HMP}occupation-nurse> . }}\n"
    )
    OxigraphStore(build_store(store, extra=extra)).close()
    assert os.readlink(store / "active" / "hmp-version") == state
    with running_server(store, tmp_path) as second:
        new = httpx.get(second.url + url_path, headers={"If-None-Match": old.headers["etag"]})
        page = httpx.get(
            f"{second.url}/id/svc/participant/P01",
            headers={"Accept": "text/turtle", "If-None-Match": old_page.headers["etag"]},
        )
    assert new.status_code == 200 and new.headers["etag"] != old.headers["etag"]
    assert _composition(old) == {"doctor": 1, "nurse": 1}
    assert _composition(new) == {"doctor": 1, "nurse": 2}
    assert page.status_code == 200 and page.headers["etag"] != old_page.headers["etag"]


def test_with_the_cache_off_every_answer_is_evaluated_and_still_validated(tmp_path: Path) -> None:
    store = versioned_store(tmp_path / "store")
    with running_server(store, tmp_path, answer_cache_mb="0") as server:
        url = f"{server.url}/queries/sample-composition"
        answers = [httpx.get(url) for _ in range(2)]
        assert all(a.headers["server-timing"].startswith("query;dur=") for a in answers)
        assert _composition(answers[1]) == {"doctor": 1, "nurse": 1}
        assert httpx.get(url, headers={"If-None-Match": answers[0].headers["etag"]}).status_code == 304
        assert httpx.get(f"{server.url}/health").json()["answers_kept"] == {"enabled": False}


# ---- compression ----------------------------------------------------------------------------


def test_small_answers_go_uncompressed_by_default(server: Server) -> None:
    response = httpx.get(f"{server.url}/queries/sample-composition", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers  # under HMP_GZIP_MIN_BYTES (128 KiB)
    assert _composition(response) == {"doctor": 1, "nurse": 1}


def test_answers_over_the_threshold_are_gzipped_for_clients_that_accept_it(tmp_path: Path) -> None:
    with running_server(versioned_store(tmp_path / "store"), tmp_path, gzip_min_bytes="200") as small:
        url = f"{small.url}/queries/evidence"
        params = {"stage": "awakening", "occupation": "doctor"}
        with httpx.Client() as client:
            raw = client.get(url, params=params, headers={"Accept-Encoding": "gzip"})
            assert raw.headers["content-encoding"] == "gzip"
            assert "accept-encoding" in raw.headers["vary"].lower()
            plain = client.get(url, params=params, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert raw.json() == plain.json()  # httpx decodes the gzip body
        rows = plain.json()["results"]["bindings"]
        assert rows and {r["occupationLabel"]["value"] for r in rows} == {"doctor"}
        assert len(plain.content) > 200
        # the raw bytes on the wire are gzip: fetch them undecoded
        with httpx.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as streamed:
            wire = b"".join(streamed.iter_raw())
        assert wire[:2] == b"\x1f\x8b" and gzip.decompress(wire) == plain.content
        with httpx.stream("GET", url, params=params, headers={"Accept-Encoding": "gzip"}) as again:
            assert again.headers["server-timing"] == 'cache;desc="hit"'
            assert b"".join(again.iter_raw()) == wire  # the kept answer's compressed form
        refused = httpx.get(url, params=params, headers={"Accept-Encoding": "gzip;q=0, identity"})
        assert "content-encoding" not in refused.headers and refused.content == plain.content
        revalidated = httpx.get(
            url, params=params, headers={"Accept-Encoding": "gzip", "If-None-Match": raw.headers["etag"]}
        )
        assert revalidated.status_code == 304
        # pages too, through the middleware
        ontology = f"{small.url}/ontology"
        page = httpx.get(ontology, headers={"Accept": "text/turtle", "Accept-Encoding": "gzip"})
        assert page.headers["content-encoding"] == "gzip" and "Ontology" in page.text
        page = httpx.get(ontology, headers={"Accept": "text/turtle", "Accept-Encoding": "gzip;q=0"})
        assert "content-encoding" not in page.headers and "Ontology" in page.text


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        ("gzip", True),
        ("br, gzip;q=0.5", True),
        ("*", True),
        ("gzip, deflate", True),
        (None, False),
        ("", False),
        ("identity", False),
        ("deflate", False),
        ("gzip;q=0", False),
        ("gzip;q=0, *", False),
        ("gzip;q=zero", False),
    ],
)
def test_gzip_is_sent_only_when_the_client_allows_it(header: str | None, allowed: bool) -> None:
    assert accepts_gzip(header) is allowed


# ---- pages ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/id/svc/participant/P01", "text/html", "P01"),
        ("/id/svc/participant/P01", "text/turtle", "Participant"),
        ("/ontology", "text/turtle", "Ontology"),
        ("/ontology/Participant", "text/html", "Participant"),
        ("/.well-known/void", "text/turtle", "Dataset"),
        ("/sparql", "text/turtle", "Service"),
        ("/queries", "application/json", "sample-composition"),
    ],
)
def test_a_page_carries_a_validator_and_a_matching_one_gets_304(
    server: Server, path: str, accept: str, expected: str
) -> None:
    page = httpx.get(server.url + path, headers={"Accept": accept})
    assert page.status_code == 200 and expected in page.text
    etag = page.headers["etag"]
    assert etag.startswith('W/"') and page.headers["cache-control"] == "no-cache"
    assert httpx.get(server.url + path, headers={"Accept": accept}).headers["etag"] == etag
    unchanged = httpx.get(server.url + path, headers={"Accept": accept, "If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    other = httpx.get(server.url + path, headers={"Accept": "application/n-triples"})
    assert other.status_code == 406 or other.headers["etag"] != etag


def test_pages_that_change_without_the_store_have_no_validator(server: Server) -> None:
    for path in ("/health", "/"):
        response = httpx.get(server.url + path, headers={"Accept": "text/html"})
        assert response.status_code == 200 and "etag" not in response.headers, path
    missing = httpx.get(f"{server.url}/id/svc/participant/NOBODY", headers={"Accept": "text/turtle"})
    assert missing.status_code == 404 and "etag" not in missing.headers


def test_pages_of_a_store_that_names_no_version_have_no_validator(tmp_path: Path) -> None:
    with running_server(build_store(tmp_path / "plain"), tmp_path) as plain:
        page = httpx.get(f"{plain.url}/id/svc/participant/P01", headers={"Accept": "text/turtle"})
        assert page.status_code == 200 and "P01" in page.text
        assert "etag" not in page.headers


# ---- the cache's bookkeeping --------------------------------------------------------------


def test_the_least_recently_used_answers_go_first_when_the_cache_is_full() -> None:
    cache = AnswerCache(max_bytes=100)
    for name in ("a", "b", "c", "d"):
        cache.put("v1", name, name.encode() * 12)  # 12 bytes each (at most 100/8 per answer)
    assert cache.size == 48 and len(cache) == 4
    assert cache.get("v1", "a") == b"a" * 12  # a is now the most recently used
    for name in ("e", "f", "g", "h", "i"):
        cache.put("v1", name, name.encode() * 12)
    assert cache.size <= 100
    assert cache.get("v1", "b") is None  # b was the least recently used
    assert cache.get("v1", "a") == b"a" * 12
    assert cache.get("v1", "i") == b"i" * 12
    assert cache.hits == 3 and cache.misses == 1


def test_an_answer_too_big_for_its_share_is_not_kept() -> None:
    cache = AnswerCache(max_bytes=80)
    cache.put("v1", "small", b"x" * 10)
    cache.put("v1", "big", b"y" * 11)  # over 80/8
    assert cache.get("v1", "small") == b"x" * 10
    assert cache.get("v1", "big") is None
    assert cache.size == 10


def test_a_new_version_of_the_store_drops_every_kept_answer() -> None:
    cache = AnswerCache(max_bytes=1000)
    cache.put("gen-1", "q", b"old")
    cache.put("gen-1", "r", b"other")
    assert cache.get("gen-2", "q") is None
    assert len(cache) == 0 and cache.size == 0
    cache.put("gen-2", "q", b"new")
    assert cache.get("gen-2", "q") == b"new"
    assert cache.get("gen-1", "q") is None  # an older version is never answered from a newer one


def test_the_code_fingerprint_follows_templates_modules_and_queries_but_not_static_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from service import validators

    service, kg, queries = tmp_path / "service", tmp_path / "kg", tmp_path / "queries"
    for directory in (service / "templates", service / "static", kg, queries):
        directory.mkdir(parents=True)
    (service / "templates" / "page.html").write_text("<p>{{ a }}</p>")
    (service / "static" / "app.js").write_text("one")
    (kg / "labels.py").write_text("SHORT = True\n")
    (queries / "q.rq").write_text("#+ summary: one\nASK {}\n")
    monkeypatch.setattr(validators, "SERVICE_DIR", service)
    monkeypatch.setattr(validators, "KG_DIR", kg)
    monkeypatch.setattr(validators, "QUERIES_DIR", queries)

    def fingerprint() -> str:
        validators.code_fingerprint.cache_clear()
        return validators.code_fingerprint()

    try:
        seen = [fingerprint()]
        (service / "static" / "app.js").write_text("two")  # pages only link to it
        assert fingerprint() == seen[0]
        for change in (
            lambda: (service / "templates" / "page.html").write_text("<p>{{ b }}</p>"),
            lambda: (service / "module.py").write_text("X = 1\n"),
            lambda: (queries / "q.rq").write_text("#+ summary: two\nASK {}\n"),  # /queries shows it
            lambda: (kg / "labels.py").write_text("SHORT = False\n"),  # kg makes pages and answers
        ):
            change()
            now = fingerprint()
            assert now not in seen
            seen.append(now)
    finally:
        monkeypatch.undo()
        validators.code_fingerprint.cache_clear()
