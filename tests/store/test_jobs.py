import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.store import jobs
from studio.store.database import Database
from studio.store.rows import Job, JobStatus


def _recipe(prompt: str = "a cat", seed: int = 1) -> Recipe:
    return build_recipe(RecipeRequest(prompt=prompt, seed=seed), PRESETS["tiny-1.3b"])


def _enqueue(db: Database, count: int) -> list[int]:
    with db.write() as session:
        return [jobs.enqueue(session=session, recipe=_recipe(f"p{i}", i)).id for i in range(count)]


def test_upgrade_is_idempotent(db: Database) -> None:
    _enqueue(db, 1)
    db.upgrade()
    with db.read() as session:
        assert len(jobs.list_jobs(session=session)) == 1


def test_enqueue_persists_the_resolved_recipe(db: Database) -> None:
    with db.write() as session:
        job = jobs.enqueue(session=session, recipe=_recipe("一只猫", 42))
    with db.read() as session:
        stored = jobs.get(session=session, job_id=job.id)
        assert stored.status is JobStatus.QUEUED
        assert Recipe.from_dict(stored.recipe) == _recipe("一只猫", 42)
        assert (stored.seed, stored.prompt, stored.total_steps) == (42, "一只猫", 10)
        assert jobs.queue_position(session=session, job=stored) == 1


def test_claim_runs_oldest_first_and_positions_follow(db: Database) -> None:
    ids = _enqueue(db, 3)
    with db.read() as session:
        assert [jobs.queue_position(session=session, job=jobs.get(session=session, job_id=i)) for i in ids] == [1, 2, 3]
    with db.write() as session:
        claimed = jobs.claim_next(session=session, worker="w")
        assert claimed is not None and claimed.id == ids[0] and claimed.status is JobStatus.RUNNING
        assert claimed.started_at is not None
    with db.read() as session:
        assert jobs.queue_position(session=session, job=jobs.get(session=session, job_id=ids[1])) == 1


def test_transitions_never_leave_a_final_state(db: Database) -> None:
    (job_id,) = _enqueue(db, 1)
    with db.write() as session:
        jobs.claim_next(session=session, worker="w")
        jobs.fail(session=session, job_id=job_id, error="boom")
    for action in (
        lambda s: jobs.finish(session=s, job_id=job_id, timings={}),
        lambda s: jobs.mark_canceled(session=s, job_id=job_id),
        lambda s: jobs.fail(session=s, job_id=job_id, error="again"),
    ):
        with pytest.raises(jobs.InvalidTransition, match="cannot go from failed"), db.write() as session:
            action(session)
    with db.read() as session:
        job = jobs.get(session=session, job_id=job_id)
        assert (job.status, job.error) == (JobStatus.FAILED, "boom")


def test_queued_job_cannot_succeed_without_running(db: Database) -> None:
    (job_id,) = _enqueue(db, 1)
    with pytest.raises(jobs.InvalidTransition), db.write() as session:
        jobs.finish(session=session, job_id=job_id, timings={})


def test_cancel_queued_now_running_at_next_step_finished_untouched(db: Database) -> None:
    running, finished, queued = _enqueue(db, 3)
    with db.write() as session:
        jobs.claim_next(session=session, worker="w")
        assert jobs.request_cancel(session=session, job_id=running).cancel_requested
        assert jobs.report_progress(session=session, job_id=running, step=1, total=10, eta_s=9.0) is True
        jobs.mark_canceled(session=session, job_id=running)
    with db.write() as session:
        assert jobs.claim_next(session=session, worker="w").id == finished
        jobs.finish(session=session, job_id=finished, timings={"denoise_s": 1.5})
    with db.write() as session:
        assert jobs.request_cancel(session=session, job_id=queued).status is JobStatus.CANCELED
        assert jobs.request_cancel(session=session, job_id=finished).status is JobStatus.SUCCEEDED
    with db.read() as session:
        done = jobs.get(session=session, job_id=finished)
        assert (done.progress, done.denoise_s, done.cancel_requested) == (1.0, 1.5, False)
        assert jobs.get(session=session, job_id=running).status is JobStatus.CANCELED
        assert jobs.count_by_status(session=session) == {JobStatus.CANCELED: 2, JobStatus.SUCCEEDED: 1}


def test_progress_is_recorded(db: Database) -> None:
    (job_id,) = _enqueue(db, 1)
    with db.write() as session:
        jobs.claim_next(session=session, worker="w")
        assert jobs.report_progress(session=session, job_id=job_id, step=3, total=10, eta_s=7.0) is False
    with db.read() as session:
        job = jobs.get(session=session, job_id=job_id)
        assert (job.step, job.total_steps, job.progress, job.eta_s) == (3, 10, 0.3, 7.0)


def test_recover_interrupted_leaves_queued_alone_and_retry_requeues_same_recipe(db: Database) -> None:
    first, second = _enqueue(db, 2)
    with db.write() as session:
        jobs.claim_next(session=session, worker="dead")
    with db.write() as session:
        assert jobs.recover_interrupted(session=session) == [first]
    with db.write() as session:
        assert jobs.get(session=session, job_id=first).status is JobStatus.INTERRUPTED
        assert jobs.get(session=session, job_id=second).status is JobStatus.QUEUED
        again = jobs.retry(session=session, job_id=first)
        assert again.retry_of == first and again.recipe == jobs.get(session=session, job_id=first).recipe
        with pytest.raises(
            jobs.InvalidTransition, match=r"job_id: Job .* is still queued; only failed, canceled or interrupted"
        ):
            jobs.retry(session=session, job_id=second)


def test_two_threads_never_claim_the_same_job(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'race.db'}")
    db.upgrade()
    ids = _enqueue(db, 60)
    claimed: dict[str, list[int]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claimer(name: str) -> None:
        start.wait()
        while True:
            with db.write() as session:
                job = jobs.claim_next(session=session, worker=name)
            if job is None:
                return
            claimed[name].append(job.id)

    threads = [threading.Thread(target=claimer, args=(n,)) for n in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = claimed["a"] + claimed["b"]
    assert sorted(everything) == ids  # each job exactly once
    assert claimed["a"] == sorted(claimed["a"]) and claimed["b"] == sorted(claimed["b"])
    with db.read() as session:
        workers = {job.id: job.worker for job in session.scalars(select(Job))}
    assert all(workers[i] == "a" for i in claimed["a"]) and all(workers[i] == "b" for i in claimed["b"])
    db.dispose()
