"""Where studio.engine.memory_plan's activation and decode constants come from: full-size traces on the CPU. Not a test.

    python bench/memory_trace.py            # transformer forwards and untiled decodes, about a minute
    python bench/memory_trace.py --tiled    # also tiled decodes (several minutes: many small tiles)

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
from studio.engine.memory_trace import VAE_CONFIGS, decode_peak_gb, transformer_config, transformer_peak_gb

CASES: list[tuple[LayoutName, str, tuple[int, int, int]]] = [
    ("a14b", "wan2.2-t2v-a14b", (1280, 720, 81)),
    ("a14b", "wan2.2-t2v-a14b", (832, 480, 81)),
    ("ti2v-5b", "wan2.2-ti2v-5b", (1280, 704, 121)),
    ("1.3b", "wan2.1-t2v-1.3b", (832, 480, 81)),
]


def row(name: str, traced: float, estimate: float, unit: str, started: float) -> str:
    seconds = time.perf_counter() - started
    return f"{name:<34} {traced:>10.2f} {estimate:>12.2f} {unit:>26}  ({seconds:.0f} s)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tiled", action="store_true", help="also trace tiled decodes (slow)")
    args = parser.parse_args()
    print(f"{'case':<34} {'traced GB':>10} {'estimate GB':>12} {'per unit':>26}")
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
            traced = decode_peak_gb(VAE_CONFIGS[layout], latent, tiled=tiled)
            estimate = memory_plan.decode_gb(preset, width, height, frames, tiled=tiled)
            unit = f"{traced * 1e9 / (width * height):.0f} B/pixel"
            name = ("tiled " if tiled else "") + "decode " + label
            print(row(name, traced, estimate, unit, started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
