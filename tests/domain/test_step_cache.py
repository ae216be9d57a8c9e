"""Balanced as data: each preset's step cache and its source, the `--cache` setting, and the recipe's checks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from studio.domain.errors import InvalidInput
from studio.domain.preset_settings import with_step_cache
from studio.domain.presets import PRESETS, REAL_PRESETS
from studio.domain.recipe import SPEEDS, Recipe, RecipeRequest, build_recipe
from studio.domain.step_cache import forwards_line, parse_setting, resample


def _request(**fields: object) -> RecipeRequest:
    return RecipeRequest(**({"prompt": "a red fox", "seed": 1} | fields))  # type: ignore[arg-type]


def test_balanced_is_a_speed() -> None:
    assert SPEEDS == ("quality", "fast", "balanced")


@pytest.mark.parametrize("key", [*REAL_PRESETS, "tiny-a14b", "tiny-ti2v-5b", "tiny-1.3b"])
def test_every_preset_names_its_cache_and_its_source(key: str) -> None:
    cache = PRESETS[key].step_cache
    assert cache is not None and cache.method == "magcache"
    assert "MagCache" in cache.source and "arXiv:2506.09045" in cache.source
    assert len(cache.mag_ratios) == PRESETS[key].steps if not PRESETS[key].tiny else len(cache.mag_ratios) >= 40


def test_balanced_uses_the_models_own_steps_and_guidance_and_records_the_cache() -> None:
    preset = PRESETS["wan2.2-t2v-a14b"]
    recipe = build_recipe(_request(speed="balanced"), preset)
    quality = build_recipe(_request(), preset)

    assert replace(recipe, speed="quality", cache=None, cache_threshold=None) == quality
    assert (recipe.cache, recipe.cache_threshold, recipe.lora) == ("magcache", 0.06, None)
    assert Recipe.from_dict(recipe.to_dict()) == recipe


def test_balanced_takes_a_method_and_threshold() -> None:
    recipe = build_recipe(_request(speed="balanced", cache="fbcache", cache_threshold=0.1), PRESETS["tiny-1.3b"])
    assert (recipe.cache, recipe.cache_threshold) == ("fbcache", 0.1)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"speed": "balanced", "cache": "teacache"}, "cache", "magcache, fbcache"),
        ({"speed": "balanced", "cache_threshold": 2.0}, "cache_threshold", "0.001–1"),
        ({"speed": "balanced", "cache_threshold": 0.0}, "cache_threshold", "0.001–1"),
        ({"cache_threshold": 0.1}, "cache_threshold", "only to speed balanced"),
        ({"speed": "quality", "cache": "fbcache"}, "cache", "only to speed balanced"),
    ],
)
def test_bad_cache_settings_name_their_field(fields: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_recipe(_request(**fields), PRESETS["tiny-1.3b"])
    assert caught.value.field == field
    assert words in str(caught.value)


def test_balanced_off_says_what_to_do() -> None:
    preset = with_step_cache(PRESETS["tiny-1.3b"], "none")
    assert preset.step_cache is None
    with pytest.raises(InvalidInput, match="--cache") as caught:
        build_recipe(_request(speed="balanced"), preset)
    assert caught.value.field == "speed"


def test_the_cache_setting() -> None:
    base = PRESETS["wan2.1-t2v-1.3b"].step_cache
    assert parse_setting(None, base) is base
    assert parse_setting("magcache:0.1", base) == replace(base, threshold=0.1)  # type: ignore[arg-type]
    fbc = parse_setting("fbcache", base)
    assert fbc is not None and (fbc.method, fbc.threshold, fbc.mag_ratios) == ("fbcache", 0.05, ())
    assert "not calibrated" in fbc.source
    for bad in ("teacache", "fbcache:lots", "magcache:5"):
        with pytest.raises(InvalidInput) as caught:
            parse_setting(bad, base)
        assert caught.value.field == "cache"
    with pytest.raises(InvalidInput, match="fbcache"):
        parse_setting("magcache", None)  # no calibration to fall back on


def test_resample_and_the_forwards_line() -> None:
    assert resample((1.0, 2.0, 3.0, 4.0, 5.0), 3) == [1.0, 3.0, 5.0]
    assert resample((1.0, 2.0), 4) == [1.0, 1.0, 2.0, 2.0]
    assert forwards_line(57, 80) == "23 of 80 forwards skipped"


def test_balanced_under_compile_is_refused_naming_the_speed_and_what_runs() -> None:
    compiled = replace(PRESETS["tiny-1.3b"], compiled=True)
    with pytest.raises(InvalidInput) as caught:
        build_recipe(_request(speed="balanced"), compiled)
    assert caught.value.field == "speed"
    assert "balanced does not run with --compile; choose quality" in str(caught.value)
    with pytest.raises(InvalidInput, match="choose quality or fast"):
        build_recipe(_request(speed="balanced"), replace(compiled, fast_lora="some/lora"))
    assert build_recipe(_request(), compiled).speed == "quality"
