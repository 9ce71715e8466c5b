"""kg._gc.paused_gc: the collector is off inside, and back to its previous state after."""

from __future__ import annotations

import gc
import threading

import pytest

from kg._gc import paused_gc


def test_paused_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_restored_after_an_error() -> None:
    with pytest.raises(ValueError), paused_gc():
        raise ValueError("boom")
    assert gc.isenabled()


def test_left_off_when_it_was_off() -> None:
    gc.disable()
    try:
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_threads_turn_it_on_only_when_the_last_leaves() -> None:
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with paused_gc():
            inside.set()
            release.wait(10)

    worker = threading.Thread(target=hold)
    worker.start()
    assert inside.wait(10)
    with paused_gc():
        pass
    assert not gc.isenabled()  # the worker is still inside
    release.set()
    worker.join(10)
    assert gc.isenabled()
