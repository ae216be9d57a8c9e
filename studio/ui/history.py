"""The History page: every video, searchable, with a detail panel, actions, a trimmer and MP4 import.

Files are shown through Gradio's file route (only the media folder is served); paths come from rows, never
from what a person typed.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.domain.naming import plural, seed_title, tile_caption
from studio.services.studio import Studio
from studio.store.rows import Video
from studio.ui.continue_panel import ContinuePanel
from studio.ui.create import CreatePage
from studio.ui.errors import note, toast
from studio.ui.import_panel import ImportPanel
from studio.ui.share_panel import SharePanel
from studio.ui.trim_panel import TrimPanel
from studio.ui.video_details import describe_video

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 500  # as the API's `q`

PAGE_SIZE = 24
ALL_MODELS = "All models"
IMAGE_TO_VIDEO = "Image to video (any model)"  # a choice of the model filter: clips started from an image
# The tiles' captions (two lines, each cut with an ellipsis) and the details' one column on a phone.
HISTORY_CSS = Path(__file__).resolve().parents[2] / "assets" / "history.css"


def caption(video: Video) -> str:
    """A tile's two lines: "#12 · <prompt…>" and "seed 7 · <model>" (a comparison: its seeds)."""
    recipe = video.recipe or {}
    return tile_caption(video_id=video.id, seed=video.seed, model=video.model, prompt=video.prompt, recipe=recipe)


def pick_label(video: Video) -> str:
    """A video in the compare picker: "#12 · seed 7" (a comparison: "#12 · Comparison of seeds 1, 2, 3")."""
    return f"#{video.id} · {seed_title(video.seed, video.recipe or {})}"


class HistoryPage:
    def __init__(self, studio: Studio, create: CreatePage, tabs: gr.Tabs) -> None:
        self.studio = studio
        self.create = create
        self.tabs = tabs

    # -- handlers --------------------------------------------------------------------------------

    def page(self, query: str, model: str, favorites: bool, offset: int, comparisons: bool = False) -> dict[Any, Any]:
        """One page of the gallery, newest first; a page past the end (a stale click) shows the last one."""
        filters: dict[str, Any] = {
            "model": None if model in (None, ALL_MODELS, IMAGE_TO_VIDEO) else str(model)[:MAX_QUERY_CHARS],
            "favorite": True if favorites else None,
            "comparison": True if comparisons else None,
        }
        if model == IMAGE_TO_VIDEO:
            filters["image_to_video"] = True
        try:
            found = self.studio.videos.search(query or "", limit=PAGE_SIZE, offset=offset, **filters)
            pages = max(1, math.ceil(found.total / PAGE_SIZE))
            if offset >= pages * PAGE_SIZE:
                offset = (pages - 1) * PAGE_SIZE
                found = self.studio.videos.search(query or "", limit=PAGE_SIZE, offset=offset, **filters)
        except Refused as exc:
            raise toast(exc) from exc
        models = self.studio.videos.models()
        return {
            self.gallery: [(str(self.studio.videos.file(v)), caption(v)) for v in found.items],
            self.ids_state: [v.id for v in found.items],
            self.offset_state: offset,
            self.page_label: f"{plural(found.total, 'video')} · page {offset // PAGE_SIZE + 1} of {pages}",
            self.prev_btn: gr.update(interactive=offset > 0),
            self.next_btn: gr.update(interactive=offset + PAGE_SIZE < found.total),
            self.model_filter: gr.update(choices=[ALL_MODELS, IMAGE_TO_VIDEO, *models]),
            self.compare_pick: gr.update(choices=[(pick_label(v), v.id) for v in found.items]),
        }

    def search(self, query: str, model: str, favorites: bool, comparisons: bool = False) -> dict[Any, Any]:
        return self.page(query, model, favorites, 0, comparisons)

    def turn(
        self, query: str, model: str, favorites: bool, offset: int, step: int, comparisons: bool = False
    ) -> dict[Any, Any]:
        return self.page(query, model, favorites, max(0, offset + step * PAGE_SIZE), comparisons)

    def select(self, ids: list[int], event: gr.SelectData) -> dict[Any, Any]:
        index = event.index if isinstance(event.index, int) else event.index[0]
        return self.show(ids[index] if 0 <= index < len(ids) else None)

    def show(self, video_id: int | None, message: str = "") -> dict[Any, Any]:
        """Fill the detail panel (or empty it when the video is gone)."""
        if video_id is None:
            return {self.selected_state: None, self.detail_box: gr.update(visible=False), self.action_note: message}
        try:
            video = self.studio.videos.get(video_id)
        except Refused as exc:
            return {self.selected_state: None, self.detail_box: gr.update(visible=False), self.action_note: note(exc)}
        end = round(video.num_frames / video.fps, 3)
        return {
            self.selected_state: video.id,
            self.detail_box: gr.update(visible=True),
            self.player: str(self.studio.videos.file(video)),
            self.details: describe_video(video),
            self.favorite_btn: gr.update(value="Unfavorite" if video.favorite else "Favorite"),
            self.download_btn: gr.update(value=str(self.studio.videos.download_file(video))),  # its name: naming
            **self.trim_panel.reset(video.id, end),
            **self.continue_panel.reset(video.recipe or {}),
            self.confirm_delete_btn: gr.update(visible=False),
            self.action_note: message,
        }

    def toggle_favorite(self, video_id: int | None) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        video = self.studio.videos.set_favorite(video_id, not self.studio.videos.get(video_id).favorite)
        return self.show(video_id, "Added to favorites." if video.favorite else "Removed from favorites.")

    def ask_delete(self, video_id: int | None) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        return {
            self.confirm_delete_btn: gr.update(visible=True),
            self.action_note: f"Delete video #{video_id} with its file and poster? Press **Confirm delete**.",
        }

    def delete(
        self, video_id: int | None, query: str, model: str, favorites: bool, comparisons: bool, offset: int
    ) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        self.studio.videos.delete(video_id)
        shown = self.page(query, model, favorites, offset, comparisons)
        return {**shown, **self.show(None, f"Deleted video #{video_id}.")}

    def reuse(self, video_id: int | None, seed: str) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        recipe = dict(self.studio.videos.get(video_id).recipe)
        return {**self.create.fill_from_recipe(recipe, seed), self.tabs: gr.Tabs(selected="create")}

    def use_frame_on_create(self, video_id: int, image_path: str) -> dict[Any, Any]:
        """The Create page with the video's settings and a frame of it as the start image (Use this frame)."""
        recipe = dict(self.studio.videos.get(video_id).recipe)
        return {
            **self.create.fill_from_recipe(recipe, "same"),
            self.create.image_panel.start_box: image_path,
            self.create.image_panel.accordion: gr.Accordion(open=True),
            self.tabs: gr.Tabs(selected="create"),
        }

    # -- layout ----------------------------------------------------------------------------------

    def build(self) -> None:
        with gr.Row():
            self.search_box = gr.Textbox(
                label="Search", placeholder="words from the prompt, 中文也可以", scale=3, max_length=MAX_QUERY_CHARS
            )
            self.model_filter = gr.Dropdown(label="Model", choices=[ALL_MODELS], value=ALL_MODELS, scale=1)
            self.favorites_box = gr.Checkbox(label="Favorites only", value=False, scale=1)
            self.comparisons_box = gr.Checkbox(label="Comparisons only", value=False, scale=1)
        self.gallery = gr.Gallery(
            label="History", columns=6, height=460, fit_columns=False, allow_preview=False, elem_id="history-gallery"
        )
        with gr.Row():
            self.prev_btn = gr.Button("← Newer", size="sm")
            self.page_label = gr.Markdown("", elem_id="history-page")
            self.next_btn = gr.Button("Older →", size="sm")
        self.action_note = gr.Markdown("", elem_id="history-note")
        with gr.Column(visible=False) as self.detail_box:
            with gr.Row(elem_id="history-detail-row"):  # one column on a phone (assets/history.css)
                self.player = gr.Video(label="Video", interactive=False, height=420, elem_id="history-player")
                self.details = gr.Markdown("", elem_id="history-details", latex_delimiters=[])
            with gr.Row():
                self.favorite_btn = gr.Button("Favorite", size="sm")
                self.download_btn = gr.DownloadButton("Download", size="sm", elem_id="history-download")
                self.reuse_btn = gr.Button("Reuse settings", size="sm")
                self.reuse_new_btn = gr.Button("Reuse with new seed", size="sm")
                self.seed_plus_btn = gr.Button("Seed + 1", size="sm")
                self.reopen_btn = gr.Button("Open its comparison", size="sm")  # wired by ui.compare_grid
                self.speeds_btn = gr.Button("Balanced vs Quality", size="sm", elem_id="history-speeds")  # the same
                self.delete_btn = gr.Button("Delete", size="sm", variant="stop")
                self.confirm_delete_btn = gr.Button("Confirm delete", size="sm", variant="stop", visible=False)
            self.continue_panel = ContinuePanel(self.studio, self.use_frame_on_create)
            self.continue_panel.build()
            self.trim_panel = TrimPanel(self.studio, self.show)
            self.trim_panel.build(self.action_note)
            self.share_panel = SharePanel(self.studio)
            self.share_panel.build()
        with gr.Accordion("Compare videos side by side", open=False):
            self.compare_pick = gr.Dropdown(label="Videos to compare (2–4)", multiselect=True, choices=[])
            self.compare_btn = gr.Button("Compare selected", size="sm")
        self.import_panel = ImportPanel(self.studio, self.create, self.tabs)
        self.import_panel.build()
        self.ids_state = gr.State([])
        self.offset_state = gr.State(0)
        self.selected_state = gr.State(None)

    # -- wiring ----------------------------------------------------------------------------------

    def wire(self, demo: gr.Blocks, history_tab: gr.Tab) -> None:
        filters = [self.search_box, self.model_filter, self.favorites_box, self.comparisons_box]
        page_outputs = [
            self.gallery,
            self.ids_state,
            self.offset_state,
            self.page_label,
            self.prev_btn,
            self.next_btn,
            self.model_filter,
            self.compare_pick,
        ]
        detail_outputs = [
            self.selected_state,
            self.detail_box,
            self.player,
            self.details,
            self.favorite_btn,
            self.download_btn,
            *self.trim_panel.outputs,
            *self.continue_panel.outputs,
            self.confirm_delete_btn,
            self.action_note,
        ]
        private: dict[str, Any] = {"api_visibility": "private"}
        gr.on(
            [
                self.search_box.submit,
                self.model_filter.input,
                self.favorites_box.input,
                self.comparisons_box.input,
                history_tab.select,
            ],
            self.search,
            inputs=filters,
            outputs=page_outputs,
            **private,
        )
        self.prev_btn.click(
            lambda q, m, f, c, o: self.turn(q, m, f, o, -1, c),
            inputs=[*filters, self.offset_state],
            outputs=page_outputs,
            **private,
        )
        self.next_btn.click(
            lambda q, m, f, c, o: self.turn(q, m, f, o, 1, c),
            inputs=[*filters, self.offset_state],
            outputs=page_outputs,
            **private,
        )
        demo.load(None, js=HISTORY_TITLES_JS)
        self.gallery.select(self.select, inputs=self.ids_state, outputs=detail_outputs, **private)
        self.favorite_btn.click(self.toggle_favorite, inputs=self.selected_state, outputs=detail_outputs, **private)
        self.delete_btn.click(
            self.ask_delete, inputs=self.selected_state, outputs=[self.confirm_delete_btn, self.action_note], **private
        )
        self.confirm_delete_btn.click(
            self.delete,
            inputs=[self.selected_state, *filters, self.offset_state],
            outputs=[*page_outputs, *detail_outputs],
            **private,
        )
        fill_outputs = [*self.create.fill_targets, self.tabs, self.action_note]
        for button, seed in ((self.reuse_btn, "same"), (self.reuse_new_btn, "new"), (self.seed_plus_btn, "plus1")):
            button.click(
                lambda vid, seed=seed: self.reuse(vid, seed),
                inputs=self.selected_state,
                outputs=fill_outputs,
                **private,
            )
        self.trim_panel.wire(self.selected_state, detail_outputs)
        self.continue_panel.wire(
            self.selected_state,
            [
                *self.create.fill_targets,
                self.create.image_panel.start_box,
                self.create.image_panel.accordion,
                self.tabs,
            ],
        )
        self.share_panel.wire(self.selected_state)
        self.import_panel.wire()


# Once per page load: each tile's caption becomes its tooltip too (the CSS cuts the caption; the tooltip has all of
# it). The History tab is drawn only when first opened, so this watches the page, once per animation frame at most.
HISTORY_TITLES_JS = """
() => {
  if (window.historyTitles) return;
  let queued = false;
  const titled = () => {
    queued = false;
    document.querySelectorAll('#history-gallery .caption-label').forEach((label) => {
      if (label.title !== label.textContent) label.title = label.textContent;
    });
  };
  window.historyTitles = new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(titled); }
  });
  window.historyTitles.observe(document.body, {childList: true, subtree: true, characterData: true});
}
"""
