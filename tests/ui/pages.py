"""Shared by the UI handler tests: the Create page's input values, and the Create + Compare pages built together."""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.services.studio import Studio
from studio.ui.compare import ComparePage
from studio.ui.compare_grid import GridPanel
from studio.ui.create import CreatePage

# Valid values of every Create-page control, by name (the page's handlers take them as keywords).
GOOD = {
    "prompt": "a kite over the sea",
    "negative_prompt": "blurry",
    "seed": 5,
    "random_seed": False,
    "aspect_ratio": "9:16",
    "duration_s": 1.0,
    "quality": "preview",
    "steps": 3,
    "guidance": 5.0,
    "guidance_2": 3.0,
    "flow_shift": 3.0,
    "speed": "Quality",
    "cache": None,
    "cache_threshold": None,
}


def create_settings(**changes: Any) -> list[Any]:
    """The Create page's settings in `CreatePage.inputs` order (before the Start/End image inputs)."""
    values = {
        "prompt": "a kite over the sea",
        "negative_prompt": "",
        "seed": "9",
        "random_seed": False,
        "aspect_ratio": "16:9",
        "duration_s": 0.5,
        "quality": "preview",
        "steps": 2,
        "guidance": 5.0,
        "guidance_2": None,
        "flow_shift": 5.0,
        "speed": "Quality",
        "cache": None,
        "cache_threshold": None,
    } | changes
    return list(values.values())


def grid_panel_for(studio: Studio) -> GridPanel:
    """The Create page with both comparison launchers, and the Compare page with its grid, as the app lays them out."""
    with gr.Blocks() as demo, gr.Tabs() as tabs, gr.Tab("Create"):
        create = CreatePage(studio)
        create.build(demo)
        compare = ComparePage(studio, create, tabs)
        compare.build_launcher()
        grid_panel = GridPanel(studio, compare)
        grid_panel.build_launcher()
        compare.build()
        grid_panel.build()
    return grid_panel
