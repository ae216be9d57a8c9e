"""API under load: while a job runs, 50 clients poll job status and list videos; then a 20-round crash loop.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/load.py [--clients 50] [--seconds 30] [--crash-rounds 20]

Starts the real studio (`app.py`, tiny model) on a free loopback port. Prints p50/p95/max latency of the
polling requests (goal: p95 < 200 ms) and, for the crash loop, how many submitted jobs survived SIGKILL
restarts (goal: all). Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from studio.client import StudioClient
from tests.server import StudioProcess


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def polling(url: str, clients: int, seconds: float) -> None:
    with StudioClient(url) as client:
        for i in range(3):  # something in the history to list
            client.generate(f"warm-up {i}", duration_s=0.5, steps=1)
        running = client.submit("the long job", duration_s=5.0, steps=100)
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def poll(index: int) -> None:
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < stop:
                path = f"/api/v1/jobs/{running.id}" if index % 2 else "/api/v1/videos?limit=24"
                started = time.perf_counter()
                response = http.get(path)
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors.append(f"{path}: {response.status_code}")

    threads = [threading.Thread(target=poll, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(
        f"polling: {clients} clients for {seconds:.0f} s while a job ran: {len(latencies)} requests, "
        f"{len(errors)} errors"
    )
    print(
        f"  latency p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {percentile(latencies, 0.95) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms  (goal p95 < 200 ms)"
    )


def crash_loop(data: Path, rounds: int) -> None:
    server = StudioProcess(data, "tiny-1.3b")
    submitted: list[int] = []
    for _ in range(rounds):
        server.start()
        with StudioClient(server.url) as client:
            long_job = client.submit("long", duration_s=5.0, steps=100).id
            submitted += [long_job, client.submit("short", duration_s=0.5, steps=1).id]
            deadline = time.monotonic() + 120
            while client.get(long_job).step < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        server.kill()
    server.start()
    with StudioClient(server.url) as client:
        found = {j.id: j.status for j in client.jobs(limit=200)}
    server.stop()
    missing = [i for i in submitted if i not in found]
    print(
        f"crash loop: {rounds} SIGKILL restarts, {len(submitted)} jobs submitted, {len(missing)} missing; "
        f"statuses: { {s: list(found.values()).count(s) for s in set(found.values())} }"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--crash-rounds", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="studio-load-"))
    server = StudioProcess(work / "polling" / "data", "tiny-1.3b").start()
    try:
        polling(server.url, args.clients, args.seconds)
    finally:
        server.stop()
    if args.crash_rounds:
        crash_loop(work / "crash" / "data", args.crash_rounds)


if __name__ == "__main__":
    main()
