"""bench/gpu_step.py cannot run for real without a GPU; its --dry-run keeps the code path from rotting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_dry_run_times_tiny_models_and_says_what_it_skipped() -> None:
    result = subprocess.run(
        [sys.executable, "bench/gpu_step.py", "--dry-run", "--fp8", "--balanced"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "dry run: tiny models, numbers mean nothing" in out
    rows = [line for line in out.splitlines() if line.startswith("tiny-") and "studio [" in line]
    assert len(rows) == 2  # both tiny layouts timed on the studio path
    assert "studio + fp8: skipped, FP8 needs a CUDA GPU" in out  # never a made-up FP8 row
    assert "text encode UMT5" in out and "+ text encode = " in out  # the fast clip counts the prompt encode
    assert "summary:" in out
    balanced = [line for line in out.splitlines() if "balanced vs quality (magcache 0.06, 10 steps" in line]
    assert len(balanced) == 2 and all("skipped)" in line for line in balanced)  # both layouts, skips counted
