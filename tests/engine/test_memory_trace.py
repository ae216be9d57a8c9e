"""studio.engine.memory_plan's traced constants against fresh FakeTensorMode traces of the real diffusers modules.

The constants were traced at full size (bench/memory_trace.py); here smaller clips are traced (seconds on the CPU,
no memory), so a diffusers upgrade that changes what a forward or a decode keeps alive shows up as a failure.
"""

from __future__ import annotations

import pytest

from studio.domain.preset_types import LayoutName
from studio.domain.presets import PRESETS
from studio.engine import memory_plan
from studio.engine.memory_trace import (
    TRANSFORMER_SHAPES,
    VAE_CONFIGS,
    cache_state_gb,
    decode_peak_gb,
    encode_peak_gb,
    transformer_config,
    transformer_peak_gb,
)

LAYOUT_PRESETS: dict[LayoutName, str] = {
    "a14b": "wan2.2-t2v-a14b",
    "ti2v-5b": "wan2.2-ti2v-5b",
    "1.3b": "wan2.1-t2v-1.3b",
}


def _latent_shape(layout: LayoutName, width: int, height: int, frames: int) -> tuple[int, ...]:
    info = PRESETS[LAYOUT_PRESETS[layout]].layout_info
    channels = TRANSFORMER_SHAPES[layout][3]
    return (1, channels, (frames - 1) // info.vae_temporal + 1, height // info.vae_spatial, width // info.vae_spatial)


def test_the_traced_shapes_are_the_memory_model_s() -> None:
    for layout, (heads, head_dim, ffn, _) in TRANSFORMER_SHAPES.items():
        dim, memory_ffn, _ = memory_plan.DIMS[layout]
        assert (heads * head_dim, ffn) == (dim, memory_ffn)


@pytest.mark.parametrize(
    ("layout", "size"), [("a14b", (832, 480, 33)), ("ti2v-5b", (640, 352, 41)), ("1.3b", (480, 832, 33))]
)
def test_transformer_activations_match_a_trace(layout: LayoutName, size: tuple[int, int, int]) -> None:
    width, height, frames = size
    preset = PRESETS[LAYOUT_PRESETS[layout]]
    traced = transformer_peak_gb(
        transformer_config(layout),
        _latent_shape(layout, width, height, frames),
        expand_timesteps=preset.layout_info.expand_timesteps,
    )
    estimate = memory_plan.activation_gb(preset, memory_plan.latent_tokens(preset, width, height, frames))
    assert traced > 0.3  # a real forward at a real width, not an empty trace
    assert estimate == pytest.approx(traced, rel=0.05)


@pytest.mark.parametrize(("layout", "size"), [("a14b", (832, 480, 17)), ("ti2v-5b", (640, 352, 41))])
def test_untiled_decode_matches_a_trace(layout: LayoutName, size: tuple[int, int, int]) -> None:
    width, height, frames = size
    traced = decode_peak_gb(VAE_CONFIGS[layout], _latent_shape(layout, width, height, frames), tiled=False)
    estimate = memory_plan.decode_gb(PRESETS[LAYOUT_PRESETS[layout]], width, height, frames, tiled=False)
    assert estimate == pytest.approx(traced, rel=0.1)


def test_tiled_decode_is_bounded_by_its_estimate() -> None:
    width, height, frames = 832, 480, 17
    traced = decode_peak_gb(VAE_CONFIGS["a14b"], _latent_shape("a14b", width, height, frames), tiled=True)
    untiled = memory_plan.decode_gb(PRESETS["wan2.2-t2v-a14b"], width, height, frames, tiled=False)
    estimate = memory_plan.decode_gb(PRESETS["wan2.2-t2v-a14b"], width, height, frames, tiled=True)
    assert traced < untiled / 3  # tiling is what makes a decode fit
    assert traced <= estimate <= 1.5 * traced  # conservative, not wasteful


@pytest.mark.parametrize(
    ("key", "size", "tiled"),
    [
        ("wan2.2-i2v-a14b", (832, 480, 33), False),  # the start image and 32 frames of zeros, at full resolution
        ("wan2.2-i2v-a14b", (832, 480, 17), True),
        ("wan2.2-ti2v-5b", (640, 352, 41), False),  # the start image alone
    ],
)
def test_image_encode_matches_a_trace(key: str, size: tuple[int, int, int], tiled: bool) -> None:
    width, height, frames = size
    preset = PRESETS[key]
    encoded = 1 if preset.layout_info.expand_timesteps else frames  # as WanImageToVideoPipeline.prepare_latents
    traced = encode_peak_gb(VAE_CONFIGS[preset.layout], width, height, encoded, tiled=tiled)
    estimate = memory_plan.encode_gb(preset, width, height, frames, tiled=tiled)
    assert traced > 0.3
    if tiled:
        assert traced <= estimate <= 1.5 * traced  # conservative, not wasteful
    else:
        assert estimate == pytest.approx(traced, rel=0.1)
    # Below the decode of the same clip, so it does not raise the plan's peak
    assert estimate < memory_plan.decode_gb(preset, width, height, frames, tiled=tiled)


@pytest.mark.parametrize(("key", "method"), [("wan2.2-i2v-a14b", "fbcache"), ("wan2.2-ti2v-5b", "magcache")])
def test_step_cache_state_matches_a_trace(key: str, method: str) -> None:
    preset = PRESETS[key]
    width, height, frames = 448, 256, 17  # the state is a count of hidden states: a small clip shows it
    config = transformer_config(preset.layout)
    info = preset.layout_info
    latent = (1, config["in_channels"], (frames - 1) // 4 + 1, height // info.vae_spatial, width // info.vae_spatial)
    state, peak = cache_state_gb(config, latent, method=method, expand_timesteps=info.expand_timesteps)
    tokens = memory_plan.latent_tokens(preset, width, height, frames)
    hidden_gb = tokens * memory_plan.DIMS[preset.layout][0] * 2 / 1e9
    assert state == pytest.approx(memory_plan.CACHE_TENSORS[method] * memory_plan.CACHE_CONTEXTS * hidden_gb, rel=0.01)
    # A cached forward stays within the plain forward plus the whole state
    assert state <= memory_plan.cache_state_gb(preset, tokens)
    assert peak <= memory_plan.activation_gb(preset, tokens) + memory_plan.cache_state_gb(preset, tokens)
