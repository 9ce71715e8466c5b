"""Validate a lifted study against the SHACL shapes in ``shapes/``.

The shapes are the specification. Two engines check them:

``sparql`` (default for ``hmp validate``)
    The same constraints as SPARQL queries (``queries/checks/data-*.rq``, each naming the shape
    it implements) run by pyoxigraph over the study staged on disk. Memory stays bounded (the
    staged study lives in RocksDB) and the whole study is checked in one pass per constraint.
``build`` (what ``hmp build`` runs)
    The checks that would make RocksDB read (and cache) index blocks in proportion to the whole
    store (``PYTHON_CHECKS``: excerpts, transcript texts, events, interviews, participants, role
    holdings, stories, transcripts) run in Python as the study is lifted (``PythonChecks``: each
    chunk's own triples, string slicing for quotes and offsets; references to resources lifted in
    other chunks resolved at the end from the rows' spill on disk, so nothing in memory grows
    with the study); only the cheap ``data-concept-*`` and ``data-study-*`` run as SPARQL over
    the store. Same shapes, same (shape, focus node, value) results; the SPARQL twins stay for
    ``hmp validate`` of any graph.
``shacl``
    pyshacl (``advanced=True``) per transcript: that transcript's triples plus the study
    metadata they reference plus the ontology facts the shapes need, and once for the metadata.

Why two: measured in ``bench/RESULTS.md`` (Pipeline section). pyshacl costs tens of
milliseconds per transcript, which is too slow for 6,500 transcripts within the 90 s budget;
the SPARQL engine checks the same constraints in milliseconds. ``tests/test_validate_agree.py``
proves all three engines report the same (shape, focus node) pairs on a set of broken fixtures.

Findings name where the datum came from: the lifter keeps a map from resource IRI to the
reader's ``Location`` (file, CSV row, character position).
"""

from __future__ import annotations

import ctypes
import itertools
import json
import pickle
import re
import shutil
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import overload

import pyoxigraph as ox
import rdflib
from rdflib import RDF, SH, Graph, URIRef

from kg._paths import CHECKS_DIR, SHAPES_DIR
from kg.errors import Location
from kg.lift import HMP as HMP_NS
from kg.lift import OA as OA_NS
from kg.lift import ONTOLOGY_GRAPH, XSD, LiftChunk, Lifter, ontology_facts
from kg.lift import ORG as ORG_NS
from kg.lift import RDF as RDF_NS
from kg.lift import RDFS as RDFS_NS
from kg.lift import SKOS as SKOS_NS
from kg.model import Finding, Severity, Study
from kg.queries import NUMBERS
from kg.readers._spill import PAGE, ListLike, Spill, SpilledList
from kg.stores.oxigraph import bulk_extend_batched

SHAPES_NS = "https://w3id.org/hmp/shapes#"
ENGINES = ("sparql", "build", "shacl")
#: The checks ``hmp build`` runs in Python as it lifts the study (``PythonChecks``), not as SPARQL
#: over the scratch store: run there, each check that reads the big indexes made RocksDB load
#: index and filter blocks in proportion to the whole store (pyoxigraph sets no RocksDB options;
#: at 100x +27 to +63 MB a check, ~150 MB for the full texts). Only ``data-concept-*`` and
#: ``data-study-*`` (a few MB) stay SPARQL.
PYTHON_CHECKS = (
    # the excerpt checks (check_excerpts, and the quotes and offsets in check_selectors), which
    # would otherwise join every excerpt of the study with its target and text
    "data-annotation-exact",
    "data-annotation-position",
    "data-annotation-target",
    "data-annotation-body",
    "data-annotation-shortcut",
    "data-annotation-story",
    # the checks that read every transcript's full text (check_transcripts); the lifter has each
    # text in hand anyway
    "data-transcript-full-text",
    "data-transcript-text-length",
    "data-transcript-text-length-matches",
    # the metadata checks (PythonChecks._metadata; references across chunks resolved on disk)
    "data-event-career-year",
    "data-event-participant",
    "data-event-stage",
    "data-interview-interviewee",
    "data-participant-career-band",
    "data-participant-career-years",
    "data-participant-career",
    "data-participant-occupation-missing",
    "data-participant-occupation",
    "data-role-holding-member",
    "data-role-holding-role-type",
    "data-role-holding-years",
    "data-story-initiative-missing",
    "data-story-initiative",
    "data-story-told-in",
    "data-transcript-interview",
    "data-transcript-narrator",
)
_SEVERITY = {SH.Violation: Severity.VIOLATION, SH.Warning: Severity.WARNING, SH.Info: Severity.INFO}
_SH_SEVERITY = {v: k for k, v in _SEVERITY.items()}


#: A result row: (shape or SPARQL constraint IRI, focus node IRI, message, sh:value).
ResultRow = tuple[str, str, str | None, rdflib.term.Node | None]

_RANK = {Severity.VIOLATION: 0, Severity.WARNING: 1, Severity.INFO: 2}


def result_rows() -> SpilledList[ResultRow]:
    """An empty list of result rows kept on disk (a private temporary SQLite database): a big
    study has tens of thousands of them (the 100x study: 51.5k notes), so they are not kept
    in memory. The findings made from them go to the same database (``FindingList``)."""
    return Spill(_FINDINGS_SCHEMA).list("rows")


# findings before sorting; sorted, they become the items of the list "findings"
_FINDINGS_SCHEMA = """
CREATE TABLE unsorted (
    seq INTEGER PRIMARY KEY, rank INTEGER NOT NULL, focus TEXT NOT NULL, message TEXT NOT NULL,
    value TEXT, blob BLOB NOT NULL
);
-- PythonChecks: what the lifted chunks say of their resources (kind: Participant, Interview,
-- Transcript, ConceptScheme; inScheme with the scheme; careerYears with the number), and the
-- references to them still to check (a reference naming several resources: rows of one grp)
CREATE TABLE facts (iri TEXT NOT NULL, kind TEXT NOT NULL, value TEXT, datatype TEXT);
CREATE INDEX facts_by_iri ON facts (iri, kind);
CREATE TABLE pending (
    grp INTEGER NOT NULL, shape TEXT NOT NULL, focus TEXT NOT NULL, value TEXT NOT NULL,
    term TEXT NOT NULL, kind TEXT NOT NULL, ref TEXT NOT NULL
);
CREATE INDEX pending_by_grp ON pending (grp);
"""


class FindingList(ListLike, Sequence[Finding]):
    """A validation's findings, sorted (violations, warnings, notes; then by focus node, message
    and value: the findings of one property with several values come in the same order whichever
    engine, SPARQL or Python, made them), kept on disk and read a page at a time:
    ``of(severity)`` is the part of one severity, a contiguous range of the list."""

    def __init__(self, items: SpilledList[Finding], counts: Mapping[Severity, int], start: int = 0) -> None:
        self.items = items
        self.counts = dict(counts)
        self.start = start

    @classmethod
    def from_rows(cls, rows: SpilledList[ResultRow], locations: Mapping[str, Location]) -> FindingList:
        """The findings of ``rows`` (``make_finding``), sorted as ``_order`` sorts, then by value."""
        rows.flush()
        with rows.spill.batch():
            return cls._sorted(rows, locations)

    @classmethod
    def _sorted(cls, rows: SpilledList[ResultRow], locations: Mapping[str, Location]) -> FindingList:
        db = rows.spill.db
        counts = dict.fromkeys(_RANK, 0)
        batch: list[tuple[int, str, str, str | None, bytes]] = []
        insert = "INSERT INTO unsorted (rank, focus, message, value, blob) VALUES (?, ?, ?, ?, ?)"
        for shape, focus, _m, value in rows:
            text = str(value) if value is not None else None
            f = make_finding(shape, focus, text, locations)
            counts[f.severity] += 1
            batch.append(
                (_RANK[f.severity], f.focus or "", f.message, text, pickle.dumps(f, pickle.HIGHEST_PROTOCOL))
            )
            if len(batch) >= PAGE:
                db.executemany(insert, batch)
                batch.clear()
        db.executemany(insert, batch)
        # SQLite compares TEXT as UTF-8 bytes: the order of code points, as Python compares str
        db.execute(
            "INSERT INTO items (kind, n, blob) SELECT 'findings',"
            " row_number() OVER (ORDER BY rank, focus, message, value, seq) - 1, blob FROM unsorted"
        )
        db.execute("DELETE FROM unsorted")
        return cls(SpilledList(rows.spill, "findings"), counts)

    def count(self, severity: Severity) -> int:  # type: ignore[override]
        return self.counts.get(severity, 0)

    def of(self, severity: Severity) -> FindingList:
        start = self.start + sum(n for s, n in self.counts.items() if _RANK[s] < _RANK[severity])
        return FindingList(self.items, {severity: self.counts.get(severity, 0)}, start)

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __iter__(self) -> Iterator[Finding]:
        return self.items.iter_range(self.start, self.start + len(self))

    @overload
    def __getitem__(self, index: int) -> Finding: ...
    @overload
    def __getitem__(self, index: slice) -> list[Finding]: ...
    def __getitem__(self, index: int | slice) -> Finding | list[Finding]:
        if isinstance(index, slice):
            begin, end, step = index.indices(len(self))
            if step == 1:
                return list(self.items.iter_range(self.start + begin, self.start + max(begin, end)))
            return [self[i] for i in range(begin, end, step)]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.items[self.start + index]


@dataclass
class ValidationReport:
    """What validation found. ``graph`` is the ``sh:ValidationReport`` itself, as RDF.

    The graph is built from ``rows`` when first asked for: a big study can have tens of
    thousands of notes (sh:Info), and their rdflib graph would cost hundreds of MB that a build
    which only counts findings never needs. For the same reason ``run_checks`` keeps the rows
    and the findings on disk (``result_rows``, ``FindingList``): sequences read as needed.
    """

    conforms: bool
    findings: Sequence[Finding] = field(default_factory=list)
    rows: Sequence[ResultRow] = field(default_factory=list)
    engine: str = "sparql"

    @cached_property
    def graph(self) -> Graph:
        return report_graph(self.rows, self.conforms)

    def of(self, severity: Severity) -> Sequence[Finding]:
        """The findings of one severity, in order."""
        if isinstance(self.findings, FindingList):
            return self.findings.of(severity)
        return [f for f in self.findings if f.severity is severity]

    def count(self, severity: Severity) -> int:
        if isinstance(self.findings, FindingList):
            return self.findings.count(severity)
        return sum(1 for f in self.findings if f.severity is severity)

    @property
    def violations(self) -> Sequence[Finding]:
        return self.of(Severity.VIOLATION)

    @property
    def warnings(self) -> Sequence[Finding]:
        return self.of(Severity.WARNING)

    def render(self, fmt: str = "text") -> str:
        """``text`` for people; ``turtle`` / ``json`` (JSON-LD) give the sh:ValidationReport."""
        if fmt == "turtle":
            return self.graph.serialize(format="turtle")
        if fmt == "json":
            return json.dumps(json.loads(self.graph.serialize(format="json-ld")), indent=2)
        lines = [str(f) for f in self.findings]
        verdict = "conforms" if self.conforms else f"does NOT conform: {len(self.violations)} violation(s)"
        lines.append(f"Validation {verdict}; {len(self.warnings)} warning(s).")
        return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Shapes and checks, read once


@dataclass(frozen=True)
class ShapeInfo:
    iri: str
    node_shape: str  # the node shape a constraint belongs to (pyshacl's sh:sourceShape)
    severity: Severity
    message: str
    path: str | None


@lru_cache(maxsize=1)
def shapes_graph() -> Graph:
    graph = Graph()
    for path in sorted(SHAPES_DIR.glob("*.ttl")):
        graph.parse(path, format="turtle")
    return graph


@lru_cache(maxsize=1)
def shape_infos() -> dict[str, ShapeInfo]:
    """Every shape or SPARQL constraint that carries a message, by IRI."""
    g = shapes_graph()
    owner: dict[str, str] = {}
    for node, _, constraint in g.triples((None, SH.sparql, None)):
        owner[str(constraint)] = str(node)
    infos = {}
    for subject, _, message in g.triples((None, SH.message, None)):
        severity = _SEVERITY.get(g.value(subject, SH.severity), Severity.VIOLATION)  # type: ignore[arg-type,call-overload]
        path = g.value(subject, SH.path)
        infos[str(subject)] = ShapeInfo(
            iri=str(subject),
            node_shape=owner.get(str(subject), str(subject)),
            severity=severity,
            message=str(message),
            path=str(path) if isinstance(path, URIRef) else None,
        )
    return infos


@dataclass(frozen=True)
class Check:
    name: str
    shape: str
    sparql: str


@lru_cache(maxsize=1)
def data_checks() -> tuple[Check, ...]:
    checks = []
    for path in sorted(CHECKS_DIR.glob("data-*.rq")):
        text = path.read_text(encoding="utf-8")
        found = re.search(r"^#\+ shape:\s*(\S+)", text, re.M)
        if found:
            checks.append(Check(path.stem, found.group(1), text))
    return tuple(checks)


# ------------------------------------------------------------------------------------------
# Findings and the sh:ValidationReport graph


def _short(value: str) -> str:
    return value if len(value) <= 80 else value[:77] + "..."


def make_finding(shape: str, focus: str, value: str | None, locations: Mapping[str, Location]) -> Finding:
    info = shape_infos().get(shape)
    severity = info.severity if info else Severity.VIOLATION
    message = info.message if info else f"breaks {shape}"
    where = focus.rsplit("/id/", 1)[-1]
    return Finding(
        severity=severity,
        message=f"[{where}] {message}",
        location=_locate(focus, locations),
        focus=focus,
        value=_short(value) if value is not None else None,
        expected=None,
    )


def _locate(focus: str, locations: Mapping[str, Location]) -> Location | None:
    node = focus
    while node:
        if node in locations:
            return locations[node]
        if "/" not in node:
            return None
        node = node.rsplit("/", 1)[0]
    return None


def report_graph(rows: Iterable[ResultRow], conforms: bool) -> Graph:
    """An ``sh:ValidationReport`` for (shape, focus, message, value) rows."""
    g = Graph()
    g.bind("sh", SH)
    report = rdflib.BNode()
    g.add((report, RDF.type, SH.ValidationReport))
    g.add((report, SH.conforms, rdflib.Literal(conforms)))
    infos = shape_infos()
    for shape, focus, _message, value in rows:
        info = infos.get(shape)
        result = rdflib.BNode()
        g.add((report, SH.result, result))
        g.add((result, RDF.type, SH.ValidationResult))
        g.add((result, SH.focusNode, URIRef(focus)))
        g.add(
            (result, SH.sourceShape, URIRef(info.node_shape if info and info.node_shape != shape else shape))
        )
        if info and info.node_shape != shape:
            g.add((result, SH.sourceConstraint, URIRef(shape)))
        if info:
            g.add((result, SH.resultSeverity, _SH_SEVERITY[info.severity]))
            g.add((result, SH.resultMessage, rdflib.Literal(info.message)))
            if info.path:
                g.add((result, SH.resultPath, URIRef(info.path)))
        if value is not None:
            g.add((result, SH.value, value))
    return g


def _to_rdflib(term: ox.NamedNode | ox.BlankNode | ox.Literal | ox.Triple) -> rdflib.term.Node:
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return rdflib.BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return rdflib.Literal(term.value, lang=term.language)
        dtype = term.datatype.value
        if dtype == "http://www.w3.org/2001/XMLSchema#string":
            return rdflib.Literal(term.value)
        return rdflib.Literal(term.value, datatype=URIRef(dtype))
    raise TypeError(f"unsupported term {term!r}")


def to_rdflib_triples(triples: Iterable[ox.Triple]) -> Iterator[tuple[rdflib.term.Node, ...]]:
    for t in triples:
        yield (_to_rdflib(t.subject), _to_rdflib(t.predicate), _to_rdflib(t.object))


# ------------------------------------------------------------------------------------------
# SPARQL engine


def _return_freed_memory() -> None:
    """Hand memory freed by a closed store back to the system (glibc keeps it otherwise)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to do
        return
    libc.malloc_trim(0)


def _check_groups(checks: Iterable[Check]) -> Iterator[list[Check]]:
    """The checks by what they look at (``data-event-*``, ``data-transcript-*`` ...), in order."""
    for _, group in itertools.groupby(checks, key=lambda c: c.name.split("-")[1]):
        yield list(group)


def run_checks(
    store: ox.Store | Path,
    graphs: Iterable[str] | None,
    locations: Mapping[str, Location],
    *,
    skip: Collection[str] = (),
    extra: Iterable[ResultRow] = (),
) -> ValidationReport:
    """Run every ``data-*.rq`` check over ``graphs`` of ``store`` (their union is the default graph).

    ``graphs=None``: the union of all the store's named graphs — for a scratch store holding just
    the study, and 3-5x faster in pyoxigraph 0.5 than naming the same graphs (bench/RESULTS.md).
    ``skip`` names checks (file stems) already done another way, whose rows come in ``extra``.

    ``store`` as a directory (a scratch store the build has written): each group of checks runs
    on its own read-only handle, closed before the next group. RocksDB keeps what a query read in
    the handle's caches until it is closed; over all groups that was ~140 MB at 100x (the whole
    store read once), one group at a time the most is one group's share.

    The rows and findings are kept on disk (``result_rows``); ``extra`` made by
    ``result_rows`` is taken over (appended to), not copied.
    """
    options: dict[str, object] = (
        {"use_default_graph_as_union": True}
        if graphs is None
        else {"default_graph": [ox.NamedNode(g) for g in graphs]}
    )
    if isinstance(extra, SpilledList) and extra.kind == "rows":
        rows: SpilledList[ResultRow] = extra
    else:
        rows = result_rows()
        for row in extra:
            rows.append(row)
    for group in _check_groups(c for c in data_checks() if c.name not in skip):
        handle = ox.Store.read_only(str(store)) if isinstance(store, Path) else store
        for check in group:
            for solution in handle.query(check.sparql, **options):  # type: ignore[arg-type,union-attr]
                focus = solution["this"]
                if focus is None:
                    continue
                value = solution["value"]
                found = _to_rdflib(value) if value is not None else None
                rows.append((check.shape, focus.value, None, found))
        if handle is not store:
            del handle
            _return_freed_memory()
    findings = FindingList.from_rows(rows, locations)
    conforms = findings.count(Severity.VIOLATION) == 0
    return ValidationReport(conforms, findings, rows, "build" if skip else "sparql")


@lru_cache(maxsize=1)
def _check_shapes() -> dict[str, str]:
    """Check name -> constraint IRI, read from the ``.rq`` headers."""
    return {c.name: c.shape for c in data_checks()}


def check_selectors(chunk: LiftChunk, nodes: dict[str, _Node] | None = None) -> list[ResultRow]:
    """Python twins of the excerpt and transcript text checks, per lifted chunk: what a chunk can
    decide alone (``PythonChecks`` adds the metadata checks, which need other chunks too).

    Position: ``0 <= start < end <= text length``. Exact: ``oa:exact`` equals the text between the
    offsets, sliced like SPARQL's ``SUBSTR(?text, ?start + 1, ?end - ?start)`` (clipped to the
    text; empty when ``end <= start``). Target, body and shortcut: ``check_excerpts``. Texts and
    lengths: ``check_transcripts``.
    """
    shapes = _check_shapes()
    position_shape, exact_shape = shapes["data-annotation-position"], shapes["data-annotation-exact"]
    nodes = _nodes(chunk) if nodes is None else nodes
    rows: list[ResultRow] = check_excerpts(chunk, nodes)
    rows += check_transcripts(chunk, nodes)
    for sel in chunk.selectors:
        text = chunk.texts.get(sel.source)
        start, end = sel.start, sel.end
        if text is None or not (0 <= start < end <= len(text)):
            rows.append((position_shape, sel.annotation, None, rdflib.Literal(f"{start}-{end}")))
        if text is not None and sel.exact != text[max(start, 0) : max(end, 0)]:
            rows.append((exact_shape, sel.annotation, None, rdflib.Literal(sel.exact)))
    return rows


_RDF_TYPE = RDF_NS + "type"
_OA_ANNOTATION = OA_NS + "Annotation"
_HMP_TRANSCRIPT = HMP_NS + "Transcript"
_CONCEPT_SCHEME = SKOS_NS + "ConceptScheme"
#: predicate IRI -> the slot of ``_Node`` that collects its objects
_SLOTS = {
    OA_NS + "hasTarget": "targets",
    OA_NS + "hasBody": "bodies",
    OA_NS + "hasSource": "sources",
    HMP_NS + "inStudy": "studies",
    HMP_NS + "inTranscript": "transcripts",
    HMP_NS + "narratedBy": "narrators",
    HMP_NS + "narrator": "narrators",
    HMP_NS + "inStory": "stories",
}
#: predicate IRI -> the slot of ``_Node`` that collects its objects as terms
_TERM_SLOTS = {HMP_NS + "fullText": "full_texts", HMP_NS + "textLength": "text_lengths"}
#: the predicates whose objects ``_Node.values`` keeps as terms, by predicate (the metadata checks)
_VALUED = frozenset(
    [
        *(
            HMP_NS + local
            for local in (
                "ofParticipant",
                "stage",
                "careerYear",
                "interviewee",
                "careerLengthBand",
                "careerYears",
                "primaryOccupation",
                "roleType",
                "startCareerYear",
                "endCareerYear",
                "aboutInitiative",
                "toldIn",
                "transcriptOf",
                "narrator",
            )
        ),
        ORG_NS + "member",
        SKOS_NS + "inScheme",
    ]
)
_KEPT = frozenset(_SLOTS) | frozenset(_TERM_SLOTS) | _VALUED

#: What ``PythonChecks`` needs to know of a resource lifted in another chunk: whether it is a
#: participant, an interview or a transcript (kind -> the class it must be an instance of, through
#: ``rdfs:subClassOf*`` as the twins' ``a/rdfs:subClassOf*`` has it).
_KINDS = {kind: HMP_NS + kind for kind in ("Participant", "Interview", "Transcript")}
#: The other facts ``PythonChecks`` keeps: a concept's schemes and which resources are concept
#: schemes (a role type may be one of the study's concepts, in the study's own scheme), and a
#: participant's career years (an event's career year may not be later).
_IN_SCHEME, _SCHEME, _CAREER_YEARS = "inScheme", "ConceptScheme", "careerYears"

_Value = ox.NamedNode | ox.BlankNode | ox.Literal


@dataclass
class _Node:
    types: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    studies: list[str] = field(default_factory=list)
    transcripts: list[str] = field(default_factory=list)
    narrators: list[str] = field(default_factory=list)
    stories: list[str] = field(default_factory=list)
    # the terms themselves (a datatype or a length is checked), for check_transcripts
    full_texts: list[_Value] = field(default_factory=list)
    text_lengths: list[_Value] = field(default_factory=list)
    # predicate IRI -> its objects (``_VALUED``), for the metadata checks (``PythonChecks``)
    values: dict[str, list[_Value]] = field(default_factory=dict)

    def of(self, local: str, namespace: str = HMP_NS) -> list[_Value]:
        """The distinct objects of ``namespace + local``, in the order they were lifted."""
        return list(dict.fromkeys(self.values.get(namespace + local, ())))


@cache
def _subclasses(cls: str) -> frozenset[str]:
    """``cls`` and its subclasses in the ontology (oa:Annotation: hmp:CodedExcerpt; hmp:Participant:
    the defined participant classes): what ``sh:targetClass`` / ``a/rdfs:subClassOf*`` selects."""
    below: dict[str, set[str]] = {}
    for t in ontology_facts().triples:
        sub, sup = t.subject, t.object
        if t.predicate.value == RDFS_NS + "subClassOf" and isinstance(sub, ox.NamedNode):
            if isinstance(sup, ox.NamedNode):
                below.setdefault(sup.value, set()).add(sub.value)
    found, todo = set(), [cls]
    while todo:
        one = todo.pop()
        if one not in found:
            found.add(one)
            todo.extend(below.get(one, ()))
    return frozenset(found)


@lru_cache(maxsize=1)
def _concept_schemes() -> frozenset[str]:
    """The ontology's concept schemes (``a skos:ConceptScheme``)."""
    return frozenset(iri for iri, types in ontology_facts().types.items() if _CONCEPT_SCHEME in types)


@lru_cache(maxsize=1)
def _ontology_concepts() -> frozenset[str]:
    """The ontology's concepts whose every scheme is a concept scheme (``hmpsh:KnownConcept``)."""
    schemes = _concept_schemes()
    return frozenset(c for c, of in ontology_facts().schemes.items() if of and of <= schemes)


@lru_cache(maxsize=1)
def _kept_types() -> frozenset[ox.NamedNode]:
    """The classes ``_nodes`` records: those the checks select or look for."""
    classes = {*_subclasses(_OA_ANNOTATION), _CONCEPT_SCHEME}
    classes |= {HMP_NS + c for c in ("ActivationEvent", "Interview", "RoleHolding", "Story")}
    for cls in _KINDS.values():
        classes |= _subclasses(cls)
    return frozenset(ox.NamedNode(c) for c in classes)


def _nodes(chunk: LiftChunk) -> dict[str, _Node]:
    """The facts of a chunk the Python checks read, by subject IRI (one pass over its triples)."""
    nodes: dict[str, _Node] = {}
    types = _kept_types()
    for triples in chunk.graphs.values():
        for t in triples:
            p, o = t.predicate.value, t.object
            if p == _RDF_TYPE:
                if o not in types:
                    continue
            elif p not in _KEPT:
                continue
            subject = t.subject
            if not isinstance(subject, ox.NamedNode | ox.BlankNode):
                continue
            node = nodes.get(subject.value)
            if node is None:
                node = nodes[subject.value] = _Node()
            if p == _RDF_TYPE:
                node.types.append(o.value)  # type: ignore[union-attr]
                continue
            if p in _VALUED and not isinstance(o, ox.Triple):
                node.values.setdefault(p, []).append(o)
            if (term_slot := _TERM_SLOTS.get(p)) is not None:
                if not isinstance(o, ox.Triple):
                    getattr(node, term_slot).append(o)
            elif (slot := _SLOTS.get(p)) is None:
                continue
            elif isinstance(o, ox.NamedNode):
                getattr(node, slot).append(o.value)
            else:  # a literal where an IRI belongs: kept, it names no resource
                getattr(node, slot).append(f'"{o.value}"' if isinstance(o, ox.Literal) else str(o))
    return nodes


def check_excerpts(chunk: LiftChunk, nodes: dict[str, _Node] | None = None) -> list[ResultRow]:
    """Python twin of ``data-annotation-target.rq``, ``-body``, ``-shortcut`` and ``-story``, per chunk.

    Read from the chunk's own triples: each excerpt is lifted in the chunk of its transcript, so a
    target pointing at a transcript lifted elsewhere is reported (the lifter never writes one).
    Target: exactly one target with exactly one source, a transcript of the excerpt's study.
    Body: exactly one code, an ontology concept in a scheme or one of the study's own concepts.
    Shortcut: one ``hmp:inTranscript`` equal to the target's source, one ``hmp:narratedBy``
    equal to that transcript's narrator. Story: at least one ``hmp:inStory`` (a note, not an error).
    Excerpts are the instances of oa:Annotation and its subclasses, as ``sh:targetClass`` has it.
    """
    shapes = _check_shapes()
    target_shape = shapes["data-annotation-target"]
    body_shape, shortcut_shape = shapes["data-annotation-body"], shapes["data-annotation-shortcut"]
    story_shape = shapes["data-annotation-story"]
    known = _ontology_concepts()
    nodes = _nodes(chunk) if nodes is None else nodes
    empty = _Node()
    rows: list[ResultRow] = []

    def row(shape: str, focus: str, value: str | None) -> None:
        rows.append((shape, focus, None, None if value is None else _term(value)))

    annotation = _subclasses(_OA_ANNOTATION)
    for iri, node in nodes.items():
        if annotation.isdisjoint(node.types):
            continue
        if not node.stories:
            row(story_shape, iri, None)
        sources = [s for t in node.targets for s in nodes.get(t, empty).sources]
        # target
        bad_target = (
            not sources
            or not node.studies
            or len(set(node.targets)) > 1
            or any(len(set(nodes.get(t, empty).sources)) > 1 for t in node.targets)
        )
        if not sources:
            row(target_shape, iri, None)
        for source in sources:
            of = nodes.get(source, empty)
            in_study = _HMP_TRANSCRIPT in of.types and bool(set(of.studies) & set(node.studies))
            if bad_target or not in_study:
                row(target_shape, iri, source)
        # body
        bodies = set(node.bodies)
        if not bodies:
            row(body_shape, iri, None)
        elif len(bodies) > 1:
            for body in bodies:
                row(body_shape, iri, body)
        elif not (bodies <= known or bodies <= chunk.study_concepts):
            row(body_shape, iri, next(iter(bodies)))
        # shortcut
        transcripts, narrators = set(node.transcripts), set(node.narrators)
        if not transcripts or not narrators:
            row(shortcut_shape, iri, None)
        for value in transcripts if len(transcripts) > 1 else ():
            row(shortcut_shape, iri, value)
        for value in narrators if len(narrators) > 1 else ():
            row(shortcut_shape, iri, value)
        for value in transcripts:
            if any(source != value for source in sources):
                row(shortcut_shape, iri, value)
        said = {n for t in transcripts for n in nodes.get(t, empty).narrators}
        for value in narrators:
            if any(n != value for n in said):
                row(shortcut_shape, iri, value)
    return rows


def _number(term: object) -> int | float | Decimal | None:
    """The value of a numeric literal (SPARQL ``isNumeric``: a numeric datatype and a valid form)."""
    if not isinstance(term, ox.Literal):
        return None
    read = NUMBERS.get(term.datatype.value)
    if read is None:
        return None
    try:
        return read(term.value.strip())
    except (ValueError, ArithmeticError):
        return None


def _single_typed(
    values: list[ox.NamedNode | ox.BlankNode | ox.Literal], datatype: str
) -> list[ox.NamedNode | ox.BlankNode | ox.Literal | None]:
    """The ``?value``s a ``sh:minCount 1; sh:maxCount 1; sh:datatype`` twin reports: none given
    (one unbound row); each value that has another beside it; each literal of another datatype
    (a non-literal has no datatype: an error in SPARQL, so not reported on that ground)."""
    if not values:
        return [None]
    found: list[ox.NamedNode | ox.BlankNode | ox.Literal | None] = []
    for value in dict.fromkeys(values):
        other = any(v != value for v in values)
        wrong = isinstance(value, ox.Literal) and (value.language or value.datatype.value != datatype)
        if other or wrong:
            found.append(value)
    return found


def check_transcripts(chunk: LiftChunk, nodes: dict[str, _Node] | None = None) -> list[ResultRow]:
    """Python twin of ``data-transcript-full-text.rq``, ``-text-length`` and
    ``-text-length-matches``, per chunk: a transcript is lifted with its text, its length and its
    type in one chunk, so these need nothing from elsewhere, and the store's copy of every text
    is never read back (what RocksDB keeps of such a read grows with the study)."""
    shapes = _check_shapes()
    full_text = shapes["data-transcript-full-text"]
    text_length = shapes["data-transcript-text-length"]
    matches = shapes["data-transcript-text-length-matches"]
    nodes = _nodes(chunk) if nodes is None else nodes
    rows: list[ResultRow] = []

    def row(shape: str, focus: str, value: ox.NamedNode | ox.BlankNode | ox.Literal | None) -> None:
        rows.append((shape, focus, None, None if value is None else _to_rdflib(_stored(value))))

    for iri, node in nodes.items():
        if _HMP_TRANSCRIPT in node.types:
            for value in _single_typed(node.full_texts, XSD + "string"):
                row(full_text, iri, value)
            for value in _single_typed(node.text_lengths, XSD + "integer"):
                row(text_length, iri, value)
    for iri, node in nodes.items():
        strings = [
            t
            for t in node.full_texts
            if isinstance(t, ox.Literal) and (t.language or t.datatype.value == XSD + "string")
        ]
        for value in dict.fromkeys(node.text_lengths):
            number = _number(value)
            if number is not None and any(number != len(text.value) for text in strings):
                row(matches, iri, value)
    return rows


@lru_cache(maxsize=1)
def _canonical_store() -> ox.Store:
    return ox.Store()


def _stored(term: _Value) -> _Value:
    """``term`` as the store gives it back, so a Python twin reports the value its SPARQL twin
    reports: oxigraph keeps numbers, booleans, dates by value ("09" is read back as "9", "9.0"
    as "9") and language tags in lower case. Only for the values of result rows (a few)."""
    if not isinstance(term, ox.Literal):
        return term
    store, s = _canonical_store(), ox.NamedNode("urn:x-hmp:value")
    store.add(ox.Quad(s, s, term))
    (quad,) = store.quads_for_pattern(s, s, None)
    store.clear()
    return quad.object  # type: ignore[return-value]


def _not_integer(term: _Value) -> bool | None:
    """SPARQL ``DATATYPE(?term) != xsd:integer``; None (an error) for an IRI or a blank node."""
    if not isinstance(term, ox.Literal):
        return None
    return bool(term.language) or term.datatype.value != XSD + "integer"


def _greater(a: object, b: object) -> bool | None:
    """SPARQL ``?a > ?b`` for numbers (terms or values); None (an error) unless both are numbers.
    (Only numbers reach it: the twins test the datatype first, and a true ``||`` wins.)"""
    x = a if isinstance(a, int | float | Decimal) else _number(a)
    y = b if isinstance(b, int | float | Decimal) else _number(b)
    if x is None or y is None:
        return None
    try:
        return bool(x > y)
    except ArithmeticError:  # a decimal NaN
        return None


def _true(*operands: bool | None) -> bool:
    """Whether a SPARQL ``||`` of ``operands`` passes a FILTER: one of them true (an error is not)."""
    return any(operand is True for operand in operands)


def _in_scheme(value: _Value, scheme: str) -> bool:
    """``?value skos:inScheme <scheme>``, read from the ontology."""
    return isinstance(value, ox.NamedNode) and scheme in ontology_facts().schemes.get(value.value, ())


#: What a value must be, for ``PythonChecks._exactly_one`` / ``_each``: True (it is fine), False
#: (a result row) or a ``_KINDS`` kind or ``_IN_SCHEME`` (fine if the study says so, found out later).
_Verdict = bool | str


def _broken(kind: str, ref: str, value: str, facts: list[tuple[int, str | None, str | None, int]]) -> bool:
    """Whether a reference ``PythonChecks`` kept makes a result row, from the ``facts`` about the
    resource it names, as (found, value, datatype, a concept scheme) rows of the join."""
    if kind == _CAREER_YEARS:  # ``value``, the event's career year, is after some career years
        return any(
            found
            and years is not None
            and datatype is not None
            and _greater(int(value), NUMBERS[datatype](years.strip()))
            for found, years, datatype, _scheme in facts
        )
    if kind == _IN_SCHEME:  # not a concept whose every scheme (at least one) is a concept scheme
        of = ontology_facts().schemes.get(ref, frozenset()) | {s for found, s, _d, _c in facts if found}
        declared = {s for found, s, _d, scheme in facts if found and scheme}
        return not of or not of <= (_concept_schemes() | declared)
    return not any(found for found, *_ in facts)  # not a participant, interview or transcript


class PythonChecks:
    """The checks ``hmp build`` runs in Python (``PYTHON_CHECKS``) as the study is lifted:
    ``check(chunk)`` for each lifted chunk, in order, then ``finish()`` for the rows.

    Per chunk, ``check_selectors`` (excerpts, transcript texts) and the twins of the metadata
    checks (events, interviews, participants, role holdings, stories, transcripts), read from the
    chunk's own triples (``_nodes``): the lifter lifts each of those resources whole in one chunk.
    What a resource refers to may be lifted in another chunk: a transcript's narrator and interview,
    a story's transcript (typed in a later chunk), an interview's interviewee, an event's and a
    role holding's participant, that participant's career years, a role type that is one of the
    study's concepts. Such a reference is kept as ``pending`` in the rows' spill (SQLite, on disk),
    and each chunk's facts about what it lifts (which resources are participants, interviews,
    transcripts, study concepts; each participant's career years) as ``facts``; ``finish``
    resolves them with one query, a page at a time. Nothing kept in Python grows with the study.
    """

    def __init__(self, rows: SpilledList[ResultRow] | None = None) -> None:
        self.rows = result_rows() if rows is None else rows
        self.db = self.rows.spill.db
        self._groups = 0  # a reference's id: several rows of ``pending`` when it names several

    def check(self, chunk: LiftChunk) -> None:
        nodes = _nodes(chunk)
        self.rows.extend(check_selectors(chunk, nodes))
        facts: list[tuple[str, str, str | None, str | None]] = []
        pending: list[tuple[int, str, str, str, str, str, str]] = []
        self.rows.extend(self._metadata(nodes, pending))
        self._facts(nodes, facts)
        if facts or pending:
            with self.rows.spill.batch():
                self.db.executemany("INSERT INTO facts VALUES (?, ?, ?, ?)", facts)
                self.db.executemany("INSERT INTO pending VALUES (?, ?, ?, ?, ?, ?, ?)", pending)

    def finish(self) -> SpilledList[ResultRow]:
        """The rows of every chunk checked, and of the references found broken once all is lifted."""
        integer = rdflib.URIRef(XSD + "integer")
        terms: dict[str, Callable[[str], rdflib.term.Node]] = {
            "I": rdflib.URIRef,
            "B": rdflib.BNode,
            "L": lambda v: rdflib.Literal(v, datatype=integer),
        }
        for low in range(0, self._groups, PAGE):
            # each reference with what the study said of what it names (and, for a concept's
            # schemes, whether the study declared them concept schemes)
            found = self.db.execute(
                "SELECT p.grp, p.shape, p.focus, p.value, p.term, p.kind, p.ref, f.iri IS NOT NULL,"
                " f.value, f.datatype, s.iri IS NOT NULL FROM pending p"
                " LEFT JOIN facts f ON f.iri = p.ref AND f.kind = p.kind"
                " LEFT JOIN facts s ON p.kind = ? AND s.iri = f.value AND s.kind = ?"
                " WHERE p.grp >= ? AND p.grp < ? ORDER BY p.grp",
                (_IN_SCHEME, _SCHEME, low, low + PAGE),
            ).fetchall()
            for _, group in itertools.groupby(found, key=lambda r: r[0]):
                got = list(group)
                _, shape, focus, value, term, kind, ref = got[0][:7]
                if _broken(kind, ref, value, [r[7:] for r in got]):
                    self.rows.append((shape, focus, None, terms[term](value)))
        return self.rows

    def _facts(self, nodes: dict[str, _Node], facts: list[tuple[str, str, str | None, str | None]]) -> None:
        """What the chunk says of the resources it lifts that a reference from elsewhere may need."""
        for iri, node in nodes.items():
            for kind, cls in _KINDS.items():
                if not _subclasses(cls).isdisjoint(node.types):
                    facts.append((iri, kind, None, None))
            for years in node.of("careerYears"):
                if _number(years) is not None:  # anything else is no number to compare with
                    assert isinstance(years, ox.Literal)
                    facts.append((iri, _CAREER_YEARS, years.value, years.datatype.value))
            # the study's concepts and scheme ('"' marks a literal: it is no scheme)
            for scheme in node.of("inScheme", SKOS_NS):
                key = f'"{scheme.value}' if isinstance(scheme, ox.Literal) else scheme.value
                facts.append((iri, _IN_SCHEME, key, None))
            if _CONCEPT_SCHEME in node.types:
                facts.append((iri, _SCHEME, None, None))

    def _metadata(
        self, nodes: dict[str, _Node], pending: list[tuple[int, str, str, str, str, str, str]]
    ) -> list[ResultRow]:
        """Twins of the event, interview, participant, role holding, story and transcript checks
        (each ``.rq`` file's ``SELECT DISTINCT ?this ?value``): rows now, or references to resolve
        (appended to ``pending``)."""
        shapes = _check_shapes()
        rows: list[ResultRow] = []

        def row(name: str, focus: str, value: _Value | None) -> None:
            rows.append((shapes[name], focus, None, None if value is None else _to_rdflib(_stored(value))))

        def refer(name: str, focus: str, value: _Value, kind: str, refs: Iterable[str]) -> None:
            term = "B" if isinstance(value, ox.BlankNode) else "L" if isinstance(value, ox.Literal) else "I"
            text = _stored(value).value
            for ref in refs:
                pending.append((self._groups, shapes[name], focus, text, term, kind, ref))
            self._groups += 1

        def each(name: str, focus: str, values: list[_Value], verdict: Callable[[_Value], _Verdict]) -> None:
            """``EXISTS { ?this p ?other . FILTER (?other != ?value) } || <not verdict>`` per value."""
            for value in values:
                fine = verdict(value) if len(values) == 1 else False
                if isinstance(fine, str) and isinstance(value, ox.Literal):
                    fine = False  # a literal is an instance of nothing, and in no scheme
                if isinstance(fine, str):
                    refer(name, focus, value, fine, [value.value])
                elif not fine:
                    row(name, focus, value)

        def exactly_one(
            name: str, focus: str, values: list[_Value], verdict: Callable[[_Value], _Verdict]
        ) -> None:
            """As ``each``, and the unbound row when there is no value."""
            if not values:
                row(name, focus, None)
            each(name, focus, values, verdict)

        def scheme(iri: str) -> Callable[[_Value], _Verdict]:
            return lambda value: _in_scheme(value, HMP_NS + iri)

        def kind(name: str) -> Callable[[_Value], _Verdict]:
            return lambda _value: name

        def known_concept(value: _Value) -> _Verdict:
            return value.value in _ontology_concepts() or _IN_SCHEME

        def career_years(value: _Value) -> _Verdict:
            return not _true(_not_integer(value), _greater(0, value))

        for iri, node in nodes.items():
            types = node.types
            if HMP_NS + "ActivationEvent" in types:
                participants = node.of("ofParticipant")
                exactly_one("data-event-participant", iri, participants, kind("Participant"))
                exactly_one("data-event-stage", iri, node.of("stage"), scheme("ActivationStageScheme"))
                for value in node.of("careerYear"):
                    if _true(_not_integer(value), _greater(1, value)):
                        row("data-event-career-year", iri, value)
                    elif _not_integer(value) is False and _number(value) is not None and participants:
                        refs = [p.value for p in participants if not isinstance(p, ox.Literal)]
                        refer("data-event-career-year", iri, value, _CAREER_YEARS, refs)
            if HMP_NS + "Interview" in types:
                exactly_one("data-interview-interviewee", iri, node.of("interviewee"), kind("Participant"))
            if HMP_NS + "Participant" in types:
                bands, years = node.of("careerLengthBand"), node.of("careerYears")
                each("data-participant-career-band", iri, bands, scheme("CareerLengthBandScheme"))
                each("data-participant-career-years", iri, years, career_years)
                if not bands and not years:
                    row("data-participant-career", iri, None)
                occupations = node.of("primaryOccupation")
                if not occupations:
                    row("data-participant-occupation-missing", iri, None)
                each("data-participant-occupation", iri, occupations, scheme("OccupationScheme"))
            if HMP_NS + "RoleHolding" in types:
                exactly_one("data-role-holding-member", iri, node.of("member", ORG_NS), kind("Participant"))
                exactly_one("data-role-holding-role-type", iri, node.of("roleType"), known_concept)
                starts = node.of("startCareerYear")
                for value in node.of("endCareerYear"):
                    if any(_true(_not_integer(s), _not_integer(value), _greater(s, value)) for s in starts):
                        row("data-role-holding-years", iri, value)
            if HMP_NS + "Story" in types:
                initiatives = node.of("aboutInitiative")
                if not initiatives:
                    row("data-story-initiative-missing", iri, None)
                each("data-story-initiative", iri, initiatives, scheme("ChangeInitiativeScheme"))
                exactly_one("data-story-told-in", iri, node.of("toldIn"), kind("Transcript"))
            if _HMP_TRANSCRIPT in types:
                exactly_one("data-transcript-interview", iri, node.of("transcriptOf"), kind("Interview"))
                exactly_one("data-transcript-narrator", iri, node.of("narrator"), kind("Participant"))
        return rows


def _term(value: str) -> rdflib.term.Node:
    return rdflib.Literal(value[1:-1]) if value.startswith('"') else rdflib.URIRef(value)


def _order(f: Finding) -> tuple[int, str, str]:
    rank = {Severity.VIOLATION: 0, Severity.WARNING: 1, Severity.INFO: 2}[f.severity]
    return (rank, f.focus or "", f.message)


# ------------------------------------------------------------------------------------------
# SHACL engine (pyshacl per transcript)


@lru_cache(maxsize=1)
def _ontology_context() -> tuple[tuple[rdflib.term.Node, ...], ...]:
    """The ontology facts shapes rely on: scheme membership, scheme and concept types, subclasses."""
    keep = {
        "http://www.w3.org/2004/02/skos/core#inScheme",
        "http://www.w3.org/2000/01/rdf-schema#subClassOf",
    }
    wanted = []
    for t in ontology_facts().triples:
        if t.predicate.value in keep and isinstance(t.object, ox.NamedNode):
            wanted.append(t)
        elif (
            t.predicate.value == str(RDF.type)
            and isinstance(t.object, ox.NamedNode)
            and t.object.value.endswith("ConceptScheme")
        ):
            wanted.append(t)
    return tuple(to_rdflib_triples(wanted))


_DEFERRED = {
    URIRef("https://w3id.org/hmp/ontology#Story"),
    URIRef("http://www.w3.org/2004/02/skos/core#Concept"),
}


def _pyshacl(data: Graph) -> Graph:
    """pyshacl over the whole (small) data graph. Not ``focus_nodes=``: in pyshacl 0.40 that
    mode skips ``sh:node`` checks on value nodes, so callers filter results by focus instead."""
    import pyshacl

    _conforms, results, _text = pyshacl.validate(
        data,
        shacl_graph=shapes_graph(),
        advanced=True,
        inference=None,
        allow_warnings=True,
    )
    return results  # type: ignore[return-value]


class ShaclValidator:
    """Validate lifted chunks one at a time with pyshacl (bounded memory: one transcript)."""

    def __init__(self, locations: Mapping[str, Location]) -> None:
        self.locations = locations
        self.metadata: dict[rdflib.term.Node, list[tuple[rdflib.term.Node, ...]]] = {}
        self.results = Graph()
        self.rows: list[tuple[str, str, str | None, rdflib.term.Node | None]] = []
        self.pending: set[rdflib.term.Node] = set()

    def check(self, chunk: LiftChunk) -> None:
        triples = [t for ts in chunk.graphs.values() for t in to_rdflib_triples(ts)]
        subjects = {t[0] for t in triples}
        if chunk.part == "metadata":
            for t in triples:
                self.metadata.setdefault(t[0], []).append(t)
            # Stories and study concepts are checked with the transcript that tells / uses them.
            deferred = {t[0] for t in triples if t[1] == RDF.type and t[2] in _DEFERRED}
            self.pending |= deferred
            # a big study's metadata comes in several chunks: one hop reaches what an earlier
            # chunk said (an event's participant, for its career years)
            self._validate(triples, subjects - deferred, hops=1, claim_pending=False)
        else:
            self._validate(triples, subjects, hops=2)

    def _validate(
        self,
        triples: list[tuple[rdflib.term.Node, ...]],
        focus_nodes: set[rdflib.term.Node],
        hops: int,
        *,
        claim_pending: bool = True,
    ) -> None:
        data = Graph()
        for t in _ontology_context():
            data.add(t)  # type: ignore[arg-type]
        for t in triples:
            data.add(t)  # type: ignore[arg-type]
        subjects = {t[0] for t in triples}
        frontier = {t[2] for t in triples} | {
            s for s, ts in self.metadata.items() if any(t[2] in subjects for t in ts)
        }
        seen: set[rdflib.term.Node] = set()
        for _ in range(hops):
            nxt: set[rdflib.term.Node] = set()
            for node in frontier - seen:
                seen.add(node)
                for t in self.metadata.get(node, []):
                    data.add(t)  # type: ignore[arg-type]
                    nxt.add(t[2])
            frontier = nxt
        extra = self.pending & seen if claim_pending else set()
        self.pending -= extra
        focus = sorted(n for n in focus_nodes | extra if isinstance(n, URIRef))
        if not focus:
            return
        results = _pyshacl(data)
        wanted = set(focus)
        for result in list(results.subjects(RDF.type, SH.ValidationResult)):
            assert result is not None
            node = results.value(result, SH.focusNode)  # type: ignore[assignment]
            if node not in wanted:
                continue
            constraint = results.value(result, SH.sourceConstraint)
            shape = results.value(result, SH.sourceShape)
            key = (
                str(constraint)
                if isinstance(constraint, URIRef) and str(constraint) in shape_infos()
                else str(shape)
            )
            self.rows.append((key, str(node), None, results.value(result, SH.value)))

    def report(self) -> ValidationReport:
        if self.pending:  # stories / study concepts no transcript referred to
            leftover = [t for node in self.pending for t in self.metadata.get(node, [])]
            pending, self.pending = set(self.pending), set()
            self._validate(leftover, pending, hops=2)
        unique = sorted(set(self.rows), key=lambda r: (r[0], r[1], str(r[3])))
        seen: set[tuple[str, str]] = set()
        findings = []
        for shape, focus, _m, value in unique:
            if (shape, focus) in seen:
                continue
            seen.add((shape, focus))
            findings.append(
                make_finding(shape, focus, str(value) if value is not None else None, self.locations)
            )
        conforms = not any(f.severity is Severity.VIOLATION for f in findings)
        findings.sort(key=_order)
        return ValidationReport(conforms, findings, unique, "shacl")


# ------------------------------------------------------------------------------------------
# Public entry point


def validate(
    source: Study | Iterable[tuple[str, Iterable[ox.Triple]]], *, engine: str = "sparql"
) -> ValidationReport:
    """Validate a study (lifted on the fly) or already-lifted ``(graph, triples)`` pairs."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if isinstance(source, Study):
        lifter = Lifter(source)
        chunks: Iterable[LiftChunk] = lifter.chunks()
        locations: Mapping[str, Location] = lifter.locations
    else:
        pairs = list(source)
        one = LiftChunk("metadata", None)
        for graph, triples in pairs:
            one.graphs.setdefault(graph, []).extend(triples)
        chunks, locations = [one], {}
    if engine == "shacl":
        validator = ShaclValidator(locations)
        for chunk in chunks:
            validator.check(chunk)
        return validator.report()
    # Lifted pairs are not chunks as the lifter makes them (selector records, each resource
    # whole in one chunk): the SPARQL twins check them instead.
    in_python = engine == "build" and isinstance(source, Study)
    workdir = Path(tempfile.mkdtemp(prefix="hmp-validate-"))
    python = PythonChecks()
    try:
        store = ox.Store(str(workdir))

        def quads() -> Iterator[ox.Quad]:
            for t in ontology_facts().triples:
                yield ox.Quad(t.subject, t.predicate, t.object, ox.NamedNode(ONTOLOGY_GRAPH))
            for chunk in chunks:
                if in_python:
                    python.check(chunk)
                for graph, triples in chunk.graphs.items():
                    g = ox.NamedNode(graph)
                    for t in triples:
                        yield ox.Quad(t.subject, t.predicate, t.object, g)

        bulk_extend_batched(store, quads())
        # The scratch store holds only the study and the ontology: check their union.
        if in_python:
            report = run_checks(store, None, locations, skip=PYTHON_CHECKS, extra=python.finish())
        else:
            report = run_checks(store, None, locations)
        del store
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
