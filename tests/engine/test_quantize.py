"""FP8 experts (studio.engine.quantize): the setting, the hardware check, and quantizing the tiny model on the CPU.

FP8 matrix products (`Float8DynamicActivationFloat8WeightConfig`) need an Ada/Hopper GPU. On the CPU the tests
quantize with torchao's FP8 weight-only config, which stores the same `Float8Tensor` weights through the same
`quantize_experts`, so what is tested here — which layers are quantized, the LoRA on top, the weights moving
between memories, the picture staying close — is the code path the GPU runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torchao.quantization import Float8Tensor, Float8WeightOnlyConfig

from studio.domain.preset_settings import with_fast_lora
from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine.memory_plan import Strategy, choose_strategy
from studio.engine.offload import _pinned, apply_strategy
from studio.engine.pipeline import ResidentPipeline
from studio.engine.quantize import (
    block_linear_filter,
    check_quantize_setting,
    fp8_unavailable,
    quantize_experts,
)
from tests.engine.test_lora import _diffusers_format, _lora_matrices

BLOCK_LINEARS = 10  # q, k, v, o of self- and cross-attention, and the two FFN matrices


def _recipe(preset: Any, **fields: Any) -> Any:
    request = RecipeRequest(**({"prompt": "a red fox in snow", "seed": 5, "duration_s": 1.0, "steps": 3} | fields))
    return build_recipe(request, preset)


def _frames(pipeline: ResidentPipeline, recipe: Any) -> np.ndarray:
    return pipeline.generate(recipe).frames.astype(np.int16)


@pytest.fixture(scope="module")
def fast_preset(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("lora")
    from safetensors.torch import save_file

    save_file(_diffusers_format(_lora_matrices(1)), folder / "high.safetensors")
    save_file(_diffusers_format(_lora_matrices(2)), folder / "low.safetensors")
    return with_fast_lora(
        PRESETS["tiny-a14b"], lora=str(folder / "high.safetensors"), lora_2=str(folder / "low.safetensors")
    )


def test_the_setting_is_checked() -> None:
    assert check_quantize_setting(None) == "off"
    assert check_quantize_setting(" FP8 ") == "fp8"
    with pytest.raises(ValueError, match="quantize: 'int4' is not one of off, fp8"):
        check_quantize_setting("int4")


def test_fp8_needs_a_cuda_gpu_of_capability_8_9(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "needs a CUDA GPU and this runs on cpu" in (fp8_unavailable("cpu") or "")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA A100-SXM4-80GB")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (8, 0))
    why = fp8_unavailable("cuda")
    assert why is not None and "8.9 or newer" in why and "A100-SXM4-80GB has 8.0" in why
    with pytest.raises(ValueError, match=r"quantize: FP8 needs compute capability 8\.9"):  # at start-up, before loading
        ResidentPipeline(PRESETS["tiny-a14b"], models_dir=Path("unused"), device="cuda", quantize="fp8")
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))  # H100 / H200
    assert fp8_unavailable("cuda") is None


def test_the_filter_takes_block_linears_only() -> None:
    keep = block_linear_filter(16)
    assert keep(torch.nn.Linear(5120, 13824), "blocks.3.ffn.net.0.proj")
    assert keep(torch.nn.Linear(5120, 5120), "blocks.3.attn1.to_q.base_layer")  # wrapped by a LoRA
    assert not keep(torch.nn.Linear(5120, 64), "blocks.3.attn1.to_q.lora_A.fast")  # the LoRA's own layers
    assert not keep(torch.nn.Linear(5120, 64), "blocks.3.attn1.to_q.lora_B.fast")
    assert not keep(torch.nn.Linear(24, 24), "blocks.0.attn1.to_q")  # _scaled_mm needs multiples of 16
    assert not keep(torch.nn.LayerNorm(5120), "blocks.3.norm2")


def test_quantized_experts_keep_the_picture_and_the_fast_lora(tmp_path: Path, fast_preset: Any) -> None:
    pipeline = ResidentPipeline(fast_preset, models_dir=tmp_path, device="cpu")
    pipeline.load()
    quality, fast = _recipe(fast_preset), _recipe(fast_preset, speed="fast")
    reference_quality, reference_fast = _frames(pipeline, quality), _frames(pipeline, fast)

    count = quantize_experts(pipeline.pipe, Float8WeightOnlyConfig())

    experts = [pipeline.pipe.transformer, pipeline.pipe.transformer_2]
    assert count == len(experts) * len(experts[0].blocks) * BLOCK_LINEARS
    for expert in experts:
        for name, module in expert.named_modules():
            if not isinstance(module, torch.nn.Linear):
                continue
            quantized = isinstance(module.weight, Float8Tensor)
            is_lora = ".lora_A." in name or ".lora_B." in name
            # block linears (the LoRA's base layers) are FP8; the LoRA, embeddings and output layer stay as they were
            assert quantized == (name.startswith("blocks.") and not is_lora), name

    quality_fp8, fast_fp8 = _frames(pipeline, quality), _frames(pipeline, fast)
    # FP8 rounds the weights: close to the original picture, not equal to it
    assert 0.0 < np.abs(quality_fp8 - reference_quality).mean() < 1.0  # uint8 levels; measured 0.26
    assert 0.0 < np.abs(fast_fp8 - reference_fast).mean() < 1.0
    # the LoRA still acts on top of the FP8 base layers, and switching it off still gives the quality path
    assert (np.abs(fast_fp8 - quality_fp8) > 2).mean() > 0.05
    assert np.array_equal(_frames(pipeline, quality), quality_fp8)


def test_expert_swap_moves_fp8_weights_without_changing_them(tmp_path: Path) -> None:
    preset = PRESETS["tiny-a14b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path, device="cpu")
    pipeline.load()
    quantize_experts(pipeline.pipe, Float8WeightOnlyConfig())
    recipe = _recipe(preset)
    resident = _frames(pipeline, recipe)

    swap = apply_strategy(pipeline.pipe, Strategy("expert_swap", False, None, None, "test"), "cpu")
    assert swap is not None
    assert np.array_equal(_frames(pipeline, recipe), resident)
    assert np.array_equal(_frames(pipeline, recipe), resident)  # and again after swapping back
    assert swap.swaps >= 3
    weight = pipeline.pipe.transformer.blocks[0].attn1.to_q.weight
    assert isinstance(weight, Float8Tensor) and weight.qdata.dtype == torch.float8_e4m3fn


def test_fp8_on_the_cpu_is_ignored_and_every_result_says_its_precision(tmp_path: Path) -> None:
    preset = PRESETS["tiny-1.3b"]
    pipeline = ResidentPipeline(preset, models_dir=tmp_path, device="cpu", quantize="fp8")
    pipeline.load()
    assert pipeline.precision == "fp32"
    assert not isinstance(pipeline.pipe.transformer.blocks[0].attn1.to_q.weight, Float8Tensor)
    assert pipeline.generate(_recipe(preset, steps=2)).precision == "fp32"


@pytest.mark.parametrize(
    ("free_gb", "preset", "size", "bf16", "fp8"),
    [
        # A14B 720p on an 80 GB H100: both FP8 experts (≈ 14.6 GB each) fit next to the text encoder
        (79.0, "wan2.2-t2v-a14b", (1280, 720, 81), "expert_swap", "resident"),
        # on a 48 GB L40S: one FP8 expert with the text encoder instead of whole-model offloading
        (48.0, "wan2.2-t2v-a14b", (1280, 720, 81), "model_offload", "expert_swap"),
        (30.0, "wan2.2-t2v-a14b", (1280, 720, 81), "group_offload", "model_offload"),
        # 1.3B on a 24 GB L4 / RTX 4090: everything resident instead of model offloading
        (24.0, "wan2.1-t2v-1.3b", (832, 480, 81), "model_offload", "resident"),
    ],
)
def test_fp8_lets_faster_strategies_fit(
    free_gb: float, preset: str, size: tuple[int, int, int], bf16: str, fp8: str
) -> None:
    width, height, frames = size
    job = {"free_gb": free_gb, "preset": PRESETS[preset], "width": width, "height": height, "num_frames": frames}
    assert choose_strategy(**job).name == bf16
    assert choose_strategy(**job, fp8=True).name == fp8


def test_weights_that_cannot_be_pinned_are_swapped_unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        raise NotImplementedError("aten.is_pinned is not implemented for this tensor subclass")

    monkeypatch.setattr(torch.Tensor, "pin_memory", refuse)
    weight = torch.ones(4)
    assert _pinned(weight) is weight  # used as it is: slower uploads, same numbers
