"""README screenshots of the Create, History, Compare and Models pages, light and dark, from the real studio.

    make screenshots        # or: HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Starts the studio on the tiny preview model in a temp folder, makes a few videos and a seed comparison through the
real UI and API, and has Debian's Chromium (Playwright, never `playwright install`) photograph each page at
1440×900. The images show the preview model's output (noise): the layout is what they document.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from playwright.sync_api import Page, expect, sync_playwright

from studio.client import StudioClient
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.server import StudioProcess

VIEWPORT = {"width": 1440, "height": 900}
PROMPTS = (
    ("A paper boat drifting down a rainy street, reflections of neon signs", 7),
    ("一只狐狸在雪地里奔跑，阳光明媚", 42),  # `make screenshots` installs a CJK font for Chromium
    ("A lighthouse on a cliff at night, waves crashing, slow aerial shot", 1234),
)
PLAYING = """
(selector) => {
  const videos = [...document.querySelectorAll(selector)];
  return videos.length > 0 && videos.every((video) => video.readyState >= 2);
}
"""


def make_history(server: StudioProcess) -> None:
    with StudioClient(server.url) as client:
        for prompt, seed in PROMPTS:
            assert client.generate(prompt, seed=seed, duration_s=2.0).status == "succeeded"


def shoot(page: Page, url: str, out: Path, theme: str) -> list[Path]:
    suffix = "?__theme=dark" if theme == "dark" else "?__theme=light"
    made = []
    # Create: a prompt typed, the last video shown
    page.goto(url + suffix)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_label("Prompt", exact=True).fill(PROMPTS[0][0])
    page.get_by_role("button", name="Generate").click()
    page.wait_for_function(PLAYING, arg="#result-video video", timeout=120_000)
    page.evaluate("window.scrollTo(0, 0)")  # the click scrolled: show the page as it opens
    made.append(out / f"create-{theme}.png")
    page.screenshot(path=str(made[-1]))
    # History: the grid of videos, the first one opened
    page.get_by_role("tab", name="History").click()
    expect(page.locator("#history-page")).to_contain_text("videos")
    page.locator("#history-gallery .thumbnail-item").first.click()
    expect(page.locator("#history-player video")).to_be_attached(timeout=60_000)
    expect(page.locator("#history-details .pending, #history-player .pending")).to_have_count(0, timeout=60_000)
    page.wait_for_function(
        "() => { const v = document.querySelector('#history-player video'); return v && v.readyState >= 2; }",
        timeout=60_000,
    )
    made.append(out / f"history-{theme}.png")
    page.screenshot(path=str(made[-1]))
    # Compare: three seeds of one recipe, side by side
    page.get_by_role("tab", name="Create").click()
    page.get_by_text("Compare seeds").click()
    count = page.get_by_role("spinbutton", name="number input for How many")
    count.fill("3")
    count.press("Tab")
    page.get_by_role("button", name="Generate comparison").click()
    page.wait_for_function("() => document.querySelectorAll('#compare-grid video').length === 3", timeout=120_000)
    page.wait_for_function(PLAYING, arg="#compare-grid video", timeout=240_000)
    made.append(out / f"compare-{theme}.png")
    page.screenshot(path=str(made[-1]))
    return made


def shoot_grid(page: Page, url: str, out: Path, theme: str) -> list[Path]:
    """Compare: a 2×2 X/Y grid (two wordings × guidance 3 and 6) built on the Create page, headers and all."""
    page.goto(url + ("?__theme=dark" if theme == "dark" else "?__theme=light"))
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_label("Prompt", exact=True).fill(PROMPTS[0][0])
    page.get_by_text("Compare settings (X/Y grid)").click()
    page.get_by_label("X values").fill("A paper boat drifting down a {rainy street|canal at dusk}")
    page.get_by_label("Y axis", exact=True).click()
    page.get_by_role("option", name="Guidance", exact=True).click()
    page.get_by_label("Y values").fill("3, 6")
    page.get_by_label("Y values").press("Tab")
    page.get_by_role("button", name="Generate grid").click()
    expect(page.locator("#compare-status")).to_contain_text("4 of 4 cells ready", timeout=240_000)
    page.wait_for_function(PLAYING, arg="#compare-grid video", timeout=240_000)
    made = [out / f"compare-grid-{theme}.png"]
    page.screenshot(path=str(made[-1]))
    return made


def shoot_models(page: Page, url: str, out: Path, theme: str) -> list[Path]:
    """Models: every model with what it needs and whether it is downloaded, the loaded one selected."""
    page.goto(url + ("?__theme=dark" if theme == "dark" else "?__theme=light"))
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    page.get_by_role("tab", name="Models").click()
    expect(page.locator("#models-table")).to_contain_text("loaded")
    expect(page.locator("#models-details textarea")).to_have_value(re.compile("random weights"))
    made = [out / f"models-{theme}.png"]
    page.screenshot(path=str(made[-1]))
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    parser.add_argument("--grid-only", action="store_true", help="only the X/Y comparison's screenshots")
    parser.add_argument("--models-only", action="store_true", help="only the Models page's screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    server = StudioProcess(Path(tempfile.mkdtemp(prefix="studio-shots-")) / "data", "tiny-1.3b").start()
    try:
        if not (args.grid_only or args.models_only):
            make_history(server)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for theme in ("light", "dark"):
                context = browser.new_context(viewport=VIEWPORT, color_scheme=theme)  # type: ignore[arg-type]
                page = context.new_page()
                page.set_default_timeout(60_000)
                shots = [] if args.grid_only or args.models_only else shoot(page, server.url, args.out, theme)
                if not args.models_only:
                    shots += shoot_grid(page, server.url, args.out, theme)
                if not args.grid_only:
                    shots += shoot_models(page, server.url, args.out, theme)
                for path in shots:
                    print(f"wrote {path}")
                context.close()
            browser.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
