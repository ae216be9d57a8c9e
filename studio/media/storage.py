"""Where videos and posters are kept: the local media folder, or any S3-compatible bucket shared by many machines.

A key is the relative path a video row stores (`videos/<id>.mp4`, `posters/<id>.jpg`). Every store also has a
local folder (`local_dir`): the store itself for `FileStore`; for `S3Store` a read-through cache of the bucket, so
the code that needs a real file (the players, ffmpeg, the recipe reader) always works from a path. An object is
never rewritten under the same key (keys come from row ids, which are never reused), so a cached copy never goes
stale; a deleted one is removed from the cache of the machine that deleted it.

`open_store(settings)` picks the store from `media_url` (and `s3_endpoint_url`).
"""

from __future__ import annotations

import logging
import mimetypes
import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from studio.config import Settings
from studio.domain.media_url import S3Location, parse_media_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    key: str
    modified: float  # when it was written, seconds since the epoch (the sweep's grace period reads it)


def check_key(key: str) -> str:
    """`key` itself when it is a relative path that stays inside the store; a row or a caller never names more.

    Raises:
        ValueError: an empty or absolute key, a backslash, or a `.`/`..`/empty segment.
    """
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or "\0" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"media key: {key!r} must be a relative path inside the media store (no '..', no leading /)")
    return key


class MediaStore(ABC):
    """The files of the history, by key. Writes go through `publish`; reads through `local_path`."""

    local_dir: Path  # where local copies live: the store itself, or a remote store's cache
    is_remote: bool  # True: objects live elsewhere; `presigned_url` gives browsers a direct link

    @abstractmethod
    def local_path(self, key: str, *, missing_ok: bool = False) -> Path:
        """A local file holding the object (a remote one is downloaded into the cache first).

        With `missing_ok`, an object the store lacks gives the path its copy would have (which does not exist), for
        callers that report a missing file themselves.

        Raises:
            FileNotFoundError: the store has no such object (unless `missing_ok`).
        """

    @abstractmethod
    def publish(self, key: str, local_file: Path) -> None:
        """Store `local_file` under `key`; the file moves to `local_path(key)` (a remote store uploads it first)."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object and its local copy; a missing one is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool:
        """Whether the store holds the object (a remote store asks the bucket, not the cache)."""

    @abstractmethod
    def objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix` (a folder such as "videos/"), in no particular order."""

    @abstractmethod
    def move(self, key: str, new_key: str) -> None:
        """Store the object under `new_key` instead (the start-up sweep sets orphans aside this way)."""

    @abstractmethod
    def presigned_url(self, key: str, *, expires_s: int, download_name: str | None = None) -> str | None:
        """A URL anyone holding it can GET the object from (with `Range`) for `expires_s` seconds; None: the store
        has no such links (serve `local_path` instead). `download_name` is the file name a browser saves it as."""

    @property
    @abstractmethod
    def url_origin(self) -> str | None:
        """The scheme://host[:port] presigned URLs point at (a page that plays them must allow it); None: none."""


class FileStore(MediaStore):
    """The store is a local folder (`--data-dir`'s media/, or file:///path): one machine, or a shared mount."""

    is_remote = False

    def __init__(self, root: Path) -> None:
        self.local_dir = root

    def _path(self, key: str) -> Path:
        return self.local_dir / check_key(key)

    def local_path(self, key: str, *, missing_ok: bool = False) -> Path:
        path = self._path(key)
        if not missing_ok and not path.is_file():
            raise FileNotFoundError(f"the media store has no {key!r}")
        return path

    def publish(self, key: str, local_file: Path) -> None:
        target = self._path(key)
        if local_file.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_file, target)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        folder = self.local_dir / check_key(prefix.rstrip("/")) if prefix.strip("/") else self.local_dir
        if not folder.is_dir():
            return
        for file in folder.rglob("*"):
            if file.is_file():
                yield StoredObject(file.relative_to(self.local_dir).as_posix(), file.stat().st_mtime)

    def move(self, key: str, new_key: str) -> None:
        target = self._path(new_key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(key), target)

    def presigned_url(self, key: str, *, expires_s: int, download_name: str | None = None) -> str | None:
        return None

    @property
    def url_origin(self) -> str | None:
        return None


class S3Store(MediaStore):
    """The store is a bucket (AWS S3, MinIO, R2…) under `prefix`; `cache_dir` keeps local copies of what was read.

    Credentials and the region come from the standard AWS variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION) or the machine's role, as for any boto3 client; `endpoint_url` names another S3-compatible
    service (path-style addressing then, which MinIO needs).
    """

    is_remote = True

    def __init__(
        self, *, bucket: str, prefix: str, endpoint_url: str | None, cache_dir: Path, cache_limit_bytes: int = 0
    ) -> None:
        import boto3  # only a studio with s3:// media needs it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.local_dir = cache_dir
        self.cache_limit_bytes = cache_limit_bytes  # 0: the cache only shrinks when videos are deleted
        config = Config(
            signature_version="s3v4",  # what presigned URLs need on every S3-compatible service (R2 has only it)
            s3={"addressing_style": "path"} if endpoint_url else {},
            retries={"mode": "standard", "max_attempts": 5},
        )
        # A session of its own: boto3's default session is not safe to build clients from in several threads.
        self.client: Any = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=config)

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{check_key(key)}" if self.prefix else check_key(key)

    def _cached(self, key: str) -> Path:
        return self.local_dir / check_key(key)

    def local_path(self, key: str, *, missing_ok: bool = False) -> Path:
        cached = self._cached(key)
        if cached.is_file():
            os.utime(cached)  # recently used: the last to leave a full cache
            return cached
        # Downloaded under a temp name, then renamed: a reader never sees half a file, and two threads
        # downloading the same object at once each rename a whole copy.
        cached.parent.mkdir(parents=True, exist_ok=True)
        part = cached.with_name(f".{cached.name}.{uuid.uuid4().hex[:12]}.part")
        try:
            self.client.download_file(self.bucket, self._object_key(key), str(part))
            os.replace(part, cached)
        except ClientError as error:
            if not _is_not_found(error):
                raise
            if missing_ok:
                return cached
            raise FileNotFoundError(f"the media store has no {key!r}") from error
        finally:
            part.unlink(missing_ok=True)
        self.trim_cache(keep=cached)
        return cached

    def trim_cache(self, *, keep: Path | None = None) -> list[Path]:
        """Delete the least recently used local copies until the cache holds at most `cache_limit_bytes` (then
        down to 90 % of it, so that not every download trims); the bucket keeps them, a later read fetches them
        again. Only copies of videos and posters go, never `keep`. Returns what was deleted."""
        if not self.cache_limit_bytes:
            return []
        copies = []
        for folder in ("videos", "posters"):
            for path in (self.local_dir / folder).glob("*") if (self.local_dir / folder).is_dir() else []:
                if path.is_file() and not path.name.startswith("."):
                    stat = path.stat()
                    copies.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in copies)
        if total <= self.cache_limit_bytes:
            return []
        removed = []
        for _, size, path in sorted(copies, key=lambda copy: copy[0]):
            if total <= self.cache_limit_bytes * 0.9:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= size
                removed.append(path)
        log.info(
            "media cache over %d MB: removed %d least recently used copies", self.cache_limit_bytes >> 20, len(removed)
        )
        return removed

    def publish(self, key: str, local_file: Path) -> None:
        content_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
        self.client.upload_file(
            str(local_file), self.bucket, self._object_key(key), ExtraArgs={"ContentType": content_type}
        )
        cached = self._cached(key)
        if local_file.resolve() != cached.resolve():
            cached.parent.mkdir(parents=True, exist_ok=True)
            os.replace(local_file, cached)

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))  # S3 answers 204 for a missing key
        self._cached(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except ClientError as error:
            if _is_not_found(error):
                return False
            raise
        return True

    def objects(self, prefix: str) -> Iterator[StoredObject]:
        root = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=root + prefix):
            for item in page.get("Contents", []):
                yield StoredObject(item["Key"][len(root) :], item["LastModified"].timestamp())

    def move(self, key: str, new_key: str) -> None:
        source = {"Bucket": self.bucket, "Key": self._object_key(key)}
        self.client.copy_object(CopySource=source, Bucket=self.bucket, Key=self._object_key(new_key))
        self.delete(key)

    def presigned_url(self, key: str, *, expires_s: int, download_name: str | None = None) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._object_key(key)}
        if download_name is not None:
            params["ResponseContentDisposition"] = f'inline; filename="{download_name}"'
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        return url

    @property
    def url_origin(self) -> str | None:
        # Signing is local (no request): the host a URL gets depends on the endpoint and the addressing style.
        parts = urlsplit(self.presigned_url("origin", expires_s=60) or "")
        return f"{parts.scheme}://{parts.netloc}"


def _is_not_found(error: ClientError) -> bool:
    """Whether S3 said that the object does not exist (a HEAD answers a bare 404, a GET NoSuchKey)."""
    return str(error.response.get("Error", {}).get("Code", "")) in ("404", "NoSuchKey", "NotFound")


def open_store(settings: Settings) -> MediaStore:
    """The store `media_url` names: none or file:///path → that folder; s3://bucket[/prefix] → the bucket, cached
    in `settings.media_dir`."""
    if settings.media_url is None:
        return FileStore(settings.media_dir)
    location = parse_media_url(settings.media_url)
    if isinstance(location, S3Location):
        return S3Store(
            bucket=location.bucket,
            prefix=location.prefix,
            endpoint_url=settings.s3_endpoint_url,
            cache_dir=settings.media_dir,
            cache_limit_bytes=int(settings.media_cache_gb * 1e9),
        )
    return FileStore(settings.media_dir)  # the folder of file:///path (Settings.media_dir reads it)
