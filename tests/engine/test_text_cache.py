"""The text-encoding cache: a seed comparison encodes its prompt once, and the frames are those of the plain path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from studio.domain import comparisons
from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.engine.pipeline import ResidentPipeline

TOLERANCE = 2  # uint8 levels


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def cached(models_dir: Path) -> ResidentPipeline:
    """tiny-a14b with the default cache (8 texts)."""
    pipeline = ResidentPipeline(PRESETS["tiny-a14b"], models_dir=models_dir, device="cpu")
    pipeline.load()
    return pipeline


@pytest.fixture(scope="module")
def uncached(models_dir: Path) -> ResidentPipeline:
    """The same model with the cache off: every job encodes its texts, as plain diffusers does."""
    pipeline = ResidentPipeline(PRESETS["tiny-a14b"], models_dir=models_dir, device="cpu", encode_cache_size=0)
    pipeline.load()
    return pipeline


class EncoderCalls:
    """Counts forward calls of a pipeline's text encoder while active."""

    def __init__(self, pipeline: ResidentPipeline) -> None:
        self.count = 0
        self._handle = pipeline.pipe.text_encoder.register_forward_hook(self._seen)

    def _seen(self, *args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        self._handle.remove()


@pytest.fixture
def calls_of() -> Iterator[Any]:
    opened: list[EncoderCalls] = []

    def open_counter(pipeline: ResidentPipeline) -> EncoderCalls:
        opened.append(EncoderCalls(pipeline))
        return opened[-1]

    yield open_counter
    for counter in opened:
        counter.close()


def _group(prompt: str, seeds: list[int], **fields: Any) -> list[Recipe]:
    """A seed comparison: one recipe, several seeds (what Studio.submit_group queues)."""
    base: dict[str, Any] = {"prompt": prompt, "aspect_ratio": "16:9", "duration_s": 0.5, "steps": 2} | fields
    return [build_recipe(RecipeRequest(seed=seed, **base), PRESETS["tiny-a14b"]) for seed in seeds]


def test_a_seed_comparison_encodes_its_prompt_once(
    cached: ResidentPipeline, uncached: ResidentPipeline, calls_of: Any
) -> None:
    recipes = _group("a paper boat in the rain", comparisons.seeds_for("consecutive", count=3, start=40))
    counted, plain = calls_of(cached), calls_of(uncached)

    frames = [cached.generate(recipe).frames.astype(np.int16) for recipe in recipes]
    reference = [uncached.generate(recipe).frames.astype(np.int16) for recipe in recipes]

    assert counted.count == 2  # the prompt and the negative prompt, once each for three videos
    assert plain.count == 6  # without the cache: both texts for every video
    for mine, theirs in zip(frames, reference, strict=True):
        assert np.abs(mine - theirs).max() <= TOLERANCE
    assert (np.abs(frames[0] - frames[1]) > TOLERANCE).mean() > 0.01  # three different videos, not one copied


def test_the_negative_prompt_is_shared_across_prompts(cached: ResidentPipeline, calls_of: Any) -> None:
    cached.generate(_group("a lighthouse at dawn", [1])[0])
    counter = calls_of(cached)
    cached.generate(_group("a lighthouse at dusk", [1])[0])  # new prompt, Wan's negative prompt again
    assert counter.count == 1


def test_old_entries_make_room(models_dir: Path, calls_of: Any) -> None:
    pipeline = ResidentPipeline(PRESETS["tiny-a14b"], models_dir=models_dir, device="cpu", encode_cache_size=2)
    pipeline.load()
    counter = calls_of(pipeline)
    for prompt in ("one", "two", "one"):  # "one" and the negative fill the cache; "two" pushes "one" out
        pipeline.generate(_group(prompt, [3], negative_prompt="blurry")[0])
    assert counter.count == 4  # one, blurry, two, one again; "blurry" stayed, as the most recently used
    assert len(pipeline.pipe.text_cache) == 2


def test_each_job_reports_its_stages_and_peak_memory(cached: ResidentPipeline) -> None:
    result = cached.generate(_group("a cat", [5])[0])
    assert min(result.text_encode_s, result.denoise_s, result.decode_s) >= 0
    assert result.peak_memory_gb == 0.0  # on the CPU: no GPU memory used
