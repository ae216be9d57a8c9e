"""X/Y comparisons in words for the page: the axes picker's names and parsing, and each cell's state and choice.

Pure helpers of studio.ui.compare_grid (no Gradio): a made cell is chosen by its video's id, a failed cell by
-(its place + 1), so a failed cell is never taken for a video.
"""

from __future__ import annotations

import re
from typing import Any

from studio.domain import axes
from studio.domain.recipe import SPEEDS
from studio.services.grids import GridView
from studio.store.rows import JobStatus

NO_AXIS = "(none)"
AXIS_NAMES: dict[str, str] = {
    "Seed": "seed",
    "Prompt": "prompt",
    "Negative prompt": "negative_prompt",
    "Guidance": "guidance",
    "Guidance 2 (low noise)": "guidance_2",
    "Flow shift": "flow_shift",
    "Steps": "steps",
    "Speed": "speed",
    "Duration (s)": "duration_s",
    "Aspect ratio": "aspect_ratio",
}
VALUES_HINT = (
    f"Seeds: 1, 2, 3 · random 4 · 10..13 — prompts: one a line, or one with {{a|b}} — numbers: 3, 5, 7 — "
    f"speed: {', '.join(SPEEDS)}"
)
_RANDOM = re.compile(r"random\s+(\d+)", re.IGNORECASE)
_RANGE = re.compile(r"(\d+)\s*\.\.\s*(\d+)")


def axis_from(name: str, text: str, field: str) -> axes.Axis:
    """An axis from the page's picker and text; seeds also take "random N" and "A..B" (consecutive)."""
    kind = AXIS_NAMES.get(name, name)
    text = text or ""
    if kind == "seed" and (match := _RANDOM.fullmatch(text.strip())):
        return axes.make_axis(kind, field=field, mode="random", count=int(match.group(1)))
    if kind == "seed" and (match := _RANGE.fullmatch(text.strip())):
        start, end = int(match.group(1)), int(match.group(2))
        return axes.make_axis(kind, field=field, mode="consecutive", start=start, count=end - start + 1)
    return axes.make_axis(kind, text, field=field)


def cell_state(cell: Any) -> str:
    job = cell.job
    if job is None:
        return "no job"
    if job.status is JobStatus.RUNNING:
        return f"running · {round(job.progress * 100)} %"
    if job.status is JobStatus.QUEUED:
        return "queued"
    if job.status is JobStatus.SUCCEEDED:
        return "saving…"
    return f"{job.status.value}: {job.error or 'no reason recorded'} — Retry failed cells, or this cell alone"


def failed(cell: Any) -> bool:
    """The cell's latest job ended without a video (failed, canceled or interrupted)."""
    return cell.job is not None and cell.job.is_final and cell.video is None


def cell_choices(grid: GridView) -> list[tuple[str, int]]:
    """The Cell picker's choices: each made cell by its video's id, each failed cell by -(its place + 1)."""
    made = [(c.label, c.video.id) for c in grid.cells if c.video is not None]
    return made + [(f"{c.label} — failed", -(i + 1)) for i, c in enumerate(grid.cells) if failed(c)]


def no_video(pick: int | None) -> str | None:
    """What to say when the picked cell has no video to act on (it failed); None for a made cell."""
    if pick is not None and pick < 0:
        return "That cell failed and has no video: Retry this cell first."
    return None
