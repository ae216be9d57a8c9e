"""Gradio Blocks for the studio. Each page is a module: handlers, then layout, then event wiring."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio.service import Studio
from studio.ui.create import CreatePage
from studio.ui.queue import QueuePanel

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CSS_PATH = ASSETS / "studio.css"


def build_ui(studio: Studio) -> gr.Blocks:
    """The whole studio UI, bound to a started Studio."""
    # Serve history files in place: without this Gradio copies every video it shows into its cache.
    gr.set_static_paths([studio.media_dir])
    with gr.Blocks(title="Wan Studio") as demo:
        gr.Markdown("# Wan Studio", elem_id="studio-title")
        with gr.Tab("Create"):
            CreatePage(studio).build(demo)
            QueuePanel(studio).build(demo)
    return demo
