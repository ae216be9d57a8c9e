"""The Create page's settings as values: what they ask for (a RecipeRequest), the defaults of each speed, and what a
stored recipe puts back on them (Reuse, Import, Use this frame)."""

from __future__ import annotations

import re
from typing import Any

import gradio as gr

from studio.domain import geometry
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import Preset
from studio.domain.recipe import MAX_SEED, RecipeRequest, Speed, build_recipe
from studio.domain.step_cache import THRESHOLD_RANGE

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
    "cache",
    "cache_threshold",
)

# What each field is called on the page, for the toast that names it ("Seed must be …").
FIELD_LABELS = {
    "prompt": "Prompt",
    "negative_prompt": "Negative prompt",
    "seed": "Seed",
    "random_seed": "Random seed",
    "aspect_ratio": "Aspect ratio",
    "duration_s": "Duration",
    "quality": "Quality",
    "steps": "Steps",
    "guidance": "Guidance",
    "guidance_2": "Guidance (low noise)",
    "flow_shift": "Flow shift",
    "speed": "Speed",
    "cache": "Step cache",
    "cache_threshold": "Step cache threshold",
}


def request_from(
    preset: Preset,
    prompt: str,
    negative_prompt: str,
    seed: str | float | None,
    random_seed: bool,
    aspect_ratio: str,
    duration_s: float,
    quality: str,
    steps: float,
    guidance: float,
    guidance_2: float | None,
    flow_shift: float,
    speed: str = "Quality",
    cache: str | None = None,
    cache_threshold: str | float | None = None,
) -> RecipeRequest:
    """The request the Create page's controls make (in INPUT_FIELDS order); validation is build_recipe's. The step
    cache's controls count for Balanced only (hidden otherwise); empty means the model's default.

    Raises:
        InvalidInput: Random seed is unticked and the seed box holds no whole number.
    """
    return RecipeRequest(
        prompt=prompt or "",
        negative_prompt=negative_prompt or "",
        seed=-1 if random_seed else parse_seed(seed),
        aspect_ratio=aspect_ratio,
        quality=quality,
        duration_s=duration_s,
        steps=int(steps),
        guidance=guidance,
        guidance_2=guidance_2 if preset.layout_info.two_experts else None,
        flow_shift=flow_shift,
        speed=SPEED_VALUES.get(speed, "quality"),
        cache=(cache or None) if speed == "Balanced" else None,
        cache_threshold=parse_threshold(cache_threshold) if speed == "Balanced" else None,
    )


# The Speed radio's labels and what they ask for, in the order shown.
SPEED_VALUES: dict[str, Speed] = {"Quality": "quality", "Balanced": "balanced", "Fast": "fast"}
SPEED_INFO = {
    "Balanced": "Balanced: the same steps with step caching (some transformer forwards skipped, counted in History).",
    "Fast": "Fast: a distilled LoRA, 4 steps, no negative-prompt pass.",
}


def speed_info(preset: Preset) -> str:
    """The Speed radio's help: what each speed beyond Quality that this model offers does."""
    return " ".join(SPEED_INFO[label] for label in speed_choices(preset) if label in SPEED_INFO)


def speed_choices(preset: Preset) -> list[str]:
    """The speeds this model offers: Quality always, Balanced with a step cache (not compiled), Fast with a LoRA."""
    balanced = preset.step_cache is not None and not preset.compiled
    offered = {"Quality": True, "Balanced": balanced, "Fast": preset.fast_lora is not None}
    return [label for label, on in offered.items() if on]


def speed_label(speed: object, preset: Preset) -> str:
    """The radio's label for a stored recipe's speed; Quality when this model does not offer it."""
    label = next((label for label, value in SPEED_VALUES.items() if value == speed), "Quality")
    return label if label in speed_choices(preset) else "Quality"


def first_problem(preset: Preset, *values: Any) -> InvalidInput | None:
    """The first field of the page's values (INPUT_FIELDS order) that the person must fix, or None."""
    try:
        build_recipe(request_from(preset, *values), preset, seed_source=lambda: 0)
    except InvalidInput as exc:
        return exc
    return None


def parse_seed(seed: str | float | None) -> int:
    """The seed typed in the box (the API may send a number); never a silent random seed for what is not one.

    Raises:
        InvalidInput: not a whole number (build_recipe checks the range).
    """
    text = str(seed).strip() if seed is not None else ""
    if isinstance(seed, float) and seed.is_integer():
        text = str(int(seed))
    if not re.fullmatch(r"-?\d{1,30}", text):
        shown = f"{text[:20]!r} is not" if text else "the box is empty"
        raise InvalidInput("seed", f"must be a whole number from 0 to {MAX_SEED} (or -1 for a random seed); {shown}")
    return int(text)


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


# The Step cache radio's labels and the methods they ask for (studio.domain.step_cache.CACHE_METHODS).
CACHE_CHOICES = [("MagCache", "magcache"), ("First Block Cache", "fbcache")]


def cache_threshold_info() -> str:
    """The threshold box's info line: its range, and what an empty box means."""
    low, high = THRESHOLD_RANGE
    return f"{low:g}–{high:g}; higher skips more forwards. Empty: the model's default"


def parse_threshold(text: str | float | None) -> float | None:
    """The threshold typed in its box; empty is the model's default (build_recipe checks the range).

    Raises:
        InvalidInput: not a number (field "cache_threshold", with the range).
    """
    shown = str(text).strip() if text is not None else ""
    if not shown:
        return None
    try:
        return float(shown)
    except ValueError:
        low, high = THRESHOLD_RANGE
        raise InvalidInput(
            "cache_threshold", f"must be a number from {low:g} to {high:g}, or empty for the model's default"
        ) from None


def cache_fill(recipe: dict[str, Any], preset: Preset) -> tuple[str | None, str]:
    """The Step cache and threshold controls for a reused recipe: a Balanced video's own, else the model's defaults."""
    default = preset.step_cache.method if preset.step_cache is not None else None
    if recipe.get("speed") != "balanced" or speed_label("balanced", preset) != "Balanced":
        return default, ""
    method = recipe.get("cache")
    threshold = recipe.get("cache_threshold")
    return (
        method if method in dict(CACHE_CHOICES).values() else default,
        f"{threshold:g}" if isinstance(threshold, int | float) else "",
    )


def recipe_fill(recipe: dict[str, Any], preset: Preset, seed: str = "same") -> dict[str, Any]:
    """The settings (by INPUT_FIELDS name) that put a stored recipe back; `seed` is "same", "new" or "plus1"."""
    fps = recipe.get("fps") or preset.fps
    duration = round(float(recipe.get("num_frames", preset.default_frames)) / fps * 4) / 4
    fill: dict[str, Any] = {
        "prompt": recipe.get("prompt", ""),
        "negative_prompt": recipe.get("negative_prompt", preset.negative_prompt),
        "duration_s": duration,
        "steps": recipe.get("steps", preset.steps),
        "guidance": recipe.get("guidance", preset.guidance),
        "flow_shift": recipe.get("flow_shift", preset.flow_shift),
        "random_seed": seed == "new",
        "seed": gr.update(
            value=str(int(recipe.get("seed", 0)) + (1 if seed == "plus1" else 0)), interactive=seed != "new"
        ),
    }
    if recipe.get("guidance_2") is not None:
        fill["guidance_2"] = recipe["guidance_2"]
    fast = recipe.get("speed") == "fast" and preset.fast_lora is not None
    fill["speed"] = speed_label(recipe.get("speed"), preset)
    # A Balanced video's own step cache comes back with it (empty threshold: the model's default)
    fill["cache"], fill["cache_threshold"] = cache_fill(recipe, preset)
    if recipe.get("speed") == "fast" and not fast:  # a fast recipe reused in quality mode: Wan's own negative
        fill["negative_prompt"] = preset.negative_prompt
    if recipe.get("aspect_ratio") in geometry.ASPECT_RATIOS:
        fill["aspect_ratio"] = recipe["aspect_ratio"]
    if recipe.get("quality") in preset.qualities:
        fill["quality"] = recipe["quality"]
    return fill
