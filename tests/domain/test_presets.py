import json
from pathlib import Path

import pytest

from studio.domain.preset_settings import UnknownModelError, resolve
from studio.domain.presets import PRESETS, REAL_PRESETS, TINY_PRESETS


def test_real_presets_carry_the_official_facts() -> None:
    a14b, ti2v, small = (PRESETS[k] for k in REAL_PRESETS)
    assert a14b.source == "Wan-AI/Wan2.2-T2V-A14B-Diffusers"
    assert ti2v.source == "Wan-AI/Wan2.2-TI2V-5B-Diffusers"
    assert small.source == "Wan-AI/Wan2.1-T2V-1.3B-Diffusers"
    assert a14b.layout_info.two_experts and a14b.layout_info.boundary_ratio == 0.875
    assert (a14b.fps, a14b.steps, a14b.guidance, a14b.guidance_2, a14b.flow_shift) == (16, 40, 4.0, 3.0, 12.0)
    assert ti2v.layout_info.expand_timesteps and ti2v.size_multiple == 32 and ti2v.fps == 24
    assert (ti2v.default_frames, ti2v.steps, ti2v.flow_shift) == (121, 50, 5.0)
    assert (small.steps, small.guidance, small.flow_shift, small.default_frames) == (50, 5.0, 3.0, 81)
    for preset in (a14b, ti2v, small):
        assert preset.negative_prompt.startswith("色调艳丽")
        assert preset.max_prompt_tokens == 512


@pytest.mark.parametrize(("tiny", "real"), zip(TINY_PRESETS, REAL_PRESETS, strict=True))
def test_tiny_presets_mirror_the_real_layouts_at_preview_size(tiny: str, real: str) -> None:
    small, big = PRESETS[tiny], PRESETS[real]
    assert small.tiny and small.source is None
    assert (small.layout, small.fps, small.size_multiple) == (big.layout, big.fps, big.size_multiple)
    assert max(max(size) for size in small.qualities.values()) <= 192


@pytest.mark.parametrize(
    ("gpu_gb", "expected"),
    [
        (None, "tiny-a14b"),
        (4.0, "tiny-a14b"),
        (8.0, "wan2.1-t2v-1.3b"),
        (24.0, "wan2.2-ti2v-5b"),
        (80.0, "wan2.2-t2v-a14b"),
        (141.0, "wan2.2-t2v-a14b"),
    ],
)
def test_auto_picks_by_gpu_memory(gpu_gb: float | None, expected: str) -> None:
    assert resolve("auto", gpu_memory_gb=gpu_gb).key == expected


def test_resolve_by_key_and_by_hub_id() -> None:
    assert resolve("tiny-1.3b").key == "tiny-1.3b"
    assert resolve("Wan-AI/Wan2.2-TI2V-5B-Diffusers").key == "wan2.2-ti2v-5b"


def _write_index(folder: Path, **entries: object) -> Path:
    folder.mkdir()
    index = {"_class_name": "WanPipeline", "transformer": ["diffusers", "WanTransformer3DModel"], **entries}
    (folder / "model_index.json").write_text(json.dumps(index))
    return folder


def test_local_folder_layout_is_read_from_model_index(tmp_path: Path) -> None:
    two = _write_index(tmp_path / "two", transformer_2=["diffusers", "WanTransformer3DModel"])
    ti2v = _write_index(tmp_path / "ti2v", transformer_2=[None, None], expand_timesteps=True)
    plain = _write_index(tmp_path / "plain")
    assert resolve(str(two)).layout == "a14b"
    assert resolve(str(ti2v)).layout == "ti2v-5b"
    resolved = resolve(str(plain))
    assert resolved.layout == "1.3b" and resolved.source == str(plain) and resolved.key == str(plain)


def test_unknown_model_names_the_allowed_values(tmp_path: Path) -> None:
    with pytest.raises(UnknownModelError, match=r"model: cannot use 'nope/missing'.*Allowed: auto, wan2.2-t2v-a14b"):
        resolve("nope/missing")
    not_wan = tmp_path / "sd"
    not_wan.mkdir()
    (not_wan / "model_index.json").write_text('{"_class_name": "StableDiffusionPipeline"}')
    with pytest.raises(UnknownModelError, match="not a WanPipeline"):
        resolve(str(not_wan))
