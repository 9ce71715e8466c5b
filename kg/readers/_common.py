"""Helpers shared by the readers: CSV rows with row numbers, text decoding, ids, concepts, participants.

CSV rows are numbered like a spreadsheet: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml
from rdflib import Literal, URIRef

from kg.concepts import HMP_NS, concept_index, ontology_graph
from kg.errors import Location, ReadError
from kg.model import ActivationEvent, Participant, RoleHolding, StudyInfo

ID_RE = re.compile(r"^[A-Za-z0-9._-]+$")
ID_EXPECTED = "letters, digits, '.', '_' or '-' only"
TEXT_ACCESS_TIERS = ("open", "registered", "restricted")
PARTICIPANT_COLUMNS = ("id", "occupation", "current_setting", "career_band", "career_years", "roles")
EVENT_COLUMNS = ("id", "participant", "stage", "career_year", "career_stage", "triggers", "evidence")


@dataclass(frozen=True)
class Row:
    """One CSV data row: its values by column name (stripped) and where it came from."""

    values: dict[str, str]
    location: Location
    raw: dict[str, str] = field(default_factory=dict)  # values as written, not stripped

    def get(self, column: str) -> str:
        return self.values.get(column, "") or ""


# --------------------------------------------------------------------------- text


def decode_text(data: bytes, file: str) -> str:
    """UTF-8 bytes -> text without BOM; non-UTF-8 bytes raise ReadError naming the byte offset."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        skipped = 3
    else:
        skipped = 0
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        offset = error.start + skipped
        line = data[: error.start].count(b"\n") + 1
        raise ReadError(
            f"not UTF-8 text: byte offset {offset} (byte 0x{data[error.start]:02x}) cannot be decoded",
            location=Location(file=file, line=line),
            expected="UTF-8 encoded text; re-save the file as UTF-8",
        ) from None


def normalise_newlines(text: str) -> str:
    """CRLF and lone CR -> LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def coding_id(transcript: str, start: int, end: int, code: str) -> str:
    """The deterministic id of a coding without one: ``c-`` + 12 hex of sha1(transcript|start|end|code)."""
    digest = hashlib.sha1(f"{transcript}|{start}|{end}|{code}".encode()).hexdigest()
    return "c-" + digest[:12]


def unique_id(candidate: str, used: set[str]) -> str:
    """``candidate``, or ``candidate-2``, ``-3`` ... if already used; the result is added to ``used``."""
    result, n = candidate, 1
    while result in used:
        n += 1
        result = f"{candidate}-{n}"
    used.add(result)
    return result


def slug(text: str, fallback: str = "x") -> str:
    """An id-safe version of ``text`` (spaces and other characters -> '-')."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", text.strip()).strip("-")
    return value or fallback


def check_id(value: str, location: Location, what: str) -> str:
    if not value:
        raise ReadError(f"{what} is empty", location=location, expected=f"an id of {ID_EXPECTED}")
    if not ID_RE.match(value):
        raise ReadError(f"{what} is not a valid id", location=location, value=value, expected=ID_EXPECTED)
    return value


# --------------------------------------------------------------------------- CSV / YAML


def read_csv_text(text: str, file: str, *, required: Iterable[str] = ()) -> list[Row]:
    """Parse CSV text (header row first) into rows; blank rows are skipped."""
    return list(iter_csv_rows(io.StringIO(text, newline=""), file, required=required))


def iter_csv_rows(lines: Iterable[str], file: str, *, required: Iterable[str] = ()) -> Iterator[Row]:
    """CSV rows one at a time from ``lines`` (split as ``newline=""`` splits them); blank rows skipped.

    Problems are raised when the iteration reaches them, in file order.
    """
    required = tuple(required)
    reader = csv.reader(lines, strict=True)
    try:
        header_raw = next(reader, None)
        if header_raw is None:
            raise ReadError(
                "the file is empty",
                location=Location(file=file),
                expected="a header row: " + ", ".join(required),
            )
        header = [h.strip().lower() for h in header_raw]
        missing = [c for c in required if c not in header]
        if missing:
            raise ReadError(
                f"missing column(s) {', '.join(missing)}",
                location=Location(file=file, row=1),
                value=",".join(header_raw),
                expected="a header row with columns " + ", ".join(required),
            )
        seen: set[str] = set()
        for name in header:
            if name and name in seen:
                raise ReadError(
                    f"column {name!r} appears twice in the header", location=Location(file=file, row=1)
                )
            seen.add(name)
        for number, record in enumerate(reader, start=2):
            if not any(value.strip() for value in record):
                continue
            location = Location(file=file, row=number)
            if len(record) > len(header):
                raise ReadError(
                    f"row has {len(record)} fields but the header has {len(header)}",
                    location=location,
                    value=",".join(record),
                    expected="one value per header column (quote values that contain commas)",
                )
            raw = {name: value for name, value in zip(header, record, strict=False) if name}
            yield Row(values={k: v.strip() for k, v in raw.items()}, location=location, raw=raw)
    except csv.Error as error:
        raise ReadError(
            f"malformed CSV: {error}",
            location=Location(file=file, row=reader.line_num),
            expected="RFC 4180 CSV (values with commas, quotes or line breaks in double quotes)",
        ) from None


def read_csv_file(path: Path, *, required: Iterable[str] = ()) -> list[Row]:
    return read_csv_text(decode_text(path.read_bytes(), str(path)), str(path), required=required)


def check_utf8_file(path: Path) -> None:
    """Raise what :func:`decode_text` would raise for the whole file, reading it a line at a time."""
    offset = 0
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as error:
                raise ReadError(
                    f"not UTF-8 text: byte offset {offset + error.start} (byte 0x{line[error.start]:02x}) "
                    "cannot be decoded",
                    location=Location(file=str(path), line=number),
                    expected="UTF-8 encoded text; re-save the file as UTF-8",
                ) from None
            offset += len(line)


@contextmanager
def open_csv_rows(path: Path, *, required: Iterable[str] = ()) -> Iterator[Iterator[Row]]:
    """The rows of a CSV file read one at a time (same rows and errors as :func:`read_csv_file`).

    The file is checked to be UTF-8 first (a bad byte anywhere is reported before any CSV problem).
    """
    check_utf8_file(path)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield iter_csv_rows(handle, str(path), required=required)


def take_rows(
    path: Path,
    *,
    required: Iterable[str],
    unique: str,
    what: str,
    claim: Callable[[str, str, int | None], int | None],
    take: Callable[[Row], None],
) -> None:
    """Read a CSV file a row at a time, ``take`` each row, and report problems as reading the
    whole file, then ``check_unique``, then taking each row would: a byte that is not UTF-8,
    then malformed CSV anywhere, then the first duplicate ``unique`` id, then the first row
    ``take`` refuses (a ``ReadError``). Ids are remembered by ``claim(what, id, row)`` (which
    returns the row that claimed it first, or None), not in memory; no row is kept either.
    """
    duplicate: ReadError | None = None
    wrong: ReadError | None = None
    with open_csv_rows(path, required=required) as rows:
        for row in rows:
            value = row.get(unique)
            if value and duplicate is None:
                first = claim(what, value, row.location.row)
                if first is not None:
                    duplicate = ReadError(
                        f"duplicate {what} id {value!r}: also in {Location(file=str(path), row=first)}",
                        location=row.location,
                        value=value,
                        expected=f"each {what} id once",
                    )
            if duplicate is not None or wrong is not None:
                continue  # only whole-file problems can still come first
            try:
                take(row)
            except ReadError as error:
                wrong = error
    if duplicate is not None:
        raise duplicate
    if wrong is not None:
        raise wrong


def check_unique(rows: Iterable[Row], column: str, what: str) -> None:
    """Duplicate ids are an error naming both rows."""
    first: dict[str, Row] = {}
    for row in rows:
        value = row.get(column)
        if not value:
            continue
        if value in first:
            raise ReadError(
                f"duplicate {what} id {value!r}: also in {first[value].location}",
                location=row.location,
                value=value,
                expected=f"each {what} id once",
            )
        first[value] = row


def load_yaml(text: str, file: str) -> object:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problem = getattr(error, "problem", None) or str(error)
        raise ReadError(
            f"malformed YAML: {problem}",
            location=Location(
                file=file,
                line=mark.line + 1 if mark is not None else None,
                column=mark.column + 1 if mark is not None else None,
            ),
            expected="a YAML mapping such as 'id: my-study' / 'title: ...'",
        ) from None


# --------------------------------------------------------------------------- values


def parse_int(value: str, location: Location, column: str, *, minimum: int = 0) -> int | None:
    if value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise ReadError(
            f"{column} is not a whole number",
            location=location,
            value=value,
            expected=f"an integer >= {minimum}",
        ) from None
    if number < minimum:
        raise ReadError(
            f"{column} is too small", location=location, value=value, expected=f"an integer >= {minimum}"
        )
    return number


def parse_datetime(value: str, location: Location, column: str) -> dt.date | dt.datetime | None:
    """ISO date or date-time; ``Z`` accepted for UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) <= 10:
            return dt.date.fromisoformat(value)
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReadError(
            f"{column} is not an ISO date",
            location=location,
            value=value,
            expected="YYYY-MM-DD or YYYY-MM-DDThh:mm:ss",
        ) from None


def parse_date(value: str, location: Location, column: str) -> dt.date | None:
    parsed = parse_datetime(value, location, column)
    if isinstance(parsed, dt.datetime):
        return parsed.date()
    return parsed


def split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


# --------------------------------------------------------------------------- concepts


def resolve(scheme: str, value: str, location: Location, what: str) -> str:
    """The local name of the concept of ``scheme`` that ``value`` names, else ReadError listing accepted."""
    index = concept_index()
    concept = index.lookup(scheme, value)
    if concept is None:
        raise ReadError(
            f"unknown {what}", location=location, value=value, expected="one of " + index.accepted(scheme)
        )
    return concept.local


def resolve_optional(scheme: str, value: str, location: Location, what: str) -> str | None:
    return resolve(scheme, value, location, what) if value else None


def resolve_any(value: str) -> str | None:
    """The local name of the concept any scheme knows by ``value`` (local name, label, IRI), else None."""
    concept = concept_index().any_scheme(value)
    return concept.local if concept else None


def concept_iri(concept: str) -> str:
    return concept if "://" in concept else HMP_NS + concept


@lru_cache(maxsize=1)
def band_years() -> dict[str, tuple[int | None, int | None]]:
    """Career band local name -> (min years, max years) from the ontology."""
    graph = ontology_graph()
    result: dict[str, tuple[int | None, int | None]] = {}
    for concept in concept_index().in_scheme("band"):
        low = graph.value(URIRef(concept.iri), URIRef(HMP_NS + "bandMinYears"))
        high = graph.value(URIRef(concept.iri), URIRef(HMP_NS + "bandMaxYears"))
        result[concept.local] = (
            int(low.toPython()) if isinstance(low, Literal) else None,
            int(high.toPython()) if isinstance(high, Literal) else None,
        )
    return result


# --------------------------------------------------------------------------- participants


ROLE_RE = re.compile(
    r"^(?P<role>[^@:]+?)\s*(?:@\s*(?P<setting>[^:]+?))?\s*(?::\s*(?P<start>\d*)\s*(?:-\s*(?P<end>\d*))?)?\s*$"
)
ROLE_EXPECTED = (
    "ROLE@SETTING:START-END separated by ';', e.g. consultant@general-hospital:8-17;medical-director:18-"
)


def parse_roles(value: str, location: Location) -> list[RoleHolding]:
    holdings = []
    for part in split_list(value):
        match = ROLE_RE.match(part)
        if match is None:
            raise ReadError("malformed role holding", location=location, value=part, expected=ROLE_EXPECTED)
        role = resolve("role", match["role"], location, "role")
        setting = resolve_optional(
            "setting", (match["setting"] or "").strip(), location, "care setting of a role"
        )
        start = int(match["start"]) if match["start"] else None
        end = int(match["end"]) if match["end"] else None
        if start is not None and end is not None and start > end:
            raise ReadError(
                "role holding starts after it ends",
                location=location,
                value=part,
                expected="START <= END (career years, 1 = first year)",
            )
        holdings.append(
            RoleHolding(role=role, start_year=start, end_year=end, setting=setting, location=location)
        )
    return holdings


def parse_participant(values: Mapping[str, str], location: Location) -> Participant:
    """One participant from participants.csv columns (also used for .qdpx case variables)."""
    pid = check_id(values.get("id", ""), location, "participant id")
    occupation = resolve_optional("occupation", values.get("occupation", ""), location, "occupation")
    setting = resolve_optional("setting", values.get("current_setting", ""), location, "current care setting")
    band = resolve_optional("band", values.get("career_band", ""), location, "career length band")
    years = parse_int(values.get("career_years", ""), location, "career_years")
    if band is not None and years is not None:
        low, high = band_years().get(band, (None, None))
        if low is not None and (years < low or (high is not None and years > high)):
            span = f"{low}-{high}" if high is not None else f"{low} or more"
            raise ReadError(
                f"career_years {years} does not fall in career band {band} ({span} years)",
                location=location,
                value=years,
                expected=f"career_years within {span}, or a matching band, or only one of the two",
            )
    roles = parse_roles(values.get("roles", ""), location)
    attributes = {k: v for k, v in values.items() if k not in PARTICIPANT_COLUMNS and v}
    return Participant(
        id=pid,
        occupation=occupation,
        roles=roles,
        current_setting=setting,
        career_band=band,
        career_years=years,
        attributes=attributes,
        location=location,
    )


def read_participants(rows: list[Row]) -> list[Participant]:
    check_unique(rows, "id", "participant")
    return [parse_participant(row.values, row.location) for row in rows]


# --------------------------------------------------------------------------- study.yaml


def parse_study_info(data: object, file: str) -> StudyInfo:
    location = Location(file=file)
    if not isinstance(data, dict):
        raise ReadError(
            "study metadata is not a mapping",
            location=location,
            value=type(data).__name__,
            expected="id: / title: ...",
        )
    study_id = check_id(str(data.get("id") or ""), location, "study id")
    title = str(data.get("title") or "").strip()
    if not title:
        raise ReadError("study title is missing", location=location, expected="a 'title:' entry")
    start, end = _parse_period(data.get("period"), location)
    tier = str(data.get("text_access_tier") or "restricted")
    if tier not in TEXT_ACCESS_TIERS:
        raise ReadError(
            "unknown text_access_tier", location=location, value=tier, expected=" | ".join(TEXT_ACCESS_TIERS)
        )
    synthetic = data.get("synthetic", False)
    if not isinstance(synthetic, bool):
        raise ReadError(
            "synthetic is not a boolean", location=location, value=synthetic, expected="true or false"
        )
    creators = data.get("creators") or []
    if isinstance(creators, str):
        creators = [creators]
    if not isinstance(creators, list):
        raise ReadError(
            "creators is not a list", location=location, value=creators, expected="a YAML list of names"
        )
    base_iri = str(data.get("base_iri") or "https://w3id.org/hmp/")
    if not re.match(r"^https?://\S+[/#]$", base_iri):
        raise ReadError(
            "base_iri is not an http(s) IRI ending in '/' or '#'",
            location=location,
            value=base_iri,
            expected="",
        )
    licence = data.get("licence") or data.get("license")
    description = data.get("description")
    return StudyInfo(
        id=study_id,
        title=title,
        base_iri=base_iri,
        description=str(description).strip() if description else None,
        period_start=start,
        period_end=end,
        licence=str(licence) if licence else None,
        text_access_tier=tier,
        synthetic=synthetic,
        creators=[str(c) for c in creators],
        location=location,
    )


def _parse_period(value: object, location: Location) -> tuple[int | None, int | None]:
    expected = "'2018-2020', '2019' or {start: 2018, end: 2020}"
    if value is None or value == "":
        return None, None
    if isinstance(value, int):
        return value, value
    if isinstance(value, dict):
        start, end = value.get("start"), value.get("end")
    elif isinstance(value, str):
        match = re.match(r"^\s*(\d{4})\s*(?:[-–/]\s*(\d{4})\s*)?$", value)
        if not match:
            raise ReadError("malformed period", location=location, value=value, expected=expected)
        start, end = int(match[1]), int(match[2] or match[1])
    else:
        raise ReadError("malformed period", location=location, value=value, expected=expected)
    if not isinstance(start, int | None) or not isinstance(end, int | None):
        raise ReadError(
            "period years must be whole numbers", location=location, value=value, expected=expected
        )
    if start is not None and end is not None and start > end:
        raise ReadError("period starts after it ends", location=location, value=value, expected=expected)
    return start, end


def study_info_yaml(info: StudyInfo) -> str:
    """study.yaml text for ``info`` (used by the writers)."""
    data: dict[str, object] = {"id": info.id, "title": info.title}
    if info.description:
        data["description"] = info.description
    if info.period_start is not None or info.period_end is not None:
        data["period"] = {"start": info.period_start, "end": info.period_end}
    data["base_iri"] = info.base_iri
    if info.licence:
        data["licence"] = info.licence
    data["text_access_tier"] = info.text_access_tier
    data["synthetic"] = info.synthetic
    if info.creators:
        data["creators"] = list(info.creators)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


# --------------------------------------------------------------------------- events


def parse_events(
    rows: list[Row],
    participants: Collection[str],
    evidence_ids: Mapping[str, str],
) -> list[ActivationEvent]:
    """events.csv rows; ``evidence_ids`` maps what a row may name (coding id or GUID) to a coding id."""
    check_unique(rows, "id", "event")
    return [parse_event(row, participants, evidence_ids) for row in rows]


def parse_event(row: Row, participants: Collection[str], evidence_ids: Mapping[str, str]) -> ActivationEvent:
    """One events.csv row (see ``parse_events``)."""
    loc = row.location
    eid = check_id(row.get("id"), loc, "event id")
    pid = check_known(
        row.get("participant"),
        participants,
        loc,
        "event refers to an unknown participant",
        "a participant id of the study",
    )
    stage = row.get("stage")
    if not stage:
        raise ReadError(
            "event has no stage", location=loc, expected="one of " + concept_index().accepted("stage")
        )
    evidence = []
    for ref in split_list(row.get("evidence")):
        key = ref.strip("{}").lower() if ref not in evidence_ids else ref
        if key not in evidence_ids:
            raise ReadError(
                "event evidence names an unknown coding",
                location=loc,
                value=ref,
                expected="coding ids separated by ';' (the id column of codings.csv)",
            )
        evidence.append(evidence_ids[key])
    return ActivationEvent(
        id=eid,
        participant_id=pid,
        stage=resolve("stage", stage, loc, "activation stage"),
        career_year=parse_int(row.get("career_year"), loc, "career_year", minimum=1),
        career_stage=resolve_optional("career-stage", row.get("career_stage"), loc, "career stage"),
        triggers=[resolve("trigger", t, loc, "activation trigger") for t in split_list(row.get("triggers"))],
        evidence=evidence,
        location=loc,
    )


def events_csv(events: Iterable[ActivationEvent]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(EVENT_COLUMNS)
    for e in events:
        writer.writerow(
            [
                e.id,
                e.participant_id,
                e.stage,
                "" if e.career_year is None else e.career_year,
                e.career_stage or "",
                ";".join(e.triggers),
                ";".join(e.evidence),
            ]
        )
    return out.getvalue()


def some(values: Iterable[str], limit: int = 10) -> str:
    """A short, sorted, human-readable list for messages."""
    items = sorted(values)
    text = ", ".join(items[:limit])
    return text + (f" ... ({len(items)} in all)" if len(items) > limit else "")


def check_known(value: str, known: Collection[str], location: Location, message: str, among: str) -> str:
    """``value`` if it is one of ``known``; else ReadError(``message``) listing some of ``known``
    after ``among`` (what they are)."""
    if value not in known:
        raise ReadError(message, location=location, value=value, expected=f"{among}: " + some(known))
    return value


def iter_occurrences(text: str, needle: str) -> Iterator[int]:
    start = text.find(needle)
    while start != -1:
        yield start
        start = text.find(needle, start + 1)
