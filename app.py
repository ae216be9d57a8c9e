"""Wan Studio entry point (also the Hugging Face Spaces entry): Settings → Studio → UI → launch."""

from __future__ import annotations

import logging
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from studio import presets
from studio.config import Settings, load_settings

log = logging.getLogger("studio")


def resolve_preset(settings: Settings) -> presets.Preset:
    """The preset `--model` names; `auto` looks at the GPU."""
    gpu_memory_gb = None
    if settings.model == "auto" and settings.device != "cpu":
        from studio.pipeline import detect_device

        _, gpu_memory_gb = detect_device()
    return presets.resolve(settings.model, gpu_memory_gb=gpu_memory_gb)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = load_settings(sys.argv[1:] if argv is None else argv)
    try:
        preset = resolve_preset(settings)
    except presets.UnknownModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from studio.service import Studio
    from studio.ui import CSS_PATH, build_ui

    log.info("model %s (%s), data in %s", preset.key, preset.label, settings.data_dir.resolve())
    studio = Studio(settings, preset=preset)
    studio.start()
    demo = build_ui(studio)
    try:
        demo.queue(default_concurrency_limit=8).launch(
            server_name=settings.host,
            server_port=settings.port,
            share=settings.share,
            auth=settings.auth_pairs or None,
            allowed_paths=[str(settings.media_dir)],
            ssr_mode=False,  # Gradio 6.27–6.31: auth bypass with SSR on
            css_paths=[CSS_PATH],
            show_error=True,
        )
    finally:
        studio.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
