"""X/Y comparisons on the page: the axes launcher (Create), the 2-D grid and its cell actions (Compare).

Keep, Use this and Refine act on the cell chosen in the Compare page's "Cell" picker; Retry failed cells queues each
failed cell again alone, Retry this cell only the chosen one. The picker holds a made cell as its video's id and a
failed cell as -(its place + 1), so a failed cell is never taken for a video. The grid, its status line and its
export are the Compare page's (studio.ui.compare).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import gradio as gr

from studio.domain import axes
from studio.domain.errors import Refused
from studio.services.grids import GridCell, GridView
from studio.services.studio import Studio
from studio.ui import sync_grid
from studio.ui.compare import FOLLOW_TIMEOUT_S, ComparePage, file_url, launch_inputs, launch_request
from studio.ui.errors import note, toast
from studio.ui.grid_cells import AXIS_NAMES, NO_AXIS, VALUES_HINT, axis_from, cell_choices, cell_state, failed, no_video
from studio.ui.status import owner_of


class GridPanel:
    def __init__(self, studio: Studio, compare: ComparePage) -> None:
        self.studio = studio
        self.compare = compare

    # -- handlers --------------------------------------------------------------------------------

    def render(self, grid: GridView) -> str:
        tiles = [
            sync_grid.Tile(file_url(self.studio, c.video), c.label)
            if c.video is not None
            else sync_grid.Tile(None, c.label, cell_state(c))
            for c in grid.cells
        ]
        duration = max((c.video.num_frames / c.video.fps for c in grid.cells if c.video), default=0.0)
        recipe = next((c.job.recipe for c in grid.cells if c.job), None)
        ratio = f"{recipe.width} / {recipe.height}" if recipe else "16 / 9"
        if grid.y is None:
            return sync_grid.render(tiles, duration, ratio=ratio)
        return sync_grid.render(
            tiles, duration, column_labels=list(grid.x.labels), row_labels=list(grid.y.labels), ratio=ratio
        )

    def shown(self, grid: GridView, message: str) -> dict[Any, Any]:
        compare = self.compare
        made = [c for c in grid.cells if c.video is not None]
        return {
            compare.grid_html: self.render(grid),
            compare.ids_state: [c.video.id for c in made if c.video],
            compare.group_state: grid.group_id,
            compare.keep_pick: gr.update(choices=cell_choices(grid)),
            compare.status_box: message,
        }

    async def follow(self, grid: GridView, first: str) -> AsyncIterator[dict[Any, Any]]:
        """The grid as its cells progress, until every cell has ended."""
        yield {**self.shown(grid, first), self.compare.tabs: gr.Tabs(selected="compare")}
        last = None
        while True:
            grid = self.studio.grids.grid(grid.group_id)
            state = [(c.job.status, c.job.step, c.video is not None) if c.job else None for c in grid.cells]
            if state != last:
                last = state
                made = sum(c.video is not None for c in grid.cells)
                failures = [c.label for c in grid.cells if failed(c)]
                message = f"{made} of {len(grid.cells)} cells ready" + (
                    f" · failed: {'; '.join(failures)}" if failures else ""
                )
                yield self.shown(grid, message)
            if grid.is_final:
                return
            waiting = next(c.job for c in grid.cells if c.job and not c.job.is_final)
            await self.studio.wait_async(waiting.id, since=waiting, timeout=FOLLOW_TIMEOUT_S)

    async def generate(self, *values: Any, request: gr.Request | None = None) -> AsyncIterator[dict[Any, Any]]:
        """Queue the Create page's recipe (its start image too) over the X (and Y) axis as one comparison, then follow
        its grid."""
        *create_values, x_name, x_text, y_name, y_text = values
        try:
            x = axis_from(x_name, x_text, "x")
            y = axis_from(y_name, y_text, "y") if y_name and y_name != NO_AXIS else None
            request_ = launch_request(self.compare.create, create_values)
            if "aspect_ratio" not in (x.kind, y.kind if y else None):  # else each cell's ratio is the axis's
                request_ = self.studio.images.follow_size(request_, self.studio.preset)
            grid = self.studio.grids.create(request_, x, y, owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        async for update in self.follow(grid, f"Queued a {grid.rows}×{grid.cols} comparison"):
            yield update

    async def refine(
        self, video_id: int | None, name: str, text: str, request: gr.Request | None = None
    ) -> AsyncIterator[dict[Any, Any]]:
        """A new comparison from the chosen cell: its recipe and seed kept, one setting swept."""
        if video_id is None:
            raise gr.Error("Choose a cell to refine from first.")
        if (why := no_video(video_id)) is not None:
            raise gr.Error(why)
        try:
            grid = self.studio.grids.refine(video_id, axis_from(name, text, "x"), owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        async for update in self.follow(grid, f"Refining video #{video_id}: sweeping {grid.x.kind}"):
            yield update

    async def retry_failed(
        self, group_id: str | None, request: gr.Request | None = None
    ) -> AsyncIterator[dict[Any, Any]]:
        """Queue each failed, canceled or interrupted cell again, alone; the others stay as they are."""
        if not group_id:
            raise gr.Error("Open a comparison first.")
        grid = self.studio.grids.grid(group_id)
        failures = [c for c in grid.cells if failed(c)]
        if not failures:
            yield {self.compare.status_box: "No failed cells to retry."}
            return
        async for update in self._retry(group_id, failures, f"{len(failures)} cells", request):
            yield update

    async def retry_cell(
        self, group_id: str | None, pick: int | None, request: gr.Request | None = None
    ) -> AsyncIterator[dict[Any, Any]]:
        """Queue the cell chosen in the Cell picker again, alone, when it failed; the others stay as they are."""
        if not group_id:
            raise gr.Error("Open a comparison first.")
        grid = self.studio.grids.grid(group_id)
        if pick is None or pick >= 0 or -pick > len(grid.cells):
            yield {self.compare.status_box: "Choose a failed cell in Cell first (made cells need no retry)."}
            return
        cell = grid.cells[-pick - 1]
        if not failed(cell):  # retried already, from this tab or another
            yield {self.compare.status_box: f"{cell.label} has not failed: nothing to retry."}
            return
        async for update in self._retry(group_id, [cell], cell.label, request, clear_pick=True):
            yield update

    async def _retry(
        self, group_id: str, cells: list[GridCell], what: str, request: gr.Request | None, *, clear_pick: bool = False
    ) -> AsyncIterator[dict[Any, Any]]:
        """Queue `cells` again, each alone and keeping its place, then follow the grid; `clear_pick` empties the Cell
        picker (the picked failed cell is no longer one)."""
        try:
            for cell in cells:
                self.studio.retry(cell.job.id, owner=owner_of(request))  # type: ignore[union-attr]
        except Refused as exc:
            yield {self.compare.status_box: note(exc)}
            return
        if clear_pick:
            yield {self.compare.keep_pick: gr.update(value=None)}
        async for update in self.follow(self.studio.grids.grid(group_id), f"Retrying {what}"):
            yield update

    async def rebuild(
        self, recipe: dict[str, Any] | None, request: gr.Request | None = None
    ) -> AsyncIterator[dict[Any, Any]]:
        """Queue again the comparison an imported export's recipe records, then follow its grid."""
        if not recipe:
            raise gr.Error("Import an exported comparison first.")
        try:
            grid = self.studio.grids.rebuild(recipe, owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        async for update in self.follow(grid, f"Rebuilt a {grid.rows}×{grid.cols} comparison from the MP4"):
            yield update

    def use_this(self, video_id: int | None) -> dict[Any, Any]:
        """Fill the Create page with the chosen cell's recipe (its seed included)."""
        if video_id is None:
            return {self.compare.status_box: "Choose a cell first."}
        if (why := no_video(video_id)) is not None:
            return {self.compare.status_box: why}
        video = self.studio.videos.get(video_id)
        return {**self.compare.create.fill_from_recipe(video.recipe), self.compare.tabs: gr.Tabs(selected="create")}

    async def balanced_vs_quality(
        self, video_id: int | None, request: gr.Request | None = None
    ) -> AsyncIterator[dict[Any, Any]]:
        """History's "Balanced vs Quality": the video's recipe and seed at both speeds, side by side."""
        if video_id is None:
            raise gr.Error("Select a video first.")
        try:
            grid = self.studio.grids.balanced_vs_quality(video_id, owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        async for update in self.follow(grid, f"Balanced vs Quality for video #{video_id}"):
            yield update

    def reopen(self, video_id: int | None) -> dict[Any, Any]:
        """History's "Open its comparison": the grid a video belongs to, on the Compare page."""
        if video_id is None:
            raise gr.Error("Select a video first.")
        try:
            grid = self.studio.grids.of_video(video_id)
        except Refused as exc:
            raise toast(exc) from exc
        ready = sum(c.video is not None for c in grid.cells)
        return {
            **self.shown(grid, f"Comparison of video #{video_id}: {ready} of {len(grid.cells)} cells ready"),
            self.compare.tabs: gr.Tabs(selected="compare"),
        }

    # -- layout ----------------------------------------------------------------------------------

    def build_launcher(self) -> None:
        """On the Create page, under Compare seeds: the same recipe over one or two axes."""
        with gr.Accordion("Compare settings (X/Y grid)", open=False, elem_id="grid-launcher"):
            gr.Markdown(f"Up to {axes.MAX_CELLS} cells; everything not on an axis is shared. {VALUES_HINT}")
            with gr.Row():
                self.x_kind = gr.Dropdown(label="X axis", choices=list(AXIS_NAMES), value="Prompt", scale=1)
                self.x_values = gr.Textbox(label="X values", lines=2, scale=3, placeholder="a {red|blue} fox")
            with gr.Row():
                self.y_kind = gr.Dropdown(label="Y axis", choices=[NO_AXIS, *AXIS_NAMES], value=NO_AXIS, scale=1)
                self.y_values = gr.Textbox(label="Y values", lines=1, scale=3, placeholder="3, 5, 7")
            self.grid_btn = gr.Button("Generate grid")

    def build(self) -> None:
        """On the Compare page, under the grid."""
        with gr.Row():
            self.use_btn = gr.Button("Use this", size="sm")
            self.retry_btn = gr.Button("Retry failed cells", size="sm")
            self.retry_cell_btn = gr.Button("Retry this cell", size="sm")
        with gr.Row():
            self.refine_kind = gr.Dropdown(label="Refine: sweep", choices=list(AXIS_NAMES), value="Guidance", scale=1)
            self.refine_values = gr.Textbox(label="Refine values", placeholder="3, 5, 7", scale=3)
            self.refine_btn = gr.Button("Refine", size="sm", scale=1)

    # -- wiring ----------------------------------------------------------------------------------

    def wire(
        self, reopen_btn: gr.Button, selected: gr.State, speeds_btn: gr.Button, rebuild_btn: gr.Button, recipe: gr.State
    ) -> None:
        compare = self.compare
        shown = [compare.grid_html, compare.ids_state, compare.group_state, compare.keep_pick, compare.status_box]
        private: dict[str, Any] = {"api_visibility": "private"}
        self.grid_btn.click(
            self.generate,
            inputs=[*launch_inputs(compare.create), self.x_kind, self.x_values, self.y_kind, self.y_values],
            outputs=[*shown, compare.tabs],
            **private,
        )
        self.refine_btn.click(
            self.refine,
            inputs=[compare.keep_pick, self.refine_kind, self.refine_values],
            outputs=[*shown, compare.tabs],
            **private,
        )
        self.retry_btn.click(self.retry_failed, inputs=compare.group_state, outputs=[*shown, compare.tabs], **private)
        self.retry_cell_btn.click(
            self.retry_cell, inputs=[compare.group_state, compare.keep_pick], outputs=[*shown, compare.tabs], **private
        )
        self.use_btn.click(
            self.use_this,
            inputs=compare.keep_pick,
            outputs=[*compare.create.fill_targets, compare.tabs, compare.status_box],
            **private,
        )
        reopen_btn.click(self.reopen, inputs=selected, outputs=[*shown, compare.tabs], **private)
        speeds_btn.click(self.balanced_vs_quality, inputs=selected, outputs=[*shown, compare.tabs], **private)
        rebuild_btn.click(self.rebuild, inputs=recipe, outputs=[*shown, compare.tabs], **private)
