"""Bodies of the seed comparison routes (studio/api/comparisons.py): one recipe under several seeds, its export."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from studio.api.job_schemas import JobOut
from studio.api.schemas import MAX_ID, STRICT, RecipeIn
from studio.api.video_schemas import VideoOut
from studio.domain.comparisons import MAX_PICKED, MAX_SEEDS, MIN_SEEDS
from studio.domain.recipe import MAX_SEED


class ComparisonIn(RecipeIn):
    """One recipe under 2–8 seeds, queued as one group (all or none)."""

    mode: Literal["list", "random", "consecutive"] = Field(
        "random", description="list: the `seeds` given; random: `count` random seeds; consecutive: `count` from `start`"
    )
    seeds: list[Annotated[int, Field(ge=0, le=MAX_SEED)]] | None = Field(
        None, min_length=MIN_SEEDS, max_length=MAX_SEEDS, description="mode list: 2–8 distinct seeds"
    )
    count: int = Field(4, ge=MIN_SEEDS, le=MAX_SEEDS, description="modes random and consecutive: how many seeds")
    start: int = Field(0, ge=0, le=MAX_SEED, description="mode consecutive: the first seed")


class ExportIn(BaseModel):
    """2–4 history videos to tile into one comparison video."""

    model_config = STRICT

    video_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(min_length=MIN_SEEDS, max_length=MAX_PICKED)


class ComparisonOut(BaseModel):
    group_id: str
    seeds: list[int] = Field(description="in the order they were submitted")
    jobs: list[JobOut] = Field(description="the group's jobs (retries included), oldest first")
    videos: list[VideoOut] = Field(description="the videos made so far, in seed order")
    exports: list[VideoOut] = Field(description="comparison videos exported from the group")
