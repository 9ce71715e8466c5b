"""The published aggregates of the study the example is shaped on, and how they scale.

Source: the narrative interview study of 65 doctors, nurses and managers in the English NHS
(2018-2020), section "The study". Only these marginal figures are published; the joint
distribution is assigned by :mod:`kg.synth.cohort`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

PUBLISHED_N = 65

OCCUPATIONS: dict[str, int] = {"manager": 29, "doctor": 21, "nurse": 15}
DOCTOR_LEADERS = 9  # doctors with hospital or regional leadership roles
NURSE_LEADERSHIP: dict[str, int] = {
    "quality-improvement-lead": 6,
    "departmental-manager": 4,
    "senior-hospital-leader": 5,
}
SETTINGS: dict[str, int] = {
    "general-hospital": 27,
    "specialist-hospital": 5,
    "primary-care": 14,
    "community-care": 3,
    "regional-planning": 8,
    "national-leadership": 8,
}
BANDS: dict[str, int] = {"under-10": 5, "11-20": 5, "21-30": 28, "over-30": 19, "not-stated": 8}
PERIOD = (2018, 2020)
MIN_STORIES = 101  # "over 100 detailed stories"

CLINICAL_ROLES = frozenset(
    {
        "junior-doctor",
        "specialist-trainee",
        "consultant",
        "general-practitioner",
        "staff-nurse",
        "senior-staff-nurse",
    }
)


def largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` into integers proportional to ``weights`` (Hamilton's method).

    Ties in the remainders go to the earlier position, so the result is deterministic.
    """
    weight_sum = float(sum(weights))
    if total <= 0 or weight_sum <= 0:
        return [0] * len(weights)
    quotas = [total * w / weight_sum for w in weights]
    counts = [int(q) for q in quotas]
    order = sorted(range(len(weights)), key=lambda i: (-(quotas[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def scale(total: int, published: Mapping[str, int]) -> dict[str, int]:
    """The published proportions scaled to ``total`` people (exact at the published size)."""
    return dict(zip(published, largest_remainder(total, list(published.values())), strict=True))
