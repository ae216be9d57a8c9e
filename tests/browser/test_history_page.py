"""History in the browser: it survives a restart, search narrows it, trimming makes a playable child, and the
compare grid keeps every tile at the same time after a seek."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.server import StudioProcess

pytestmark = pytest.mark.browser

PLAYABLE = """
(selector) => {
  const video = document.querySelector(selector);
  if (!video || video.readyState < 2) return false;
  video.muted = true;
  if (video.paused) video.play();
  return video.currentTime > 0;
}
"""


@pytest.fixture(scope="module")
def library_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    """A studio with three videos made through the API, then restarted: the history must still be there."""
    server = StudioProcess(tmp_path_factory.mktemp("history") / "data", "tiny-1.3b").start()
    with StudioClient(server.url) as client:
        for prompt, seed in (("a red fox in the snow", 1), ("一只狐狸在雪地里奔跑", 2), ("a lighthouse at night", 3)):
            assert client.generate(prompt, seed=seed, duration_s=2.0).status == "succeeded"
    server.stop()
    server.start()
    yield server
    server.stop()


def open_history(page: Page, server: StudioProcess) -> None:
    page.goto(server.url)
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-page")).to_contain_text("videos")


def test_history_survives_a_restart_and_search_narrows_it(page: Page, library_server: StudioProcess) -> None:
    open_history(page, library_server)
    gallery = page.locator("#history-gallery .thumbnail-item")
    expect(gallery).to_have_count(3)
    expect(page.locator("#history-page")).to_contain_text("3 videos")
    page.get_by_label("Search").fill("狐狸")
    page.get_by_label("Search").press("Enter")
    expect(page.locator("#history-page")).to_contain_text("1 video ·")
    expect(gallery).to_have_count(1)
    expect(page.locator("#history-gallery")).to_contain_text("seed 2")
    page.get_by_label("Search").fill("fox snow")
    page.get_by_label("Search").press("Enter")
    expect(gallery).to_have_count(1)
    expect(page.locator("#history-gallery")).to_contain_text("seed 1")


def test_trimming_saves_a_playable_child(page: Page, library_server: StudioProcess) -> None:
    open_history(page, library_server)
    page.locator("#history-gallery .thumbnail-item").last.click()  # the oldest: video #1
    expect(page.locator("#history-details")).to_contain_text("Video #1")
    page.get_by_text("Trim", exact=True).click()
    start = page.get_by_label("Start (s)").first
    start.fill("0.5")
    start.press("Tab")  # leaving the box commits the value
    expect(page.locator("#trim-info")).to_contain_text("Frames 8–")
    end = page.get_by_label("End (s)").first
    end.fill("1.5")
    end.press("Tab")
    expect(page.locator("#trim-info")).to_contain_text("16 frames")
    page.get_by_role("button", name="Save trimmed copy").click()
    expect(page.locator("#history-note")).to_contain_text("Saved as video #4.")
    expect(page.locator("#history-details")).to_contain_text("Video #1")  # the details stay on the original
    page.get_by_role("button", name="Open the copy (#4)").click()
    expect(page.locator("#history-details")).to_contain_text("Trimmed from:")
    page.wait_for_function(PLAYABLE, arg="#history-player video", timeout=60_000)
    with StudioClient(library_server.url) as client:
        child = client.videos(q="red fox")["items"][0]
    assert child["parent_id"] == 1 and child["num_frames"] == 16


SYNCED = """
() => {
  const videos = Array.from(document.querySelectorAll('#compare-grid video'));
  return videos.length >= 2 && videos.every((v) => v.readyState >= 2);
}
"""


def test_compare_grid_seeks_every_tile_together(page: Page, library_server: StudioProcess) -> None:
    open_history(page, library_server)
    page.get_by_text("Compare videos side by side").click()
    picker = page.get_by_label("Videos to compare (2–4)")
    for label in ("#3 · seed 3", "#2 · seed 2", "#1 · seed 1"):
        picker.click()
        page.get_by_role("option", name=label).click()
    page.get_by_role("button", name="Compare selected").click()
    expect(page.locator("#compare-grid video")).to_have_count(3)
    page.wait_for_function(SYNCED, timeout=60_000)
    seek = page.locator("#compare-grid [data-sync-seek]")
    seek.evaluate("(el) => { el.value = '1.2'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare-grid video')).every((v) => !v.seeking)"
    )
    times = page.locator("#compare-grid video").evaluate_all("(vs) => vs.map((v) => v.currentTime)")
    assert len(times) == 3 and max(times) - min(times) < 0.1 and abs(times[0] - 1.2) < 0.1
    page.locator("#compare-grid [data-sync-play]").click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare-grid video'))"
        ".every((v) => !v.paused && v.currentTime > 1.3)"
    )
    times = page.locator("#compare-grid video").evaluate_all("(vs) => vs.map((v) => v.currentTime)")
    assert max(times) - min(times) < 0.1
