"""History as a person meets it in the browser: paging stops at the last page, tiles tell videos apart, saving a
trim keeps the details on the original, downloads are named after the video, and a phone gets one column."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from studio.config import Settings
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from tests.fakes import PRESET, FakePipeline
from tests.helpers import add_copies, wait_final
from tests.server import StudioProcess

pytestmark = pytest.mark.browser

VIDEOS = 37  # one more than a page and a half (24 to a page): two pages


@pytest.fixture(scope="module")
def long_history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    """A studio whose history holds 37 videos: one generated (fake pipeline), 36 rows sharing copies of its MP4,
    written through the studio's services before the real server starts on the same data folder."""
    data_dir = tmp_path_factory.mktemp("history-ux") / "data"
    seeding = Studio(Settings(data_dir=data_dir), preset=PRESET, pipeline=FakePipeline())
    seeding.start()
    try:
        request = RecipeRequest(prompt="a red fox in the snow", seed=1234, duration_s=2.0, steps=2)
        first = wait_final(seeding, seeding.submit(request).id).video
        assert first is not None
        prompts = [f"clip {n} of a long history, a lighthouse at night with waves" for n in range(VIDEOS - 1)]
        add_copies(seeding, seeding.videos.file(first), prompts)
    finally:
        seeding.stop()
    server = StudioProcess(data_dir, "tiny-1.3b").start()
    yield server
    server.stop()


# How many lines of text a caption shows: its content height over its line height.
LINES_SHOWN = """
(el) => {
  const style = getComputedStyle(el);
  const inner = el.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  return Math.round(inner / parseFloat(style.lineHeight));
}
"""


def open_history(page: Page, server: StudioProcess) -> None:
    page.goto(server.url)
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-page")).to_contain_text("videos")


def test_older_stops_at_the_last_page(page: Page, long_history: StudioProcess) -> None:
    open_history(page, long_history)
    older = page.get_by_role("button", name="Older →")
    expect(page.locator("#history-page")).to_contain_text(f"{VIDEOS} videos · page 1 of 2")
    expect(page.get_by_role("button", name="← Newer")).to_be_disabled()
    older.click()
    expect(page.locator("#history-page")).to_contain_text("page 2 of 2")
    expect(page.locator("#history-gallery .thumbnail-item")).to_have_count(VIDEOS - 24)
    expect(older).to_be_disabled()  # no "page 3 of 2" with an empty grid


def test_tiles_show_prompt_seed_and_model_with_the_whole_caption_as_tooltip(
    page: Page, long_history: StudioProcess
) -> None:
    open_history(page, long_history)
    newest = page.locator("#history-gallery .caption-label").first
    expect(newest).to_contain_text(f"#{VIDEOS} · clip 35 of a long history")
    expect(newest).to_contain_text("seed 35 · tiny-1.3b")
    expect(newest).to_have_attribute(
        "title", f"#{VIDEOS} · clip 35 of a long history, a lighthouse at night with waves\nseed 35 · tiny-1.3b"
    )
    lines = newest.evaluate(LINES_SHOWN)
    assert lines == 2


def test_saving_a_trim_stays_on_the_original_and_offers_the_copy(page: Page, long_history: StudioProcess) -> None:
    open_history(page, long_history)
    page.get_by_role("button", name="Older →").click()
    expect(page.locator("#history-page")).to_contain_text("page 2 of 2")
    page.locator("#history-gallery .thumbnail-item").last.click()  # the oldest: video #1, the generated one
    expect(page.locator("#history-details")).to_contain_text("Video #1")
    page.get_by_text("Trim", exact=True).click()
    page.get_by_role("button", name="Save trimmed copy").click()
    expect(page.locator("#history-note")).to_contain_text(f"Saved as video #{VIDEOS + 1}.")
    expect(page.locator("#history-details")).to_contain_text("Video #1")  # still the original
    page.get_by_role("button", name=f"Open the copy (#{VIDEOS + 1})").click()
    expect(page.locator("#history-details")).to_contain_text("Trimmed from:")


def test_download_is_named_after_the_video(page: Page, long_history: StudioProcess) -> None:
    open_history(page, long_history)
    page.get_by_label("Search").fill("red fox")
    page.get_by_label("Search").press("Enter")
    page.locator("#history-gallery .thumbnail-item", has_text="#1 · a red fox").click()  # its trim may be there too
    expect(page.locator("#history-details")).to_contain_text("Video #1")
    with page.expect_download() as download:
        page.locator("#history-download").click()
    assert download.value.suggested_filename == "wan-0001-seed1234-a-red-fox-in-the.mp4"  # ≤ 40 characters


def test_details_stack_in_one_column_on_a_phone(browser: Browser, long_history: StudioProcess) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        open_history(page, long_history)
        page.locator("#history-gallery .thumbnail-item").first.click()
        expect(page.locator("#history-details")).to_contain_text("Video #")
        player = page.locator("#history-player").bounding_box()
        details = page.locator("#history-details").bounding_box()
        assert player is not None and details is not None
        assert details["y"] >= player["y"] + player["height"] - 1  # below the player, not beside it
        assert details["width"] > 300  # the phone's whole width, not a cramped half
    finally:
        context.close()
