"""`app.py` as a user starts it: bad settings stop it with the field named; gradio_client drives `generate`."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client

from studio.media import mp4
from tests.helpers import wait_for
from tests.server import ROOT, StudioProcess

pytestmark = pytest.mark.process


def run_app(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "app.py"), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_an_unknown_model_stops_the_studio_with_the_allowed_values(tmp_path: Path) -> None:
    result = run_app("--model", "no-such-model", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "model: cannot use 'no-such-model'" in result.stderr and "tiny-a14b" in result.stderr
    assert not (tmp_path / "studio.db").exists()  # nothing was created or touched


def test_a_bad_flag_names_the_field(tmp_path: Path) -> None:
    result = run_app("--port", "99999", "--data-dir", str(tmp_path))
    assert result.returncode != 0 and "port" in result.stderr


def test_a_worker_needs_the_fleet_s_database_and_says_so(tmp_path: Path) -> None:
    result = run_app("worker", "--model", "tiny-1.3b", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "worker: a fleet worker needs --database-url postgresql+psycopg://" in result.stderr
    assert not (tmp_path / "studio.db").exists()


def test_a_bad_device_names_the_field_and_the_allowed_values(tmp_path: Path) -> None:
    result = run_app("worker", "--device", "gpu:1", "--data-dir", str(tmp_path))
    assert result.returncode != 0 and "device: 'gpu:1' must be auto, cpu, cuda or cuda:N" in result.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    process = StudioProcess(tmp_path_factory.mktemp("api") / "data", "tiny-ti2v-5b").start()
    yield process
    process.stop()


def test_gradio_client_drives_generate(server: StudioProcess) -> None:
    client = Client(server.url, verbose=False)
    seed, video, status, recent = client.predict(
        prompt="a lantern festival",
        seed=123,
        random_seed=False,
        aspect_ratio="1:1",
        duration_s=1.0,
        steps=2,
        api_name="/generate",
    )
    assert seed == 123 and status.startswith("Done: video #") and status.endswith("seed 123")
    info = mp4.probe(Path(video))
    assert (info.width, info.height, info.num_frames, info.fps) == (128, 128, 25, 24)
    assert mp4.read_recipe(Path(video))["seed"] == 123
    assert len(recent) == 1


def test_gradio_client_gets_the_validation_message(server: StudioProcess) -> None:
    client = Client(server.url, verbose=False)
    with pytest.raises(Exception, match="prompt: is empty; describe the video you want"):
        client.predict(prompt="   ", api_name="/generate")


def test_share_without_auth_is_refused(tmp_path: Path) -> None:
    result = run_app("--share", "--data-dir", str(tmp_path))
    assert result.returncode == 2 and "share: a public link needs --auth" in result.stderr


def test_share_without_network_keeps_serving_locally(tmp_path: Path) -> None:
    server = StudioProcess(tmp_path / "data", "tiny-1.3b", "--share", "--auth", "alice:wonderland").start()
    try:
        wait_for(
            lambda: "could not create a public link" in server.log() or "no public link" in server.log(),
            timeout=60,
            what="the share failure to be reported",
        )
        with urllib.request.urlopen(f"{server.url}/health", timeout=10) as response:
            assert response.status == 200
    finally:
        server.stop()


def test_record_then_verify_model_files_and_refuse_on_mismatch(tmp_path: Path) -> None:
    data = tmp_path / "data"
    recorded = run_app("--model", "tiny-1.3b", "--data-dir", str(data), "--record-model-manifest")
    assert recorded.returncode == 0, recorded.stderr
    manifest = data / "manifests" / "tiny-1.3b.json"
    assert manifest.is_file() and "recorded" in recorded.stdout
    weights = next((data / "models" / "tiny-1.3b" / "transformer").glob("*.safetensors"))
    content = weights.read_bytes()
    weights.write_bytes(content[:-1] + bytes([content[-1] ^ 0xFF]))  # one byte changed
    refused = run_app("--model", "tiny-1.3b", "--data-dir", str(data), "--verify-model")
    assert refused.returncode == 1
    assert "refusing to serve" in refused.stderr and "transformer" in refused.stderr


def test_forwarded_for_counts_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    """As app.py serves it: uvicorn used to believe X-Forwarded-For from 127.0.0.1, so one client could name itself
    anew on every request and dodge the per-address limits."""
    long_job = {"prompt": "long", "duration_s": 5.0, "steps": 100}
    short_job = {"prompt": "short", "duration_s": 0.5, "steps": 1}
    for extra, expected in (((), 429), (("--trusted-proxies", "127.0.0.1"), 202)):
        server = StudioProcess(tmp_path / str(expected) / "data", "tiny-1.3b", "--max-queued-per-user", "1", *extra)
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                running = client.post("/api/v1/jobs", json=long_job).json()["id"]
                wait_for(lambda c=client, j=running: c.get(f"/api/v1/jobs/{j}").json()["status"] == "running")
                first = client.post("/api/v1/jobs", json=short_job, headers={"X-Forwarded-For": "203.0.113.1"})
                second = client.post("/api/v1/jobs", json=short_job, headers={"X-Forwarded-For": "203.0.113.2"})
                assert first.status_code == 202 and second.status_code == expected, second.text
        finally:
            server.stop()
