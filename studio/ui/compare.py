"""Seed comparison: one prompt and settings, 2–8 seeds as one group, shown side by side with synced playback.

The launcher sits on the Create page (it uses that page's prompt and settings); the grid has its own tab.
History can also send 2–4 videos here. With a start image on the Create page every cell starts from it; "Use this
frame" puts the chosen cell's frame at the grid's shared time on the Create page as its start image.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import gradio as gr

from studio.domain.comparisons import MAX_SEEDS, MIN_SEEDS
from studio.domain.errors import Refused
from studio.domain.naming import seed_title
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.store.rows import Video
from studio.ui import sync_grid
from studio.ui.create import CreatePage
from studio.ui.errors import note, toast
from studio.ui.recipe_form import request_from
from studio.ui.status import owner_of

log = logging.getLogger(__name__)
MODES: dict[str, Literal["list", "random", "consecutive"]] = {
    "List": "list",
    "Random": "random",
    "Consecutive": "consecutive",
}
FOLLOW_TIMEOUT_S = 5.0
# The grid's shared time, read in the browser when "Use this frame" is pressed: the lead (longest) clip's, which the
# seek control follows (studio.ui.sync_grid); a shorter cell shows its last frame past its end, and so does the frame.
GRID_TIME_JS = """
(videoId, _time) => {
  const videos = Array.from(document.querySelectorAll('#compare-grid [data-sync] video'));
  const lead = videos.reduce((a, v) => (!a || (v.duration || 0) > (a.duration || 0) ? v : a), null);
  return [videoId, lead ? lead.currentTime : 0];
}
"""


def file_url(studio: Studio, video: Video) -> str:
    """Gradio's route for a file in the media folder (the only folder it serves)."""
    return f"/gradio_api/file={studio.videos.file(video)}"


def label(video: Video) -> str:
    """A tile's label: "seed 7 · #12" (an exported comparison: "Comparison of seeds 1, 2, 3 · #12")."""
    return f"{seed_title(video.seed, video.recipe or {})} · #{video.id}"


def launch_inputs(create: CreatePage) -> list[Any]:
    """What a comparison launched from the Create page reads: its settings, then its start/end image and fit."""
    return [*create.inputs, *create.image_panel.inputs]


def launch_request(create: CreatePage, values: Sequence[Any]) -> RecipeRequest:
    """The Create page's request from `launch_inputs` values, with its images stored and named (image to video).

    Raises:
        InvalidInput: the first bad field (settings, then "start_image"/"end_image").
    """
    settings, images = values[: len(create.inputs)], values[len(create.inputs) :]
    return create.image_panel.with_images(request_from(create.preset, *settings), *images)


class ComparePage:
    def __init__(self, studio: Studio, create: CreatePage, tabs: gr.Tabs) -> None:
        self.studio = studio
        self.create = create
        self.tabs = tabs

    # -- handlers --------------------------------------------------------------------------------

    def grid(self, videos: list[Video], note: str = "") -> str:
        tiles = [sync_grid.Tile(file_url(self.studio, v), label(v)) for v in videos]
        duration = max((v.num_frames / v.fps for v in videos), default=0.0)
        ratio = f"{videos[0].width} / {videos[0].height}" if videos else "16 / 9"  # cells shaped like the first clip
        return sync_grid.render(tiles, duration, note=note, ratio=ratio)

    def shown(self, videos: list[Video], note: str, group_id: str | None) -> dict[Any, Any]:
        return {
            self.grid_html: self.grid(videos, "" if videos else note),  # the status line above says it once
            self.ids_state: [v.id for v in videos],
            self.group_state: group_id,
            self.keep_pick: gr.update(choices=[(label(v), v.id) for v in videos], value=None),
            self.status_box: note,
        }

    async def generate_group(self, *values: Any, request: gr.Request | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Submit the Create page's recipe once per seed as one group, then fill the grid as videos finish."""
        *create_values, mode, seeds_text, count, start = values
        try:
            group_id, views = self.studio.compare(
                launch_request(self.create, create_values),
                mode=MODES[mode],
                seeds=seeds_text or "",
                count=int(count),
                start=int(start or 0),
                owner=owner_of(request),
            )
        except Refused as exc:
            raise toast(exc) from exc
        seeds = ", ".join(str(view.recipe.seed) for view in views)
        yield {
            **self.shown([], f"Queued {len(views)} seeds: {seeds}", group_id),
            self.tabs: gr.Tabs(selected="compare"),
        }
        seen = -1
        while True:
            views = self.studio.group_jobs(group_id)
            videos = self.studio.videos.of_group(group_id)
            done = sum(v.is_final for v in views)
            if len(videos) != seen or done == len(views):
                seen = len(videos)
                failed = [f"seed {v.recipe.seed}: {v.status.value}" for v in views if v.is_final and v.video is None]
                note = f"{len(videos)} of {len(views)} videos ready" + (f" ({'; '.join(failed)})" if failed else "")
                yield self.shown(videos, note, group_id)
            if done == len(views):
                return
            unfinished = next(v for v in views if not v.is_final)
            await self.studio.wait_async(unfinished.id, since=unfinished, timeout=FOLLOW_TIMEOUT_S)

    def compare_videos(self, video_ids: list[int] | None) -> dict[Any, Any]:
        ids = list(video_ids or [])
        if not 2 <= len(ids) <= 4:
            raise gr.Error(f"Choose 2–4 videos to compare (you chose {len(ids)}).")
        videos = [self.studio.videos.get(i) for i in ids]
        return {
            **self.shown(videos, f"Comparing {len(videos)} videos from History", None),
            self.tabs: gr.Tabs(selected="compare"),
        }

    def keep(self, video_id: int | None) -> str:
        if video_id is None:
            return "Choose the cell to keep first."
        if video_id < 0:  # a failed cell of an X/Y grid (studio.ui.grid_cells.cell_choices)
            return "That cell failed and has no video: Retry this cell first."
        self.studio.videos.set_favorite(video_id, True)
        return f"Kept video #{video_id}: it is a favorite in History."

    def use_frame(self, video_id: int | None, time_s: float | None) -> dict[Any, Any]:
        """The chosen cell's frame at the grid's time as the Create page's start image, with the cell's settings."""
        if video_id is None:
            return {self.status_box: "Choose the cell to take the frame from first."}
        if not self.studio.preset.image_input:
            return {self.status_box: f"{self.studio.preset.key} does not start from an image; pick a model that does."}
        try:
            video = self.studio.videos.get(video_id)
            at = min(max(0.0, float(time_s or 0.0)), video.duration_s)  # a shorter cell holds its last frame
            image = self.studio.images.from_video(video_id, at)
        except Refused as exc:
            return {self.status_box: note(exc)}
        panel = self.create.image_panel
        return {
            **self.create.fill_from_recipe(dict(video.recipe or {}), "same"),
            panel.start_box: str(self.studio.images.path(image.id)),
            panel.accordion: gr.Accordion(open=True),
            self.tabs: gr.Tabs(selected="create"),
            self.status_box: f"The frame at {at:.2f} s of video #{video_id} is the Create page's start image.",
        }

    def export(self, group_id: str | None, video_ids: list[int], request: gr.Request | None = None) -> dict[Any, Any]:
        owner = owner_of(request)
        try:
            if group_id:
                video = self.studio.videos.export_group(group_id, owner=owner)
            else:
                video = self.studio.videos.export_picked(video_ids, owner=owner)
        except Refused as exc:
            return {self.status_box: note(exc)}
        except RuntimeError:  # ffmpeg failed: the log has its words; the page gets no server paths
            log.exception("exporting a comparison failed")
            return {self.status_box: "⚠️ The export failed on the server (see its log); nothing was saved."}
        return {
            self.export_video: str(self.studio.videos.file(video)),
            self.status_box: f"Exported comparison #{video.id} ({video.width}×{video.height}) to History.",
        }

    # -- layout ----------------------------------------------------------------------------------

    def build_launcher(self) -> None:
        """On the Create page, under its settings."""
        with gr.Accordion("Compare seeds", open=False):
            with gr.Row():
                self.mode_radio = gr.Radio(label="Seeds from", choices=list(MODES), value="Random")
                self.seeds_box = gr.Textbox(label="Seeds", placeholder="1, 2, 3")
                self.count_slider = gr.Slider(label="How many", minimum=MIN_SEEDS, maximum=MAX_SEEDS, step=1, value=4)
                self.start_box = gr.Number(label="First seed", value=0, precision=0, minimum=0)
            self.compare_btn = gr.Button("Generate comparison")

    def build(self) -> None:
        self.status_box = gr.Markdown("", elem_id="compare-status")
        self.grid_html = gr.HTML(
            sync_grid.render([], 0, note="Generate a comparison on the Create page, or pick videos in History."),
            js_on_load=sync_grid.SYNC_JS,
            css_template=sync_grid.SYNC_CSS,
            elem_id="compare-grid",
        )
        with gr.Row():
            self.keep_pick = gr.Dropdown(label="Cell", choices=[], scale=2)
            self.keep_btn = gr.Button("Keep", size="sm")
            self.use_frame_btn = gr.Button(
                "Use this frame", size="sm", visible=self.studio.preset.image_input, elem_id="compare-use-frame"
            )
            self.export_btn = gr.Button("Export comparison", size="sm")
        self.export_video = gr.Video(label="Exported comparison", interactive=False, height=360)
        self.group_state = gr.State(None)
        self.ids_state = gr.State([])
        self.time_state = gr.Number(value=0.0, visible=False)  # filled by GRID_TIME_JS on "Use this frame"

    # -- wiring ----------------------------------------------------------------------------------

    def wire(self, history_pick: gr.Dropdown, history_btn: gr.Button) -> None:
        shown = [self.grid_html, self.ids_state, self.group_state, self.keep_pick, self.status_box]
        self.compare_btn.click(
            self.generate_group,
            inputs=[*launch_inputs(self.create), self.mode_radio, self.seeds_box, self.count_slider, self.start_box],
            outputs=[*shown, self.tabs],
            api_visibility="private",  # scripts and agents use the `compare` endpoint of studio.ui.tools
        )
        history_btn.click(
            self.compare_videos, inputs=history_pick, outputs=[*shown, self.tabs], api_visibility="private"
        )
        self.keep_btn.click(self.keep, inputs=self.keep_pick, outputs=self.status_box, api_visibility="private")
        panel = self.create.image_panel
        self.use_frame_btn.click(
            self.use_frame,
            inputs=[self.keep_pick, self.time_state],
            outputs=[*self.create.fill_targets, panel.start_box, panel.accordion, self.tabs, self.status_box],
            js=GRID_TIME_JS,
            api_visibility="private",
        )
        self.export_btn.click(
            self.export,
            inputs=[self.group_state, self.ids_state],
            outputs=[self.export_video, self.status_box],
            api_visibility="private",
        )
