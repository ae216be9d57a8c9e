"""A fake pipeline and a Studio around it, for tests about the queue and the UI rather than the model."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np

from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe
from studio.engine.contract import GenerationResult, PipelineInfo, StepInfo

PRESET = PRESETS["tiny-1.3b"]


class FakePipeline:
    """Frames from numpy; a test can hold a run at a step with `gate`, or make it fail with `fail_with`."""

    def __init__(self) -> None:
        self.ran: list[Recipe] = []
        self.gate: threading.Event | None = None
        self.at_step = threading.Event()
        self.fail_with: Exception | None = None
        self.load_error: Exception | None = None
        self.batches: list[list[int]] = []

    def load(self) -> float:
        if self.load_error:
            raise self.load_error
        return 0.01

    def info(self) -> PipelineInfo:
        return PipelineInfo(device="cpu")

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        recipe: Recipe,
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> GenerationResult:
        self.ran.append(recipe)
        for step in range(1, recipe.steps + 1):
            if self.fail_with is not None:
                error, self.fail_with = self.fail_with, None
                raise error
            if on_step:
                on_step(StepInfo(step, recipe.steps, 0.01 * step))
            gate = self.gate  # read once: a test may open the gate and clear it while this run waits on it
            if gate is not None and step == 2:
                self.at_step.set()
                # A long step made of many blocks: the pipeline calls `interrupt` between them
                deadline = time.monotonic() + 30
                while not gate.wait(0.01):
                    assert time.monotonic() < deadline, "the test never opened the gate"
                    if interrupt is not None:
                        interrupt()
        frames = np.full((recipe.num_frames, recipe.height, recipe.width, 3), recipe.seed % 255, np.uint8)
        return GenerationResult(frames=frames, text_encode_s=0.0, denoise_s=0.02, decode_s=0.01)

    def generate_batch(
        self,
        recipes: list[Recipe],
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> list[GenerationResult]:
        self.batches.append([r.seed for r in recipes])
        return [self.generate(recipe, on_step, interrupt) for recipe in recipes]
