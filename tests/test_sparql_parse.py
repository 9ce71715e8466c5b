"""rdflib's SPARQL parser is used from several threads at once without breaking (kg.sparql_parse).

Unguarded, eight threads parsing the catalogue at once left pyparsing's parse actions wrongly
learned in every run, and every later parse in the process failed: the landing page answered 500
until restart. Run in a fresh interpreter, where the parser has not yet been used.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_THREADS = textwrap.dedent(
    """
    import json, threading
    from kg import queries
    from kg.sparql_reads import predicates_read

    texts = [q.text for q in queries.catalogue()]
    errors, answers = [], {}
    start = threading.Barrier(8)

    def work(i):
        start.wait()
        for text in texts[i % 2 :: 2]:
            try:
                answers[text] = (queries.projection(text), sorted(predicates_read(text) or ["*"]))
            except Exception as error:
                errors.append(repr(error))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queries.projection.cache_clear()
    predicates_read.cache_clear()
    again = {t: (queries.projection(t), sorted(predicates_read(t) or ["*"])) for t in texts}
    print(json.dumps({"errors": errors, "same": again == answers, "parsed": len(answers)}))
    """
)


def test_parsing_from_many_threads_at_once_leaves_the_parser_working() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _THREADS], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-1500:]  # a broken parser fails the parses after the race
    outcome = json.loads(done.stdout)
    assert outcome["errors"] == []
    assert outcome["parsed"] >= 20 and outcome["same"] is True  # and the same answers as one at a time
