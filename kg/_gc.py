"""Pause Python's cyclic garbage collector while a large result is materialised.

Building a result of 25k rows x 12 terms allocates ~330k objects that all stay alive; each
young-generation collection on the way re-scans them and full collections walk the growing
heap, which cost stage-trajectories at 100x ~0.2 s of its ~1 s (bench/RESULTS.md). Nothing in
such a loop creates reference cycles, so the collector has nothing to find there; it is turned
back on (if it was on) as soon as the rows are built.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # how many threads are inside paused_gc()
_restore = False  # whether the collector was on when the first of them entered


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block; restore its previous state after.

    Counted, so overlapping blocks in several threads (queries run in threads) turn it back on
    only when the last one leaves, and only if it was on before the first one entered.
    """
    global _depth, _restore
    with _lock:
        if _depth == 0:
            _restore = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _restore:
                gc.enable()
