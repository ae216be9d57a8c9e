"""Request and response bodies of the REST API. Bounds live here so that 422 answers name field and range."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from studio.domain.comparisons import MAX_PICKED, MAX_SEEDS, MIN_SEEDS
from studio.domain.geometry import ASPECT_RATIOS
from studio.domain.recipe import (
    FLOW_SHIFT_RANGE,
    GUIDANCE_RANGE,
    MAX_PROMPT_CHARS,
    MAX_SEED,
    MAX_SIDE,
    STEPS_RANGE,
    RecipeRequest,
)
from studio.domain.step_cache import THRESHOLD_RANGE, forwards_line
from studio.services.job_view import JobView
from studio.store.rows import TIMINGS, JobStatus, Video

AspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9"]
assert set(AspectRatio.__args__) == set(ASPECT_RATIOS)  # type: ignore[attr-defined]
# A job's ratio may also be "image" (the start image's shape): one Literal, so a refusal is one message on the field
JobAspectRatio = Literal["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "image"]

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
MAX_ID = 2**63 - 1  # SQLite's and Postgres's largest integer key
MAX_VIDEO_S = 3600.0  # bounds in seconds for points in a video (the real check is against the clip)

IMAGE_ID = r"^[0-9a-f]{64}$"
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="a job id")]
VideoId = Annotated[int, Path(ge=1, le=MAX_ID, description="a video id")]
GroupId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="a comparison group's id")]


class RecipeIn(BaseModel):
    """What a video is made from, apart from its seed. Omitted fields take the model's own defaults."""

    model_config = _STRICT

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


class FrameIn(BaseModel):
    """A frame of a history video: the one a player shows at `time_s` (omitted: the last frame)."""

    model_config = _STRICT

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


class ComparisonIn(RecipeIn):
    """One recipe under 2–8 seeds, queued as one group (all or none)."""

    mode: Literal["list", "random", "consecutive"] = Field(
        "random", description="list: the `seeds` given; random: `count` random seeds; consecutive: `count` from `start`"
    )
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] | None = Field(
        None, min_length=MIN_SEEDS, max_length=MAX_SEEDS, description="mode list: 2–8 distinct seeds"
    )
    count: int = Field(4, ge=MIN_SEEDS, le=MAX_SEEDS, description="modes random and consecutive: how many seeds")
    start: int = Field(0, ge=0, le=MAX_SEED, description="mode consecutive: the first seed")


class ExportIn(BaseModel):
    """2–4 history videos to tile into one comparison video."""

    model_config = _STRICT

    video_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=MIN_SEEDS, max_length=MAX_PICKED)


class GenerateIn(BaseModel):
    """The deployment guide's synchronous `/generate` body."""

    model_config = _STRICT

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


class TrimIn(BaseModel):
    """The part of a video to keep, in seconds from its start; snapped to whole frames."""

    model_config = _STRICT

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


class ComparisonOut(BaseModel):
    group_id: str
    seeds: list[int] = Field(description="in the order they were submitted")
    jobs: list[JobOut] = Field(description="the group's jobs (retries included), oldest first")
    videos: list[VideoOut] = Field(description="the videos made so far, in seed order")
    exports: list[VideoOut] = Field(description="comparison videos exported from the group")


class RecipeReadOut(BaseModel):
    recipe: dict[str, Any] | None = Field(description="the recipe the MP4 carries; null: not made by this studio")


class FleetWorkerOut(BaseModel):
    name: str = Field(description="host:pid of the worker process")
    model: str = Field(description="the model whose queue it serves")
    device: str
    gpu_memory_gb: float | None
    state: str = Field(description="loading, ready or failed")
    error: str | None
    current_job_id: int | None
    heartbeat_age_s: float = Field(description="seconds since its last heartbeat")
    live: bool = Field(description="it heartbeat recently enough to be counted as serving")
    metrics_url: str | None


class FleetOut(BaseModel):
    workers: list[FleetWorkerOut]
    queued_by_model: dict[str, int]
    models_without_worker: list[str] = Field(description="models with jobs (or this server's) and no live worker")


class TransferOut(BaseModel):
    """A model's download or load onto the device, as /health and /api/v1/models report it."""

    model: str
    phase: Literal["checking", "downloading", "loading", "ready", "failed"]
    done_bytes: int
    total_bytes: int = Field(description="bytes still missing when the download started (cached files not counted)")
    cached_bytes: int
    progress: float | None = Field(description="0..1 of the bytes (downloading) or components (loading)")
    speed_bps: float | None
    eta_s: float | None
    current_file: str | None = Field(description="the file being fetched, or the component being loaded")
    files_done: int
    files_total: int
    message: str | None
    text: str = Field(description="the same in one line, as the model line shows it")

    @classmethod
    def of(cls, transfer: Any) -> TransferOut:
        return cls(
            model=transfer.model,
            phase=transfer.phase,
            done_bytes=transfer.done_bytes,
            total_bytes=transfer.total_bytes,
            cached_bytes=transfer.cached_bytes,
            progress=transfer.fraction,
            speed_bps=transfer.speed_bps,
            eta_s=transfer.eta_s,
            current_file=transfer.current_file,
            files_done=transfer.files_done,
            files_total=transfer.files_total,
            message=transfer.message,
            text=transfer.describe(),
        )


class HealthOut(BaseModel):
    status: Literal["ok", "loading", "waiting", "error"] = Field(
        description="waiting: a fleet server whose model no live worker serves yet (jobs queue meanwhile)"
    )
    gpu_available: bool
    device: str
    model: str
    model_state: str
    model_error: str | None
    preview_mode: bool
    queue_depth: int
    version: str
    precision: str | None = Field(None, description="the experts' weights: fp32 (CPU), bf16 or fp8")
    memory_strategy: str | None = Field(None, description="where the weights live and why (studio.engine.memory_plan)")
    attention_backend: str | None = Field(None, description="the attention kernel chosen at load")
    worker_alive: bool | None = Field(
        True, description="this process's worker is serving the queue (false: 503; null: it runs none, a fleet server)"
    )
    worker_heartbeat_s: float | None = Field(
        0.0, description="seconds since the worker loop (or its running job) last ran"
    )
    worker_error: str | None = Field(None, description="the worker loop's last error, while it retries after one")
    fleet: FleetOut | None = Field(None, description="Postgres only: every generation worker, and the queue per model")
    download: TransferOut | None = Field(
        None, description="while the model downloads or loads: bytes, speed, ETA, the file (or component) now"
    )
    next_model: str | None = Field(None, description="the model new jobs are made for, when a switch to it is coming")
