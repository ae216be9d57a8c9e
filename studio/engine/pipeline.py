"""The resident Wan pipeline: loaded once, kept on the device, run once per job.

This module and its helpers (pipeline_loading, pipeline_call, text_cache, offload, attention, lora, quantize) are the
only ones that import torch and diffusers at module level; the worker owns the one instance.
On CUDA, `load` also quantizes the experts to FP8 when asked, places the weights by a memory strategy
(studio.engine.memory_plan), picks the fastest attention kernel and, when asked, compiles the repeated transformer
blocks. On the CPU none of that applies.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

# From their modules: mypy resolves `from diffusers import WanPipeline` to diffusers' dummy placeholder class.
from diffusers.pipelines.wan.pipeline_wan import prompt_clean
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

from studio.domain.downloads import Transfer
from studio.domain.preset_types import Preset
from studio.domain.recipe import Recipe
from studio.engine.attention import check_attention_setting, choose_attention_backend, compile_experts
from studio.engine.contract import GenerationResult, ImageSource, PipelineInfo, StepInfo
from studio.engine.devices import RunHooks, detect_device
from studio.engine.memory_plan import Strategy, parse_override
from studio.engine.offload import ExpertSwap
from studio.engine.pipeline_call import call_arguments, check_batch, frame_results, out_of_memory_error, step_caching
from studio.engine.pipeline_loading import choose_placement, place_weights, read_pipeline, try_fast_lora, weights_source
from studio.engine.quantize import check_quantize_setting, fp8_config, fp8_unavailable, quantize_experts
from studio.engine.text_cache import ENCODE_CACHE_SIZE, CachingWanPipeline

logger = logging.getLogger(__name__)


class ResidentPipeline:
    """One Wan pipeline held on one device. Not thread-safe: one worker calls it, one job at a time."""

    def __init__(
        self,
        preset: Preset,
        *,
        models_dir: Path,
        device: str | None = None,
        memory_strategy: str | None = None,
        attention_backend: str | None = None,
        compile_blocks: bool = False,
        quantize: str | None = None,
        encode_cache_size: int = ENCODE_CACHE_SIZE,
        on_progress: Callable[[Transfer], None] | None = None,
    ) -> None:
        """Args beyond the model and device are settings: `memory_strategy` ("auto" or a memory_plan strategy),
        `attention_backend` ("auto" or a diffusers backend name), `compile_blocks` (regional torch.compile with a
        warm-up at load, CUDA only), `quantize` ("off" or "fp8": FP8 experts, CUDA only) and `encode_cache_size`
        (0 turns the text-encoding cache off). `on_progress` hears the download and the load, component by component.

        Raises:
            ValueError: a memory strategy or attention kernel that does not exist (or does not fit the model), or
                FP8 asked for on a GPU that cannot run it.
        """
        parse_override(memory_strategy, preset)  # fail at start-up, not after minutes of loading weights
        check_attention_setting(attention_backend)
        self.quantize = check_quantize_setting(quantize)
        self.preset = preset
        self.models_dir = Path(models_dir)
        self.device = device or detect_device()[0]
        if self.quantize == "fp8" and self.on_cuda and (why := fp8_unavailable(self.device)):
            raise ValueError(f"quantize: {why}")
        self.memory_strategy = memory_strategy
        self.requested_attention = attention_backend
        self.compile_blocks = compile_blocks
        self.encode_cache_size = encode_cache_size
        self.on_progress = on_progress
        self.strategy: Strategy | None = None  # set by load
        self.attention_backend: str | None = None  # set by load
        self.attention_timings: dict[str, float] = {}  # seconds per probe call, by kernel (CUDA only)
        self.compiled = False
        self.precision = "bf16" if self.on_cuda else "fp32"  # of the experts' weights; "fp8" once quantized
        self.fast_error: str | None = None  # why fast mode is off although the preset names a LoRA
        self.fast_lora_gb = 0.0  # size of the loaded fast LoRA (1e9 bytes), counted in the memory plan
        self._pipe: CachingWanPipeline | None = None
        self._expert_swap: ExpertSwap | None = None
        self._fast_loaded = False
        self._fast_on = False
        self._counting_tokenizer: Any = None
        self._counting_lock = threading.Lock()
        self.image_source: ImageSource | None = None  # start/end images of image jobs (set by the services)

    @property
    def loaded(self) -> bool:
        return self._pipe is not None

    @property
    def pipe(self) -> CachingWanPipeline:
        """The loaded diffusers pipeline (for LoRA loading, tests and benchmarks)."""
        if self._pipe is None:
            raise RuntimeError(f"the {self.preset.key} pipeline is not loaded yet; call load() first")
        return self._pipe

    @property
    def on_cuda(self) -> bool:
        return self.device.startswith("cuda")

    @property
    def fast_available(self) -> bool:
        """Whether fast-mode recipes can run: the preset's LoRA is loaded."""
        return self._fast_loaded

    def load(self) -> float:
        """Load the weights, place them on the device and keep them there; returns the seconds it took.

        Raises:
            ValueError: the preset names no weights, or the memory strategy it was given does not fit this model.
        """
        if self._pipe is not None:
            return 0.0
        start = time.perf_counter()
        if self.device.startswith("cuda:"):  # a fleet worker's GPU: CUDA's per-device calls (peak memory…) mean it
            torch.cuda.set_device(torch.device(self.device))

        # 1. Where the weights are: a hub id (fetched, with progress) or folder, or the tiny model under models_dir
        source = weights_source(self.preset, self.models_dir, self.on_progress)

        # 2. Into CPU memory, with the preset's UniPC scheduler (studio.engine.pipeline_loading)
        pipe = read_pipeline(
            source,
            self.preset,
            device=self.device,
            encode_cache_size=self.encode_cache_size,
            on_progress=self.on_progress,
        )

        # 3. Counting tokens runs on UI threads while the worker encodes: a fast tokenizer used by two threads at once
        # raises "Already borrowed", so counting gets a copy of its own (and a lock among the UI threads).
        self._counting_tokenizer = copy.deepcopy(pipe.tokenizer)

        # 4. Fast LoRA, unfused and switched off until a fast job: a failure leaves quality mode working
        if self.preset.fast_lora is not None:
            self.fast_lora_gb, self.fast_error = try_fast_lora(pipe, self.preset)
            self._fast_loaded = self.fast_error is None

        # 5. FP8 experts (CUDA, capability ≥ 8.9), after the LoRA so that its own small layers stay bf16
        if self.quantize == "fp8":
            if self.on_cuda:
                quantize_experts(pipe, fp8_config(), work_device=self.device)
                self.precision = "fp8"
            else:
                logger.info("quantize fp8 ignored on %s: FP8 needs a CUDA GPU of capability 8.9 or newer", self.device)

        # 6. Memory strategy: placement on CUDA, from free memory and the largest job; on the CPU nothing to do
        self.strategy = choose_placement(
            self.preset,
            self.device,
            override=self.memory_strategy,
            fast=self._fast_loaded,
            lora_gb=self.fast_lora_gb,
            fp8=self.precision == "fp8",
        )
        self._expert_swap = place_weights(pipe, self.strategy, self.device, override=self.memory_strategy)
        logger.info("memory strategy for %s: %s", self.preset.key, self.strategy.describe())

        # 7. Attention kernel: the fastest that agrees with PyTorch's SDPA on CUDA; diffusers' default on the CPU
        self.attention_backend, self.attention_timings = choose_attention_backend(
            pipe, self.requested_attention, self.device
        )

        # 8. Regional compilation of the repeated blocks, warmed up here rather than in the first job
        if self.compile_blocks:
            if self.on_cuda:
                compile_experts(pipe, self.preset)
                self.compiled = True
            else:
                logger.info("compile_blocks ignored on %s (compiling takes longer than a preview job)", self.device)

        self._pipe = pipe
        seconds = time.perf_counter() - start
        logger.info("loaded %s from %s on %s in %.1f s", self.preset.key, source, self.device, seconds)
        return seconds

    def unload(self) -> None:
        """Let go of the weights (before another model is loaded in their place) and free the GPU's cache."""
        self._pipe = None
        self._expert_swap = None
        self._counting_tokenizer = None
        gc.collect()
        if self.on_cuda:
            torch.cuda.empty_cache()

    def info(self) -> PipelineInfo:
        """Device, precision, memory strategy, attention kernel and compilation (the last three once loaded)."""
        return PipelineInfo(
            device=self.device,
            precision=self.precision,
            memory_strategy=self.strategy.describe() if self.strategy is not None else None,
            attention_backend=self.attention_backend,
            compiled=self.compiled,
        )

    def count_tokens(self, text: str) -> int:
        """Tokens the text encoder sees for `text`, counting the closing </s> (compare with max_prompt_tokens)."""
        self.pipe  # noqa: B018 - raises before the model is loaded
        with self._counting_lock:
            return len(self._counting_tokenizer(prompt_clean(text), add_special_tokens=True).input_ids)

    def generate(
        self,
        recipe: Recipe,
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> GenerationResult:
        """Run one recipe to frames.

        Raises:
            Canceled: raised by `on_step` (after a step) or `interrupt` (between transformer blocks and between the
                VAE's latent frames); the rest of the run is skipped and the pipeline stays usable.
            GpuOutOfMemory: CUDA ran out of memory; the cache is freed and the pipeline stays usable.
            ValueError: the recipe was built for another model, or for a fast LoRA this pipeline does not have.
        """
        return self.generate_batch([recipe], on_step, interrupt)[0]

    def generate_batch(
        self,
        recipes: list[Recipe],
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> list[GenerationResult]:
        """Run recipes that differ only in their seed in one batched call (one generator per seed), in order.

        Raises: as `generate`; ValueError also when the recipes differ in anything but the seed.
        """
        recipe = check_batch(recipes)
        pipe = self.pipe
        if recipe.model != self.preset.key:
            raise ValueError(f"recipe is for model {recipe.model!r}, but the loaded model is {self.preset.key!r}")

        # 1. Mode: the fast LoRA on for fast recipes, off (base weights untouched) for quality ones
        self._use_speed(recipe)

        # 2. Scheduler shift: swap only when this recipe asks for another one
        if recipe.flow_shift != pipe.scheduler.config.flow_shift:
            pipe.scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config, flow_shift=recipe.flow_shift)

        # 3. Call the pipeline (text or image to video) with every recipe value explicit; the hooks time the run and
        # check for a cancel
        call, kwargs = call_arguments(recipes, self.preset, pipe, self.image_source)
        if self.on_cuda:
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        out_of_memory = False
        hooks = RunHooks(call, self.device, compiled=self.compiled, on_step=on_step, interrupt=interrupt)
        caching = step_caching(recipe, self.preset, pipe, compiled=self.compiled)
        try:
            with hooks, caching or contextlib.nullcontext(), torch.inference_mode():
                video = call(**kwargs, callback_on_step_end=hooks.step_end).frames
        except torch.OutOfMemoryError:
            # Leave the except block first: the traceback holds the step's tensors until then.
            out_of_memory = True
        if out_of_memory:
            raise out_of_memory_error(recipes, self.preset.key)

        # 4. Frames: uint8 (F, H, W, 3), one result per seed, with the run's timings (studio.engine.pipeline_call)
        return frame_results(
            video,
            seeds=len(recipes),
            start=start,
            end=time.perf_counter(),
            hooks=hooks,
            peak_memory_gb=torch.cuda.max_memory_allocated() / 1e9 if self.on_cuda else 0.0,
            precision=self.precision,
            caching=caching,
            attention_backend=self.attention_backend,
        )

    def _use_speed(self, recipe: Recipe) -> None:
        fast = recipe.speed == "fast"
        if fast and not self._fast_loaded:
            why = self.fast_error or f"{self.preset.key} has no fast LoRA configured"
            raise ValueError(f"speed: fast mode is not available ({why}); use quality")
        if fast and recipe.lora != self.preset.fast_lora_label:
            raise ValueError(
                f"recipe was made with the fast LoRA {recipe.lora!r}, but the loaded one is "
                f"{self.preset.fast_lora_label!r}"
            )
        if self._fast_loaded and fast != self._fast_on:
            if fast:
                self.pipe.enable_lora()
            else:
                self.pipe.disable_lora()
            self._fast_on = fast
