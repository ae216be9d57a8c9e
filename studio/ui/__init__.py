"""Gradio Blocks for the studio. Each page is a module: handlers, then layout, then event wiring."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from studio import hosting
from studio.services.studio import Studio
from studio.ui.compare import ComparePage
from studio.ui.compare_grid import GridPanel
from studio.ui.create import CreatePage
from studio.ui.history import HistoryPage
from studio.ui.models_page import ModelsPage
from studio.ui.queue import QueuePanel
from studio.ui.tools import Tools

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CSS_PATH = ASSETS / "studio.css"
HEAD_PATH = ASSETS / "studio-head.html"  # Ctrl/Cmd+Enter to generate, progress in the tab title
UPLOAD_MAX_AGE_S = 3600


def build_ui(studio: Studio) -> gr.Blocks:
    """The whole studio UI, bound to a started Studio."""
    # Serve history files in place: without this Gradio copies every video it shows into its cache.
    gr.set_static_paths([studio.media_dir])
    # Uploads (MP4 imports) are copies in Gradio's cache: purge those older than an hour, every hour.
    with gr.Blocks(title="Wan Studio", delete_cache=(UPLOAD_MAX_AGE_S, UPLOAD_MAX_AGE_S)) as demo:
        gr.Markdown("# Wan Studio", elem_id="studio-title")
        if hosting.history_is_temporary(studio.settings.data_dir):
            gr.HTML(
                "<div id='temporary-banner'>⚠️ This Space has no persistent storage: history and videos are lost "
                "when it restarts. Add persistent storage in the Space settings to keep them (they go to /data).</div>"
            )
        with gr.Tabs() as tabs:
            with gr.Tab("Create", id="create"):
                create = CreatePage(studio)
                create.build(demo)
                compare = ComparePage(studio, create, tabs)
                compare.build_launcher()
                grid_panel = GridPanel(studio, compare)
                grid_panel.build_launcher()
                QueuePanel(studio).build(demo)
            with gr.Tab("History", id="history") as history_tab:
                history = HistoryPage(studio, create, tabs)
                history.build()
            with gr.Tab("Compare", id="compare"):
                compare.build()
                grid_panel.build()
            with gr.Tab("Models", id="models"):
                models = ModelsPage(studio)
                models.build()
        Tools(studio).register()
        history.wire(demo, history_tab)
        compare.wire(history.compare_pick, history.compare_btn)
        grid_panel.wire(
            history.reopen_btn,
            history.selected_state,
            history.speeds_btn,
            history.import_panel.rebuild_btn,
            history.import_panel.recipe_state,
        )
        models.wire()
    return demo
