"""Stream a synthetic study to disk: one participant's transcript and rows at a time.

Every CSV is open for the whole run and gets its rows as each participant is composed, so memory
stays bounded by one transcript whatever the cohort size. Output is byte-identical for the same
arguments: no clocks, no hash-order iteration, LF line ends, UTF-8 without BOM.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import yaml

from kg.synth import figures
from kg.synth.cohort import iter_cohort
from kg.synth.transcript import compose

CANONICAL_SEED = 2018
DESCRIPTION = "synthetic; shaped on published aggregates; not empirical data"
FORMATS = ("folder", "qdpx")
FILES = (
    "study.yaml",
    "participants.csv",
    "interviews.csv",
    "codings.csv",
    "stories.csv",
    "events.csv",
    "codebook.csv",
)
CODEBOOK = (
    (
        "organisational memory",
        "",
        "",
        "Study-specific: the past (earlier failed attempts, old grudges) is used against a change.",
    ),
    (
        "unrelenting change",
        "",
        "",
        "Study-specific: continuous change itself experienced as the source of instability.",
    ),
    (
        "political nous",
        "skill-soft-intelligence",
        "",
        "Study-specific wording for an acquired feel for internal politics; mapped to soft intelligence.",
    ),
)
Progress = Callable[[int], None]
BUFFER = 1 << 13  # per open CSV; the platform default can be 128 KiB, which dwarfs one transcript


@dataclass(frozen=True)
class SynthSummary:
    """What a run produced."""

    out: Path
    participants: int
    transcripts: int
    stories: int
    codings: int
    events: int
    words: int


class _Rows:
    """Minimal-quoting CSV rows, as ``csv.writer`` writes them with ``lineterminator="\\n"``.

    ``csv.writer`` keeps a 64 KiB record buffer per writer, more than one short transcript; five of
    them would dominate the generator's memory, so rows are quoted here.
    """

    def __init__(self, fh: IO[str]) -> None:
        self.fh = fh

    @staticmethod
    def _field(value: object) -> str:
        text = str(value)
        if any(ch in text for ch in ',"\n\r'):
            return '"' + text.replace('"', '""') + '"'
        return text

    def writerow(self, row: tuple[object, ...]) -> None:
        self.fh.write(",".join(self._field(v) for v in row) + "\n")


def default_study_id(participants: int, seed: int) -> str:
    if participants == figures.PUBLISHED_N and seed == CANONICAL_SEED:
        return "example-study"
    return f"synthetic-n{participants}-s{seed}"


def _study_yaml(study_id: str, participants: int, seed: int, words: int | None) -> str:
    size = "" if participants == figures.PUBLISHED_N else f" (scaled to {participants} participants)"
    words_arg = f" --words {words}" if words else ""
    data = {
        "id": study_id,
        "title": f"Becoming politically active in healthcare work: synthetic example study{size}",
        "description": (
            f"{DESCRIPTION}. A synthetic cohort of {participants} doctors, nurses and managers whose "
            "marginal figures reproduce (or scale) those published for a narrative interview study of "
            "political activation in the English NHS, 2018-2020. Transcripts, codings, stories and "
            "activation events are generated text written for this project, with coding patterns that "
            "follow the study's reported findings. No real person or interview is represented. Generated "
            f"by: hmp synth --participants {participants} --seed {seed}{words_arg}."
        ),
        "period": f"{figures.PERIOD[0]}-{figures.PERIOD[1]}",
        "base_iri": "https://w3id.org/hmp/",
        "licence": "https://creativecommons.org/licenses/by/4.0/",
        "text_access_tier": "open",
        "synthetic": True,
        "creators": ["HMP knowledge graph maintainers (synthetic data generator)"],
    }
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def write_folder(
    participants: int,
    seed: int,
    out: Path,
    *,
    words: int | None = None,
    study_id: str | None = None,
    progress: Progress | None = None,
) -> SynthSummary:
    """Write the study folder at ``out`` (created; files this generator writes are replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    tdir = out / "transcripts"
    if tdir.exists():
        stale = [e.path for e in os.scandir(tdir) if e.name.endswith(".txt")]  # paths only, small
        for path in stale:
            os.unlink(path)
    tdir.mkdir(exist_ok=True)
    sid = study_id or default_study_id(participants, seed)
    (out / "study.yaml").write_text(
        _study_yaml(sid, participants, seed, words), encoding="utf-8", newline="\n"
    )
    with (out / "codebook.csv").open("w", encoding="utf-8", newline="") as book_fh:
        book = _Rows(book_fh)
        book.writerow(("code", "concept", "parent", "description"))
        for entry in CODEBOOK:
            book.writerow(entry)

    def opened(name: str, header: tuple[str, ...]) -> tuple[IO[str], _Rows]:
        fh = (out / name).open("w", encoding="utf-8", newline="", buffering=BUFFER)
        writer = _Rows(fh)
        writer.writerow(header)
        return fh, writer

    stories = codings = events = words_total = 0
    files: list[IO[str]] = []
    try:
        pf, pw = opened(
            "participants.csv",
            ("id", "occupation", "current_setting", "career_band", "career_years", "roles", "profile"),
        )
        inf, iw = opened("interviews.csv", ("transcript", "participant", "date"))
        cf, cw = opened(
            "codings.csv",
            ("id", "transcript", "start", "end", "quote", "code", "coder", "date", "memo", "story"),
        )
        sf, sw = opened("stories.csv", ("id", "transcript", "initiative", "actors", "title"))
        ef, ew = opened(
            "events.csv",
            ("id", "participant", "stage", "career_year", "career_stage", "triggers", "evidence"),
        )
        files = [pf, inf, cf, sf, ef]
        for person in iter_cohort(participants, seed):
            roles = ";".join(
                f"{r.role}@{r.setting}:{r.start}-{'' if r.end is None else r.end}" for r in person.roles
            )
            years = person.stated_years
            pw.writerow(
                (
                    person.pid,
                    person.occupation,
                    person.setting,
                    person.band,
                    "" if years is None else years,
                    roles,
                    person.profile,
                )
            )
            iw.writerow((person.tid, person.pid, person.interview.isoformat()))
            interview = compose(person, seed, words)
            (tdir / f"{person.tid}.txt").write_bytes(interview.text.encode("utf-8"))
            words_total += interview.words
            for c in interview.codings:
                cw.writerow(
                    (
                        c.id,
                        person.tid,
                        c.start,
                        c.end,
                        c.quote,
                        c.code,
                        c.coder,
                        c.date.isoformat(),
                        c.memo,
                        c.story,
                    )
                )
            for s in interview.stories:
                sw.writerow((s.id, person.tid, s.initiative, ";".join(s.actors), s.title))
            for e in interview.events:
                ew.writerow(
                    (
                        e.id,
                        person.pid,
                        e.event.stage,
                        e.event.year,
                        f"career-stage-{e.event.career_stage}",
                        ";".join(e.event.triggers),
                        ";".join(e.evidence),
                    )
                )
            stories += len(interview.stories)
            codings += len(interview.codings)
            events += len(interview.events)
            if progress is not None:
                progress(1)
    finally:
        for fh in files:
            fh.close()
    return SynthSummary(out, participants, participants, stories, codings, events, words_total)


def generate(
    participants: int,
    seed: int,
    out: Path,
    *,
    fmt: str = "folder",
    words: int | None = None,
    study_id: str | None = None,
    progress: Progress | None = None,
) -> SynthSummary:
    """Generate a synthetic study of ``participants`` people at ``out`` (a folder or a ``.qdpx``)."""
    if participants < 1:
        raise ValueError("participants must be at least 1")
    if words is not None and words < 100:
        raise ValueError("words must be at least 100")
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out = Path(out)
    if fmt == "folder":
        return write_folder(participants, seed, out, words=words, study_id=study_id, progress=progress)
    from kg.readers import read_study
    from kg.readers.refiqda_write import write_qdpx

    with tempfile.TemporaryDirectory(prefix="hmp-synth-") as tmp:
        folder = Path(tmp) / "study"
        summary = write_folder(participants, seed, folder, words=words, study_id=study_id, progress=progress)
        out.parent.mkdir(parents=True, exist_ok=True)
        write_qdpx(read_study(folder), out)
        shutil.rmtree(folder)
    return SynthSummary(
        out,
        summary.participants,
        summary.transcripts,
        summary.stories,
        summary.codings,
        summary.events,
        summary.words,
    )
