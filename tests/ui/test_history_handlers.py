"""The History and Compare handlers called directly on a real Studio (fake pipeline): paging, captions, messages,
downloads and trims as a person meets them (tests/browser/test_history_ux.py drives the same in a page)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import gradio as gr
import pytest
from gradio.utils import get_upload_folder

from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.store.rows import Video
from studio.ui.compare import ComparePage
from studio.ui.create import CreatePage
from studio.ui.history import PAGE_SIZE, HistoryPage
from tests.helpers import add_copies, wait_final


@pytest.fixture
def pages(studio: Studio) -> tuple[HistoryPage, ComparePage]:
    """The History and Compare pages built in one Blocks, as studio.ui.build_ui lays them out."""
    with gr.Blocks(), gr.Tabs() as tabs:
        create = CreatePage(studio)
        create.build(gr.Blocks())
        compare = ComparePage(studio, create, tabs)
        history = HistoryPage(studio, create, tabs)
        history.build()
        compare.build()
    return history, compare


def generate(studio: Studio, prompt: str = "a red fox in the snow", seed: int = 1234) -> Video:
    view = wait_final(studio, studio.submit(RecipeRequest(prompt=prompt, seed=seed, duration_s=1.0, steps=2)).id)
    assert view.video is not None
    return view.video


@pytest.fixture
def long_history(studio: Studio) -> Iterator[list[Video]]:
    first = generate(studio)
    prompts = [f"clip number {n} of a long history" for n in range(36)]
    yield [first, *add_copies(studio, studio.videos.file(first), prompts)]


def test_paging_stops_at_the_last_page(pages: tuple[HistoryPage, ComparePage], long_history: list[Video]) -> None:
    history, _ = pages
    shown = history.search("", "All models", False)
    assert shown[history.page_label] == "37 videos · page 1 of 2"
    assert shown[history.prev_btn]["interactive"] is False and shown[history.next_btn]["interactive"] is True
    last = history.turn("", "All models", False, shown[history.offset_state], 1)
    assert last[history.page_label] == "37 videos · page 2 of 2" and len(last[history.gallery]) == 37 - PAGE_SIZE
    assert last[history.next_btn]["interactive"] is False and last[history.prev_btn]["interactive"] is True
    past = history.turn("", "All models", False, last[history.offset_state], 1)  # a stale click on "Older →"
    assert past[history.page_label] == "37 videos · page 2 of 2" and len(past[history.gallery]) == 37 - PAGE_SIZE


def test_counts_say_one_video_not_one_videos(pages: tuple[HistoryPage, ComparePage], studio: Studio) -> None:
    history, _ = pages
    assert history.search("", "All models", False)[history.page_label] == "0 videos · page 1 of 1"
    generate(studio)
    assert history.search("", "All models", False)[history.page_label] == "1 video · page 1 of 1"


def test_tiles_show_the_start_of_the_prompt_seed_and_model(
    pages: tuple[HistoryPage, ComparePage], studio: Studio
) -> None:
    history, _ = pages
    prompt = "a red fox in the snow at dawn, cinematic, long lens, soft light"
    video = generate(studio, prompt=prompt, seed=7)
    [(_, caption)] = history.search("", "All models", False)[history.gallery]
    assert caption == f"#{video.id} · {prompt}\nseed 7 · {video.model}"


def test_an_exported_comparison_is_titled_by_its_seeds(pages: tuple[HistoryPage, ComparePage], studio: Studio) -> None:
    history, compare = pages
    recipe = RecipeRequest(prompt="a kite", duration_s=0.5, steps=2)
    group_id, views = studio.compare(recipe, mode="list", seeds="1, 2, 3")
    for view in views:
        wait_final(studio, view.id)
    exported = compare.export(group_id, [])
    assert "Exported comparison" in exported[compare.status_box]
    newest = history.search("", "All models", False)[history.gallery][0][1]
    assert "Comparison of seeds 1, 2, 3" in newest and "seed 1 ·" not in newest
    video = studio.videos.search("", limit=1).items[0]
    assert (video.width, video.height) == (3 * views[0].recipe.width, views[0].recipe.height)  # 1×3, as on the page


def test_download_is_named_after_the_video(pages: tuple[HistoryPage, ComparePage], studio: Studio) -> None:
    history, _ = pages
    video = generate(studio, prompt="Red fox", seed=1234)
    shown = history.show(video.id)
    path = Path(shown[history.download_btn]["value"])
    assert path.name == f"wan-{video.id:04d}-seed1234-red-fox.mp4"
    assert path.read_bytes() == studio.videos.file(video).read_bytes()
    assert path.is_relative_to(studio.media_dir)  # the one folder Gradio serves
    studio.videos.delete(video.id)
    assert not path.exists()  # the named link goes with the video


def test_saving_a_trim_stays_on_the_original_and_offers_the_copy(
    pages: tuple[HistoryPage, ComparePage], studio: Studio
) -> None:
    history, _ = pages
    video = generate(studio)
    saved = history.trim_panel.save_trim(video.id, 0.25, 0.75, False)
    copy_id = video.id + 1
    assert saved[history.selected_state] == video.id and f"Video #{video.id}" in saved[history.details]
    assert saved[history.action_note] == f"Saved as video #{copy_id}."
    assert saved[history.trim_panel.open_copy_btn]["visible"] is True
    assert saved[history.trim_panel.copy_state] == copy_id
    opened = history.trim_panel.open_copy(copy_id)
    assert opened[history.selected_state] == copy_id and "Trimmed from" in opened[history.details]


def test_a_bad_trim_range_is_said_in_words(pages: tuple[HistoryPage, ComparePage], studio: Studio) -> None:
    history, _ = pages
    video = generate(studio)
    message = history.trim_panel.trim_summary(video.id, 0.5, 0.25).replace("\\", "")  # Markdown-escaped
    assert "End must be after start (0.25 s ≤ 0.5 s)" in message


def test_a_corrupt_mp4_import_gets_a_short_reason_without_paths(
    pages: tuple[HistoryPage, ComparePage],
) -> None:
    history, _ = pages
    upload = Path(get_upload_folder()) / "test-history-ux" / "broken.mp4"
    upload.parent.mkdir(parents=True, exist_ok=True)
    upload.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(2000))
    try:
        message = history.import_panel.import_file(str(upload))[history.import_panel.import_note].replace("\\", "")
    finally:
        shutil.rmtree(upload.parent)
    assert "This file is not a playable MP4 made by Wan Studio (" in message
    assert "/" not in message and "ffmpeg" not in message.lower() and "Error opening" not in message
