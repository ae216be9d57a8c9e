"""Bodies of the job routes (studio/api/jobs.py, images.py, /generate): a job to make, its start image, the job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, Field

from studio.api.schemas import MAX_ID, MAX_VIDEO_S, STRICT, RecipeIn
from studio.api.video_schemas import VideoOut
from studio.domain.recipe import MAX_PROMPT_CHARS, MAX_SEED, MAX_SIDE, RecipeRequest
from studio.services.job_view import JobView
from studio.store.rows import JobStatus


class FrameIn(BaseModel):
    """A frame of a history video: the one a player shows at `time_s` (omitted: the last frame)."""

    model_config = STRICT

    video_id: int = Field(ge=1, le=MAX_ID)
    time_s: float | None = Field(None, ge=0, le=MAX_VIDEO_S, description="seconds from the start; null: the last")


class ImageOut(BaseModel):
    id: str = Field(description="SHA-256 of the stored image: pass it as start_image or end_image")
    width: int
    height: int
    url: str


class JobCreate(RecipeIn):
    """A video to make. Omitted fields take the model's own defaults."""

    seed: int = Field(-1, ge=-1, le=MAX_SEED, description="-1 picks a random seed (returned in the job)")
    callback_url: AnyHttpUrl | None = Field(None, description="POSTed the final job once when it ends")
    start_frame: FrameIn | None = Field(
        None, description="image to video from a frame of a video (not with start_image)"
    )

    def to_request(self, seed: int | None = None) -> RecipeRequest:
        return super().to_request(self.seed if seed is None else seed)


class GenerateIn(BaseModel):
    """The deployment guide's synchronous `/generate` body."""

    model_config = STRICT

    prompt: str = Field(min_length=1, max_length=MAX_PROMPT_CHARS)
    neg_prompt: str | None = Field(None, max_length=MAX_PROMPT_CHARS)
    width: int | None = Field(None, ge=32, le=MAX_SIDE)
    height: int | None = Field(None, ge=32, le=MAX_SIDE)
    duration: float | None = Field(None, gt=0, le=60, description="seconds")
    seed: int = Field(-1, ge=-1, le=MAX_SEED)

    def to_request(self) -> RecipeRequest:
        return RecipeRequest(
            prompt=self.prompt,
            negative_prompt=self.neg_prompt,
            width=self.width,
            height=self.height,
            duration_s=self.duration,
            seed=self.seed,
        )


class JobOut(BaseModel):
    id: int
    status: JobStatus
    progress: float = Field(description="0..1 over the denoising steps")
    step: int
    total_steps: int
    eta_s: float | None
    queue_position: int | None
    waiting_for: str | None = Field(None, description="fleet: why a queued job is not running yet")
    error: str | None
    error_kind: str | None
    seed: int
    width: int
    height: int
    num_frames: int
    fps: int
    duration_s: float
    recipe: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    timings: dict[str, float | None]
    video: VideoOut | None
    events_url: str

    @classmethod
    def from_view(cls, view: JobView) -> JobOut:
        recipe = view.recipe
        return cls(
            id=view.id,
            status=view.status,
            progress=view.progress,
            step=view.step,
            total_steps=view.total_steps,
            eta_s=view.eta_s,
            queue_position=view.queue_position,
            waiting_for=view.waiting_for,
            error=view.error,
            error_kind=view.error_kind,
            seed=recipe.seed,
            width=recipe.width,
            height=recipe.height,
            num_frames=recipe.num_frames,
            fps=recipe.fps,
            duration_s=recipe.duration_s,
            recipe=recipe.to_dict(),
            created_at=view.created_at,
            started_at=view.started_at,
            finished_at=view.finished_at,
            timings=view.timings,
            video=VideoOut.from_row(view.video) if view.video is not None else None,
            events_url=f"/api/v1/jobs/{view.id}/events",
        )
