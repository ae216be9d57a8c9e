"""A person's first minute: type a prompt, choose 9:16, press Generate, watch a portrait clip play."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.server import StudioProcess

pytestmark = pytest.mark.browser

PORTRAIT_AND_PLAYING = """
(selector) => {
  const video = document.querySelector(selector);
  if (!video || video.readyState < 2) return false;
  video.muted = true;
  if (video.paused) video.play();
  return video.videoHeight > video.videoWidth && video.currentTime > 0;
}
"""


@pytest.mark.parametrize("where", ["studio_server", "fleet_server"])
def test_generate_a_portrait_clip_and_find_it_after_reload(
    page: Page, where: str, request: pytest.FixtureRequest
) -> None:
    # The embedded studio, and a server of the fleet whose worker is another process and whose videos are in S3.
    studio_server: StudioProcess = request.getfixturevalue(where)
    page.goto(studio_server.url)
    expect(page.locator("#preview-banner")).to_contain_text("random-weight")
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)

    page.get_by_label("Prompt", exact=True).fill("A paper boat drifting down a rainy street, 雨中的纸船")
    page.get_by_label("9:16").check()
    expect(page.locator("#resolved-size")).to_contain_text("96×160")
    page.get_by_role("button", name="Generate").click()

    page.wait_for_function(PORTRAIT_AND_PLAYING, arg="#result-video video", timeout=120_000)
    done = re.compile(r"^Done: video #\d+ \(job \d+\), seed \d+$")
    expect(page.locator("#job-status textarea")).to_have_value(done)
    seed = page.locator("#used-seed input").input_value()
    assert int(seed) >= 0
    expect(page.locator("#job-status textarea")).to_have_value(re.compile(f"seed {seed}$"))

    page.reload()
    strip = page.locator("#recent-strip")
    expect(strip).to_contain_text(f"seed {seed}")
    expect(strip.locator("video").first).to_be_attached()


def test_an_empty_prompt_is_refused_on_the_control(page: Page, studio_server: StudioProcess) -> None:
    page.goto(studio_server.url)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)  # the page is wired up
    page.get_by_label("Prompt", exact=True).fill("   ")
    page.get_by_label("Prompt", exact=True).press("Tab")  # commit the value before the click reads it
    message = page.get_by_text("is empty; describe the video you want")
    page.get_by_role("button", name="Generate").click()
    try:
        expect(message).to_be_visible(timeout=15_000)
    except AssertionError:  # headless Chromium on a loaded machine sometimes drops a click on a fresh page
        page.get_by_role("button", name="Generate").click()
        expect(message).to_be_visible(timeout=30_000)
    expect(page.locator("#job-status textarea")).to_have_value("")
