"""Browser fixtures: Debian's Chromium driven by Playwright (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.local_services import Postgres, S3Server
from tests.server import StudioProcess, WorkerProcess

CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
# A loaded 2-core CI machine can take seconds to answer a click: assertions wait up to 30 s, not Playwright's 5 s.
expect.set_options(timeout=30_000)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (installs it) or set STUDIO_CHROMIUM")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    yield tab
    context.close()


@pytest.fixture(scope="session")
def studio_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StudioProcess]:
    """The real studio with the tiny two-expert preview model, on a free loopback port, shared by the session."""
    server = StudioProcess(tmp_path_factory.mktemp("browser") / "data", "tiny-a14b").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fleet_server(
    tmp_path_factory: pytest.TempPathFactory, postgres: Postgres, s3_server: S3Server
) -> Iterator[StudioProcess]:
    """A server of the fleet (Postgres, videos in an S3 bucket, no model) with one tiny-a14b worker process."""
    for name, value in s3_server.env.items():  # the processes read the standard AWS variables
        os.environ[name] = value
    url = postgres.create_database()
    shared = ["--database-url", url, "--media-url", f"s3://{s3_server.create_bucket()}/media"]
    shared += ["--s3-endpoint-url", s3_server.endpoint_url]
    folder = tmp_path_factory.mktemp("fleet-browser")
    server = StudioProcess(folder / "server" / "data", "tiny-a14b", "--workers", "0", *shared).start()
    worker = WorkerProcess(folder / "worker" / "data", "tiny-a14b", url, *shared[2:]).start()
    yield server
    server.stop()
    worker.stop()
