"""The media stores: one contract, run on the local folder and on a real S3 endpoint (moto on loopback)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from studio.config import Settings
from studio.media.storage import FileStore, MediaStore, S3Store, open_store
from tests.local_services import S3Server

KEY = "videos/1.mp4"
PAYLOAD = bytes(range(256)) * 8  # 2 KiB, every byte value


@pytest.fixture
def s3_env(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> S3Server:
    """The moto endpoint, with its throwaway credentials in the environment where boto3 looks for them."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    return s3_server


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    """Each store in turn: the local folder, and a fresh bucket (under a prefix) with its local cache."""
    if request.param == "file":
        return FileStore(tmp_path / "media")
    server: S3Server = request.getfixturevalue("s3_env")
    return S3Store(
        bucket=server.create_bucket(), prefix="studio/media", endpoint_url=server.endpoint_url, cache_dir=tmp_path / "a"
    )


def another_machine(store: MediaStore, tmp_path: Path) -> MediaStore:
    """The same store as a second machine sees it: the same folder, or the same bucket with an empty cache."""
    if isinstance(store, S3Store):
        endpoint = store.client.meta.endpoint_url
        return S3Store(bucket=store.bucket, prefix=store.prefix, endpoint_url=endpoint, cache_dir=tmp_path / "b")
    return FileStore(store.local_dir)


def new_file(tmp_path: Path, name: str = "made.mp4", data: bytes = PAYLOAD) -> Path:
    """A freshly encoded file outside the store (as the encoder leaves one in incoming/)."""
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


# -- the contract ---------------------------------------------------------------------------------------------------


def test_a_published_file_reads_back_from_a_local_path(store: MediaStore, tmp_path: Path) -> None:
    made = new_file(tmp_path)

    store.publish(KEY, made)

    assert not made.exists()  # moved into the store's local folder, not copied
    path = store.local_path(KEY)
    assert path == store.local_dir / KEY and path.read_bytes() == PAYLOAD
    assert store.exists(KEY)


def test_another_machine_reads_it_through_its_own_cache(store: MediaStore, tmp_path: Path) -> None:
    store.publish(KEY, new_file(tmp_path))
    other = another_machine(store, tmp_path)
    cached = other.local_dir / KEY
    assert cached.exists() is (not store.is_remote)  # a remote store's second machine has no copy yet

    assert other.local_path(KEY).read_bytes() == PAYLOAD  # a cache miss downloads

    assert cached.read_bytes() == PAYLOAD
    assert [p.name for p in cached.parent.iterdir()] == [cached.name]  # no temp file left behind


def test_readers_racing_on_a_cache_miss_all_get_the_whole_file(store: MediaStore, tmp_path: Path) -> None:
    big = PAYLOAD * 512  # 1 MiB: long enough for the downloads to overlap
    store.publish(KEY, new_file(tmp_path, data=big))
    other = another_machine(store, tmp_path)
    read: list[bytes] = []
    threads = [threading.Thread(target=lambda: read.append(other.local_path(KEY).read_bytes())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert read == [big] * 4
    assert [p.name for p in (other.local_dir / "videos").iterdir()] == ["1.mp4"]


def test_a_missing_object_is_file_not_found_unless_missing_is_ok(store: MediaStore) -> None:
    with pytest.raises(FileNotFoundError):
        store.local_path("videos/404.mp4")

    where = store.local_path("videos/404.mp4", missing_ok=True)

    assert where == store.local_dir / "videos/404.mp4" and not where.exists()
    assert not store.exists("videos/404.mp4")


def test_delete_removes_the_object_and_every_local_copy_it_made(store: MediaStore, tmp_path: Path) -> None:
    store.publish(KEY, new_file(tmp_path))
    local = store.local_path(KEY)

    store.delete(KEY)

    assert not store.exists(KEY) and not local.exists()
    with pytest.raises(FileNotFoundError):
        another_machine(store, tmp_path).local_path(KEY)
    store.delete(KEY)  # deleting twice is fine


def test_objects_lists_a_folder_with_write_times_and_move_renames(store: MediaStore, tmp_path: Path) -> None:
    before = time.time() - 5  # S3 keeps whole seconds
    store.publish("videos/1.mp4", new_file(tmp_path, "1.mp4"))
    store.publish("videos/2.mp4", new_file(tmp_path, "2.mp4"))
    store.publish("posters/1.jpg", new_file(tmp_path, "1.jpg"))

    listed = {item.key: item.modified for item in store.objects("videos/")}

    assert sorted(listed) == ["videos/1.mp4", "videos/2.mp4"]
    assert all(before <= modified <= time.time() + 5 for modified in listed.values())

    store.move("videos/2.mp4", "orphans/videos/2.mp4")

    assert [item.key for item in store.objects("videos/")] == ["videos/1.mp4"]
    assert another_machine(store, tmp_path).local_path("orphans/videos/2.mp4").read_bytes() == PAYLOAD


@pytest.mark.parametrize("key", ["../studio.db", "/etc/passwd", "videos/../../x.mp4", "videos//1.mp4", "", "a\\b"])
def test_a_key_that_could_leave_the_store_is_refused(store: MediaStore, tmp_path: Path, key: str) -> None:
    made = new_file(tmp_path)
    for attempt in (
        lambda: store.local_path(key),
        lambda: store.local_path(key, missing_ok=True),
        lambda: store.publish(key, made),
        lambda: store.delete(key),
        lambda: store.exists(key),
        lambda: store.move(KEY, key),
    ):
        with pytest.raises(ValueError, match=r"media key: .* must be a relative path inside the media store"):
            attempt()
    assert made.read_bytes() == PAYLOAD  # nothing moved


def test_a_presigned_url_serves_range_requests_or_there_is_none(store: MediaStore, tmp_path: Path) -> None:
    store.publish(KEY, new_file(tmp_path))

    url = store.presigned_url(KEY, expires_s=60, download_name="wan-studio-1.mp4")

    if not store.is_remote:
        assert url is None and store.url_origin is None  # the server sends the file itself
        return
    assert url is not None and store.url_origin is not None and url.startswith(store.url_origin + "/")
    answer = httpx.get(url, headers={"Range": "bytes=0-99"})  # no credentials: the URL is the credential
    assert answer.status_code == 206 and answer.content == PAYLOAD[:100]
    assert answer.headers["content-type"] == "video/mp4"
    assert answer.headers["content-disposition"] == 'inline; filename="wan-studio-1.mp4"'


# -- choosing the store from the settings ---------------------------------------------------------------------------


def test_open_store_follows_media_url(s3_env: S3Server, tmp_path: Path) -> None:
    settings_dir = tmp_path / "data"
    default = open_store(Settings(data_dir=settings_dir))
    assert isinstance(default, FileStore) and default.local_dir == (settings_dir / "media").resolve()

    folder = open_store(Settings(data_dir=settings_dir, media_url=f"file://{tmp_path / 'shared'}"))
    assert isinstance(folder, FileStore) and folder.local_dir == (tmp_path / "shared").resolve()

    bucket = s3_env.create_bucket()
    settings = Settings(data_dir=settings_dir, media_url=f"s3://{bucket}/studio/", s3_endpoint_url=s3_env.endpoint_url)
    remote = open_store(settings)
    assert isinstance(remote, S3Store) and remote.is_remote
    assert (remote.bucket, remote.prefix, remote.local_dir) == (bucket, "studio", (settings_dir / "media").resolve())


@pytest.mark.parametrize(
    "url", ["s3://", "s3://UPPER/x", "s3://ok-bucket/../x", "file://relative/path", "file:///", "https://x/y", "/srv"]
)
def test_a_bad_media_url_stops_the_studio_with_the_field_named(url: str, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"media_url: must be file:///path or s3://bucket\[/prefix\]"):
        Settings(data_dir=tmp_path / "data", media_url=url)


def test_a_full_cache_lets_the_least_recently_used_copies_go(s3_env: S3Server, tmp_path: Path) -> None:
    bucket = s3_env.create_bucket()
    writer = S3Store(bucket=bucket, prefix="", endpoint_url=s3_env.endpoint_url, cache_dir=tmp_path / "w")
    for n in range(5):
        writer.publish(f"videos/{n}.mp4", new_file(tmp_path, f"{n}.mp4"))  # 2 KiB each
    # A server whose cache may hold 5 KiB: two copies and a half
    reader = S3Store(
        bucket=bucket, prefix="", endpoint_url=s3_env.endpoint_url, cache_dir=tmp_path / "r", cache_limit_bytes=5 * 1024
    )
    reader.local_path("videos/0.mp4")
    reader.local_path("videos/1.mp4")
    past = time.time() - 60
    os.utime(reader.local_dir / "videos/1.mp4", (past, past))  # 1 was used long ago, 0 just now
    reader.local_path("videos/0.mp4")
    reader.local_path("videos/2.mp4")  # over the limit: the least recently used copy goes
    kept = sorted(p.name for p in (reader.local_dir / "videos").iterdir())
    assert kept == ["0.mp4", "2.mp4"]
    assert reader.local_path("videos/1.mp4").read_bytes() == PAYLOAD  # fetched again when wanted
    assert writer.exists("videos/1.mp4")  # the bucket keeps everything
