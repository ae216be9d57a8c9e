import pytest

from studio.domain.errors import InvalidInput
from studio.domain.presets import PRESETS
from studio.domain.recipe import MAX_SEED, Recipe, RecipeRequest, build_recipe

A14B = PRESETS["wan2.2-t2v-a14b"]
TI2V = PRESETS["wan2.2-ti2v-5b"]


def test_defaults_are_the_models_own_not_diffusers_call_defaults() -> None:
    recipe = build_recipe(RecipeRequest(prompt="a fox"), A14B, seed_source=lambda: 7)
    assert (recipe.steps, recipe.guidance, recipe.guidance_2, recipe.flow_shift) == (40, 4.0, 3.0, 12.0)
    assert (recipe.width, recipe.height, recipe.num_frames, recipe.fps) == (1280, 720, 81, 16)
    assert recipe.negative_prompt == A14B.negative_prompt
    recipe = build_recipe(RecipeRequest(prompt="a fox"), TI2V, seed_source=lambda: 7)
    assert (recipe.steps, recipe.guidance, recipe.guidance_2, recipe.flow_shift) == (50, 5.0, None, 5.0)
    assert (recipe.width, recipe.height, recipe.num_frames, recipe.fps) == (1280, 704, 121, 24)


def test_random_seed_is_resolved_to_a_concrete_integer() -> None:
    recipe = build_recipe(RecipeRequest(prompt="x", seed=-1), A14B, seed_source=lambda: 123456)
    assert recipe.seed == 123456
    assert build_recipe(RecipeRequest(prompt="x", seed=-1), A14B).seed in range(MAX_SEED + 1)
    assert build_recipe(RecipeRequest(prompt="x", seed=MAX_SEED), A14B).seed == MAX_SEED


def test_portrait_duration_and_prompt_are_normalized() -> None:
    recipe = build_recipe(
        RecipeRequest(prompt="  一只猫在雨中跳舞  ", aspect_ratio="9:16", duration_s=3.0, negative_prompt=""), A14B
    )
    assert recipe.prompt == "一只猫在雨中跳舞"
    assert recipe.negative_prompt == ""
    assert (recipe.width, recipe.height, recipe.num_frames) == (720, 1280, 49)


def test_explicit_size() -> None:
    recipe = build_recipe(RecipeRequest(prompt="x", width=640, height=384), A14B)
    assert (recipe.width, recipe.height, recipe.aspect_ratio, recipe.quality) == (640, 384, None, None)


@pytest.mark.parametrize(
    ("request_", "field", "allowed"),
    [
        (RecipeRequest(prompt="   "), "prompt", "1–4000 characters"),
        (RecipeRequest(prompt="x" * 4001), "prompt", "4000"),
        (RecipeRequest(prompt="x", negative_prompt="n" * 5000), "negative_prompt", "4000"),
        (RecipeRequest(prompt="a\x00b"), "prompt", "control character U+0000"),
        (RecipeRequest(prompt="x", negative_prompt="\x1b[31m"), "negative_prompt", "U+001B"),
        (RecipeRequest(prompt="x", seed=-2), "seed", "from 0 to 4294967295"),
        (RecipeRequest(prompt="x", seed=MAX_SEED + 1), "seed", "from 0 to 4294967295"),
        (RecipeRequest(prompt="x", duration_s=30), "duration_s", "from 0.31 to 5.06 s"),
        (RecipeRequest(prompt="x", duration_s=0.1), "duration_s", "from 0.31 to 5.06 s"),
        (RecipeRequest(prompt="x", aspect_ratio="2:1"), "aspect_ratio", "16:9"),
        (RecipeRequest(prompt="x", quality="1080p"), "quality", "720p, 480p"),
        (RecipeRequest(prompt="x", width=1000, height=480), "width", "multiple of 16"),
        (RecipeRequest(prompt="x", width=832), "height", "both width and height"),
        (RecipeRequest(prompt="x", width=4096, height=480), "width", "32–1920 px"),
        (RecipeRequest(prompt="x", steps=0), "steps", "1–100"),
        (RecipeRequest(prompt="x", guidance=25), "guidance", "0–20"),
        (RecipeRequest(prompt="x", guidance_2=-1), "guidance_2", "0–20"),
        (RecipeRequest(prompt="x", flow_shift=0), "flow_shift", "0.5–30"),
    ],
)
def test_bad_input_names_the_field_and_the_allowed_range(request_: RecipeRequest, field: str, allowed: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_recipe(request_, A14B)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")
    assert allowed in str(caught.value)


def test_guidance_2_is_refused_on_single_expert_models() -> None:
    with pytest.raises(InvalidInput, match="guidance_2: only two-expert models"):
        build_recipe(RecipeRequest(prompt="x", guidance_2=3.0), TI2V)


def test_recipe_round_trips_through_a_dict() -> None:
    recipe = build_recipe(RecipeRequest(prompt="x", seed=5), A14B)
    assert Recipe.from_dict({**recipe.to_dict(), "unknown_future_field": 1}) == recipe
    assert recipe.duration_s == pytest.approx(81 / 16)
