"""The UI's handlers called directly, on a real Studio with a fake pipeline (the browser tests drive the page)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import gradio as gr
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from studio.domain.recipe import RecipeRequest
from studio.services.studio import Studio
from studio.store import jobs
from studio.store.rows import JobStatus
from studio.ui import build_ui
from studio.ui.create import CreatePage
from studio.ui.queue import QueuePanel
from studio.ui.recipe_form import INPUT_FIELDS, speed_defaults
from studio.ui.status import describe_job
from tests.fakes import FakePipeline
from tests.helpers import drain, first, wait_final, wait_for
from tests.ui.pages import GOOD


@pytest.fixture
def page(studio: Studio) -> CreatePage:
    create = CreatePage(studio)
    with gr.Blocks() as demo:
        create.build(demo)
    return create


def ordered(values: dict[str, object]) -> list[object]:
    """Values in the order of the Generate inputs, as Gradio passes them to the validator."""
    return [values[name] for name in INPUT_FIELDS]


def flagged(results: list[dict[str, object]]) -> dict[str, object]:
    return {name: r["message"] for name, r in zip(INPUT_FIELDS, results, strict=True) if not r["is_valid"]}


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"prompt": "  "}, "prompt", "is empty"),
        ({"seed": 2**32, "random_seed": False}, "seed", "from 0 to 4294967295"),
        ({"seed": "abc", "random_seed": False}, "seed", "whole number"),
        ({"duration_s": 9.0}, "duration_s", "from 0.31 to 5.06 s"),
        ({"steps": 0}, "steps", "1–100"),
        ({"guidance": 30}, "guidance", "0–20"),
    ],
)
def test_a_bad_field_gets_its_message_on_its_own_control(
    page: CreatePage, changes: dict[str, object], field: str, text: str
) -> None:
    result = flagged(page.validate(*ordered({**GOOD, **changes})))
    assert list(result) == [field] and text in str(result[field])


def test_valid_input_flags_nothing_and_random_seed_ignores_the_seed_box(page: CreatePage) -> None:
    assert flagged(page.validate(*ordered(GOOD))) == {}
    assert flagged(page.validate(*ordered({**GOOD, "seed": -99, "random_seed": True}))) == {}


def test_summary_shows_the_resolved_size_before_generate(page: CreatePage) -> None:
    assert page.summarize("9:16", "preview", 3.0) == "96×160 · 49 frames · 16 fps · 3.1 s"
    assert page.summarize("16:9", "preview", 5.0) == "160×96 · 81 frames · 16 fps · 5.1 s"


def test_long_prompts_get_a_note_that_they_will_be_cut(page: CreatePage, studio: Studio) -> None:
    wait_for(lambda: studio.count_tokens("x") is not None, what="the model to load")
    assert page.token_note("short prompt") == ""
    note = page.token_note("word " * 600)
    assert "600 tokens" in note and "first 512" in note


def test_generate_queues_follows_and_ends_with_the_video(page: CreatePage, studio: Studio) -> None:
    updates = drain(page.jobs.generate(**GOOD))
    first, last = updates[0], updates[-1]
    job_id = first[page.job_state]
    assert first[page.used_seed]["value"] == 5 and first[page.status_box].startswith(("Queued", "Running", "Step"))
    view = studio.job(job_id)
    assert last[page.status_box] == f"Done: video #{view.video.id} (job {job_id}), seed 5"
    assert last[page.result_video] == str(studio.videos.file(view.video))
    assert last[page.recent_gallery][0][0] == last[page.result_video]


def test_generate_refuses_bad_input_without_queueing(page: CreatePage, studio: Studio) -> None:
    with pytest.raises(gr.Error, match="Prompt: is empty"):
        first(page.jobs.generate(**{**GOOD, "prompt": ""}))
    assert studio.list_jobs() == []


def test_cancel_from_the_page(page: CreatePage, studio: Studio, fake: FakePipeline) -> None:
    assert page.jobs.cancel(None) == "Nothing to cancel."
    fake.gate = threading.Event()
    view = studio.submit(RecipeRequest(prompt="x", steps=5, duration_s=0.5))
    assert fake.at_step.wait(10)
    assert page.jobs.cancel(view.id) == f"Canceling job {view.id} at its next step…"
    fake.gate.set()
    assert describe_job(wait_final(studio, view.id)) == f"Canceled: job {view.id}"


def test_queue_panel_retries_an_interrupted_job(studio: Studio) -> None:
    recipe = studio.submit(RecipeRequest(prompt="before", seed=9, duration_s=0.5, steps=2)).recipe
    wait_final(studio, 1)
    with studio.db.write() as session:  # as a crash leaves it: claimed, never finished
        job = jobs.enqueue(session=session, recipe=recipe)
        jobs.transition(job, JobStatus.RUNNING)
        session.flush()
        jobs.recover_interrupted(session=session)
    panel = QueuePanel(studio)
    rows = panel.rows()
    assert [row[:2] for row in rows] == [[job.id, "interrupted"], [1, "succeeded"]]
    message, _ = panel.retry(job.id)
    assert message == f"Job {job.id} queued again as job {job.id + 1} (seed 9)."
    assert wait_final(studio, job.id + 1).status is JobStatus.SUCCEEDED
    refused = panel.retry(1)[0].replace("\\", "")  # Markdown-escaped
    assert "Job 1 already finished; only failed, canceled or interrupted jobs can be retried" in refused
    assert panel.retry(None)[0] == "Select a job in the table first."


def test_the_whole_ui_builds_and_exposes_generate(studio: Studio) -> None:
    demo = build_ui(studio)
    names = {dep.api_name for dep in demo.fns.values() if dep.api_name}
    assert {"generate", "cancel", "retry"} <= names


def test_mcp_server_offers_the_generate_tool(studio: Studio) -> None:
    app = gr.mount_gradio_app(FastAPI(), build_ui(studio), path="/", mcp_server=True, ssr_mode=False)
    with TestClient(app) as client:
        tools = client.get("/gradio_api/mcp/schema").json()
    generate = next(tool for tool in tools if tool["name"] == "generate")
    assert {"prompt", "seed", "aspect_ratio", "duration_s"} <= set(generate["inputSchema"]["properties"])


def test_share_panel_creates_lists_and_revokes_links(studio: Studio) -> None:
    from studio.ui.share_panel import SharePanel

    view = wait_final(studio, studio.submit(RecipeRequest(prompt="x", duration_s=0.5, steps=2)).id)
    assert view.video is not None
    panel = SharePanel(studio)
    with gr.Blocks():
        panel.build()

    visitor = SimpleNamespace(headers={"host": "studio.example:7860"})
    url, table, picker = panel.create_share(view.video.id, "1 day", False, visitor)  # type: ignore[arg-type]
    token = url.rsplit("/", 1)[-1]
    assert url == f"http://studio.example:7860/v/{token}" and "active" in table and picker["choices"] == [token]
    table, picker = panel.revoke_share(view.video.id, token)
    assert "revoked" in table and picker["choices"] == []


def test_speed_choice_sets_the_modes_sampling_defaults(studio: Studio) -> None:
    page = CreatePage(studio)
    with gr.Blocks() as demo:
        page.build(demo)
    preset = studio.preset
    assert speed_defaults(preset, "Quality") == (preset.steps, preset.guidance, preset.guidance, preset.flow_shift)
    assert speed_defaults(preset, "Fast")[:2] == (preset.fast_steps, preset.fast_guidance)
    with pytest.raises(gr.Error, match="Speed: fast mode needs a distilled LoRA"):
        first(page.jobs.generate(*ordered({**GOOD, "speed": "Fast"})))


def test_uploads_in_gradios_cache_are_purged_hourly(studio: Studio) -> None:
    from studio.ui import UPLOAD_MAX_AGE_S

    assert build_ui(studio).delete_cache == (UPLOAD_MAX_AGE_S, UPLOAD_MAX_AGE_S) == (3600, 3600)
