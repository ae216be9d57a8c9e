"""Models in the browser: a hub model downloads with progress on the model line and /health, then the Models page
switches to another tiny model while a job of the first one waits; each job runs on its own model. The Create page
follows each switch (its duration range, Start image and preview banner).

The README's Models page screenshots come from `make screenshots` (scripts/screenshots.py), not from these tests."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.helpers import wait_for
from tests.hub_fixtures import hub_env
from tests.loopback_hub import LoopbackHub
from tests.server import StudioProcess

pytestmark = pytest.mark.browser
REPO = "wan-studio/tiny-1.3b"


@pytest.fixture
def hub_studio(hub: LoopbackHub, tmp_path: Path) -> Iterator[StudioProcess]:
    """The studio serving a hub model that it downloads from the (slow) loopback hub at start."""
    hub.throttle_bps = 15_000  # the weights take ~15 s: the page and /health see them arrive on a loaded machine too
    server = StudioProcess(tmp_path / "data", REPO)
    server.env = hub_env(hub, tmp_path / "hf")
    yield server.start()
    server.stop()


def health(server: StudioProcess) -> dict[str, object]:
    with urllib.request.urlopen(f"{server.url}/health", timeout=5) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def test_download_progress_then_switching_from_the_models_page(
    page: Page, hub_studio: StudioProcess, hub: LoopbackHub
) -> None:
    # 1. The download shows on the page (percent, file) and on /health, while the hub is slow
    page.goto(hub_studio.url)
    line = page.locator("#model-status")
    expect(line).to_contain_text(f"Downloading {REPO}", timeout=60_000)
    expect(line).to_contain_text("%")
    seen = health(hub_studio)["download"]
    assert isinstance(seen, dict) and seen["phase"] in ("downloading", "loading"), seen
    hub.throttle_bps = None  # the rest at full speed
    expect(line).to_contain_text("loaded in", timeout=120_000)  # the ready line
    assert health(hub_studio)["download"] is None

    # 2. A job of the first model waits while the Models page switches to another tiny model
    with StudioClient(hub_studio.url) as client:
        first = client.submit("a red fox", duration_s=1.0, steps=30, aspect_ratio="9:16")
        page.get_by_role("tab", name="Models").click()
        expect(page.locator("#models-table")).to_contain_text("tiny-a14b")
        page.locator("#models-pick input").click()
        page.get_by_role("option", name="tiny-a14b", exact=True).click()
        page.locator("#models-use").click()
        expect(page.locator("#models-message")).to_contain_text("New jobs use this model")
        expect(page.locator("#models-table")).to_contain_text(re.compile(r"tiny-a14b.{0,200}new jobs use it", re.S))
        second = client.submit("a blue bird", duration_s=1.0, steps=3, aspect_ratio="9:16")
        done_first, done_second = client.wait(first.id, timeout=240), client.wait(second.id, timeout=240)
        assert done_first.status == done_second.status == "succeeded", (done_first.error, done_second.error)
        assert done_first.raw["recipe"]["model"] == REPO
        assert done_second.raw["recipe"]["model"] == "tiny-a14b"
        wait_for(lambda: client.health()["model"] == "tiny-a14b", 60, "the switched model on /health")
    expect(page.locator("#models-table")).to_contain_text("loaded", timeout=30_000)


@pytest.fixture
def switching_studio(tmp_path: Path) -> Iterator[StudioProcess]:
    """A studio of its own on the tiny 1.3B (16 fps, text only): switching it would change the shared one's model."""
    server = StudioProcess(tmp_path / "data", "tiny-1.3b")
    yield server.start()
    server.stop()


def test_the_create_page_follows_the_model_new_jobs_use(page: Page, switching_studio: StudioProcess) -> None:
    page.goto(switching_studio.url)
    duration, image_panel = page.locator("#duration"), page.locator("#start-image-panel")
    expect(duration).to_contain_text("0.5–5 s")
    expect(image_panel).to_be_hidden()  # the 1.3B takes no image
    expect(page.locator("#preview-banner")).to_contain_text("1.3b layout")

    # 1. The picker switches to the TI2V-5B: 24 fps (shorter clips), a Start image, its own banner
    page.locator("#model-pick input").click()
    page.get_by_role("option", name="tiny-ti2v-5b", exact=True).click()
    expect(page.locator("#model-pick-note")).to_contain_text("New jobs use tiny-ti2v-5b")
    expect(duration).to_contain_text("0.25–5 s")
    expect(page.locator("#resolved-size")).to_contain_text("24 fps")
    expect(image_panel).to_be_visible()
    expect(page.locator("#preview-banner")).to_contain_text("ti2v-5b layout")

    # 2. "Use this model" on the Models page switches back: the Create page follows without a reload
    page.get_by_role("tab", name="Models").click()
    page.locator("#models-pick input").click()
    page.get_by_role("option", name="tiny-1.3b", exact=True).click()
    page.locator("#models-use").click()
    # The action's answer, and its row (the rows after it say "—")
    expect(page.locator("#models-message")).to_contain_text("New jobs use this model")
    expect(page.locator("#models-table")).to_contain_text(re.compile(r"tiny-1\.3b.{0,200}new jobs use it", re.S))
    page.get_by_role("tab", name="Create").click()
    expect(duration).to_contain_text("0.5–5 s")
    expect(image_panel).to_be_hidden()
    expect(page.locator("#model-pick input")).to_have_value("tiny-1.3b")
    expect(page.locator("#resolved-size")).to_contain_text("16 fps")
