"""Waiting on conditions: tests never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable

from studio.service import JobView, Studio


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def wait_final(studio: Studio, job_id: int, timeout: float = 60.0) -> JobView:
    """The job once it has ended (the Studio wakes us on the worker's updates)."""
    view = studio.wait(job_id, timeout=timeout)
    assert view.is_final, f"job {job_id} still {view.status.value} after {timeout} s"
    return view
