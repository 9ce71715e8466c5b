"""Charts of canned-query answers: SVG drawn from a query's ``#+ chart:`` hint.

A hint names a kind and the result columns it draws (``kg.queries``: ``#+ chart:``):

- ``bar x=LABEL y=NUMBER [group=LABEL] [facet=LABEL]``: horizontal bars, one per ``x`` (and per
  ``group``, side by side, in colours with a legend), one panel per ``facet``; the panels share
  one scale, so their bars compare;
- ``heatmap x=LABEL y=LABEL value=NUMBER``: a grid, darker for more, the number in each cell;
- ``boxplot x=LABEL median=NUMBER min=NUMBER max=NUMBER``: per ``x`` the range with its median;
- ``timeline y=LABEL x=A,B,... [flag=BOOLEAN]``: one line per ``y``, a dot for each of the
  columns ``x`` (in their own colours) at its value; a row whose ``flag`` is true is marked;
- ``timeline x=NUMBER label=LABEL``: one dot per row on one axis, labelled;
- ``table`` and ``graph`` draw nothing (the table is the view).

The service's landing page and question pages show each answer's chart above its table,
``/queries/NAME?format=svg`` (or ``Accept: image/svg+xml``) serves it alone, and ``hmp query NAME
--format svg`` writes it, to put in a report or a wiki.

Drawn on the server: nothing is downloaded or run in the browser, and a screen reader, a
crawler or a printout gets the chart (the ``svg`` has a title, each mark a ``<title>`` naming
what it shows and its value). Categories keep the order of the rows, which the query sets.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

import pyoxigraph as ox

if TYPE_CHECKING:
    from kg.queries import CannedQuery

#: kind -> (columns it needs, columns it may have)
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bar": (frozenset({"x", "y"}), frozenset({"group", "facet"})),
    "heatmap": (frozenset({"x", "y", "value"}), frozenset()),
    "boxplot": (frozenset({"x", "median", "min", "max"}), frozenset()),
    "timeline": (frozenset({"x"}), frozenset({"y", "label", "flag"})),
    "table": (frozenset(), frozenset()),
    "graph": (frozenset(), frozenset()),
}
#: the kinds that draw nothing (the table is the view)
UNDRAWN = frozenset({"table", "graph"})
#: Okabe and Ito's colours, told apart with the common colour-vision deficiencies
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#8C6D1F", "#000000")
WIDTH = 720
FONT = 12
#: the most lines a timeline draws (the page's table shows as many rows)
MAX_LINES = 25

Row = Mapping[str, object]
#: How the charts look (the landing page carries it once; a chart served alone, in itself)
STYLE = (
    "svg.chart{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}"
    "svg.chart text{fill:#1d2430}"
    "svg.chart .tick-label,svg.chart .axis-title,svg.chart .value,svg.chart .legend"
    "{fill:#5b6475;font-size:11px}"
    "svg.chart .facet,svg.chart .column{font-weight:600}"
    "svg.chart .cell-value.on-dark{fill:#fff}"
    "svg.chart .axis,svg.chart .tick{stroke:#9aa3b0}"
    "svg.chart .track{stroke:#dde3ea;stroke-width:2}"
    "svg.chart .flagged,svg.chart .flag{fill:#a44a00;font-weight:600}"
    "svg.chart rect.bar:hover,svg.chart rect.cell:hover,svg.chart circle.dot:hover{opacity:.75}"
)


@dataclass(frozen=True)
class ChartHint:
    kind: str
    #: role (x, y, group, ...) -> the result columns it names
    roles: Mapping[str, tuple[str, ...]]

    def columns(self) -> set[str]:
        return {column for names in self.roles.values() for column in names}

    def one(self, role: str) -> str | None:
        names = self.roles.get(role)
        return names[0] if names else None


def parse_hint(text: str) -> ChartHint:
    """``bar x=a y=b`` -> ChartHint; ValueError naming what is wrong and what is accepted."""
    words = text.split()
    if not words or words[0] not in KINDS:
        raise ValueError(f"chart kind {words[0] if words else ''!r} is none of {', '.join(KINDS)}")
    kind, roles = words[0], {}
    needed, optional = KINDS[kind]
    for word in words[1:]:
        role, sep, value = word.partition("=")
        names = tuple(n for n in value.split(",") if n)
        if not sep or not names or not all(re.fullmatch(r"[A-Za-z_]\w*", n) for n in names):
            raise ValueError(f"{word!r} in chart hint {text!r} is not ROLE=COLUMN[,COLUMN...]")
        if role not in needed | optional:
            takes = ", ".join(sorted(needed | optional))
            raise ValueError(f"chart kind {kind} has no role {role!r} (it takes {takes})")
        roles[role] = names
    missing = needed - set(roles)
    if missing:
        raise ValueError(f"chart hint {text!r} lacks {', '.join(sorted(missing))}")
    return ChartHint(kind, roles)


def drawn_hint(text: str) -> ChartHint | None:
    """The hint ``text`` if it draws something; None for ``table`` and ``graph``. ValueError for
    a hint that does not parse (the catalogue's are checked by the tests)."""
    hint = parse_hint(text)
    return None if hint.kind in UNDRAWN else hint


def draw(query: CannedQuery, rows: Sequence[Row]) -> str | None:
    """``query``'s answer drawn as its ``#+ chart:`` hint says, titled by its summary; None when
    the hint draws nothing or the rows have nothing to draw."""
    hint = drawn_hint(query.chart)
    return None if hint is None else render(hint, rows, query.summary)


def render(hint: ChartHint, rows: Sequence[Row], title: str, *, standalone: bool = False) -> str | None:
    """The chart as an ``<svg>`` element, or None when the hint draws nothing or the rows have
    nothing to draw (no row with the numbers it needs). ``standalone``: with its own style, to be
    served or saved alone."""
    draw = {"bar": _bar, "heatmap": _heatmap, "boxplot": _boxplot, "timeline": _timeline}.get(hint.kind)
    drawn = draw(hint, rows) if draw is not None else None
    if drawn is None:
        return None
    height, body = drawn
    if standalone:  # its own style, on white wherever it is put
        body[:0] = [
            _el("style", STYLE),
            _el("rect", class_="background", width="100%", height="100%", fill="#fff"),
        ]
    return _svg(hint.kind, title, height, body)


def _svg(kind: str, title: str, height: float, body: list[str]) -> str:
    label = escape(title)
    return (
        f'<svg class="chart chart-{kind}" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
        f'height="{height:.0f}" role="img" aria-label="{label}" xmlns="http://www.w3.org/2000/svg" '
        f'font-size="{FONT}"><title>{label}</title>{"".join(body)}</svg>'
    )


def document(hint: ChartHint, rows: Sequence[Row], title: str) -> bytes:
    """The chart served alone (``image/svg+xml``): with its own style, and a line saying so when
    the rows have nothing to draw."""
    chart = render(hint, rows, title, standalone=True)
    if chart is None:
        chart = _svg(
            hint.kind, title, 30, [_el("style", STYLE), _text(4, 18, "No answer to draw in this dataset.")]
        )
    return chart.encode()


# ---- values ----------------------------------------------------------------------------------


def text_of(term: object) -> str:
    """What a cell says: a literal's text, an IRI's last segment; ``true``/``false`` as yes/no."""
    if isinstance(term, ox.Literal):
        if term.datatype.value.endswith("#boolean"):
            return "yes" if term.value in {"true", "1"} else "no"
        return term.value
    if isinstance(term, ox.NamedNode):
        return re.split(r"[/#]", term.value)[-1]
    return "" if term is None else str(term)


def number_of(term: object) -> float | None:
    if isinstance(term, ox.Literal):
        try:
            value = float(term.value)
        except ValueError:
            return None
        return value if math.isfinite(value) else None
    return None


def humanised(name: str) -> str:
    """``turningPoint`` -> ``turning point``; ``stageLabel`` -> ``stage``."""
    if name.endswith("Label") and len(name) > len("Label"):
        name = name[: -len("Label")]
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()


def _short(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _text_width(text: str) -> float:
    return len(text) * FONT * 0.58


def _label_width(labels: Sequence[str], most: float = 280) -> float:
    return min(most, max((_text_width(t) for t in labels), default=0) + 12)


def _fitted(text: str, width: float) -> str:
    """``text`` shortened with an ellipsis to about ``width`` pixels."""
    room = int((width - 12) / (FONT * 0.58) + 1e-6)
    return text if len(text) <= room else text[: max(room - 1, 1)].rstrip() + "…"


def _category(x: float, y: float, text: str, width: float, cls: str = "category") -> str:
    """A category's label, right-aligned at ``x``; shortened to ``width`` with the whole text
    in its tooltip."""
    shown = _fitted(text, width)
    if shown == text:
        return _text(x, y, text, anchor="end", cls=cls)
    return _el("text", escape(shown) + _el("title", escape(text)), x=x, y=y, text_anchor="end", class_=cls)


def _wrapped(x: float, y: float, text: str, width: float, cls: str) -> tuple[float, str]:
    """``text`` centred at ``x`` in lines of at most ``width`` pixels from ``y``; the height."""
    room = max(int(width / (FONT * 0.58)), 4)
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= room:
            lines[-1] += " " + word
        else:
            lines.append(word)
    spans = "".join(
        _el("tspan", escape(_fitted(line, width + 12)), x=x, dy=(0 if i == 0 else FONT + 2))
        for i, line in enumerate(lines)
    )
    return len(lines) * (FONT + 2), _el("text", spans, x=x, y=y, text_anchor="middle", class_=cls)


def _ordered(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _el(tag: str, content: str = "", /, **attrs: object) -> str:
    """An SVG element; attribute names with ``_`` for ``-``, numbers to one decimal, text
    escaped, ``content`` as given (markup)."""
    parts = []
    for name, value in attrs.items():
        shown = f"{value:.1f}" if isinstance(value, float) else escape(str(value))
        parts.append(f' {name.rstrip("_").replace("_", "-")}="{shown}"')
    return f"<{tag}{''.join(parts)}>{content}</{tag}>" if content else f"<{tag}{''.join(parts)}/>"


def _titled(tag: str, what: str, **attrs: object) -> str:
    """A mark with a tooltip (its ``<title>``) saying what it shows."""
    return _el(tag, _el("title", escape(what)), **attrs)


def _box(
    what: str, cls: str, x: float, y: float, width: float, height: float, fill: str, value: str = ""
) -> str:
    """A rectangle mark (a bar, a cell) with its tooltip, and its number in ``data-value``."""
    extra = {"data_value": value} if value else {}
    return _titled(
        "rect",
        what,
        class_=cls,
        x=float(x),
        y=float(y),
        width=float(width),
        height=float(height),
        fill=fill,
        **extra,
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", cls: str = "") -> str:
    extra = {"class_": cls} if cls else {}
    return _el("text", escape(text), x=float(x), y=float(y), text_anchor=anchor, **extra)


def _ticks(low: float, high: float, count: int = 5, *, whole: bool = False) -> list[float]:
    """Round numbers spanning ``low``-``high`` (about ``count`` of them; whole numbers only when
    ``whole``, as for counts). An empty span is widened by one on each side."""
    if high <= low:
        low, high = low - 1, high + 1
    raw = (high - low) / count
    step = 10 ** math.floor(math.log10(raw))
    step *= next(m for m in (1, 2, 2.5, 5, 10) if raw <= step * m)
    if whole:
        step = max(1, round(step))
    first = math.floor(low / step) * step
    return [first + i * step for i in range(math.ceil((high - first) / step) + 1)]


def _whole(values: Sequence[float]) -> bool:
    return all(v == int(v) for v in values)


def _axis(x0: float, x1: float, y: float, ticks: Sequence[float], scale: float, low: float) -> list[str]:
    body = [_el("line", class_="axis", x1=float(x0), x2=float(x1), y1=float(y), y2=float(y))]
    for tick in ticks:
        x = x0 + (tick - low) * scale
        body.append(_el("line", class_="tick", x1=float(x), x2=float(x), y1=float(y), y2=y + 4.0))
        body.append(_text(x, y + 16, _short(tick), anchor="middle", cls="tick-label"))
    return body


def _legend(names: Sequence[str], y: float, x: float = 0) -> tuple[float, list[str]]:
    """Colour keys in one or more lines from ``y``; the height they took."""
    body, left, top = [], x, y
    for i, name in enumerate(names):
        width = 18 + _text_width(name) + 16
        if left + width > WIDTH and left > x:
            left, top = x, top + 18
        colour = PALETTE[i % len(PALETTE)]
        body.append(_el("rect", class_="key", x=float(left), y=float(top), width=12, height=12, fill=colour))
        body.append(_text(left + 17, top + 10, name, cls="legend"))
        left += width
    return top - y + 22, body


# ---- kinds -----------------------------------------------------------------------------------


def _bar(hint: ChartHint, rows: Sequence[Row]) -> tuple[float, list[str]] | None:
    x, y = hint.one("x") or "", hint.one("y") or ""
    group, facet = hint.one("group"), hint.one("facet")
    marks = [
        (text_of(r.get(facet)) if facet else "", text_of(r.get(x)), text_of(r.get(group)) if group else "", v)
        for r in rows
        if (v := number_of(r.get(y))) is not None
    ]
    if not marks:
        return None
    groups = _ordered([m[2] for m in marks])
    most = max(max(m[3] for m in marks), 0) or 1
    left = _label_width([m[1] for m in marks])
    plot = WIDTH - left - 50
    ticks = _ticks(0, most, whole=_whole([m[3] for m in marks]))
    scale = plot / ticks[-1]
    body: list[str] = []
    top = 4.0
    if group:
        height, keys = _legend(groups, top)
        body += keys
        top += height + 4
    bar, gap = 13.0, 7.0
    for panel in _ordered([m[0] for m in marks]):
        if facet:
            body.append(_text(0, top + 13, f"{humanised(facet)}: {panel}", cls="facet"))
            top += 20
        in_panel = [m for m in marks if m[0] == panel]
        for category in _ordered([m[1] for m in in_panel]):
            bars = [m for m in in_panel if m[1] == category]
            block = len(bars) * bar
            body.append(_category(left - 6, top + block / 2 + 4, category, left))
            for i, (_, _, name, value) in enumerate(bars):
                colour = PALETTE[groups.index(name) % len(PALETTE)]
                width = max(value, 0) * scale
                what = category + (f" — {name}" if name else "") + (f" ({panel})" if facet else "")
                y0 = top + i * bar
                body.append(
                    _box(f"{what}: {_short(value)}", "bar", left, y0, width, bar - 2, colour, _short(value))
                )
                body.append(_text(left + width + 4, top + i * bar + 10, _short(value), cls="value"))
            top += block + gap
        top += 4
    body += _axis(left, left + plot, top, ticks, scale, 0)
    body.append(_text(left + plot / 2, top + 32, humanised(y), anchor="middle", cls="axis-title"))
    return top + 40, body


def _heatmap(hint: ChartHint, rows: Sequence[Row]) -> tuple[float, list[str]] | None:
    x, y, value = hint.one("x") or "", hint.one("y") or "", hint.one("value") or ""
    cells = {
        (text_of(r.get(x)), text_of(r.get(y))): v for r in rows if (v := number_of(r.get(value))) is not None
    }
    if not cells:
        return None
    columns, lines = _ordered([c for c, _ in cells]), _ordered([line for _, line in cells])
    left = _label_width(lines)
    cell_w, cell_h = min(110.0, (WIDTH - left) / len(columns)), 26.0
    most = max(cells.values()) or 1
    body: list[str] = []
    header = 0.0
    for i, column in enumerate(columns):
        height, text = _wrapped(left + (i + 0.5) * cell_w, 12, column, cell_w - 6, "column")
        header = max(header, height)
        body.append(text)
    for j, line in enumerate(lines):
        top = header + 6 + j * cell_h
        body.append(_category(left - 6, top + cell_h / 2 + 4, line, left))
        for i, column in enumerate(columns):
            v = cells.get((column, line))
            cx = left + i * cell_w
            if v is None:
                body.append(
                    _box(f"{line}, {column}: none", "cell empty", cx, top, cell_w - 2, cell_h - 2, "#f1f3f5")
                )
                continue
            share = max(v, 0) / most
            fill = _blend("#eef6f5", "#0b4f4b", share)
            what = f"{line}, {column}: {humanised(value)} {_short(v)}"
            body.append(_box(what, "cell", cx, top, cell_w - 2, cell_h - 2, fill, _short(v)))
            ink = "cell-value on-dark" if share > 0.55 else "cell-value"
            middle = {"x": cx + cell_w / 2 - 1, "y": top + cell_h / 2 + 3, "text_anchor": "middle"}
            body.append(_el("text", _short(v), class_=ink, **middle))
    bottom = header + 6 + len(lines) * cell_h
    body.append(_text(left, bottom + 16, f"cells: {humanised(value)} (darker = more)", cls="axis-title"))
    return bottom + 24, body


def _blend(light: str, dark: str, share: float) -> str:
    a = [int(light[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(dark[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(p + (q - p) * share):02x}" for p, q in zip(a, b, strict=True))


def _boxplot(hint: ChartHint, rows: Sequence[Row]) -> tuple[float, list[str]] | None:
    x = hint.one("x") or ""
    spans = []
    for r in rows:
        median, low, high = (number_of(r.get(hint.one(role) or "")) for role in ("median", "min", "max"))
        if median is not None and low is not None and high is not None:
            spans.append((text_of(r.get(x)), median, low, high))
    if not spans:
        return None
    ends = [v for s in spans for v in s[1:]]
    ticks = _ticks(min(ends), max(ends), whole=_whole(ends))
    low, high = ticks[0], ticks[-1]
    left = _label_width([s[0] for s in spans])
    plot = WIDTH - left - 150
    scale = plot / ((high - low) or 1)
    body, top = [], 4.0
    for label, median, least, most in spans:
        mid = top + 10
        x0, x1, xm = (left + (v - low) * scale for v in (least, most, median))
        what = f"{label}: median {_short(median)} (from {_short(least)} to {_short(most)})"
        body.append(_category(left - 6, mid + 4, label, left))
        ink = PALETTE[0]
        marks = [
            _el("title", escape(what)),
            _el("line", x1=x0, x2=x1, y1=mid, y2=mid, stroke=ink, stroke_width=3),
            _el("line", x1=x0, x2=x0, y1=mid - 6, y2=mid + 6, stroke=ink),
            _el("line", x1=x1, x2=x1, y1=mid - 6, y2=mid + 6, stroke=ink),
            _el(
                "rect",
                class_="median",
                x=xm - 3,
                y=mid - 8,
                width=6,
                height=16,
                fill=PALETTE[5],
                data_value=_short(median),
            ),
        ]
        body.append(_el("g", "".join(marks), class_="range"))
        summary = f"median {_short(median)} ({_short(least)}–{_short(most)})"
        body.append(_text(left + plot + 10, mid + 4, summary))
        top += 26
    body += _axis(left, left + plot, top, ticks, scale, low)
    names = [humanised(hint.one(role) or "") for role in ("median", "min", "max")]
    axis = f"{names[0]} (range: {names[1]} to {names[2]})"
    body.append(_text(left + plot / 2, top + 32, axis, anchor="middle", cls="axis-title"))
    return top + 40, body


def _timeline(hint: ChartHint, rows: Sequence[Row]) -> tuple[float, list[str]] | None:
    series = hint.roles.get("x", ())
    line_of, label_of, flag = hint.one("y"), hint.one("label"), hint.one("flag")
    lines = []
    for r in rows:
        points = [(i, v) for i, name in enumerate(series) if (v := number_of(r.get(name))) is not None]
        if points:
            named = line_of or label_of
            title = text_of(r.get(named)) if named else ""
            flagged = flag is not None and text_of(r.get(flag)) == "yes"
            lines.append((title, points, flagged))
    if not lines:
        return None
    shown = lines[:MAX_LINES]
    values = [v for _, points, _ in shown for _, v in points]
    ticks = _ticks(min(values), max(values), whole=_whole(values))
    low, high = ticks[0], ticks[-1]
    left = _label_width([t for t, _, _ in shown], 180 if len(series) > 1 else 260) + 14
    plot = WIDTH - left - 20
    scale = plot / ((high - low) or 1)
    body: list[str] = []
    top = 4.0
    if len(series) > 1:
        height, keys = _legend([humanised(s) for s in series], top)
        body += keys
        top += height + 4
    for title, points, flagged in shown:
        mid = top + 9
        cls = "category flagged" if flagged else "category"
        body.append(_category(left - 20, mid + 4, title, left - 14, cls))
        if flagged:
            mark = _el("title", escape(humanised(flag or "")))
            body.append(_el("text", "!" + mark, class_="flag", x=left - 14, y=mid + 4))
        xs = [left + (v - low) * scale for _, v in points]
        body.append(_el("line", class_="track", x1=min(xs), x2=max(xs), y1=mid, y2=mid))
        for (i, v), cx in zip(points, xs, strict=True):
            what = f"{title}: {humanised(series[i])} {_short(v)}"
            colour = PALETTE[i % len(PALETTE)]
            body.append(
                _titled("circle", what, class_="dot", cx=cx, cy=mid, r=5, fill=colour, data_value=_short(v))
            )
        top += 20
    body += _axis(left, left + plot, top + 2, ticks, scale, low)
    axis = humanised(series[0]) if len(series) == 1 else ""
    if len(lines) > len(shown):
        axis += f"{' — ' if axis else ''}first {len(shown)} of {len(lines)} rows"
    body.append(_text(left + plot / 2, top + 34, axis, anchor="middle", cls="axis-title"))
    return top + 42, body
