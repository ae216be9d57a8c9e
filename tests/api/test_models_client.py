"""studio.client's model calls over real HTTP: list, download from the loopback hub, follow, delete; no switch in a
studio that was handed its pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.client import StudioClient, StudioError
from tests.loopback_hub import LoopbackHub, Repo


def test_the_client_lists_downloads_follows_and_deletes_a_model(
    online: Path, hub: LoopbackHub, tiny_folders: dict[str, Path], live_url: str
) -> None:
    hub.repos["Wan-AI/Wan2.1-T2V-1.3B-Diffusers"] = Repo(tiny_folders["wan-studio/tiny-1.3b"])
    hub.throttle_bps = 400_000
    with StudioClient(live_url) as sdk:
        listed = {model["key"]: model for model in sdk.models()}
        assert listed["wan2.1-t2v-1.3b"]["downloaded"] is False and listed["wan2.1-t2v-1.3b"]["downloadable"] is True

        started = sdk.download_model("wan2.1-t2v-1.3b")
        assert started["transfer"]["phase"] in ("checking", "downloading")
        seen: list[dict[str, object]] = []
        model = sdk.wait_for_download("wan2.1-t2v-1.3b", timeout=60, poll_s=0.05, on_progress=seen.append)
        assert model["downloaded"] is True and model["transfer"]["phase"] == "ready"
        assert any(t["phase"] == "downloading" for t in seen)

        with pytest.raises(StudioError) as refused:
            sdk.use_model("tiny-a14b")  # this studio was handed its pipeline: it cannot switch
        assert refused.value.status_code == 503
        assert sdk.delete_model("wan2.1-t2v-1.3b")["downloaded"] is False
