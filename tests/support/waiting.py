"""Waiting on a condition with a deadline, instead of sleeping a fixed time and hoping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(condition: Callable[[], T], timeout: float, what: str, interval: float = 0.1, *,
               failed: Callable[[], str | None] | None = None) -> T:
    """Poll ``condition`` until it returns something truthy and return that; fail naming ``what`` after
    ``timeout`` seconds, or at once when ``failed`` says why waiting is pointless (e.g. ``ServiceProcess.died``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if failed is not None and (reason := failed()):
            raise AssertionError(f"gave up waiting for {what}: {reason}")
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(interval)


def let_time_pass(seconds: float) -> None:
    """Sleep on purpose: the passing of wall time is the behaviour under test (a retry interval running out,
    playback paced at real time), never a guess at how long something else takes."""
    time.sleep(seconds)
