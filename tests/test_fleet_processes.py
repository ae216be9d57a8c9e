"""The fleet as real processes: 2 servers (`serve --workers 0`) and 2 tiny-model workers (`worker`) on a throwaway
Postgres, videos in a moto S3 bucket. Workers are SIGKILLed, a server is SIGKILLed, Postgres is stopped abruptly:
nothing is lost and every job runs to its end exactly once (or again, when its worker died).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.helpers import wait_for
from tests.local_services import Postgres, S3Server, free_port
from tests.server import StudioProcess, WorkerProcess

pytestmark = pytest.mark.process

MODEL = "tiny-1.3b"
QUICK = {"duration_s": 1, "steps": 2, "aspect_ratio": "16:9"}
FINAL = {"succeeded", "failed", "canceled", "interrupted"}


class Fleet:
    """The processes of one fleet and what they share; `server(n)` and `workers` are live processes."""

    def __init__(self, root: Path, postgres: Postgres, s3: S3Server) -> None:
        self.root = root
        self.postgres = postgres
        self.database_url = postgres.create_database()
        self.bucket = s3.create_bucket()
        self.s3 = s3
        self.shared = ["--database-url", self.database_url, "--media-url", f"s3://{self.bucket}/media"]
        self.shared += ["--s3-endpoint-url", s3.endpoint_url, "--no-content-check"]
        self.servers: list[StudioProcess] = []
        self.workers: list[WorkerProcess] = []
        self.db = create_engine(self.database_url, pool_pre_ping=True)

    def start_server(self, model: str = MODEL) -> StudioProcess:
        folder = self.root / f"server-{len(self.servers)}" / "data"
        limits = ["--max-queued-per-user", "100"]  # one test client submits 40 at once
        server = StudioProcess(folder, model, "--workers", "0", *limits, *self.shared).start()
        self.servers.append(server)
        return server

    def start_worker(self, model: str = MODEL) -> WorkerProcess:
        folder = self.root / f"worker-{len(self.workers)}"
        port = free_port()
        worker = WorkerProcess(folder, model, self.database_url, *self.shared[2:], "--metrics-port", str(port))
        worker.metrics_url = f"http://127.0.0.1:{port}/metrics"
        worker.start()
        self.workers.append(worker)
        return worker

    def submit(self, server: StudioProcess, prompt: str, **extra: Any) -> int:
        answer = httpx.post(f"{server.url}/api/v1/jobs", json={"prompt": prompt, **QUICK, **extra}, timeout=30)
        assert answer.status_code == 202, answer.text
        return int(answer.json()["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = conn.execute(text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).mappings().one()
        return dict(row)

    def wait_final(self, job_ids: list[int], timeout: float = 240.0) -> list[dict[str, Any]]:
        wait_for(lambda: all(self.job(i)["status"] in FINAL for i in job_ids), timeout, f"jobs {job_ids} to end")
        return [self.job(i) for i in job_ids]

    def objects(self) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.s3.endpoint_url, region_name="us-east-1")
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def stop(self) -> None:
        for process in [*self.servers, *self.workers]:
            process.stop()
        self.db.dispose()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server) -> Iterator[Fleet]:
    for name, value in s3_server.env.items():  # the processes read the standard AWS variables
        os.environ[name] = value
    postgres = Postgres().start()  # its own cluster: a test here stops it abruptly
    running = Fleet(tmp_path_factory.mktemp("fleet"), postgres, s3_server)
    try:
        running.start_server()
        running.start_server()
        running.start_worker()
        running.start_worker()
        yield running
    finally:
        running.stop()
        postgres.destroy()


def test_forty_jobs_over_two_servers_each_run_once_and_play_from_both(fleet: Fleet) -> None:
    first, second = fleet.servers[:2]
    ids = [fleet.submit((first, second)[n % 2], f"a fox, take {n}", seed=n) for n in range(40)]
    jobs = fleet.wait_final(ids)
    assert [job["status"] for job in jobs] == ["succeeded"] * 40, [job["error"] for job in jobs]
    assert all(job["attempts"] == 1 for job in jobs)  # each ran exactly once
    assert {job["worker"] for job in jobs} == {worker.name for worker in fleet.workers[:2]}  # both took a share
    with fleet.db.connect() as conn:
        videos = conn.execute(text("SELECT id, path, poster_path FROM videos WHERE job_id = ANY(:ids)"), {"ids": ids})
        rows = list(videos)
    assert len(rows) == 40
    stored = set(fleet.objects())
    assert all(f"media/{path}" in stored for _, path, _ in rows), "every video is in the bucket"
    # Each worker's own metrics count the jobs it ran; a server's count the queue per model.
    ran = [_metric(httpx.get(str(w.metrics_url), timeout=30).text, "studio_job_seconds_count") for w in fleet.workers]
    assert sum(ran) == 40 and all(ran)
    assert "# TYPE studio_queue_depth_by_model gauge" in httpx.get(f"{first.url}/metrics", timeout=30).text
    for server in (first, second):  # any server plays any video
        for video_id, _, _ in rows[:3]:
            answer = httpx.get(f"{server.url}/api/v1/videos/{video_id}/file", follow_redirects=True, timeout=30)
            assert answer.status_code == 200 and answer.content[4:8] == b"ftyp"
        ranged = httpx.get(
            f"{server.url}/api/v1/videos/{rows[0][0]}/file",
            headers={"Range": "bytes=0-99"},
            follow_redirects=True,
            timeout=30,
        )
        assert ranged.status_code == 206 and len(ranged.content) == 100  # players can seek


def test_a_worker_killed_mid_job_has_its_job_finished_by_the_other(fleet: Fleet) -> None:
    server = fleet.servers[0]
    job_id = fleet.submit(server, "a long fox", steps=40, duration_s=2, seed=99)
    wait_for(lambda: fleet.job(job_id)["status"] == "running", 60, "the job to start")
    victim = next(worker for worker in fleet.workers if worker.name == fleet.job(job_id)["worker"])
    victim.kill()
    fleet.workers.remove(victim)
    [job] = fleet.wait_final([job_id], timeout=120)
    assert job["status"] == "succeeded", job["error"]
    assert job["attempts"] == 2 and job["worker"] != victim.name and job["seed"] == 99
    fleet.start_worker()  # back to two for the next tests


def test_cancel_on_one_server_stops_the_run_on_its_worker(fleet: Fleet) -> None:
    first, second = fleet.servers[:2]
    job_id = fleet.submit(first, "a fox that never finishes", steps=60, duration_s=2)
    wait_for(lambda: fleet.job(job_id)["status"] == "running", 60, "the job to start")
    answer = httpx.post(f"{second.url}/api/v1/jobs/{job_id}/cancel", timeout=30)
    assert answer.status_code == 200, answer.text
    [job] = fleet.wait_final([job_id], timeout=60)
    assert job["status"] == "canceled" and job["step"] < 60


def test_a_server_killed_with_jobs_in_flight_affects_none(fleet: Fleet) -> None:
    doomed = fleet.start_server()
    ids = [fleet.submit(doomed, f"an owl, take {n}", seed=n) for n in range(6)]
    doomed.kill()
    fleet.servers.remove(doomed)
    jobs = fleet.wait_final(ids)
    assert [job["status"] for job in jobs] == ["succeeded"] * 6
    answer = httpx.get(f"{fleet.servers[0].url}/api/v1/jobs/{ids[-1]}", timeout=30)
    assert answer.json()["status"] == "succeeded" and answer.json()["video"] is not None


def test_postgres_stopped_abruptly_with_jobs_queued_and_running_loses_nothing(fleet: Fleet) -> None:
    server = fleet.servers[0]
    ids = [fleet.submit(server, "a slow heron", steps=30, duration_s=2, seed=1)]
    ids += [fleet.submit(server, f"a heron, take {n}", seed=n) for n in range(2, 6)]
    wait_for(lambda: fleet.job(ids[0])["status"] == "running", 60, "the first job to start")
    fleet.postgres.stop("immediate")  # as in a crash: no checkpoint, connections cut
    fleet.postgres.start()
    jobs = fleet.wait_final(ids, timeout=300)
    assert [job["status"] for job in jobs] == ["succeeded"] * len(ids), [job["error"] for job in jobs]
    for process in fleet.servers:  # the servers reconnected by themselves
        wait_for(lambda p=process: httpx.get(f"{p.url}/health", timeout=10).status_code == 200, 60, "health")


def test_a_model_nobody_serves_waits_then_runs_when_a_worker_joins(fleet: Fleet) -> None:
    other = fleet.start_server("tiny-a14b")
    job_id = fleet.submit(other, "a crane in the mist")
    answer = httpx.get(f"{other.url}/api/v1/jobs/{job_id}", timeout=30).json()
    assert answer["status"] == "queued" and answer["waiting_for"] == "waiting for a worker that serves tiny-a14b"
    health = httpx.get(f"{other.url}/health", timeout=30).json()
    assert health["status"] == "waiting" and "tiny-a14b" in health["fleet"]["models_without_worker"]
    assert {worker["model"] for worker in health["fleet"]["workers"] if worker["live"]} == {MODEL}
    fleet.start_worker("tiny-a14b")
    [job] = fleet.wait_final([job_id], timeout=120)
    assert job["status"] == "succeeded" and job["model"] == "tiny-a14b"


def _metric(exposition: str, name: str) -> float:
    """The sum of a metric's samples (over its labels) in a Prometheus text exposition."""
    return sum(float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(name))
