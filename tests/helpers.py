"""Waiting on conditions: tests never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from studio.db import MIGRATIONS_DIR, Database
from studio.job_view import JobView
from studio.service import Studio


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def wait_final(studio: Studio, job_id: int, timeout: float = 60.0) -> JobView:
    """The job once it has ended (the Studio wakes us on the worker's updates)."""
    view = studio.wait(job_id, timeout=timeout)
    assert view.is_final, f"job {job_id} still {view.status.value} after {timeout} s"
    return view


def migrate(database: Database, revision: str, *, down: bool = False) -> None:
    """Run Alembic up (or down) to `revision` on `database`, as Database.upgrade does for head."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def database_at(path: Path, revision: str) -> Database:
    """A database migrated only up to `revision`, holding one video (一只狐狸在雪地里奔跑) made before the next ones."""
    database = Database(f"sqlite:///{path}")
    migrate(database, revision)
    columns = (
        "path, prompt, negative_prompt, seed, model, width, height, num_frames, fps, duration_s, steps, guidance, "
        "flow_shift, recipe, created_at, favorite"
    )
    with database.engine.begin() as connection:
        connection.exec_driver_sql(
            f"INSERT INTO videos ({columns}) VALUES ('videos/1.mp4', '一只狐狸在雪地里奔跑', '', 1, 'tiny-1.3b', 160, "
            "96, 17, 16, 1.0, 4, 5.0, 3.0, '{}', '2026-01-01 00:00:00', 0)"
        )
    return database
