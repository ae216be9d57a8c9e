"""A newcomer's first minutes on the Create page: every refusal is visible, Generate is on the first screen, the
banner is readable in dark mode, every click queues a job, and the page says where the person's jobs stand."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.server import StudioProcess

pytestmark = pytest.mark.browser

SEED_MESSAGE = "Seed must be a whole number from 0 to 4294967295"
DURATION_MESSAGE = re.compile(r"Duration must be from [\d.]+ to [\d.]+ s")

CONTRAST = """
(selector) => {
  const luminance = (css) => {
    const [r, g, b] = css.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const banner = document.querySelector(selector);
  const text = getComputedStyle(banner.querySelector('strong') || banner).color;
  const back = getComputedStyle(banner).backgroundColor;
  const [light, dark] = [luminance(text), luminance(back)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}
"""


def open_create(page: Page, server: StudioProcess, query: str = "") -> None:
    page.goto(server.url + query)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)  # the page is wired up


def click_until(page: Page, *seen: Locator) -> None:
    """Press Generate until all of `seen` show: headless Chromium on a loaded machine sometimes drops a first click,
    and Gradio 6.31 sometimes drops the validator's messages of a fresh page's first click (the toast still shows)."""
    page.get_by_role("button", name="Generate").click()
    try:
        for locator in seen:
            expect(locator).to_be_visible(timeout=15_000)
    except AssertionError:
        page.get_by_role("button", name="Generate").click()
        for locator in seen:
            expect(locator).to_be_visible()


def jobs(server: StudioProcess) -> list[dict[str, object]]:
    with urllib.request.urlopen(f"{server.url}/api/v1/jobs", timeout=10) as response:
        body = json.load(response)
    return list(body)


@pytest.mark.parametrize("typed", ["99999999999999999999", "4294967296", "abc"])
def test_a_bad_seed_is_refused_on_the_control_and_near_generate(
    page: Page, studio_server: StudioProcess, typed: str
) -> None:
    open_create(page, studio_server)
    before = len(jobs(studio_server))
    page.get_by_label("Prompt", exact=True).fill("A lighthouse in a storm")
    page.get_by_label("Random seed").uncheck()
    seed = page.locator("#seed input")
    expect(seed).to_be_editable()
    seed.fill("")
    seed.press_sequentially(typed)
    seed.press("Tab")
    toast = page.locator(".toast-body").filter(has_text=SEED_MESSAGE).first
    click_until(page, toast, page.locator("#seed").get_by_text("must be a whole number from 0 to 4294967295"))
    assert len(jobs(studio_server)) == before
    assert "Traceback" not in studio_server.log()


@pytest.mark.parametrize("typed", ["30", "0"])
def test_a_duration_out_of_range_is_refused_in_words(page: Page, studio_server: StudioProcess, typed: str) -> None:
    open_create(page, studio_server)
    page.get_by_label("Prompt", exact=True).fill("A lighthouse in a storm")
    box = page.locator("#duration input[type=number]")
    box.fill(typed)
    box.press("Tab")
    toast = page.locator(".toast-body").filter(has_text=DURATION_MESSAGE).first
    click_until(page, toast, page.locator("#duration").get_by_text("must be from").first)
    expect(page.locator(".error").filter(has_text=re.compile(r"^\s*Error\s*$"))).to_have_count(0)
    assert "Traceback" not in studio_server.log()


@pytest.mark.parametrize("width,height", [(1440, 900), (390, 844)])
def test_generate_is_on_the_first_screen(page: Page, studio_server: StudioProcess, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    open_create(page, studio_server)
    wanted = [page.get_by_label("Prompt", exact=True), page.get_by_role("button", name="Generate")]
    if width > 1000:  # on a wide screen the result and its status sit beside the prompt
        wanted += [page.locator("#result-video"), page.locator("#job-status")]
    for locator in wanted:
        box = locator.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{locator} is at {box} in {width}×{height}"
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{locator} is at {box} in {width}×{height}"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_preview_banner_is_readable(page: Page, studio_server: StudioProcess, theme: str) -> None:
    open_create(page, studio_server, f"?__theme={theme}")
    expect(page.locator("body.dark" if theme == "dark" else "body:not(.dark)")).to_be_attached()
    ratio = page.evaluate(CONTRAST, "#preview-banner")
    assert ratio >= 4.5, f"the preview banner's contrast is {ratio:.2f} in {theme} mode"


def test_the_first_look_shows_the_current_state(page: Page, studio_server: StudioProcess) -> None:
    # "loaded in" is in the ready line only (the loading line ends "…they start when it is ready").
    page.goto(studio_server.url)
    expect(page.locator("#model-status")).to_contain_text("loaded in", timeout=120_000)
    page.goto(studio_server.url)
    page.wait_for_selector("#model-status")
    # The line is computed per page load (a load event): it is the ready line as soon as that event answers. Gradio
    # renders the value it was built with until then, which a loaded machine can show for a moment (README).
    expect(page.locator("#model-status")).to_contain_text("loaded in", timeout=15_000)
    expect(page.locator("#model-status")).not_to_contain_text("Loading")
    expect(page.locator("#used-seed")).to_be_hidden()  # no "0" before any run


def test_clicks_during_a_run_each_queue_a_job_and_the_page_follows_them(
    page: Page, studio_server: StudioProcess
) -> None:
    open_create(page, studio_server)
    before = len(jobs(studio_server))
    page.get_by_label("Prompt", exact=True).fill("A kite over a beach")
    page.locator("#duration input[type=number]").fill("3")
    page.locator("#duration input[type=number]").press("Tab")
    generate = page.get_by_role("button", name="Generate")
    status = page.locator("#job-status textarea")
    generate.click()
    expect(status).not_to_have_value("")
    generate.click()
    generate.click()
    expect(status).to_have_value(re.compile(r"2 more of yours queued|ahead of you"))
    mine = jobs(studio_server)[: len(jobs(studio_server)) - before]  # newest first
    assert len(mine) == 3, mine
    assert len({job["seed"] for job in mine}) == 3  # Random seed is ticked: each click has its own seed
    expect(status).to_have_value(re.compile(r"^Done: video #\d+ \(job \d+\), seed \d+$"), timeout=240_000)


def test_ctrl_enter_generates_and_the_tab_title_shows_progress(page: Page, studio_server: StudioProcess) -> None:
    open_create(page, studio_server)
    prompt = page.get_by_label("Prompt", exact=True)
    prompt.fill("A snail crossing a leaf")
    # A clip long enough that its steps outlast the title's half-second look at the status line on a quiet machine
    page.locator("#duration input[type=number]").fill("4")
    page.locator("#duration input[type=number]").press("Tab")
    prompt.press("Control+Enter")
    page.wait_for_function("() => /^\\[\\d+\\/\\d+\\] Wan Studio$/.test(document.title)", timeout=120_000)
    expect(page.locator("#job-status textarea")).to_have_value(re.compile(r"^Done: video #"), timeout=240_000)
    expect(page).to_have_title("Wan Studio")
