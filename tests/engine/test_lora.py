"""Fast mode on the tiny two-expert model: a LoRA made here, in both key formats, loaded unfused into both experts."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from studio.domain.errors import InvalidInput
from studio.domain.preset_settings import with_fast_lora
from studio.domain.preset_types import Preset
from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest, build_recipe
from studio.engine.lora import FAST_ADAPTER, LoraSource, parse_lora
from studio.engine.pipeline import ResidentPipeline
from studio.engine.tiny_models import build_tiny_pipeline

RANK = 4
TOLERANCE = 2  # uint8 levels: float noise, not a different video
# diffusers module (inside a block) -> the original Wan / LightX2V name
WAN_NAMES = {
    "attn1.to_q": "self_attn.q",
    "attn1.to_k": "self_attn.k",
    "attn1.to_v": "self_attn.v",
    "attn1.to_out.0": "self_attn.o",
    "attn2.to_q": "cross_attn.q",
    "attn2.to_k": "cross_attn.k",
    "attn2.to_v": "cross_attn.v",
    "attn2.to_out.0": "cross_attn.o",
    "ffn.net.0.proj": "ffn.0",
    "ffn.net.2": "ffn.2",
}


def _lora_matrices(seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Random rank-4 (down, up) pairs for every linear layer of the tiny transformers' blocks, large enough to show."""
    generator = torch.Generator().manual_seed(seed)
    linears = {
        name: module
        for name, module in build_tiny_pipeline("a14b").transformer.named_modules()
        if isinstance(module, torch.nn.Linear) and name.startswith("blocks.")
    }
    return {
        name: (
            torch.randn(RANK, m.in_features, generator=generator) * 0.5,
            torch.randn(m.out_features, RANK, generator=generator) * 0.5,
        )
        for name, m in linears.items()
    }


def _diffusers_format(matrices: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """diffusers / PEFT keys: transformer.blocks.0.attn1.to_q.lora_A.weight (no alpha: scale 1)."""
    out: dict[str, torch.Tensor] = {}
    for name, (down, up) in matrices.items():
        out[f"transformer.{name}.lora_A.weight"] = down.contiguous()
        out[f"transformer.{name}.lora_B.weight"] = up.contiguous()
    return out


def _wan_format(matrices: dict[str, tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Original Wan / LightX2V keys: diffusion_model.blocks.0.self_attn.q.lora_down.weight, with alpha = rank."""
    out: dict[str, torch.Tensor] = {}
    for name, (down, up) in matrices.items():
        _, block, module = name.split(".", 2)
        base = f"diffusion_model.blocks.{block}.{WAN_NAMES[module]}"
        out[f"{base}.lora_down.weight"] = down.contiguous()
        out[f"{base}.lora_up.weight"] = up.contiguous()
        out[f"{base}.alpha"] = torch.tensor(float(RANK))
    return out


@pytest.fixture(scope="module")
def loras(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two LoRAs (one per expert), each saved in both key formats as .safetensors files."""
    folder = tmp_path_factory.mktemp("loras")
    high, low = _lora_matrices(1), _lora_matrices(2)
    files = {
        "high_wan": folder / "high_wan.safetensors",
        "high_diffusers": folder / "high_diffusers.safetensors",
        "low_wan": folder / "low_wan.safetensors",
        "low_diffusers": folder / "low_diffusers.safetensors",
    }
    save_file(_wan_format(high), files["high_wan"])
    save_file(_diffusers_format(high), files["high_diffusers"])
    save_file(_wan_format(low), files["low_wan"])
    save_file(_diffusers_format(low), files["low_diffusers"])
    return {"files": files, "high": high, "low": low}


def _fast_preset(loras: dict[str, Any], high: str = "high_wan", low: str = "low_diffusers") -> Preset:
    files = loras["files"]
    return with_fast_lora(PRESETS["tiny-a14b"], lora=str(files[high]), lora_2=str(files[low]), scale=1.0, scale_2=1.5)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model is built once and loaded by each pipeline below through from_pretrained."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def plain(models_dir: Path) -> ResidentPipeline:
    """tiny-a14b without any LoRA: the reference for what the base weights make."""
    pipeline = ResidentPipeline(PRESETS["tiny-a14b"], models_dir=models_dir, device="cpu")
    pipeline.load()
    return pipeline


@pytest.fixture(scope="module")
def fast(models_dir: Path, loras: dict[str, Any]) -> Iterator[ResidentPipeline]:
    """tiny-a14b with the fast LoRA: Wan-format file in the high-noise expert, diffusers-format in the low-noise one."""
    pipeline = ResidentPipeline(_fast_preset(loras), models_dir=models_dir, device="cpu")
    pipeline.load()
    yield pipeline


def _request(**fields: Any) -> RecipeRequest:
    return RecipeRequest(**({"prompt": "a red fox running through snow", "aspect_ratio": "9:16", "seed": 7} | fields))


def _frames(pipeline: ResidentPipeline, recipe: Recipe) -> np.ndarray:
    return pipeline.generate(recipe).frames.astype(np.int16)


def _lora_weight(module: torch.nn.Module, which: str) -> torch.Tensor:
    return getattr(module, which)[FAST_ADAPTER].weight.detach()


@pytest.mark.parametrize(("high", "low"), [("high_wan", "low_diffusers"), ("high_diffusers", "low_wan")])
def test_both_key_formats_load_into_both_experts(
    models_dir: Path, loras: dict[str, Any], fast: ResidentPipeline, high: str, low: str
) -> None:
    pipeline = fast if (high, low) == ("high_wan", "low_diffusers") else None
    if pipeline is None:
        pipeline = ResidentPipeline(_fast_preset(loras, high, low), models_dir=models_dir, device="cpu")
        pipeline.load()
    pipe = pipeline.pipe
    assert pipeline.fast_available and pipeline.fast_error is None
    assert pipe.get_list_adapters() == {"transformer": [FAST_ADAPTER], "transformer_2": [FAST_ADAPTER]}
    lora_numel = sum(down.numel() + up.numel() for m in (loras["high"], loras["low"]) for down, up in m.values())
    assert pipeline.fast_lora_gb == pytest.approx(lora_numel * 4 / 1e9)  # fp32 on the CPU; counted in the memory plan

    for expert, matrices, scale in ((pipe.transformer, loras["high"], 1.0), (pipe.transformer_2, loras["low"], 1.5)):
        for name in ("blocks.0.attn1.to_q", "blocks.1.attn2.to_out.0", "blocks.1.ffn.net.2"):
            layer = expert.get_submodule(name)
            down, up = matrices[name]
            assert torch.allclose(_lora_weight(layer, "lora_A"), down)  # alpha = rank: the converter keeps them as is
            assert torch.allclose(_lora_weight(layer, "lora_B"), up)
            assert layer.scaling[FAST_ADAPTER] == pytest.approx(scale)  # each expert its own scale
            assert layer.disable_adapters  # loaded switched off: quality jobs see the base weights
            assert not layer.merged  # never fused


def test_fast_mode_changes_the_output_and_quality_is_untouched(plain: ResidentPipeline, fast: ResidentPipeline) -> None:
    quality = build_recipe(_request(duration_s=1.0, steps=3), plain.preset)
    baseline = _frames(plain, quality)
    assert np.abs(_frames(fast, quality) - baseline).max() <= TOLERANCE  # the LoRA is loaded but off

    fast_recipe = build_recipe(_request(duration_s=1.0, speed="fast"), fast.preset)
    with_lora = _frames(fast, fast_recipe)
    # The same sampling (4 steps, no guidance) on the base weights: what the LoRA changed is the difference.
    same_sampling = replace(fast_recipe, speed="quality", lora=None)
    without_lora = _frames(plain, same_sampling)
    assert (np.abs(with_lora - without_lora) > TOLERANCE).mean() > 0.05

    assert np.abs(_frames(fast, quality) - baseline).max() <= TOLERANCE  # switched off again for quality


def test_fast_recipe_records_mode_lora_and_its_sampling(fast: ResidentPipeline) -> None:
    recipe = build_recipe(_request(speed="fast"), fast.preset)
    assert (recipe.speed, recipe.steps, recipe.guidance, recipe.guidance_2) == ("fast", 4, 1.0, 1.0)
    assert recipe.negative_prompt == ""  # guidance 1 skips the negative prompt: the recipe says so
    assert recipe.lora == fast.preset.fast_lora_label
    assert recipe.lora is not None and "high_wan.safetensors ×1" in recipe.lora and "low_diffusers" in recipe.lora
    assert Recipe.from_dict(recipe.to_dict()) == recipe

    quality = build_recipe(_request(), fast.preset)
    assert (quality.speed, quality.lora, quality.steps) == ("quality", None, fast.preset.steps)
    assert quality.negative_prompt == fast.preset.negative_prompt


def test_fast_job_encodes_no_negative_prompt(fast: ResidentPipeline) -> None:
    encodes: list[int] = []
    hook = fast.pipe.text_encoder.register_forward_hook(lambda *args: encodes.append(1))
    try:
        fast.generate(build_recipe(_request(prompt="a lone boat at night", speed="fast", duration_s=0.5), fast.preset))
    finally:
        hook.remove()
    assert encodes == [1]  # the prompt only: one transformer forward per step, no negative pass


def test_fast_mode_without_a_lora_says_what_to_do() -> None:
    with pytest.raises(InvalidInput, match="speed: fast mode needs a distilled LoRA for tiny-a14b; set --fast-lora"):
        build_recipe(_request(speed="fast"), PRESETS["tiny-a14b"])
    with pytest.raises(InvalidInput, match="speed: 'turbo' is not one of quality, fast"):
        build_recipe(_request(speed="turbo"), PRESETS["tiny-a14b"])  # type: ignore[arg-type]


def test_recipes_stored_before_fast_mode_still_load() -> None:
    recipe = build_recipe(_request(), PRESETS["tiny-a14b"])
    old = {k: v for k, v in recipe.to_dict().items() if k not in ("speed", "lora")}
    assert Recipe.from_dict(old) == recipe
    assert (recipe.speed, recipe.lora) == ("quality", None)


@pytest.mark.parametrize("stray_keys", ["unet.blocks.0.to_q", "transformer.not_a_layer"])
def test_a_lora_that_does_not_fit_turns_only_fast_mode_off(
    models_dir: Path, tmp_path: Path, loras: dict[str, Any], plain: ResidentPipeline, stray_keys: str
) -> None:
    # The high-noise file loads; the low-noise one has no keys for a transformer, or keys for layers it lacks.
    stray = tmp_path / "stray.safetensors"
    save_file(
        {f"{stray_keys}.lora_A.weight": torch.ones(RANK, 8), f"{stray_keys}.lora_B.weight": torch.ones(8, RANK)}, stray
    )
    preset = with_fast_lora(PRESETS["tiny-a14b"], lora=str(loras["files"]["high_wan"]), lora_2=str(stray))
    pipeline = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    pipeline.load()

    assert not pipeline.fast_available
    assert pipeline.fast_error is not None
    assert not any(pipeline.pipe.get_list_adapters().values())  # nothing half-loaded
    with pytest.raises(ValueError, match="speed: fast mode is not available"):
        pipeline.generate(build_recipe(_request(speed="fast", duration_s=0.5), preset))
    quality = build_recipe(_request(duration_s=0.5, steps=2), preset)
    assert np.abs(_frames(pipeline, quality) - _frames(plain, quality)).max() <= TOLERANCE


def test_a_recipe_from_another_lora_is_refused(fast: ResidentPipeline) -> None:
    recipe = build_recipe(_request(speed="fast", duration_s=0.5), fast.preset)
    with pytest.raises(ValueError, match=r"made with the fast LoRA 'other\.safetensors'"):
        fast.generate(replace(recipe, lora="other.safetensors"))


def test_single_expert_model_takes_one_lora(models_dir: Path, loras: dict[str, Any]) -> None:
    preset = with_fast_lora(PRESETS["tiny-1.3b"], lora=str(loras["files"]["high_diffusers"]), scale=0.5)
    assert preset.fast_lora_label == f"{loras['files']['high_diffusers']} ×0.5"
    with pytest.raises(ValueError, match=r"fast_lora_2: tiny-1\.3b has one transformer"):
        with_fast_lora(PRESETS["tiny-1.3b"], lora="a.safetensors", lora_2="b.safetensors")

    pipeline = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    pipeline.load()
    assert pipeline.pipe.get_list_adapters() == {"transformer": [FAST_ADAPTER]}
    result = pipeline.generate(build_recipe(_request(speed="fast", duration_s=0.5), preset))
    assert result.frames.std() > 0


def test_fast_lora_settings() -> None:
    a14b = PRESETS["wan2.2-t2v-a14b"]
    assert a14b.fast_lora is not None and a14b.fast_lora.startswith("Kijai/WanVideo_comfy/")
    assert with_fast_lora(a14b, lora="none").fast_lora is None
    assert with_fast_lora(a14b, lora=None) == a14b
    mine = with_fast_lora(a14b, lora="me/my-lora")
    assert (mine.fast_lora, mine.fast_lora_2) == ("me/my-lora", None)  # one file for both experts
    assert mine.fast_lora_label == "high: me/my-lora ×1; low: me/my-lora ×1"
    assert all(PRESETS[k].fast_lora is None for k in ("tiny-a14b", "tiny-ti2v-5b", "tiny-1.3b"))


def test_parse_lora(tmp_path: Path) -> None:
    file = tmp_path / "x.safetensors"
    file.write_bytes(b"")
    assert parse_lora(str(file)) == LoraSource(str(file))
    assert parse_lora("owner/repo") == LoraSource("owner/repo")
    assert parse_lora("owner/repo/sub/dir/file.safetensors") == LoraSource("owner/repo", "sub/dir/file.safetensors")
    for bad in ("just-a-name", "/no/such/file.safetensors", "./missing.safetensors"):
        with pytest.raises(ValueError, match="neither a file or folder here nor a Hugging Face hub id"):
            parse_lora(bad)


def test_fast_mode_is_untouched_by_a_balanced_run(fast: ResidentPipeline) -> None:
    """Balanced runs the base weights with the cache hooks on; the fast run after it is the same as before it."""
    fast_recipe = build_recipe(_request(duration_s=0.5, speed="fast"), fast.preset)
    before = fast.generate(fast_recipe)
    balanced = fast.generate(build_recipe(_request(duration_s=0.5, speed="balanced"), fast.preset))
    after = fast.generate(fast_recipe)

    assert np.array_equal(before.frames, after.frames)
    assert before.forwards_total is None and balanced.forwards_total == 2 * fast.preset.steps
    assert not fast.pipe.transformer.is_cache_enabled and not fast.pipe.transformer_2.is_cache_enabled
