from pathlib import Path

import pytest

from studio import hosting
from studio.config import load_settings


@pytest.fixture
def space(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Pretend to be a Space whose persistent storage is a temp folder."""
    monkeypatch.setenv("SPACE_ID", "someone/wan-studio")
    monkeypatch.setattr(hosting, "SPACES_DATA", tmp_path / "persistent")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "persistent"


def test_on_a_space_with_storage_history_lives_in_data(space: Path) -> None:
    space.mkdir()
    settings = load_settings([])
    assert settings.data_dir == space
    assert not hosting.history_is_temporary(settings.data_dir)


def test_on_a_space_without_storage_history_is_temporary(space: Path) -> None:
    settings = load_settings([])
    assert settings.data_dir == Path("data")
    assert hosting.history_is_temporary(settings.data_dir)


def test_off_spaces_nothing_changes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SPACE_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings([]).data_dir == Path("data")
    assert not hosting.history_is_temporary(Path("data"))


def test_gradio_server_variables_set_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.setenv("GRADIO_SERVER_PORT", "7861")
    settings = load_settings([])
    assert (settings.host, settings.port) == ("0.0.0.0", 7861)
    assert load_settings(["--port", "9000"]).port == 9000


def test_on_a_space_links_use_its_own_https_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.config import Settings

    assert Settings().public_url is None
    monkeypatch.setenv("SPACE_ID", "someone/wan-studio")
    monkeypatch.setenv("SPACE_HOST", "someone-wan-studio.hf.space")
    assert Settings().public_url == "https://someone-wan-studio.hf.space"
