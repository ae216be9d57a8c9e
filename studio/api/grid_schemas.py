"""Bodies of the X/Y comparison routes (studio/api/grids.py); bounds here so a 422 names the field and range."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from studio.api.job_schemas import JobOut
from studio.api.schemas import MAX_ID, STRICT, RecipeIn
from studio.api.video_schemas import VideoOut
from studio.domain import axes
from studio.domain.comparisons import MAX_SEEDS, MIN_SEEDS
from studio.domain.recipe import MAX_PROMPT_CHARS, MAX_SEED, RecipeRequest
from studio.services.grids import GridView

AxisValue = Annotated[str, Field(max_length=MAX_PROMPT_CHARS)] | float | int


class AxisIn(BaseModel):
    """One swept setting. Seeds also take `mode` random (`count`) or consecutive (`count` from `start`)."""

    model_config = STRICT

    kind: Literal[axes.AXIS_KINDS] = Field(description="seed, prompt, negative_prompt, guidance, guidance_2, …")  # type: ignore[valid-type]
    values: list[AxisValue] = Field(
        default_factory=list,
        max_length=axes.MAX_VALUES,
        description="2–8 values (2–4 prompts, or one prompt with {a|b|c} alternatives)",
    )
    mode: Literal["list", "random", "consecutive"] = Field("list", description="seed axes only")
    count: int = Field(4, ge=MIN_SEEDS, le=MAX_SEEDS, description="seed axes, modes random and consecutive")
    start: int = Field(0, ge=0, le=MAX_SEED, description="seed axes, mode consecutive")

    def to_axis(self, field: str) -> axes.Axis:
        return axes.make_axis(self.kind, self.values, field=field, mode=self.mode, count=self.count, start=self.start)


class GridIn(RecipeIn):
    """A comparison: the shared recipe, an X axis and optionally a Y axis (at most 16 cells, all or none)."""

    seed: int = Field(-1, ge=-1, le=MAX_SEED, description="shared seed; -1 draws one for the whole grid")
    x: AxisIn
    y: AxisIn | None = None

    def to_request(self, seed: int | None = None) -> RecipeRequest:
        return super().to_request(self.seed if seed is None else seed)


class RefineIn(BaseModel):
    """A new comparison from one cell's video: its recipe shared, `x` (and `y`) swept."""

    model_config = STRICT

    video_id: int = Field(ge=1, le=MAX_ID)
    x: AxisIn
    y: AxisIn | None = None


class RebuildIn(BaseModel):
    """An exported comparison's recipe (POST /api/v1/recipes/read gives it from the MP4)."""

    model_config = STRICT

    recipe: dict[str, Any]


class AxisOut(BaseModel):
    kind: str
    values: list[Any]
    labels: list[str]


class GridCellOut(BaseModel):
    x: int = Field(description="column: the index of its X value")
    y: int = Field(description="row: the index of its Y value (0 with one axis)")
    label: str = Field(description="the values it differs by, as burned into the export")
    values: dict[str, Any]
    job: JobOut | None = Field(description="its latest job (a retry replaces a failed one)")
    video: VideoOut | None


class GridOut(BaseModel):
    group_id: str
    x: AxisOut
    y: AxisOut | None
    rows: int
    cols: int
    shared: dict[str, Any] = Field(description="the settings every cell shares (as asked)")
    cells: list[GridCellOut] = Field(description="row by row")
    exports: list[VideoOut]

    @classmethod
    def of(cls, grid: GridView) -> GridOut:
        return cls(
            group_id=grid.group_id,
            x=AxisOut(**grid.x.to_dict()),
            y=AxisOut(**grid.y.to_dict()) if grid.y else None,
            rows=grid.rows,
            cols=grid.cols,
            shared=grid.base,
            cells=[
                GridCellOut(
                    x=cell.x,
                    y=cell.y,
                    label=cell.label,
                    values=cell.values,
                    job=JobOut.from_view(cell.job) if cell.job else None,
                    video=VideoOut.from_row(cell.video) if cell.video else None,
                )
                for cell in grid.cells
            ],
            exports=[VideoOut.from_row(video) for video in grid.exports],
        )
