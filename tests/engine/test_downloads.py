"""Downloads through huggingface_hub's real code against the loopback hub: progress, cache, disk check, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from huggingface_hub import constants

from studio.domain.downloads import Transfer
from studio.engine import downloads
from tests.loopback_hub import LoopbackHub, Repo

REPO = "wan-studio/tiny-1.3b"


def test_fetch_reports_progress_from_0_to_100_percent_and_fills_the_cache(
    online: Path, hub: LoopbackHub, tmp_path: Path
) -> None:
    seen: list[Transfer] = []
    folder = downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec", on_progress=seen.append)

    assert (folder / "model_index.json").is_file() and (folder / "transformer" / "config.json").is_file()
    assert online in folder.parents  # the standard hub cache (HF_HUB_CACHE)
    moving = [t for t in seen if t.phase == "downloading"]
    total = moving[0].total_bytes
    assert total > 400_000 and moving[0].done_bytes == 0 and moving[0].fraction == 0.0
    assert moving[-1].done_bytes == total and moving[-1].fraction == 1.0
    assert [t.done_bytes for t in moving] == sorted(t.done_bytes for t in moving)
    assert moving[-1].files_done == moving[-1].files_total == 9  # model_index.json was fetched while planning
    assert any(t.current_file and t.current_file.endswith(".safetensors") for t in moving)
    assert "Downloading tiny:" in moving[-1].describe() and "(100 %)" in moving[-1].describe()


def test_only_the_files_the_pipeline_loads_are_fetched(online: Path, hub: LoopbackHub, tmp_path: Path) -> None:
    folder = hub.repos[REPO].folder
    (folder / "README.md").write_text("a model card")
    (folder / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"pickled weights")
    try:
        hub.repos[REPO] = Repo(folder)
        downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    finally:
        (folder / "README.md").unlink()
        (folder / "transformer" / "diffusion_pytorch_model.bin").unlink()
    assert hub.gets[f"{REPO}/README.md"] == 0
    assert hub.gets[f"{REPO}/transformer/diffusion_pytorch_model.bin"] == 0
    assert hub.gets[f"{REPO}/transformer/diffusion_pytorch_model.safetensors"] == 1


def test_a_second_fetch_finds_everything_cached_and_downloads_nothing(
    online: Path, hub: LoopbackHub, tmp_path: Path
) -> None:
    downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    served = sum(hub.served.values())
    seen: list[Transfer] = []
    downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec", on_progress=seen.append)

    assert sum(hub.served.values()) == served
    last = seen[-1]
    assert last.total_bytes == 0 and last.cached_bytes > 400_000
    state = downloads.cache_state(REPO, None, record_dir=tmp_path / "rec")
    assert state.complete and state.present_bytes == state.total_bytes


def test_the_disk_check_refuses_before_fetching_anything(
    online: Path, hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "free_bytes", lambda path: 100_000)  # free space faked, the disk left alone

    with pytest.raises(downloads.WeightsUnavailable) as refused:
        downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")

    message = refused.value.message
    assert "not enough disk space" in message and "100.0 kB free" in message and str(online) in message
    assert "kB still to fetch" in message
    assert refused.value.field == "model"
    assert not any(key.endswith(".safetensors") for key in hub.gets)


def test_offline_with_an_empty_cache_names_the_files_and_the_ways_out(
    online: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(downloads.WeightsUnavailable) as refused:
        downloads.fetch(REPO, None, model="tiny-remote", record_dir=tmp_path / "rec")

    message = refused.value.message
    assert "tiny-remote" in message and REPO in message and "offline" in message
    assert "app.py download tiny-remote" in message and "HF_HOME" in message and "--model /path" in message


def test_offline_after_a_partial_download_lists_the_missing_files(
    online: Path, hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    blob = Path(str(downloads.try_to_load_from_cache(REPO, "vae/diffusion_pytorch_model.safetensors"))).resolve()
    blob.unlink()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)

    with pytest.raises(downloads.WeightsUnavailable, match=r"Missing: vae/diffusion_pytorch_model\.safetensors"):
        downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")


def test_offline_with_the_weights_cached_uses_the_cache(
    online: Path, hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec") == first


@pytest.mark.parametrize(
    ("change", "revision", "expected"),
    [
        ({"gated": True}, None, "is gated: accept its conditions"),
        ({}, "v9-missing", "has no revision 'v9-missing'"),
        ({"token": "right-token-123"}, None, "does not exist on the hub (or is private"),
    ],
)
def test_hub_refusals_each_have_their_own_message(
    online: Path, hub: LoopbackHub, tmp_path: Path, change: dict[str, object], revision: str | None, expected: str
) -> None:
    for key, value in change.items():
        setattr(hub.repos[REPO], key, value)
    with pytest.raises(downloads.WeightsUnavailable, match=expected.replace("(", r"\(")):
        downloads.fetch(REPO, revision, model="tiny", record_dir=tmp_path / "rec")


def test_a_wrong_token_and_a_missing_repo_are_told_apart(
    online: Path, hub: LoopbackHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.repos[REPO].token = "right-token-123"
    monkeypatch.setenv("HF_TOKEN", "wrong-token-456")
    with pytest.raises(downloads.WeightsUnavailable, match=r"refused the token .* \(401\): check HF_TOKEN"):
        downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    with pytest.raises(downloads.WeightsUnavailable, match="does not exist on the hub"):
        downloads.fetch("wan-studio/no-such-model", None, model="x", record_dir=tmp_path / "rec")


def test_delete_frees_the_cache(online: Path, hub: LoopbackHub, tmp_path: Path) -> None:
    downloads.fetch(REPO, None, model="tiny", record_dir=tmp_path / "rec")
    assert downloads.delete(REPO) > 400_000
    assert not downloads.cache_state(REPO, None, record_dir=tmp_path / "rec").complete
    assert downloads.delete(REPO) == 0
