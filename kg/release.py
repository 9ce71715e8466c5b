"""Release the ontology: RDF/XML for Protégé and owlready2, the generated vocabulary module, checks.

``ontology/hmp.ttl`` is the only hand-edited file. From it this module derives

* ``ontology/hmp.owl`` — the same graph in RDF/XML (owlready2 cannot read Turtle). The output is
  deterministic: blank nodes get canonical labels and triples are written in sorted order, so
  releasing an unchanged source gives a byte-identical file;
* ``ontology/catalog-v001.xml`` — the Protégé XML catalog mapping the ontology IRI and version
  IRI to ``hmp.owl``, so Protégé resolves the ontology offline;
* ``kg/vocab.py`` — an rdflib ``DefinedNamespace`` listing every term of ours, so a mistyped term
  is an error at the point of use;
* the integrity checks in ``queries/checks/ontology-*.rq``: SPARQL SELECTs that must return no rows.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

from rdflib import OWL, RDF, RDFS, SKOS, BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.query import ResultRow
from rdflib.term import Node

from kg._paths import CHECKS_DIR, ONTOLOGY_DIR, ONTOLOGY_OWL, ONTOLOGY_TTL
from kg.errors import ReadError

HMP_NS = "https://w3id.org/hmp/ontology#"
VOCAB_PY = Path(__file__).resolve().parent / "vocab.py"
ONTOLOGY_CATALOG = ONTOLOGY_DIR / "catalog-v001.xml"
ONTOLOGY_CHECK_GLOB = "ontology-*.rq"
RELEASE_COMMAND = "hmp ontology release"

# rdf:type objects that make an IRI of ours a term worth a name in the vocabulary module.
_TERM_TYPES = (
    OWL.Class,
    OWL.ObjectProperty,
    OWL.DatatypeProperty,
    OWL.AnnotationProperty,
    SKOS.Concept,
    SKOS.ConceptScheme,
)
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Term:
    """One named term of the ontology: local name, full IRI and English label."""

    local: str
    iri: str
    label: str

    @property
    def is_identifier(self) -> bool:
        """True when the local name can be a Python attribute (otherwise it goes in ``_extras``)."""
        return bool(_IDENTIFIER.match(self.local)) and not keyword.iskeyword(self.local)


@dataclass(frozen=True)
class ReleaseResult:
    """What ``release`` wrote."""

    owl_path: Path
    vocab_path: Path
    catalog_path: Path
    triples: int
    terms: int


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one integrity check: its rows are the offending terms (none means passed)."""

    name: str
    summary: str
    path: Path
    variables: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    @property
    def passed(self) -> bool:
        return not self.rows


def load_source(path: Path = ONTOLOGY_TTL) -> Graph:
    """Parse the Turtle source; a syntax error names the file."""
    graph = Graph()
    try:
        graph.parse(path, format="turtle")
    except FileNotFoundError as error:
        raise ReadError("ontology source not found", value=str(path)) from error
    except SyntaxError as error:  # rdflib's Turtle parser raises BadSyntax, a SyntaxError
        raise ReadError(f"ontology source is not valid Turtle: {error}", value=str(path)) from error
    return graph


def _sort_key(triple: tuple[object, object, object]) -> tuple[str, str, str]:
    subject, predicate, obj = triple
    return (str(subject), str(predicate), obj.n3() if isinstance(obj, Literal | URIRef) else str(obj))


class _SortedGraph(Graph):
    """A graph that lists subjects and their predicate-object pairs in sorted order.

    rdflib's RDF/XML serialiser writes subjects in the store's (hash-dependent) order; sorting
    here makes the release byte-for-byte reproducible.
    """

    def subjects(  # type: ignore[override]
        self,
        predicate: Any = None,
        object: Any = None,
        unique: bool = False,
    ) -> Iterator[Node]:
        found = set(super().subjects(predicate, object))
        yield from sorted(found, key=lambda node: (isinstance(node, BNode), str(node)))

    def predicate_objects(  # type: ignore[override]
        self, subject: Any = None, unique: bool = False
    ) -> Iterator[tuple[Node, Node]]:
        pairs = set(super().predicate_objects(subject))
        yield from sorted(pairs, key=lambda pair: (str(pair[0]), pair[1].n3()))


def to_rdfxml(graph: Graph) -> str:
    """The graph as deterministic, flat RDF/XML.

    Blank nodes are canonicalised (``rdflib.compare``) and renamed ``b0``, ``b1`` … in sorted
    order, subjects and their properties are written sorted, prefixes are the source's. Flat (not
    "pretty") XML, because rdflib's pretty serialiser drops triples on list nodes it cannot nest.
    """
    canonical = sorted(to_canonical_graph(graph), key=_sort_key)
    names: dict[BNode, BNode] = {}

    def rename(term: Node) -> Node:
        if isinstance(term, BNode):
            return names.setdefault(term, BNode(f"b{len(names)}"))
        return term

    ordered = _SortedGraph(bind_namespaces="none")
    for prefix, namespace in graph.namespaces():
        ordered.bind(prefix, namespace, override=True)
    for subject, predicate, obj in canonical:
        ordered.add((rename(subject), predicate, rename(obj)))
    return ordered.serialize(format="xml", encoding="utf-8").decode("utf-8")


def ontology_terms(graph: Graph) -> list[Term]:
    """Every IRI in our namespace typed as a class, property, concept or concept scheme."""
    found: dict[str, Term] = {}
    for term_type in _TERM_TYPES:
        for subject in graph.subjects(RDF.type, term_type):
            iri = str(subject)
            if not iri.startswith(HMP_NS) or iri in found:
                continue
            label = graph.value(subject, RDFS.label)
            found[iri] = Term(local=iri.removeprefix(HMP_NS), iri=iri, label=str(label or ""))
    return sorted(found.values(), key=lambda term: term.local)


def _comment(label: str) -> str:
    text = " ".join(label.split())
    return f"  # {text}" if text else ""


def vocab_source(graph: Graph) -> str:
    """Python source of ``kg/vocab.py`` for ``graph`` (formatted as ``ruff format`` leaves it)."""
    terms = ontology_terms(graph)
    named = [term for term in terms if term.is_identifier]
    extras = [term for term in terms if not term.is_identifier]
    lines = [
        f"# GENERATED by `{RELEASE_COMMAND}` from ontology/hmp.ttl. Do not edit by hand:",
        "# edit the ontology and run `make ontology`; tests/test_ontology.py fails when this file is stale.",
        '"""The HMP ontology as an rdflib ``DefinedNamespace``: unknown terms raise ``AttributeError``.',
        "",
        "Hyphenated local names (concepts such as ``occupation-doctor``) are reached by indexing:",
        '``HMP["occupation-doctor"]``.',
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from rdflib import Namespace, URIRef",
        "from rdflib.namespace import DefinedNamespace",
        "",
        "",
        "class HMP(DefinedNamespace):",
        '    """Healthcare micro-politics ontology <https://w3id.org/hmp/ontology#>."""',
        "",
        "    _fail = True",
        f'    _NS = Namespace("{HMP_NS}")',
        "",
    ]
    lines += [f"    {term.local}: URIRef{_comment(term.label)}" for term in named]
    lines += ["", "    _extras = [  # noqa: RUF012 - a list, as rdflib's DefinedNamespace declares it"]
    lines += [f'        "{term.local}",{_comment(term.label)}' for term in extras]
    lines += ["    ]", ""]
    return "\n".join(lines)


def ontology_iris(graph: Graph) -> tuple[str, str]:
    """The ontology IRI and its version IRI, from the header of ``graph``."""
    ontology = graph.value(None, RDF.type, OWL.Ontology)
    version = graph.value(ontology, OWL.versionIRI) if ontology is not None else None
    if ontology is None or version is None:
        raise ReadError("the ontology header lacks an owl:Ontology with an owl:versionIRI")
    return str(ontology), str(version)


def catalog_xml(graph: Graph, owl_name: str) -> str:
    """A Protégé XML catalog resolving the ontology IRI and version IRI to the local release."""
    ontology, version = ontology_iris(graph)
    entries = [("ontology IRI", ontology), ("version IRI", version)]
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
        f"<!-- GENERATED by `{RELEASE_COMMAND}` from ontology/hmp.ttl, for Protégé offline. -->",
        '<catalog prefer="public" xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">',
    ]
    lines += [
        f"    <uri id={quoteattr(what)} name={quoteattr(iri)} uri={quoteattr(owl_name)}/>"
        for what, iri in entries
    ]
    lines += ["</catalog>", ""]
    return "\n".join(lines)


def release(
    *,
    source: Path = ONTOLOGY_TTL,
    owl_path: Path = ONTOLOGY_OWL,
    vocab_path: Path = VOCAB_PY,
    catalog_path: Path = ONTOLOGY_CATALOG,
) -> ReleaseResult:
    """Write the RDF/XML release, the Protégé catalog and the vocabulary module from the source."""
    graph = load_source(source)
    owl_path.write_text(to_rdfxml(graph), encoding="utf-8")
    catalog_path.write_text(catalog_xml(graph, owl_path.name), encoding="utf-8")
    vocab_path.write_text(vocab_source(graph), encoding="utf-8")
    return ReleaseResult(
        owl_path=owl_path,
        vocab_path=vocab_path,
        catalog_path=catalog_path,
        triples=len(graph),
        terms=len(ontology_terms(graph)),
    )


def check_files(directory: Path = CHECKS_DIR, pattern: str = ONTOLOGY_CHECK_GLOB) -> list[Path]:
    """The ontology integrity checks, sorted by name."""
    return sorted(directory.glob(pattern))


def check_summary(path: Path) -> str:
    """The text of the ``#+ summary:`` header line of a check."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#+ summary:"):
            return line.removeprefix("#+ summary:").strip()
    raise ReadError("check has no '#+ summary:' header line", value=str(path))


def _cell(value: object) -> str:
    return "" if value is None else str(value)


def run_check(graph: Graph, path: Path) -> CheckResult:
    """Run one check over ``graph``."""
    result = graph.query(path.read_text(encoding="utf-8"))
    variables = tuple(str(var) for var in result.vars or ())
    rows = tuple(sorted(tuple(_cell(value) for value in row) for row in result if isinstance(row, ResultRow)))
    return CheckResult(name=path.stem, summary=check_summary(path), path=path, variables=variables, rows=rows)


def run_checks(graph: Graph, paths: list[Path] | None = None) -> list[CheckResult]:
    """Run every ontology check (or ``paths``) over ``graph``."""
    return [run_check(graph, path) for path in (paths if paths is not None else check_files())]
