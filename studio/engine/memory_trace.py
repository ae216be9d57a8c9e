"""Peak activation memory of the real diffusers modules, traced on the CPU without allocating anything.

The modules run under PyTorch's FakeTensorMode: every tensor has its real shape, dtype and storage size but no
data, so a full-size 720p forward of a 14B transformer or a VAE decode takes seconds and no memory. `PeakTracker`
adds up the bytes of the storages alive at each operation and keeps the highest sum. That is what
studio.engine.memory_plan's activation, decode, encode and step-cache constants come from (`bench/memory_trace.py`
prints them; tests/engine/test_memory_trace.py checks them against fresh traces at smaller sizes).

What a trace leaves out, and studio.engine.memory_plan.HEADROOM_GB covers: the CUDA context, cuBLAS/cuDNN workspaces
and the caching allocator's fragmentation. On the CPU, PyTorch's SDPA takes its flash-style kernel, which like CUDA's
flash and cuDNN kernels keeps O(tokens) memory, so the attention figures carry over.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.multiprocessing.reductions import StorageWeakRef
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from studio.domain.preset_types import LayoutName

# The full-size architectures (the official Wan2.1/Wan2.2 diffusers configs), as (attention heads, head width,
# FFN width, latent channels).
TRANSFORMER_SHAPES: dict[LayoutName, tuple[int, int, int, int]] = {
    "a14b": (40, 128, 13824, 16),
    "ti2v-5b": (24, 128, 14336, 48),
    "1.3b": (12, 128, 8960, 16),
    "i2v-a14b": (40, 128, 13824, 16),  # its input has 36 channels (latents, mask, image): see transformer_config
}
# AutoencoderKLWan: diffusers' defaults are the Wan2.1 VAE (A14B, 1.3B); TI2V-5B has the Wan2.2 VAE. Its numbers are
# those of the Wan-AI/Wan2.2-TI2V-5B-Diffusers vae config as this project knows it (not read from the hub here).
WAN22_VAE: dict[str, Any] = {
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
VAE_CONFIGS: dict[LayoutName, dict[str, Any]] = {"a14b": {}, "ti2v-5b": WAN22_VAE, "1.3b": {}, "i2v-a14b": {}}


def transformer_config(layout: LayoutName, layers: int = 2) -> dict[str, Any]:
    """A WanTransformer3DModel config of the layout at full width, `layers` blocks deep."""
    heads, head_dim, ffn, channels = TRANSFORMER_SHAPES[layout]
    return {
        "patch_size": (1, 2, 2),
        "num_attention_heads": heads,
        "attention_head_dim": head_dim,
        "in_channels": 2 * channels + 4 if layout == "i2v-a14b" else channels,
        "out_channels": channels,
        "text_dim": 4096,
        "freq_dim": 256,
        "ffn_dim": ffn,
        "num_layers": layers,
        "cross_attn_norm": True,
        "qk_norm": "rms_norm_across_heads",
        "eps": 1e-6,
    }


class PeakTracker(TorchDispatchMode):
    """Bytes of the tensor storages created inside the mode and still alive, at their highest (`peak`)."""

    def __init__(self) -> None:
        super().__init__()
        self._live: dict[int, tuple[StorageWeakRef, int]] = {}
        self.current = 0
        self.peak = 0

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for key in [key for key, (ref, _) in self._live.items() if ref.expired()]:
            self.current -= self._live.pop(key)[1]
        for tensor in tree_flatten(out)[0]:
            if isinstance(tensor, torch.Tensor):
                storage = tensor.untyped_storage()
                ref = StorageWeakRef(storage)
                if ref.cdata not in self._live:
                    self._live[ref.cdata] = (ref, storage.nbytes())
                    self.current += storage.nbytes()
        self.peak = max(self.peak, self.current)
        return out


def traced_peak_gb(build: Callable[[], Any], run: Callable[[Any], Any], *, dtype: torch.dtype) -> float:
    """Peak activation GB (1e9 bytes) of `run(build())` under FakeTensorMode; what `build` allocates is not counted.

    `build` creates the module (and its inputs) with `dtype` as the default dtype; `run` calls it.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    previous = torch.get_default_dtype()
    with FakeTensorMode():
        torch.set_default_dtype(dtype)
        try:
            built = build()
        finally:
            torch.set_default_dtype(previous)
        tracker = PeakTracker()
        with torch.inference_mode(), tracker:
            run(built)
    return tracker.peak / 1e9


def transformer_peak_gb(config: dict[str, Any], latent_shape: tuple[int, ...], *, expand_timesteps: bool) -> float:
    """One bf16 forward of a WanTransformer3DModel (`config`, 2 blocks suffice: one block is live at a time) on
    latents of `latent_shape` (B, C, F, H, W) with 512 text tokens, as WanPipeline calls it."""
    from diffusers.models.transformers.transformer_wan import WanTransformer3DModel

    def build() -> tuple[Any, dict[str, Any]]:
        return WanTransformer3DModel(**config).eval(), transformer_inputs(config, latent_shape, expand_timesteps)

    return traced_peak_gb(build, lambda built: built[0](**built[1]), dtype=torch.bfloat16)


def transformer_inputs(config: dict[str, Any], latent_shape: tuple[int, ...], expand: bool) -> dict[str, Any]:
    """A forward's arguments as WanPipeline passes them: latents, the timestep (one per token with `expand`, as
    TI2V-5B's expand_timesteps has it) and 512 text tokens."""
    _, _, frames, height, width = latent_shape
    tokens = frames * (height // 2) * (width // 2)
    return {
        "hidden_states": torch.randn(*latent_shape),
        "timestep": torch.full((1, tokens), 999.0) if expand else torch.tensor([999]),
        "encoder_hidden_states": torch.randn(1, 512, config["text_dim"]),
        "return_dict": False,
    }


def decode_peak_gb(vae_config: dict[str, Any], latent_shape: tuple[int, ...], *, tiled: bool) -> float:
    """One fp32 AutoencoderKLWan decode (`vae_config`) of latents of `latent_shape`, tiled or not."""
    from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan

    def build() -> tuple[Any, torch.Tensor]:
        vae = AutoencoderKLWan(**vae_config).eval()
        if tiled:
            vae.enable_tiling()
        return vae, torch.randn(*latent_shape)

    return traced_peak_gb(build, lambda built: built[0].decode(built[1]), dtype=torch.float32)


def encode_peak_gb(vae_config: dict[str, Any], width: int, height: int, frames: int, *, tiled: bool) -> float:
    """One fp32 AutoencoderKLWan encode of an image job's conditioning video, as WanImageToVideoPipeline's
    prepare_latents builds it: the start image, then zeros up to `frames` (1: the image alone, TI2V-5B's case)."""
    from diffusers.models.autoencoders.autoencoder_kl_wan import AutoencoderKLWan

    def build() -> tuple[Any, torch.Tensor]:
        vae = AutoencoderKLWan(**vae_config).eval()
        if tiled:
            vae.enable_tiling()
        return vae, torch.randn(1, 3, 1, height, width)

    def run(built: tuple[Any, torch.Tensor]) -> Any:
        vae, image = built
        # The pipeline makes the zeros and the whole video on the GPU, next to the encode: they count
        video = torch.cat([image, image.new_zeros(1, 3, frames - 1, height, width)], dim=2) if frames > 1 else image
        return vae.encode(video).latent_dist.mode()

    return traced_peak_gb(build, run, dtype=torch.float32)


def cache_state_gb(
    config: dict[str, Any], latent_shape: tuple[int, ...], *, method: str, expand_timesteps: bool
) -> tuple[float, float]:
    """Balanced's cache hooks (diffusers MagCache or First Block Cache) on a bf16 WanTransformer3DModel (`config`):
    (GB they keep alive between steps, peak GB of the cached forwards).

    One forward runs plain, then one per cache context ("cond", "uncond", as the pipeline names them); the state is
    what the cached forwards leave alive beyond what the plain one did. Later steps replace the state, same-sized.
    """
    from diffusers.hooks import FirstBlockCacheConfig, MagCacheConfig
    from diffusers.models.transformers.transformer_wan import WanTransformer3DModel
    from torch._subclasses.fake_tensor import FakeTensorMode

    previous = torch.get_default_dtype()
    with FakeTensorMode():
        torch.set_default_dtype(torch.bfloat16)
        try:
            model = WanTransformer3DModel(**config).eval()
            inputs = transformer_inputs(config, latent_shape, expand_timesteps)
        finally:
            torch.set_default_dtype(previous)
        tracker = PeakTracker()
        with torch.inference_mode(), tracker:
            model(**inputs)
            torch.empty(0)  # an operation, so the tracker drops what the forward freed
            plain = tracker.current
            if method == "fbcache":
                model.enable_cache(FirstBlockCacheConfig(threshold=0.05))
            else:  # the first step: MagCache computes it whatever the ratios
                model.enable_cache(MagCacheConfig(num_inference_steps=2, mag_ratios=torch.ones(2)))
            tracker.peak = tracker.current
            for context in ("cond", "uncond"):
                with model.cache_context(context):
                    model(**inputs)
            torch.empty(0)
    return (tracker.current - plain) / 1e9, (tracker.peak - plain) / 1e9
