"""The attacks of issue 10 against a real studio process, one line of outcome each (before/after figures).

    HF_HUB_OFFLINE=1 .venv/bin/python bench/security_probe.py

Starts `app.py` (tiny model) twice on free loopback ports — with the embedded defaults plus low limits, then with a
UI login and MCP — and tries what the security review tried. Run it on an older checkout (copy this file there) to
see what it used to answer. Not a test: it prints what happened.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from tests.server import StudioProcess

SHORT = {"duration_s": 0.5, "steps": 1}
LONG = {"prompt": "the long job", "duration_s": 5.0, "steps": 100}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def report(item: str, outcome: str) -> None:
    print(f"{item:<58} {outcome}", flush=True)


class Receiver(BaseHTTPRequestHandler):
    posts = 0

    def do_POST(self) -> None:
        type(self).posts += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def wait_status(client: httpx.Client, job_id: int, wanted: set[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        status = str(client.get(f"/api/v1/jobs/{job_id}").json()["status"])
        if status in wanted or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


async def hold_streams(url: str, job_id: int, count: int, release: asyncio.Event) -> list[int]:
    opened: list[int] = []
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one() -> None:
            try:
                async with client.stream("GET", f"/api/v1/jobs/{job_id}/events") as response:
                    opened.append(response.status_code)
                    async for _ in response.aiter_lines():
                        if release.is_set():
                            return
            except httpx.HTTPError:
                opened.append(0)

        tasks = [asyncio.create_task(one()) for _ in range(count)]
        await release.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return opened


def open_studio(tmp: Path) -> None:
    cache = tmp / "gradio-cache"
    os.environ["GRADIO_TEMP_DIR"] = str(cache)
    os.environ["STUDIO_MAX_STREAMS_PER_USER"] = "200"  # older versions ignore it
    server = StudioProcess(
        tmp / "open" / "data", "tiny-1.3b", "--max-jobs-per-hour", "12", "--max-queued-per-user", "2"
    )
    server.start()
    assert server.process is not None
    receiver = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            # C1: every UI event given the database (and /etc/passwd) as an input file
            database = (server.data_dir / "studio.db").resolve()
            count = len(http.get("/config").json()["dependencies"])
            for target in (database, Path("/etc/passwd")):
                for fn_index in range(count):
                    http.post(
                        "/gradio_api/queue/join",
                        json={
                            "fn_index": fn_index,
                            "session_hash": f"probe{fn_index}",
                            "data": [{"path": str(target), "meta": {"_type": "gradio.FileData"}}],
                        },
                    )
            time.sleep(2)  # the queue works through the sprayed events
            copies = [p.name for p in cache.rglob("*") if p.name in ("studio.db", "passwd")]
            report("C1 server files copied into Gradio's cache", f"{len(copies)} {sorted(set(copies))}")

            # H1: a callback to the loopback
            hook = f"http://127.0.0.1:{receiver.server_port}/internal-admin"
            answer = http.post("/api/v1/jobs", json={"prompt": "callback", "callback_url": hook, **SHORT})
            if answer.status_code == 202:
                wait_status(http, answer.json()["id"], {"succeeded", "failed"})
                time.sleep(1)
            report(
                "H1 callback_url on 127.0.0.1: submit answer / POSTs received",
                f"{answer.status_code} / {Receiver.posts}",
            )

            # H4: a 10 MB prompt to the token counter
            before = rss_mb(server.process.pid)
            token_note = next(
                i
                for i, d in enumerate(http.get("/config").json()["dependencies"])
                if d.get("trigger_mode") and any(t[1] == "blur" for t in d.get("targets", []))
            )
            answer = http.post(
                "/gradio_api/queue/join",
                json={"fn_index": token_note, "session_hash": "big", "data": ["x " * 5_000_000]},
            )
            time.sleep(3)
            after = rss_mb(server.process.pid)
            report(
                "H4 10 MB prompt to the token counter: answer, server RSS",
                f"{answer.status_code}, {before:.0f} → {after:.0f} MB",
            )

            # XFF: a long job holds the worker; new jobs each claiming another address
            running = http.post("/api/v1/jobs", json=LONG).json()["id"]
            wait_status(http, running, {"running"})
            dodged = [
                http.post(
                    "/api/v1/jobs", json={"prompt": f"x{n}", **SHORT}, headers={"X-Forwarded-For": f"203.0.113.{n}"}
                )
                for n in range(5)
            ]
            report(
                "XFF 5 jobs, each claiming another address (2 may wait)",
                f"{sum(a.status_code == 202 for a in dodged)} accepted",
            )
            # H4: 100 event streams on a job that waits in the queue (no news for a long while), then /health
            waiting = next((a.json()["id"] for a in dodged if a.status_code == 202), running)
            loop = asyncio.new_event_loop()
            release = asyncio.Event()
            result: list[list[int]] = []
            holder = threading.Thread(
                target=lambda: result.append(loop.run_until_complete(hold_streams(server.url, waiting, 100, release)))
            )
            holder.start()
            time.sleep(5)
            started = time.perf_counter()
            try:
                status = str(httpx.get(f"{server.url}/health", timeout=30).status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            health_s = time.perf_counter() - started
            loop.call_soon_threadsafe(release.set)
            holder.join(60)
            report("H4 /health while 100 event streams are open", f"{status} in {health_s:.2f} s")

            headers = http.get("/").headers
            report("UI framing headers", f"X-Frame-Options={headers.get('x-frame-options')}")

            # H4: the one-request job of the report (last: before, it held the only worker for minutes)
            big = {"prompt": "x", "width": 1920, "height": 1920, "duration_s": 5.06, "steps": 100}
            answer = http.post("/api/v1/jobs", json=big)
            outcome = str(answer.status_code)
            if answer.status_code == 202:
                job_id = answer.json()["id"]
                wait_status(http, job_id, {"running"}, timeout=600)
                asked = time.perf_counter()
                http.post(f"/api/v1/jobs/{job_id}/cancel")
                final = wait_status(http, job_id, {"canceled", "failed", "succeeded"}, timeout=600)
                outcome += f"; canceled while running: {final} after {time.perf_counter() - asked:.0f} s"
            report("H4 1920x1920, 5.06 s, 100 steps on the tiny model", outcome)

            # H2: retries of a canceled job against the limits, once the queue is empty again
            http.post(f"/api/v1/jobs/{running}/cancel")
            for job in http.get("/api/v1/jobs").json():
                wait_status(http, job["id"], {"succeeded", "failed", "canceled"})
            canceled = http.post("/api/v1/jobs", json={"prompt": "to retry", **SHORT}).json()["id"]
            http.post(f"/api/v1/jobs/{canceled}/cancel")
            wait_status(http, canceled, {"canceled", "succeeded"})
            retries = [http.post(f"/api/v1/jobs/{canceled}/retry").status_code for _ in range(10)]
            report(
                "H2 10 retries of one job, 12 jobs per hour, 2 waiting allowed",
                f"{retries.count(202)} accepted, {retries.count(429)} refused",
            )
            for job in http.get("/api/v1/jobs").json():
                wait_status(http, job["id"], {"succeeded", "failed", "canceled"})
    finally:
        server.stop()
        receiver.shutdown()


def locked_studio(tmp: Path) -> None:
    server = StudioProcess(tmp / "locked" / "data", "tiny-1.3b", "--auth", "alice:wonderland", "--mcp").start()
    right = "Basic " + base64.b64encode(b"alice:wonderland").decode()
    wrong = "Basic " + base64.b64encode(b"alice:guess").decode()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            page = http.get("/").text
            report("auth: endpoint list on the login page", "yes" if '"/generate"' in page else "no")
            mcp = http.post(
                "/gradio_api/mcp/",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}},
                headers={"Accept": "application/json, text/event-stream"},
            )
            report("auth: MCP tools/list without credentials", str(mcp.status_code))
            for _ in range(100):
                http.get("/api/v1/jobs", headers={"Authorization": wrong})
            report(
                "auth: the right password after 100 wrong ones",
                str(http.get("/api/v1/jobs", headers={"Authorization": right}).status_code),
            )
    finally:
        server.stop()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as folder:
        open_studio(Path(folder))
        locked_studio(Path(folder))
