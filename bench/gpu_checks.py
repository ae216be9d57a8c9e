"""The studio's CUDA paths on a real GPU, with the tiny models: what the CPU test suite cannot reach. Not a test.

    python bench/gpu_checks.py            # on a CUDA machine; about a minute. Without CUDA it says so and exits 0.
    python bench/gpu_checks.py --cpu      # the same script on the CPU: checks the script, most checks then FAIL

Each check loads `studio.engine.pipeline.ResidentPipeline` on "cuda" the way the studio does (bf16 experts, fp32
VAE, the attention probe), runs the same recipe and compares the frames with the plain resident run, in uint8 levels:
  1. auto: strategy, attention kernel, precision, peak memory
  2. every memory strategy forced (resident, expert_swap with pinned CPU copies, model_offload, group_offload with
     CUDA streams): the same frames
  3. --quantize fp8 (torchao, compute capability ≥ 8.9): FP8 block linears, close to bf16; with expert_swap too
  4. fast mode: a random LoRA on both experts, on bf16 and on FP8 weights: it changes the frames
  5. the memory model: studio.engine.memory_trace's traced activations next to what CUDA allocates (one
     full-size A14B block at 720p, a Wan2.1 decode at 832×480×17), the calibration HEADROOM_GB waits for
  6. image to video: the tiny I2V-A14B (start image, two experts) in every memory strategy and TI2V-5B with an image:
     the same frames as resident
  7. --compile: regional compilation with its warm-up: the same frames as eager
It prints one line per check and exits 1 if any failed. Needs torch, diffusers, transformers, numpy, torchao for
check 3, safetensors and peft for check 4 (see bench/gpu_session.sh for carrying them to a machine with no network).
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch

RESULTS: list[tuple[str, bool, str]] = []


def check(name: str) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Run the decorated check at once and record its line: the text it returns, or the error it raised."""

    def run(body: Callable[[], str]) -> Callable[[], str]:
        started = time.perf_counter()
        try:
            detail, ok = body(), True
        except Exception as exc:  # a failed check is a result to print, not a crash
            detail, ok = f"{type(exc).__name__}: {exc}", False
            traceback.print_exc()
        seconds = time.perf_counter() - started
        RESULTS.append((name, ok, detail))
        label = "FAIL" if not ok else "SKIP" if detail.startswith("skipped") else "PASS"
        print(f"{label} {name} ({seconds:.1f} s): {detail}", flush=True)
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        return body

    return run


def main() -> int:
    device = "cpu" if "--cpu" in sys.argv else "cuda"
    if device == "cuda" and not torch.cuda.is_available():
        print("bench/gpu_checks.py: no CUDA GPU here; nothing to check (the CPU paths are in make test)")
        return 0

    from studio.domain.preset_settings import with_fast_lora
    from studio.domain.presets import PRESETS
    from studio.domain.recipe import RecipeRequest, build_recipe
    from studio.engine.pipeline import ResidentPipeline

    models = Path(tempfile.mkdtemp(prefix="gpu-checks-"))
    preset = PRESETS["tiny-a14b"]
    quality = build_recipe(RecipeRequest(prompt="a red fox in snow", seed=5, duration_s=1.0, steps=4), preset)
    if device == "cuda":
        name = f"{torch.cuda.get_device_name(0)} · capability {torch.cuda.get_device_capability(0)}"
    else:
        name = "CPU (script check only: the CUDA paths do not apply, so most checks fail)"
    print(f"device: {name} · torch {torch.__version__}")

    def run(recipe: Any = quality, **settings: Any) -> tuple[Any, np.ndarray]:
        pipeline = ResidentPipeline(settings.pop("preset", preset), models_dir=models, device=device, **settings)
        pipeline.load()
        return pipeline, pipeline.generate(recipe).frames.astype(np.int16)

    def levels(a: np.ndarray, b: np.ndarray) -> str:
        return f"max {np.abs(a - b).max()} / mean {np.abs(a - b).mean():.3f} levels"

    reference: dict[str, np.ndarray] = {}

    @check("auto: load and generate on CUDA")
    def auto() -> str:
        pipeline, frames = run()
        reference["bf16"] = frames
        result = pipeline.generate(quality)
        assert pipeline.precision == "bf16" and pipeline.pipe.vae.dtype == torch.float32, pipeline.precision
        assert result.peak_memory_gb and result.peak_memory_gb > 0
        assert pipeline.strategy is not None
        return (
            f"{pipeline.strategy.describe()} · attention {pipeline.attention_backend} "
            f"(probe ms: {', '.join(f'{k} {v * 1e3:.2f}' for k, v in pipeline.attention_timings.items())}) · "
            f"peak {result.peak_memory_gb:.2f} GB · text {result.text_encode_s:.2f} s, "
            f"denoise {result.denoise_s:.2f} s, decode {result.decode_s:.2f} s"
        )

    for strategy in ("resident", "expert_swap", "model_offload", "group_offload"):

        @check(f"memory strategy {strategy}: same frames as resident")
        def placed() -> str:
            pipeline, frames = run(memory_strategy=strategy)  # noqa: B023 (run at once by the decorator)
            assert pipeline.strategy is not None and pipeline.strategy.name == strategy  # noqa: B023
            assert np.abs(frames - reference["bf16"]).max() <= 2, levels(frames, reference["bf16"])
            return levels(frames, reference["bf16"])

    @check("quantize fp8: FP8 block linears, close to bf16")
    def fp8() -> str:
        from studio.engine.quantize import fp8_unavailable

        if why := fp8_unavailable(device):
            return f"skipped: {why}"
        pipeline, frames = run(quantize="fp8")
        weight = pipeline.pipe.transformer.blocks[0].attn1.to_q.weight
        assert pipeline.precision == "fp8" and type(weight).__name__ == "Float8Tensor", type(weight)
        reference["fp8"] = frames
        assert np.abs(frames - reference["bf16"]).mean() < 4, levels(frames, reference["bf16"])
        _, swapped = run(quantize="fp8", memory_strategy="expert_swap")
        assert np.abs(swapped - frames).max() <= 2, "expert_swap with fp8: " + levels(swapped, frames)
        return f"vs bf16 {levels(frames, reference['bf16'])}; expert_swap vs resident {levels(swapped, frames)}"

    @check("fast mode: a LoRA on both experts changes the frames (bf16 and fp8)")
    def fast() -> str:
        from safetensors.torch import save_file

        from studio.engine.tiny_models import build_tiny_pipeline

        generator = torch.Generator().manual_seed(1)
        tensors: dict[str, torch.Tensor] = {}
        for module_name, module in build_tiny_pipeline("a14b").transformer.named_modules():
            if isinstance(module, torch.nn.Linear) and module_name.startswith("blocks."):
                down = torch.randn(4, module.in_features, generator=generator) * 0.5
                up = torch.randn(module.out_features, 4, generator=generator) * 0.5
                tensors[f"transformer.{module_name}.lora_A.weight"] = down
                tensors[f"transformer.{module_name}.lora_B.weight"] = up
        save_file(tensors, models / "lora.safetensors")
        lora = str(models / "lora.safetensors")
        fast_preset = with_fast_lora(preset, lora=lora, lora_2=lora)
        fast_recipe = build_recipe(RecipeRequest(prompt="a red fox in snow", seed=5, speed="fast"), fast_preset)
        lines = []
        for precision in ("off", "fp8") if "fp8" in reference else ("off",):
            pipeline, with_lora = run(fast_recipe, preset=fast_preset, quantize=precision)
            assert pipeline.fast_available, pipeline.fast_error
            # the same sampling (4 steps, no guidance) with the LoRA switched off: the difference is the LoRA's
            plain = pipeline.generate(dataclasses.replace(fast_recipe, speed="quality", lora=None))
            changed = (np.abs(with_lora - plain.frames.astype(np.int16)) > 2).mean()
            assert changed > 0.05, f"the LoRA changed only {changed:.1%} of the values"
            lines.append(f"{pipeline.precision}: {changed:.0%} of values changed")
        return "; ".join(lines)

    @check("memory model: traced activations against CUDA's own count (one A14B block at 720p, a 480p decode)")
    def calibrate() -> str:
        from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan
        from diffusers.models.transformers.transformer_wan import WanTransformer3DModel

        from studio.engine.memory_trace import VAE_CONFIGS, decode_peak_gb, transformer_config, transformer_peak_gb

        def measured_gb(call: Callable[[], Any]) -> float:
            torch.cuda.synchronize()
            base = torch.cuda.memory_allocated()
            torch.cuda.reset_peak_memory_stats()
            with torch.inference_mode():
                call()
            torch.cuda.synchronize()
            return (torch.cuda.max_memory_allocated() - base) / 1e9

        if device != "cuda":
            return "skipped: needs CUDA"
        lines = []
        config, latent = transformer_config("a14b", layers=1), (1, 16, 21, 90, 160)
        traced = transformer_peak_gb(config, latent, expand_timesteps=False)
        previous = torch.get_default_dtype()
        torch.set_default_dtype(torch.bfloat16)
        with torch.device("cuda"):
            model = WanTransformer3DModel(**config).eval()
            inputs = {"hidden_states": torch.randn(*latent), "timestep": torch.tensor([999])}
            inputs["encoder_hidden_states"] = torch.randn(1, 512, 4096)
        torch.set_default_dtype(previous)
        measured = measured_gb(lambda: model(**inputs, return_dict=False))
        lines.append(f"forward traced {traced:.2f} GB, CUDA {measured:.2f} GB ({measured / traced:.2f}×)")
        ratios = [measured / traced]

        latent = (1, 16, 5, 60, 104)  # 832×480×17
        traced = decode_peak_gb(VAE_CONFIGS["a14b"], latent, tiled=False)
        with torch.device("cuda"):
            vae = AutoencoderKLWan(**VAE_CONFIGS["a14b"]).eval()
            latents = torch.randn(*latent)
        measured = measured_gb(lambda: vae.decode(latents))
        lines.append(f"decode traced {traced:.2f} GB, CUDA {measured:.2f} GB ({measured / traced:.2f}×)")
        ratios.append(measured / traced)
        assert all(0.5 < r < 1.5 for r in ratios), "the traced figures are far from what CUDA allocates"
        return "; ".join(lines)

    @check("image to video: tiny I2V-A14B from a start image, the same frames in every strategy; TI2V-5B too")
    def image_to_video() -> str:
        def start_image(_key: str, width: int, height: int, _fit: str) -> np.ndarray:
            pixels = np.zeros((height, width, 3), dtype=np.uint8)
            pixels[:, : width // 2] = (250, 200, 40)  # a bright left half the clip must start from
            return pixels

        lines = []
        for key, strategies in (
            ("tiny-i2v-a14b", ("resident", "expert_swap", "model_offload", "group_offload")),
            ("tiny-ti2v-5b", ("resident", "model_offload")),
        ):
            request = RecipeRequest(prompt="a red fox in snow", seed=5, duration_s=1.0, steps=4, start_image="a" * 64)
            recipe = build_recipe(request, PRESETS[key])
            frames: dict[str, np.ndarray] = {}
            for strategy in strategies:
                pipeline = ResidentPipeline(PRESETS[key], models_dir=models, device=device, memory_strategy=strategy)
                pipeline.load()
                assert pipeline.strategy is not None and pipeline.strategy.name == strategy, pipeline.strategy
                pipeline.image_source = start_image
                result = pipeline.generate(recipe)
                frames[strategy] = result.frames.astype(np.int16)
            worst = max(np.abs(f - frames["resident"]).max() for f in frames.values())
            assert worst <= 2, f"{key}: a strategy's frames differ from resident by {worst} levels"
            lines.append(f"{key}: {len(strategies)} strategies within {worst} levels, peak {result.peak_memory_gb} GB")
        return "; ".join(lines)

    @check("compile: regional compilation gives the eager frames")
    def compiled() -> str:
        started = time.perf_counter()
        pipeline, frames = run(compile_blocks=True)
        assert pipeline.compiled
        assert np.abs(frames - reference["bf16"]).max() <= 2, levels(frames, reference["bf16"])
        return f"load with warm-up {time.perf_counter() - started:.1f} s; {levels(frames, reference['bf16'])}"

    failed = [name for name, ok, _ in RESULTS if not ok]
    print(f"{len(RESULTS) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
