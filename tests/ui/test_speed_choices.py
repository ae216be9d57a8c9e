"""The Create page's Speed radio: Balanced where the model has a step cache, with the model's own sampling."""

from __future__ import annotations

from dataclasses import replace

from studio.domain.preset_settings import with_step_cache
from studio.domain.presets import PRESETS
from studio.ui.recipe_form import request_from, speed_choices, speed_defaults, speed_info, speed_label


def test_balanced_is_offered_where_the_model_has_a_step_cache() -> None:
    assert speed_choices(PRESETS["tiny-a14b"]) == ["Quality", "Balanced"]  # no fast LoRA on the tiny preset
    assert speed_choices(replace(PRESETS["tiny-a14b"], fast_lora="some/lora")) == ["Quality", "Balanced", "Fast"]
    assert speed_choices(with_step_cache(PRESETS["tiny-a14b"], "none")) == ["Quality"]


def test_the_speed_help_names_only_the_speeds_the_model_offers() -> None:
    assert "Balanced" in speed_info(PRESETS["tiny-a14b"]) and "Fast" not in speed_info(PRESETS["tiny-a14b"])
    assert "Fast: a distilled LoRA" in speed_info(PRESETS["wan2.2-t2v-a14b"])
    assert speed_info(with_step_cache(PRESETS["tiny-a14b"], "none")) == ""  # the radio is hidden then


def test_balanced_asks_for_balanced_with_the_models_own_sampling() -> None:
    preset = PRESETS["wan2.2-t2v-a14b"]
    request = request_from(preset, "a fox", "", "1", False, "16:9", 2.0, "720p", 40, 4.0, 3.0, 12.0, "Balanced")
    assert request.speed == "balanced"
    assert speed_defaults(preset, "Balanced") == speed_defaults(preset, "Quality")


def test_reusing_a_recipe_picks_its_speed_where_the_model_offers_it() -> None:
    assert speed_label("balanced", PRESETS["tiny-1.3b"]) == "Balanced"
    assert speed_label("balanced", with_step_cache(PRESETS["tiny-1.3b"], "none")) == "Quality"
    assert speed_label("fast", PRESETS["tiny-1.3b"]) == "Quality"  # no fast LoRA here
    assert speed_label(None, PRESETS["tiny-1.3b"]) == "Quality"


def test_balanced_is_not_offered_when_the_blocks_are_compiled() -> None:
    compiled = replace(PRESETS["tiny-a14b"], compiled=True)
    assert speed_choices(compiled) == ["Quality"]
    assert speed_choices(replace(compiled, fast_lora="some/lora")) == ["Quality", "Fast"]
    assert speed_label("balanced", compiled) == "Quality"  # reusing a Balanced video falls back to what runs here
