"""Per-user limits: the N+1-th queued job of one user is refused with the reason; another user is unaffected."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import gradio as gr
import pytest

from studio.config import Settings
from studio.domain.recipe import RecipeRequest
from studio.services.admission import RateLimited
from studio.services.studio import Studio
from studio.store.rows import Job, utcnow
from studio.ui.create import CreatePage
from tests.api.conftest import make_client
from tests.fakes import PRESET, FakePipeline
from tests.helpers import first

REQUEST = RecipeRequest(prompt="a kite", duration_s=0.5, steps=2)


@pytest.fixture
def held(fake: FakePipeline) -> Iterator[FakePipeline]:
    """The first job holds the worker, so the next ones stay queued."""
    fake.gate = threading.Event()
    yield fake
    fake.gate.set()


def test_one_user_over_the_queued_limit_is_refused_others_are_not(tmp_path: Path, held: FakePipeline) -> None:
    studio = Studio(Settings(data_dir=tmp_path / "data", max_queued_per_user=2), preset=PRESET, pipeline=held)
    studio.start()
    try:
        studio.submit(REQUEST, owner="user:alice")
        assert held.at_step.wait(10)  # running, not queued
        studio.submit(REQUEST, owner="user:alice")
        studio.submit(REQUEST, owner="user:alice")
        with pytest.raises(RateLimited, match="you have 2 jobs waiting and at most 2 may wait"):
            studio.submit(REQUEST, owner="user:alice")
        studio.submit(REQUEST, owner="user:bob")  # unaffected
        with pytest.raises(RateLimited):
            studio.submit_group(REQUEST, [1, 2], owner="user:alice")
        assert len(studio.list_jobs()) == 4
    finally:
        held.gate.set()  # type: ignore[union-attr]
        studio.stop()


def test_hourly_limit_says_when_to_come_back(studio: Studio) -> None:
    studio.settings.max_jobs_per_hour = 2
    for _ in range(2):
        studio.submit(REQUEST, owner="ip:10.0.0.7")
    with studio.db.write() as session:  # the first of them was 50 minutes ago
        first = session.get(Job, 1)
        assert first is not None
        first.created_at = utcnow() - timedelta(minutes=50)
    with pytest.raises(RateLimited, match="at most 2 jobs per hour") as caught:
        studio.submit(REQUEST, owner="ip:10.0.0.7")
    assert 9 * 60 <= caught.value.retry_after_s <= 10 * 60 + 1
    studio.submit(REQUEST, owner="ip:10.0.0.8")


def test_the_api_answers_429_per_token_and_per_address(tmp_path: Path, held: FakePipeline) -> None:
    tokens = ["token-of-alice-0123456789", "token-of-bob-0123456789xx"]
    for client in make_client(tmp_path, held, api_tokens=tokens, max_queued_per_user=1):
        alice = {"Authorization": f"Bearer {tokens[0]}"}
        bob = {"Authorization": f"Bearer {tokens[1]}"}
        body = {"prompt": "a kite", "duration_s": 0.5, "steps": 2}
        assert client.post("/api/v1/jobs", json=body, headers=alice).status_code == 202
        assert held.at_step.wait(10)
        assert client.post("/api/v1/jobs", json=body, headers=alice).status_code == 202
        refused = client.post("/api/v1/jobs", json=body, headers=alice)
        assert refused.status_code == 429 and "rate limit" in refused.json()["detail"]
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.post("/api/v1/jobs", json=body, headers=bob).status_code == 202
        held.gate.set()  # type: ignore[union-attr]


def test_the_ui_shows_the_limit_as_a_message(studio: Studio, held: FakePipeline) -> None:
    page = CreatePage(studio)
    with gr.Blocks() as demo:
        page.build(demo)
    studio.settings.max_queued_per_user = 1
    studio.submit(REQUEST, owner="ip:127.0.0.1")
    assert held.at_step.wait(10)
    studio.submit(REQUEST, owner="ip:127.0.0.1")

    class Visitor:
        username = None
        client = type("Client", (), {"host": "127.0.0.1"})()

    values = ["a kite", "", 1, False, "16:9", 0.5, "preview", 2, 5.0, 3.0, 3.0]
    with pytest.raises(gr.Error, match="rate limit"):
        first(page.jobs.generate(*values, request=Visitor()))  # type: ignore[arg-type]
