"""The reliability suite's attack round (issue 10, C1): every UI event is sprayed with the database's path as a file,
then the process is SIGKILLed and restarted — no job, row or video may be lost."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from studio.client import StudioClient
from tests.server import StudioProcess
from tests.test_reliability import SHORT, check_store

pytestmark = pytest.mark.process


def test_a_file_spray_then_a_crash_loses_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = StudioProcess(data, "tiny-1.3b").start()
    try:
        with StudioClient(server.url) as client:
            jobs = [client.submit(f"job {n}", seed=n, **SHORT).id for n in range(4)]
            for job_id in jobs:
                assert client.wait(job_id, timeout=120).status == "succeeded"
        database = (data / "studio.db").resolve()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            count = len(http.get("/config").json()["dependencies"])
            for target in (database, Path(f"{database}-wal"), Path("/etc/passwd")):
                for fn_index in range(count):
                    answer = http.post(
                        "/gradio_api/queue/join",
                        json={
                            "fn_index": fn_index,
                            "session_hash": f"spray{fn_index}",
                            "data": [{"path": str(target), "meta": {"_type": "gradio.FileData"}}],
                        },
                    )
                    assert answer.status_code < 500
    finally:
        server.kill()  # SIGKILL: the WAL may still hold the last commits
    statuses = check_store(data, jobs)
    assert all(statuses[job_id].value == "succeeded" for job_id in jobs)
    server.start()
    try:
        with StudioClient(server.url) as client:
            assert {job.id for job in client.jobs(limit=50)} >= set(jobs)
            assert client.videos()["total"] == len(jobs)
    finally:
        server.stop()
    check_store(data, jobs)
    assert not (data / "media" / "orphans").exists()  # nothing was set aside: every file kept its row
