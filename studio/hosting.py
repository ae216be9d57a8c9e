"""Where the studio runs: Hugging Face Spaces conventions (persistent /data, the server address Spaces expects)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
SPACES_DATA = Path("/data")  # a Space's persistent storage, when it has some


def on_spaces() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def has_persistent_storage() -> bool:
    return SPACES_DATA.is_dir() and os.access(SPACES_DATA, os.W_OK)


def default_data_dir() -> Path:
    """`/data` on a Space with persistent storage, else `./data`."""
    return SPACES_DATA if on_spaces() and has_persistent_storage() else Path("data")


def default_host() -> str:
    # Spaces (and some Gradio deployments) say where to listen through Gradio's own variables.
    return os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")


def default_port() -> int:
    return int(os.environ.get("GRADIO_SERVER_PORT", "7860"))


def default_public_url() -> str | None:
    """On a Space, its own address (Spaces set SPACE_HOST, e.g. someone-wan-studio.hf.space); elsewhere none."""
    host = os.environ.get("SPACE_HOST", "").strip()
    return f"https://{host}" if on_spaces() and host else None


def history_is_temporary(data_dir: Path) -> bool:
    """On a Space without persistent storage, everything under the data dir is lost at restart."""
    return on_spaces() and not data_dir.resolve().is_relative_to(SPACES_DATA)


# -- ZeroGPU ---------------------------------------------------------------------------------------
# On ZeroGPU hardware a GPU exists only inside a function decorated with `spaces.GPU`. There the worker thread runs
# each job of every surface (UI, comparisons, REST, /generate, retries, gradio_client, MCP) through one such function,
# one job at a time; spaces forks a process that holds the GPU for it, and the job's row carries progress and outcome
# back. Called outside a Gradio event, spaces schedules the GPU without a visitor's token: the time counts against
# the Space's own (anonymous) quota, not the visitor's (spaces 0.51.3, zero/wrappers.py and zero/client.py).

# Seconds per (pixel × frame × step), with guidance, from Wan's published timings (A14B 720p: 1041.5 s for
# 40 steps on one H100; TI2V-5B 720p: 534.7 s for 50 steps on an RTX 4090), not measured by this project.
_SECONDS_PER_PIXEL_FRAME_STEP = {"a14b": 3.5e-7, "ti2v-5b": 1.0e-7, "1.3b": 5.0e-8}
ZERO_GPU_MIN_S, ZERO_GPU_MAX_S = 30, 600
DECODE_AND_ENCODE_MARGIN_S = 20


def on_zero_gpu() -> bool:
    """Spaces set SPACES_ZERO_GPU on ZeroGPU hardware."""
    return on_spaces() and os.environ.get("SPACES_ZERO_GPU", "").lower() in ("1", "true")


def zero_gpu_duration(*, layout: str, width: int, height: int, num_frames: int, steps: int) -> int:
    """How many GPU seconds to ask ZeroGPU for one job: the estimated run plus a margin, within ZeroGPU's bounds."""
    per = _SECONDS_PER_PIXEL_FRAME_STEP.get(layout, _SECONDS_PER_PIXEL_FRAME_STEP["a14b"])
    estimate = per * width * height * num_frames * steps + DECODE_AND_ENCODE_MARGIN_S
    return int(min(max(estimate, ZERO_GPU_MIN_S), ZERO_GPU_MAX_S))


def gpu(function: Callable[P, T], *, duration: Callable[P, int]) -> Callable[P, T]:
    """`spaces.GPU(duration=...)(function)` where the `spaces` package is installed (on Spaces), else `function`.

    Wrap once, at start: spaces caches the first wrapper of a function and ignores a later duration, so the duration
    is a callable that spaces calls with the function's own arguments. On ZeroGPU the function runs in a forked
    process that holds the GPU: what it changes in memory stays there; only its (pickled) result comes back.
    """
    try:
        import spaces  # type: ignore[import-not-found]
    except ImportError:
        return function
    return spaces.GPU(duration=duration)(function)  # type: ignore[no-any-return]
