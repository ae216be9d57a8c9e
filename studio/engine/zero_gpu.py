"""ZeroGPU: the pipeline's generation runs inside `spaces.GPU`, in a forked process that holds the GPU.

spaces forks a process for the call (or reuses one forked earlier) and pickles the result back. That process must not
touch the database: SQLite is not fork-safe while the parent's other threads use it (a child hung in sqlite3's open
in the tests). So it only generates: recipes go in, frames come back, and two small files in `incoming/` carry
progress out (`<key>.progress`) and a cancel in (`<key>.cancel`). Everything else — claiming, progress rows, cancel
requests, the MP4 and the row — stays in the parent's worker, exactly as off ZeroGPU.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from studio import hosting
from studio.domain.preset_types import Preset
from studio.domain.recipe import Recipe
from studio.engine.contract import Canceled, GenerationResult, GpuOutOfMemory, Pipeline, PipelineInfo, StepInfo

log = logging.getLogger(__name__)
RELAY_POLL_S = 0.25  # how often the parent reads the GPU process's progress and passes on a cancel


class ZeroGpuPipeline:
    """A Pipeline whose generation runs through one spaces.GPU function (wrapped once, at construction)."""

    def __init__(self, pipeline: Pipeline, *, preset: Preset, channel_dir: Path) -> None:
        self.inner = pipeline
        self.preset = preset
        self.channel_dir = channel_dir
        self._on_gpu = hosting.gpu(self._generate_here, duration=self._seconds)

    def load(self) -> float:
        return self.inner.load()

    def info(self) -> PipelineInfo:
        return self.inner.info()

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def generate(
        self,
        recipe: Recipe,
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> GenerationResult:
        return self.generate_batch([recipe], on_step, interrupt)[0]

    def generate_batch(
        self,
        recipes: list[Recipe],
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> list[GenerationResult]:
        """Run in the GPU process; meanwhile relay its progress to `on_step` and a cancel from either callback."""
        self.channel_dir.mkdir(parents=True, exist_ok=True)
        channel = self.channel_dir / f"gpu-{os.getpid()}-{threading.get_ident()}-{recipes[0].seed}"
        progress, cancel = channel.with_suffix(".progress"), channel.with_suffix(".cancel")
        done = threading.Event()
        relay = threading.Thread(
            target=self._relay, args=(progress, cancel, done, on_step, interrupt), name="studio-gpu-relay", daemon=True
        )
        relay.start()
        try:
            outcome, value = self._on_gpu([recipe.to_dict() for recipe in recipes], str(channel))
        finally:
            done.set()
            relay.join(10)
            progress.unlink(missing_ok=True)
            cancel.unlink(missing_ok=True)
        if outcome == "canceled":
            raise Canceled(value)
        if outcome == "out_of_memory":
            raise GpuOutOfMemory(value)
        return value  # type: ignore[no-any-return]

    def _seconds(self, recipes: list[dict[str, Any]], _channel: str) -> int:
        """GPU seconds to ask for (spaces calls this with the function's own arguments)."""
        recipe = recipes[0]
        return hosting.zero_gpu_duration(
            layout=self.preset.layout,
            width=recipe["width"],
            height=recipe["height"],
            num_frames=recipe["num_frames"],
            steps=recipe["steps"],
        )

    def _generate_here(self, recipes: list[dict[str, Any]], channel: str) -> tuple[str, Any]:
        """In the GPU process: generate, writing progress to the channel and stopping at its cancel file."""
        progress, cancel = Path(channel).with_suffix(".progress"), Path(channel).with_suffix(".cancel")

        def on_step(info: StepInfo) -> None:
            tmp = progress.with_suffix(".tmp")
            tmp.write_text(f"{info.step} {info.total} {info.elapsed_s}")
            os.replace(tmp, progress)
            if cancel.exists():
                raise Canceled(f"canceled at step {info.step}/{info.total}")

        def interrupt() -> None:
            if cancel.exists():
                raise Canceled("canceled between blocks")

        try:
            return "ok", self.inner.generate_batch([Recipe.from_dict(r) for r in recipes], on_step, interrupt)
        except Canceled as exc:
            return "canceled", str(exc)
        except GpuOutOfMemory as exc:
            return "out_of_memory", str(exc)

    @staticmethod
    def _relay(
        progress: Path,
        cancel: Path,
        done: threading.Event,
        on_step: Callable[[StepInfo], None] | None,
        interrupt: Callable[[], None] | None,
    ) -> None:
        """In the parent: pass each new step to `on_step`; when it or `interrupt` raises Canceled, touch the file."""
        seen = ""
        while not done.wait(RELAY_POLL_S):
            try:
                text = progress.read_text() if progress.exists() else ""
                if text and text != seen:
                    seen = text
                    step, total, elapsed = text.split()
                    if on_step is not None:
                        on_step(StepInfo(int(step), int(total), float(elapsed)))
                if interrupt is not None:
                    interrupt()
            except Canceled:
                cancel.touch()
            except Exception:  # a database hiccup while recording progress: the next turn tries again
                log.exception("could not relay the GPU process's progress")
