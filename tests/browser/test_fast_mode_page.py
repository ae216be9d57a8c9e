"""Fast mode in the browser: pick Speed → Fast, generate, and find the mode, LoRA and precision in History."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from safetensors.torch import save_file

from tests.engine.test_lora import _diffusers_format, _lora_matrices, _wan_format
from tests.server import StudioProcess

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def fast_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    """tiny-a14b with a random fast LoRA pair made here (Wan format for the high-noise expert, diffusers' for the
    low-noise one), given by the same flags a user passes."""
    folder = tmp_path_factory.mktemp("fast")
    save_file(_wan_format(_lora_matrices(1)), folder / "high.safetensors")
    save_file(_diffusers_format(_lora_matrices(2)), folder / "low.safetensors")
    flags = ["--fast-lora", str(folder / "high.safetensors"), "--fast-lora-2", str(folder / "low.safetensors")]
    server = StudioProcess(folder / "data", "tiny-a14b", *flags).start()
    yield server
    server.stop()


def test_fast_mode_from_the_create_page_to_the_history_detail(page: Page, fast_server: StudioProcess) -> None:
    page.goto(fast_server.url)
    expect(page.locator("#model-status")).to_contain_text("ready", timeout=120_000)
    expect(page.locator("#model-status")).to_contain_text("cpu · fp32 · memory: resident")  # how it runs

    page.get_by_label("Prompt", exact=True).fill("A red fox running through snow")
    page.get_by_label("Prompt", exact=True).press("Tab")
    page.get_by_label("Fast").check()
    page.get_by_text("Advanced").click()
    expect(page.get_by_label("Steps").first).to_have_value("4")  # fast mode's own sampling fills in
    page.get_by_role("button", name="Generate").click()
    done = re.compile(r"^Done: video #\d+ \(job \d+\), seed \d+$")
    try:
        expect(page.locator("#job-status textarea")).to_have_value(done, timeout=20_000)
    except AssertionError:  # headless Chromium on a loaded machine sometimes drops a click on a fresh page
        if page.locator("#job-status textarea").input_value() == "":
            page.get_by_role("button", name="Generate").click()
        expect(page.locator("#job-status textarea")).to_have_value(done, timeout=120_000)

    page.get_by_role("tab", name="History").click()
    page.locator("#history-gallery .thumbnail-item").first.click()
    details = page.locator("#history-details")
    expect(details).to_contain_text("Steps: 4")
    expect(details).to_contain_text("Speed: fast (")
    expect(details).to_contain_text("high.safetensors")
    expect(details).to_contain_text("Weights: fp32")
