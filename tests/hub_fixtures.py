"""Fixtures for tests that download: tiny models served by the loopback hub, and huggingface_hub pointed at it.

huggingface_hub reads HF_ENDPOINT, HF_HUB_CACHE and HF_HUB_OFFLINE when it is imported, so in-process tests patch
its `constants` (the endpoint, the URL template built from it, the cache and the offline flag); subprocesses get
the environment variables instead (`hub_env`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from huggingface_hub import constants

from studio.domain.presets import PRESETS
from tests.loopback_hub import LoopbackHub, Repo

TINY_REPOS = {"wan-studio/tiny-1.3b": "tiny-1.3b", "wan-studio/tiny-a14b": "tiny-a14b"}


@pytest.fixture(scope="session")
def tiny_folders(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The tiny models as diffusers folders (built once per run, a few hundred kB each): what the hub serves."""
    from studio.engine.tiny_models import ensure_tiny_model

    root = tmp_path_factory.mktemp("served-models")
    return {repo: ensure_tiny_model(PRESETS[key], root) for repo, key in TINY_REPOS.items()}


@pytest.fixture
def hub(tiny_folders: dict[str, Path]) -> Iterator[LoopbackHub]:
    """A fresh loopback hub serving both tiny models (and counting what it serves)."""
    server = LoopbackHub({repo: Repo(folder) for repo, folder in tiny_folders.items()}).start()
    yield server
    server.stop()


@pytest.fixture
def online(hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """huggingface_hub, in this process, talks to the loopback hub with an empty cache; returns the cache folder."""
    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(constants, "ENDPOINT", hub.url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    return cache


def hub_env(hub: LoopbackHub, home: Path, *, offline: bool = False) -> dict[str, str]:
    """The environment of a subprocess that downloads from the loopback hub into `home`'s cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env |= {"HF_ENDPOINT": hub.url, "HF_HOME": str(home), "HF_HUB_OFFLINE": "1" if offline else "0"}
    env |= {"HF_HUB_DISABLE_TELEMETRY": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    return env
