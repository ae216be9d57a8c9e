"""X/Y comparison axes: parsing what a person typed, labels, the cells of a grid and its limits."""

from __future__ import annotations

import re

import pytest

from studio.domain import axes
from studio.domain.errors import InvalidInput
from studio.domain.recipe import SPEEDS, RecipeRequest

BASE = RecipeRequest(prompt="a paper boat", seed=7, steps=3, duration_s=1.0)


def test_a_prompt_axis_by_lines_or_alternatives() -> None:
    by_lines = axes.make_axis("prompt", "a red fox\n\n a blue fox \n")
    assert by_lines.values == ("a red fox", "a blue fox")
    assert axes.expand_alternatives("a {red|blue|green} fox") == ["a red fox", "a blue fox", "a green fox"]
    assert axes.expand_alternatives("a {red|blue} fox in {snow | rain}") == [
        "a red fox in snow",
        "a red fox in rain",
        "a blue fox in snow",
        "a blue fox in rain",
    ]
    assert axes.expand_alternatives("no choices {here}") == ["no choices {here}"]
    templated = axes.make_axis("prompt", ["一只{猫|狗}在雪地里"])
    assert templated.values == ("一只猫在雪地里", "一只狗在雪地里")
    long = "x" * 60
    assert axes.make_axis("prompt", [long, "y"]).labels[0] == "x" * 39 + "…"
    # Labels show the wording that differs, not a shared beginning cut at 40 characters
    assert axes.make_axis(
        "prompt", ["A paper boat drifting down a rainy street", "A paper boat drifting down a canal at dusk"]
    ).labels == (
        "…rainy street",
        "…canal at dusk",
    )
    assert axes.differing_words(["a fox", "a fox jumping"]) == ["a fox", "…jumping"]


@pytest.mark.parametrize(
    ("kind", "values", "expected", "labels"),
    [
        ("guidance", "3, 5 7", (3.0, 5.0, 7.0), ("guidance 3", "guidance 5", "guidance 7")),
        ("guidance_2", [2, 3.5], (2.0, 3.5), ("guidance 2 2", "guidance 2 3.5")),
        ("flow_shift", "5 12", (5.0, 12.0), ("shift 5", "shift 12")),
        ("steps", "10, 20", (10, 20), ("10 steps", "20 steps")),
        ("duration_s", "1 2.5", (1.0, 2.5), ("1 s", "2.5 s")),
        ("speed", "Quality fast", ("quality", "fast"), ("Quality", "Fast")),
        ("aspect_ratio", "16:9, 9:16", ("16:9", "9:16"), ("16:9", "9:16")),
        ("seed", "4 2", (4, 2), ("seed 4", "seed 2")),
        ("negative_prompt", "blurry\nstatic", ("blurry", "static"), ("negative: blurry", "negative: static")),
    ],
)
def test_axis_values_and_labels(kind: str, values: object, expected: tuple[object, ...], labels: tuple[str]) -> None:
    axis = axes.make_axis(kind, values)  # type: ignore[arg-type]
    assert axis.values == expected and axis.labels == labels
    assert axes.Axis.from_dict(axis.to_dict()) == axis


def test_the_speed_axis_offers_every_speed_the_recipe_knows() -> None:
    assert axes.make_axis("speed", list(SPEEDS)).values == SPEEDS


def test_seed_axes_take_the_seed_comparison_modes() -> None:
    draws = iter(range(100, 200))
    assert axes.make_axis("seed", mode="random", count=3, rng=lambda: next(draws)).values == (100, 101, 102)
    assert axes.make_axis("seed", mode="consecutive", count=2, start=9).values == (9, 10)


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        ("colour", "1 2", "x", "'colour' is not an axis"),
        ("guidance", "3", "x", "give 2–8 values of guidance (got 1)"),
        ("guidance", "1 2 3 4 5 6 7 8 9", "x", "(got 9)"),
        ("guidance", "3 three", "x", "guidance: 'three' is not a number"),
        ("steps", "10 2.5", "x", "steps: '2.5' is not a whole number"),
        ("guidance", "3 3.0", "x", "guidance 3.0 is given twice"),
        ("speed", "quality turbo", "x", "'turbo' is not a speed"),
        ("prompt", "only one", "x", "give 2–4 prompts"),
        ("prompt", "a\nb\nc\nd\ne", "x", "(got 5)"),
        ("seed", "1 1", "x", "seeds: 1 is given twice"),
    ],
)
def test_bad_axes_name_the_axis_and_what_is_allowed(kind: str, values: str, field: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as caught:
        axes.make_axis(kind, values, field=field)
    assert caught.value.field == field


def test_a_two_axis_grid_runs_row_by_row_with_everything_else_shared() -> None:
    x = axes.make_axis("prompt", ["a {red|blue} fox"])
    y = axes.make_axis("guidance", "3 5", field="y")
    cells = axes.expand(BASE, x, y)

    assert [(c.x, c.y) for c in cells] == [(0, 0), (1, 0), (0, 1), (1, 1)]
    assert [(c.request.prompt, c.request.guidance) for c in cells] == [
        ("a red fox", 3.0),
        ("a blue fox", 3.0),
        ("a red fox", 5.0),
        ("a blue fox", 5.0),
    ]
    assert [c.label for c in cells] == [
        "…red… · guidance 3",
        "…blue… · guidance 3",
        "…red… · guidance 5",
        "…blue… · guidance 5",
    ]
    assert {(c.request.seed, c.request.steps, c.request.duration_s) for c in cells} == {(7, 3, 1.0)}
    assert axes.grid_shape(x, y) == (2, 2)


def test_a_random_shared_seed_is_drawn_once_for_the_whole_grid() -> None:
    draws = iter([11, 22, 33])
    x = axes.make_axis("flow_shift", "5 12")
    cells = axes.expand(RecipeRequest(prompt="p"), x, seed_source=lambda: next(draws))
    assert [c.request.seed for c in cells] == [11, 11]
    seeds = axes.make_axis("seed", "1 2")
    assert [c.request.seed for c in axes.expand(RecipeRequest(prompt="p"), seeds)] == [1, 2]  # the axis' seeds


def test_one_axis_lays_out_as_the_seed_comparison() -> None:
    x = axes.make_axis("steps", "1 2 3 4")
    assert axes.grid_shape(x, None) == (2, 2)
    assert [c.label for c in axes.expand(BASE, x)] == ["1 steps", "2 steps", "3 steps", "4 steps"]


def test_grid_limits() -> None:
    x = axes.make_axis("steps", "1 2 3 4 5")
    y = axes.make_axis("guidance", "1 2 3 4", field="y")
    with pytest.raises(InvalidInput, match=re.escape("5 × 4 = 20 cells; at most 16")) as caught:
        axes.expand(BASE, x, y)
    assert caught.value.field == "y"
    assert len(axes.expand(BASE, axes.make_axis("steps", "1 2 3 4"), y)) == 16
    with pytest.raises(InvalidInput, match="X already sweeps steps") as same:
        axes.expand(BASE, x, axes.make_axis("steps", "7 8"))
    assert same.value.field == "y"


def test_grid_info_records_axes_and_cells_within_the_stored_recipe_limits() -> None:
    from studio.domain.recipe import check_stored

    x, y = axes.make_axis("seed", "1 2 3 4"), axes.make_axis("prompt", "a\nb\nc\nd", field="y")
    info = axes.grid_info("g", x, y, [(c % 4, c // 4, 100 + c) for c in range(16)])
    assert info["comparison"]["x"]["values"] == [1, 2, 3, 4]
    assert info["comparison"]["cells"][5] == [1, 1, 105]
    check_stored({"prompt": "a", **info})  # raises if too deep or too large


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("seed", [0.0, ""], "seed: '' is not a number"),
        ("seed", [1, True], "seed: 'True' is not a number"),
        ("seed", [1, 2.5], "seed: '2.5' is not a whole number"),
        ("steps", "1 " + "9" * 400, "is not a number"),
        ("guidance", "3 1e9", "'1e9' is not a number"),
    ],
)
def test_values_of_the_wrong_type_are_refused_on_the_axis(kind: str, values: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=re.escape(message)) as caught:
        axes.make_axis(kind, values, field="x")  # type: ignore[arg-type]
    assert caught.value.field == "x"
    assert axes.make_axis("seed", [3.0, 4]).values == (3, 4)


def test_alternatives_are_counted_before_they_are_expanded() -> None:
    with pytest.raises(InvalidInput, match=re.escape("the {a|b} groups make 1048576 prompts; at most 4")):
        axes.make_axis("prompt", ["{a|b}" * 20])
    with pytest.raises(InvalidInput, match=re.escape("make 6 prompts")):
        axes.make_axis("prompt", ["a {red|blue|green} fox in {snow|rain}"])
