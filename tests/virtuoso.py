"""A real Virtuoso for the contract tests (and bench/queries.py): temporary database, loopback-only
free ports.

``virtuoso_url()`` (a pytest fixture, session scope) starts ``virtuoso-t +foreground`` from
Debian's ``virtuoso-opensource`` with a fresh database directory, grants SPARQL_UPDATE to the
anonymous SPARQL user through ``isql-vt`` (so the plain /sparql endpoint accepts updates in the
test only), waits until the endpoint answers and stops the server afterwards. When the binary
is missing the tests skip with that reason; when it is present but will not start they FAIL.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

VIRTUOSO = shutil.which("virtuoso-t") or "/usr/bin/virtuoso-t"
ISQL = shutil.which("isql-vt") or "/usr/bin/isql-vt"
VSP = Path("/var/lib/virtuoso-opensource-7/vsp")

INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql}
DisableUnixSocket = 1
MaxClientConnections = 5
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {d}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
ThreadsPerQuery = {threads}
MaxQueryMem = {query_mem}
TransactionAfterImageLimit = {after_image}

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = {vsp}
MaxClientConnections = 5
ServerThreads = 5
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = {max_rows}
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
DefaultGraph =
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(url: str) -> bool:
    query = urllib.parse.urlencode({"query": "ASK { ?s ?p ?o }"})
    try:
        with urllib.request.urlopen(f"{url}?{query}", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


class Virtuoso:
    """``buffers``: 8 KB pages of memory for the database (the tests' 80 MB holds their fixture;
    Virtuoso's guide gives ~170,000 per 2 GB free for data that should stay in memory);
    ``threads``: threads one query may use; ``after_image``: the most bytes one transaction may
    log (Virtuoso's default, 50 MB, refuses to switch to a 100x study in one update)."""

    def __init__(
        self,
        workdir: Path,
        *,
        buffers: int = 10_000,
        query_mem: str = "256M",
        max_rows: int = 100_000,
        threads: int = 2,
        after_image: int = 50_000_000,
    ) -> None:
        self.dir = workdir
        self.settings = {
            "buffers": buffers,
            "dirty": buffers * 3 // 5,
            "query_mem": query_mem,
            "max_rows": max_rows,
            "threads": threads,
            "after_image": after_image,
        }
        self.sql_port = free_port()
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}/sparql"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, wait: float = 90) -> None:
        ini = self.dir / "virtuoso.ini"
        ini.write_text(
            INI.format(d=self.dir, sql=self.sql_port, http=self.http_port, vsp=VSP, **self.settings)
        )
        log = (self.dir / "stdout.log").open("wb")
        self.process = subprocess.Popen(
            [VIRTUOSO, "+foreground", "+configfile", str(ini)],
            cwd=self.dir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: {self.log()}")
            if _ready(self.url):
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f"Virtuoso did not answer on {self.url} within {wait:g} s: {self.log()}")
        # only isql's exit status counts here: on a database that has it already, the grant
        # prints an error and changes nothing
        self.sql('grant SPARQL_UPDATE to "SPARQL";', "could not grant SPARQL_UPDATE", strict=False)

    def sql(self, statements: str, failure: str, timeout: float = 60, *, strict: bool = True) -> str:
        """Run ``statements`` through ``isql-vt`` as dba; RuntimeError(``failure``...) if it exits
        with an error or (``strict``) prints one."""
        done = subprocess.run(
            [ISQL, f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statements}"],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0 or (strict and "*** Error" in done.stdout + done.stderr):
            raise RuntimeError(f"{failure}: {done.stdout} {done.stderr}")
        return done.stdout

    def bulk_load(self, nquads: Path, timeout: float = 3600) -> None:
        """Load an N-Quads file (each quad into its own graph) with Virtuoso's bulk loader; the file
        must be inside the database directory (DirsAllowed)."""
        self.sql(
            f"ld_dir('{nquads.parent}', '{nquads.name}', 'urn:hmp:unused'); rdf_loader_run(); checkpoint;",
            f"could not bulk-load {nquads}",
            timeout,
        )
        errors = self.sql("SELECT ll_file, ll_error FROM DB.DBA.LOAD_LIST WHERE ll_error IS NOT NULL;", "")
        if nquads.name in errors:
            raise RuntimeError(f"the bulk loader refused {nquads}: {errors}")

    def log(self) -> str:
        parts = []
        for name in ("stdout.log", "virtuoso.log"):
            path = self.dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def virtuoso_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not Path(VIRTUOSO).exists():
        pytest.skip(f"Virtuoso is not installed ({VIRTUOSO} missing; `make virtuoso` installs it)")
    server = Virtuoso(tmp_path_factory.mktemp("virtuoso"))
    try:
        server.start()  # a failure here fails the tests: the binary exists, so it must run
        yield server.url
    finally:
        server.stop()
