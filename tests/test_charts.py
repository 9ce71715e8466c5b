"""Charts of canned-query answers (``kg.charts``): what each ``#+ chart:`` hint draws.

Every hint in the catalogue must parse and name columns its query returns (run on the fixture
study); each kind must draw one mark per value, sized by the value, with a tooltip that says
what it shows; text from the data is escaped; and what cannot be drawn draws nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg import charts, queries
from kg._query_engines import MemoryStore, load_quads

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "queries" / "fixture-study.trig"
ONTOLOGY = ROOT / "ontology" / "hmp.ttl"
XSD = "http://www.w3.org/2001/XMLSchema#"


def lit(value: object) -> ox.Literal:
    if isinstance(value, bool):
        return ox.Literal("true" if value else "false", datatype=ox.NamedNode(XSD + "boolean"))
    if isinstance(value, int):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "integer"))
    if isinstance(value, float):
        return ox.Literal(str(value), datatype=ox.NamedNode(XSD + "decimal"))
    return ox.Literal(str(value))


def rows(*dicts: dict[str, object]) -> list[dict[str, object]]:
    return [{k: lit(v) for k, v in d.items() if v is not None} for d in dicts]


def marks(svg: str, cls: str) -> list[tuple[str, str]]:
    """(data-value, tooltip) of each mark of class ``cls``, in order."""
    found = re.findall(rf'<\w+ class="{cls}"[^>]*?data-value="([^"]*)"[^>]*>(?:<title>([^<]*)</title>)?', svg)
    return [(value, title) for value, title in found]


def width_of(svg: str, tooltip: str) -> float:
    match = re.search(
        rf'<rect class="bar"[^>]*width="([\d.]+)"[^>]*><title>{re.escape(tooltip)}</title>', svg
    )
    assert match, tooltip
    return float(match.group(1))


def test_every_hint_in_the_catalogue_parses_and_names_columns_its_query_returns() -> None:
    store = MemoryStore(load_quads([FIXTURE, ONTOLOGY]))
    drawn = 0
    for query in queries.catalogue():
        assert query.chart, f"{query.name} has no #+ chart: hint"
        hint = charts.parse_hint(query.chart)
        if hint.kind in {"table", "graph"}:
            continue
        drawn += 1
        if query.form == "select" and all(p.default is not None or not p.required for p in query.params):
            returned = set(queries.run(store, query.name).variables)
        else:  # needs a participant: the variables the query projects
            returned = set(re.findall(r"\?(\w+)", query.text.split("WHERE", 1)[0]))
        assert hint.columns() <= returned, (query.name, hint.columns() - returned)
    assert drawn >= 15


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ("pie x=a y=b", "none of bar, heatmap"),
        ("bar x=a", "lacks y"),
        ("bar x=a y=b colour=c", "has no role 'colour'"),
        ("heatmap x=a y=b value", "is not ROLE=COLUMN"),
        ("bar x=a y=b-c", "is not ROLE=COLUMN"),
        ("", "none of"),
    ],
)
def test_a_hint_that_cannot_be_drawn_is_refused_saying_what_is_accepted(hint: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        charts.parse_hint(hint)


def test_bars_are_sized_by_their_value_and_say_what_they_show() -> None:
    data = rows(
        {"occupationLabel": "manager", "n": 29},
        {"occupationLabel": "doctor", "n": 21},
        {"occupationLabel": "nurse <b>&</b>", "n": 15},
    )
    svg = str(charts.render(charts.parse_hint("bar x=occupationLabel y=n"), data, "Sample"))
    assert svg.startswith('<svg class="chart chart-bar"') and "<title>Sample</title>" in svg
    assert marks(svg, "bar") == [
        ("29", "manager: 29"),
        ("21", "doctor: 21"),
        ("15", "nurse &lt;b&gt;&amp;&lt;/b&gt;: 15"),
    ]
    assert "<b>" not in svg  # the data's text is escaped everywhere
    manager, nurse = width_of(svg, "manager: 29"), width_of(svg, "nurse &lt;b&gt;&amp;&lt;/b&gt;: 15")
    assert manager / nurse == pytest.approx(29 / 15, rel=0.01)
    # the axis ends on a round number at or past the largest value
    assert re.findall(r'class="tick-label">(\d+)<', svg)[-1] == "30"


def test_grouped_and_faceted_bars_share_one_scale_and_a_legend() -> None:
    data = rows(
        {"codeLabel": "distress", "occupationLabel": "doctor", "hybrid": True, "participants": 9},
        {"codeLabel": "distress", "occupationLabel": "nurse", "hybrid": True, "participants": 15},
        {"codeLabel": "pride", "occupationLabel": "nurse", "hybrid": False, "participants": 3},
    )
    hint = charts.parse_hint("bar x=codeLabel y=participants group=occupationLabel facet=hybrid")
    svg = str(charts.render(hint, data, "Turning points"))
    assert [t for _, t in marks(svg, "bar")] == [
        "distress — doctor (yes): 9",
        "distress — nurse (yes): 15",
        "pride — nurse (no): 3",
    ]
    assert re.findall(r'class="facet">([^<]*)<', svg) == ["hybrid: yes", "hybrid: no"]
    assert re.findall(r'class="legend">([^<]*)<', svg) == ["doctor", "nurse"]
    # a group keeps its colour in every panel
    fills = dict(re.findall(r'fill="(#[0-9A-Fa-f]{6})"[^>]*><title>[^<]*— (\w+) ', svg))
    assert fills["#E69F00"] == "nurse" and fills["#0072B2"] == "doctor"
    assert width_of(svg, "distress — nurse (yes): 15") / width_of(
        svg, "pride — nurse (no): 3"
    ) == pytest.approx(5, rel=0.01)


def test_heatmap_cells_darken_with_the_value_and_missing_cells_say_none() -> None:
    data = rows(
        {"stageLabel": "awakening", "occupationLabel": "nurse", "sharePercent": 100.0},
        {"stageLabel": "awakening", "occupationLabel": "doctor", "sharePercent": 42.9},
        {"stageLabel": "turning point", "occupationLabel": "nurse", "sharePercent": 10.0},
    )
    svg = str(
        charts.render(
            charts.parse_hint("heatmap x=stageLabel y=occupationLabel value=sharePercent"), data, "H"
        )
    )
    cells = marks(svg, "cell")
    assert cells == [
        ("100", "nurse, awakening: share percent 100"),
        ("10", "nurse, turning point: share percent 10"),
        ("42.9", "doctor, awakening: share percent 42.9"),
    ]
    assert "doctor, turning point: none" in svg
    fills = [int(f[1:3], 16) for f in re.findall(r'class="cell" [^>]*fill="(#\w{6})"', svg)]
    assert fills[0] < fills[2] < fills[1]  # the more, the darker (less red in the blend)
    assert svg.count('class="cell-value on-dark"') == 1  # white text on the darkest cell only


def test_boxplot_puts_each_median_inside_its_range() -> None:
    data = rows(
        {"occupationLabel": "nurse", "median": 4, "min": 3, "max": 5},
        {"occupationLabel": "doctor", "median": 10, "min": 8, "max": 12},
        {"occupationLabel": "nobody", "median": None, "min": None, "max": None},
    )
    svg = str(
        charts.render(charts.parse_hint("boxplot x=occupationLabel median=median min=min max=max"), data, "B")
    )
    ranges = re.findall(r'<g class="range"><title>([^<]*)</title>(.*?)</g>', svg)
    assert [title for title, _ in ranges] == [
        "nurse: median 4 (from 3 to 5)",
        "doctor: median 10 (from 8 to 12)",
    ]
    for _, body in ranges:
        ends = sorted(float(x) for x in re.findall(r'<line x1="([\d.]+)" x2="\1"', body))
        median = float(re.search(r'class="median" x="([\d.]+)"', body).group(1)) + 3  # type: ignore[union-attr]
        assert ends[0] < median < ends[1]
    # one participant: no spread, and the axis still has a length (and whole-number ticks)
    one = rows({"occupationLabel": "doctor", "median": 9, "min": 9, "max": 9})
    svg = str(
        charts.render(charts.parse_hint("boxplot x=occupationLabel median=median min=min max=max"), one, "B")
    )
    assert re.findall(r'class="tick-label">([^<]*)<', svg) == ["8", "9", "10"]


def test_timeline_draws_a_dot_per_stage_reached_and_marks_broken_order() -> None:
    data = rows(
        {"pseudonym": "P01", "awakening": 3, "turningPoint": 9, "breaksOrder": False},
        {"pseudonym": "P02", "awakening": 12, "turningPoint": 7, "breaksOrder": True},
        {"pseudonym": "P03", "breaksOrder": False},  # no stage evidenced: no line
    )
    svg = str(
        charts.render(
            charts.parse_hint("timeline y=pseudonym x=awakening,turningPoint flag=breaksOrder"), data, "T"
        )
    )
    assert [t for _, t in marks(svg, "dot")] == [
        "P01: awakening 3",
        "P01: turning point 9",
        "P02: awakening 12",
        "P02: turning point 7",
    ]
    assert re.findall(r'class="category flagged">([^<]*)<', svg) == ["P02"]
    assert "P03" not in svg
    many = rows(*({"pseudonym": f"P{i:02}", "awakening": i} for i in range(40)))
    svg = str(charts.render(charts.parse_hint("timeline y=pseudonym x=awakening"), many, "T"))
    assert len(marks(svg, "dot")) == charts.MAX_LINES and f"first {charts.MAX_LINES} of 40 rows" in svg


def test_nothing_is_drawn_for_tables_graphs_or_rows_without_numbers() -> None:
    assert charts.render(charts.parse_hint("table"), rows({"a": 1}), "t") is None
    assert charts.render(charts.parse_hint("graph"), rows({"a": 1}), "t") is None
    assert charts.render(charts.parse_hint("bar x=a y=n"), rows({"a": "x", "n": "many"}), "t") is None
    assert charts.render(charts.parse_hint("heatmap x=a y=b value=v"), [], "t") is None


def test_long_labels_are_shortened_with_the_whole_text_in_a_tooltip() -> None:
    label = "politics is legitimate when serving one's own community and its patients " * 2
    svg = str(
        charts.render(
            charts.parse_hint("bar x=stanceLabel y=n"), rows({"stanceLabel": label.strip(), "n": 3}), "L"
        )
    )
    shown = re.search(r'class="category">([^<]*)<title>([^<]*)</title>', svg)
    assert shown and shown.group(1).endswith("…") and len(shown.group(1)) < len(label) / 2
    assert shown.group(2) == label.strip().replace("'", "&#x27;")
