"""Bodies of the video routes (studio/api/videos.py, recipes.py): a history video, a page of them, a trim."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from studio.api.schemas import MAX_VIDEO_S, STRICT
from studio.domain.step_cache import forwards_line
from studio.store.rows import TIMINGS, Video


class TrimIn(BaseModel):
    """The part of a video to keep, in seconds from its start; snapped to whole frames."""

    model_config = STRICT

    start_s: float = Field(ge=0, le=MAX_VIDEO_S, description="in point (seconds)")
    end_s: float = Field(gt=0, le=MAX_VIDEO_S, description="out point (seconds), after start_s")
    lossless: bool = Field(
        False, description="copy H.264 packets (cuts land on copyable frames) instead of re-encoding"
    )


class ForwardsOut(BaseModel):
    """What Balanced's step cache saved: transformer forwards run, of those an uncached run makes."""

    run: int
    total: int
    skipped: int
    summary: str = Field(examples=["23 of 80 forwards skipped"])

    @classmethod
    def from_recipe(cls, recipe: dict[str, Any]) -> ForwardsOut | None:
        run, total = recipe.get("forwards_run"), recipe.get("forwards_total")
        if not isinstance(run, int) or not isinstance(total, int):
            return None
        return cls(run=run, total=total, skipped=total - run, summary=forwards_line(run, total))


class VideoOut(BaseModel):
    id: int
    job_id: int | None
    parent_id: int | None
    group_id: str | None
    prompt: str
    negative_prompt: str
    seed: int
    model: str
    width: int
    height: int
    num_frames: int
    fps: int
    duration_s: float
    steps: int
    guidance: float
    guidance_2: float | None
    flow_shift: float
    favorite: bool
    kind: str = Field(description="generated, trim or comparison")
    content_score: float | None = Field(None, description="the content check's score (0–1); null when not scored")
    flagged: bool = Field(False, description="the content check flagged it")
    created_at: datetime
    timings: dict[str, float | None]
    forwards: ForwardsOut | None = Field(None, description="balanced: transformer forwards run and skipped")
    recipe: dict[str, Any]
    file_url: str
    poster_url: str | None

    @classmethod
    def from_row(cls, video: Video) -> VideoOut:
        fields = {name: getattr(video, name) for name in cls.model_fields if hasattr(video, name)}
        return cls(
            **fields,
            forwards=ForwardsOut.from_recipe(video.recipe or {}),
            timings={name: getattr(video, name) for name in TIMINGS},
            file_url=f"/api/v1/videos/{video.id}/file",
            poster_url=f"/api/v1/videos/{video.id}/poster" if video.poster_path else None,
        )


class VideoPageOut(BaseModel):
    items: list[VideoOut]
    total: int
    limit: int
    offset: int


class RecipeReadOut(BaseModel):
    recipe: dict[str, Any] | None = Field(description="the recipe the MP4 carries; null: not made by this studio")
