"""The Create page's step cache controls: shown for Balanced, refused on their own control, and filled by reuse so a
Balanced video comes back with its own cache and threshold (not the model's default)."""

from __future__ import annotations

import gradio as gr
import pytest

from studio.services.studio import Studio
from studio.ui.create import CreatePage
from studio.ui.recipe_form import FIELD_LABELS, INPUT_FIELDS
from tests.helpers import drain, wait_final
from tests.ui.pages import GOOD

SETTINGS = GOOD | {"speed": "Balanced", "cache": "fbcache", "cache_threshold": "0.2"}


@pytest.fixture
def page(studio: Studio) -> CreatePage:
    create = CreatePage(studio)
    with gr.Blocks() as demo:
        create.build(demo)
    return create


def _flagged(page: CreatePage, **changes: object) -> dict[str, object]:
    values = SETTINGS | changes
    results = page.validate(*(values[name] for name in INPUT_FIELDS))
    return {name: r["message"] for name, r in zip(INPUT_FIELDS, results, strict=True) if not r["is_valid"]}


def test_a_threshold_out_of_range_is_refused_on_its_control_with_the_range(page: CreatePage) -> None:
    assert _flagged(page) == {}
    assert _flagged(page, cache_threshold="") == {}  # empty: the model's default
    not_a_number = _flagged(page, cache_threshold="lots")
    assert list(not_a_number) == ["cache_threshold"] and "number from 0.001 to 1" in str(
        not_a_number["cache_threshold"]
    )
    flagged = _flagged(page, cache_threshold="5")
    assert list(flagged) == ["cache_threshold"] and "outside the allowed range 0.001–1" in str(
        flagged["cache_threshold"]
    )
    assert FIELD_LABELS["cache_threshold"] == "Step cache threshold"
    assert _flagged(page, speed="Quality", cache_threshold="5") == {}  # hidden at other speeds: it counts for nothing


def test_the_cache_controls_show_for_balanced_only(page: CreatePage) -> None:
    assert page.show_cache("Balanced")["visible"] is True
    assert page.show_cache("Quality")["visible"] is False


def test_reusing_a_balanced_video_brings_back_its_own_cache(page: CreatePage, studio: Studio) -> None:
    updates = drain(page.jobs.generate(**SETTINGS))  # type: ignore[arg-type]
    view = wait_final(studio, updates[0][page.job_state])
    assert view.video is not None
    recipe = view.video.recipe
    assert (recipe["speed"], recipe["cache"], recipe["cache_threshold"]) == ("balanced", "fbcache", 0.2)

    filled = page.fill_from_recipe(recipe)
    assert filled[page.speed_radio] == "Balanced"
    assert (filled[page.cache_radio], filled[page.cache_threshold_box]) == ("fbcache", "0.2")

    # Generate again from what was filled: the same cache, not the preset's magcache 0.06
    again = SETTINGS | {"cache": filled[page.cache_radio], "cache_threshold": filled[page.cache_threshold_box]}
    second = wait_final(studio, drain(page.jobs.generate(**again))[0][page.job_state])  # type: ignore[arg-type]
    assert (second.recipe.cache, second.recipe.cache_threshold) == ("fbcache", 0.2)


def test_reusing_another_speed_resets_the_cache_to_the_models_default(page: CreatePage) -> None:
    filled = page.fill_from_recipe({"prompt": "x", "speed": "quality", "cache": None, "cache_threshold": None})
    assert filled[page.speed_radio] == "Quality"
    assert (filled[page.cache_radio], filled[page.cache_threshold_box]) == ("magcache", "")
