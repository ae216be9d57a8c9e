from pathlib import Path

import pytest
from pydantic import ValidationError

from studio.config import Settings, load_settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_defaults_are_the_embedded_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    settings = load_settings([])
    assert (settings.model, settings.host, settings.port, settings.share, settings.auth) == (
        "auto",
        "127.0.0.1",
        7860,
        False,
        [],
    )
    assert settings.resolved_database_url == f"sqlite:///{(tmp_path / 'data' / 'studio.db').resolve()}"
    assert settings.media_dir == (tmp_path / "data" / "media").resolve()


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STUDIO_MODEL", "tiny-1.3b")
    monkeypatch.setenv("STUDIO_PORT", "9000")
    monkeypatch.setenv("STUDIO_AUTH", "alice:pw1, bob:pw2")
    settings = load_settings(["--port", "9100", "--data-dir", str(tmp_path), "--share"])
    assert (settings.model, settings.port, settings.data_dir, settings.share) == ("tiny-1.3b", 9100, tmp_path, True)
    assert settings.auth_pairs == [("alice", "pw1"), ("bob", "pw2")]
    repeated = load_settings(["--auth", "a:1", "--auth", "b:2", "--database-url", "postgresql://h/db"])
    assert repeated.auth == ["a:1", "b:2"] and repeated.resolved_database_url == "postgresql://h/db"


def test_dotenv_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("STUDIO_MODEL=tiny-ti2v-5b\nSTUDIO_HOST=0.0.0.0\n")
    settings = load_settings([])
    assert (settings.model, settings.host) == ("tiny-ti2v-5b", "0.0.0.0")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--port", "70000"], "port"),
        (["--auth", "nopassword"], "must look like user:password"),
        (["--device", "tpu"], "device"),
    ],
)
def test_bad_settings_name_the_field(argv: list[str], message: str) -> None:
    with pytest.raises((ValidationError, SystemExit)) as caught:
        load_settings(argv)
    if caught.type is ValidationError:
        assert message in str(caught.value)


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_readme_documents_every_setting(name: str) -> None:
    assert f"`--{name.replace('_', '-')}`" in README, f"README lacks the flag for {name}"
    assert f"`STUDIO_{name.upper()}`" in README, f"README lacks the variable for {name}"
