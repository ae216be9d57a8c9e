"""Everything a person can do in the UI, a script can do through the REST API and the Python client (issue 11)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.client import StudioClient, StudioError
from tests.api.conftest import web_studio
from tests.fakes import FakePipeline

SHORT = {"duration_s": 1.0, "steps": 2}


@pytest.fixture
def sdk(live_url: str) -> Iterator[StudioClient]:
    with StudioClient(live_url) as client:
        yield client


def made(sdk: StudioClient, prompt: str = "a lighthouse", seed: int = 3) -> dict[str, object]:
    job = sdk.generate(prompt, seed=seed, **SHORT)
    assert job.status == "succeeded" and job.video_id is not None
    return sdk.video(job.video_id)


def test_favorite_and_unfavorite(sdk: StudioClient) -> None:
    video = made(sdk)
    assert sdk.favorite(video["id"])["favorite"] is True
    assert [v["id"] for v in sdk.videos(favorite=True)["items"]] == [video["id"]]
    assert sdk.favorite(video["id"], False)["favorite"] is False
    assert sdk.videos(favorite=True)["total"] == 0
    with pytest.raises(StudioError) as refused:
        sdk.favorite(999)
    assert refused.value.status_code == 404


def test_trim_makes_a_linked_video_and_names_a_bad_point(sdk: StudioClient) -> None:
    video = made(sdk)
    child = sdk.trim(video["id"], 0.25, 0.75)
    assert (child["kind"], child["parent_id"], child["num_frames"]) == ("trim", video["id"], 8)
    lossless = sdk.trim(video["id"], 0.0, 0.5, lossless=True)
    assert lossless["recipe"]["trim"]["lossless"] is True
    with pytest.raises(StudioError) as refused:
        sdk.trim(video["id"], 0.5, 0.25)
    assert refused.value.status_code == 422 and "end_s" in str(refused.value)
    assert sdk.video(video["id"])["num_frames"] == 17  # the original never changes


def test_a_seed_comparison_from_submit_to_export(sdk: StudioClient) -> None:
    group = sdk.compare("a paper boat", seeds=[4, 5, 6], **SHORT)
    assert group["seeds"] == [4, 5, 6] and len(group["jobs"]) == 3
    for job in group["jobs"]:
        assert sdk.wait(job["id"], timeout=60).status == "succeeded"
    done = sdk.comparison(group["group_id"])
    assert [v["seed"] for v in done["videos"]] == [4, 5, 6] and done["exports"] == []
    export = sdk.export_comparison(group["group_id"])
    assert export["kind"] == "comparison" and export["recipe"]["comparison"]["seeds"] == [4, 5, 6]
    assert [v["id"] for v in sdk.comparison(group["group_id"])["exports"]] == [export["id"]]
    consecutive = sdk.compare("a kite", start=10, count=2, **SHORT)
    assert consecutive["seeds"] == [10, 11]
    assert len(sdk.compare("a kite", count=3, **SHORT)["seeds"]) == 3  # random


def test_comparisons_refuse_bad_seeds_and_unknown_groups(sdk: StudioClient) -> None:
    with pytest.raises(StudioError) as twice:
        sdk.compare("x", seeds=[1, 1])
    assert twice.value.status_code == 422 and "seeds: 1 is given twice" in str(twice.value)
    with pytest.raises(StudioError) as one:
        sdk.compare("x", seeds=[1])
    assert one.value.status_code == 422
    with pytest.raises(StudioError) as unknown:
        sdk.comparison("0" * 32)
    assert unknown.value.status_code == 404
    with pytest.raises(StudioError) as malformed:
        sdk.comparison("../../etc")
    assert malformed.value.status_code in (404, 422)


def test_export_picked_videos(sdk: StudioClient) -> None:
    first, second = made(sdk, seed=1), made(sdk, seed=2)
    export = sdk.export_videos([first["id"], second["id"]])
    assert export["kind"] == "comparison" and export["recipe"]["comparison"]["video_ids"] == [first["id"], second["id"]]
    with pytest.raises(StudioError) as refused:
        sdk.export_videos([first["id"]])
    assert refused.value.status_code == 422


def test_read_a_recipe_back_from_an_mp4(sdk: StudioClient, tmp_path: Path) -> None:
    video = made(sdk, seed=77)
    mine = sdk.download(video["id"], tmp_path / "mine.mp4")
    assert sdk.read_recipe(mine)["seed"] == 77  # type: ignore[index]
    notes = tmp_path / "notes.mp4"
    notes.write_text("not a video")
    with pytest.raises(StudioError) as refused:
        sdk.read_recipe(notes)
    assert refused.value.status_code == 422 and "file" in str(refused.value)


def test_share_links_through_the_client(sdk: StudioClient) -> None:
    video = made(sdk)
    link = sdk.share(video["id"], expires_in_s=3600)
    assert link["status"] == "active" and link["url"].endswith(f"/v/{link['token']}")
    sdk.revoke_share(link["token"])
    assert [item["status"] for item in sdk.shares(video["id"])] == ["revoked"]


def test_every_error_body_has_field_and_message(client: TestClient) -> None:
    missing = client.get("/api/v1/videos/42").json()
    assert (missing["field"], missing["message"]) == ("video_id", "no video 42")
    invalid = client.post("/api/v1/jobs", json={"prompt": "x", "seed": -5}).json()
    assert invalid["field"] == "seed" and invalid["message"].startswith("Input should be")
    conflict = client.post("/api/v1/jobs/1/retry")
    assert conflict.status_code == 404 and conflict.json()["field"] == "job_id"


def test_the_recipe_upload_is_limited_to_max_upload_mb(tmp_path: Path, fake: FakePipeline) -> None:
    with web_studio(tmp_path, fake, max_upload_mb=1) as (_studio, app), TestClient(app) as client:
        big = b"\0" * (2 * 1024 * 1024)
        answer = client.post("/api/v1/recipes/read", files={"file": ("big.mp4", big, "video/mp4")})
        assert answer.status_code == 413 and "max_upload_mb" in answer.json()["detail"]
        small = client.post("/api/v1/recipes/read", files={"file": ("x.mp4", b"not a video", "video/mp4")})
        assert small.status_code == 422  # within the limit: read, and refused as no video


def test_mcp_offers_generate_compare_and_trim(tmp_path: Path, fake: FakePipeline) -> None:
    with web_studio(tmp_path, fake, mcp=True) as (_studio, app), TestClient(app) as client:
        tools = {tool["name"]: tool for tool in client.get("/gradio_api/mcp/schema").json()}
    assert {"generate", "compare", "compare_grid", "trim"} <= set(tools)
    assert {"x_kind", "x_values", "y_kind", "y_values"} <= set(tools["compare_grid"]["inputSchema"]["properties"])
    assert "compare them side by side" in tools["compare"]["description"]
    assert {"video_id", "start_s", "end_s", "lossless"} <= set(tools["trim"]["inputSchema"]["properties"])


def test_gradio_client_trims_and_compares(tmp_path: Path, fake: FakePipeline) -> None:
    from gradio_client import Client

    from tests.api.conftest import serve
    from tests.server import free_port

    port = free_port()
    with web_studio(tmp_path, fake, port=port) as (studio, app), serve(app, port) as url:
        client = Client(url, verbose=False)
        compared = client.predict(prompt="a kite", seeds="7, 8", duration_s=1.0, steps=2, api_name="/compare")
        assert [r["seed"] for r in compared["results"]] == [7, 8]
        assert {r["status"] for r in compared["results"]} == {"succeeded"}
        video_id = compared["results"][0]["video_id"]
        cut = client.predict(video_id=video_id, start_s=0.0, end_s=0.5, api_name="/trim")
        assert cut["parent_id"] == video_id and studio.videos.get(cut["video_id"]).kind == "trim"


def test_gradio_client_queues_an_xy_grid_through_the_same_admission(tmp_path: Path, fake: FakePipeline) -> None:
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    from tests.api.conftest import serve
    from tests.helpers import wait_final
    from tests.server import free_port

    port = free_port()
    with web_studio(tmp_path, fake, port=port, max_queued_per_user=4) as (studio, app), serve(app, port) as url:
        client = Client(url, verbose=False)
        queued = client.predict(
            prompt="a kite",
            x_kind="steps",
            x_values="2, 3",
            y_kind="guidance",
            y_values="3 5",
            duration_s=1.0,
            api_name="/compare_grid",
        )
        assert (queued["rows"], queued["cols"], len(queued["cells"])) == (2, 2, 4)
        grid = studio.grids.grid(queued["group_id"])
        assert [c["job_id"] for c in queued["cells"]] == [c.job.id for c in grid.cells if c.job]
        assert {c["label"] for c in queued["cells"]} == {c.label for c in grid.cells}
        for cell in queued["cells"]:
            assert wait_final(studio, cell["job_id"]).status.value == "succeeded"
        assert {r.steps for r in fake.ran} == {2, 3} and {r.guidance for r in fake.ran} == {3.0, 5.0}

        # A bad value is refused on its axis, and nothing is queued
        before = len(studio.list_jobs())
        bad = {"x_kind": "Steps", "x_values": "2, 3", "y_kind": "Guidance", "y_values": "3, 25"}
        with pytest.raises(AppError, match=r"Y: .*guidance 25 is outside the allowed range 0–20"):
            client.predict(prompt="a kite", **bad, api_name="/compare_grid")
        assert len(studio.list_jobs()) == before
        # The per-user limit counts every cell: six at once are over four, refused as a whole
        with pytest.raises(AppError) as over:
            client.predict(prompt="a kite", x_kind="seed", x_values="1..6", api_name="/compare_grid")
        assert "at most 4 may wait" in str(over.value) and len(studio.list_jobs()) == before
