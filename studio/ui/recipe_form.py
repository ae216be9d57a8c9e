"""The Create page's settings as values: what they ask for (a RecipeRequest), and the defaults of each speed."""

from __future__ import annotations

from typing import Any

from studio.domain.presets import Preset
from studio.domain.recipe import RecipeRequest

# The order of the Generate inputs; the validator answers one gr.validate per input, in this order.
INPUT_FIELDS = (
    "prompt",
    "negative_prompt",
    "seed",
    "random_seed",
    "aspect_ratio",
    "duration_s",
    "quality",
    "steps",
    "guidance",
    "guidance_2",
    "flow_shift",
    "speed",
)


def request_from(
    preset: Preset,
    prompt: str,
    negative_prompt: str,
    seed: float | None,
    random_seed: bool,
    aspect_ratio: str,
    duration_s: float,
    quality: str,
    steps: float,
    guidance: float,
    guidance_2: float | None,
    flow_shift: float,
    speed: str = "Quality",
) -> RecipeRequest:
    """The request the Create page's controls make (in INPUT_FIELDS order); validation is build_recipe's."""
    return RecipeRequest(
        prompt=prompt or "",
        negative_prompt=negative_prompt or "",
        seed=-1 if random_seed or seed is None else int(seed),
        aspect_ratio=aspect_ratio,
        quality=quality,
        duration_s=duration_s,
        steps=int(steps),
        guidance=guidance,
        guidance_2=guidance_2 if preset.layout_info.two_experts else None,
        flow_shift=flow_shift,
        speed="fast" if speed == "Fast" else "quality",
    )


def speed_defaults(preset: Preset, speed: str) -> tuple[Any, ...]:
    """Steps, guidance, low-noise guidance and shift of a speed: Fast (a distilled LoRA) samples in a few steps
    without guidance; Quality uses the model's own."""
    if speed == "Fast":
        return (
            preset.fast_steps,
            preset.fast_guidance,
            preset.fast_guidance,
            preset.fast_flow_shift or preset.flow_shift,
        )
    return preset.steps, preset.guidance, preset.guidance_2 or preset.guidance, preset.flow_shift
