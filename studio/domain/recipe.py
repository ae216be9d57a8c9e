"""Recipe: everything that reproduces a video. Validation and normalization are pure functions.

A `RecipeRequest` is what a person (or an API call) asks for; `build_recipe` checks it against the
preset, snaps it to what the model can make and resolves a random seed, giving a concrete `Recipe`.
"""

from __future__ import annotations

import json
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from studio.domain import geometry, start_image
from studio.domain.errors import InvalidInput
from studio.domain.preset_types import MAX_STEPS, Preset
from studio.domain.step_cache import check_method, check_threshold, with_method

MAX_SEED = 2**32 - 1
MAX_PROMPT_CHARS = 4000  # hard cap; the model itself reads the first 512 tokens
MAX_SIDE = 1920
STEPS_RANGE = (1, MAX_STEPS)
GUIDANCE_RANGE = (0.0, 20.0)
FLOW_SHIFT_RANGE = (0.5, 30.0)

# What a video's row and MP4 may carry as its recipe: a flat record (a trim or a comparison adds one level).
MAX_STORED_RECIPE_BYTES = 32_768
MAX_STORED_RECIPE_DEPTH = 4

Speed = Literal["quality", "fast", "balanced"]  # fast: the preset's distilled LoRA, few steps, no classifier-free
# guidance; balanced: the model's own steps and guidance with step caching (studio.domain.step_cache)
SPEEDS: tuple[Speed, ...] = get_args(Speed)


@dataclass(frozen=True)
class RecipeRequest:
    """What was asked for; None means "the model's default"."""

    prompt: str
    negative_prompt: str | None = None
    seed: int = -1  # -1: pick a random seed
    aspect_ratio: str = "16:9"
    quality: str | None = None
    duration_s: float | None = None
    width: int | None = None  # explicit size instead of aspect ratio + quality
    height: int | None = None
    steps: int | None = None
    guidance: float | None = None
    guidance_2: float | None = None
    flow_shift: float | None = None
    speed: Speed | None = None  # None: "quality"
    cache: str | None = None  # balanced only: the cache method (None: the preset's)
    cache_threshold: float | None = None  # balanced only: its threshold (None: the preset's)
    # Image-to-video (studio.domain.start_image): stored images by content hash, how they fill the frame, and the
    # video this one continues (its last frame is the start image)
    start_image: str | None = None
    end_image: str | None = None
    image_fit: str | None = None  # "crop" (default) or "pad"
    continues: int | None = None


@dataclass(frozen=True)
class Recipe:
    """A concrete, validated recipe: the same recipe on the same model gives the same video."""

    model: str
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    num_frames: int
    fps: int
    steps: int
    guidance: float
    guidance_2: float | None
    flow_shift: float
    aspect_ratio: str | None = None
    quality: str | None = None
    speed: Speed = "quality"
    lora: str | None = None  # the fast LoRA that made it (`Preset.fast_lora_label`); None in quality mode
    cache: str | None = None  # balanced: the step cache's method ("magcache" or "fbcache"); None otherwise
    cache_threshold: float | None = None  # balanced: its threshold
    start_image: str | None = None  # SHA-256 of the stored start image; None: text to video
    end_image: str | None = None  # SHA-256 of the stored end image (models with `last_image`)
    image_fit: str | None = None  # how the images fill the frame: "crop" or "pad"; None without images
    continues: int | None = None  # the video whose last frame is the start image (Continue)

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def nesting_depth(value: Any) -> int:
    """How deeply dicts and lists nest in `value` (a scalar is 0, {"a": 1} is 1), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def check_stored(recipe: dict[str, Any]) -> dict[str, Any]:
    """`recipe` if a video may store it; InvalidInput (field "recipe") when it is too large or nests too deeply."""
    depth = nesting_depth(recipe)
    if depth > MAX_STORED_RECIPE_DEPTH:
        raise InvalidInput("recipe", f"nests {depth} levels deep; at most {MAX_STORED_RECIPE_DEPTH} are kept")
    size = len(json.dumps(recipe, ensure_ascii=False).encode())
    if size > MAX_STORED_RECIPE_BYTES:
        raise InvalidInput("recipe", f"is {size:,} bytes of JSON; at most {MAX_STORED_RECIPE_BYTES:,} are kept")
    return recipe


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def _check_range(field: str, value: float, low: float, high: float, unit: str = "") -> None:
    if not low <= value <= high:
        raise InvalidInput(field, f"{value:g}{unit} is outside the allowed range {low:g}–{high:g}{unit}")


def check_length(field: str, text: str) -> None:
    """Raises InvalidInput when `text` is longer than any prompt may be (checked before any other work on it)."""
    if len(text) > MAX_PROMPT_CHARS:
        raise InvalidInput(field, f"{len(text)} characters is over the limit of {MAX_PROMPT_CHARS}")


def _check_text(field: str, text: str) -> None:
    check_length(field, text)
    bad = next((c for c in text if unicodedata.category(c) == "Cc" and c not in "\n\r\t"), None)
    if bad is not None:
        raise InvalidInput(
            field, f"contains the control character U+{ord(bad):04X}; only text, tabs and newlines are allowed"
        )


def build_recipe(request: RecipeRequest, preset: Preset, *, seed_source: Callable[[], int] = random_seed) -> Recipe:
    """Validate a request against the preset and resolve it into a concrete recipe.

    Raises:
        InvalidInput: the first bad field, with the allowed range.
    """
    # 1. Text
    prompt = request.prompt.strip() if request.prompt else ""
    if not prompt:
        raise InvalidInput("prompt", "is empty; describe the video you want (1–4000 characters)")
    _check_text("prompt", prompt)
    negative = preset.negative_prompt if request.negative_prompt is None else request.negative_prompt.strip()
    _check_text("negative_prompt", negative)

    # 2. Seed: -1 means random, resolved now so it is stored with the job
    if request.seed != -1 and not 0 <= request.seed <= MAX_SEED:
        raise InvalidInput(
            "seed", f"must be a whole number from 0 to {MAX_SEED} (or -1 for a random seed); {request.seed} is not"
        )
    seed = seed_source() if request.seed == -1 else request.seed

    # 3. Size: explicit width/height, or aspect ratio × quality
    quality = request.quality or preset.default_quality
    if request.width is not None or request.height is not None:
        width, height = _explicit_size(request, preset)
        aspect_ratio: str | None = None
        quality_used: str | None = None
    else:
        width, height = geometry.size_for(preset, request.aspect_ratio, quality)
        aspect_ratio, quality_used = request.aspect_ratio, quality

    # 4. Duration → 4k+1 frames at the model's fps
    if request.duration_s is None:
        frames = preset.default_frames
    else:
        low, high = geometry.duration_range(preset)
        low, high = round(low, 2), round(high, 2)
        if not low <= round(request.duration_s, 4) <= high:
            raise InvalidInput("duration_s", f"must be from {low:g} to {high:g} s; {request.duration_s:g} s is not")
        frames = geometry.frames_for(preset, request.duration_s)

    # 5. Speed: quality runs the model's own sampling; fast a step-distilled LoRA without guidance
    speed: Speed = request.speed or "quality"
    if speed not in SPEEDS:
        raise InvalidInput("speed", f"{speed!r} is not one of {', '.join(SPEEDS)}")
    fast = speed == "fast"
    cache, cache_threshold = _step_cache(request, preset, speed)
    if fast and preset.fast_lora is None:
        raise InvalidInput(
            "speed", f"fast mode needs a distilled LoRA for {preset.key}; set --fast-lora or use quality"
        )

    # 6. Sampling: the request's values, else the mode's defaults
    steps = (preset.fast_steps if fast else preset.steps) if request.steps is None else request.steps
    _check_range("steps", steps, *STEPS_RANGE)
    default_guidance = preset.fast_guidance if fast else preset.guidance
    guidance = default_guidance if request.guidance is None else request.guidance
    _check_range("guidance", guidance, *GUIDANCE_RANGE)
    guidance_2: float | None = None
    if preset.layout_info.two_experts:
        default_guidance_2 = preset.fast_guidance if fast else preset.guidance_2
        guidance_2 = default_guidance_2 if request.guidance_2 is None else request.guidance_2
        if guidance_2 is not None:
            _check_range("guidance_2", guidance_2, *GUIDANCE_RANGE)
    elif request.guidance_2 is not None:
        raise InvalidInput("guidance_2", f"only two-expert models take a low-noise guidance; {preset.key} has one")
    default_shift = (preset.fast_flow_shift or preset.flow_shift) if fast else preset.flow_shift
    flow_shift = default_shift if request.flow_shift is None else request.flow_shift
    _check_range("flow_shift", flow_shift, *FLOW_SHIFT_RANGE)
    _check_work(preset, width, height, frames, int(steps))
    if fast and guidance <= 1.0:
        negative = ""  # guidance ≤ 1 skips the negative prompt in diffusers: record what was really used

    # 7. Images: only for models that take them (and required by image-to-video-only ones)
    image_fit = start_image.check_images(
        preset, start_image=request.start_image, end_image=request.end_image, image_fit=request.image_fit
    )
    if request.continues is not None and (request.start_image is None or request.continues < 1):
        raise InvalidInput("continues", "must be the id of a video (1 or more) whose last frame is the start image")

    return Recipe(
        model=preset.key,
        prompt=prompt,
        negative_prompt=negative,
        seed=seed,
        width=width,
        height=height,
        num_frames=frames,
        fps=preset.fps,
        steps=int(steps),
        guidance=float(guidance),
        guidance_2=None if guidance_2 is None else float(guidance_2),
        flow_shift=float(flow_shift),
        aspect_ratio=aspect_ratio,
        quality=quality_used,
        speed=speed,
        lora=preset.fast_lora_label if fast else None,
        cache=cache,
        cache_threshold=cache_threshold,
        start_image=request.start_image,
        end_image=request.end_image,
        image_fit=image_fit,
        continues=request.continues,
    )


def _step_cache(request: RecipeRequest, preset: Preset, speed: Speed) -> tuple[str | None, float | None]:
    """Balanced's cache method and threshold: the request's, else the preset's. Refuses cache settings elsewhere."""
    if speed != "balanced":
        for field in ("cache", "cache_threshold"):
            if getattr(request, field) is not None:
                raise InvalidInput(field, f"applies only to speed balanced; this request is {speed}")
        return None, None
    if preset.step_cache is None:
        raise InvalidInput("speed", f"balanced needs a step cache for {preset.key}; set --cache or use quality")
    if preset.compiled:
        other = "quality or fast" if preset.fast_lora is not None else "quality"
        raise InvalidInput("speed", f"balanced does not run with --compile; choose {other}")
    method = preset.step_cache.method if request.cache is None else check_method("cache", request.cache)
    threshold = None if request.cache_threshold is None else check_threshold("cache_threshold", request.cache_threshold)
    chosen = with_method(preset.step_cache, method, threshold)
    return chosen.method, chosen.threshold


def _check_work(preset: Preset, width: int, height: int, frames: int, steps: int) -> None:
    """One job may not exceed the model's width × height × frames × steps (Preset.work_limit)."""
    work = width * height * frames * steps
    if work > preset.work_limit:
        raise InvalidInput(
            "steps",
            f"{width}×{height} × {frames} frames × {steps} steps is {work:.2g} pixel-steps, over the {preset.key} "
            f"limit of {preset.work_limit:.2g} for one job; lower the steps, the duration or the size",
        )


def _explicit_size(request: RecipeRequest, preset: Preset) -> tuple[int, int]:
    multiple = preset.size_multiple
    low = 2 * multiple
    sides = {"width": request.width, "height": request.height}
    for field, value in sides.items():
        if value is None:
            raise InvalidInput(field, "give both width and height, or neither (then aspect ratio and quality apply)")
        _check_range(field, value, low, MAX_SIDE, " px")
        if value % multiple:
            raise InvalidInput(field, f"{value} px is not a multiple of {multiple} (required by {preset.key})")
    width, height = int(sides["width"] or 0), int(sides["height"] or 0)
    if width * height > preset.pixel_limit:
        raise InvalidInput(
            "width",
            f"{width}×{height} is {width * height:,} pixels, over the {preset.key} limit of {preset.pixel_limit:,} "
            "pixels; choose a smaller width or height",
        )
    return width, height
