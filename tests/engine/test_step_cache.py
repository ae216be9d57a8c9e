"""Balanced on the tiny models: diffusers' cache hooks on the real transformers skip forwards, and the count is honest.

MagCache decides from the published magnitude ratios (not from the weights), so the tiny models skip what a real run
at the same step count would; First Block Cache decides from the first block's output, so on random weights its
threshold here is only chosen to make it skip some forwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.engine.pipeline import ResidentPipeline
from studio.engine.step_cache import expert_configs, high_noise_steps
from studio.media import mp4


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ResidentPipeline]]:
    """tiny-1.3b (one transformer) and tiny-a14b (two experts), each loaded once."""
    models_dir = tmp_path_factory.mktemp("models")
    pipelines = {}
    for key in ("tiny-1.3b", "tiny-a14b"):
        pipelines[key] = ResidentPipeline(PRESETS[key], models_dir=models_dir, device="cpu")
        pipelines[key].load()
    yield pipelines


def _recipe(key: str, **fields: Any) -> Recipe:
    request = {"prompt": "a red fox running through snow", "aspect_ratio": "9:16", "duration_s": 0.5, "seed": 7}
    return build_recipe(RecipeRequest(**(request | fields)), PRESETS[key])


class Calls:
    """Counts calls of modules with plain forward pre-hooks of the test's own."""

    def __init__(self, modules: dict[str, torch.nn.Module]) -> None:
        self.counts = dict.fromkeys(modules, 0)
        self._handles = [m.register_forward_pre_hook(self._counter(name)) for name, m in modules.items()]

    def _counter(self, name: str) -> Any:
        def count(_module: torch.nn.Module, _args: Any) -> None:
            self.counts[name] += 1

        return count

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()


@pytest.mark.parametrize(("cache", "threshold"), [(None, None), ("fbcache", 0.3)])
def test_balanced_skips_forwards_and_records_the_count(
    loaded: dict[str, ResidentPipeline], cache: str | None, threshold: float | None
) -> None:
    pipeline = loaded["tiny-1.3b"]
    transformer = pipeline.pipe.transformer
    recipe = _recipe("tiny-1.3b", speed="balanced", cache=cache, cache_threshold=threshold)
    calls = Calls({"forward": transformer.proj_out, "last block": transformer.blocks[-1].attn1})
    try:
        result = pipeline.generate(recipe)
    finally:
        calls.remove()

    assert recipe.steps == 10 and recipe.guidance > 1  # the model's own sampling: two forwards a step
    assert result.forwards_total == calls.counts["forward"] == 2 * recipe.steps
    assert result.forwards_run == calls.counts["last block"]
    assert 0 < result.forwards_run < result.forwards_total  # some skipped, not all
    assert not transformer.is_cache_enabled  # the hooks are gone after the run


def test_a_lower_threshold_skips_fewer_forwards(loaded: dict[str, ResidentPipeline]) -> None:
    pipeline = loaded["tiny-1.3b"]
    default = pipeline.generate(_recipe("tiny-1.3b", speed="balanced"))
    strict = pipeline.generate(_recipe("tiny-1.3b", speed="balanced", cache_threshold=0.001))

    assert strict.forwards_run == strict.forwards_total  # nothing is close enough to reuse
    assert default.forwards_run is not None and default.forwards_run < strict.forwards_run


def test_each_expert_has_its_own_cache_and_the_hand_over_resets_it(loaded: dict[str, ResidentPipeline]) -> None:
    pipeline = loaded["tiny-a14b"]
    pipe = pipeline.pipe
    recipe = _recipe("tiny-a14b", speed="balanced")
    high_steps = high_noise_steps(pipe, recipe.steps)
    assert 0 < high_steps < recipe.steps  # both experts run at the tiny preset's defaults

    seen: list[dict[str, Any]] = []

    def at_low_noise_call(_module: torch.nn.Module, _args: Any) -> None:
        high = pipe.transformer.blocks[0]._diffusers_hook.get_hook("mag_cache_leader_block_hook")
        low = pipe.transformer_2.blocks[0]._diffusers_hook.get_hook("mag_cache_leader_block_hook")
        seen.append(
            {
                "own state": high.state_manager is not low.state_manager,
                "high states": len(high.state_manager._state_cache),
                "high steps": high.config.num_inference_steps,
                "low steps": low.config.num_inference_steps,
            }
        )

    calls = Calls({"high": pipe.transformer.blocks[-1].attn1, "low": pipe.transformer_2.blocks[-1].attn1})
    first_low_calls: list[int] = []
    low_ran = pipe.transformer_2.register_forward_hook(
        lambda *_: first_low_calls.append(calls.counts["low"]) if len(first_low_calls) < 2 else None
    )
    probe = pipe.transformer_2.register_forward_pre_hook(at_low_noise_call)
    try:
        result = pipeline.generate(recipe)
    finally:
        calls.remove()
        probe.remove()
        low_ran.remove()

    assert all(s["own state"] for s in seen)
    assert seen[0]["high steps"] == high_steps and seen[0]["low steps"] == recipe.steps - high_steps
    # At the first low-noise call the high expert still holds its cond and uncond states; from the second on they are
    # gone: the hand-over dropped them.
    assert seen[0]["high states"] == 2
    assert all(s["high states"] == 0 for s in seen[1:])
    assert first_low_calls == [1, 2]  # the low-noise expert computes its first step (both passes): no stale residual
    assert result.forwards_run == calls.counts["high"] + calls.counts["low"] < result.forwards_total


def test_the_published_ratios_dip_where_the_pipeline_hands_over(loaded: dict[str, ResidentPipeline]) -> None:
    """A14B's 40 steps at shift 12 hand over after step 26: where MagCache's A14B ratios show the jump (0.655)."""
    pipe = loaded["tiny-a14b"].pipe
    assert pipe.scheduler.config.flow_shift == PRESETS["wan2.2-t2v-a14b"].flow_shift
    cache = PRESETS["wan2.2-t2v-a14b"].step_cache
    assert cache is not None
    assert high_noise_steps(pipe, 40) == 26 == min(range(40), key=lambda i: cache.mag_ratios[i])


def test_expert_configs_split_the_ratios_at_the_hand_over() -> None:
    cache = PRESETS["wan2.2-t2v-a14b"].step_cache
    assert cache is not None
    high, low = expert_configs(cache, 40, 26, two_experts=True)
    assert high.num_inference_steps == 26 and low.num_inference_steps == 14
    assert float(high.mag_ratios[-1]) == pytest.approx(cache.mag_ratios[25])
    assert float(low.mag_ratios[0]) == pytest.approx(0.65523)  # the hand-over's ratio: the low expert computes there
    assert int(high.retention_ratio * 26 + 0.5) == 16  # 0.4 of the whole run's 40 steps stay computed


def test_quality_is_untouched_by_a_balanced_run(loaded: dict[str, ResidentPipeline]) -> None:
    pipeline = loaded["tiny-a14b"]
    quality = _recipe("tiny-a14b")
    before = pipeline.generate(quality)
    balanced = pipeline.generate(_recipe("tiny-a14b", speed="balanced"))
    after = pipeline.generate(quality)

    assert np.array_equal(before.frames, after.frames)
    assert before.forwards_run is None and before.forwards_total is None  # no cache code ran
    assert not np.array_equal(before.frames, balanced.frames)  # skipping forwards does change the picture
    for expert in (pipeline.pipe.transformer, pipeline.pipe.transformer_2):
        assert not expert.is_cache_enabled


def test_a_balanced_recipe_round_trips_through_the_mp4(loaded: dict[str, ResidentPipeline], tmp_path: Path) -> None:
    recipe = _recipe("tiny-1.3b", speed="balanced", cache="fbcache", cache_threshold=0.3)
    result = loaded["tiny-1.3b"].generate(recipe)
    path = tmp_path / "balanced.mp4"
    stored = recipe.to_dict() | {"forwards_run": result.forwards_run, "forwards_total": result.forwards_total}
    mp4.write_mp4(result.frames, path, fps=recipe.fps, recipe=stored)

    read = mp4.read_recipe(path)
    assert read is not None
    assert Recipe.from_dict(read) == recipe
    assert (read["speed"], read["cache"], read["cache_threshold"]) == ("balanced", "fbcache", 0.3)
    assert read["forwards_total"] == 20 and read["forwards_run"] == result.forwards_run
