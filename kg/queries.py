"""The canned query catalogue: ``queries/<name>.rq`` files, listed, run by name, typed results.

Each ``.rq`` file starts with a grlc-compatible YAML header in ``#+`` comment lines (``summary``,
``description``, ``tags``, ``defaults``, ``enumerate``) plus ``claim``/``section`` (the study's
statement the query tests and where the paper makes it), ``chart`` (how to look at the result),
``params`` (each ``?_name`` parameter's kind: an ontology concept of a scheme, or a participant) and,
where the query codes rows to stages, ``stage_rule``.

Parameters are resolved to RDF terms (a concept by local name, label or IRI; a participant by
pseudonym or IRI, looked up in the store) and bound through the store's ``substitutions`` — never
spliced into the query text. An unknown value raises ``QueryError`` naming the accepted values.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol

import pyoxigraph as ox
import yaml

from kg._gc import paused_gc
from kg._paths import QUERIES_DIR
from kg.concepts import HMP_NS, SCHEMES, concept_index
from kg.errors import Location, QueryError
from kg.store import Row, Term, json_term

#: The named graph the build loads the findings graph into.
FINDINGS_GRAPH = "https://w3id.org/hmp/graph/findings"
FINDINGS_BASE = "https://w3id.org/hmp/id/findings/"
QUERY_BASE = "https://w3id.org/hmp/id/queries/"
#: Longest parameter value looked up at all; longer values are rejected before any lookup.
MAX_PARAM_LENGTH = 400

XSD = "http://www.w3.org/2001/XMLSchema#"
_INTEGERS = {
    f"{XSD}{t}"
    for t in (
        "integer", "int", "long", "short", "byte", "nonNegativeInteger", "positiveInteger",
        "nonPositiveInteger", "negativeInteger", "unsignedInt", "unsignedLong", "unsignedShort",
        "unsignedByte",
    )
}  # fmt: skip


class QueryableStore(Protocol):
    """The part of ``kg.store.Store`` that running canned queries needs."""

    def select(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[Row]: ...

    def ask(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> bool: ...

    def construct(
        self, sparql: str, *, substitutions: Mapping[str, Term] | None = None, timeout: float | None = None
    ) -> list[ox.Triple]: ...


@dataclass(frozen=True)
class Param:
    """A ``?_name`` parameter of a canned query."""

    name: str
    type: Literal["concept", "participant"]
    scheme: str | None = None  # a key of kg.concepts.SCHEMES for concept parameters
    default: str | None = None
    enumeration: tuple[str, ...] = ()
    required: bool = True

    @property
    def variable(self) -> str:
        return f"_{self.name}"


@dataclass(frozen=True)
class CannedQuery:
    name: str
    summary: str
    description: str
    tags: tuple[str, ...]
    claim: str
    section: str
    chart: str
    params: tuple[Param, ...]
    form: Literal["select", "construct", "ask"]
    text: str
    stage_rule: str = ""
    path: Path | None = None

    @property
    def iri(self) -> str:
        return QUERY_BASE + self.name

    @property
    def finding_iri(self) -> str:
        return FINDINGS_BASE + self.name


@dataclass
class QueryResult:
    """Rows as python values (``rows``) and as RDF terms (``terms``); triples for a CONSTRUCT."""

    query: str
    form: str
    variables: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    terms: list[Row] = field(default_factory=list)
    triples: list[ox.Triple] = field(default_factory=list)
    boolean: bool | None = None

    def to_dataframe(self) -> Any:
        """A pandas DataFrame of ``rows`` (pandas is optional: QueryError when missing)."""
        try:
            import pandas as pd
        except ImportError as error:
            raise QueryError("to_dataframe() needs pandas, which is not installed") from error
        return pd.DataFrame(self.rows, columns=self.variables)

    def term_rows(self) -> list[Row]:
        """SELECT rows, or one row per triple (subject, predicate, object) for a CONSTRUCT."""
        if self.form == "construct":
            rows: list[Row] = []
            for t in self.triples:
                row = {"subject": t.subject, "predicate": t.predicate, "object": t.object}
                rows.append({k: v for k, v in row.items() if not isinstance(v, ox.Triple)})
            return rows
        return self.terms

    def to_sparql_json(self) -> dict[str, Any]:
        """The standard SPARQL 1.1 Query Results JSON document."""
        if self.form == "ask":
            return {"head": {}, "boolean": bool(self.boolean)}
        bindings = [{k: json_term(v) for k, v in row.items()} for row in self.term_rows()]
        return {"head": {"vars": list(self.variables)}, "results": {"bindings": bindings}}

    def to_csv(self) -> str:
        """SPARQL 1.1 Query Results CSV: plain values, CRLF line ends."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        if self.form == "ask":
            writer.writerow(["boolean"])
            writer.writerow(["true" if self.boolean else "false"])
            return out.getvalue()
        writer.writerow(self.variables)
        for row in self.term_rows():
            writer.writerow([_plain(row[v]) if v in row else "" for v in self.variables])
        return out.getvalue()


def _plain(term: Term) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


#: The XSD numeric datatypes (SPARQL ``isNumeric``) -> how a lexical form reads as a number.
NUMBERS: dict[str, Callable[[str], int | float | Decimal]] = {
    **{datatype: int for datatype in _INTEGERS},
    f"{XSD}decimal": Decimal,
    f"{XSD}double": float,
    f"{XSD}float": float,
}
_CONVERTERS: dict[str, Callable[[str], Any]] = {
    **NUMBERS,
    f"{XSD}boolean": lambda value: value in ("true", "1"),
    f"{XSD}date": dt.date.fromisoformat,
    f"{XSD}dateTime": dt.datetime.fromisoformat,
}


def python_value(term: Term) -> Any:
    """An RDF term as a python value: IRIs as str, numbers, booleans, dates as python objects."""
    if not isinstance(term, ox.Literal):
        return term.value
    convert = _CONVERTERS.get(term.datatype.value)  # one dict lookup per value: results can be large
    if convert is None:
        return term.value
    try:
        return convert(term.value)
    except (ValueError, ArithmeticError):  # a malformed lexical form stays a string
        return term.value


# --- the catalogue ---------------------------------------------------------------------------

_FORM = re.compile(r"^\s*(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", re.IGNORECASE | re.MULTILINE)


def query_form(text: str) -> str:
    """The form of a SPARQL query (select, construct, ask, describe) from its first keyword."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    body = re.sub(r"(?is)\b(PREFIX\s+\S*:\s*<[^>]*>|BASE\s*<[^>]*>)", " ", body)
    match = _FORM.search(body) or re.search(r"\b(SELECT|CONSTRUCT|ASK|DESCRIBE)\b", body, re.IGNORECASE)
    if not match:
        raise QueryError("not a SPARQL query: no SELECT, CONSTRUCT, ASK or DESCRIBE")
    return match.group(1).lower()


def _header(text: str, path: Path | None = None) -> dict[str, Any]:
    """The grlc-style header: the ``#+`` lines of the file, read as one YAML mapping."""
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.startswith("#+")]
    prefixes = [3 if line.startswith("#+ ") else 2 for _, line in numbered]
    file = str(path) if path is not None else "<query>"
    expected = (
        "'#+ key: value' lines (YAML: quote a value that holds ': ' or starts with a special character)"
    )
    try:
        data = yaml.safe_load(
            "\n".join(line[cut:] for (_, line), cut in zip(numbered, prefixes, strict=True))
        )
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        location = Location(file)
        if mark is not None and numbered:
            k = min(mark.line, len(numbered) - 1)
            location = Location(file, line=numbered[k][0], column=mark.column + prefixes[k] + 1)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise QueryError(
            f"the query header is not valid YAML: {problem}", location=location, expected=expected
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise QueryError("the query header is not a YAML mapping", location=Location(file), expected=expected)
    return data


def _list_of_maps(value: Any) -> dict[str, Any]:
    """grlc writes defaults/enumerate as a list of one-key maps; accept a plain map too."""
    if isinstance(value, dict):
        return value
    merged: dict[str, Any] = {}
    for item in value or []:
        merged.update(item)
    return merged


def parse_query(path: Path) -> CannedQuery:
    text = path.read_text(encoding="utf-8")
    head = _header(text, path)
    defaults = _list_of_maps(head.get("defaults"))
    enumerate_ = _list_of_maps(head.get("enumerate"))
    declared = head.get("params") or {}
    names = sorted(set(re.findall(r"\?_([A-Za-z]\w*)", text)), key=text.index)
    params = []
    for name in names:
        spec = declared.get(name) or {}
        kind = spec.get("type", "concept")
        scheme = spec.get("scheme")
        if kind == "concept" and scheme not in SCHEMES:
            raise QueryError(f"{path.name}: parameter ?_{name} needs a known scheme", value=scheme)
        default = defaults.get(name)
        params.append(
            Param(
                name=name,
                type=kind,
                scheme=scheme,
                default=str(default) if default is not None else None,
                enumeration=tuple(str(v) for v in enumerate_.get(name, ())),
                required=default is None,
            )
        )
    form = query_form(text)
    if form == "describe":
        raise QueryError(f"{path.name}: canned queries are SELECT, CONSTRUCT or ASK")
    return CannedQuery(
        name=path.stem,
        summary=str(head.get("summary", "")),
        description=str(head.get("description", "")),
        tags=tuple(str(t) for t in head.get("tags") or ()),
        claim=str(head.get("claim", "")),
        section=str(head.get("section", "")),
        chart=str(head.get("chart", "")),
        params=tuple(params),
        form=form,  # type: ignore[arg-type]
        text=text,
        stage_rule=str(head.get("stage_rule", "")),
        path=path,
    )


@lru_cache(maxsize=4)
def _catalogue(directory: Path) -> tuple[CannedQuery, ...]:
    return tuple(parse_query(p) for p in sorted(directory.glob("*.rq")))


def catalogue(directory: Path | None = None) -> list[CannedQuery]:
    """Every canned query in ``queries/`` (not ``queries/checks/``), sorted by name."""
    return list(_catalogue(directory or QUERIES_DIR))


def get(name: str, directory: Path | None = None) -> CannedQuery:
    for query in catalogue(directory):
        if query.name == name:
            return query
    names = ", ".join(q.name for q in catalogue(directory))
    raise QueryError("unknown canned query", value=name, expected=f"one of {names}")


def label_twins(variables: Sequence[str]) -> list[str]:
    """The columns a canned answer also gives as a label: ``x`` when ``xLabel`` is there (answers
    carry labels beside IRIs; a view for people can show the label alone)."""
    present = set(variables)
    return [v for v in variables if f"{v}Label" in present]


# --- parameters ------------------------------------------------------------------------------

#: The participant's type is checked with EXISTS, not a second pattern: pyoxigraph plans a query
#: before it binds substitutions, and with two patterns it scanned every participant for the
#: pseudonym (39 ms at 100x); with one it looks the bound pseudonym up (0.12 ms).
_PARTICIPANT_BY_PSEUDONYM = (
    "PREFIX hmp: <https://w3id.org/hmp/ontology#>\n"
    "SELECT ?participant ?pseudonym WHERE {"
    " ?participant hmp:pseudonym ?pseudonym FILTER EXISTS { ?participant a hmp:Participant } }"
)
_PARTICIPANT_EXISTS = "PREFIX hmp: <https://w3id.org/hmp/ontology#>\nASK { ?participant a hmp:Participant }"
_ALL_PSEUDONYMS = (
    "PREFIX hmp: <https://w3id.org/hmp/ontology#>\n"
    "SELECT DISTINCT ?pseudonym WHERE { ?participant a hmp:Participant ; hmp:pseudonym ?pseudonym }"
    " ORDER BY ?pseudonym LIMIT 200"
)


def accepted_values(param: Param, store: QueryableStore | None = None) -> list[str]:
    """The values ``param`` accepts: concept local names, or the store's participant pseudonyms."""
    if param.type == "concept":
        assert param.scheme is not None
        return [
            c.local.split("-", 1)[-1] if "-" in c.local else c.local
            for c in concept_index().in_scheme(param.scheme)
        ]
    if store is None:
        return []
    return [row["pseudonym"].value for row in store.select(_ALL_PSEUDONYMS) if "pseudonym" in row]


def _reject(param: Param, value: str, store: QueryableStore | None) -> QueryError:
    shown = value if len(value) <= 60 else value[:57] + "..."
    if param.type == "concept":
        assert param.scheme is not None
        expected = concept_index().accepted(param.scheme)
    else:
        expected = "a participant pseudonym or IRI: " + ", ".join(accepted_values(param, store))
    return QueryError(
        f"parameter '{param.name}' does not name a known {param.scheme or param.type}",
        value=shown,
        expected=expected,
    )


def resolve(param: Param, value: str, store: QueryableStore | None = None) -> Term:
    """The RDF term ``value`` names for ``param``; QueryError listing accepted values otherwise."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_PARAM_LENGTH:
        raise _reject(param, str(value), store)
    value = value.strip()
    if param.type == "concept":
        assert param.scheme is not None
        concept = concept_index().lookup(param.scheme, value)
        if concept is None:
            raise _reject(param, value, store)
        return ox.NamedNode(concept.iri)
    if store is None:
        raise QueryError(f"parameter '{param.name}' needs a store to look participants up")
    if value.startswith(("http://", "https://")):
        try:
            node = ox.NamedNode(value)
        except ValueError:
            raise _reject(param, value, store) from None
        if store.ask(_PARTICIPANT_EXISTS, substitutions={"participant": node}):
            return node
        raise _reject(param, value, store)
    rows = store.select(_PARTICIPANT_BY_PSEUDONYM, substitutions={"pseudonym": ox.Literal(value)})
    found = sorted({row["participant"].value for row in rows if "participant" in row})
    if len(found) == 1:
        return ox.NamedNode(found[0])
    if len(found) > 1:
        raise QueryError(
            f"parameter '{param.name}': pseudonym names participants of several studies",
            value=value,
            expected="one of the IRIs " + ", ".join(found),
        )
    raise _reject(param, value, store)


def bind(
    query: CannedQuery, params: Mapping[str, str] | None, store: QueryableStore | None = None
) -> dict[str, Term]:
    """Substitutions (variable name without '?' -> term) for ``params`` plus the query's defaults."""
    given = dict(params or {})
    known = {p.name for p in query.params}
    unknown = sorted(set(given) - known)
    if unknown:
        raise QueryError(
            f"query '{query.name}' has no parameter {', '.join(repr(u) for u in unknown)}",
            expected=f"parameters: {', '.join(sorted(known)) or 'none'}",
        )
    bound: dict[str, Term] = {}
    for param in query.params:
        value = given.get(param.name, param.default)
        if value is None:
            raise QueryError(
                f"query '{query.name}' needs parameter '{param.name}'",
                expected=_reject(param, "", store).expected,
            )
        bound[param.variable] = resolve(param, value, store)
    return bound


# --- running ---------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def projection(text: str) -> tuple[str, ...]:
    """The projected variables of a SELECT, in order (parsed by rdflib's SPARQL parser)."""
    from pyparsing import ParseException

    from kg.sparql_parse import prepare_query

    try:
        algebra = prepare_query(text).algebra
    except ParseException as error:
        raise QueryError(f"cannot parse the query: {error}") from error
    return tuple(str(v) for v in (algebra["PV"] if "PV" in algebra else ()))


def run(
    store: QueryableStore,
    name: str,
    params: Mapping[str, str] | None = None,
    *,
    timeout: float | None = None,
    directory: Path | None = None,
) -> QueryResult:
    """Run canned query ``name`` with ``params`` (raw strings, resolved to RDF terms) on ``store``."""
    query = get(name, directory)
    substitutions = bind(query, params, store)
    if query.form == "construct":
        triples = store.construct(query.text, substitutions=substitutions, timeout=timeout)
        return QueryResult(
            query=name, form="construct", variables=["subject", "predicate", "object"], triples=triples
        )
    if query.form == "ask":
        answer = store.ask(query.text, substitutions=substitutions, timeout=timeout)
        return QueryResult(query=name, form="ask", variables=[], boolean=answer)
    terms = store.select(query.text, substitutions=substitutions, timeout=timeout)
    variables = list(projection(query.text))
    return QueryResult(query=name, form="select", variables=variables, rows=python_rows(terms), terms=terms)


def python_rows(terms: Iterable[Mapping[str, Term]]) -> list[dict[str, Any]]:
    """Rows of RDF terms as rows of python values (``python_value``). Results repeat the same
    terms (labels, concepts, participants) across many rows, so each distinct term is converted
    once: on 25k rows x 12 columns that takes the conversion from ~0.6 s to ~0.06 s."""
    seen: dict[Term, Any] = {}
    rows = []
    with paused_gc():
        for row in terms:
            out = {}
            for key, term in row.items():
                value = seen.get(term, _UNSEEN)
                if value is _UNSEEN:
                    value = seen[term] = python_value(term)
                out[key] = value
            rows.append(out)
    return rows


_UNSEEN = object()


# --- the findings graph ----------------------------------------------------------------------

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_DCT = "http://purl.org/dc/terms/"
_PROV = "http://www.w3.org/ns/prov#"


def findings_graph(directory: Path | None = None) -> list[ox.Triple]:
    """Each canned query's claim as a ``prov:Entity`` linking claim text, paper section and query.

    A finding ``<…/id/findings/NAME>`` has ``dcterms:description`` (the claim), ``dcterms:source``
    (the paper section, a literal), ``rdfs:seeAlso`` the query; the query ``<…/id/queries/NAME>``
    is a ``prov:Plan`` with ``dcterms:title`` (summary), ``dcterms:description``,
    ``dcterms:subject`` (tags and the finding it tests) and ``rdf:value`` (its ``.rq`` text).
    The build loads it into ``FINDINGS_GRAPH``.
    """

    def n(iri: str) -> ox.NamedNode:
        return ox.NamedNode(iri)

    def lit(text: str) -> ox.Literal:
        return ox.Literal(text, language="en-gb")

    triples: list[ox.Triple] = []
    for q in catalogue(directory):
        finding, plan = n(q.finding_iri), n(q.iri)
        triples += [
            ox.Triple(finding, n(_RDF + "type"), n(_PROV + "Entity")),
            ox.Triple(finding, n(_RDFS + "label"), lit(f"Finding tested by the canned query '{q.name}'")),
            ox.Triple(finding, n(_DCT + "description"), lit(q.claim)),
            ox.Triple(finding, n(_DCT + "source"), ox.Literal(q.section)),
            ox.Triple(finding, n(_RDFS + "seeAlso"), plan),
            ox.Triple(plan, n(_RDF + "type"), n(_PROV + "Plan")),
            ox.Triple(plan, n(_RDFS + "label"), ox.Literal(q.name)),
            ox.Triple(plan, n(_DCT + "title"), lit(q.summary)),
            ox.Triple(plan, n(_DCT + "description"), lit(q.description)),
            ox.Triple(plan, n(_DCT + "subject"), finding),
            ox.Triple(plan, n(_DCT + "format"), ox.Literal("application/sparql-query")),
            ox.Triple(plan, n(_RDF + "value"), ox.Literal(q.text)),
        ]
        triples += [ox.Triple(plan, n(_DCT + "subject"), ox.Literal(tag)) for tag in q.tags]
        if q.stage_rule:
            triples.append(ox.Triple(plan, n(_RDFS + "comment"), lit(q.stage_rule)))
    return triples


def findings_turtle(directory: Path | None = None) -> str:
    """The findings graph as Turtle."""
    data = ox.serialize(
        findings_graph(directory),
        format=ox.RdfFormat.TURTLE,
        prefixes={"dcterms": _DCT, "prov": _PROV, "rdfs": _RDFS, "rdf": _RDF, "hmp": HMP_NS},
    )
    assert data is not None
    return data.decode()


__all__: Sequence[str] = (
    "FINDINGS_GRAPH",
    "CannedQuery",
    "Param",
    "QueryError",
    "QueryResult",
    "catalogue",
    "findings_graph",
    "get",
    "run",
)
