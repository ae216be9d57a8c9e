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
    decode_peak_gb,
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
