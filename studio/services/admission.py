"""Admission: every way of creating work (a job, a group, a retry, a trim, an export) passes the same limits.

Jobs: the queue cap, the owner's queued jobs and jobs per hour (counted in the database, so they hold across
processes and restarts). Edits: trims and exports per owner per hour (counted in memory). Both: free disk space.
"""

from __future__ import annotations

import logging
import math
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from studio.config import Settings
from studio.domain.errors import Limited, OutOfSpace
from studio.services.limits import WindowCounter
from studio.store import jobs
from studio.store.rows import as_utc, utcnow

log = logging.getLogger(__name__)
MB = 1024 * 1024


class QueueFull(Limited):
    """The queue holds `max_queued` jobs already (or too many for a group)."""

    def __init__(self, queued: int, retry_after_s: int, *, needed: int = 1, room: int = 0) -> None:
        if needed > 1:
            message = f"the queue has room for {room} more jobs and this group needs {needed}"
        else:
            message = f"the queue is full ({queued} jobs waiting)"
        super().__init__(message, retry_after_s)


class RateLimited(Limited):
    """One user (or client address) is over its own limits; others are unaffected."""


class Admission:
    """The limits of one studio, from its settings."""

    def __init__(self, settings: Settings, *, media_dir: Path, retry_after: Callable[[], int]) -> None:
        self.settings = settings
        self.media_dir = media_dir
        self._retry_after = retry_after  # seconds until a queue slot is likely free
        self._edits = WindowCounter(limit=max(1, settings.max_edits_per_hour), window_s=3600)

    def check_disk(self) -> None:
        """Raises OutOfSpace when the media disk has less than `min_free_disk_mb` free."""
        want = self.settings.min_free_disk_mb * MB
        if not want:
            return
        free = shutil.disk_usage(self.media_dir).free
        if free < want:
            log.warning("refusing work: %.0f MB free on the media disk, %d MB needed", free / MB, want // MB)
            raise OutOfSpace(
                f"the studio's disk is nearly full ({free // MB} MB free, at least {want // MB} MB needed): "
                "delete videos in History or free space on the server, then try again"
            )

    def check_jobs(self, session: Session, *, count: int, owner: str | None) -> None:
        """Refuse `count` more jobs when the disk, the queue or this owner's limits have no room for them.

        Call it inside the transaction that inserts the jobs, so the limits hold under concurrent submissions.
        """
        self.check_disk()
        settings = self.settings
        queued = jobs.queued_count(session=session)
        room = max(0, settings.max_queued - queued)
        if count > room:
            raise QueueFull(queued, self._retry_after(), needed=count, room=room)
        if owner is None:
            return
        mine = jobs.queued_count(session=session, owner=owner)
        if mine + count > settings.max_queued_per_user:
            raise RateLimited(
                f"rate limit: you have {mine} jobs waiting and at most {settings.max_queued_per_user} may wait",
                self._retry_after(),
            )
        if settings.max_jobs_per_hour:
            hour_ago = utcnow() - timedelta(hours=1)
            recent = jobs.submitted_since(session=session, owner=owner, since=hour_ago)
            if len(recent) + count > settings.max_jobs_per_hour:
                oldest = recent[max(0, len(recent) + count - settings.max_jobs_per_hour - 1)]
                free_at = as_utc(oldest) + timedelta(hours=1)
                wait = max(1, math.ceil((free_at - utcnow()).total_seconds()))
                raise RateLimited(
                    f"rate limit: at most {settings.max_jobs_per_hour} jobs per hour; you have submitted {len(recent)}",
                    wait,
                )

    def admit_edit(self, owner: str | None) -> None:
        """Count one trim or export for `owner` (None: the studio itself, e.g. a test) if the limits allow it."""
        self.check_disk()
        if owner is None or not self.settings.max_edits_per_hour:
            return
        wait = self._edits.retry_after(owner)
        if wait is not None:
            raise RateLimited(
                f"rate limit: at most {self.settings.max_edits_per_hour} trims and exports per hour", wait
            )
        self._edits.add(owner)
