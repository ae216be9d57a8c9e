"""The reliability suite: a real studio process under SIGKILL loops and concurrent submissions, over HTTP.

Loopback only, bounded in count and time. `bench/load.py` runs the longer versions.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from studio.client import StudioClient, StudioError
from studio.store.database import Database
from studio.store.rows import Job, JobStatus, Video
from tests.helpers import wait_for
from tests.server import StudioProcess

pytestmark = pytest.mark.process
SHORT = {"duration_s": 0.5, "steps": 1}


def check_store(data: Path, submitted: list[int]) -> dict[int, JobStatus]:
    """Every submitted job is present; video rows and files match one to one; SQLite is intact."""
    db = Database(f"sqlite:///{(data / 'studio.db').resolve()}")
    try:
        assert db.integrity_ok()
        with db.read() as session:
            statuses = {job.id: job.status for job in session.scalars(select(Job))}
            paths = {video.path for video in session.scalars(select(Video))}
    finally:
        db.dispose()
    assert set(submitted) <= set(statuses), "a submitted job is missing"
    videos = data / "media" / "videos"
    files = {f"videos/{p.name}" for p in videos.iterdir()} if videos.exists() else set()
    assert paths == files, f"rows without files: {paths - files}; files without rows: {files - paths}"
    return statuses


def test_crash_loop(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = StudioProcess(data, "tiny-1.3b")
    submitted: list[int] = []
    for round_ in range(5):
        server.start()
        try:
            with StudioClient(server.url) as client:
                statuses = {j.id: j.status for j in client.jobs(limit=200)}
                assert set(submitted) <= set(statuses)
                assert all(s in ("succeeded", "queued", "running", "interrupted") for s in statuses.values())
                long_job = client.submit(f"round {round_} long", duration_s=5.0, steps=100).id
                submitted += [long_job, client.submit(f"round {round_} short", **SHORT).id]
                wait_for(lambda c=client, j=long_job: c.get(j).step >= 1, timeout=120, what="the long job to step")
        finally:
            server.kill() if server.process and server.process.poll() is None else None
        statuses_after = check_store(data, submitted)
        assert statuses_after[long_job] is JobStatus.RUNNING  # killed mid-run; the restart marks it interrupted
    server.start()
    try:
        with StudioClient(server.url) as client:
            interrupted = [j for j in client.jobs(limit=200) if j.status == "interrupted"]
            assert sorted(j.id for j in interrupted) == submitted[::2]  # every long job, none lost
            again = client.retry(interrupted[0].id)  # retryable, with its recipe and seed
            assert again.seed == interrupted[0].seed and again.status in ("queued", "running")
            wait_for(lambda: all(client.get(i).is_final for i in submitted[1::2]), timeout=120, what="short jobs")
            assert all(client.get(i).status == "succeeded" for i in submitted[1::2])
    finally:
        server.stop()
    check_store(data, submitted)


@pytest.fixture
def busy_server(tmp_path: Path) -> Iterator[StudioProcess]:
    server = StudioProcess(tmp_path / "data", "tiny-1.3b", "--max-queued", "30").start()
    yield server
    server.stop()


def test_two_hundred_concurrent_submissions(busy_server: StudioProcess) -> None:
    accepted: list[int] = []
    refused: list[int] = []
    unexpected: list[str] = []
    lock = threading.Lock()

    def submitter(thread: int) -> None:
        with StudioClient(busy_server.url, timeout=60) as client:
            for i in range(10):
                try:
                    job = client.submit(f"thread {thread} job {i}", seed=thread * 100 + i, **SHORT)
                    with lock:
                        accepted.append(job.id)
                except StudioError as exc:
                    with lock:
                        (refused if exc.status_code == 429 else unexpected).append(str(exc))

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert unexpected == [] and len(accepted) + len(refused) == 200
    assert len(set(accepted)) == len(accepted)

    with StudioClient(busy_server.url) as client:
        wait_for(lambda: all(j.is_final for j in client.jobs(limit=200)), timeout=300, what="the queue to drain")
        jobs = {j.id: j for j in client.jobs(limit=200)}
    assert set(jobs) == set(accepted)  # every acknowledged job persisted, no phantom ones
    assert all(j.status == "succeeded" and j.video_id is not None for j in jobs.values())
    videos = [j.video_id for j in jobs.values()]
    assert len(set(videos)) == len(videos)  # each job ran exactly once
    started = sorted(jobs, key=lambda i: jobs[i].raw["started_at"])
    assert started == sorted(jobs)  # in submission order
