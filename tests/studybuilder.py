"""Build small ``kg.model.Study`` objects in Python (no readers needed): a 3-participant study."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

from kg.errors import Location
from kg.model import (
    ActivationEvent,
    Code,
    Coder,
    Coding,
    Participant,
    RoleHolding,
    Story,
    Study,
    StudyInfo,
    TranscriptData,
    TranscriptRef,
)

TEXTS = {
    "T01": (
        "Interviewer: When did you first notice the politics?\n"
        "P01: When I got my consultant post I realised the board decided everything.\n"
        "P01: So I became clinical director to change how theatres were run.\n"
    ),
    "T02": (
        "Interviewer: Tell me about the ward.\n"
        "P02: As a matron I had to fight for staff; I felt angry about the cuts.\n"
    ),
    "T03": (
        "Interviewer: What about the merger?\n"
        "P03: The merger forced me to learn how to negotiate with surgeons — naïvely at first.\n"
    ),
}

# (transcript, quote, code, story)
CODINGS = [
    ("T01", "I realised the board decided everything", "awakening", "S01"),
    ("T01", "When I got my consultant post", "permanent post", "S01"),
    ("T01", "I became clinical director", "engagement", "S01"),
    ("T02", "I felt angry about the cuts", "anger", "S02"),
    ("T02", "fight for staff", "ward politics", None),
    ("T03", "learn how to negotiate with surgeons — naïvely", "awakening", "S03"),
]


def _coding(tid: str, quote: str, code: str, story: str | None, n: int) -> Coding:
    text = TEXTS[tid]
    start = text.index(quote)
    return Coding(
        id=f"c{n:03d}",
        transcript_id=tid,
        start=start,
        end=start + len(quote),
        exact=quote,
        code=code,
        coder="rw",
        created=dt.date(2020, 5, 1),
        story_id=story,
        location=Location("codings.csv", row=n + 1),
    )


def build_study(
    *,
    study_id: str = "demo",
    texts: dict[str, str] | None = None,
    codings: list[Coding] | None = None,
    events: bool = False,
    mutate: Callable[[Study], None] | None = None,
) -> Study:
    """A 3-participant study (doctor hybrid, nurse hybrid, manager), one transcript each."""
    texts = dict(TEXTS if texts is None else texts)
    if codings is None:
        codings = [_coding(t, q, c, s, n) for n, (t, q, c, s) in enumerate(CODINGS, start=1)]
    participants = [
        Participant(
            "P01",
            "occupation-doctor",
            roles=[
                RoleHolding("role-consultant", 8, 17, "setting-general-hospital"),
                RoleHolding("role-clinical-director", 18, None, "setting-general-hospital"),
            ],
            current_setting="setting-general-hospital",
            career_band="band-21-30",
            career_years=24,
            location=Location("participants.csv", row=2),
        ),
        Participant(
            "P02",
            "occupation-nurse",
            roles=[RoleHolding("role-matron", 12, None)],
            career_years=15,
            location=Location("participants.csv", row=3),
        ),
        Participant(
            "P03",
            "occupation-manager",
            roles=[RoleHolding("role-service-manager", 3, 9)],
            career_band="band-11-20",
            location=Location("participants.csv", row=4),
        ),
    ]
    refs = [
        TranscriptRef(
            tid,
            f"P{tid[1:]}",
            interview_date=dt.date(2019, 3, int(tid[1:]) + 1),
            source_file=f"transcripts/{tid}.txt",
            location=Location(f"transcripts/{tid}.txt"),
        )
        for tid in texts
    ]
    codes = [
        Code("awakening", "stage-awakening"),
        Code("engagement", "stage-turning-point"),
        Code("permanent post", "trigger-permanent-post"),
        Code("anger", "emotion-frustration"),
        Code(
            "ward politics",
            None,
            description="The politics of the ward",
            location=Location("codebook.csv", row=6),
        ),
    ]
    stories = [
        Story("S01", "T01", "Theatre redesign", "initiative-service-redesign", ["actor-surgeons"]),
        Story("S02", "T02", "Staffing cuts", "initiative-cost-control", []),
        Story("S03", "T03", "The merger", "initiative-integrated-working", ["actor-surgeons"]),
    ]
    study = Study(
        info=StudyInfo(study_id, "Demo study", period_start=2018, period_end=2020, synthetic=True),
        source_path="tests/demo",
        reader="python",
        participants=participants,
        transcripts=refs,
        stories=[s for s in stories if s.transcript_id in texts],
        codes=codes,
        coders=[Coder("rw", "RW")],
    )
    if events:
        study.events = [
            ActivationEvent(
                "E01",
                "P01",
                "stage-awakening",
                career_year=9,
                triggers=["trigger-permanent-post"],
                location=Location("events.csv", row=2),
            )
        ]
    by_tid: dict[str, list[Coding]] = {}
    for c in codings:
        by_tid.setdefault(c.transcript_id, []).append(c)

    def loader(ref: TranscriptRef) -> TranscriptData:
        text = texts[ref.id]
        return TranscriptData(ref, text, hashlib.sha256(text.encode()).hexdigest(), by_tid.get(ref.id, []))

    study.loader = loader
    if mutate:
        mutate(study)
    return study


def break_quote(study: Study) -> None:
    """Make the first coding of T02 quote text its transcript does not contain (a violation)."""
    loader = study.loader
    assert loader is not None

    def broken(ref):  # type: ignore[no-untyped-def]
        data = loader(ref)
        if ref.id == "T02":
            data.codings[0].exact = "a quote the transcript does not contain"
        return data

    study.loader = broken
