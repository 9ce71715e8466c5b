"""Convert REFI-QDA selection positions to code points over the stored (LF-normalised) text.

QDA tools count positions differently: NVivo in UTF-16 code units, QualCoder and ATLAS.ti in
code points; some count the CR of a CRLF line end, some count over LF-normalised text. The
readings only differ when the text has astral-plane characters (emoji ...) or CRLF line ends, and
then we pick the reading under which the selections fall on word boundaries most often.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_CRLF = re.compile("\r\n")
CODEPOINT = "codepoint"
UTF16 = "utf16"


@dataclass(frozen=True)
class Reading:
    unit: str  # codepoint | utf16
    crlf_counted: bool  # positions count the CR of CRLF line ends

    def describe(self) -> str:
        unit = "UTF-16 code units" if self.unit == UTF16 else "Unicode code points"
        return unit + (" with CR of CRLF line ends counted" if self.crlf_counted else "")


class TextPositions:
    """Position maps for one source text (``raw``: decoded, BOM removed, line ends as in the file)."""

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.stored = raw.replace("\r\n", "\n").replace("\r", "\n")
        self.removed_cr = [m.start() for m in _CRLF.finditer(raw)]
        self._astral = {
            True: _astral_u16_offsets(raw),
            False: _astral_u16_offsets(self.stored),
        }
        self._astral_set = {key: set(value) for key, value in self._astral.items()}

    def readings(self) -> list[Reading]:
        """The readings that differ for this text, preferred first."""
        crlf = [True, False] if self.removed_cr else [True]
        units = [CODEPOINT, UTF16] if self._astral[True] else [CODEPOINT]
        return [Reading(unit, c) for unit in units for c in crlf]

    def to_stored(self, position: int, reading: Reading) -> int | None:
        """The code point offset in the stored text, or None if ``position`` is impossible."""
        basis_len = len(self.raw) if reading.crlf_counted else len(self.stored)
        cp = position
        if reading.unit == UTF16:
            offsets = self._astral[reading.crlf_counted]
            if position - 1 in self._astral_set[reading.crlf_counted]:
                return None  # between the two halves of a surrogate pair
            cp = position - bisect_left(offsets, position - 1)
        if cp < 0 or cp > basis_len:
            return None
        if reading.crlf_counted:
            cp -= bisect_left(self.removed_cr, cp)
        return cp

    def score(self, selections: list[tuple[int, int, str]], reading: Reading) -> tuple[int, int]:
        """(impossible selections, boundary hits) for ``reading``: fewer impossible, more hits is better."""
        bad = hits = 0
        text = self.stored
        for start, end, name in selections:
            s, e = self.to_stored(start, reading), self.to_stored(end, reading)
            if s is None or e is None or s > e:
                bad += 1
                continue
            hits += _boundary(text, s) + _boundary(text, e)
            label = name.strip()
            if len(label) > 3 and text[s:e].strip().startswith(label[:40]):
                hits += 4
        return bad, hits

    def detect(self, selections: list[tuple[int, int, str]]) -> Reading:
        candidates = self.readings()
        if len(candidates) == 1:
            return candidates[0]
        best, best_key = candidates[0], None
        for reading in candidates:
            bad, hits = self.score(selections, reading)
            key = (-bad, hits)
            if best_key is None or key > best_key:
                best, best_key = reading, key
        return best


def _astral_u16_offsets(text: str) -> list[int]:
    """UTF-16 offsets at which astral-plane characters (surrogate pairs) start."""
    return [m.start() + n for n, m in enumerate(_ASTRAL.finditer(text))]


def _boundary(text: str, i: int) -> int:
    if i <= 0 or i >= len(text):
        return 1
    return 0 if (text[i - 1].isalnum() and text[i].isalnum()) else 1


def utf16_offset(text: str, cp: int) -> int:
    """The UTF-16 code unit offset of code point offset ``cp`` in ``text``."""
    return cp + len(_ASTRAL.findall(text, 0, cp))
