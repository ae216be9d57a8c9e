"""Waiting on conditions: tests never sleep a fixed time."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from studio.domain import presets
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.services.job_view import JobView
from studio.services.studio import Studio
from studio.store import library
from studio.store.database import MIGRATIONS_DIR, Database
from studio.store.rows import Video

T = TypeVar("T")


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll `predicate` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end in a thread of its own (Playwright's sync API keeps a loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def drain(updates: AsyncIterator[T]) -> list[T]:
    """Every update an async generator handler (the UI's followers) yields, run to its end."""

    async def collect() -> list[T]:
        return [update async for update in updates]

    return _run(collect())


def first(updates: AsyncIterator[T]) -> T:
    """The first update of an async generator handler (where a refusal is raised)."""

    async def one() -> T:
        return await anext(updates)

    return _run(one())


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


def add_copies(studio: Studio, source: Path, prompts: list[str]) -> list[Video]:
    """One video per prompt (seeds 0, 1, …) sharing copies of one real MP4: a long history in a second, without
    generating each video. The rows are real (library.add), so search, paging and the files all work."""
    made = []
    for seed, prompt in enumerate(prompts):
        folder = library.incoming_dir(studio.media_dir)
        video_file, poster_file = folder / f"copy-{seed}.mp4", folder / f"copy-{seed}.jpg"
        shutil.copyfile(source, video_file)
        poster_file.write_bytes(b"poster")
        recipe = build_recipe(RecipeRequest(prompt=prompt, seed=seed), presets.PRESETS["tiny-1.3b"])
        with studio.db.write() as session:
            made.append(
                library.add(
                    session=session, store=studio.media, recipe=recipe, video_file=video_file, poster_file=poster_file
                )
            )
    return made
