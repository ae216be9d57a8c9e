"""Scale-out: how fast the fleet dispatches, and how it scales with workers. Prints figures and ratios.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/scale.py [--latency-jobs 50] [--skip-real]

Starts a throwaway Postgres (tests/local_services.py) and real worker processes (`app.py worker`), then measures:
1. Submit → running latency with an idle tiny-model worker: p50 and p95 over N jobs, from the job row's
   created_at (saved by the submitting server) to its started_at (claimed by the worker). Goal: p95 ≤ 0.5 s.
2. Engine throughput: 8 workers vs 1 whose pipeline is a per-step sleep — the one place a stand-in is right,
   because this measures dispatch, not compute. Goal: ≥ 0.9 × 8.
3. Failover: a worker SIGKILLed mid-job; seconds until its job runs again on the other worker. Goal: ≤ 30 s.
4. Real tiny-model jobs: 2 workers with one torch thread each vs 1 worker, on this machine. Goal: ≥ 1.7×.
Not a test: it prints numbers (README "Scale out" records them with this command).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from sqlalchemy import text

from studio.config import Settings, load_settings
from studio.domain.presets import PRESETS
from studio.domain.recipe import Recipe, RecipeRequest
from studio.engine.contract import Canceled, GenerationResult, PipelineInfo, StepInfo
from studio.services.studio import Studio
from tests.local_services import Postgres
from tests.server import WorkerProcess

MODEL = "tiny-1.3b"


class SleepPipeline:
    """A stand-in for the model that sleeps `step_s` per step: what is left to measure is the dispatch."""

    def __init__(self, step_s: float) -> None:
        self.step_s = step_s

    def load(self) -> float:
        return 0.0

    def info(self) -> PipelineInfo:
        return PipelineInfo(device="cpu (sleep stand-in)")

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        recipe: Recipe,
        on_step: Callable[[StepInfo], None] | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> GenerationResult:
        started = time.perf_counter()
        for step in range(1, recipe.steps + 1):
            time.sleep(self.step_s)
            if interrupt:
                interrupt()
            if on_step:
                on_step(StepInfo(step, recipe.steps, time.perf_counter() - started))
        frames = np.zeros((5, 32, 32, 3), np.uint8)  # tiny: encoding it is not what is measured
        return GenerationResult(frames=frames, text_encode_s=0.0, denoise_s=time.perf_counter() - started, decode_s=0)

    def generate_batch(self, recipes: list[Recipe], **kwargs: object) -> list[GenerationResult]:
        raise Canceled("the sleep stand-in runs one job at a time")


def sleep_worker(argv: list[str]) -> int:
    """`bench/scale.py sleep-worker <app.py worker flags>`: a fleet worker around the sleep stand-in."""
    import app

    step_s = float(os.environ.get("BENCH_STEP_S", "0.1"))
    settings = load_settings(argv)
    studio = Studio(settings, preset=PRESETS[MODEL], pipeline=SleepPipeline(step_s))  # type: ignore[arg-type]
    return app.run_worker(studio, settings)


class SleepWorker(WorkerProcess):
    def __init__(self, data_dir: Path, database_url: str, *extra: str) -> None:
        super().__init__(data_dir, MODEL, database_url, *extra)
        self.args = [sys.executable, str(Path(__file__).resolve()), "sleep-worker", *self.args[3:]]


def run_jobs(server: Studio, count: int, *, steps: int, duration_s: float = 1.0) -> float:
    """Submit `count` jobs at once and wait for all; returns the seconds from the first submit to the last end."""
    started = time.perf_counter()
    ids = [
        server.submit(RecipeRequest(prompt=f"take {n}", seed=n, duration_s=duration_s, steps=steps)).id
        for n in range(count)
    ]
    count_open = text("SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')")
    with server.db.engine.connect() as conn:  # one cheap query a poll: the bench itself must not eat the CPU
        while conn.execute(count_open).scalar():
            conn.commit()
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    failed = [job_id for job_id in ids if server.job(job_id).status.value != "succeeded"]
    assert not failed, f"jobs failed: {failed}"
    return elapsed


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def latency(server: Studio, count: int) -> list[float]:
    """Submit → running, one job at a time on an idle worker (seconds, from the job row's timestamps)."""
    spans = []
    for n in range(count):
        job_id = server.submit(RecipeRequest(prompt=f"latency {n}", seed=n, duration_s=1.0, steps=2)).id
        while not server.job(job_id).is_final:
            time.sleep(0.01)
        with server.db.engine.connect() as conn:
            created, started = conn.execute(
                text("SELECT created_at, started_at FROM jobs WHERE id = :id"), {"id": job_id}
            ).one()
        spans.append((started - created).total_seconds())
    return spans


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def fleet(postgres: Postgres, root: Path, name: str) -> tuple[Studio, str, list[str]]:
    url = postgres.create_database()
    media = ["--media-url", f"file://{root / name / 'media'}", "--no-content-check"]
    settings = Settings(
        data_dir=root / name / "server", database_url=url, workers=0, content_check=False,
        media_url=f"file://{root / name / 'media'}", max_queued_per_user=1000, max_queued=1000,
    )  # fmt: skip
    server = Studio(settings, preset=PRESETS[MODEL])
    server.start()
    return server, url, media


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-jobs", type=int, default=50)
    parser.add_argument("--sleep-jobs-per-worker", type=int, default=6)
    parser.add_argument("--real-jobs", type=int, default=16)
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="studio-scale-"))
    postgres = Postgres().start()
    processes: list[WorkerProcess] = []
    try:
        # 1. Latency
        server, url, media = fleet(postgres, root, "latency")
        processes.append(WorkerProcess(root / "latency" / "w0", MODEL, url, *media).start())
        spans = latency(server, args.latency_jobs)
        p50, p95 = percentile(spans, 50), percentile(spans, 95)
        print(f"submit → running, idle worker, {len(spans)} jobs: p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms "
              f"(goal p95 ≤ 500 ms: {'met' if p95 <= 0.5 else 'NOT met'})")  # fmt: skip
        server.stop()

        # 2. Dispatch throughput with the sleep stand-in: 1 worker vs 8
        steps, step_s = 10, float(os.environ.setdefault("BENCH_STEP_S", "0.1"))
        rates = {}
        for count in (1, 8):
            server, url, media = fleet(postgres, root, f"sleep{count}")
            workers = [SleepWorker(root / f"sleep{count}" / f"w{n}", url, *media) for n in range(count)]
            for worker in workers:
                processes.append(worker.start())
            jobs = args.sleep_jobs_per_worker * count
            elapsed = run_jobs(server, jobs, steps=steps)
            rates[count] = jobs / elapsed
            print(f"sleep stand-in ({steps} × {step_s * 1000:.0f} ms a job), {count} worker(s): {jobs} jobs in "
                  f"{elapsed:.1f} s = {rates[count]:.2f} jobs/s")  # fmt: skip
            for worker in workers:
                worker.stop()
            server.stop()
        ratio = rates[8] / rates[1]
        print(f"dispatch scaling 8 vs 1 workers: {ratio:.2f}× (goal ≥ {0.9 * 8:.1f}×: "
              f"{'met' if ratio >= 0.9 * 8 else 'NOT met'})")  # fmt: skip

        # 3. A dead worker: SIGKILL one mid-job; how long until its job runs again on the other
        server, url, media = fleet(postgres, root, "failover")
        pair = [SleepWorker(root / "failover" / f"w{n}", url, *media) for n in range(2)]
        for worker in pair:
            processes.append(worker.start())
        job_id = server.submit(RecipeRequest(prompt="long", seed=1, duration_s=1.0, steps=100)).id
        while server.job(job_id).status.value != "running":
            time.sleep(0.01)
        with server.db.engine.connect() as conn:
            runner = conn.execute(text("SELECT worker FROM jobs WHERE id = :id"), {"id": job_id}).scalar()
        victim = next(worker for worker in pair if worker.name == runner)
        victim.kill()
        killed = time.perf_counter()
        while True:
            with server.db.engine.connect() as conn:
                status, attempts = conn.execute(
                    text("SELECT status, attempts FROM jobs WHERE id = :id"), {"id": job_id}
                ).one()
            if status == "running" and attempts == 2:
                break
            time.sleep(0.05)
        print(f"worker SIGKILLed mid-job → its job running again on the other: {time.perf_counter() - killed:.1f} s "
              f"(goal ≤ 30 s)")  # fmt: skip
        server.cancel(job_id)
        for worker in pair:
            worker.stop()
        server.stop()

        # 4. Real tiny-model jobs: 1 worker vs 2, one torch thread each
        if not args.skip_real:
            real = {}
            for count in (1, 2):
                server, url, media = fleet(postgres, root, f"real{count}")
                workers = [WorkerProcess(root / f"real{count}" / f"w{n}", MODEL, url, *media) for n in range(count)]
                for worker in workers:
                    processes.append(worker.start())
                pids = [worker.process.pid for worker in workers if worker.process]
                cpu_before = cpu_seconds(pids)
                elapsed = run_jobs(server, args.real_jobs, steps=8, duration_s=2.0)
                cpu = cpu_seconds(pids) - cpu_before
                real[count] = args.real_jobs / elapsed
                print(
                    f"tiny model, {count} worker(s) × 1 thread: {args.real_jobs} jobs in {elapsed:.1f} s "
                    f"= {real[count]:.2f} jobs/s; workers used {cpu:.1f} CPU s ({cpu / elapsed:.2f} cores)"
                )
                for worker in workers:
                    worker.stop()
                server.stop()
            ratio = real[2] / real[1]
            print(f"tiny-model scaling 2 vs 1 workers on {os.cpu_count()} cores: {ratio:.2f}× "
                  f"(goal ≥ 1.7×: {'met' if ratio >= 1.7 else 'NOT met'})")  # fmt: skip
    finally:
        for process in processes:
            process.stop()
        postgres.destroy()
        subprocess.run(["rm", "-rf", str(root)], check=False)


if __name__ == "__main__":
    if sys.argv[1:2] == ["sleep-worker"]:
        sys.exit(sleep_worker(sys.argv[2:]))
    main()
