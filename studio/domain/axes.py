"""X/Y comparison axes: what each axis sweeps, how its values are labelled, and the grid of cells (pure).

A comparison has one or two axes (X, then optionally Y); every cell is the shared request with the axes' values put
in. Cells run as one group (studio.services.grids), row by row: Y outer, X inner.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from studio.domain import comparisons
from studio.domain.errors import InvalidInput
from studio.domain.recipe import SPEEDS, RecipeRequest, random_seed

AxisKind = Literal[
    "seed", "prompt", "negative_prompt", "guidance", "guidance_2", "flow_shift", "steps", "speed", "duration_s",
    "aspect_ratio",
]  # fmt: skip
AXIS_KINDS: tuple[AxisKind, ...] = get_args(AxisKind)
MIN_VALUES, MAX_VALUES = 2, 8  # per axis; a prompt axis takes 2–4 prompts
MAX_PROMPTS = 4
MAX_CELLS = 16  # the whole grid (X × Y)
_ALTERNATIVES = re.compile(r"\{([^{}]*\|[^{}]*)\}")  # "{a|b|c}" in a prompt
_NUMBER = re.compile(r"[+-]?(\d{1,20}(\.\d{0,20})?|\.\d{1,20})")  # no exponents, no 5000-digit numbers
_FLOAT_KINDS = ("guidance", "guidance_2", "flow_shift", "duration_s")

# What a label calls each kind (the value follows): "guidance 5", "seed 42", "20 steps"
_NAMES: dict[str, str] = {
    "seed": "seed",
    "guidance": "guidance",
    "guidance_2": "guidance 2",
    "flow_shift": "shift",
    "speed": "",
    "aspect_ratio": "",
    "negative_prompt": "negative:",
    "prompt": "",
}


@dataclass(frozen=True)
class Axis:
    """One swept setting: its kind, its 2–8 values (in the request's own types) and one label per value."""

    kind: AxisKind
    values: tuple[Any, ...]
    labels: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "values": list(self.values), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Axis:
        return cls(kind=data["kind"], values=tuple(data["values"]), labels=tuple(data["labels"]))


@dataclass(frozen=True)
class Cell:
    """One video of the grid: its column (X) and row (Y) and the request it runs."""

    x: int
    y: int
    request: RecipeRequest
    label: str  # "guidance 5 · prompt: a red fox" — the values that differ, burned into exports


def expand_alternatives(prompt: str) -> list[str]:
    """Every prompt a "{a|b|c}" template stands for, in order ("a {red|blue} fox" → a red fox, a blue fox)."""
    parts = _ALTERNATIVES.split(prompt)  # text, group, text, group, …, text
    texts, groups = parts[::2], [group.split("|") for group in parts[1::2]]
    prompts = []
    for choice in itertools.product(*groups):
        words = [text + alternative.strip() for text, alternative in zip(texts, choice, strict=False)]
        prompts.append(" ".join("".join([*words, texts[-1]]).split()))
    return prompts


def make_axis(
    kind: str,
    values: str | Sequence[Any] = "",
    *,
    field: str = "x",
    mode: comparisons.SeedMode = "list",
    count: int = 4,
    start: int = 0,
    rng: Callable[[], int] = random_seed,
) -> Axis:
    """An axis from what a person typed (text: "3, 5, 7"; prompts one a line) or a list of values.

    Seeds take the seed comparison's modes (list, random `count`, consecutive `count` from `start`). A prompt axis
    takes 2–4 prompts, or one prompt with "{a|b|c}" alternatives, expanded. Values are checked against the recipe's
    ranges when the grid is built (build_recipe); here only their count, type and repeats.

    Raises:
        InvalidInput: `field` ("x" or "y"), naming the value and what is allowed.
    """
    if kind not in AXIS_KINDS:
        raise InvalidInput(field, f"{kind!r} is not an axis; choose one of {', '.join(AXIS_KINDS)}")
    axis_kind: AxisKind = kind  # type: ignore[assignment]
    try:
        if axis_kind == "seed":
            if mode == "list" and not isinstance(values, str):
                values = [_number(value, "seed", field) for value in values]
            seeds = comparisons.seeds_for(mode, seeds=values, count=count, start=start, rng=rng)
            return _axis(axis_kind, seeds, field)
    except InvalidInput as exc:
        raise InvalidInput(field, f"seeds: {exc.message}") from exc
    if axis_kind in ("prompt", "negative_prompt"):
        return _text_axis(axis_kind, values, field)
    items = _split(values, axis_kind)
    if axis_kind == "speed":
        bad = next((v for v in items if str(v).lower() not in SPEEDS), None)
        if bad is not None:
            raise InvalidInput(field, f"{bad!r} is not a speed; choose from {', '.join(SPEEDS)}")
        return _axis(axis_kind, [str(v).lower() for v in items], field)
    if axis_kind == "aspect_ratio":
        return _axis(axis_kind, [str(v) for v in items], field)
    return _axis(axis_kind, [_number(v, axis_kind, field) for v in items], field)


def _split(values: str | Sequence[Any], kind: str) -> list[Any]:
    if isinstance(values, str):
        return [word for word in re.split(r"[,\s]+", values.strip()) if word]
    return list(values)


def _number(value: Any, kind: str, field: str) -> float | int:
    text = str(value).strip()
    if isinstance(value, bool) or not _NUMBER.fullmatch(text):
        raise InvalidInput(field, f"{kind}: {text[:20]!r} is not a number")
    if kind in _FLOAT_KINDS:
        return float(text)
    whole, _, fraction = text.partition(".")
    if fraction.strip("0"):
        raise InvalidInput(field, f"{kind}: {text!r} is not a whole number")
    return int(whole or "0")


def _text_axis(kind: AxisKind, values: str | Sequence[Any], field: str) -> Axis:
    if isinstance(values, str):
        lines = [line.strip() for line in values.splitlines() if line.strip()]
    else:
        lines = [str(v).strip() for v in values if str(v).strip()]
    if len(lines) == 1 and _ALTERNATIVES.search(lines[0]):
        groups = [len(match.group(1).split("|")) for match in _ALTERNATIVES.finditer(lines[0])]
        if math.prod(groups) > MAX_PROMPTS:  # counted before expanding: 20 groups of 2 would be a million prompts
            raise InvalidInput(field, f"the {{a|b}} groups make {math.prod(groups)} prompts; at most {MAX_PROMPTS}")
        lines = expand_alternatives(lines[0])
    if not MIN_VALUES <= len(lines) <= MAX_PROMPTS:
        raise InvalidInput(
            field,
            f"give {MIN_VALUES}–{MAX_PROMPTS} prompts, one a line, or one prompt with {{a|b}} alternatives "
            f"(got {len(lines)})",
        )
    return _axis(kind, lines, field)


def _axis(kind: AxisKind, values: Sequence[Any], field: str) -> Axis:
    if not MIN_VALUES <= len(values) <= MAX_VALUES:
        raise InvalidInput(field, f"give {MIN_VALUES}–{MAX_VALUES} values of {kind} (got {len(values)})")
    twice = next((v for n, v in enumerate(values) if v in values[:n]), None)
    if twice is not None:
        raise InvalidInput(field, f"{kind} {twice!r} is given twice; each value once")
    shown = differing_words(values) if kind in ("prompt", "negative_prompt") else values
    return Axis(kind=kind, values=tuple(values), labels=tuple(value_label(kind, v) for v in shown))


def differing_words(texts: Sequence[Any]) -> list[str]:
    """Each text without the words all of them start and end with ("a red fox", "a blue fox" → "…red…", "…blue…"),
    so prompt labels show the wording that differs rather than a shared beginning cut at 40 characters."""
    split = [str(text).split() for text in texts]
    shortest = min(len(words) for words in split)
    head = 0
    while head < shortest and len({words[head] for words in split}) == 1:
        head += 1
    tail = 0
    while tail < shortest - head and len({words[len(words) - 1 - tail] for words in split}) == 1:
        tail += 1
    out = []
    for words in split:
        middle = " ".join(words[head : len(words) - tail])
        out.append(f"{'…' if head else ''}{middle}{'…' if tail else ''}" if middle else " ".join(words))
    return out


def value_label(kind: str, value: Any) -> str:
    """How a tile names its value: "seed 42", "guidance 5", "shift 12", "20 steps", "2 s", "Fast", "a red fox"."""
    if kind == "steps":
        return f"{value} steps"
    if kind == "duration_s":
        return f"{value:g} s"
    if kind == "speed":
        return str(value).capitalize()
    if kind in ("prompt", "negative_prompt"):
        text = " ".join(str(value).split())
        text = text if len(text) <= 40 else text[:39] + "…"
        return f"{_NAMES[kind]} {text}".strip()
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{_NAMES.get(kind, kind)} {shown}".strip()


def grid_shape(x: Axis, y: Axis | None) -> tuple[int, int]:
    """Rows and columns: Y's values × X's; one axis lays out as the seed comparison does (comparisons.grid_shape)."""
    if y is None:
        return comparisons.grid_shape(len(x.values))
    return len(y.values), len(x.values)


def expand(
    base: RecipeRequest, x: Axis, y: Axis | None = None, *, seed_source: Callable[[], int] = random_seed
) -> list[Cell]:
    """The grid's cells, row by row (Y outer, X inner); everything not on an axis is `base`'s.

    A random seed (-1) is drawn once for the whole grid, so the cells differ only by the axes.

    Raises:
        InvalidInput: field "y": the same kind on both axes, or more than MAX_CELLS cells.
    """
    if y is not None and y.kind == x.kind:
        raise InvalidInput("y", f"X already sweeps {x.kind}; choose another setting for Y")
    count = len(x.values) * (len(y.values) if y else 1)
    if count > MAX_CELLS:
        raise InvalidInput("y", f"{len(x.values)} × {len(y.values) if y else 1} = {count} cells; at most {MAX_CELLS}")
    if base.seed == -1 and "seed" not in (x.kind, y.kind if y else None):
        base = dataclasses.replace(base, seed=seed_source())
    rows = list(enumerate(y.values)) if y else [(0, None)]
    cells = []
    for row, y_value in rows:
        for col, x_value in enumerate(x.values):
            request = _with(base, x.kind, x_value)
            label = x.labels[col]
            if y is not None:
                request = _with(request, y.kind, y_value)
                label = f"{label} · {y.labels[row]}"
            cells.append(Cell(x=col, y=row, request=request, label=label))
    return cells


def _with(request: RecipeRequest, kind: AxisKind, value: Any) -> RecipeRequest:
    if kind == "speed" and value != "balanced":  # the step cache's settings belong to Balanced only
        return dataclasses.replace(request, speed=value, cache=None, cache_threshold=None)
    return dataclasses.replace(request, **{kind: value})


def grid_info(group_id: str, x: Axis, y: Axis | None, cells: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    """What a grid export's recipe records: the axes and, per tile in grid order, its (x, y, video id)."""
    return {
        "comparison": {
            "group_id": group_id,
            "x": x.to_dict(),
            "y": y.to_dict() if y else None,
            "cells": [list(cell) for cell in cells],
        }
    }
