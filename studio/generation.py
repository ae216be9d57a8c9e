"""The contract between the worker and a pipeline: what one run reports, and how it stops. No torch here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from studio.recipe import Recipe


@dataclass(frozen=True)
class StepInfo:
    """Progress after one denoising step."""

    step: int  # steps completed, 1..total
    total: int
    elapsed_s: float  # since the denoising loop started


class Canceled(Exception):
    """Raised by `on_step` or `interrupt` to stop a run; it propagates out of `generate`, which stays usable."""


class GpuOutOfMemory(RuntimeError):
    """The GPU ran out of memory for this size; the pipeline is still loaded and usable."""


@dataclass(frozen=True)
class GenerationResult:
    """Frames of one video and where the time went."""

    frames: np.ndarray  # (F, H, W, 3) uint8
    text_encode_s: float  # prompt encoding and setup, until the first transformer call
    denoise_s: float  # until the last step finished
    decode_s: float  # VAE decode and conversion to frames
    peak_memory_gb: float | None = None  # peak GPU memory allocated during the job (1e9 bytes); 0.0 on CPU
    precision: str | None = None  # the experts' weights: "fp32" (CPU), "bf16" or "fp8" (studio.quantize)


class Pipeline(Protocol):
    """What the worker needs from `studio.pipeline.ResidentPipeline` (tests substitute their own).

    `on_step` runs after each denoising step; `interrupt` runs between transformer blocks and VAE decode chunks, so
    that a cancel (Canceled raised by either) is answered within a block however long a step is.
    """

    def load(self) -> float: ...

    def count_tokens(self, text: str) -> int: ...

    def generate(
        self,
        recipe: Recipe,
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> GenerationResult: ...

    def generate_batch(
        self,
        recipes: list[Recipe],
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> list[GenerationResult]: ...
