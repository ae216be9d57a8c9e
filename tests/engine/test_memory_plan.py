"""Memory strategy (a pure choice) and the CPU-testable parts of applying it: placement never changes the picture."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from diffusers.models.attention_dispatch import AttentionBackendName, _AttentionBackendRegistry

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.engine import memory_plan
from studio.engine.attention import probe_attention_backends
from studio.engine.memory_plan import STRATEGIES, Strategy, choose_strategy, largest_job, latent_tokens, need_gb
from studio.engine.offload import ExpertSwap, apply_strategy
from studio.engine.pipeline import ResidentPipeline
from studio.engine.text_cache import CachingWanPipeline
from studio.engine.tiny_models import ensure_tiny_model

A14B, TI2V, SMALL = PRESETS["wan2.2-t2v-a14b"], PRESETS["wan2.2-ti2v-5b"], PRESETS["wan2.1-t2v-1.3b"]
TOLERANCE = 2e-5  # float frames in [0, 1]: the same computation in another place or order


def test_the_choice_is_pure() -> None:
    code = (
        "import sys, studio.engine.memory_plan, studio.engine.lora; "
        "assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2], check=True, timeout=60)


def test_token_counts_match_the_compute_table() -> None:
    assert latent_tokens(A14B, 1280, 720, 81) == 75_600
    assert latent_tokens(A14B, 832, 480, 81) == 32_760
    assert latent_tokens(TI2V, 1280, 704, 121) == 27_280
    assert largest_job(A14B) == (1280, 720, 81)
    width, height, frames = largest_job(TI2V)
    assert width * height >= 1280 * 704 and frames == 121  # 1:1 at 720p keeps about the pixel count


@pytest.mark.parametrize(
    ("free_gb", "preset", "size", "speed", "expected", "tiling"),
    [
        # A14B at 720p × 81: both experts + text encoder + the untiled decode (18.9 GB traced) ≈ 90 GB
        (141.0, A14B, (1280, 720, 81), "quality", "resident", False),  # H200
        (92.0, A14B, (1280, 720, 81), "quality", "resident", False),
        (91.0, A14B, (1280, 720, 81), "fast", "expert_swap", False),  # the LoRA tips it over
        (85.0, A14B, (1280, 720, 81), "quality", "expert_swap", False),  # H100 80 GB: one expert at a time
        (80.0, A14B, (1280, 720, 81), "quality", "expert_swap", False),
        (80.0, A14B, (832, 480, 81), "quality", "resident", False),  # 480p leaves room for both experts
        (48.0, A14B, (1280, 720, 81), "quality", "model_offload", False),  # L40S
        (24.0, A14B, (1280, 720, 81), "quality", "group_offload", False),
        (8.0, A14B, (1280, 720, 81), "quality", "group_offload", True),  # does not fit at all: least memory
        # TI2V-5B: `--model auto` takes it from 20 GB, below its resident ≈ 33 GB: offloading makes it fit
        (48.0, TI2V, (1280, 704, 121), "quality", "resident", False),
        # L4 / A10G / RTX 4090: the untiled 704p × 121 decode alone is 20.7 GB (traced)
        (24.0, TI2V, (1280, 704, 121), "quality", "model_offload", True),
        (20.0, TI2V, (1280, 704, 121), "quality", "model_offload", True),
        (8.0, TI2V, (1280, 704, 121), "quality", "group_offload", True),
        # 1.3B: `--model auto` takes it from 8 GB, where the 11.4 GB text encoder alone does not fit
        (26.0, SMALL, (832, 480, 81), "quality", "resident", False),
        (24.0, SMALL, (832, 480, 81), "quality", "model_offload", False),  # rather than resident with a tiled decode
        (16.0, SMALL, (832, 480, 81), "quality", "model_offload", False),  # T4
        (8.0, SMALL, (832, 480, 81), "quality", "group_offload", True),
    ],
)
def test_strategy_table(
    free_gb: float, preset: Any, size: tuple[int, int, int], speed: str, expected: str, tiling: bool
) -> None:
    width, height, frames = size
    strategy = choose_strategy(
        free_gb=free_gb, preset=preset, width=width, height=height, num_frames=frames, speed=speed
    )
    assert (strategy.name, strategy.vae_tiling) == (expected, tiling)
    assert strategy.need_gb is not None and strategy.free_gb == free_gb
    assert (strategy.need_gb <= free_gb) != ("nothing fits" in strategy.reason)
    assert strategy.name in strategy.describe() and f"{free_gb:.1f} GB free" in strategy.describe()


def test_without_a_gpu_everything_stays_resident() -> None:
    strategy = choose_strategy(free_gb=None, preset=A14B, width=1280, height=720, num_frames=81)
    assert strategy == Strategy("resident", False, None, None, strategy.reason)
    assert "no CUDA GPU" in strategy.describe()


def test_strategies_are_ordered_by_memory() -> None:
    job = {"tokens": latent_tokens(A14B, 1280, 720, 81), "width": 1280, "height": 720, "num_frames": 81}
    needs = [need_gb(name, A14B, **job, lora_gb=0.0, tiled=False) for name in STRATEGIES]
    assert needs == sorted(needs, reverse=True)
    decode = memory_plan.decode_gb(A14B, 1280, 720, 81, tiled=False)
    assert decode > memory_plan.activation_gb(
        A14B, job["tokens"]
    )  # at 720p the VAE decode is the peak, not the transformer
    assert needs[0] == pytest.approx(2 * 28.6 + 11.4 + 0.5 + decode + 2.0)


def test_override_is_taken_and_checked() -> None:
    job = {"preset": A14B, "width": 1280, "height": 720, "num_frames": 81}
    chosen = choose_strategy(free_gb=141.0, override="group_offload", **job)
    assert (chosen.name, chosen.reason) == ("group_offload", "the setting asks for it")
    assert choose_strategy(free_gb=141.0, override="auto", **job).name == "resident"
    squeezed = choose_strategy(free_gb=30.0, override="resident", **job)
    assert squeezed.name == "resident" and "nothing fits" in squeezed.reason  # obeyed, with a warning
    with pytest.raises(ValueError, match="memory_strategy: 'lots' is not one of auto, resident, expert_swap"):
        choose_strategy(free_gb=80.0, override="lots", **job)
    with pytest.raises(ValueError, match=r"expert_swap needs a two-expert model and wan2\.2-ti2v-5b has one"):
        choose_strategy(free_gb=None, preset=TI2V, width=1280, height=704, num_frames=121, override="expert_swap")


def test_fast_lora_size_counts_when_known() -> None:
    job = {"free_gb": 93.0, "preset": A14B, "width": 1280, "height": 720, "num_frames": 81, "speed": "fast"}
    assert choose_strategy(**job, lora_gb=0.6).name == "resident"  # a rank-64 pair
    assert choose_strategy(**job, lora_gb=4.0).name == "expert_swap"


I2V = PRESETS["wan2.2-i2v-a14b"]


def test_an_image_job_s_encode_is_planned_under_its_decode() -> None:
    job = {"tokens": latent_tokens(I2V, 1280, 720, 81), "width": 1280, "height": 720, "num_frames": 81}
    for tiled in (False, True):
        encode = memory_plan.encode_gb(I2V, 1280, 720, 81, tiled=tiled)
        assert 1.0 < encode < memory_plan.decode_gb(I2V, 1280, 720, 81, tiled=tiled)
        # The encode and the decode are the VAE's turns at different times: the larger one counts, not their sum
        for name in STRATEGIES:
            assert need_gb(name, I2V, **job, lora_gb=0.0, tiled=tiled) == need_gb(
                name, A14B, **job, lora_gb=0.0, tiled=tiled
            )
    assert memory_plan.encode_gb(A14B, 1280, 720, 81, tiled=False) == 0.0  # text to video encodes nothing
    # TI2V-5B encodes its start image alone: one frame, whatever the clip's length
    assert memory_plan.encode_gb(TI2V, 960, 960, 121, tiled=False) == memory_plan.encode_gb(
        TI2V, 960, 960, 1, tiled=False
    )


def test_balanced_counts_the_step_cache_state() -> None:
    job = {"tokens": latent_tokens(I2V, 1280, 720, 81), "width": 1280, "height": 720, "num_frames": 81}
    cache = memory_plan.cache_state_gb(I2V, job["tokens"])
    assert cache == pytest.approx(6 * 75_600 * 5120 * 2 / 1e9)  # 6 hidden states of 0.77 GB: First Block Cache
    for name in STRATEGIES:  # it is alive through the forwards and the decode, whatever holds the weights
        plain = need_gb(name, I2V, **job, lora_gb=0.0, tiled=False)
        assert need_gb(name, I2V, **job, lora_gb=0.0, tiled=False, cached=True) == pytest.approx(plain + cache)
    # At the edge: resident fitted 92 GB before the cache state was counted; a preset with Balanced no longer does
    size = {"free_gb": 92.0, "preset": I2V, "width": 1280, "height": 720, "num_frames": 81}
    assert choose_strategy(**size).name == "resident"
    assert choose_strategy(**size, step_cache=True).name == "expert_swap"
    assert choose_strategy(**size, speed="balanced").name == "expert_swap"
    # The README's cards still hold with Balanced counted: 80 GB A14B, 24 GB TI2V-5B, 16 GB 1.3B at their largest clips
    for free_gb, preset, expected in [(80.0, A14B, ("expert_swap", False)), (24.0, TI2V, ("model_offload", True))]:
        width, height, frames = largest_job(preset)
        plan = choose_strategy(
            free_gb=free_gb, preset=preset, width=width, height=height, num_frames=frames, step_cache=True
        )
        assert (plan.name, plan.vae_tiling) == expected
    plan = choose_strategy(free_gb=16.0, preset=SMALL, width=832, height=480, num_frames=81, step_cache=True)
    assert (plan.name, plan.vae_tiling) == ("model_offload", False)


# -- applying a strategy on the CPU: the same frames wherever the weights live -------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_tiny_model(PRESETS["tiny-a14b"], tmp_path_factory.mktemp("models"))


def _run(pipe: CachingWanPipeline) -> np.ndarray:
    # 3 steps with shift 12: two on the high-noise expert, one on the low-noise one.
    return pipe(
        prompt="a red fox",
        negative_prompt="blurry",
        height=64,
        width=96,
        num_frames=9,
        num_inference_steps=3,
        guidance_scale=4.0,
        guidance_scale_2=3.0,
        generator=torch.Generator().manual_seed(3),
        output_type="np",
    ).frames[0]


def _fresh(folder: Path) -> CachingWanPipeline:
    pipe = CachingWanPipeline.from_pretrained(folder)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def test_expert_swap_and_group_offload_give_the_same_frames(folder: Path) -> None:
    reference = _run(_fresh(folder))

    swapped = _fresh(folder)
    swap = apply_strategy(swapped, Strategy("expert_swap", False, None, None, "test"), "cpu")
    assert isinstance(swap, ExpertSwap)
    assert np.abs(_run(swapped) - reference).max() <= TOLERANCE
    assert (swap.active, swap.swaps) == (1, 2)  # high-noise expert, then the low-noise one
    _run(swapped)
    assert swap.swaps == 4  # back to the high-noise expert for the next job, then low again

    grouped = _fresh(folder)
    assert apply_strategy(grouped, Strategy("group_offload", True, None, None, "test"), "cpu") is None
    assert grouped.vae.use_tiling
    assert np.abs(_run(grouped) - reference).max() <= TOLERANCE


def test_resident_pipeline_on_the_cpu_records_its_choices(tmp_path: Path) -> None:
    pipeline = ResidentPipeline(PRESETS["tiny-a14b"], models_dir=tmp_path, device="cpu", memory_strategy="expert_swap")
    pipeline.load()
    assert pipeline.strategy is not None and pipeline.strategy.name == "resident"  # nothing to offload on a CPU
    assert pipeline.attention_backend == "native" and not pipeline.compiled

    with pytest.raises(ValueError, match="expert_swap needs a two-expert model"):  # at start-up, before loading
        ResidentPipeline(PRESETS["tiny-ti2v-5b"], models_dir=tmp_path, device="cpu", memory_strategy="expert_swap")
    with pytest.raises(ValueError, match="attention_backend: 'fastest' is not one of auto, flash"):
        ResidentPipeline(PRESETS["tiny-ti2v-5b"], models_dir=tmp_path, device="cpu", attention_backend="fastest")


def test_a_named_attention_kernel_gives_the_same_frames(tmp_path: Path) -> None:
    recipe = build_recipe(RecipeRequest(prompt="a fox", seed=2, duration_s=0.5, steps=2), PRESETS["tiny-1.3b"])
    default = ResidentPipeline(PRESETS["tiny-1.3b"], models_dir=tmp_path, device="cpu")
    default.load()
    math = ResidentPipeline(PRESETS["tiny-1.3b"], models_dir=tmp_path, device="cpu", attention_backend="_native_math")
    math.load()
    assert math.attention_backend == "_native_math"
    processor = math.pipe.transformer.blocks[0].attn1.processor
    assert processor._attention_backend == AttentionBackendName._NATIVE_MATH  # in the experts' processors...
    assert _AttentionBackendRegistry.get_active_backend()[0] == AttentionBackendName.NATIVE  # ...not process-wide
    first, second = (p.generate(recipe).frames.astype(np.int16) for p in (default, math))
    assert np.abs(first - second).max() <= 2


def test_attention_probe_times_the_kernels_that_run() -> None:
    timings = probe_attention_backends(
        ["native", "_native_math", "flash"], heads=2, head_dim=16, device="cpu", tokens=256, repeats=1
    )
    assert set(timings) == {"native", "_native_math"}  # flash-attn is not installed here
    assert all(seconds > 0 for seconds in timings.values())
