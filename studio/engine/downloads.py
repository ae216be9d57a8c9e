"""Fetching a Wan pipeline's weights from the Hugging Face hub with progress, a disk check and errors in words.

huggingface_hub does the work (its cache under HF_HOME / HF_HUB_CACHE, HF_TOKEN, HF_ENDPOINT, HF_HUB_OFFLINE): we ask
the hub which files the revision has, keep exactly the ones `WanPipeline.from_pretrained` loads, check the disk, then
`hf_hub_download` them one by one (a few at a time) with a tqdm class that reports bytes. Files already in the cache
are not fetched again, so a download cut short (the process killed) resumes with the files it had not finished.
What a download planned is recorded under `record_dir`, so that, offline, the studio can still say which files are
missing and how big the model is. No torch here.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from huggingface_hub import constants, errors, hf_hub_download, try_to_load_from_cache
from huggingface_hub.hf_api import HfApi

from studio.domain.downloads import Transfer, not_enough_space, offline_message
from studio.domain.errors import Unavailable
from studio.engine.download_tracker import ProgressFn, Tracker

log = logging.getLogger(__name__)

MAX_WORKERS = 4  # files fetched at once
STALE_PART_S = 120.0  # a leftover partial file untouched this long belongs to a killed download


class WeightsUnavailable(Unavailable):
    """The weights cannot be had: offline and not cached, a gated or missing repo, a bad token or revision, no space."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="model")


@dataclass(frozen=True)
class RepoFile:
    path: str
    size: int


@dataclass(frozen=True)
class Plan:
    """The files of one revision that the pipeline loads, as the hub listed them."""

    repo_id: str
    revision: str | None  # what was asked for (None: the default branch)
    commit: str
    files: list[RepoFile]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclass(frozen=True)
class CacheState:
    """What of a model the cache holds (no network): bytes present / total, the files missing, the snapshot folder."""

    present_bytes: int
    total_bytes: int | None  # None: never planned on this machine (the hub was not asked yet)
    missing: list[str]
    folder: Path | None  # the snapshot folder when the model is complete

    @property
    def complete(self) -> bool:
        return self.folder is not None and not self.missing


def cache_dir() -> Path:
    """The hub cache in use (HF_HUB_CACHE, else HF_HOME/hub), as huggingface_hub reads it."""
    return Path(constants.HF_HUB_CACHE)


def free_bytes(path: Path) -> int:
    """Free space on the disk holding `path` (its nearest existing parent)."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return shutil.disk_usage(path).free


def pipeline_patterns(index: dict[str, Any]) -> list[str]:
    """The files `from_pretrained` reads for a model_index.json: configs and safetensors of each component, the
    tokenizer's files, the scheduler's config (never pickled .bin weights)."""
    patterns = ["model_index.json"]
    for name, value in index.items():
        if name.startswith("_") or not isinstance(value, list) or value[0] is None:
            continue
        if "Tokenizer" in str(value[1]):
            patterns.append(f"{name}/*")
        else:
            patterns += [f"{name}/*.json", f"{name}/*.safetensors"]
    return patterns


def record_path(record_dir: Path, repo_id: str, revision: str | None) -> Path:
    name = f"{repo_id}@{revision or 'main'}".replace("/", "--")
    return record_dir / f"{name}.json"


def plan(repo_id: str, revision: str | None, *, record_dir: Path) -> Plan:
    """Ask the hub for the revision's files and keep the pipeline's; recorded for offline use.

    Raises:
        WeightsUnavailable: offline, unreachable, gated, missing, unauthorized or an unknown revision.
    """
    with _hub_errors(repo_id, revision, record_dir):
        info = HfApi().model_info(repo_id, revision=revision, files_metadata=True)
        commit = str(info.sha)
        # By the asked revision (not the commit), so that the cache records refs/<revision> as the hub's own tools do
        index_path = hf_hub_download(repo_id, "model_index.json", revision=revision)
        index = json.loads(Path(index_path).read_text(encoding="utf-8"))
    patterns = pipeline_patterns(index)
    files = [
        RepoFile(s.rfilename, int(s.lfs.size if s.lfs else s.size or 0))
        for s in info.siblings or []
        if any(fnmatch(s.rfilename, p) and s.rfilename.count("/") == p.count("/") for p in patterns)
    ]
    found = Plan(repo_id, revision, commit, sorted(files, key=lambda f: f.path))
    path = record_path(record_dir, repo_id, revision)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(found)), encoding="utf-8")
    os.replace(tmp, path)
    return found


def recorded_plan(repo_id: str, revision: str | None, *, record_dir: Path) -> Plan | None:
    path = record_path(record_dir, repo_id, revision)
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Plan(data["repo_id"], data["revision"], data["commit"], [RepoFile(**f) for f in data["files"]])


def cache_state(repo_id: str, revision: str | None, *, record_dir: Path) -> CacheState:
    """What the cache holds of the model, without the network (from the recorded plan, when there is one)."""
    found = recorded_plan(repo_id, revision, record_dir=record_dir)
    if found is None:  # fetched elsewhere (a mounted cache, `hf download`): judge by the folders model_index.json names
        return _unrecorded_state(repo_id, revision)
    present, missing, folder = 0, [], None
    for file in found.files:
        hit = try_to_load_from_cache(repo_id, file.path, revision=found.commit)
        if isinstance(hit, str):
            present += file.size
            folder = Path(hit).parents[len(Path(file.path).parts) - 1]
        else:
            missing.append(file.path)
    return CacheState(present, found.total_bytes, missing, folder if not missing else None)


def _unrecorded_state(repo_id: str, revision: str | None) -> CacheState:
    hit = try_to_load_from_cache(repo_id, "model_index.json", revision=revision)
    if not isinstance(hit, str):
        return CacheState(0, None, ["model_index.json", "every component's weights"], None)
    folder = Path(hit).parent
    index = json.loads(Path(hit).read_text(encoding="utf-8"))
    names = [k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0] is not None]
    missing = [f"{name}/" for name in names if not (folder / name).is_dir()]
    present = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return CacheState(present, None, missing, None if missing else folder)


def fetch(
    repo_id: str,
    revision: str | None,
    *,
    model: str,
    record_dir: Path,
    on_progress: ProgressFn | None = None,
) -> Path:
    """Download what is missing of the model's pipeline files and return the snapshot folder to load from.

    Offline (HF_HUB_OFFLINE=1) a complete cache is used as it is.

    Raises:
        WeightsUnavailable: as `plan`, or the disk cannot hold the bytes still missing (nothing fetched).
    """
    report = on_progress or (lambda transfer: None)
    report(Transfer(model=model, phase="checking"))
    # 1. Offline: the cache or a message saying what is missing and the ways out
    if constants.is_offline_mode():
        state = cache_state(repo_id, revision, record_dir=record_dir)
        if state.complete and state.folder is not None:
            return state.folder
        raise WeightsUnavailable(
            offline_message(model=model, repo_id=repo_id, missing=state.missing, cache=str(cache_dir()))
        )
    # 2. Which files, and which of them the cache lacks
    found = plan(repo_id, revision, record_dir=record_dir)
    missing = [
        f for f in found.files if not isinstance(try_to_load_from_cache(repo_id, f.path, revision=found.commit), str)
    ]
    missing_bytes = sum(f.size for f in missing)
    cached_bytes = found.total_bytes - missing_bytes
    # 3. The disk check, before a byte is fetched
    _sweep_stale_parts(repo_id)
    free = free_bytes(cache_dir())
    if missing_bytes > free:
        raise WeightsUnavailable(
            not_enough_space(missing_bytes=missing_bytes, free_bytes=free, cache=str(cache_dir()), model=model)
        )
    # 4. Fetch, a few files at a time, reporting bytes as they arrive
    tracker = Tracker(model, total=missing_bytes, files=len(missing), cached=cached_bytes, report=report)
    if missing:
        log.info("downloading %s (%s): %d files, %d bytes", model, repo_id, len(missing), missing_bytes)
        with _hub_errors(repo_id, revision, record_dir), ThreadPoolExecutor(MAX_WORKERS) as pool:
            for _ in pool.map(lambda f: _fetch_one(repo_id, found.commit, f, tracker), missing):
                pass
    tracker.finish()
    first = hf_hub_download(repo_id, "model_index.json", revision=found.commit)
    return Path(first).parent


def delete(repo_id: str) -> int:
    """Remove every cached revision of `repo_id` from the hub cache; returns the bytes freed (0: nothing cached)."""
    from huggingface_hub import scan_cache_dir

    if not cache_dir().is_dir():
        return 0
    info = scan_cache_dir(cache_dir())
    hashes = [rev.commit_hash for repo in info.repos if repo.repo_id == repo_id for rev in repo.revisions]
    if not hashes:
        return 0
    strategy = info.delete_revisions(*hashes)
    strategy.execute()
    return int(strategy.expected_freed_size)


def _fetch_one(repo_id: str, commit: str, file: RepoFile, tracker: Tracker) -> None:
    tracker.start(file.path)
    hf_hub_download(repo_id, file.path, revision=commit, tqdm_class=tracker.bar_class(file.path))  # type: ignore[arg-type]
    tracker.end(file.path)


def _sweep_stale_parts(repo_id: str) -> None:
    """Partial files of a killed download are never reused by huggingface_hub: free their space."""
    blobs = cache_dir() / f"models--{repo_id.replace('/', '--')}" / "blobs"
    now = time.time()
    for part in blobs.glob("*.incomplete") if blobs.is_dir() else []:
        try:
            if now - part.stat().st_mtime > STALE_PART_S:
                part.unlink()
        except OSError:
            pass  # another process moved it in place or removed it


class _hub_errors:
    """Turns huggingface_hub's errors into one WeightsUnavailable each, in words."""

    def __init__(self, repo_id: str, revision: str | None, record_dir: Path) -> None:
        self.repo_id, self.revision, self.record_dir = repo_id, revision, record_dir

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None or isinstance(exc, WeightsUnavailable):
            return
        message = self._message(exc)
        if message is not None:
            raise WeightsUnavailable(message) from exc

    def _message(self, exc: BaseException) -> str | None:
        repo, token = self.repo_id, "HF_TOKEN"
        if isinstance(exc, errors.GatedRepoError):
            return (
                f"{repo} is gated: accept its conditions on its page on the hub with your account, then set "
                f"{token} to a token of that account."
            )
        if isinstance(exc, errors.RevisionNotFoundError):
            return f"{repo} has no revision {self.revision!r}: check --model-revision (a branch, tag or commit)."
        if isinstance(exc, errors.RepositoryNotFoundError):
            return f"{repo} does not exist on the hub (or is private and {token} cannot see it): check the name."
        if isinstance(exc, errors.HfHubHTTPError) and exc.response is not None and exc.response.status_code == 401:
            return f"the hub refused the token for {repo} (401): check {token}."
        if isinstance(exc, errors.OfflineModeIsEnabled | errors.LocalEntryNotFoundError) or _is_connection(exc):
            state = cache_state(repo, self.revision, record_dir=self.record_dir)
            return offline_message(model=repo, repo_id=repo, missing=state.missing, cache=str(cache_dir()))
        if isinstance(exc, errors.HfHubHTTPError):
            return f"the hub could not serve {repo}: {exc}".split("\n")[0]
        return None


def _is_connection(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"ConnectError", "TimeoutException", "ConnectionError", "NetworkError"})
