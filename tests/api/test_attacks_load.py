"""Issue 10, H4: one client holding many event streams must not starve everyone else (real HTTP, uvicorn)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import httpx

from tests.api.conftest import serve, web_studio
from tests.fakes import FakePipeline
from tests.helpers import wait_for
from tests.server import free_port

BODY = {"prompt": "a paper boat", "seed": 42, "duration_s": 0.5, "steps": 3}
STREAMS = 100


async def _hold_streams(url: str, job_id: int, count: int, opened: list[int], release: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one() -> None:
            async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
                opened.append(response.status_code)
                async for _ in response.aiter_lines():
                    if release.is_set():
                        return

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await release.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_a_hundred_open_event_streams_leave_health_downloads_and_lists_answering(
    tmp_path: Path, fake: FakePipeline
) -> None:
    fake.gate = threading.Event()  # the job stays running: every stream stays open
    port = free_port()
    with (
        web_studio(tmp_path, fake, max_streams_per_user=STREAMS, port=port) as (_studio, app),
        serve(app, port) as url,
    ):
        job_id = httpx.post(f"{url}/api/v1/jobs", json=BODY).json()["id"]
        assert fake.at_step.wait(10)
        opened: list[int] = []
        loop = asyncio.new_event_loop()
        release = asyncio.Event()
        holder = threading.Thread(
            target=loop.run_until_complete, args=(_hold_streams(url, job_id, STREAMS, opened, release),)
        )
        holder.start()
        try:
            deadline = loop.time() + 60
            while len(opened) < STREAMS and loop.time() < deadline:
                httpx.get(f"{url}/health", timeout=5)
            assert opened == [200] * STREAMS
            # Before: streams held the thread pool; /health took 8–9 s and lists timed out at 25 s.
            with httpx.Client(base_url=url, timeout=3) as other:
                assert other.get("/health").status_code == 200
                assert other.get("/api/v1/jobs").status_code == 200
                assert other.get("/api/v1/videos").status_code == 200
                assert other.get(f"/api/v1/jobs/{job_id}").json()["status"] == "running"
        finally:
            loop.call_soon_threadsafe(release.set)
            fake.gate.set()
            holder.join(30)
            loop.close()


def test_one_user_may_hold_only_so_many_streams(tmp_path: Path, fake: FakePipeline) -> None:
    fake.gate = threading.Event()
    port = free_port()
    with web_studio(tmp_path, fake, max_streams_per_user=2, port=port) as (_studio, app), serve(app, port) as url:
        job_id = httpx.post(f"{url}/api/v1/jobs", json=BODY).json()["id"]
        with (
            httpx.Client(base_url=url, timeout=30) as client,
            client.stream("GET", f"/api/v1/jobs/{job_id}/events") as first,
            client.stream("GET", f"/api/v1/jobs/{job_id}/events") as second,
        ):
            assert first.status_code == second.status_code == 200
            third = client.get(f"/api/v1/jobs/{job_id}/events")
            assert third.status_code == 429 and "max_streams_per_user" in third.json()["detail"]
        fake.gate.set()
        # Closed streams are given back (once the server has seen the disconnects): a new one opens
        with httpx.Client(base_url=url, timeout=30) as client:
            answers: list[httpx.Response] = []

            def opens() -> bool:
                answers.append(client.get(f"/api/v1/jobs/{job_id}/events"))
                return answers[-1].status_code == 200

            wait_for(opens, timeout=10, what="a stream slot to be given back")
            assert "event: end" in answers[-1].text
