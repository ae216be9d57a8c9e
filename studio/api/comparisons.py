"""/api/v1/comparisons and /api/v1/exports: one recipe under several seeds, followed as a group, tiled into one MP4."""

from __future__ import annotations

from fastapi import APIRouter, status

from studio.api.comparison_schemas import ComparisonIn, ComparisonOut, ExportIn
from studio.api.deps import OwnerDep, StudioDep
from studio.api.job_schemas import JobOut
from studio.api.schemas import GroupId
from studio.api.video_schemas import VideoOut
from studio.domain.errors import NotFound
from studio.services.studio import Studio

router = APIRouter(prefix="/api/v1", tags=["comparisons"])


def _comparison(studio: Studio, group_id: str) -> ComparisonOut:
    views = studio.group_jobs(group_id)
    videos = studio.videos.of_group(group_id)
    if not views and not videos:
        raise NotFound("group_id", f"no comparison {group_id}")
    seeds = list(dict.fromkeys(view.recipe.seed for view in views))
    return ComparisonOut(
        group_id=group_id,
        seeds=seeds,
        jobs=[JobOut.from_view(view) for view in views],
        videos=[VideoOut.from_row(video) for video in videos],
        exports=[VideoOut.from_row(video) for video in studio.videos.exports_of_group(group_id)],
    )


@router.post("/comparisons", status_code=status.HTTP_202_ACCEPTED, response_model=ComparisonOut)
def submit_comparison(body: ComparisonIn, studio: StudioDep, owner: OwnerDep) -> ComparisonOut:
    """Queue the recipe once per seed as one group (all or none, within the queue and your limits); answers at once.

    Follow it with GET /api/v1/comparisons/{group_id} (or each job's events), then export it.
    """
    group_id, _views = studio.compare(
        body.to_request(), mode=body.mode, seeds=body.seeds or [], count=body.count, start=body.start, owner=owner
    )
    return _comparison(studio, group_id)


@router.get("/comparisons/{group_id}", response_model=ComparisonOut)
def get_comparison(group_id: GroupId, studio: StudioDep) -> ComparisonOut:
    """The group's jobs, the videos made so far (in seed order) and its exported comparisons."""
    return _comparison(studio, group_id)


@router.post("/comparisons/{group_id}/export", status_code=status.HTTP_201_CREATED, response_model=VideoOut)
def export_comparison(group_id: GroupId, studio: StudioDep, owner: OwnerDep) -> VideoOut:
    """Tile the group's videos, labelled with their seeds, into one MP4 saved to the history (409-free: a group whose
    jobs have not all ended gets 422 naming group_id). Counts against `max_edits_per_hour`."""
    return VideoOut.from_row(studio.videos.export_group(group_id, owner=owner))


@router.post("/exports", status_code=status.HTTP_201_CREATED, response_model=VideoOut)
def export_videos(body: ExportIn, studio: StudioDep, owner: OwnerDep) -> VideoOut:
    """Tile 2–4 history videos, labelled "seed N · #id", into one MP4 saved to the history."""
    return VideoOut.from_row(studio.videos.export_picked(body.video_ids, owner=owner))
