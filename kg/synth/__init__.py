"""Seeded synthetic studies shaped on the published aggregates of the example study.

``generate(participants, seed, out)`` writes a native study folder (or a ``.qdpx``) of any size,
streaming one transcript at a time; ``hmp synth`` is the command-line face of it. Everything it
writes is synthetic and says so: "synthetic; shaped on published aggregates; not empirical data".
"""

from __future__ import annotations

from kg.synth.writer import CANONICAL_SEED, DESCRIPTION, SynthSummary, default_study_id, generate

__all__ = ["CANONICAL_SEED", "DESCRIPTION", "SynthSummary", "default_study_id", "generate"]
