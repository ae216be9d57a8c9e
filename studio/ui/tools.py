"""Endpoints without a page of their own, for gradio_client and the MCP server's tools: compare seeds, an X/Y grid,
trim a video.

Generate is the Create page's own event (`/generate`). These call the same facade operations as the pages and the
REST API, so a tool is admitted, limited and recorded like a click.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.ui.errors import toast
from studio.ui.grid_cells import NO_AXIS, axis_from
from studio.ui.status import owner_of

FOLLOW_TIMEOUT_S = 30.0


class Tools:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    async def compare(
        self,
        prompt: str,
        seeds: str = "",
        count: int = 4,
        aspect_ratio: str = "16:9",
        duration_s: float | None = None,
        steps: int | None = None,
        negative_prompt: str | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """Make the same video with 2–8 seeds, to compare them side by side; waits until every seed has finished.

        Args:
            prompt: what the video shows (Chinese or English), up to 4000 characters
            seeds: the seeds to try, e.g. "1, 2, 3"; empty: `count` random seeds
            count: how many random seeds when `seeds` is empty (2–8)
            aspect_ratio: one of 16:9, 9:16, 1:1, 4:3, 3:4, 21:9
            duration_s: seconds of video; empty: the model's default
            steps: denoising steps (1–100); empty: the model's default
            negative_prompt: what to avoid; empty: Wan's own negative prompt

        Returns:
            the group id, and per seed its job's status and its video's id (the REST API serves the files)
        """
        request_ = RecipeRequest(
            prompt=prompt,
            negative_prompt=negative_prompt or None,
            aspect_ratio=aspect_ratio,
            duration_s=duration_s,
            steps=steps,
        )
        try:
            group_id, views = self.studio.compare(
                request_, mode="list" if seeds.strip() else "random", seeds=seeds, count=count, owner=owner_of(request)
            )
        except Refused as exc:
            raise toast(exc) from exc
        for view in views:
            while not view.is_final:
                view = await self.studio.wait_async(view.id, timeout=FOLLOW_TIMEOUT_S)
        results = [
            {
                "seed": v.recipe.seed,
                "job_id": v.id,
                "status": v.status.value,
                "video_id": v.video.id if v.video else None,
            }
            for v in self.studio.group_jobs(group_id)
        ]
        return {"group_id": group_id, "results": results}

    def compare_grid(
        self,
        prompt: str,
        x_kind: str,
        x_values: str,
        y_kind: str = "",
        y_values: str = "",
        seed: int = -1,
        aspect_ratio: str = "16:9",
        duration_s: float | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        speed: str = "quality",
        negative_prompt: str | None = None,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """Queue the same video over one or two settings (an X/Y grid, at most 16 cells); returns without waiting.

        Args:
            prompt: what the video shows, shared by every cell unless an axis is the prompt
            x_kind: the setting swept across: seed, prompt, negative_prompt, guidance, guidance_2, flow_shift, steps,
                speed, duration_s or aspect_ratio
            x_values: its 2–8 values, e.g. "3, 5, 7"; seeds also "random 4" or "10..13"; prompts one a line or
                "a {red|blue} fox"
            y_kind: the setting swept down (as x_kind, another one); empty: one row
            y_values: its values, as x_values
            seed: the shared seed; -1: one random seed for the whole grid
            aspect_ratio: one of 16:9, 9:16, 1:1, 4:3, 3:4, 21:9
            duration_s: seconds of video; empty: the model's default
            steps: denoising steps (1–100); empty: the model's default
            guidance: guidance scale (0–20); empty: the model's default
            speed: quality, fast or balanced (as the model offers them)
            negative_prompt: what to avoid; empty: Wan's own negative prompt

        Returns:
            the group id, the grid's rows and columns, and per cell its place, label and job id (follow the jobs or
            the grid through the REST API)
        """
        try:
            base = RecipeRequest(
                prompt=prompt,
                negative_prompt=negative_prompt or None,
                seed=seed,
                aspect_ratio=aspect_ratio,
                duration_s=duration_s,
                steps=steps,
                guidance=guidance,
                speed=speed or None,  # type: ignore[arg-type]  # build_recipe names a speed it does not know
            )
            x = axis_from(x_kind, x_values, "x")
            y = axis_from(y_kind, y_values, "y") if y_kind and y_kind != NO_AXIS else None
            grid = self.studio.grids.create(base, x, y, owner=owner_of(request))
        except Refused as exc:
            raise toast(exc) from exc
        cells = [{"x": c.x, "y": c.y, "label": c.label, "job_id": c.job.id if c.job else None} for c in grid.cells]
        return {"group_id": grid.group_id, "rows": grid.rows, "cols": grid.cols, "cells": cells}

    def trim(
        self,
        video_id: int,
        start_s: float,
        end_s: float,
        lossless: bool = False,
        request: gr.Request | None = None,
    ) -> dict[str, Any]:
        """Save the part of a history video between two points as a new video; the original never changes.

        Args:
            video_id: the video to cut (its id in History or the REST API)
            start_s: in point, seconds from the start
            end_s: out point, seconds from the start, after start_s
            lossless: copy the H.264 packets instead of re-encoding (the cut lands on copyable frames)

        Returns:
            the new video's id, its frames and where the cut landed
        """
        try:
            child = self.studio.videos.trim(
                video_id, start_s=start_s, end_s=end_s, lossless=lossless, owner=owner_of(request)
            )
        except Refused as exc:
            raise toast(exc) from exc
        cut = child.recipe.get("trim", {})
        return {
            "video_id": child.id,
            "parent_id": video_id,
            "num_frames": child.num_frames,
            "start_s": cut.get("actual_start_s"),
            "end_s": cut.get("actual_end_s"),
        }

    def register(self) -> None:
        """Inside the Blocks: the three endpoints (and MCP tools, with --mcp)."""
        gr.api(self.compare, api_name="compare")
        gr.api(self.compare_grid, api_name="compare_grid")
        gr.api(self.trim, api_name="trim")
