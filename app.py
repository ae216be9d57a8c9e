"""Wan Studio entry point (also the Hugging Face Spaces entry): Settings → Studio → API + UI → serve."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio.config import Settings, load_settings
from studio.domain import preset_settings
from studio.domain.preset_types import Preset

if TYPE_CHECKING:
    from studio.services.studio import Studio

log = logging.getLogger("studio")

# Start-up warnings of the model libraries that mean nothing to a person using the studio (optional CUDA kernels of
# torchao, Triton on a CPU machine, torch's deprecation notes): shown only with --log-level debug.
# torch resets its own "torch" logger when imported, not the unregistered "torch.utils._pytree" below it.
NOISY_LIBRARIES = ("torchao", "torch.utils._pytree", "diffusers.quantizers")
CHATTY_LIBRARIES = (
    "alembic",
    "httpx",
    "httpx2",
    "procrastinate",
)  # their INFO lines (each migration, each request): warnings on


def configure_logging(level: str) -> None:
    """The console at `level`; below debug, the libraries' start-up noise is kept to their errors."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger().setLevel(level.upper())
    verbose = level == "debug"
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.ERROR)
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET if verbose else logging.WARNING)


def resolve_preset(settings: Settings) -> Preset:
    """The preset `--model` names; `auto` looks at the GPU."""
    gpu_memory_gb = None
    if settings.model == "auto" and settings.device != "cpu":
        from studio.engine.devices import detect_device

        _, gpu_memory_gb = detect_device(settings.device if settings.device.startswith("cuda") else "cuda")
    preset = preset_settings.resolve(settings.model, gpu_memory_gb=gpu_memory_gb)
    if settings.model_revision:
        preset = dataclasses.replace(preset, revision=settings.model_revision)
    preset = preset_settings.with_step_cache(preset, settings.cache)
    preset = dataclasses.replace(preset, compiled=settings.compile)  # Balanced is refused at submit under --compile
    return preset_settings.with_fast_lora(
        preset,
        lora=settings.fast_lora,
        lora_2=settings.fast_lora_2,
        scale=settings.fast_lora_scale,
        scale_2=settings.fast_lora_2_scale,
    )


def check_sharing(settings: Settings) -> str | None:
    """Why the settings must not start (a public link without a login), or None."""
    if settings.share and not settings.auth and not settings.share_without_auth:
        return "share: a public link needs --auth user:password (or, knowingly, --share-without-auth)"
    return None


def check_model_files(settings: Settings, preset: Preset) -> int | None:
    """--record-model-manifest / --verify-model: an exit code to stop with, or None to go on serving."""
    if not (settings.record_model_manifest or settings.verify_model):
        return None
    from studio.services import manifests

    tiny = None
    if preset.tiny:
        from studio.engine.tiny_models import ensure_tiny_model

        tiny = ensure_tiny_model(preset, settings.models_dir)
    folder = manifests.model_folder(preset.source, tiny_folder=tiny, revision=preset.revision)
    manifest = settings.manifest_path(preset.key)
    if settings.record_model_manifest:
        files = manifests.write_manifest(folder, manifest)
        print(f"recorded {len(files)} files of {preset.key} ({folder}) in {manifest}")
        return 0
    if not manifest.is_file():
        print(
            f"error: verify_model: no manifest at {manifest}; record one with --record-model-manifest", file=sys.stderr
        )
        return 2
    problems = manifests.verify(folder, manifests.read_manifest(manifest))
    if problems:
        print(
            f"error: verify_model: the files of {preset.key} do not match {manifest}; refusing to serve:",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    log.info("model files of %s match %s", preset.key, manifest)
    return None


# `serve` (UI + API, the default), `worker` (a generation worker of the fleet) or `download` (fetch weights, then exit)
COMMANDS = ("serve", "worker", "download")


def split_command(argv: list[str]) -> tuple[str, list[str]]:
    """`app.py [serve|worker] [flags]` → the command and its flags; no command means serve.

    `app.py download <preset|hub id> [flags]` takes the model as its first argument (the same as --model).
    """
    if argv and argv[0] == "download" and len(argv) > 1 and not argv[1].startswith("-"):
        return "download", ["--model", argv[1], *argv[2:]]
    if argv and argv[0] in COMMANDS:
        return argv[0], argv[1:]
    return "serve", argv


def check_command(command: str, settings: Settings) -> str | None:
    """Why the command cannot run with these settings, or None."""
    if command == "worker" and not settings.uses_fleet:
        return "worker: a fleet worker needs --database-url postgresql+psycopg://… (the queue it serves)"
    if command == "worker" and settings.workers == 0:
        return "worker: --workers 0 leaves nothing to run"
    return None


def main(argv: list[str] | None = None) -> int:
    configure_logging("info")
    command, flags = split_command(sys.argv[1:] if argv is None else argv)
    settings = load_settings(flags)
    configure_logging(settings.log_level)
    try:
        problem = check_sharing(settings) or check_command(command, settings)
        if problem:
            raise ValueError(problem)
        preset = resolve_preset(settings)
    except (ValueError, preset_settings.UnknownModelError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if command == "download":
        return run_download(settings, preset)

    stop = check_model_files(settings, preset)
    if stop is not None:
        return stop

    from studio.services.studio import Studio

    if command == "worker":
        return run_worker(Studio(settings, preset=preset), settings)

    import uvicorn

    from studio.web import ReadyServer, build_app, local_url

    log.info("model %s (%s), data in %s", preset.key, preset.label, settings.data_dir.resolve())
    studio = Studio(settings, preset=preset)
    app = build_app(studio)  # serving it starts the studio (the API's lifespan) and stops it at the end
    if settings.share:
        from studio.ui.public_link import open_public_link

        def share() -> None:
            studio.public_link = "opening…"
            url = open_public_link(settings.host, settings.port)
            studio.public_link = url or "none: it could not be made (see the log); the studio serves locally"

        threading.Thread(target=share, name="studio-share", daemon=True).start()
    # Proxy headers are applied by the app itself, from `trusted_proxies` only (uvicorn trusts 127.0.0.1 by default)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning", proxy_headers=False)
    server = ReadyServer(config, address=local_url(settings).rstrip("/"))
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl+C: uvicorn has already shut down gracefully
        server.run()
    return 0 if server.started else 3  # 3: uvicorn's "could not start" (the port in use, say)


def run_worker(studio: Studio, settings: Settings) -> int:
    """A generation worker of the fleet: load the model, serve its queue until SIGTERM or SIGINT, then leave."""
    import signal

    from prometheus_client import start_http_server

    assert studio.fleet_worker is not None
    if settings.device != "cpu":
        from studio.engine.devices import detect_device

        studio.fleet_worker.gpu_memory_gb = detect_device(settings.device if settings.device != "auto" else "cuda")[1]
    if settings.metrics_port:
        start_http_server(settings.metrics_port, registry=studio.metrics.registry)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    log.info("worker %s serves %s on %s", studio.fleet_worker.name, studio.preset.key, settings.device)
    studio.start()
    while not stop.wait(1.0):  # wakes for signals: they run on the main thread
        pass
    log.info("stopping: the running job (if any) finishes first")
    studio.stop()
    return 0


def run_download(settings: Settings, preset: Preset) -> int:
    """`app.py download`: fetch the model's weights into the Hugging Face cache with a progress bar, then exit."""
    import time

    from studio.domain.downloads import format_bytes
    from studio.engine import downloads
    from studio.terminal import TerminalBar

    if preset.tiny or preset.source is None or Path(preset.source).expanduser().is_dir():
        print(f"{preset.key}: nothing to download (a tiny preview model or a local folder)")
        return 0
    start = time.perf_counter()
    bar = TerminalBar()
    try:
        folder = downloads.fetch(
            preset.source,
            preset.revision,
            model=preset.key,
            record_dir=settings.models_dir / "downloads",
            on_progress=bar.update,
        )
    except downloads.WeightsUnavailable as exc:
        bar.close()
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    bar.close()
    seconds = time.perf_counter() - start
    last = bar.last
    if last is None or last.total_bytes == 0:
        cached = format_bytes(last.cached_bytes) if last else "all files"
        print(f"{preset.key}: already in the cache ({cached} at {folder}); nothing to download ({seconds:.1f} s)")
    else:
        rate = format_bytes(last.total_bytes / max(seconds, 1e-6))
        print(f"{preset.key}: downloaded {format_bytes(last.total_bytes)} in {seconds:.1f} s ({rate}/s) to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
