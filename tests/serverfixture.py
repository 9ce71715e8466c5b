"""A real uvicorn server over a temporary pyoxigraph store, for the service tests.

``build_store`` loads the ontology and ``tests/data/service/fixture.trig`` into a store on disk
(``hmp_build`` runs a real ``hmp build`` into one instead);
``running_server`` starts ``uvicorn service.main:app`` in a subprocess on a free loopback port
with ``HMP_*`` settings, waits for ``/health`` and stops it afterwards.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyoxigraph as ox
from SPARQLWrapper import SPARQLWrapper

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "service"
FIXTURE = DATA / "fixture.trig"
ONTOLOGY = ROOT / "ontology" / "hmp.ttl"
ONTOLOGY_GRAPH = "https://w3id.org/hmp/graph/ontology"

# What the fixture holds, as every service test (embedded or remote store) expects to see it.
FIXTURE_ID = "https://w3id.org/hmp/id/svc/"
P01 = FIXTURE_ID + "participant/P01"
PARTICIPANTS = """
PREFIX hmp: <https://w3id.org/hmp/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?p ?label ?years WHERE { ?p a hmp:Participant ; rdfs:label ?label ; hmp:careerYears ?years }
ORDER BY ?label
"""


def assert_participants_json(result: dict) -> None:  # type: ignore[type-arg]
    """``PARTICIPANTS`` as SPARQL 1.1 Results JSON over the fixture: two participants, typed years."""
    assert result["head"]["vars"] == ["p", "label", "years"]
    rows = result["results"]["bindings"]
    assert [r["label"]["value"] for r in rows] == ["P01", "P02"]
    assert rows[0]["p"] == {"type": "uri", "value": P01}
    assert rows[0]["years"] == {
        "type": "literal",
        "value": "24",
        "datatype": "http://www.w3.org/2001/XMLSchema#integer",
    }


def build_store(path: Path, *, extra: Path | None = None) -> Path:
    """A pyoxigraph store in ``path`` with the ontology and the service fixture."""
    store = ox.Store(str(path))
    store.bulk_load(path=str(ONTOLOGY), format=ox.RdfFormat.TURTLE, to_graph=ox.NamedNode(ONTOLOGY_GRAPH))
    store.bulk_load(path=str(FIXTURE), format=ox.RdfFormat.TRIG)
    if extra is not None:
        store.bulk_load(path=str(extra), format=ox.RdfFormat.TRIG)
    store.flush()
    del store
    return path


HMP = str(Path(sys.executable).with_name("hmp"))
#: How many participants a store holds: one row, one column ``n``.
PARTICIPANT_COUNT = (
    "SELECT (COUNT(DISTINCT ?p) AS ?n) WHERE { ?p a <https://w3id.org/hmp/ontology#Participant> }"
)


def hmp_build(store: Path, source: Path) -> None:
    """``hmp build SOURCE --store STORE`` in a subprocess; fails the test unless it succeeds."""
    done = subprocess.run(
        [HMP, "build", str(source), "--store", str(store)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]


#: The triple ``write_in_place`` writes, in graph ``https://example.org/g``
WRITTEN_IN_PLACE = '<https://example.org/s> <https://example.org/p> "written in place"'


def write_in_place(store: Path) -> None:
    """Another process commits one write to ``store`` in place (no new generation): the triple
    ``WRITTEN_IN_PLACE`` in graph ``https://example.org/g``."""
    writer = (
        "import sys\n"
        "from kg.stores.oxigraph import OxigraphStore\n"
        "store = OxigraphStore(sys.argv[1])\n"
        f"store.update('INSERT DATA {{ GRAPH <https://example.org/g> {{ {WRITTEN_IN_PLACE} }} }}')\n"
        "store.close()\n"
    )
    done = subprocess.run([sys.executable, "-c", writer, str(store)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def study_versions(base: Path) -> tuple[Path, Path]:
    """Two versions of one synthetic study (same id, ``gens``) under ``base``: 6 participants,
    then 9, for the tests of a rebuild."""
    from kg.synth import generate

    generate(6, 1, base / "old", study_id="gens")
    generate(9, 2, base / "new", study_id="gens")
    return base / "old", base / "new"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    store: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def sparql(self) -> str:
        return f"{self.url}/sparql"


@contextlib.contextmanager
def running_server(store: Path, log_dir: Path, **settings: str) -> Iterator[Server]:
    """Serve ``store`` with ``HMP_<NAME>=value`` for each keyword (e.g. query_timeout="1")."""
    port = free_port()
    env = {
        **os.environ,
        "HMP_STORE": str(store),
        "HMP_QUERY_WORKERS": "1",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("HMP_STORE_URL", None)
    env.update({f"HMP_{name.upper()}": value for name, value in settings.items()})
    log = log_dir / f"uvicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "service.main:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    with serving(process, url, log, seconds=60):
        yield Server(url, store, process, log)


@contextlib.contextmanager
def serving(process: subprocess.Popen[bytes], url: str, log: Path, *, seconds: float) -> Iterator[None]:
    """Wait until ``process`` answers ``/health`` at ``url``; stop it when the block ends."""
    try:
        deadline = time.monotonic() + seconds
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"server exited with {process.returncode}:\n{log.read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"server did not answer /health within {seconds:g} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def sparql_client(server: Server, query: str, fmt: str, method: str = "GET") -> SPARQLWrapper:
    """A SPARQLWrapper client for ``server``'s endpoint, set up for one query."""
    client = SPARQLWrapper(server.sparql)
    client.setQuery(query)
    client.setReturnFormat(fmt)
    client.setMethod(method)
    return client
