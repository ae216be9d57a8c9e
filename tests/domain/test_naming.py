"""Names a person reads: download file names, plurals, a comparison's title, a tile's caption, the grid's shape."""

from __future__ import annotations

import pytest

from studio.domain.comparisons import grid_shape
from studio.domain.naming import MAX_FILE_NAME, download_name, plural, seed_title, slug, tile_caption


@pytest.mark.parametrize(
    ("video_id", "seed", "prompt", "name"),
    [
        (42, 1234, "Red fox", "wan-0042-seed1234-red-fox.mp4"),
        (1, 7, "A café — in Zürich!", "wan-0001-seed7-a-cafe-in-zurich.mp4"),
        (3, 2, "一只狐狸在雪地里奔跑", "wan-0003-seed2.mp4"),  # no ASCII word: id and seed only
        (12345, 0, "", "wan-12345-seed0.mp4"),
        (7, 4294967295, "a paper boat drifting down a flooded street", "wan-0007-seed4294967295-a-paper-boat.mp4"),
    ],
)
def test_download_name_has_id_seed_and_the_prompts_first_words(
    video_id: int, seed: int, prompt: str, name: str
) -> None:
    assert download_name(video_id, seed, prompt) == name
    assert len(name) <= MAX_FILE_NAME and name.isascii()


def test_download_name_never_passes_the_limit_or_leaves_the_ascii_set() -> None:
    name = download_name(9, 99, "extraordinarilylongwordthatcannotfit " * 5 + "<script>/../etc")
    assert name == "wan-0009-seed99.mp4"
    assert slug("../../etc/passwd; rm -rf") == "etc-passwd-rm-rf"


def test_plurals() -> None:
    assert [plural(n, "video") for n in (0, 1, 2)] == ["0 videos", "1 video", "2 videos"]


def test_a_comparison_is_titled_by_all_its_seeds() -> None:
    comparison = {"comparison": {"group_id": "g", "seeds": [1, 2, 3], "video_ids": [4, 5, 6]}}
    assert seed_title(1, comparison) == "Comparison of seeds 1, 2, 3"
    assert seed_title(1, {"seed": 1}) == "seed 1"
    caption = tile_caption(video_id=12, seed=7, model="tiny-1.3b", prompt="a  red\nfox", recipe={})
    assert caption == "#12 · a red fox\nseed 7 · tiny-1.3b"


@pytest.mark.parametrize(
    ("count", "shape"), [(2, (1, 2)), (3, (1, 3)), (4, (2, 2)), (5, (2, 3)), (6, (2, 3)), (7, (2, 4)), (8, (2, 4))]
)
def test_the_grid_has_no_empty_row_and_few_empty_cells(count: int, shape: tuple[int, int]) -> None:
    assert grid_shape(count) == shape
