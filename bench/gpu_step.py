"""Denoising-step time of the real Wan transformers against the physical limit. A benchmark, not a test.

    python bench/gpu_step.py [--compile] [--fp8] [--layers N] [--cases a14b-720p,a14b-480p,ti2v-720p]
    python bench/gpu_step.py --dry-run     # tiny versions on the CPU: checks the code path, measures nothing

Builds each architecture at full size with random weights (normal init: weights do not change the compute; zeros
would make matrix products look faster) and times transformer forwards at the real token counts:
  (a) plain:  diffusers' WanTransformer3DModel in bf16 with its defaults (PyTorch SDPA, eager)
  (b) studio: the studio's CUDA path: bf16 and the fastest attention kernel found by a probe (as
      studio.engine.attention.probe_attention_backends does at load)
  (c) studio + compile (with --compile): (b) plus regional compilation of the repeated blocks
  (b') with --balanced: a whole clip's transformer calls at the model's own steps with CFG, Quality vs Balanced
      (MagCache with the preset's published ratios, bench/gpu_balanced.py): s/clip, s/step and forwards skipped
  (d) studio + fp8 (with --fp8, torchao installed, compute capability ≥ 8.9): the best of the above with the block
      linear layers quantized as `--quantize fp8` does (torchao FP8 dynamic activations and weights, per-row scales)
It prints seconds per forward and per step (quality: two forwards with CFG; fast: one), the achieved TFLOP/s by the
FLOP formula below (`flops_per_forward`), the ratio to the 800 TFLOP/s floor and peak memory; then the VAE decode
time at the same sizes, the UMT5-XXL text encode (when transformers is installed) and the fast-mode clip these add
up to.

Needs only torch, diffusers and the standard library (no network, no studio imports); --fp8 also needs torchao,
the text-encode timing transformers (each skipped, and said so, without its package).
Fits in 8 minutes on one H100/H200: --budget-s skips what would not fit, and says so. Without CUDA it says so
and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

FLOOR_TFLOPS = 800.0  # the physical limit this project measures against (dense BF16 of one H100/H200)
TEXT_TOKENS = 512  # UMT5 sequence the cross-attention reads
INIT_STD = 0.02
# Parameters diffusers keeps in fp32 when it loads these models in bf16 (WanTransformer3DModel._keep_in_fp32_modules)
KEEP_FP32 = ("rope", "time_embedder", "scale_shift_table", "norm1", "norm2", "norm3")
# Attention kernels the studio tries on CUDA, best first; sage (int8 Q/K) only when named, so not here.
ATTENTION_CANDIDATES = ("_flash_3", "flash", "_native_cudnn", "_native_flash", "native")
GOALS = {"a14b-720p": ("s/step with CFG", 20.4), "ti2v-720p": ("s/step with CFG", 1.6)}
FAST_CLIP_GOAL_S = 45.0


@dataclass(frozen=True)
class Arch:
    """One Wan transformer layout (from the official diffusers configs)."""

    name: str
    heads: int
    head_dim: int
    ffn: int
    layers: int
    channels: int  # latent channels
    vae_spatial: int
    expand_timesteps: bool
    text_dim: int = 4096

    @property
    def dim(self) -> int:
        return self.heads * self.head_dim

    def config(self, layers: int) -> dict[str, Any]:
        return {
            "patch_size": (1, 2, 2),
            "num_attention_heads": self.heads,
            "attention_head_dim": self.head_dim,
            "in_channels": self.channels,
            "out_channels": self.channels,
            "text_dim": self.text_dim,
            "freq_dim": 256,
            "ffn_dim": self.ffn,
            "num_layers": layers,
            "cross_attn_norm": True,
            "qk_norm": "rms_norm_across_heads",
            "eps": 1e-6,
        }


@dataclass(frozen=True)
class Case:
    key: str
    arch: Arch
    width: int
    height: int
    frames: int
    vae: str  # "wan2.1" or "wan2.2"

    @property
    def latent_shape(self) -> tuple[int, int, int, int, int]:
        s = self.arch.vae_spatial
        return (1, self.arch.channels, (self.frames - 1) // 4 + 1, self.height // s, self.width // s)

    @property
    def tokens(self) -> int:
        _, _, f, h, w = self.latent_shape
        return f * (h // 2) * (w // 2)

    @property
    def label(self) -> str:
        return f"{self.arch.name} {self.width}×{self.height}×{self.frames}"


A14B = Arch("A14B", heads=40, head_dim=128, ffn=13824, layers=40, channels=16, vae_spatial=8, expand_timesteps=False)
TI2V = Arch("TI2V-5B", heads=24, head_dim=128, ffn=14336, layers=30, channels=48, vae_spatial=16, expand_timesteps=True)
CASES = [
    Case("a14b-720p", A14B, 1280, 720, 81, "wan2.1"),
    Case("a14b-480p", A14B, 832, 480, 81, "wan2.1"),
    Case("ti2v-720p", TI2V, 1280, 704, 121, "wan2.2"),
]
# --dry-run: the same code on tiny layouts (the studio's preview models) at preview sizes
TINY_A14B = Arch(
    "tiny-a14b", heads=2, head_dim=16, ffn=32, layers=2, channels=16, vae_spatial=8, expand_timesteps=False, text_dim=32
)
TINY_TI2V = Arch(
    "tiny-ti2v", heads=2, head_dim=16, ffn=32, layers=2, channels=48, vae_spatial=16, expand_timesteps=True, text_dim=32
)
DRY_CASES = [Case("a14b-720p", TINY_A14B, 160, 96, 9, "wan2.1"), Case("ti2v-720p", TINY_TI2V, 160, 96, 9, "wan2.2")]


def flops_per_forward(arch: Arch, tokens: int) -> float:
    """Per block 8·L·d² (self-attn projections) + 4·L²·d (attention core) + 4·L·d² (cross-attn Q, O) +
    4·L·d·f (FFN), plus the cross-attention core over the 512 text tokens, 4·L·512·d (it makes 6.52 PFLOP of 6.49)."""
    L, d, f = tokens, arch.dim, arch.ffn
    per_block = 8 * L * d * d + 4 * L * L * d + 4 * L * d * d + 4 * L * d * f + 4 * L * TEXT_TOKENS * d
    return float(per_block * arch.layers)


# -- building random-weight models -------------------------------------------------------------------------------


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def normal_init(model: torch.nn.Module) -> None:
    """Matrices and kernels from N(0, 0.02); norms and biases keep their defaults (ones, zeros)."""
    with torch.no_grad():
        for parameter in model.parameters():
            if parameter.dim() >= 2:
                parameter.normal_(0.0, INIT_STD)


def build_transformer(arch: Arch, layers: int, device: str, dtype: torch.dtype) -> Any:
    """The transformer built straight on the device in `dtype`, with diffusers' fp32 exceptions as from_pretrained."""
    from diffusers.models.transformers.transformer_wan import WanTransformer3DModel

    with torch.device(device), default_dtype(dtype):
        model = WanTransformer3DModel(**arch.config(layers))
    normal_init(model)
    for name, tensor in [*model.named_parameters(), *model.named_buffers()]:
        if any(part in KEEP_FP32 for part in name.split(".")):
            tensor.data = tensor.data.float()
    return model.eval()


def build_vae(kind: str, device: str, tiny: bool) -> Any:
    """The Wan2.1 VAE (diffusers' defaults) or the Wan2.2 VAE of TI2V-5B, in fp32 as the studio runs it.

    The Wan2.2 numbers (base 160, decoder base 256, 48 channels, 2×2 patches) are those of the
    Wan-AI/Wan2.2-TI2V-5B-Diffusers vae config as this script's author knows it; they were not read from the hub here.
    """
    from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan

    kwargs: dict[str, Any] = {}
    if kind == "wan2.2":
        kwargs = {
            "base_dim": 160,
            "decoder_base_dim": 256,
            "z_dim": 48,
            "in_channels": 12,
            "out_channels": 12,
            "patch_size": 2,
            "is_residual": True,
            "scale_factor_spatial": 16,
            "latents_mean": [0.0] * 48,
            "latents_std": [1.0] * 48,
        }
    if tiny:
        kwargs |= {"base_dim": 3, "decoder_base_dim": None, "num_res_blocks": 1, "dim_mult": [1, 1, 1, 1]}
    with torch.device(device):
        vae = AutoencoderKLWan(**kwargs)
    normal_init(vae)
    return vae.eval()


def inputs_for(case: Case, device: str, dtype: torch.dtype) -> dict[str, Any]:
    """What WanPipeline passes one expert per forward: latents, timestep(s) and the text embeddings."""
    generator = torch.Generator(device).manual_seed(0)
    latents = torch.randn(case.latent_shape, generator=generator, device=device).to(dtype)
    text = torch.randn(1, TEXT_TOKENS, case.arch.text_dim, generator=generator, device=device).to(dtype)
    if case.arch.expand_timesteps:  # TI2V-5B: one timestep per token, float
        timestep = torch.full((1, case.tokens), 999.0, device=device)
    else:
        timestep = torch.tensor([999], device=device)
    return {"hidden_states": latents, "timestep": timestep, "encoder_hidden_states": text, "return_dict": False}


# -- attention kernels ---------------------------------------------------------------------------------------------


def probe_attention(arch: Arch, tokens: int, device: str, dtype: torch.dtype) -> dict[str, float]:
    """Seconds per attention call of each installed kernel that agrees with PyTorch's SDPA (the studio's probe)."""
    from diffusers.models import attention_dispatch
    from diffusers.models.attention_dispatch import AttentionBackendName, dispatch_attention_fn

    installed = {
        "_flash_3": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN_3", False),
        "flash": getattr(attention_dispatch, "_CAN_USE_FLASH_ATTN", False),
    }
    names = [n for n in ATTENTION_CANDIDATES if installed.get(n, True)]
    if not device.startswith("cuda"):
        names = ["native", "_native_math"]
    generator = torch.Generator(device).manual_seed(0)
    q, k, v = (
        torch.randn(1, tokens, arch.heads, arch.head_dim, generator=generator, device=device).to(dtype)
        for _ in range(3)
    )
    reference = dispatch_attention_fn(q, k, v, backend=AttentionBackendName.NATIVE).float()
    seconds: dict[str, float] = {}
    for name in names:
        try:
            backend = AttentionBackendName(name)
            if (dispatch_attention_fn(q, k, v, backend=backend).float() - reference).abs().max().item() > 0.05:
                print(f"  attention {name}: differs from SDPA, not used")
                continue
            sync(device)
            start = time.perf_counter()
            for _ in range(3):
                dispatch_attention_fn(q, k, v, backend=backend)
            sync(device)
            seconds[name] = (time.perf_counter() - start) / 3
        except Exception as exc:  # not installed, not for this GPU or shape: not a candidate
            print(f"  attention {name}: unavailable ({type(exc).__name__})")
    return seconds


def use_attention(model: torch.nn.Module, name: str | None) -> None:
    """Set (or with None reset) the model's attention kernel, and diffusers' process-wide default with it."""
    from diffusers.models.attention_dispatch import AttentionBackendName, _AttentionBackendRegistry

    if name is None:
        model.reset_attention_backend()  # type: ignore[operator]
        _AttentionBackendRegistry.set_active_backend(AttentionBackendName.NATIVE)
    else:
        model.set_attention_backend(name)  # type: ignore[operator]


# -- timing ----------------------------------------------------------------------------------------------------


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_gb(device: str) -> float | None:
    return torch.cuda.max_memory_allocated() / 1e9 if device.startswith("cuda") else None


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()


def time_calls(call: Callable[[], Any], repeats: int, device: str) -> tuple[float, float]:
    """(seconds of the first call, mean seconds of the next `repeats` calls)."""
    with torch.inference_mode():
        sync(device)
        start = time.perf_counter()
        call()
        sync(device)
        first = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(repeats):
            call()
        sync(device)
    return first, (time.perf_counter() - start) / repeats


@dataclass
class Row:
    case: Case
    path: str
    layers: int
    first_s: float
    forward_s: float  # extrapolated to the full depth when a slice was timed
    peak_gb: float | None

    @property
    def tflops(self) -> float:
        return flops_per_forward(self.case.arch, self.case.tokens) / self.forward_s / 1e12

    @property
    def floor_ratio(self) -> float:
        return FLOOR_TFLOPS / self.tflops


def print_row(row: Row) -> None:
    arch = row.case.arch
    depth = f"{row.layers}/{arch.layers}" + ("" if row.layers == arch.layers else " (extrapolated)")
    peak = "—" if row.peak_gb is None else f"{row.peak_gb:.1f}"
    print(
        f"{row.case.label:<24} {row.path:<18} {depth:<20} {row.forward_s:>9.3f} {2 * row.forward_s:>9.3f} "
        f"{row.tflops:>8.1f} {row.floor_ratio:>7.2f}× {peak:>8} {row.first_s:>8.1f}"
    )


def run_case(case: Case, args: argparse.Namespace, device: str, dtype: torch.dtype, deadline: float) -> list[Row]:
    arch = case.arch
    layers = min(args.layers or arch.layers, arch.layers)
    scale = arch.layers / layers  # a slice of blocks extrapolated to the full depth (embeddings/head counted once)
    reset_peak(device)
    model = build_transformer(arch, layers, device, dtype)
    inputs = inputs_for(case, device, dtype)
    rows: list[Row] = []

    def forward() -> Any:
        return model(**inputs)

    def timed(path: str) -> None:
        reset_peak(device)
        first, mean = time_calls(forward, args.repeats, device)
        row = Row(case, path, layers, first, mean * scale, peak_gb(device))
        rows.append(row)
        print_row(row)

    # (a) plain diffusers defaults, (b) the studio's kernel, (c) + regional compilation
    use_attention(model, None)
    timed("plain")
    timings = probe_attention(arch, min(case.tokens, 16384), device, dtype)
    best = min(timings, key=timings.__getitem__) if timings else "native"
    probe = ", ".join(f"{n} {s * 1e3:.2f} ms" for n, s in sorted(timings.items(), key=lambda item: item[1]))
    print(f"  attention probe ({min(case.tokens, 16384)} tokens): {probe}")
    use_attention(model, best)
    timed(f"studio [{best}]")
    if args.balanced:  # before compilation: the cache hooks break the compiled blocks' graphs
        from gpu_balanced import time_balanced

        steps = args.balanced_steps or (10 if args.dry_run else None)
        estimate = 2 * rows[-1].forward_s * (steps or 50) * 1.7
        if time.perf_counter() + estimate > deadline:
            print(f"  balanced vs quality: skipped, ~{estimate:.0f} s would not fit the {args.budget_s:.0f} s budget")
        else:
            time_balanced(model, inputs, case.key, device, scale, steps)
    if args.compile:
        if time.perf_counter() > deadline - 150:
            print(f"  studio + compile: skipped, not enough of the {args.budget_s:.0f} s budget left")
        else:
            model.compile_repeated_blocks(fullgraph=True)  # type: ignore[operator]
            timed("studio + compile")
    if args.fp8:
        why = fp8_unavailable(device)
        if why:
            print(f"  studio + fp8: skipped, {why}")
        elif time.perf_counter() > deadline - 120:
            print(f"  studio + fp8: skipped, not enough of the {args.budget_s:.0f} s budget left")
        else:
            count = quantize_fp8(model)
            print(f"  fp8: {count} block linear layers quantized (torchao, per-row dynamic)")
            timed("studio + fp8" + (" + compile" if args.compile else ""))
    use_attention(model, None)
    return rows  # the model goes with this frame; the caller empties the CUDA cache


def fp8_unavailable(device: str) -> str | None:
    """Why FP8 matrix products cannot run here (as studio.engine.quantize.fp8_unavailable), or None."""
    if not device.startswith("cuda"):
        return "FP8 needs a CUDA GPU"
    if torch.cuda.get_device_capability() < (8, 9):
        return f"FP8 needs compute capability 8.9+; this GPU has {torch.cuda.get_device_capability()}"
    try:
        import torchao.quantization  # noqa: F401
    except ImportError:
        return "torchao is not installed"
    return None


def quantize_fp8(model: torch.nn.Module) -> int:
    """The block linear layers (both sides multiples of 16) to FP8, as studio.engine.quantize.quantize_experts does."""
    from torchao.quantization import Float8DynamicActivationFloat8WeightConfig, PerRow, quantize_

    def keep(module: torch.nn.Module, name: str) -> bool:
        return (
            isinstance(module, torch.nn.Linear)
            and name.startswith("blocks.")
            and module.in_features % 16 == 0
            and module.out_features % 16 == 0
        )

    count = sum(1 for name, module in model.named_modules() if keep(module, name))
    quantize_(model, Float8DynamicActivationFloat8WeightConfig(granularity=PerRow()), filter_fn=keep)
    return count


def time_text_encode(args: argparse.Namespace, device: str, dtype: torch.dtype) -> float | None:
    """Seconds to encode one 512-token prompt with UMT5-XXL's encoder (random weights, in `dtype`), or None."""
    try:
        from transformers import UMT5Config, UMT5EncoderModel
    except ImportError:
        print("  text encode: skipped, transformers is not installed")
        return None
    # UMT5-XXL (google/umt5-xxl, the encoder Wan uses): 24 layers, width 4096, 64 heads of 64, gated-GELU FFN 10240
    size = {"d_model": 4096, "d_ff": 10240, "num_layers": 24, "num_heads": 64, "d_kv": 64, "vocab_size": 256384}
    if args.dry_run:
        size = {"d_model": 32, "d_ff": 64, "num_layers": 2, "num_heads": 4, "d_kv": 8, "vocab_size": 1000}
    config = UMT5Config(**size, feed_forward_proj="gated-gelu", is_encoder_decoder=False)
    with torch.device(device), default_dtype(dtype):
        model = UMT5EncoderModel(config).eval()
    normal_init(model)
    ids = torch.randint(0, size["vocab_size"], (1, TEXT_TOKENS), device=device)
    first, mean = time_calls(lambda: model(input_ids=ids), args.repeats, device)
    params = sum(p.numel() for p in model.parameters()) / 1e9
    print(f"  text encode UMT5 ({params:.1f} B params) {TEXT_TOKENS} tokens: {mean:.3f} s (first call {first:.2f} s)")
    return mean  # the model goes with this frame; the caller empties the CUDA cache


def time_decode(case: Case, args: argparse.Namespace, device: str) -> float:
    """Seconds of one fp32 VAE decode of the case's latents (after a one-latent-frame warm-up at the same size)."""
    vae = build_vae(case.vae, device, tiny=args.dry_run)
    z = vae.config.z_dim
    _, _, frames, height, width = case.latent_shape
    generator = torch.Generator(device).manual_seed(0)
    with torch.inference_mode():
        vae.decode(torch.randn(1, z, 1, height, width, generator=generator, device=device))  # cuDNN setup
        latents = torch.randn(1, z, frames, height, width, generator=generator, device=device)
        reset_peak(device)
        sync(device)
        start = time.perf_counter()
        vae.decode(latents)
        sync(device)
    seconds = time.perf_counter() - start
    peak = peak_gb(device)
    print(f"  VAE decode {case.vae} {case.width}×{case.height}×{case.frames}: {seconds:.2f} s", end="")
    print("" if peak is None else f", peak {peak:.1f} GB")
    del vae
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dry-run", action="store_true", help="tiny models on the CPU: check the code path only")
    parser.add_argument("--compile", action="store_true", help="also time regional compilation (adds minutes)")
    parser.add_argument("--fp8", action="store_true", help="also time torchao FP8 block linears (Ada/Hopper)")
    parser.add_argument("--layers", type=int, default=None, help="time a slice of N blocks and extrapolate")
    parser.add_argument("--repeats", type=int, default=2, help="timed forwards after the warm-up one")
    parser.add_argument("--cases", default=",".join(c.key for c in CASES), help="comma-separated case keys")
    parser.add_argument("--budget-s", type=float, default=420.0, help="stop starting new work after this long")
    parser.add_argument("--no-vae", action="store_true", help="skip the VAE decode timings")
    parser.add_argument("--balanced", action="store_true", help="also time a Balanced (MagCache) vs Quality clip")
    parser.add_argument("--balanced-steps", type=int, default=None, help="steps of that clip (the model's own)")
    args = parser.parse_args()

    if not args.dry_run and not torch.cuda.is_available():
        print("bench/gpu_step.py: no CUDA GPU on this machine; nothing to measure. It times the real Wan")
        print("transformers on one H100/H200 (within --budget-s, 420 s by default). To check its code path: --dry-run")
        return 0

    import diffusers

    device = "cpu" if args.dry_run else "cuda"
    dtype = torch.float32 if args.dry_run else torch.bfloat16
    cases = [c for c in (DRY_CASES if args.dry_run else CASES) if c.key in args.cases.split(",")]
    started = time.perf_counter()
    deadline = started + args.budget_s
    name = "CPU (dry run: tiny models, numbers mean nothing)" if args.dry_run else torch.cuda.get_device_name(0)
    print(f"device: {name} · torch {torch.__version__} · diffusers {diffusers.__version__}")
    print(f"weights: random N(0, {INIT_STD}) in {str(dtype).removeprefix('torch.')} (diffusers' fp32 norms kept);")
    print(f"each row: one warm-up forward, then the mean of {args.repeats}; a step with CFG is two forwards.")
    if args.layers:
        print(f"only {args.layers} blocks are built and timed; per-forward times are scaled to the full depth.")
    header = (
        f"{'case':<24} {'path':<18} {'blocks timed':<20} {'s/forward':>9} {'s/step':>9} "
        f"{'TFLOP/s':>8} {'×floor':>8} {'peak GB':>8} {'first s':>8}"
    )
    print(header)
    print("-" * len(header))

    rows: list[Row] = []
    for case in cases:
        if time.perf_counter() > deadline:
            print(f"{case.label}: skipped, the {args.budget_s:.0f} s budget is spent")
            continue
        rows += run_case(case, args, device, dtype, deadline)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    decode_s: dict[str, float] = {}
    if not args.no_vae:
        print("VAE decode (fp32, one call after a one-frame warm-up):")
        for case in cases:
            if case.key == "a14b-480p" or time.perf_counter() > deadline:
                continue
            decode_s[case.key] = time_decode(case, args, device)

    text_s = None
    if any(case.key == "a14b-720p" for case in cases) and time.perf_counter() < deadline:
        print("text encode (one prompt; quality mode also encodes the negative prompt, once per text: cached):")
        text_s = time_text_encode(args, device, dtype)
        if device.startswith("cuda"):
            torch.cuda.empty_cache()

    # Summary against the goals
    print("summary:")
    for case in cases:
        best = min((r for r in rows if r.case is case), key=lambda r: r.forward_s, default=None)
        if best is None:
            continue
        floor_step = 2 * flops_per_forward(case.arch, case.tokens) / FLOOR_TFLOPS / 1e12
        line = f"  {case.label}: best {best.path}, {2 * best.forward_s:.2f} s/step with CFG (floor {floor_step:.2f} s)"
        if case.key in GOALS:
            line += f", goal ≤ {GOALS[case.key][1]} s"
        print(line)
        if case.key == "a14b-720p" and case.key in decode_s:
            clip = 4 * best.forward_s + decode_s[case.key]
            parts = "4 steps × 1 forward + VAE decode"
            if text_s is None:
                ending = "plus the text encode (not timed: transformers missing)"
            else:
                clip, parts, ending = clip + text_s, parts + " + text encode", "the whole clip"
            print(
                f"  {case.label} fast mode: {parts} = {clip:.1f} s, {ending}; goal ≤ {FAST_CLIP_GOAL_S:.0f} s "
                "(the fast LoRA's own small products are not included)"
            )
    print(f"total {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
