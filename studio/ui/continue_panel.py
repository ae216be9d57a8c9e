"""History's image-to-video actions: the clip's start image, Use this frame, Continue and Join.

"Use this frame" reads the player's current time in the browser and stores the frame shown then (the server decodes
it from its own copy of the video; nothing a client names is opened), then puts it on the Create page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.services.studio import Studio
from studio.ui.errors import note
from studio.ui.status import owner_of

# The History player's current time, read in the browser when "Use this frame" is pressed.
PLAYER_TIME_JS = """
(videoId, _time) => {
  const player = document.querySelector('#history-player video');
  return [videoId, player ? player.currentTime : 0];
}
"""


class ContinuePanel:
    def __init__(self, studio: Studio, fill_create: Callable[[int, str], dict[Any, Any]]) -> None:
        self.studio = studio
        self.fill_create = fill_create  # (video id, image path) → updates that put the frame on the Create page

    # -- handlers --------------------------------------------------------------------------------

    def reset(self, recipe: dict[str, Any]) -> dict[Any, Any]:
        """The panel for a newly shown video: its start image, if it has one."""
        image_id = recipe.get("start_image")
        path = self.studio.images.path(image_id) if isinstance(image_id, str) and len(image_id) == 64 else None
        shown = path is not None and path.is_file()
        return {
            self.start_preview: gr.update(value=str(path) if shown else None, visible=shown),
            self.continue_btn: gr.update(visible=self.studio.preset.image_input),
        }

    def use_frame(self, video_id: int | None, time_s: float | None) -> dict[Any, Any]:
        if video_id is None:
            return {self.note_box: "Select a video first."}
        try:
            image = self.studio.images.from_video(video_id, max(0.0, float(time_s or 0.0)))
        except Refused as exc:
            return {self.note_box: note(exc)}
        return {
            **self.fill_create(video_id, str(self.studio.images.path(image.id))),
            self.note_box: f"The frame at {float(time_s or 0):.2f} s of video #{video_id} is the start image.",
        }

    def continue_video(self, video_id: int | None, request: gr.Request) -> str:
        if video_id is None:
            return "Select a video first."
        try:
            view = self.studio.continue_video(video_id, owner=owner_of(request))
        except Refused as exc:
            return note(exc)
        return f"Queued job {view.id}: continues video #{video_id} from its last frame, seed {view.recipe.seed}."

    def join(self, video_id: int | None, request: gr.Request) -> str:
        if video_id is None:
            return "Select a video first."
        try:
            video = self.studio.join(video_id, owner=owner_of(request))
        except Refused as exc:
            return note(exc)
        return f"Saved the chain as video #{video.id} ({video.num_frames} frames)."

    # -- layout and wiring ------------------------------------------------------------------------

    def build(self) -> None:
        self.start_preview = gr.Image(
            label="Start image", interactive=False, visible=False, height=160, elem_id="history-start-image"
        )
        with gr.Row():
            self.use_frame_btn = gr.Button("Use this frame", size="sm", elem_id="use-frame-btn")
            self.continue_btn = gr.Button("Continue", size="sm", elem_id="continue-btn")
            self.join_btn = gr.Button("Join chain", size="sm", elem_id="join-btn")
        self.note_box = gr.Markdown("", elem_id="continue-note")
        self.time_state = gr.Number(value=0.0, visible=False)

    @property
    def outputs(self) -> list[Any]:
        """What `reset` updates (part of History's detail outputs)."""
        return [self.start_preview, self.continue_btn]

    def wire(self, selected: gr.State, fill_targets: list[Any]) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        self.use_frame_btn.click(
            self.use_frame,
            inputs=[selected, self.time_state],
            outputs=[*fill_targets, self.note_box],
            js=PLAYER_TIME_JS,
            **private,
        )
        self.continue_btn.click(self.continue_video, inputs=selected, outputs=self.note_box, **private)
        self.join_btn.click(self.join, inputs=selected, outputs=self.note_box, **private)
