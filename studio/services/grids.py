"""X/Y comparisons: a grid of cells admitted as one group, read back as rows × columns, refined from a cell.

Cells are ordinary jobs sharing a group id (so the worker batches those that differ only by seed, and a failed cell
is retried alone with Studio.retry); the `comparisons` row records the axes and which first job is which cell.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from studio.domain import axes
from studio.domain.errors import InvalidInput, NotFound
from studio.domain.preset_types import Preset
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.domain.start_image import FOLLOW_IMAGE
from studio.services.admission import Admission
from studio.services.job_view import JobView
from studio.store import grids, jobs, library
from studio.store.database import Database
from studio.store.rows import Job, Video

_REQUEST_FIELDS = {field.name for field in dataclasses.fields(RecipeRequest)}


@dataclass(frozen=True)
class GridCell:
    """One cell as it stands: its place, its label and values, its latest job (a retry replaces it) and video."""

    x: int
    y: int
    label: str
    values: dict[str, Any]  # axis kind → this cell's value
    job: JobView | None
    video: Video | None


@dataclass(frozen=True)
class GridView:
    group_id: str
    x: axes.Axis
    y: axes.Axis | None
    rows: int
    cols: int
    base: dict[str, Any]  # the shared request's fields
    cells: list[GridCell]  # row by row
    exports: list[Video]

    @property
    def is_final(self) -> bool:
        return all(cell.job is None or cell.job.is_final for cell in self.cells)


def request_of(recipe: Recipe) -> RecipeRequest:
    """The request that makes `recipe` again (its seed, size and sampling): where a refined comparison starts."""
    # A size that followed the start image is kept as its pixels: the grid builds plain recipes, without the image
    by_ratio = recipe.aspect_ratio and recipe.aspect_ratio != FOLLOW_IMAGE
    sized: dict[str, Any] = (
        {"aspect_ratio": recipe.aspect_ratio, "quality": recipe.quality}
        if by_ratio
        else {"width": recipe.width, "height": recipe.height}
    )
    return RecipeRequest(
        prompt=recipe.prompt,
        negative_prompt=recipe.negative_prompt,
        seed=recipe.seed,
        duration_s=round(recipe.duration_s, 4),
        steps=recipe.steps,
        guidance=recipe.guidance,
        guidance_2=recipe.guidance_2,
        flow_shift=recipe.flow_shift,
        speed=recipe.speed,
        cache=recipe.cache,
        cache_threshold=recipe.cache_threshold,
        start_image=recipe.start_image,
        end_image=recipe.end_image,
        image_fit=recipe.image_fit,
        **sized,
    )


class Grids:
    """Creates and reads X/Y comparisons; `hand_over` wakes whoever runs the jobs (Runners.hand_over)."""

    def __init__(
        self, *, db: Database, preset: Preset, admission: Admission, hand_over: Callable[[list[int]], None]
    ) -> None:
        self.db = db
        self.preset = preset
        self.admission = admission
        self.hand_over = hand_over

    def create(
        self, base: RecipeRequest, x: axes.Axis, y: axes.Axis | None = None, *, owner: str | None = None
    ) -> GridView:
        """Queue every cell of the grid as one group: all or none, through the same admission as any job.

        Raises:
            InvalidInput: a cell's value is out of range (field "x" or "y", naming the value) or a shared setting is
                (its own field); more than 16 cells ("y").
            QueueFull / RateLimited / OutOfSpace: as Studio.submit; nothing was queued.
        """
        # 1. Validate every cell before touching the queue
        cells = axes.expand(base, x, y)
        recipes = [self._recipe(cell, x, y) for cell in cells]
        group_id = uuid.uuid4().hex
        swept = {x.kind, y.kind if y else x.kind}
        shared = {k: v for k, v in dataclasses.asdict(cells[0].request).items() if k not in swept}
        spec = {"base": shared, "x": x.to_dict(), "y": y.to_dict() if y else None}
        # 2. One transaction: the room check, every job and the grid's row
        with self.db.write() as session:
            self.admission.check_jobs(session, count=len(recipes), owner=owner)
            ids = [
                jobs.enqueue(session=session, recipe=recipe, group_id=group_id, owner=owner).id for recipe in recipes
            ]
            placed = [[cell.x, cell.y, job_id] for cell, job_id in zip(cells, ids, strict=True)]
            grids.add(session=session, group_id=group_id, spec=spec, cells=placed, owner=owner)
        self.hand_over(ids)
        return self.grid(group_id)

    def _recipe(self, cell: axes.Cell, x: axes.Axis, y: axes.Axis | None) -> Recipe:
        try:
            return build_recipe(cell.request, self.preset)
        except InvalidInput as exc:
            for name, axis in (("x", x), ("y", y)):
                if axis is not None and exc.field in (axis.kind, "seeds"):
                    raise InvalidInput(name, f"{cell.label}: {exc.field} {exc.message}") from exc
            raise

    def refine(
        self, video_id: int, axis: axes.Axis, *, keep: axes.Axis | None = None, owner: str | None = None
    ) -> GridView:
        """A new comparison from one cell's video: its recipe shared, `axis` swept (and `keep` as Y when given)."""
        with self.db.read() as session:
            video = library.get(session=session, video_id=video_id)
            recipe = Recipe.from_dict(video.recipe)
        return self.create(request_of(recipe), axis, keep, owner=owner)

    def balanced_vs_quality(self, video_id: int, *, owner: str | None = None) -> GridView:
        """Balanced vs Quality on the video's recipe and seed: a two-cell comparison, the honest way to judge what the
        step cache costs on this prompt. Refused (field "x") on a model without a Balanced step cache."""
        return self.refine(video_id, axes.make_axis("speed", ["quality", "balanced"]), owner=owner)

    def rebuild(self, recipe: dict[str, Any], *, owner: str | None = None) -> GridView:
        """A new comparison from an exported grid's recipe (read from its MP4): the same shared settings and axes.

        Raises:
            InvalidInput: field "recipe": it is not an X/Y comparison's export; as `create` otherwise.
        """
        recorded = recipe.get("comparison") if isinstance(recipe, dict) else None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("x"), dict):
            raise InvalidInput("recipe", "is not an X/Y comparison's export; export a comparison made with axes")
        try:
            x = axes.Axis.from_dict(recorded["x"])
            y = axes.Axis.from_dict(recorded["y"]) if recorded.get("y") else None
            x = axes.make_axis(x.kind, list(x.values), field="x")  # checked again: the file may have been edited
            y = axes.make_axis(y.kind, list(y.values), field="y") if y else None
            base = request_of(Recipe.from_dict(recipe))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput("recipe", f"its comparison record is damaged ({exc})") from exc
        return self.create(base, x, y, owner=owner)

    def find(self, group_id: str) -> GridView | None:
        """The grid of a group (read_grid); None when unknown."""
        return read_grid(self.db, group_id)

    def grid(self, group_id: str) -> GridView:
        """As `find`; NotFound (field "group_id") for an unknown group."""
        found = self.find(group_id)
        if found is None:
            raise NotFound("group_id", f"no comparison {group_id}")
        return found

    def of_video(self, video_id: int) -> GridView:
        """The grid a video belongs to (one of its cells, or an export of it): History reopens it from any of them.

        Raises:
            NotFound: no such video, or one that belongs to no comparison (field "video_id").
        """
        with self.db.read() as session:
            video = library.get(session=session, video_id=video_id)
            group_id = video.group_id
        if group_id is None:
            raise NotFound("video_id", f"video {video_id} belongs to no comparison")
        return self.grid(group_id)

    def recent(self, limit: int = 50) -> list[str]:
        """Group ids of the latest X/Y comparisons, newest first."""
        with self.db.read() as session:
            return [row.group_id for row in grids.recent(session=session, limit=limit)]


def read_grid(db: Database, group_id: str) -> GridView | None:
    """The grid of a group: an X/Y comparison, or a seed comparison read as one seed axis; None when unknown."""
    with db.read() as session:
        row = grids.find(session=session, group_id=group_id)
        group = jobs.group(session=session, group_id=group_id)
        made = library.group(session=session, group_id=group_id)
        views = {job.id: JobView.of(session, job) for job in group}
    if row is None and not group:
        return None
    if row is not None:
        x = axes.Axis.from_dict(row.spec["x"])
        y = axes.Axis.from_dict(row.spec["y"]) if row.spec.get("y") else None
        base, placed = dict(row.spec.get("base", {})), [tuple(cell) for cell in row.cells]
    else:  # a seed comparison from before axes: one seed axis in submission order
        firsts = [job for job in group if job.retry_of is None or job.retry_of not in views]
        seeds = list(dict.fromkeys(job.seed for job in firsts))
        x = axes.Axis("seed", tuple(seeds), tuple(axes.value_label("seed", s) for s in seeds))
        y, base = None, {}
        placed = [(seeds.index(job.seed), 0, job.id) for job in firsts]
    latest = _latest_jobs(group)
    videos = {video.job_id: video for video in made if video.kind == "generated" and video.job_id is not None}
    rows, cols = axes.grid_shape(x, y)
    cells = []
    for cx, cy, first in placed:
        job = views.get(latest.get(first, first))
        label = x.labels[cx] + (f" · {y.labels[cy]}" if y else "")
        values: dict[str, Any] = {x.kind: x.values[cx], **({y.kind: y.values[cy]} if y else {})}
        video = videos.get(job.id) if job else None
        cells.append(GridCell(x=cx, y=cy, label=label, values=values, job=job, video=video))
    exports = [video for video in made if video.kind == "comparison"]
    return GridView(group_id, x, y, rows, cols, base, cells, exports)


def _latest_jobs(group: list[Job]) -> dict[int, int]:
    """Each first job's latest retry (jobs oldest first; a retry names the job it retried)."""
    root: dict[int, int] = {}
    latest: dict[int, int] = {}
    for job in group:
        first = root.get(job.retry_of, job.id) if job.retry_of is not None else job.id
        root[job.id] = first
        latest[first] = job.id
    return latest


def request_fields(data: dict[str, Any]) -> dict[str, Any]:
    """The RecipeRequest fields among `data` (a stored spec's base)."""
    return {k: v for k, v in data.items() if k in _REQUEST_FIELDS}
