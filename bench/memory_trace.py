"""Where studio.engine.memory_plan's traced constants come from: full-size traces on the CPU. Not a test.

    python bench/memory_trace.py            # forwards, untiled decodes and encodes, step-cache state: minutes
    python bench/memory_trace.py --tiled    # also tiled decodes and encodes (several minutes more: many small tiles)

Each real diffusers module runs at full size under FakeTensorMode (studio.engine.memory_trace): shapes, dtypes and
storage sizes are real, nothing is allocated. It prints the peak tensor bytes, the per-unit figures
studio.engine.memory_plan uses, and its estimate next to each trace. GPU-side extras (CUDA context, workspaces,
fragmentation) are not in a trace: studio.engine.memory_plan.HEADROOM_GB stands for them until a GPU measures them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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

CASES: list[tuple[LayoutName, str, tuple[int, int, int]]] = [
    ("a14b", "wan2.2-t2v-a14b", (1280, 720, 81)),
    ("a14b", "wan2.2-t2v-a14b", (832, 480, 81)),
    ("ti2v-5b", "wan2.2-ti2v-5b", (1280, 704, 121)),
    ("1.3b", "wan2.1-t2v-1.3b", (832, 480, 81)),
    ("i2v-a14b", "wan2.2-i2v-a14b", (1280, 720, 81)),  # 36 input channels: latents, frame mask, encoded images
]
# Image jobs' conditioning-video encodes (TI2V-5B encodes its start image alone: one frame, at its largest size)
ENCODES: list[tuple[str, tuple[int, int, int]]] = [
    ("wan2.2-i2v-a14b", (1280, 720, 81)),
    ("wan2.2-i2v-a14b", (832, 480, 81)),
    ("wan2.2-ti2v-5b", (960, 960, 121)),
]
# Balanced's cache state, each method, on the largest clips
CACHES: list[tuple[str, tuple[int, int, int]]] = [
    ("wan2.2-i2v-a14b", (1280, 720, 81)),
    ("wan2.2-ti2v-5b", (1280, 704, 121)),
]


def row(name: str, traced: float, estimate: float, unit: str, started: float) -> str:
    seconds = time.perf_counter() - started
    return f"{name:<48} {traced:>10.2f} {estimate:>12.2f} {unit:>26}  ({seconds:.0f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiled", action="store_true", help="also trace tiled decodes (slow)")
    args = parser.parse_args()
    print(f"{'case':<48} {'traced GB':>10} {'estimate GB':>12} {'per unit':>26}")
    for layout, key, (width, height, frames) in CASES:
        preset = PRESETS[key]
        info = preset.layout_info
        channels = transformer_config(layout)["in_channels"]
        latent = (1, channels, (frames - 1) // 4 + 1, height // info.vae_spatial, width // info.vae_spatial)
        tokens = memory_plan.latent_tokens(preset, width, height, frames)
        dim = memory_plan.DIMS[layout][0]
        label = f"{preset.key} {width}×{height}×{frames}"

        started = time.perf_counter()
        traced = transformer_peak_gb(transformer_config(layout), latent, expand_timesteps=info.expand_timesteps)
        estimate = memory_plan.activation_gb(preset, tokens)
        unit = f"{traced * 1e9 / tokens / dim:.1f} B/token·channel"
        print(row("forward " + label, traced, estimate, unit, started))

        for tiled in (False, True) if args.tiled else (False,):
            started = time.perf_counter()
            traced = decode_peak_gb(VAE_CONFIGS[layout], (1, TRANSFORMER_SHAPES[layout][3], *latent[2:]), tiled=tiled)
            estimate = memory_plan.decode_gb(preset, width, height, frames, tiled=tiled)
            unit = f"{traced * 1e9 / (width * height):.0f} B/pixel"
            name = ("tiled " if tiled else "") + "decode " + label
            print(row(name, traced, estimate, unit, started))
    encodes(args.tiled)
    caches()
    return 0


def encodes(with_tiled: bool) -> None:
    for key, (width, height, frames) in ENCODES:
        preset = PRESETS[key]
        encoded = 1 if preset.layout_info.expand_timesteps else frames
        for tiled in (False, True) if with_tiled else (False,):
            started = time.perf_counter()
            traced = encode_peak_gb(VAE_CONFIGS[preset.layout], width, height, encoded, tiled=tiled)
            estimate = memory_plan.encode_gb(preset, width, height, frames, tiled=tiled)
            unit = f"{traced * 1e9 / (width * height):.0f} B/pixel"
            name = f"{'tiled ' if tiled else ''}encode {key} {width}×{height}×{encoded}"
            print(row(name, traced, estimate, unit, started))


def caches() -> None:
    for key, (width, height, frames) in CACHES:
        preset = PRESETS[key]
        info = preset.layout_info
        config = transformer_config(preset.layout)
        latent = (
            1,
            config["in_channels"],
            (frames - 1) // 4 + 1,
            height // info.vae_spatial,
            width // info.vae_spatial,
        )
        tokens = memory_plan.latent_tokens(preset, width, height, frames)
        tensor_gb = tokens * memory_plan.DIMS[preset.layout][0] * 2 / 1e9  # one bf16 hidden state
        for method, count in memory_plan.CACHE_TENSORS.items():
            started = time.perf_counter()
            traced, _ = cache_state_gb(config, latent, method=method, expand_timesteps=info.expand_timesteps)
            estimate = count * memory_plan.CACHE_CONTEXTS * tensor_gb
            unit = f"{traced / tensor_gb:.2f} hidden states"
            print(row(f"{method} state {key} {width}×{height}×{frames}", traced, estimate, unit, started))


if __name__ == "__main__":
    sys.exit(main())
