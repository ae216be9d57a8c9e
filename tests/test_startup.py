"""What a newcomer reads when the studio starts: the address to open, and no library noise that means nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.server import StudioProcess

pytestmark = pytest.mark.process

NOISE = ("triton", "Failed to load", "torchao", "register_constant")


def test_the_log_says_where_to_open_the_studio_and_keeps_library_noise_out(tmp_path: Path) -> None:
    server = StudioProcess(tmp_path / "data", "tiny-1.3b").start()
    try:
        ready = f"Wan Studio is ready: open {server.url}"
        wait_for(lambda: ready in server.log(), timeout=60, what="the ready line")
        wait_for(lambda: "model ready" in server.log(), timeout=120, what="the model to load")
        log = server.log()
        assert log.count(ready) == 1
        noisy = [line for line in log.splitlines() if any(word in line for word in NOISE)]
        assert not noisy, noisy
    finally:
        server.stop()


def test_debug_level_still_shows_the_libraries(tmp_path: Path) -> None:
    server = StudioProcess(tmp_path / "data", "tiny-1.3b", "--log-level", "debug").start()
    try:
        wait_for(lambda: "model ready" in server.log(), timeout=120, what="the model to load")
        assert "DEBUG" in server.log()
    finally:
        server.stop()
