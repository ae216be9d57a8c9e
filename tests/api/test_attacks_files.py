"""Issue 10, C1: a UI event must never make the server read, hash or copy a file it names — only uploads.

Tried as an attacker would: POST /gradio_api/queue/join with a FileData pointing at the database, /etc/passwd, the
README or another instance's MP4, against the whole app (API + UI + guards) as app.py builds it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import gradio as gr
import gradio.utils
import pytest
from fastapi.testclient import TestClient

from studio.domain.recipe import RecipeRequest
from studio.ui.create import CreatePage
from studio.ui.history import HistoryPage
from tests.api.conftest import gradio_event, studio_of
from tests.helpers import wait_final
from tests.server import ROOT


def file_data(path: Path | str) -> dict[str, object]:
    return {"path": str(path), "meta": {"_type": "gradio.FileData"}}


def cached_copies(name: str) -> list[Path]:
    return list(Path(gradio.utils.get_upload_folder()).rglob(name))


@pytest.fixture
def foreign_mp4(tmp_path: Path, web: TestClient) -> Path:
    """An MP4 with a recipe, outside this studio's media and upload folders (another instance's private video)."""
    studio = studio_of(web)
    view = wait_final(studio, studio.submit(RecipeRequest(prompt="private", duration_s=0.5, steps=2)).id)
    assert view.video is not None
    target = tmp_path / "elsewhere" / "private-secret-video.mp4"
    target.parent.mkdir()
    target.write_bytes(studio.videos.file(view.video).read_bytes())
    return target


def test_the_import_handler_refuses_files_it_did_not_receive(web: TestClient, foreign_mp4: Path) -> None:
    studio = studio_of(web)
    database = studio.settings.database_file
    assert database is not None and database.exists()
    for target in (database, Path("/etc/passwd"), ROOT / "README.md", foreign_mp4):
        before = len(cached_copies(target.name))
        message = gradio_event(web, "import_file", [file_data(target)])
        assert message["success"] is False, target  # refused before the handler runs
        assert "output" not in message or "recipe" not in str(message["output"]).lower()
        assert len(cached_copies(target.name)) == before, f"{target} was copied into Gradio's cache"
    # The refusal does not say whether a path exists (no server paths reach the client either)
    missing = gradio_event(web, "import_file", [file_data("/no/such/file.mp4")])
    present = gradio_event(web, "import_file", [file_data(foreign_mp4)])
    assert {k: v for k, v in missing.items() if k != "event_id"} == {
        k: v for k, v in present.items() if k != "event_id"
    }
    # The database is untouched: the server never opened it outside SQLAlchemy
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert studio.db.integrity_ok() and studio.videos.get(1).prompt == "private"


def test_a_real_upload_still_imports(web: TestClient, foreign_mp4: Path) -> None:
    with foreign_mp4.open("rb") as handle:
        uploaded = web.post("/gradio_api/upload", files={"files": ("mine.mp4", handle, "video/mp4")})
    assert uploaded.status_code == 200, uploaded.text
    message = gradio_event(web, "import_file", [file_data(uploaded.json()[0])])
    assert message["success"] is True
    assert "Recipe read (seed" in str(message["output"])


def test_the_handler_itself_refuses_a_path_outside_the_upload_folder(web: TestClient, foreign_mp4: Path) -> None:
    """Defence in depth: called directly (as by a future surface that skips Gradio's check), it reads nothing."""
    studio = studio_of(web)
    with gr.Blocks() as demo, gr.Tabs() as tabs, gr.Tab("Create"):
        create = CreatePage(studio)
        create.build(demo)
        page = HistoryPage(studio, create, tabs)
        page.build()
    panel = page.import_panel
    note = panel.import_file(str(foreign_mp4))[panel.import_note]
    assert note == "⚠️ Upload the MP4 with the box above." and "private" not in note


def test_gradio_never_serves_the_database_or_the_weights(web: TestClient) -> None:
    studio = studio_of(web)
    for path in (studio.settings.database_file, studio.settings.models_dir / "x", Path(os.devnull)):
        assert web.get(f"/gradio_api/file={path}").status_code in (403, 404)
