"""The History page: every video, searchable, with a detail panel, actions, a trimmer and MP4 import.

Files are shown through Gradio's file route (only the media folder is served); paths come from rows, never
from what a person typed.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.services.studio import Studio
from studio.ui.create import CreatePage
from studio.ui.errors import note, toast
from studio.ui.import_panel import ImportPanel
from studio.ui.share_panel import SharePanel
from studio.ui.status import owner_of
from studio.ui.video_details import describe_video

log = logging.getLogger(__name__)
MAX_QUERY_CHARS = 500  # as the API's `q`

PAGE_SIZE = 24
ALL_MODELS = "All models"


class HistoryPage:
    def __init__(self, studio: Studio, create: CreatePage, tabs: gr.Tabs) -> None:
        self.studio = studio
        self.create = create
        self.tabs = tabs

    # -- handlers --------------------------------------------------------------------------------

    def page(self, query: str, model: str, favorites: bool, offset: int) -> dict[Any, Any]:
        """One page of the gallery, newest first."""
        try:
            found = self.studio.videos.search(
                query or "",
                model=None if model in (None, ALL_MODELS) else str(model)[:MAX_QUERY_CHARS],
                favorite=True if favorites else None,
                limit=PAGE_SIZE,
                offset=offset,
            )
        except Refused as exc:
            raise toast(exc) from exc
        models = self.studio.videos.models()
        pages = max(1, math.ceil(found.total / PAGE_SIZE))
        items = [(str(self.studio.videos.file(v)), f"#{v.id} · seed {v.seed} · {v.prompt[:50]}") for v in found.items]
        return {
            self.gallery: items,
            self.ids_state: [v.id for v in found.items],
            self.offset_state: offset,
            self.page_label: f"{found.total} videos · page {offset // PAGE_SIZE + 1} of {pages}",
            self.model_filter: gr.update(choices=[ALL_MODELS, *models]),
            self.compare_pick: gr.update(choices=[(f"#{v.id} · seed {v.seed}", v.id) for v in found.items]),
        }

    def search(self, query: str, model: str, favorites: bool) -> dict[Any, Any]:
        return self.page(query, model, favorites, 0)

    def turn(self, query: str, model: str, favorites: bool, offset: int, step: int) -> dict[Any, Any]:
        return self.page(query, model, favorites, max(0, offset + step * PAGE_SIZE))

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
        path = self.studio.videos.file(video)
        end = round(video.num_frames / video.fps, 3)
        return {
            self.selected_state: video.id,
            self.detail_box: gr.update(visible=True),
            self.player: str(path),
            self.details: describe_video(video),
            self.favorite_btn: gr.update(value="Unfavorite" if video.favorite else "Favorite"),
            self.download_btn: gr.update(value=str(path)),
            self.trim_start: gr.update(maximum=end, value=0),
            self.trim_end: gr.update(maximum=end, value=end),
            self.trim_info: self.trim_summary(video.id, 0, end),
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

    def delete(self, video_id: int | None, query: str, model: str, favorites: bool, offset: int) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        self.studio.videos.delete(video_id)
        return {**self.page(query, model, favorites, offset), **self.show(None, f"Deleted video #{video_id}.")}

    def reuse(self, video_id: int | None, seed: str) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        recipe = dict(self.studio.videos.get(video_id).recipe)
        return {**self.create.fill_from_recipe(recipe, seed), self.tabs: gr.Tabs(selected="create")}

    def trim_summary(self, video_id: int | None, start_s: float, end_s: float) -> str:
        if video_id is None:
            return ""
        try:
            plan = self.studio.videos.plan_trim(video_id, start_s=start_s, end_s=end_s)
        except Refused as exc:
            return note(exc)
        total = self.studio.videos.get(video_id).num_frames
        return (
            f"Frames {plan.start_frame}–{plan.end_frame - 1} of {total} · {plan.num_frames} frames · "
            f"{plan.start_s:.3f}–{plan.end_s:.3f} s"
        )

    def save_trim(
        self, video_id: int | None, start_s: float, end_s: float, lossless: bool, request: gr.Request | None = None
    ) -> dict[Any, Any]:
        if video_id is None:
            return {self.action_note: "Select a video first."}
        try:
            owner = owner_of(request)
            child = self.studio.videos.trim(video_id, start_s=start_s, end_s=end_s, lossless=lossless, owner=owner)
        except Refused as exc:
            return {self.action_note: note(exc)}
        except RuntimeError:  # ffmpeg failed: the log has its words; the page gets no server paths
            log.exception("trimming video %s failed", video_id)
            return {self.action_note: "⚠️ The trim failed on the server (see its log); nothing was saved."}
        landed = ""
        trim = child.recipe.get("trim", {})
        if lossless and trim:
            landed = f" The lossless cut landed at {trim['actual_start_s']:.3f}–{trim['actual_end_s']:.3f} s."
        return self.show(child.id, f"Saved trimmed copy #{child.id} of #{video_id}.{landed}")

    # -- layout ----------------------------------------------------------------------------------

    def build(self) -> None:
        with gr.Row():
            self.search_box = gr.Textbox(
                label="Search", placeholder="words from the prompt, 中文也可以", scale=3, max_length=MAX_QUERY_CHARS
            )
            self.model_filter = gr.Dropdown(label="Model", choices=[ALL_MODELS], value=ALL_MODELS, scale=1)
            self.favorites_box = gr.Checkbox(label="Favorites only", value=False, scale=1)
        self.gallery = gr.Gallery(
            label="History", columns=6, height=460, fit_columns=False, allow_preview=False, elem_id="history-gallery"
        )
        with gr.Row():
            self.prev_btn = gr.Button("← Newer", size="sm")
            self.page_label = gr.Markdown("", elem_id="history-page")
            self.next_btn = gr.Button("Older →", size="sm")
        self.action_note = gr.Markdown("", elem_id="history-note")
        with gr.Column(visible=False) as self.detail_box:
            with gr.Row():
                self.player = gr.Video(label="Video", interactive=False, height=420, elem_id="history-player")
                self.details = gr.Markdown("", elem_id="history-details", latex_delimiters=[])
            with gr.Row():
                self.favorite_btn = gr.Button("Favorite", size="sm")
                self.download_btn = gr.DownloadButton("Download", size="sm")
                self.reuse_btn = gr.Button("Reuse settings", size="sm")
                self.reuse_new_btn = gr.Button("Reuse with new seed", size="sm")
                self.seed_plus_btn = gr.Button("Seed + 1", size="sm")
                self.delete_btn = gr.Button("Delete", size="sm", variant="stop")
                self.confirm_delete_btn = gr.Button("Confirm delete", size="sm", variant="stop", visible=False)
            with gr.Accordion("Trim", open=False):
                with gr.Row():
                    self.trim_start = gr.Slider(label="Start (s)", minimum=0, maximum=5, step=0.01, value=0)
                    self.trim_end = gr.Slider(label="End (s)", minimum=0, maximum=5, step=0.01, value=5)
                self.trim_info = gr.Markdown("", elem_id="trim-info")
                with gr.Row():
                    self.lossless_box = gr.Checkbox(label="Lossless (cut at keyframes)", value=False)
                    self.preview_btn = gr.Button("Preview", size="sm")
                    self.save_trim_btn = gr.Button("Save trimmed copy", size="sm", variant="primary")
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
        filters = [self.search_box, self.model_filter, self.favorites_box]
        page_outputs = [
            self.gallery,
            self.ids_state,
            self.offset_state,
            self.page_label,
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
            self.trim_start,
            self.trim_end,
            self.trim_info,
            self.confirm_delete_btn,
            self.action_note,
        ]
        private: dict[str, Any] = {"api_visibility": "private"}
        gr.on(
            [self.search_box.submit, self.model_filter.input, self.favorites_box.input, history_tab.select],
            self.search,
            inputs=filters,
            outputs=page_outputs,
            **private,
        )
        self.prev_btn.click(
            lambda q, m, f, o: self.turn(q, m, f, o, -1),
            inputs=[*filters, self.offset_state],
            outputs=page_outputs,
            **private,
        )
        self.next_btn.click(
            lambda q, m, f, o: self.turn(q, m, f, o, 1),
            inputs=[*filters, self.offset_state],
            outputs=page_outputs,
            **private,
        )
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
        gr.on(
            [self.trim_start.input, self.trim_end.input],
            self.trim_summary,
            inputs=[self.selected_state, self.trim_start, self.trim_end],
            outputs=self.trim_info,
            **private,
        )
        self.preview_btn.click(None, inputs=[self.trim_start, self.trim_end], js=PREVIEW_JS)
        self.save_trim_btn.click(
            self.save_trim,
            inputs=[self.selected_state, self.trim_start, self.trim_end, self.lossless_box],
            outputs=detail_outputs,
            **private,
        )
        self.share_panel.wire(self.selected_state)
        self.import_panel.wire()


# Plays only the chosen range in the detail player: seek to the start, pause at the end.
PREVIEW_JS = """
(start, end) => {
  const video = document.querySelector('#history-player video');
  if (!video) return;
  const stop = () => {
    if (video.currentTime >= end) { video.pause(); video.removeEventListener('timeupdate', stop); }
  };
  video.currentTime = start;
  video.addEventListener('timeupdate', stop);
  video.muted = true;
  video.play();
}
"""
