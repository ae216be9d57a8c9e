"""The contract between the worker and a pipeline: what one run reports, and how it stops. No torch here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from studio.domain.recipe import Recipe


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
    precision: str | None = None  # the experts' weights: "fp32" (CPU), "bf16" or "fp8" (studio.engine.quantize)
    forwards_run: int | None = None  # Balanced: transformer forwards that ran (the rest reused the step cache)
    forwards_total: int | None = None  # Balanced: transformer forwards an uncached run makes
    attention: str | None = None  # an attention kernel that changes the picture (SageAttention's 8-bit), else None


@dataclass(frozen=True)
class PipelineInfo:
    """How a pipeline runs, for the model line and /health: filled when it loads (the device is known before)."""

    device: str
    precision: str | None = None  # the experts' weights: "fp32" (CPU), "bf16" or "fp8"
    memory_strategy: str | None = None  # where the weights live and why (studio.engine.memory_plan)
    attention_backend: str | None = None  # the attention kernel chosen at load
    compiled: bool = False  # the repeated blocks were compiled

    def describe(self) -> str:
        """E.g. "cuda · bf16 · memory: expert_swap (…) · attention: _flash_3 · compiled"."""
        parts = [
            self.device,
            self.precision,
            f"memory: {self.memory_strategy}" if self.memory_strategy else None,
            f"attention: {self.attention_backend}" if self.attention_backend else None,
            "compiled" if self.compiled else None,
        ]
        return " · ".join(part for part in parts if part)


# Where an image job's pixels come from (the services set it: images live in the media store, by content hash):
# (image hash, width, height, fit "crop" | "pad") -> (height, width, 3) uint8, already fitted to the recipe's size.
ImageSource = Callable[[str, int, int, str], np.ndarray]


class Pipeline(Protocol):
    """What the worker needs from `studio.engine.pipeline.ResidentPipeline` (tests substitute their own).

    `on_step` runs after each denoising step; `interrupt` runs between transformer blocks and VAE decode chunks, so
    that a cancel (Canceled raised by either) is answered within a block however long a step is.
    """

    def load(self) -> float: ...

    def info(self) -> PipelineInfo: ...

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
