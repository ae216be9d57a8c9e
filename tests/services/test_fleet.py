"""The fleet in one test process: Studios on one Postgres, a server without a model and workers with fake pipelines.

Real Postgres, real Procrastinate: what is faked is only the model (these tests are about dispatch). The process
tests (tests/test_fleet_processes.py) run the same with real `app.py` processes and the tiny real model.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from studio.config import Settings
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest
from studio.services import job_engine
from studio.services.studio import Studio
from studio.services.worker import ModelState
from studio.store import fleet, jobs
from studio.store.rows import JobStatus
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_for
from tests.local_services import Postgres

REQUEST = RecipeRequest(prompt="a fox in the snow", seed=7, duration_s=1.0, steps=3)


@pytest.fixture
def database_url(postgres: Postgres) -> str:
    return postgres.create_database()


@pytest.fixture
def make_studio(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Studio]]:
    made: list[Studio] = []

    def make(*, workers: int, pipeline: FakePipeline | None = None, model: str = PRESET.key, **extra: Any) -> Studio:
        settings = Settings(
            data_dir=tmp_path / "data", database_url=database_url, workers=workers, content_check=False, **extra
        )
        studio = Studio(settings, preset=PRESETS[model], pipeline=pipeline)
        studio.start()
        made.append(studio)
        return studio

    yield make
    for studio in reversed(made):
        studio.stop()


def test_a_server_without_a_model_hands_jobs_to_a_worker(make_studio: Callable[..., Studio]) -> None:
    server = make_studio(workers=0)
    assert server.pipeline is None and server.worker is None
    queued = server.submit(REQUEST)
    assert queued.status is JobStatus.QUEUED
    assert server.model_info().state is ModelState.WAITING  # nobody serves the model yet
    health = server.health()
    assert health.ok and health.fleet is not None and health.fleet.models_without_worker == [PRESET.key]

    fake = FakePipeline()
    worker = make_studio(workers=1, pipeline=fake)
    done = server.wait(queued.id, timeout=60)
    wait_for(lambda: server.job(queued.id).is_final, timeout=60, what="the job to end")
    done = server.job(queued.id)
    assert done.status is JobStatus.SUCCEEDED, done.error
    assert done.video is not None and [r.seed for r in fake.ran] == [7]
    assert worker.fleet_worker is not None
    health = server.health()
    assert health.fleet is not None and health.fleet.models_without_worker == []
    [view] = health.fleet.workers
    assert view.name == worker.fleet_worker.name and view.model == PRESET.key and view.live
    assert server.model_info().state is ModelState.READY


def test_each_job_runs_once_across_two_workers(make_studio: Callable[..., Studio]) -> None:
    server = make_studio(workers=0)
    fakes = [FakePipeline(), FakePipeline()]
    for fake in fakes:
        make_studio(workers=1, pipeline=fake)
    ids = [server.submit(RecipeRequest(prompt=f"job {n}", seed=n, duration_s=1.0, steps=2)).id for n in range(12)]
    wait_for(lambda: all(server.job(job_id).is_final for job_id in ids), timeout=120, what="every job to end")
    assert all(server.job(job_id).status is JobStatus.SUCCEEDED for job_id in ids)
    seeds = sorted(recipe.seed for fake in fakes for recipe in fake.ran)
    assert seeds == list(range(12))  # each exactly once, wherever it ran


def test_a_worker_serves_only_its_own_model(make_studio: Callable[..., Studio]) -> None:
    other = make_studio(workers=0, model="tiny-a14b")
    fake = FakePipeline()
    make_studio(workers=1, pipeline=fake)  # serves tiny-1.3b only
    waiting = other.submit(REQUEST)
    mine = make_studio(workers=0).submit(REQUEST)
    wait_for(lambda: other.job(mine.id).is_final, timeout=60, what="the tiny-1.3b job to end")
    assert other.job(waiting.id).status is JobStatus.QUEUED  # still waiting for a tiny-a14b worker
    assert "tiny-a14b" in (other.health().fleet or pytest.fail("no fleet")).models_without_worker
    assert 'studio_queue_depth_by_model{model="tiny-a14b"} 1.0' in other.metrics_text().decode()

    make_studio(workers=1, pipeline=FakePipeline(), model="tiny-a14b")
    wait_for(lambda: other.job(waiting.id).is_final, timeout=60, what="the tiny-a14b job to run once served")
    assert other.job(waiting.id).status is JobStatus.SUCCEEDED


def test_a_job_saved_but_never_handed_over_is_found_and_run(make_studio: Callable[..., Studio]) -> None:
    server = make_studio(workers=0)
    # The crash between the two steps of submit: the row is saved, the engine never heard of it.
    from studio.domain.recipe import build_recipe

    with server.db.write() as session:
        job_id = jobs.enqueue(session=session, recipe=build_recipe(REQUEST, PRESET)).id
    make_studio(workers=1, pipeline=FakePipeline())
    wait_for(lambda: server.job(job_id).is_final, timeout=60, what="the upkeep to hand the job over and it to run")
    assert server.job(job_id).status is JobStatus.SUCCEEDED


def test_cancel_from_a_server_stops_the_run_on_a_worker(make_studio: Callable[..., Studio]) -> None:
    server = make_studio(workers=0)
    fake = FakePipeline()
    fake.gate = __import__("threading").Event()
    make_studio(workers=1, pipeline=fake)
    job = server.submit(REQUEST)
    assert fake.at_step.wait(60), "the job never reached step 2"
    server.cancel(job.id)
    wait_for(lambda: server.job(job.id).is_final, timeout=30, what="the cancel to reach the worker")
    assert server.job(job.id).status is JobStatus.CANCELED


def test_a_dead_workers_job_runs_again_then_ends_interrupted(
    make_studio: Callable[..., Studio], database_url: str
) -> None:
    server = make_studio(workers=0)
    job = server.submit(REQUEST)
    # A worker took it and died: its engine entry is "doing" under a worker whose heartbeat stopped long ago.
    with server.db.engine.begin() as conn:
        conn.execute(text("INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour')"))
        conn.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'doing', "
                "worker_id = (SELECT max(id) FROM procrastinate_workers) WHERE queueing_lock = :lock"
            ),
            {"lock": fleet.dispatch_lock(job.id)},
        )
    with server.db.write() as session:
        jobs.claim(session=session, job_id=job.id, worker="gone:1")
    assert server.engine is not None
    done = server.engine.upkeep(server.db)
    assert done["requeued"] == [job.id]
    view = server.job(job.id)
    assert view.status is JobStatus.QUEUED
    # Its second run dies too: with --max-attempts 2 it ends interrupted, for a person to retry.
    with server.db.engine.begin() as conn:
        dead = "(SELECT max(id) FROM procrastinate_workers)"
        conn.execute(text(f"UPDATE procrastinate_jobs SET status = 'doing', worker_id = {dead}"))
    with server.db.write() as session:
        jobs.claim(session=session, job_id=job.id, worker="gone:2")
    done = server.engine.upkeep(server.db)
    assert done["ended"] == [job.id]
    view = server.job(job.id)
    assert view.status is JobStatus.INTERRUPTED and "2 runs" in (view.error or "")
    assert job_engine.STALLED_AFTER_S <= 30  # the goal: re-run within 30 s of the death


def test_a_callback_is_sent_once_across_the_fleet(make_studio: Callable[..., Studio]) -> None:
    from fastapi.testclient import TestClient

    from studio.api import create_app
    from tests.services.test_webhooks import _Receiver

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    receiver.got, receiver.hold = [], None  # type: ignore[attr-defined]
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    servers = [make_studio(workers=0, callback_allow=["127.0.0.1"]) for _ in range(3)]
    make_studio(workers=1, pipeline=FakePipeline())
    try:
        with TestClient(create_app(servers[0])), TestClient(create_app(servers[1])), TestClient(create_app(servers[2])):
            url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            ids = [servers[n % 3].submit(REQUEST, callback_url=url).id for n in range(6)]

            def all_sent() -> bool:
                with servers[0].db.read() as session:
                    return all(jobs.get(session=session, job_id=i).callback_done_at is not None for i in ids)

            wait_for(all_sent, timeout=60, what="every callback to be delivered")
        assert len(receiver.got) == 6  # type: ignore[attr-defined]  # once each, though three servers follow them
    finally:
        receiver.shutdown()


def test_a_seed_comparison_runs_on_the_fleet_one_job_per_seed(make_studio: Callable[..., Studio]) -> None:
    server = make_studio(workers=0)
    fakes = [FakePipeline(), FakePipeline()]
    for fake in fakes:
        make_studio(workers=1, pipeline=fake)
    group_id, _ = server.submit_group(REQUEST, [11, 12, 13])
    wait_for(lambda: all(v.is_final for v in server.group_jobs(group_id)), timeout=60, what="the group to end")
    assert [v.status for v in server.group_jobs(group_id)] == [JobStatus.SUCCEEDED] * 3
    assert sorted(r.seed for fake in fakes for r in fake.ran) == [11, 12, 13]
    assert not any(fake.batches for fake in fakes)  # one job per run in the fleet: seeds spread over workers
    assert [video.recipe["seed"] for video in server.videos.of_group(group_id)] == [11, 12, 13]
