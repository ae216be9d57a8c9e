"""/api/v1/grids: X/Y comparisons — create with axes, read as a grid, refine from a cell, export, rebuild."""

from __future__ import annotations

from fastapi import APIRouter, status

from studio.api.deps import OwnerDep, StudioDep
from studio.api.grid_schemas import GridIn, GridOut, RebuildIn, RefineIn
from studio.api.schemas import GroupId, VideoId
from studio.api.video_schemas import VideoOut

router = APIRouter(prefix="/api/v1", tags=["comparisons"])


@router.post("/grids", status_code=status.HTTP_202_ACCEPTED, response_model=GridOut)
def create_grid(body: GridIn, studio: StudioDep, owner: OwnerDep) -> GridOut:
    """Queue every cell (the shared recipe with the axes' values) as one group: all or none, within the limits."""
    x, y = body.x.to_axis("x"), body.y.to_axis("y") if body.y else None
    return GridOut.of(studio.grids.create(body.to_request(), x, y, owner=owner))


@router.get("/grids/{group_id}", response_model=GridOut)
def get_grid(group_id: GroupId, studio: StudioDep) -> GridOut:
    """The grid: each cell's values, latest job and video, row by row (a seed comparison reads as one seed axis)."""
    return GridOut.of(studio.grids.grid(group_id))


@router.get("/videos/{video_id}/grid", response_model=GridOut)
def grid_of_video(video_id: VideoId, studio: StudioDep) -> GridOut:
    """The comparison a video belongs to (one of its cells or an export of it); 404 naming video_id if none."""
    return GridOut.of(studio.grids.of_video(video_id))


@router.post("/grids/refine", status_code=status.HTTP_202_ACCEPTED, response_model=GridOut)
def refine_grid(body: RefineIn, studio: StudioDep, owner: OwnerDep) -> GridOut:
    """A new comparison from one cell's video: its recipe (seed included) shared, the given axes swept."""
    x, y = body.x.to_axis("x"), body.y.to_axis("y") if body.y else None
    return GridOut.of(studio.grids.refine(body.video_id, x, keep=y, owner=owner))


@router.post("/grids/rebuild", status_code=status.HTTP_202_ACCEPTED, response_model=GridOut)
def rebuild_grid(body: RebuildIn, studio: StudioDep, owner: OwnerDep) -> GridOut:
    """Queue again the comparison an exported grid's recipe records (its shared settings and axes)."""
    return GridOut.of(studio.grids.rebuild(body.recipe, owner=owner))


@router.post("/grids/{group_id}/export", status_code=status.HTTP_201_CREATED, response_model=VideoOut)
def export_grid(group_id: GroupId, studio: StudioDep, owner: OwnerDep) -> VideoOut:
    """One MP4 of the grid with each tile's values burned in, saved to the history; its recipe holds the axes.
    Counts against `max_edits_per_hour`; 422 naming group_id while a cell runs or has no video."""
    return VideoOut.from_row(studio.videos.export_group(group_id, owner=owner))
