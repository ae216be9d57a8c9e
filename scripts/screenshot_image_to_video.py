"""README screenshot of image to video: History's Use this frame put on the Create page, its crop shown, generated.

    HF_HUB_OFFLINE=1 .venv/bin/python scripts/screenshot_image_to_video.py [--out docs/screenshots]

Starts the studio on the tiny TI2V-5B (a text-and-image model) in a temp folder, makes one clip through the API, then
has Debian's Chromium take a frame of it in History, generate from it and photograph the Create page at 1440×900.
The images are the preview model's noise: the layout is what it documents.
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

from playwright.sync_api import expect, sync_playwright

from studio.client import StudioClient
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.server import StudioProcess

PROMPT = "A red kite over the sea at sunset, slow camera pan"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        server = StudioProcess(Path(folder) / "data", "tiny-ti2v-5b").start()
        try:
            with StudioClient(server.url) as client:
                assert client.generate(PROMPT, seed=7, duration_s=2.0).status == "succeeded"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(server.url + "?__theme=light")
                expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
                page.get_by_role("tab", name="History").click()
                page.locator("#history-gallery .thumbnail-item").first.click()
                page.locator("#use-frame-btn").click()
                expect(page.locator("#image-fit-note")).to_contain_text("image 160×96", timeout=60_000)
                page.get_by_role("button", name="Generate").click()
                done = re.compile(r"^Done: video #2")
                expect(page.locator("#job-status textarea")).to_have_value(done, timeout=120_000)
                page.locator("#start-image-panel").scroll_into_view_if_needed()
                page.screenshot(path=str(out / "image-to-video-light.png"))
                print(out / "image-to-video-light.png")
                browser.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
