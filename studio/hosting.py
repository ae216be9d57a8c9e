"""Where the studio runs: Hugging Face Spaces conventions (persistent /data, the server address Spaces expects)."""

from __future__ import annotations

import os
from pathlib import Path

SPACES_DATA = Path("/data")  # a Space's persistent storage, when it has some


def on_spaces() -> bool:
    return bool(os.environ.get("SPACE_ID"))


def has_persistent_storage() -> bool:
    return SPACES_DATA.is_dir() and os.access(SPACES_DATA, os.W_OK)


def default_data_dir() -> Path:
    """`/data` on a Space with persistent storage, else `./data`."""
    return SPACES_DATA if on_spaces() and has_persistent_storage() else Path("data")


def default_host() -> str:
    # Spaces (and some Gradio deployments) say where to listen through Gradio's own variables.
    return os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1")


def default_port() -> int:
    return int(os.environ.get("GRADIO_SERVER_PORT", "7860"))


def history_is_temporary(data_dir: Path) -> bool:
    """On a Space without persistent storage, everything under the data dir is lost at restart."""
    return on_spaces() and not data_dir.resolve().is_relative_to(SPACES_DATA)
