"""A hard kill (SIGKILL) mid-job, then a restart: nothing queued or saved is lost, the running job is retryable."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.media import mp4
from studio.store import jobs
from studio.store.database import Database
from studio.store.rows import Job, JobStatus, Video
from tests.helpers import wait_for
from tests.server import StudioProcess

pytestmark = pytest.mark.process
MODEL = "tiny-1.3b"


def status_of(db: Database, job_id: int) -> JobStatus:
    with db.read() as session:
        return jobs.get(session=session, job_id=job_id).status


def snapshot(db: Database) -> tuple[dict[int, tuple[str, dict[str, object]]], dict[int, tuple[str, int]]]:
    with db.read() as session:
        job_rows = {j.id: (j.status.value, j.recipe) for j in session.scalars(select(Job))}
        video_rows = {v.id: (v.path, v.seed) for v in session.scalars(select(Video))}
    return job_rows, video_rows


def test_sigkill_mid_job_then_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = StudioProcess(data, MODEL).start()
    db = Database(f"sqlite:///{(data / 'studio.db').resolve()}")
    preset = PRESETS[MODEL]

    def enqueue(prompt: str, seed: int, steps: int, seconds: float) -> int:
        recipe = build_recipe(RecipeRequest(prompt=prompt, seed=seed, steps=steps, duration_s=seconds), preset)
        with db.write() as session:
            return jobs.enqueue(session=session, recipe=recipe).id

    try:
        # 1. One video finished before the crash.
        done = enqueue("before the crash", 1, 2, 0.5)
        wait_for(lambda: status_of(db, done) is JobStatus.SUCCEEDED, 120, "the first job")
        # 2. A long job runs while two wait behind it.
        long_job = enqueue("killed mid-run", 2, 100, 5.0)
        queued = [enqueue("waiting 1", 3, 2, 0.5), enqueue("waiting 2", 4, 2, 0.5)]

        def long_job_is_stepping() -> bool:
            with db.read() as session:
                job = jobs.get(session=session, job_id=long_job)
                return job.status is JobStatus.RUNNING and job.step >= 1

        wait_for(long_job_is_stepping, 120, "the long job to start stepping")
        server.kill()
    except BaseException:
        server.stop()
        raise

    # 3. The database after the kill: as it was, with the long job still marked running.
    assert db.integrity_ok()
    jobs_before, videos_before = snapshot(db)
    assert jobs_before[long_job][0] == "running"
    assert [jobs_before[i][0] for i in queued] == ["queued", "queued"]

    # 4. Restart: the running job becomes interrupted, the queued ones run, nothing else changes.
    server.start()
    try:
        for job_id in queued:
            wait_for(lambda job_id=job_id: status_of(db, job_id) is JobStatus.SUCCEEDED, 120, f"job {job_id}")
        assert status_of(db, long_job) is JobStatus.INTERRUPTED
        jobs_after, videos_after = snapshot(db)
        assert jobs_after[done] == jobs_before[done]
        assert {i: v for i, v in videos_after.items() if i in videos_before} == videos_before
        assert all(jobs_after[i][1] == jobs_before[i][1] for i in jobs_before)  # recipes untouched
        assert db.integrity_ok()
        # every video row has its file, every file has its row
        rows = {path for path, _ in videos_after.values()}
        files = {f"videos/{p.name}" for p in (data / "media" / "videos").iterdir()}
        assert rows == files
        for path in rows:
            assert mp4.probe(data / "media" / path).num_frames > 0
        assert list((data / "media" / "incoming").iterdir()) == []
        # the interrupted job can be retried, with the same recipe and seed
        with db.write() as session:
            again = jobs.retry(session=session, job_id=long_job)
        assert again.recipe == jobs_before[long_job][1]
    finally:
        server.stop()
        db.dispose()
