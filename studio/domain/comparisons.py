"""Seed comparison: which seeds a group runs, and how its clips are labelled (pure).

A group is one recipe run with 2–8 seeds; its videos are tiled side by side (studio.media.tiles) to compare them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Literal

from studio.domain.errors import InvalidInput
from studio.domain.recipe import MAX_SEED, random_seed

MIN_SEEDS, MAX_SEEDS = 2, 8  # edits.tile lays out 2–8 clips
MAX_PICKED = 4  # videos picked by hand from the history for one comparison
_MAX_DRAWS = 1000  # random draws per seed before giving up (a collision in 2^32 is a one-in-a-billion event)

SeedMode = Literal["list", "random", "consecutive"]


def seeds_for(
    mode: SeedMode,
    *,
    seeds: str | Sequence[int] = "",
    count: int = 4,
    start: int = 0,
    rng: Callable[[], int] = random_seed,
) -> list[int]:
    """The seeds of a comparison group.

    Args:
        mode: "list" takes `seeds` (numbers, or text such as "1, 2, 3": commas and/or spaces); "random" draws
            `count` distinct seeds from `rng`; "consecutive" gives `count` seeds from `start` up.

    Raises:
        InvalidInput: field "seeds", "count" or "start", with the allowed range.
    """
    if mode == "list":
        return check_seeds(parse_seeds(seeds) if isinstance(seeds, str) else list(seeds))
    if mode not in ("random", "consecutive"):
        raise InvalidInput("mode", f"{mode!r} is not one of list, random, consecutive")
    _check_count(count)
    if mode == "random":
        drawn: dict[int, None] = {}  # ordered set: the seeds come out in the order drawn
        for _ in range(count * _MAX_DRAWS):
            drawn[rng()] = None
            if len(drawn) == count:
                return check_seeds(list(drawn))
        raise RuntimeError(f"the random source gave fewer than {count} distinct seeds in {count * _MAX_DRAWS} draws")
    last_start = MAX_SEED - (count - 1)
    if not 0 <= start <= last_start:
        raise InvalidInput(
            "start", f"{start} is outside 0–{last_start} (the last of {count} seeds must be ≤ {MAX_SEED})"
        )
    return list(range(start, start + count))


def parse_seeds(text: str) -> list[int]:
    """Whole numbers separated by commas and/or spaces, in the order given (not checked against the range).

    Raises:
        InvalidInput: field "seeds", naming the first word that is not a whole number.
    """
    numbers = []
    for word in re.split(r"[,\s]+", text.strip()):
        if not word:
            continue
        if not re.fullmatch(r"[+-]?\d{1,20}", word):
            shown = word if len(word) <= 20 else word[:20] + "…"
            raise InvalidInput("seeds", f"{shown!r} is not a whole number; give 0–{MAX_SEED}, e.g. 1, 2, 3")
        numbers.append(int(word))
    return numbers


def check_seeds(seeds: Sequence[int]) -> list[int]:
    """The seeds as a list when there are 2–8 of them, each in 0…MAX_SEED and each once.

    Raises:
        InvalidInput: field "seeds".
    """
    if not MIN_SEEDS <= len(seeds) <= MAX_SEEDS:
        raise InvalidInput("seeds", f"give {MIN_SEEDS}–{MAX_SEEDS} seeds (got {len(seeds)})")
    seen: set[int] = set()
    for seed in seeds:
        if not 0 <= seed <= MAX_SEED:
            raise InvalidInput("seeds", f"{seed} is outside 0–{MAX_SEED}")
        if seed in seen:
            raise InvalidInput("seeds", f"{seed} is given twice; each seed once")
        seen.add(seed)
    return list(seeds)


def _check_count(count: int) -> None:
    if not MIN_SEEDS <= count <= MAX_SEEDS:
        raise InvalidInput("count", f"give {MIN_SEEDS}–{MAX_SEEDS} seeds (got {count})")


def seed_order(seeds: Sequence[int], video_seeds: Sequence[int]) -> list[int]:
    """Indexes that put videos (given by their seeds) in the order their seeds were submitted; unknown seeds last."""
    rank = {seed: n for n, seed in reversed(list(enumerate(seeds)))}
    return sorted(range(len(video_seeds)), key=lambda k: (rank.get(video_seeds[k], len(seeds)), k))


def grid_shape(count: int) -> tuple[int, int]:
    """Rows and columns of a comparison of `count` clips, the same on the page (ui.sync_grid) and in the exported MP4
    (media.tiles): one row up to 3 clips, then two rows (4 → 2×2, 5–6 → 2×3, 7–8 → 2×4), filled row by row."""
    if count <= 3:
        return 1, max(count, 1)
    return 2, (count + 1) // 2


def group_label(seed: int) -> str:
    """The label of one clip in a group's comparison."""
    return f"seed {seed}"


def picked_label(seed: int, video_id: int) -> str:
    """The label of one clip in a comparison of videos picked from the history (they may share a seed)."""
    return f"seed {seed} · #{video_id}"


def comparison_info(*, group_id: str | None, seeds: Sequence[int], video_ids: Sequence[int]) -> dict[str, Any]:
    """What a comparison video's recipe records about the clips it tiles, in grid order."""
    return {"comparison": {"group_id": group_id, "seeds": list(seeds), "video_ids": list(video_ids)}}
