"""A small hub-compatible HTTP server on loopback, so that huggingface_hub's real download code runs in tests.

Serves folders as model repos with just enough of the hub's HTTP API for huggingface_hub 2.4:
`GET /api/models/{repo}[/revision/{rev}]` (the sha and the siblings with sizes and LFS info) and
`HEAD`/`GET /{repo}/resolve/{rev}/{path}` with the headers it checks (X-Repo-Commit, ETag / X-Linked-Etag,
X-Linked-Size, Content-Length) and `Range` for partial reads. No Xet headers, so plain HTTP downloads are used.
Errors as the hub sends them (X-Error-Code: RepoNotFound, GatedRepo, RevisionNotFound; 401 for a wrong token).
`throttle_bps` slows every body down so that a test can stop a download midway; `served` counts the body bytes
sent per file.

Run alone: `python -m tests.loopback_hub owner/name=/path/to/folder [--port N] [--throttle BPS]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

CHUNK = 16 * 1024


@dataclass
class Repo:
    folder: Path
    commit: str = ""
    revisions: set[str] = field(default_factory=lambda: {"main"})
    gated: bool = False
    token: str | None = None  # when set, requests must carry "Authorization: Bearer <token>"
    files: dict[str, tuple[int, str, str]] = field(default_factory=dict)  # path -> (size, sha256, git sha1)

    def __post_init__(self) -> None:
        digest = hashlib.sha1()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            data = path.read_bytes()
            name = path.relative_to(self.folder).as_posix()
            git = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
            self.files[name] = (len(data), hashlib.sha256(data).hexdigest(), git)
            digest.update(name.encode() + git.encode())
        self.commit = self.commit or digest.hexdigest()

    def lfs(self, name: str) -> bool:
        return name.endswith(".safetensors")


class LoopbackHub:
    """The server, in a thread of the test process: `url` is what HF_ENDPOINT should be."""

    def __init__(self, repos: dict[str, Repo], *, throttle_bps: int | None = None, port: int = 0) -> None:
        self.repos = repos
        self.throttle_bps = throttle_bps
        self.served: Counter[str] = Counter()  # "repo/path" -> body bytes sent
        self.gets: Counter[str] = Counter()  # "repo/path" -> GET requests
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> LoopbackHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(hub: LoopbackHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self._serve(body=True)

        def do_HEAD(self) -> None:
            self._serve(body=False)

        def _error(self, status: int, code: str | None, message: str) -> None:
            data = json.dumps({"error": message}).encode()
            self.send_response(status)
            if code:
                self.send_header("X-Error-Code", code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _find(self, parts: list[str]) -> tuple[str, Repo] | None:
            repo_id = "/".join(parts[:2])
            repo = hub.repos.get(repo_id)
            if repo is None:
                self._error(404, "RepoNotFound", "Repository not found")
                return None
            auth = self.headers.get("Authorization", "")
            if repo.token is not None and auth != f"Bearer {repo.token}":
                if auth:
                    self._error(401, None, "Invalid credentials in Authorization header")
                else:
                    self._error(404, "RepoNotFound", "Repository not found")
                return None
            if repo.gated:
                self._error(403, "GatedRepo", "Access to this model is restricted")
                return None
            return repo_id, repo

        def _serve(self, *, body: bool) -> None:
            path = unquote(urlsplit(self.path).path).strip("/")
            parts = path.split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 4:
                self._info(parts[2:])
            elif len(parts) >= 5 and parts[2] == "resolve":
                self._file(parts, body=body)
            else:
                self._error(404, None, f"no route {path}")

        def _info(self, parts: list[str]) -> None:
            found = self._find(parts)
            if found is None:
                return
            repo_id, repo = found
            if len(parts) >= 4 and parts[2] == "revision" and parts[3] not in (repo.commit, *repo.revisions):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {parts[3]}")
                return
            siblings = []
            for name, (size, sha256, git) in sorted(repo.files.items()):
                sibling: dict[str, object] = {"rfilename": name, "size": size, "blobId": git}
                if repo.lfs(name):
                    sibling["lfs"] = {"size": size, "sha256": sha256, "pointerSize": 134}
                siblings.append(sibling)
            data = json.dumps({"id": repo_id, "modelId": repo_id, "sha": repo.commit, "siblings": siblings}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _file(self, parts: list[str], *, body: bool) -> None:
            found = self._find(parts)
            if found is None:
                return
            repo_id, repo = found
            revision, name = parts[3], "/".join(parts[4:])
            if revision not in (repo.commit, *repo.revisions):
                self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
                return
            if name not in repo.files:
                self._error(404, "EntryNotFound", f"{name} does not exist")
                return
            size, sha256, git = repo.files[name]
            data = (repo.folder / name).read_bytes()
            start = 0
            if (ranged := self.headers.get("Range")) and ranged.startswith("bytes="):
                start = int(ranged.removeprefix("bytes=").split("-")[0] or 0)
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", repo.commit)
            self.send_header("Accept-Ranges", "bytes")
            if repo.lfs(name):
                self.send_header("X-Linked-Etag", f'"{sha256}"')
                self.send_header("X-Linked-Size", str(size))
                self.send_header("ETag", f'"{sha256}"')
            else:
                self.send_header("ETag", f'"{git}"')
            if start:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.send_header("Content-Length", str(size - start))
            self.end_headers()
            if not body:
                return
            key = f"{repo_id}/{name}"
            with hub.lock:
                hub.gets[key] += 1
            for offset in range(start, size, CHUNK):
                chunk = data[offset : offset + CHUNK]
                try:
                    self.wfile.write(chunk)
                    self.wfile.flush()
                except OSError:  # the client went away (a killed download)
                    return
                with hub.lock:
                    hub.served[key] += len(chunk)
                if hub.throttle_bps:
                    time.sleep(len(chunk) / hub.throttle_bps)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("repos", nargs="+", help="owner/name=/path/to/folder")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--throttle", type=int, default=None, help="bytes per second per download")
    args = parser.parse_args()
    repos = {spec.split("=", 1)[0]: Repo(Path(spec.split("=", 1)[1])) for spec in args.repos}
    hub = LoopbackHub(repos, throttle_bps=args.throttle, port=args.port).start()
    print(hub.url, flush=True)
    hub.thread.join()


if __name__ == "__main__":
    main()
