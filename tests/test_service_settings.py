"""Service settings from ``HMP_*`` variables: a value that cannot be used is refused by name."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kg.errors import ConfigError
from service.settings import Settings

HMP = str(Path(sys.executable).with_name("hmp"))


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("HMP_"):
            monkeypatch.delenv(name)


def test_unset_variables_give_the_defaults() -> None:
    assert Settings.from_env() == Settings()


def test_values_are_read_with_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "HMP_QUERY_TIMEOUT": "2.5",
        "HMP_MAX_RESULTS": "10",
        "HMP_SERVE_FULLTEXT": "Yes",
        "HMP_WARM_LANDING": "off",
        "HMP_ANSWER_CACHE_MB": "0",
        "HMP_GZIP_MIN_BYTES": "0",
        "HMP_MEMORY_COPY_QUADS": "0",
        "HMP_CORS_ORIGINS": "https://a.example, https://b.example",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    assert settings.query_timeout == 2.5 and settings.max_results == 10
    assert settings.serve_fulltext is True and settings.warm_landing is False
    assert settings.answer_cache_mb == 0 and settings.gzip_min_bytes == 0
    assert settings.memory_copy_quads == 0
    assert settings.cors_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("HMP_QUERY_TIMEOUT", "ten", "a number above 0"),
        ("HMP_QUERY_TIMEOUT", "0", "a number above 0"),
        ("HMP_QUERY_TIMEOUT", "nan", "a number above 0"),
        ("HMP_ANSWER_CACHE_MB", "-1", "a number 0 or more"),
        ("HMP_MAX_RESULTS", "0", "a whole number, 1 or more"),
        ("HMP_MAX_RESULTS", "1e5", "a whole number, 1 or more"),
        ("HMP_QUERY_WORKERS", "-2", "a whole number, 0 or more"),
        ("HMP_GZIP_MIN_BYTES", "128k", "a whole number, 0 or more"),
        ("HMP_MEMORY_COPY_QUADS", "many", "a whole number, 0 or more"),
        ("HMP_SERVE_FULLTEXT", "maybe", "1/true/yes/on or 0/false/no/off"),
        ("HMP_WARM_LANDING", "enabled", "1/true/yes/on or 0/false/no/off"),
        ("HMP_STORE_URL", "bench/_work/store", "e.g. http://127.0.0.1:8890/sparql"),
        ("HMP_STORE_URL", "ftp://host/sparql", "e.g. http://127.0.0.1:8890/sparql"),
    ],
)
def test_an_unusable_value_is_refused_naming_the_variable_and_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        Settings.from_env()
    message = str(refused.value)
    assert message.startswith(name) and repr(value) in message and expected in message


def test_hmp_serve_stops_on_a_bad_setting_before_building_anything(tmp_path: Path) -> None:
    store = tmp_path / "store"
    env = {**os.environ, "HMP_QUERY_TIMEOUT": "ten"}
    done = subprocess.run(
        [HMP, "serve", "--store", str(store), "--build-if-empty", "--port", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 2
    assert "HMP_QUERY_TIMEOUT is not a usable number (got 'ten'); expected a number above 0" in done.stderr
    assert "Traceback" not in done.stderr
    assert not store.exists()  # nothing built


def test_a_source_date_epoch_that_is_not_a_time_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from kg.lift import provenance_time

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert provenance_time().isoformat() == "2023-11-14T22:13:20"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ConfigError) as refused:
        provenance_time()
    assert str(refused.value) == (
        "SOURCE_DATE_EPOCH is not a time (got 'yesterday'); expected whole seconds since 1970-01-01 UTC"
    )
