"""Start the real studio (`app.py`) as separate processes on loopback, for process and browser tests: a server
(`StudioProcess`, on a free port) or a fleet worker (`WorkerProcess`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.2  # how often a start-up waits re-checks whether the process is ready


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppProcess:
    """`python app.py <command> …` with its output in a log file; what it takes to be ready is the subclass's."""

    stop_timeout_s = 30.0

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.args = [sys.executable, str(ROOT / "app.py"), *args]
        self.log_path = log_path
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def launch(self) -> subprocess.Popen[bytes]:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.args, cwd=ROOT, env={**env, **self.env}, stdout=log, stderr=subprocess.STDOUT
        )
        return self.process

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll `ready` until it holds; fail at once if the process exits, or after `timeout` seconds."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                raise RuntimeError(f"{what}: the process exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not in {timeout} s:\n{self.log()}")
            time.sleep(POLL_S)

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an out-of-memory kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(self.stop_timeout_s)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


class StudioProcess(AppProcess):
    """`python app.py [serve] --model <tiny> --data-dir <tmp> --port <free>`; logs go to a file beside the data."""

    def __init__(self, data_dir: Path, model: str = "tiny-1.3b", *extra: str, command: str = "serve") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [command, "--model", model, "--data-dir", str(data_dir), "--port", str(self.port), "--device", "cpu"]
        super().__init__([*args, *extra], data_dir.parent / f"studio-{self.port}.log")

    def start(self, timeout: float = 120.0) -> StudioProcess:
        self.launch()
        self.wait_until(self._answers, timeout, f"studio on {self.url}")
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.url, timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False


class WorkerProcess(AppProcess):
    """`python app.py worker --model <tiny> --data-dir <tmp> --device cpu …`: a generation worker of the fleet.

    It has no HTTP port; `start` waits until its row in `fleet_workers` says its model is ready.
    """

    stop_timeout_s = 60.0

    def __init__(self, data_dir: Path, model: str, database_url: str, *extra: str, threads: int = 1) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        args = ["worker", "--model", model, "--data-dir", str(data_dir), "--device", "cpu"]
        args += ["--database-url", database_url, *extra]
        threads_env = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
        super().__init__(args, data_dir.parent / f"worker-{data_dir.name}.log", threads_env)
        self.metrics_url: str | None = None  # set by whoever gives it --metrics-port

    @property
    def name(self) -> str:
        """Its name in the fleet (host:pid), as the jobs it runs record it."""
        assert self.process is not None
        return f"{socket.gethostname()}:{self.process.pid}"

    def start(self, timeout: float = 180.0) -> WorkerProcess:
        from sqlalchemy import create_engine, text

        self.launch()
        engine = create_engine(self.database_url)

        def ready() -> bool:
            try:
                with engine.connect() as conn:
                    query = text("SELECT state FROM fleet_workers WHERE name = :name")
                    state = conn.execute(query, {"name": self.name}).scalar()
            except Exception:  # the schema may not exist yet: the first process migrates it
                return False
            if state == "failed":
                raise RuntimeError(f"worker's model failed to load:\n{self.log()}")
            return state == "ready"

        try:
            self.wait_until(ready, timeout, f"worker {self.name} ready")
        finally:
            engine.dispose()
        return self
