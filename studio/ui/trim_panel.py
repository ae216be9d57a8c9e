"""The History details' Trim panel: in and out points as frames, a preview of the range, and a saved copy.

Saving keeps the details on the original (the person was working on it) and says which video the copy became,
with **Open the copy** to go there; the original is never changed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.services.studio import Studio
from studio.ui.errors import note
from studio.ui.status import owner_of

log = logging.getLogger(__name__)

Show = Callable[..., dict[Any, Any]]  # HistoryPage.show: (video_id, message) → the detail panel's updates


class TrimPanel:
    def __init__(self, studio: Studio, show: Show) -> None:
        self.studio = studio
        self.show = show

    # -- handlers --------------------------------------------------------------------------------

    def reset(self, video_id: int, end_s: float) -> dict[Any, Any]:
        """The panel for a newly shown video: the whole clip, no copy offered."""
        return {
            self.trim_start: gr.update(maximum=end_s, value=0),
            self.trim_end: gr.update(maximum=end_s, value=end_s),
            self.trim_info: self.trim_summary(video_id, 0, end_s),
            self.open_copy_btn: gr.update(visible=False),
            self.copy_state: None,
        }

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
        """Save the range as a new video; the details stay on the original and offer the copy."""
        if video_id is None:
            return {self.show_note: "Select a video first."}
        try:
            owner = owner_of(request)
            child = self.studio.videos.trim(video_id, start_s=start_s, end_s=end_s, lossless=lossless, owner=owner)
        except Refused as exc:
            return {self.show_note: note(exc)}
        except RuntimeError:  # ffmpeg failed: the log has its words; the page gets no server paths
            log.exception("trimming video %s failed", video_id)
            return {self.show_note: "⚠️ The trim failed on the server (see its log); nothing was saved."}
        landed = ""
        trim = child.recipe.get("trim", {})
        if lossless and trim:
            landed = f" The lossless cut landed at {trim['actual_start_s']:.3f}–{trim['actual_end_s']:.3f} s."
        return {
            **self.show(video_id, f"Saved as video #{child.id}.{landed}"),
            self.trim_start: gr.update(),  # the range stays as it was, to cut another piece next to it
            self.trim_end: gr.update(),
            self.trim_info: self.trim_summary(video_id, start_s, end_s),
            self.open_copy_btn: gr.update(visible=True, value=f"Open the copy (#{child.id})"),
            self.copy_state: child.id,
        }

    def open_copy(self, copy_id: int | None) -> dict[Any, Any]:
        if copy_id is None:
            return {self.show_note: "Save a trimmed copy first."}
        return self.show(copy_id, f"Showing the trimmed copy, video #{copy_id}.")

    # -- layout and wiring -----------------------------------------------------------------------

    def build(self, show_note: gr.Markdown) -> None:
        """Inside the detail panel; `show_note` is the panel's message line."""
        self.show_note = show_note
        with gr.Accordion("Trim", open=False):
            with gr.Row():
                self.trim_start = gr.Slider(label="Start (s)", minimum=0, maximum=5, step=0.01, value=0)
                self.trim_end = gr.Slider(label="End (s)", minimum=0, maximum=5, step=0.01, value=5)
            self.trim_info = gr.Markdown("", elem_id="trim-info")
            with gr.Row():
                self.lossless_box = gr.Checkbox(label="Lossless (cut at keyframes)", value=False)
                self.preview_btn = gr.Button("Preview", size="sm")
                self.save_trim_btn = gr.Button("Save trimmed copy", size="sm", variant="primary")
                self.open_copy_btn = gr.Button("Open the copy", size="sm", visible=False)
        self.copy_state = gr.State(None)

    @property
    def outputs(self) -> list[Any]:
        """What `reset` fills when the details show another video."""
        return [self.trim_start, self.trim_end, self.trim_info, self.open_copy_btn, self.copy_state]

    def wire(self, selected: gr.State, detail_outputs: list[Any]) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        gr.on(
            [self.trim_start.input, self.trim_end.input],
            self.trim_summary,
            inputs=[selected, self.trim_start, self.trim_end],
            outputs=self.trim_info,
            **private,
        )
        self.preview_btn.click(None, inputs=[self.trim_start, self.trim_end], js=PREVIEW_JS)
        self.save_trim_btn.click(
            self.save_trim,
            inputs=[selected, self.trim_start, self.trim_end, self.lossless_box],
            outputs=detail_outputs,
            **private,
        )
        self.open_copy_btn.click(self.open_copy, inputs=self.copy_state, outputs=detail_outputs, **private)


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
