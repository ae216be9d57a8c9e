"""Image to video in the browser: Use this frame from History → Generate → the new clip shows its start image."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.server import StudioProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def ti2v_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    """The tiny TI2V-5B (a text-and-image model) with one text-to-video clip made through the API."""
    server = StudioProcess(tmp_path_factory.mktemp("i2v") / "data", "tiny-ti2v-5b").start()
    with StudioClient(server.url) as client:
        assert client.generate("a red kite over the sea", seed=1, duration_s=1.0, steps=2).status == "succeeded"
    yield server
    server.stop()


def test_use_this_frame_then_generate_shows_the_start_image(page: Page, ti2v_server: StudioProcess) -> None:
    page.goto(ti2v_server.url)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery .thumbnail-item").first.click()
    expect(page.locator("#history-details")).to_contain_text("Video #1")

    page.locator("#use-frame-btn").click()
    # The Create page opens with the frame as its start image and the crop it will get shown before Generate
    expect(page.locator("#start-image img")).to_be_visible()
    expect(page.locator("#image-fit-note")).to_contain_text("image 160×96 → 160×96")
    expect(page.get_by_label("Prompt", exact=True)).to_have_value("a red kite over the sea")
    page.get_by_role("button", name="Generate").click()
    done = re.compile(r"^Done: video #2 \(job \d+\), seed \d+$")
    expect(page.locator("#job-status textarea")).to_have_value(done, timeout=120_000)

    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery .thumbnail-item").first.click()  # the newest: video #2
    expect(page.locator("#history-details")).to_contain_text("Video #2")
    expect(page.locator("#history-details")).to_contain_text("Start image:")
    expect(page.locator("#history-start-image img")).to_be_visible()


def test_a_seed_comparison_from_a_start_image_then_use_a_cells_frame(page: Page, ti2v_server: StudioProcess) -> None:
    page.goto(ti2v_server.url)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery .thumbnail-item").last.click()  # video #1, made from text
    page.locator("#use-frame-btn").click()
    expect(page.locator("#start-image img")).to_be_visible()
    # The size line under Aspect ratio is the size the image gives
    expect(page.locator("#resolved-size")).to_contain_text("160×96 · ")
    expect(page.locator("#resolved-size")).to_contain_text("follows the image")

    # Compare seeds from the Create page: every seed starts from the start image
    page.get_by_text("Compare seeds").click()
    page.get_by_label("List", exact=True).check()
    page.get_by_label("Seeds", exact=True).fill("1, 2")
    page.get_by_role("button", name="Generate comparison").click()
    expect(page.locator("#compare-status")).to_contain_text("2 of 2 videos ready", timeout=180_000)
    with StudioClient(ti2v_server.url) as client:
        cells = client.jobs(limit=2)  # the newest: the comparison's
    assert sorted(job.seed for job in cells) == [1, 2]
    assert len({job.raw["recipe"].get("start_image") for job in cells} - {None}) == 1, [j.raw for j in cells]

    # Use this frame on the Compare page: the chosen cell's frame is the Create page's start image
    page.get_by_label("Cell", exact=True).click()
    page.get_by_role("option", name="seed 2 · #", exact=False).click()
    page.locator("#compare-use-frame").click()
    expect(page.get_by_role("tab", name="Create")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#start-image img")).to_be_visible()
    expect(page.locator("#compare-status")).to_contain_text("is the Create page's start image")
