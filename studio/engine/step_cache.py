"""Balanced: diffusers' own step-cache hooks (MagCache, First Block Cache) on the experts for one run, and a count of
the transformer forwards that really ran.

The hooks are enabled for a Balanced run and removed after it, so Quality and Fast runs see the plain transformers.
Each expert gets its own cache state (diffusers keeps one per transformer, and one per "cond"/"uncond" pass); on A14B
the low-noise expert starts with an empty cache at the hand-over and the high-noise expert's cache is dropped there.
MagCache's per-step magnitude ratios are resampled to the recipe's steps and split at the hand-over, each expert
getting the ratios of the steps it runs.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import torch
from diffusers.hooks import FirstBlockCacheConfig, MagCacheConfig
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

from studio.domain.preset_types import Preset
from studio.domain.recipe import Recipe
from studio.domain.step_cache import StepCache, check_method, resample, with_method

if TYPE_CHECKING:
    from diffusers.pipelines.wan.pipeline_wan import WanPipeline

logger = logging.getLogger(__name__)


def recipe_cache(recipe: Recipe, preset: Preset) -> StepCache:
    """The cache a Balanced recipe asks for: the preset's, under the recipe's method and threshold.

    Raises:
        ValueError: the preset has no step cache (Balanced is off here).
    """
    if preset.step_cache is None:
        raise ValueError(f"speed: balanced is not available for {preset.key} (no step cache; see --cache); use quality")
    method = check_method("cache", recipe.cache or preset.step_cache.method)
    return with_method(preset.step_cache, method, recipe.cache_threshold)


def high_noise_steps(pipe: WanPipeline, steps: int) -> int:
    """How many of `steps` the high-noise expert runs (all of them without a second expert), by the pipeline's rule
    (timestep ≥ boundary_ratio × train timesteps) on its current scheduler."""
    if pipe.transformer_2 is None or pipe.config["boundary_ratio"] is None:
        return steps
    scheduler = UniPCMultistepScheduler.from_config(pipe.scheduler.config)
    scheduler.set_timesteps(steps, device="cpu")
    boundary = pipe.config["boundary_ratio"] * scheduler.config.num_train_timesteps
    return int((scheduler.timesteps >= boundary).sum().item())


def expert_configs(cache: StepCache, steps: int, high_steps: int, two_experts: bool) -> list[Any]:
    """One diffusers cache config per expert (None for an expert that runs no step)."""
    if cache.method == "fbcache":
        return [FirstBlockCacheConfig(threshold=cache.threshold) for _ in range(2 if two_experts else 1)]
    ratios = resample(cache.mag_ratios, steps)
    if not two_experts:
        return [_magcache(cache, ratios, cache.retention_ratio)]
    low_steps = steps - high_steps
    # The first retention_ratio × steps of the whole run always compute (all in the high-noise expert); the low-noise
    # expert computes its first step anyway, having no residual of its own yet.
    kept = cache.retention_ratio * steps
    high = _magcache(cache, ratios[:high_steps], min(1.0, kept / high_steps)) if high_steps else None
    low = _magcache(cache, ratios[high_steps:], 0.0) if low_steps else None
    return [high, low]


def _magcache(cache: StepCache, ratios: list[float], retention: float) -> MagCacheConfig:
    return MagCacheConfig(
        threshold=cache.threshold,
        max_skip_steps=cache.max_skip_steps,
        retention_ratio=retention,
        num_inference_steps=len(ratios),
        mag_ratios=torch.tensor(ratios),
    )


class StepCaching:
    """The cache hooks and the forward count around one Balanced pipeline call (a context manager).

    `run` counts transformer calls whose last block ran; `total` counts all transformer calls (what an uncached run
    makes): a skipped forward reuses the cache and never reaches the last block.
    """

    def __init__(self, pipe: WanPipeline, cache: StepCache, steps: int) -> None:
        self.pipe = pipe
        self.cache = cache
        self.steps = steps
        self.experts = [m for m in (pipe.transformer, pipe.transformer_2) if m is not None]
        self.total = 0
        self.run = 0
        self._enabled: list[Any] = []
        self._handles: list[Any] = []
        self._handed_over = False

    def __enter__(self) -> StepCaching:
        two = len(self.experts) == 2
        configs = expert_configs(self.cache, self.steps, high_noise_steps(self.pipe, self.steps), two)
        try:
            for expert, config in zip(self.experts, configs, strict=True):
                if config is not None:
                    expert.enable_cache(config)
                    self._enabled.append(expert)
        except BaseException:
            self.__exit__()
            raise
        for expert in self.experts:
            self._handles.append(expert.register_forward_pre_hook(self._count_call))
            self._handles.append(expert.blocks[-1].ffn.register_forward_pre_hook(self._count_run))
        if two:
            self._handles.append(self.experts[1].register_forward_pre_hook(self._hand_over))
        return self

    def __exit__(self, *_exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        for expert in self._enabled:
            expert.disable_cache()
        self._handles, self._enabled = [], []

    def _count_call(self, _module: torch.nn.Module, _args: Any) -> None:
        self.total += 1

    def _count_run(self, _module: torch.nn.Module, _args: Any) -> None:
        self.run += 1

    def _hand_over(self, _module: torch.nn.Module, _args: Any) -> None:
        """At the first low-noise call, drop the high-noise expert's cache (its residuals are of no use any more)."""
        if not self._handed_over:
            self._handed_over = True
            if self.experts[0] in self._enabled:
                self.experts[0]._reset_stateful_cache()
