"""`hmp` sub-commands: queries (the catalogue), query (a canned query by name), sparql (ad hoc)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from kg.errors import QueryError

if TYPE_CHECKING:
    from kg.charts import ChartHint
    from kg.queries import CannedQuery

StoreOpt = Annotated[
    Path | None, typer.Option("--store", help="Embedded store directory (default: $HMP_STORE or .hmp-store).")
]
StoreUrlOpt = Annotated[
    str | None,
    typer.Option("--store-url", help="A remote SPARQL 1.1 endpoint instead of the embedded store."),
]
QUERY_FORMATS = ("table", "csv", "json", "svg")
SPARQL_SELECT_FORMATS = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
SPARQL_GRAPH_FORMATS = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
}


def _open(store: Path | None, store_url: str | None):  # type: ignore[no-untyped-def]
    from kg.store import open_remote, open_store

    return open_remote(store_url) if store_url is not None else open_store(store, read_only=True)


#: IRIs shortened in the table view (CSV and JSON keep them whole)
_PREFIXES = (("https://w3id.org/hmp/ontology#", "hmp:"), ("https://w3id.org/hmp/id/", "id:"))


def _short(value: str) -> str:
    for prefix, short in _PREFIXES:
        if value.startswith(prefix):
            return short + value[len(prefix) :]
    return value


def labelled_columns(variables: list[str]) -> list[str]:
    """The IRI columns a table for people can leave out: those shown by a label column beside them
    (``occupation`` when ``occupationLabel`` is there, ``participant`` or the parameter
    ``_participant`` when ``pseudonym`` is)."""
    from kg.queries import label_twins

    hidden = label_twins(variables)
    if "pseudonym" in variables:
        hidden += [v for v in ("participant", "_participant") if v in variables]
    return hidden


def _print_table(variables: list[str], rows: list[dict], title: str, *, iris: bool) -> None:  # type: ignore[type-arg]
    hidden = [] if iris else labelled_columns(variables)
    shown = [v for v in variables if v not in hidden]
    console = Console()
    # whole headers when they fit the terminal side by side (3 columns of padding each); else
    # narrower columns than their headers, every column still shown
    fits = sum(len(v) + 3 for v in shown) <= console.width
    table = Table(title=title, box=box.SIMPLE, pad_edge=False)
    for variable in shown:
        table.add_column(variable, overflow="fold", min_width=len(variable) if fits else None)
    for row in rows:
        table.add_row(*(_short(row[v].value) if v in row else "" for v in shown))
    console.print(table)
    note = f"; not shown, as their labels are: {', '.join(hidden)} (--iris shows them)" if hidden else ""
    typer.echo(f"{len(rows)} row(s){note}")


def queries_command() -> None:
    """List the canned queries: name and the question each answers."""
    from kg.queries import catalogue

    table = Table(title="Canned queries", box=box.SIMPLE, pad_edge=False)
    table.add_column("name", no_wrap=True)
    table.add_column("question")
    table.add_column("parameters")
    for q in catalogue():
        params = ", ".join(f"{p.name}={p.default}" if p.default else p.name for p in q.params)
        table.add_row(q.name, q.summary, params)
    Console().print(table)


def _parse_params(pairs: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise QueryError("a parameter is written name=value", value=pair)
        params[name.strip()] = value
    return params


def query_command(
    name: Annotated[str, typer.Argument(help="A canned query name (see `hmp queries`).")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="A parameter as name=value.")
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="table, csv, json (SPARQL 1.1 results JSON) or svg (the answer drawn)."
        ),
    ] = "table",
    store: StoreOpt = None,
    store_url: StoreUrlOpt = None,
    iris: Annotated[
        bool,
        typer.Option(
            "--iris",
            help="In the table, also the IRI columns whose labels are shown (csv and json have all).",
        ),
    ] = False,
) -> None:
    """Run a canned query by name."""
    from kg.queries import get, run

    if fmt not in QUERY_FORMATS:
        raise QueryError("unknown output format", value=fmt, expected=", ".join(QUERY_FORMATS))
    canned = get(name)  # unknown names fail before the store is opened
    hint = _drawn(canned) if fmt == "svg" else None
    params = _parse_params(param or [])
    backend = _open(store, store_url)
    try:
        result = run(backend, canned.name, params)
    finally:
        backend.close()
    if hint is not None:
        from kg.charts import document

        sys.stdout.buffer.write(document(hint, result.terms, canned.summary) + b"\n")
    elif fmt == "json":
        typer.echo(json.dumps(result.to_sparql_json(), ensure_ascii=False, indent=1))
    elif fmt == "csv":
        sys.stdout.write(result.to_csv())
    elif result.form == "ask":
        typer.echo("true" if result.boolean else "false")
    else:
        _print_table(result.variables, result.term_rows(), f"{canned.name}: {canned.summary}", iris=iris)


def _drawn(canned: CannedQuery) -> ChartHint:
    """The query's chart hint, or QueryError (exit 2) for a query whose answer is not drawn."""
    from kg.charts import drawn_hint
    from kg.queries import catalogue

    drawing = [q.name for q in catalogue() if q.form == "select" and drawn_hint(q.chart)]
    hint = drawn_hint(canned.chart) if canned.form == "select" else None
    if hint is None:
        raise QueryError(
            f"query '{canned.name}' draws no chart (its #+ chart: is '{canned.chart}')",
            expected="table, csv or json for it; svg for " + ", ".join(drawing),
        )
    return hint


def sparql_command(
    query: Annotated[str, typer.Argument(help="A SPARQL query, or a file holding one.")],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="table, csv, json, tsv, xml (results); ttl, nt, jsonld (graphs)."
        ),
    ] = "table",
    store: StoreOpt = None,
    store_url: StoreUrlOpt = None,
) -> None:
    """Run an ad-hoc SPARQL query over the union of the store's graphs."""
    from kg.queries import projection, query_form

    path = Path(query)
    text = (
        path.read_text(encoding="utf-8")
        if len(query) < 4096 and "\n" not in query and path.is_file()
        else query
    )
    form = query_form(text)
    graph_form = form in ("construct", "describe")
    accepted = ["table", *(SPARQL_GRAPH_FORMATS if graph_form else SPARQL_SELECT_FORMATS)]
    if fmt not in accepted:
        raise QueryError(
            f"format not available for a {form.upper()} query", value=fmt, expected=", ".join(accepted)
        )
    backend = _open(store, store_url)
    try:
        if fmt != "table":
            media = (SPARQL_GRAPH_FORMATS if graph_form else SPARQL_SELECT_FORMATS)[fmt]
            raw = backend.query_raw(text, media_type=media)
            sys.stdout.buffer.write(raw.body)
            if not raw.body.endswith(b"\n"):
                sys.stdout.buffer.write(b"\n")
        elif graph_form:
            triples = backend.construct(text)
            rows = [{"subject": t.subject, "predicate": t.predicate, "object": t.object} for t in triples]
            _print_table(["subject", "predicate", "object"], rows, "SPARQL", iris=True)
        elif form == "ask":
            typer.echo("true" if backend.ask(text) else "false")
        else:
            rows = backend.select(text)
            try:
                variables = list(projection(text))
            except QueryError:
                variables = []
            if not variables or "*" in variables:
                variables = sorted({k for row in rows for k in row})
            _print_table(variables, rows, "SPARQL", iris=True)
    finally:
        backend.close()


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("queries")(queries_command)
    app.command("query")(query_command)
    app.command("sparql")(sparql_command)
