"""Start the real studio (`app.py`) as a separate process on a free loopback port, for process and browser tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StudioProcess:
    """`python app.py --model <tiny> --data-dir <tmp> --port <free>`; logs go to a file beside the data."""

    def __init__(self, data_dir: Path, model: str = "tiny-1.3b", *extra: str, command: str = "serve") -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"studio-{self.port}.log"
        self.args = [sys.executable, str(ROOT / "app.py"), command, "--model", model, "--data-dir", str(data_dir)]
        self.args += ["--port", str(self.port), "--device", "cpu", *extra]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> StudioProcess:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"studio exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        raise TimeoutError(f"studio did not answer on {self.url} in {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an out-of-memory kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


class WorkerProcess:
    """`python app.py worker --model <tiny> --data-dir <tmp> --device cpu …`: a generation worker of the fleet.

    It has no HTTP port; `start` waits until its row in `fleet_workers` says its model is ready.
    """

    def __init__(self, data_dir: Path, model: str, database_url: str, *extra: str, threads: int = 1) -> None:
        self.data_dir = data_dir
        self.database_url = database_url
        self.log_path = data_dir.parent / f"worker-{data_dir.name}.log"
        self.args = [sys.executable, str(ROOT / "app.py"), "worker", "--model", model, "--data-dir", str(data_dir)]
        self.args += ["--device", "cpu", "--database-url", database_url, *extra]
        self.threads = threads
        self.process: subprocess.Popen[bytes] | None = None
        self.metrics_url: str | None = None  # set by whoever gives it --metrics-port

    @property
    def name(self) -> str:
        """Its name in the fleet (host:pid), as the jobs it runs record it."""
        assert self.process is not None
        return f"{socket.gethostname()}:{self.process.pid}"

    def start(self, timeout: float = 180.0) -> WorkerProcess:
        from sqlalchemy import create_engine, text

        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(self.threads)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        engine = create_engine(self.database_url)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
                try:
                    with engine.connect() as conn:
                        state = conn.execute(
                            text("SELECT state FROM fleet_workers WHERE name = :name"), {"name": self.name}
                        ).scalar()
                except Exception:  # the schema may not exist yet: the first process migrates it
                    state = None
                if state == "ready":
                    return self
                if state == "failed":
                    raise RuntimeError(f"worker's model failed to load:\n{self.log()}")
                time.sleep(0.2)
        finally:
            engine.dispose()
        raise TimeoutError(f"worker not ready in {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an out-of-memory kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""
