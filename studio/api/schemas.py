"""What the REST API's bodies share: path ids, bounds, and RecipeIn, the recipe that job bodies extend.

Bounds live here so that 422 answers name field and range; the bodies are in the *_schemas modules beside this one.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from studio.domain.geometry import ASPECT_RATIOS
from studio.domain.recipe import (
    FLOW_SHIFT_RANGE,
    GUIDANCE_RANGE,
    MAX_PROMPT_CHARS,
    MAX_SIDE,
    STEPS_RANGE,
    RecipeRequest,
)
from studio.domain.step_cache import THRESHOLD_RANGE

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]
assert set(AspectRatio.__args__) == set(ASPECT_RATIOS)  # type: ignore[attr-defined]
# A job's ratio may also be "image" (the start image's shape): one Literal, so a refusal is one message on the field
JobAspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "image"]

STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_ID = 2**63 - 1  # SQLite's and Postgres's largest integer key
MAX_VIDEO_S = 3600.0  # bounds in seconds for points in a video (the real check is against the clip)

IMAGE_ID = r"^[0-9a-f]{64}$"
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="a job id")]
VideoId = Annotated[int, Path(ge=1, le=MAX_ID, description="a video id")]
GroupId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a comparison group's id")]


class RecipeIn(BaseModel):
    """What a video is made from, apart from its seed. Omitted fields take the model's own defaults."""

    model_config = STRICT

    prompt: str = Field(
        min_length=1, max_length=MAX_PROMPT_CHARS, examples=["a paper boat drifting down a rainy street"]
    )
    negative_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    aspect_ratio: JobAspectRatio = Field(
        "16:9", description="a ratio, or \"image\": the start image's shape on the model's grid"
    )
    quality: str | None = Field(None, max_length=16, description="e.g. 720p or 480p; see GET /health for the model")
    width: int | None = Field(None, ge=32, le=MAX_SIDE, description="explicit size instead of aspect ratio + quality")
    height: int | None = Field(None, ge=32, le=MAX_SIDE)
    duration_s: float | None = Field(None, gt=0, le=60, description="snapped to 4k+1 frames at the model's fps")
    steps: int | None = Field(None, ge=STEPS_RANGE[0], le=STEPS_RANGE[1])
    guidance: float | None = Field(None, ge=GUIDANCE_RANGE[0], le=GUIDANCE_RANGE[1])
    guidance_2: float | None = Field(None, ge=GUIDANCE_RANGE[0], le=GUIDANCE_RANGE[1], description="two-expert models")
    flow_shift: float | None = Field(None, ge=FLOW_SHIFT_RANGE[0], le=FLOW_SHIFT_RANGE[1])
    speed: Literal["quality", "fast", "balanced"] | None = Field(
        None,
        description="quality (the model's own steps and guidance), fast (a distilled LoRA: 4 steps, no CFG) or "
        "balanced (the model's own steps and guidance with step caching: some transformer forwards are skipped)",
    )
    cache: Literal["magcache", "fbcache"] | None = Field(
        None, description="balanced only: the step cache (MagCache or First Block Cache); default: the model's"
    )
    cache_threshold: float | None = Field(
        None,
        ge=THRESHOLD_RANGE[0],
        le=THRESHOLD_RANGE[1],
        description="balanced only: the cache's threshold (higher skips more); default: the model's",
    )
    start_image: str | None = Field(
        None, pattern=IMAGE_ID, description="image to video: an image id from POST /api/v1/images (or start_frame)"
    )
    end_image: str | None = Field(None, pattern=IMAGE_ID, description="the clip's last frame (models with end images)")
    image_fit: Literal["crop", "pad"] | None = Field(
        None, description="how an image fills a frame of another shape: crop (default) or pad with bars"
    )

    def to_request(self, seed: int = -1) -> RecipeRequest:
        fields = {name: getattr(self, name) for name in RecipeIn.model_fields}
        return RecipeRequest(**fields, seed=seed)
