"""rdflib's SPARQL parser, one thread at a time.

pyparsing, under rdflib's parser, learns how many arguments each parse action takes on its first
calls, in a variable that every thread shares. Two threads parsing at once can leave it wrong,
and from then on every parse in the process fails (``Param.postParse2() missing 1 required
positional argument: 'tokenList'``): eight threads parsing the catalogue at once broke the
parser in 10 runs out of 10. The service parses in threads (the landing page's answers computed
at start-up while the first requests arrive), and a broken parser answered the landing page with
500 until the server was restarted. So every parse of ours goes through ``prepare_query``, which
holds a lock; a parse takes a few milliseconds, and each query text is parsed once (callers keep
what they derive).
"""

from __future__ import annotations

import threading

from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

_LOCK = threading.Lock()


def prepare_query(text: str) -> Query:
    """``rdflib.plugins.sparql.prepareQuery(text)``, never beside another parse."""
    with _LOCK:
        return prepareQuery(text)
