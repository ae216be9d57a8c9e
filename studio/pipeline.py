"""The resident Wan pipeline: loaded once, kept on the device, run once per job.

This is the only module that imports torch and diffusers at module level; the worker owns the one instance.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

# From their modules: mypy resolves `from diffusers import WanPipeline` to diffusers' dummy placeholder class.
from diffusers.pipelines.wan.pipeline_wan import WanPipeline, prompt_clean
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

from studio.generation import GenerationResult, GpuOutOfMemory, StepInfo
from studio.presets import Preset
from studio.recipe import Recipe
from studio.tiny import ensure_tiny_model

logger = logging.getLogger(__name__)


def detect_device() -> tuple[str, float | None]:
    """("cuda", total GiB of GPU 0) when CUDA is available, else ("cpu", None)."""
    if torch.cuda.is_available():
        return "cuda", torch.cuda.get_device_properties(0).total_memory / 2**30
    return "cpu", None


def component_dtypes(device: str) -> dict[str, torch.dtype] | torch.dtype:
    """Load dtypes: bf16 everywhere on CUDA except the VAE, kept in fp32 (bf16 decodes visibly worse); fp32 on CPU."""
    if device.startswith("cuda"):
        return {"default": torch.bfloat16, "vae": torch.float32}
    return torch.float32


class ResidentPipeline:
    """One Wan pipeline held on one device. Not thread-safe: one worker calls it, one job at a time."""

    def __init__(self, preset: Preset, *, models_dir: Path, device: str | None = None) -> None:
        self.preset = preset
        self.models_dir = Path(models_dir)
        self.device = device or detect_device()[0]
        self._pipe: WanPipeline | None = None

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    @property
    def pipe(self) -> WanPipeline:
        """The loaded diffusers pipeline (for LoRA loading, tests and benchmarks)."""
        if self._pipe is None:
            raise RuntimeError(f"the {self.preset.key} pipeline is not loaded yet; call load() first")
        return self._pipe

    @property
    def on_cuda(self) -> bool:
        return self.device.startswith("cuda")

    def load(self) -> float:
        """Load the weights onto the device and keep them there; returns the seconds it took."""
        if self._pipe is not None:
            return 0.0
        start = time.perf_counter()

        # 1. Where the weights are: a hub id or folder, or the tiny model built under models_dir
        if self.preset.tiny:
            source: str | Path = ensure_tiny_model(self.preset, self.models_dir)
        elif self.preset.source is not None:
            source = self.preset.source
        else:
            raise ValueError(f"preset {self.preset.key} names no weights (source is None and it is not tiny)")
        local = Path(source).is_dir()

        # 2. Load (`dtype`, not the deprecated `torch_dtype`; a dict is keyed by component, "default" for the rest)
        pipe = WanPipeline.from_pretrained(
            source,
            dtype=component_dtypes(self.device),
            # Hub repos ship safetensors; a local folder may hold only .bin files, so let diffusers pick there.
            use_safetensors=None if local and not self.preset.tiny else True,
        )

        # 3. Scheduler: UniPC flow matching with the preset's shift, set explicitly
        pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=self.preset.flow_shift)
        pipe.set_progress_bar_config(disable=True)
        self._pipe = pipe.to(self.device)

        seconds = time.perf_counter() - start
        logger.info("loaded %s from %s on %s in %.1f s", self.preset.key, source, self.device, seconds)
        return seconds

    def count_tokens(self, text: str) -> int:
        """Tokens the text encoder sees for `text`, counting the closing </s> (compare with max_prompt_tokens)."""
        return len(self.pipe.tokenizer(prompt_clean(text), add_special_tokens=True).input_ids)

    def generate(self, recipe: Recipe, on_step: Callable[[StepInfo], None] | None = None) -> GenerationResult:
        """Run one recipe to frames.

        Raises:
            Canceled: raised by `on_step`; the remaining steps and the VAE decode are skipped.
            GpuOutOfMemory: CUDA ran out of memory; the cache is freed and the pipeline stays usable.
            ValueError: the recipe was built for another model.
        """
        pipe = self.pipe
        if recipe.model != self.preset.key:
            raise ValueError(f"recipe is for model {recipe.model!r}, but the loaded model is {self.preset.key!r}")

        # 1. Scheduler shift: swap only when this recipe asks for another one
        if recipe.flow_shift != pipe.scheduler.config.flow_shift:
            pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=recipe.flow_shift)

        # 2. Timing: the first transformer call starts the loop, each step callback ends a step
        marks: dict[str, float] = {}

        def mark_loop_start(module: torch.nn.Module, args: Any) -> None:
            if "loop" not in marks:
                self._sync()
                marks["loop"] = time.perf_counter()

        def step_end(p: WanPipeline, i: int, t: torch.Tensor, callback_kwargs: dict[str, Any]) -> dict[str, Any]:
            self._sync()  # CUDA runs ahead of Python: wait so that progress and ETA are honest
            marks["step"] = time.perf_counter()
            if on_step is not None:
                on_step(StepInfo(step=i + 1, total=p.num_timesteps, elapsed_s=marks["step"] - marks["loop"]))
            return callback_kwargs

        experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
        hooks = [m.register_forward_pre_hook(mark_loop_start) for m in experts]

        # 3. Call the pipeline with every recipe value explicit (its own defaults are not Wan 2.2's)
        kwargs: dict[str, Any] = {
            "prompt": recipe.prompt,
            "negative_prompt": recipe.negative_prompt,
            "height": recipe.height,
            "width": recipe.width,
            "num_frames": recipe.num_frames,
            "num_inference_steps": recipe.steps,
            "guidance_scale": recipe.guidance,
            "max_sequence_length": self.preset.max_prompt_tokens,
            "generator": torch.Generator("cpu").manual_seed(recipe.seed),
            "output_type": "np",
            "callback_on_step_end": step_end,
        }
        if pipe.config["boundary_ratio"] is not None and recipe.guidance_2 is not None:
            kwargs["guidance_scale_2"] = recipe.guidance_2
        start = time.perf_counter()
        out_of_memory = False
        try:
            with torch.inference_mode():
                video = pipe(**kwargs).frames
        except torch.OutOfMemoryError:
            # Leave the except block first: the traceback holds the step's tensors until then.
            out_of_memory = True
        finally:
            for hook in hooks:
                hook.remove()
        if out_of_memory:
            gc.collect()
            torch.cuda.empty_cache()
            size = f"{recipe.width}×{recipe.height} × {recipe.num_frames} frames"
            logger.warning("GPU out of memory at %s with %s", size, self.preset.key)
            raise GpuOutOfMemory(
                f"GPU out of memory at {size}: lower the quality or duration, or close other programs using the GPU"
            )

        # 4. Frames: float [0, 1] (batch, F, H, W, 3) -> uint8 (F, H, W, 3)
        frames = (np.clip(video[0], 0.0, 1.0) * 255.0).round().astype(np.uint8)
        end = time.perf_counter()
        loop = marks.get("loop", start)
        last_step = marks.get("step", loop)
        return GenerationResult(
            frames=frames, text_encode_s=loop - start, denoise_s=last_step - loop, decode_s=end - last_step
        )

    def _sync(self) -> None:
        if self.on_cuda:
            torch.cuda.synchronize()
