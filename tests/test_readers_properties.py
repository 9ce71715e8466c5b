"""Property-based tests of the folder reader: any text with any codings reads back exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kg.readers import read_study, write_qdpx

TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
        st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
        st.sampled_from(["\n", " ", "é", "\u200d"]),
    ),
    min_size=1,
    max_size=120,
)


def write_folder(root: Path, raw: bytes, rows: list[list[object]]) -> Path:
    root.mkdir()
    (root / "transcripts").mkdir()
    (root / "study.yaml").write_text("id: prop\ntitle: property test\n", encoding="utf-8")
    (root / "participants.csv").write_text("id,occupation\nT1,doctor\n", encoding="utf-8")
    (root / "transcripts" / "T1.txt").write_bytes(raw)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["transcript", "start", "end", "quote", "code"])
    writer.writerows(rows)
    (root / "codings.csv").write_text(out.getvalue(), encoding="utf-8", newline="")
    return root


@st.composite
def text_and_spans(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]]]:
    text = draw(TEXT)
    spans = []
    for _ in range(draw(st.integers(1, 5))):
        start = draw(st.integers(0, len(text) - 1))
        end = draw(st.integers(start + 1, len(text)))
        spans.append((start, end))
    return text, spans


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text_and_spans(), st.booleans())
def test_random_codings_read_back_exactly(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[str, list[tuple[int, int]]], with_quote: bool
) -> None:
    text, spans = case
    rows: list[list[object]] = [
        ["T1", s, e, text[s:e] if with_quote else "", f"code {n}"] for n, (s, e) in enumerate(spans)
    ]
    folder = write_folder(tmp_path_factory.mktemp("p") / "study", text.encode("utf-8"), rows)
    study = read_study(folder)
    (data,) = list(study.iter_transcripts())
    assert data.text == text
    assert [(c.start, c.end, c.exact) for c in data.codings] == [(s, e, text[s:e]) for s, e in spans]
    # and through a .qdpx, counted in UTF-16 units over CRLF text with a BOM, as NVivo would
    out = folder.parent / "p.qdpx"
    write_qdpx(study, out, position_unit="utf16", line_ends="crlf", bom=True)
    (again,) = list(read_study(out).iter_transcripts())
    assert again.text == text
    assert [(c.start, c.end, c.exact) for c in again.codings] == [(s, e, text[s:e]) for s, e in spans]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(alphabet="abc xyz🙂é", min_size=1, max_size=12), min_size=1, max_size=8), st.data())
def test_crlf_and_bom_normalisation_keeps_quotes_aligned(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], data: st.DataObject
) -> None:
    stored = "\n".join(lines) + "\n"
    raw = b"\xef\xbb\xbf" + stored.replace("\n", "\r\n").encode("utf-8")
    start = data.draw(st.integers(0, len(stored) - 1))
    end = data.draw(st.integers(start + 1, len(stored)))
    quote = stored[start:end]
    unique = sum(1 for i in range(len(stored)) if stored.startswith(quote, i)) == 1  # overlapping, too
    rows: list[list[object]] = [
        ["T1", start, end, quote.replace("\n", "\r\n"), "offsets"],  # CRLF in the quote, too
    ]
    if unique:
        rows.append(["T1", "", "", quote, "located"])
    study = read_study(write_folder(tmp_path_factory.mktemp("c") / "study", raw, rows))
    (transcript,) = list(study.iter_transcripts())
    assert transcript.text == stored
    for coding in transcript.codings:
        assert (coding.start, coding.end, coding.exact) == (start, end, quote)
