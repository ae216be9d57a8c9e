"""A job as the client sees it: the API's job body as a typed value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FINAL = ("succeeded", "failed", "canceled", "interrupted")


@dataclass(frozen=True)
class Job:
    """A job as the API reports it; `raw` holds every field."""

    id: int
    status: str
    progress: float
    step: int
    total_steps: int
    eta_s: float | None
    queue_position: int | None
    seed: int
    error: str | None
    video_id: int | None
    raw: dict[str, Any]

    @property
    def is_final(self) -> bool:
        return self.status in FINAL

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Job:
        video = data.get("video") or {}
        return cls(
            id=data["id"],
            status=data["status"],
            progress=data["progress"],
            step=data["step"],
            total_steps=data["total_steps"],
            eta_s=data.get("eta_s"),
            queue_position=data.get("queue_position"),
            seed=data["seed"],
            error=data.get("error"),
            video_id=video.get("id"),
            raw=data,
        )
