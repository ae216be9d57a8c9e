"""Image-to-video on the tiny models: the real WanImageToVideoPipeline over the resident pipeline's own modules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import torch

from studio.domain.errors import InvalidInput
from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.engine.pipeline import ResidentPipeline

Loader = Callable[[str], ResidentPipeline]
START = "a" * 64  # image ids: the tests' image source answers for these two
END = "b" * 64


def _image(key: str, width: int, height: int, _fit: str) -> np.ndarray:
    """A start image (bright left half, dark right half) or an end image (the reverse), at the asked size."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    bright = slice(0, width // 2) if key == START else slice(width // 2, width)
    pixels[:, bright] = (250, 200, 40)
    return pixels


@pytest.fixture(scope="module")
def resident(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loader]:
    """Each tiny preset loaded once per module, reading its images from `_image`."""
    models_dir = tmp_path_factory.mktemp("models")
    cache: dict[str, ResidentPipeline] = {}

    def get(key: str) -> ResidentPipeline:
        if key not in cache:
            cache[key] = ResidentPipeline(PRESETS[key], models_dir=models_dir, device="cpu")
            cache[key].load()
            cache[key].image_source = _image
        return cache[key]

    yield get


def _recipe(key: str, **request: Any) -> Recipe:
    fields: dict[str, Any] = {"aspect_ratio": "16:9", "duration_s": 0.5, "steps": 3, "seed": 11} | request
    return build_recipe(RecipeRequest(prompt="a red fox in the snow", **fields), PRESETS[key])


def _distance(frame: np.ndarray, image: np.ndarray) -> float:
    return float(np.abs(frame.astype(np.float64) - image.astype(np.float64)).mean())


def _vae_latent(pipe: Any, image: np.ndarray) -> torch.Tensor:
    """The VAE's latent of a one-frame video of `image` (what the pipelines encode it to)."""
    pixels = torch.from_numpy(image).permute(2, 0, 1)[None, :, None].float() / 127.5 - 1.0
    with torch.no_grad():
        return pipe.vae.encode(pixels).latent_dist.mode()


def test_ti2v_a_start_image_becomes_the_first_frame(resident: Loader) -> None:
    """TI2V-5B keeps the image's latent as the first latent frame: the first decoded frame is the VAE's own picture
    of the image (a random-weight VAE does not reproduce pixels, so that picture is the honest target)."""
    pipeline = resident("tiny-ti2v-5b")
    with_image = pipeline.generate(_recipe("tiny-ti2v-5b", start_image=START)).frames
    without = pipeline.generate(_recipe("tiny-ti2v-5b")).frames  # the same seed, text to video
    image = _image(START, with_image.shape[2], with_image.shape[1], "crop")
    with torch.no_grad():
        decoded = pipeline.pipe.vae.decode(_vae_latent(pipeline.pipe, image)).sample
    target = ((decoded[0, :, 0].permute(1, 2, 0).clamp(-1, 1) + 1) * 127.5).round().numpy()
    assert with_image.shape == without.shape
    assert _distance(with_image[0], target) <= 1.0
    assert _distance(without[0], target) >= 2.0  # measured 3.8 with these seeds
    assert _distance(with_image[-1], without[-1]) > 0.5  # the image also steers the frames after it


def test_i2v_a14b_the_experts_read_the_start_image(resident: Loader) -> None:
    """I2V-A14B's transformers see the start image's latent in their condition channels (16 latents, 4 mask, 16
    image); a different image gives a different clip under the same seed."""
    pipeline = resident("tiny-i2v-a14b")
    pipe = pipeline.pipe
    seen: list[torch.Tensor] = []
    handle = pipe.transformer.register_forward_pre_hook(
        lambda _m, args, kwargs: seen.append(kwargs["hidden_states"].clone()), with_kwargs=True
    )
    try:
        first = pipeline.generate(_recipe("tiny-i2v-a14b", start_image=START)).frames
    finally:
        handle.remove()
    other = pipeline.generate(_recipe("tiny-i2v-a14b", start_image=END)).frames
    image = _image(START, first.shape[2], first.shape[1], "crop")
    latent = _vae_latent(pipe, image)[0, :, 0]
    assert seen[0].shape[1] == 36
    torch.testing.assert_close(seen[0][0, 20:36, 0], latent, atol=1e-4, rtol=1e-4)
    assert torch.all(seen[0][0, 16:20, 0] == 1)  # the mask marks the first frame as given
    assert not np.array_equal(first, other)  # random experts barely use it, but they do


def test_ti2v_without_an_image_is_the_text_to_video_path(resident: Loader) -> None:
    pipeline = resident("tiny-ti2v-5b")
    first = pipeline.generate(_recipe("tiny-ti2v-5b")).frames
    again = pipeline.generate(_recipe("tiny-ti2v-5b")).frames
    np.testing.assert_array_equal(first, again)
    assert pipeline.pipe.__class__.__name__ == "CachingWanPipeline"


def test_the_image_pipeline_shares_the_resident_modules(resident: Loader) -> None:
    from studio.engine.image_to_video import image_pipeline

    pipe = resident("tiny-ti2v-5b").pipe
    view = image_pipeline(pipe)
    for name in ("transformer", "vae", "text_encoder"):
        assert getattr(view, name) is getattr(pipe, name)
    assert view.config["expand_timesteps"] is True


def test_i2v_a14b_hands_over_between_its_two_experts(resident: Loader) -> None:
    pipeline = resident("tiny-i2v-a14b")
    pipe = pipeline.pipe
    calls: list[str] = []
    handles = [
        pipe.transformer.register_forward_pre_hook(lambda _m, _a: calls.append("high")),
        pipe.transformer_2.register_forward_pre_hook(lambda _m, _a: calls.append("low")),
    ]
    try:
        result = pipeline.generate(_recipe("tiny-i2v-a14b", start_image=START, end_image=END, steps=6))
    finally:
        for handle in handles:
            handle.remove()
    assert pipe.transformer.config.in_channels == 36
    assert calls[0] == "high" and calls[-1] == "low"
    switch = calls.index("low")
    assert all(c == "high" for c in calls[:switch]) and all(c == "low" for c in calls[switch:])
    assert result.frames.dtype == np.uint8


def test_an_end_image_is_given_as_the_last_frame(resident: Loader) -> None:
    """With `last_image`, the frame mask marks the last latent frame as given too, and the clip changes."""
    pipeline = resident("tiny-i2v-a14b")
    masks: list[torch.Tensor] = []
    handle = pipeline.pipe.transformer.register_forward_pre_hook(
        lambda _m, args, kwargs: masks.append(kwargs["hidden_states"][0, 16:20].clone()), with_kwargs=True
    )
    try:
        plain = pipeline.generate(_recipe("tiny-i2v-a14b", start_image=START, steps=1)).frames
        ended = pipeline.generate(_recipe("tiny-i2v-a14b", start_image=START, end_image=END, steps=1)).frames
    finally:
        handle.remove()
    # The mask's 4 channels are the 4 frames of a latent frame: the clip's very last frame is the given one
    assert torch.all(masks[0][:, -1] == 0) and torch.all(masks[-1][3, -1] == 1)
    assert not np.array_equal(plain[-1], ended[-1])


def test_the_image_only_model_refuses_text_alone() -> None:
    with pytest.raises(InvalidInput) as refused:
        _recipe("tiny-i2v-a14b")
    assert refused.value.field == "start_image"
    with pytest.raises(InvalidInput) as refused:
        _recipe("tiny-1.3b", start_image=START)
    assert refused.value.field == "start_image" and "tiny-ti2v-5b" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        _recipe("tiny-ti2v-5b", start_image=START, end_image=END)
    assert refused.value.field == "end_image"
    with pytest.raises(InvalidInput) as refused:
        _recipe("tiny-ti2v-5b", start_image="../../etc/passwd")
    assert refused.value.field == "start_image"
