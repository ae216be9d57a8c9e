"""An X/Y comparison in the browser: a 2×2 grid built on the Create page, played synced, kept, refined, exported."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from studio.client import StudioClient
from tests.server import StudioProcess

pytestmark = pytest.mark.browser

READY = """
(count) => {
  const videos = Array.from(document.querySelectorAll('#compare-grid video'));
  return videos.length === count && videos.every((v) => v.readyState >= 2);
}
"""
TIMES = "(vs) => vs.map((v) => v.currentTime)"


def pick(page: Page, label: str, option: str) -> None:
    page.get_by_label(label, exact=True).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_2x2_grid_plays_synced_then_keep_refine_and_export(page: Page, studio_server: StudioProcess) -> None:
    page.goto(studio_server.url)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_label("Prompt", exact=True).fill("a kite")
    page.get_by_text("Compare settings (X/Y grid)").click()
    page.get_by_label("X values").fill("a {red|blue} kite over the sea")
    pick(page, "Y axis", "Guidance")
    page.get_by_label("Y values").fill("3, 5")
    page.get_by_label("Y values").press("Tab")
    page.get_by_role("button", name="Generate grid").click()

    # 1. The grid: column headers (the prompts) and row headers (the guidance), four tiles once all are made
    grid = page.locator("#compare-grid")
    expect(grid.locator(".sync-head")).to_have_count(4)
    expect(grid).to_contain_text("guidance 5")
    expect(grid).to_contain_text("…blue…")  # the column header: the wording that differs
    expect(page.locator("#compare-status")).to_contain_text("4 of 4 cells ready", timeout=180_000)
    page.wait_for_function(READY, arg=4, timeout=60_000)

    # 2. One seek control drives every tile: each within 0.1 s of it after a seek, and while playing
    seek = grid.locator("[data-sync-seek]")
    seek.evaluate("(el) => { el.value = '0.6'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare-grid video')).every((v) => !v.seeking)"
    )
    times = grid.locator("video").evaluate_all(TIMES)
    assert len(times) == 4 and all(abs(t - 0.6) < 0.1 for t in times), times
    grid.locator("[data-sync-play]").click()
    page.wait_for_function(
        "() => Array.from(document.querySelectorAll('#compare-grid video'))"
        ".every((v) => !v.paused && v.currentTime > 0.7)"
    )
    times = grid.locator("video").evaluate_all(TIMES)
    assert max(times) - min(times) < 0.1, times
    grid.locator("[data-sync-play]").click()  # pause

    # 3. Keep one cell: a favorite in History
    pick(page, "Cell", "…blue… · guidance 5")
    page.get_by_role("button", name="Keep", exact=True).click()
    expect(page.locator("#compare-status")).to_contain_text("Kept video #")
    with StudioClient(studio_server.url) as client:
        kept = client.videos(favorite=True)["items"]
    assert [(v["prompt"], v["guidance"]) for v in kept] == [("a blue kite over the sea", 5.0)]

    # 4. Refine from it: the same seed and prompt, flow shift swept
    pick(page, "Refine: sweep", "Flow shift")
    page.get_by_label("Refine values").fill("3, 9")
    page.get_by_label("Refine values").press("Tab")
    page.get_by_role("button", name="Refine", exact=True).click()
    expect(page.locator("#compare-status")).to_contain_text("2 of 2 cells ready", timeout=180_000)
    expect(grid.locator("video")).to_have_count(2)
    expect(grid).to_contain_text("shift 9")

    # 5. Export the refined comparison: one MP4 in History, its recipe holding the axis
    page.get_by_role("button", name="Export comparison").click()
    expect(page.locator("#compare-status")).to_contain_text("Exported comparison #", timeout=120_000)
    with StudioClient(studio_server.url) as client:
        exported = next(v for v in client.videos()["items"] if v["kind"] == "comparison")
    assert exported["recipe"]["comparison"]["x"]["values"] == [3.0, 9.0]
    assert exported["seed"] == kept[0]["seed"] and exported["prompt"] == "a blue kite over the sea"
