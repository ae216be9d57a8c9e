"""Issue 10, robustness: the worker loop outlives its errors, /health tells when it is dead, and the model's failure
is readable the moment it is reported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from studio.api import create_app
from studio.config import Settings
from studio.media.storage import FileStore
from studio.services import worker
from studio.services.studio import Studio
from studio.services.worker import ModelState, Worker
from studio.store import jobs
from studio.store.rows import JobStatus
from tests.fakes import PRESET, FakePipeline
from tests.helpers import wait_final, wait_for
from tests.services.test_worker import request


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(worker, "BACKOFF_S", (0.01,))


def test_the_loop_survives_database_errors_and_serves_the_next_job(
    studio: Studio, monkeypatch: pytest.MonkeyPatch, quick_backoff: None
) -> None:
    real_claim = jobs.claim_next
    failures = {"left": 3}

    def flaky_claim(**kwargs: Any) -> Any:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT", {}, Exception("disk I/O error"))
        return real_claim(**kwargs)

    monkeypatch.setattr(jobs, "claim_next", flaky_claim)
    view = studio.submit(request())
    assert wait_final(studio, view.id).status is JobStatus.SUCCEEDED  # before: the thread ended at the first error
    assert failures["left"] == 0 and studio.worker.alive and studio.worker.loop_error is None


class _Fatal(BaseException):
    """Not an Exception: nothing in the loop catches it, so the thread ends (as a bug in the interpreter would)."""


def test_health_turns_503_when_the_worker_thread_is_dead(tmp_path: Path, fake: FakePipeline) -> None:
    studio = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=fake)  # type: ignore[arg-type]

    def die() -> bool:
        raise _Fatal("the worker thread ends")

    studio.worker.run_next = die  # type: ignore[method-assign]
    studio.start()
    app = create_app(studio)
    try:
        with TestClient(app) as client:
            wait_for(lambda: not studio.worker._thread.is_alive(), what="the worker thread to end")
            health = client.get("/health")
            assert health.status_code == 503
            assert health.json()["status"] == "error" and health.json()["worker_alive"] is False
    finally:
        app.state.callbacks.stop()
        studio.stop()


def test_health_reports_the_heartbeat_and_the_loops_last_error(
    tmp_path: Path, fake: FakePipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "BACKOFF_S", (30.0,))  # stays in its back-off while the test looks
    studio = Studio(Settings(data_dir=tmp_path / "data"), preset=PRESET, pipeline=fake)  # type: ignore[arg-type]

    def broken() -> bool:
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    studio.worker.run_next = broken  # type: ignore[method-assign]
    studio.start()
    app = create_app(studio)
    try:
        with TestClient(app) as client:
            wait_for(lambda: studio.worker.loop_error is not None, what="the loop's first failure")
            body = client.get("/health").json()
            assert body["worker_alive"] is True and "database is locked" in body["worker_error"]
            assert body["worker_heartbeat_s"] >= 0
    finally:
        app.state.callbacks.stop()
        studio.stop()


class _Watching(Worker):
    """Records what a reader of `load_error` sees at the moment the state becomes FAILED."""

    seen_at_failure: list[str | None]

    def __setattr__(self, name: str, value: object) -> None:
        if name == "state" and value is ModelState.FAILED:
            self.seen_at_failure.append(self.load_error)
        super().__setattr__(name, value)


def test_the_load_error_is_readable_as_soon_as_the_state_says_failed(tmp_path: Path, fake: FakePipeline) -> None:
    from studio.store.database import Database

    fake.load_error = OSError("no such repo")
    db = Database(f"sqlite:///{tmp_path / 'studio.db'}")
    db.upgrade()
    watching = _Watching(db=db, pipeline=fake, media=FileStore(tmp_path / "media"))  # type: ignore[arg-type]
    watching.seen_at_failure = []
    watching.start()
    wait_for(lambda: watching.state is ModelState.FAILED)
    watching.stop()
    db.dispose()
    assert watching.seen_at_failure == ["OSError: no such repo"]  # before: None ("failed to load: None")
