"""Model downloads and switches, measured: the loopback hub's download rate and the switch time between tiny presets.

    .venv/bin/python bench/models.py [--pad-mb 256] [--switches 3]

1. Download: the tiny 1.3B pipeline, padded with one extra `transformer/*.safetensors` file of `--pad-mb` MB of random
   bytes, is served by tests/loopback_hub.py (unthrottled, loopback) and fetched by `app.py download <hub id>` into an
   empty HF_HOME: the command's own summary line (bytes, seconds, rate) is printed, then a second run's "already in
   the cache" line and its wall time.
2. Switch: a Studio that builds its own pipelines (CPU) is switched tiny-1.3b → tiny-a14b → tiny-1.3b … and the
   worker's `switch_s` (unload, build, load) is printed for each switch.
Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.config import Settings  # noqa: E402
from studio.domain.presets import PRESETS  # noqa: E402
from studio.engine.tiny_models import ensure_tiny_model  # noqa: E402
from studio.services.studio import Studio  # noqa: E402
from studio.services.worker import ModelState  # noqa: E402
from tests.helpers import wait_for  # noqa: E402
from tests.hub_fixtures import hub_env  # noqa: E402
from tests.loopback_hub import LoopbackHub, Repo  # noqa: E402


def download(work: Path, pad_mb: int) -> None:
    folder = work / "served"
    shutil.copytree(ensure_tiny_model(PRESETS["tiny-1.3b"], work / "models"), folder)
    with (folder / "transformer" / "diffusion_pytorch_model-padding.safetensors").open("wb") as pad:
        for _ in range(pad_mb):
            pad.write(os.urandom(1 << 20))
    hub = LoopbackHub({"bench/padded-1.3b": Repo(folder)}).start()
    try:
        command = [sys.executable, str(ROOT / "app.py"), "download", "bench/padded-1.3b", "--data-dir", str(work)]
        for run in ("first", "second"):
            start = time.perf_counter()
            done = subprocess.run(command, env=hub_env(hub, work / "hf"), capture_output=True, text=True, check=True)
            print(f"download ({run} run, {time.perf_counter() - start:.1f} s wall): {done.stdout.strip()}")
    finally:
        hub.stop()


def switches(work: Path, count: int) -> None:
    preset = PRESETS["tiny-1.3b"]
    studio = Studio(Settings(data_dir=work / "data", device="cpu", model=preset.key), preset=preset)
    studio.start()
    try:
        assert studio.worker is not None
        wait_for(lambda: studio.model_state is ModelState.READY, 300, "the first model")
        for n in range(count):
            target = "tiny-a14b" if n % 2 == 0 else "tiny-1.3b"
            before = studio.worker.switch_s
            studio.use_model(target)
            wait_for(
                lambda before=before, target=target: (  # type: ignore[misc]
                    studio.worker is not None and studio.worker.switch_s != before and studio.loaded_model == target
                ),
                300,
                "the switch",
            )
            assert studio.model_state is ModelState.READY
            print(f"switch {n + 1}: → {target} in {studio.worker.switch_s:.2f} s")
    finally:
        studio.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pad-mb", type=int, default=256)
    parser.add_argument("--switches", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-bench-models-"))
    try:
        download(work, args.pad_mb)
        switches(work, args.switches)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
