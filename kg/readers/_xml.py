"""Hardened XML parsing with line numbers: no DTDs, no entities, no external references (no XXE)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from kg.errors import Location, ReadError, UnsafeInputError


class _LineBuilder:
    """A TreeBuilder target that records the line each element starts on."""

    def __init__(self) -> None:
        self.builder = TreeBuilder()
        self.lines: dict[Element, int] = {}
        self.parser: DefusedXMLParser | None = None

    def start(self, tag: str, attrs: dict[str, str]) -> Element:
        element = self.builder.start(tag, attrs)
        if self.parser is not None:
            self.lines[element] = self.parser.parser.CurrentLineNumber
        return element

    def end(self, tag: str) -> Element:
        return self.builder.end(tag)

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


def parse_xml(data: bytes, file: str) -> XmlDoc:
    builder = _LineBuilder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    builder.parser = parser
    try:
        parser.feed(data)
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
