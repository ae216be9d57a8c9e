"""One diffusers call for a batch of recipes: the arguments that go in, and the results that come out.

`ResidentPipeline.generate_batch` (studio.engine.pipeline) owns the run itself (fast mode, scheduler, hooks); these
are the checks and translations on either side of it: the batch, Balanced's step cache, the arguments, the results,
and the error when the GPU ran out of memory.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
from typing import Any

import numpy as np
import torch

from studio.domain.presets import Preset
from studio.domain.recipe import Recipe
from studio.engine.attention import changes_the_picture
from studio.engine.contract import GenerationResult, GpuOutOfMemory, ImageSource
from studio.engine.devices import RunHooks
from studio.engine.image_to_video import image_kwargs, image_pipeline, needs_image
from studio.engine.step_cache import StepCaching, recipe_cache
from studio.engine.text_cache import CachingWanPipeline

logger = logging.getLogger(__name__)


def check_batch(recipes: list[Recipe]) -> Recipe:
    """The recipe the batch shares; raises ValueError when the recipes differ in anything but the seed."""
    recipe = recipes[0]
    if any(dataclasses.replace(other, seed=recipe.seed) != recipe for other in recipes[1:]):
        raise ValueError("recipes: a batch must share everything but the seed")
    return recipe


def step_caching(recipe: Recipe, preset: Preset, pipe: CachingWanPipeline, *, compiled: bool) -> StepCaching | None:
    """Balanced: the preset's step cache (under the recipe's method and threshold) for this call; else None."""
    if recipe.speed != "balanced":
        return None
    if compiled:  # the cache hooks break the compiled blocks' full graphs; submit refuses it first
        raise ValueError("speed: balanced does not run with --compile; choose quality or fast")
    return StepCaching(pipe, recipe_cache(recipe, preset), recipe.steps)


def call_arguments(
    recipes: list[Recipe], preset: Preset, pipe: CachingWanPipeline, image_source: ImageSource | None
) -> tuple[Any, dict[str, Any]]:
    """The pipeline to call (text or image to video) and every recipe value as its arguments, one generator per seed.

    Raises:
        ValueError: the model makes video from an image and the recipe gives none.
    """
    recipe = recipes[0]
    # Every value explicit: the pipeline's own defaults are not Wan 2.2's
    kwargs: dict[str, Any] = {
        "prompt": recipe.prompt,
        "negative_prompt": recipe.negative_prompt,
        "height": recipe.height,
        "width": recipe.width,
        "num_frames": recipe.num_frames,
        "num_inference_steps": recipe.steps,
        "guidance_scale": recipe.guidance,
        "max_sequence_length": preset.max_prompt_tokens,
        "generator": [torch.Generator("cpu").manual_seed(r.seed) for r in recipes],
        "num_videos_per_prompt": len(recipes),
        "output_type": "np",
    }
    if pipe.config["boundary_ratio"] is not None and recipe.guidance_2 is not None:
        kwargs["guidance_scale_2"] = recipe.guidance_2
    # Image jobs run diffusers' image-to-video pipeline over the same loaded modules (studio.engine.image_to_video)
    images = image_kwargs(recipe, image_source)
    if not images and needs_image(pipe):
        raise ValueError(f"start_image: {preset.key} makes video from an image; give a start image")
    call: Any = image_pipeline(pipe) if images else pipe
    return call, kwargs | images


def out_of_memory_error(recipes: list[Recipe], model: str) -> GpuOutOfMemory:
    """Free CUDA's cache after a call ran out of memory; the error to raise, saying what the call asked for."""
    gc.collect()
    torch.cuda.empty_cache()
    recipe = recipes[0]
    size = f"{recipe.width}×{recipe.height} × {recipe.num_frames} frames"
    if len(recipes) > 1:
        size += f" × {len(recipes)} seeds at once"
    logger.warning("GPU out of memory at %s with %s", size, model)
    return GpuOutOfMemory(
        f"GPU out of memory at {size}: lower the quality or duration, or close other programs using the GPU"
    )


def frame_results(
    video: Any,
    *,
    seeds: int,
    start: float,
    end: float,
    hooks: RunHooks,
    peak_memory_gb: float,
    precision: str,
    caching: StepCaching | None,
    attention_backend: str | None,
) -> list[GenerationResult]:
    """Frames float [0, 1] (batch, F, H, W, 3) -> uint8 (F, H, W, 3), one result per seed, with the run's timings."""
    loop = hooks.loop_start or start
    last_step = hooks.last_step or loop
    return [
        GenerationResult(
            frames=(np.clip(video[k], 0.0, 1.0) * 255.0).round().astype(np.uint8),
            text_encode_s=loop - start,
            denoise_s=last_step - loop,
            decode_s=end - last_step,
            peak_memory_gb=peak_memory_gb,
            precision=precision,
            forwards_run=caching.run if caching else None,
            forwards_total=caching.total if caching else None,
            attention=attention_backend if changes_the_picture(attention_backend) else None,
        )
        for k in range(seeds)
    ]
