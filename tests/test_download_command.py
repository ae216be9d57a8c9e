"""`app.py download` against the loopback hub: a bar in the terminal, a resume after a kill, a cached second run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import wait_for
from tests.hub_fixtures import hub_env
from tests.loopback_hub import LoopbackHub
from tests.server import ROOT

pytestmark = pytest.mark.process
REPO = "wan-studio/tiny-1.3b"


def download(hub: LoopbackHub, home: Path, data: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "app.py"), "download", REPO, "--data-dir", str(data), *extra],
        env=hub_env(hub, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def snapshot_file(home: Path, name: str) -> bool:
    return any((home / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots").glob(f"*/{name}"))


def test_killed_midway_the_download_resumes_with_the_files_it_had_not_finished(
    hub: LoopbackHub, tmp_path: Path
) -> None:
    home, data = tmp_path / "hf", tmp_path / "data"
    vae, encoder = "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"
    size = hub.repos[REPO].files[encoder][0]

    # 1. A slow hub: kill the download once one weight file is complete and another is half way
    hub.throttle_bps = 40_000
    first = download(hub, home, data)
    wait_for(lambda: snapshot_file(home, vae) and 0 < hub.served[f"{REPO}/{encoder}"] < size, 60, "a half download")
    first.kill()
    first.wait(30)
    assert not snapshot_file(home, encoder)

    # 2. Again at full speed: only what was missing is fetched
    hub.throttle_bps = None
    second = download(hub, home, data)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    assert hub.gets[f"{REPO}/{vae}"] == 1  # finished before the kill: not fetched again
    assert hub.gets[f"{REPO}/{encoder}"] == 2
    assert "downloaded" in out and "%|" in err  # the summary, and tqdm's bar on the terminal
    assert snapshot_file(home, encoder)

    # 3. A third run finds everything cached and says so
    third = download(hub, home, data)
    out, err = third.communicate(timeout=60)
    assert third.returncode == 0 and "already in the cache" in out and "nothing to download" in out
    assert hub.gets[f"{REPO}/{encoder}"] == 2


def test_offline_and_not_cached_the_command_says_what_is_missing(hub: LoopbackHub, tmp_path: Path) -> None:
    env = hub_env(hub, tmp_path / "hf", offline=True)
    result = subprocess.run(
        [sys.executable, str(ROOT / "app.py"), "download", "wan2.2-ti2v-5b", "--data-dir", str(tmp_path / "data")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "wan2.2-ti2v-5b: the weights of Wan-AI/Wan2.2-TI2V-5B-Diffusers are not in the cache" in result.stderr
    assert "app.py download wan2.2-ti2v-5b" in result.stderr and "--model /path/to/folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_studio_killed_mid_download_resumes_when_started_again(hub: LoopbackHub, tmp_path: Path) -> None:
    from tests.server import StudioProcess

    home = tmp_path / "hf"
    vae, encoder = "vae/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors"
    size = hub.repos[REPO].files[encoder][0]
    hub.throttle_bps = 40_000
    first = StudioProcess(tmp_path / "data", REPO)
    first.env = hub_env(hub, home)
    first.launch()
    try:
        first.wait_until(
            lambda: snapshot_file(home, vae) and 0 < hub.served[f"{REPO}/{encoder}"] < size, 120, "a half download"
        )
    finally:
        first.kill()
    hub.throttle_bps = None
    again = StudioProcess(tmp_path / "data", REPO)
    again.env = hub_env(hub, home)
    again.start()
    try:
        again.wait_until(lambda: snapshot_file(home, encoder), 120, "the download to finish")
        assert hub.gets[f"{REPO}/{vae}"] == 1 and hub.gets[f"{REPO}/{encoder}"] == 2
    finally:
        again.stop()
