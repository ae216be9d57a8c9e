"""ORM rows: Job (a request to make a video) and Video (a finished file in the history)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Enum, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back the UTC times it stored without their zone; Postgres keeps it."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# Where a job's time and memory went; the same columns on jobs and on the videos they made.
TIMINGS = ("load_s", "text_encode_s", "denoise_s", "decode_s", "encode_s", "peak_memory_gb")


class Base(DeclarativeBase):
    pass


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    INTERRUPTED = "interrupted"  # was running when the process died; can be retried

    @property
    def is_final(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids name files: never reuse one

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]), index=True
    )
    model: Mapped[str] = mapped_column(String(200))
    prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)  # 0…2^32−1 overflows a 32-bit INTEGER on Postgres
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    step: Mapped[int] = mapped_column(Integer, default=0)
    total_steps: Mapped[int] = mapped_column(Integer, default=0)
    eta_s: Mapped[float | None] = mapped_column(Float)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    error_kind: Mapped[str | None] = mapped_column(String(32))  # "out_of_memory", "error", "interrupted"
    callback_url: Mapped[str | None] = mapped_column(Text)  # POSTed once when the job ends (REST API)
    # When that POST was delivered or given up; NULL while a finished job's callback is still owed (re-sent at start)
    callback_done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Fleet: when a server took on sending it (a lease: another server sends it if this one died meanwhile)
    callback_claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    owner: Mapped[str | None] = mapped_column(String(200), index=True)  # "user:…", "token:…" or "ip:…"
    worker: Mapped[str | None] = mapped_column(String(100))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # runs begun (fleet: retried)
    retry_of: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    group_id: Mapped[str | None] = mapped_column(String(64), index=True)  # jobs submitted together (a seed group)
    load_s: Mapped[float | None] = mapped_column(Float)
    denoise_s: Mapped[float | None] = mapped_column(Float)
    decode_s: Mapped[float | None] = mapped_column(Float)
    encode_s: Mapped[float | None] = mapped_column(Float)
    text_encode_s: Mapped[float | None] = mapped_column(Float)
    peak_memory_gb: Mapped[float | None] = mapped_column(Float)  # GPU, GB (1e9 bytes); 0 on CPU
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = ({"sqlite_autoincrement": True},)  # ids name files: never reuse one

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("videos.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[str | None] = mapped_column(String(64), index=True)
    path: Mapped[str] = mapped_column(String(300))  # relative to the media folder
    poster_path: Mapped[str | None] = mapped_column(String(300))
    prompt: Mapped[str] = mapped_column(Text)
    negative_prompt: Mapped[str] = mapped_column(Text)
    seed: Mapped[int] = mapped_column(BigInteger)  # 0…2^32−1 overflows a 32-bit INTEGER on Postgres
    model: Mapped[str] = mapped_column(String(200), index=True)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    num_frames: Mapped[int] = mapped_column(Integer)
    fps: Mapped[int] = mapped_column(Integer)
    duration_s: Mapped[float] = mapped_column(Float)
    steps: Mapped[int] = mapped_column(Integer)
    guidance: Mapped[float] = mapped_column(Float)
    guidance_2: Mapped[float | None] = mapped_column(Float)
    flow_shift: Mapped[float] = mapped_column(Float)
    recipe: Mapped[dict[str, Any]] = mapped_column(JSON)
    load_s: Mapped[float | None] = mapped_column(Float)
    denoise_s: Mapped[float | None] = mapped_column(Float)
    decode_s: Mapped[float | None] = mapped_column(Float)
    encode_s: Mapped[float | None] = mapped_column(Float)
    text_encode_s: Mapped[float | None] = mapped_column(Float)
    peak_memory_gb: Mapped[float | None] = mapped_column(Float)  # GPU, GB (1e9 bytes); 0 on CPU
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    # VIDEO_KINDS: what made it. "generated" by a job, or an edit of other videos ("trim", "comparison").
    kind: Mapped[str] = mapped_column(String(16), default="generated", server_default="generated")
    # The content check (studio/content.py): the highest NSFW score of sampled frames, 0…1; NULL when not scored
    # (check off, package missing, or it failed). Flagged when the score reached the threshold at scoring time.
    content_score: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0", index=True)


VIDEO_KINDS = ("generated", "trim", "comparison", "join")  # join: a chain of continuations as one MP4


# Raw-SQL schema the ORM does not map: the prompt search index (migration 0002) and FTS5's shadow tables.
SEARCH_INDEX_TABLE = "videos_fts"


TRIGRAM_INDEX_SUFFIX = "_trgm"  # Postgres's search indexes (migration 0011), raw SQL too
JOB_ENGINE_PREFIX = "procrastinate_"  # the job engine's own schema on Postgres (studio/fleet), not ours to compare


def include_in_autogenerate(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic `include_object` hook: compare the mapped schema, not the search indexes or job engine beside it."""
    name = name or ""
    is_search_index = name == SEARCH_INDEX_TABLE or name.startswith(f"{SEARCH_INDEX_TABLE}_")
    if type_ == "table" and (is_search_index or name.startswith(JOB_ENGINE_PREFIX)):
        return False
    return not (type_ == "index" and name.endswith(TRIGRAM_INDEX_SUFFIX))


class ShareLink(Base):
    """A permalink to one video: `/v/<token>` plays it without a login until revoked or expired (studio/shares.py)."""

    __tablename__ = "share_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # secrets.token_urlsafe: unguessable
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # None: until revoked
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FleetWorker(Base):
    """A generation worker process of the fleet (`app.py worker`): what it serves and when it was last alive."""

    __tablename__ = "fleet_workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)  # host:pid
    model: Mapped[str] = mapped_column(String(200), index=True)  # the preset whose queue it serves
    device: Mapped[str] = mapped_column(String(64))
    gpu_memory_gb: Mapped[float | None] = mapped_column(Float)
    state: Mapped[str] = mapped_column(String(16))  # ModelState: loading, ready, failed
    error: Mapped[str | None] = mapped_column(Text)
    pipeline: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # PipelineInfo's fields once loaded
    current_job_id: Mapped[int | None] = mapped_column(Integer)
    metrics_url: Mapped[str | None] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Comparison(Base):
    """An X/Y comparison (studio/domain/axes.py): its axes and which job is which cell; its jobs share `group_id`."""

    __tablename__ = "comparisons"

    group_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"base": request fields, "x": axis, "y": axis | None}
    cells: Mapped[list[Any]] = mapped_column(JSON)  # [[x, y, first job id], …] row by row
    owner: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
