"""Where the videos are kept, from the `media_url` setting: a local folder or an S3-compatible bucket.

Pure parsing, no I/O: the settings check the value at start (a bad one stops the studio with the field named), and
studio.media.storage opens the store it names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

ALLOWED = "must be file:///path or s3://bucket[/prefix]"
# S3's bucket naming rules (AWS, MinIO and R2 share them): 3–63 lower-case letters, digits, dots and hyphens.
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # the folder inside the bucket: "" or "a/b", no slash at either end


def parse_media_url(url: str) -> PurePosixPath | S3Location:
    """`file:///abs/folder` → that folder; `s3://bucket[/prefix]` → the bucket and the folder inside it.

    Raises:
        ValueError: "media_url: must be file:///path or s3://bucket[/prefix]", with what was wrong.
    """
    scheme, sep, rest = url.partition("://")
    if scheme == "file" and sep:
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"media_url: {ALLOWED}; {url!r} does not name an absolute folder (file:///srv/media)")
        return PurePosixPath(rest)
    if scheme == "s3" and sep:
        bucket, _, prefix = rest.partition("/")
        if not _BUCKET.fullmatch(bucket):
            raise ValueError(f"media_url: {ALLOWED}; {bucket!r} is not a bucket name (3–63 of a–z 0–9 . -)")
        prefix = prefix.strip("/")
        if prefix and any(part in ("", ".", "..") or "\\" in part for part in prefix.split("/")):
            raise ValueError(f"media_url: {ALLOWED}; the prefix {prefix!r} must be a plain folder path")
        return S3Location(bucket=bucket, prefix=prefix)
    raise ValueError(f"media_url: {ALLOWED} (got {url!r})")
