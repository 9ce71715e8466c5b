"""Hardened XML parsing with line numbers: no DTDs, no entities, no external references (no XXE)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from kg.errors import Location, ReadError, UnsafeInputError


class _LineBuilder:
    """A TreeBuilder target that records the line each element starts on.

    ``splits`` maps the local name of an element under the root to a callback: each child of
    the first such element is handed to ``callback(element, lines)`` when it ends (``lines``:
    the start line of it and of each of its descendants) and then cleared, so a document with
    very large parts streams through.
    """

    def __init__(self, splits: Mapping[str, Callable[[Element, dict[Element, int]], None]]) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.parser: DefusedXMLParser | None = None
        self.splits = splits
        self.path: list[str] = []  # local names of the open elements, root first
        self.seen: dict[str, int] = {}  # how many elements of each name were under the root
        self.part_lines: dict[Element, int] = {}

    def _in_part(self) -> bool:
        return len(self.path) >= 3 and self.path[1] in self.splits and self.seen[self.path[1]] == 1

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        self.path.append(local(tag))
        if len(self.path) == 2:
            self.seen[self.path[1]] = self.seen.get(self.path[1], 0) + 1
        if self.parser is not None:
            lines = self.part_lines if self._in_part() else self.lines
            lines[element] = self.parser.parser.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        element = self.builder.end(tag)
        if len(self.path) == 3 and self._in_part():
            self.splits[self.path[1]](element, self.part_lines)
            element.clear()
            self.part_lines = {}
        self.path.pop()
        return element

    def data(self, data: str) -> None:
        self.builder.data(data)

    def close(self) -> Element:
        return self.builder.close()


class XmlDoc:
    """A parsed document: its root and the start line of each element."""

    def __init__(self, root: Element, lines: dict[Element, int], file: str) -> None:
        self.root = root
        self.lines = lines
        self.file = file

    def loc(self, element: Element) -> Location:
        return Location(file=self.file, line=self.lines.get(element))


def parse_xml(
    data: bytes | Iterable[bytes],
    file: str,
    *,
    splits: Mapping[str, Callable[[Element, dict[Element, int]], None]] | None = None,
) -> XmlDoc:
    """Parse ``data`` (bytes, or chunks of bytes fed one at a time) with DTDs and entities refused.

    ``splits``: see :class:`_LineBuilder`; the children of a split element are handed over and
    cleared, so they are empty in the returned tree.
    """
    builder = _LineBuilder(splits or {})
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        for chunk in [data] if isinstance(data, bytes) else data:
            parser.feed(chunk)
        root = parser.close()
    except DefusedXmlException as error:
        raise UnsafeInputError(
            f"XML declares a DTD or entities, which are never processed ({type(error).__name__})",
            location=Location(file=file),
            expected="REFI-QDA XML without <!DOCTYPE> or <!ENTITY> declarations",
        ) from None
    except ParseError as error:
        line, column = error.position
        raise ReadError(
            "malformed XML: " + re.sub(r":? line \d+, column \d+$", "", str(error)),
            location=Location(file=file, line=line, column=column + 1),
            expected="well-formed XML",
        ) from None
    return XmlDoc(root, builder.lines, file)


def local(tag: str) -> str:
    """The local name of ``{namespace}Tag``."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def children(element: Element, name: str) -> Iterator[Element]:
    for child in element:
        if local(child.tag) == name:
            yield child


def child(element: Element, name: str) -> Element | None:
    return next(children(element, name), None)


def child_text(element: Element, name: str) -> str | None:
    found = child(element, name)
    if found is None:
        return None
    return "".join(found.itertext())


def norm_guid(value: str | None) -> str:
    """GUIDs compare lower-case without braces."""
    return (value or "").strip().strip("{}").strip().lower()
