"""/api/v1/grids and StudioClient's grid calls: create with axes, read as a grid, refine, export, rebuild."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from studio.client import StudioClient, StudioError
from studio.media import mp4
from tests.api.conftest import make_client, studio_of
from tests.fakes import FakePipeline
from tests.helpers import wait_final

SHARED = {"prompt": "a paper boat", "seed": 5, "duration_s": 1.0, "steps": 3}


def finish(client: TestClient, grid: dict) -> dict:  # type: ignore[type-arg]
    for cell in grid["cells"]:
        wait_final(studio_of(client), cell["job"]["id"])
    return client.get(f"/api/v1/grids/{grid['group_id']}").json()  # type: ignore[no-any-return]


def test_create_read_refine_and_export_a_grid(client: TestClient) -> None:
    body = {
        **SHARED,
        "x": {"kind": "prompt", "values": ["a {red|blue} boat"]},
        "y": {"kind": "guidance", "values": [3, 5]},
    }
    created = client.post("/api/v1/grids", json=body)
    assert created.status_code == 202, created.text
    grid = finish(client, created.json())

    assert (grid["rows"], grid["cols"]) == (2, 2) and grid["y"]["labels"] == ["guidance 3", "guidance 5"]
    assert [(c["x"], c["y"], c["values"]) for c in grid["cells"]] == [
        (0, 0, {"prompt": "a red boat", "guidance": 3.0}),
        (1, 0, {"prompt": "a blue boat", "guidance": 3.0}),
        (0, 1, {"prompt": "a red boat", "guidance": 5.0}),
        (1, 1, {"prompt": "a blue boat", "guidance": 5.0}),
    ]
    assert all(c["job"]["status"] == "succeeded" and c["video"]["seed"] == 5 for c in grid["cells"])
    assert grid["shared"]["steps"] == 3
    video_id = grid["cells"][3]["video"]["id"]
    assert client.get(f"/api/v1/videos/{video_id}/grid").json()["group_id"] == grid["group_id"]

    refined = client.post(
        "/api/v1/grids/refine", json={"video_id": video_id, "x": {"kind": "flow_shift", "values": [3, 9]}}
    )
    assert refined.status_code == 202, refined.text
    refined_grid = finish(client, refined.json())
    assert [
        (c["video"]["prompt"], c["video"]["guidance"], c["video"]["flow_shift"]) for c in refined_grid["cells"]
    ] == [
        ("a blue boat", 5.0, 3.0),
        ("a blue boat", 5.0, 9.0),
    ]

    exported = client.post(f"/api/v1/grids/{grid['group_id']}/export")
    assert exported.status_code == 201, exported.text
    export = exported.json()
    # 2×2 tiles of 160×96 and the bands naming each column and row
    assert export["kind"] == "comparison" and export["width"] > 320 and export["height"] > 192
    assert export["recipe"]["comparison"]["y"]["values"] == [3.0, 5.0]
    assert client.get(f"/api/v1/grids/{grid['group_id']}").json()["exports"][0]["id"] == export["id"]
    rebuilt = client.post("/api/v1/grids/rebuild", json={"recipe": export["recipe"]})
    assert rebuilt.status_code == 202 and len(rebuilt.json()["cells"]) == 4


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"x": {"kind": "guidance", "values": [3]}}, "x", "give 2–8 values of guidance (got 1)"),
        ({"x": {"kind": "guidance", "values": [3, 25]}}, "x", "guidance 25"),
        (
            {"x": {"kind": "steps", "values": [1, 2, 3, 4, 5]}, "y": {"kind": "seed", "values": [1, 2, 3, 4]}},
            "y",
            "at most 16",
        ),
        (
            {"x": {"kind": "steps", "values": [1, 2]}, "y": {"kind": "steps", "values": [3, 4]}},
            "y",
            "X already sweeps steps",
        ),
        ({"x": {"kind": "speed", "values": ["quality", "fast"]}}, "x", "fast mode needs a distilled LoRA"),
    ],
)
def test_bad_grids_are_422_naming_the_axis(client: TestClient, body: dict, field: str, message: str) -> None:  # type: ignore[type-arg]
    response = client.post("/api/v1/grids", json={**SHARED, **body})
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field and message in response.json()["message"]
    assert studio_of(client).list_jobs() == []


def test_bad_axis_kinds_are_refused_by_the_schema(client: TestClient) -> None:
    response = client.post("/api/v1/grids", json={**SHARED, "x": {"kind": "colour", "values": [1, 2]}})
    assert response.status_code == 422 and "kind" in response.text


@pytest.fixture
def capped(tmp_path: Path, fake: FakePipeline) -> Iterator[TestClient]:
    fake.load_error = RuntimeError("jobs stay queued in this test")
    yield from make_client(tmp_path, fake, max_queued=3)


def test_a_grid_larger_than_the_room_left_is_refused_whole(capped: TestClient) -> None:
    body = {**SHARED, "x": {"kind": "seed", "values": [1, 2]}, "y": {"kind": "steps", "values": [2, 3]}}
    response = capped.post("/api/v1/grids", json=body)
    assert response.status_code == 429 and "this group needs 4" in response.text
    assert studio_of(capped).list_jobs() == []


def test_the_python_client(live_url: str) -> None:
    with StudioClient(live_url) as sdk:
        grid = sdk.compare_grid("a fox", x={"kind": "seed", "mode": "consecutive", "count": 2, "start": 40}, steps=2)
        assert [c["values"]["seed"] for c in grid["cells"]] == [40, 41]
        for cell in grid["cells"]:
            assert sdk.wait(cell["job"]["id"], timeout=30).status == "succeeded"
        read = sdk.grid(grid["group_id"])
        video_id = read["cells"][0]["video"]["id"]
        assert sdk.grid_of_video(video_id)["group_id"] == grid["group_id"]
        export = sdk.export_grid(grid["group_id"])
        assert export["kind"] == "comparison"
        refined = sdk.refine(video_id, x={"kind": "guidance", "values": [2, 4]})
        assert {c["values"]["guidance"] for c in refined["cells"]} == {2.0, 4.0}
        pair = sdk.balanced_vs_quality(video_id)
        assert [(c["values"]["speed"], c["job"]["recipe"]["seed"]) for c in pair["cells"]] == [
            ("quality", 40),
            ("balanced", 40),
        ]
        with pytest.raises(StudioError, match="HTTP 422: x: give 2–8 values"):
            sdk.compare_grid("a fox", x={"kind": "steps", "values": [2]})


def test_an_export_downloaded_and_read_back_rebuilds_its_grid(live_url: str, tmp_path: Path) -> None:
    with StudioClient(live_url) as sdk:
        grid = sdk.compare_grid("a fox", x={"kind": "steps", "values": [2, 3]}, seed=9)
        for cell in grid["cells"]:
            sdk.wait(cell["job"]["id"], timeout=30)
        export = sdk.export_grid(grid["group_id"])
        target = sdk.download(export["id"], tmp_path / "grid.mp4")
        recipe = sdk.read_recipe(target)
        assert recipe is not None and mp4.read_recipe(target) == recipe
        rebuilt = sdk.rebuild_grid(recipe)
        assert [c["values"] for c in rebuilt["cells"]] == [{"steps": 2}, {"steps": 3}]
