import dataclasses
import os
import time
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text, update

from studio.domain.presets import PRESETS
from studio.domain.recipe import RecipeRequest, build_recipe
from studio.media.storage import FileStore
from studio.store import housekeeping, library, search
from studio.store.database import MIGRATIONS_DIR, Database
from studio.store.rows import Video

RECIPE = build_recipe(RecipeRequest(prompt="a lighthouse", seed=3), PRESETS["tiny-1.3b"])


def _incoming(media_dir: Path, name: str) -> tuple[Path, Path]:
    folder = library.incoming_dir(media_dir)
    video, poster = folder / f"{name}.mp4", folder / f"{name}.jpg"
    video.write_bytes(b"video " + name.encode())
    poster.write_bytes(b"poster")
    return video, poster


def test_add_moves_files_into_id_named_places_with_the_row(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "job-1")
    with db.write() as session:
        video = library.add(
            session=session,
            store=FileStore(media_dir),
            recipe=RECIPE,
            video_file=video_file,
            poster_file=poster_file,
            timings={"denoise_s": 2.0, "bogus": 1.0},
        )
    assert video.path == f"videos/{video.id}.mp4" and video.poster_path == f"posters/{video.id}.jpg"
    assert (media_dir / video.path).read_bytes() == b"video job-1"
    assert not video_file.exists() and not poster_file.exists()
    with db.read() as session:
        stored = library.get(session=session, video_id=video.id)
        assert (stored.prompt, stored.seed, stored.width, stored.num_frames, stored.denoise_s) == (
            "a lighthouse",
            3,
            RECIPE.width,
            RECIPE.num_frames,
            2.0,
        )
        assert stored.duration_s == pytest.approx(RECIPE.num_frames / RECIPE.fps)


def test_a_rolled_back_transaction_takes_the_moved_files_with_it(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "job-2")
    with pytest.raises(RuntimeError, match="commit failed"), db.write() as session:
        video = library.add(
            session=session, store=FileStore(media_dir), recipe=RECIPE, video_file=video_file, poster_file=poster_file
        )
        assert (media_dir / video.path).exists()
        raise RuntimeError("commit failed")
    assert list((media_dir / library.VIDEOS).iterdir()) == []
    assert list((media_dir / library.POSTERS).iterdir()) == []
    with db.read() as session:
        assert library.recent(session=session) == []


def test_recent_is_newest_first(db: Database, media_dir: Path) -> None:
    for name in ("a", "b", "c"):
        video_file, _ = _incoming(media_dir, name)
        with db.write() as session:
            library.add(
                session=session, store=FileStore(media_dir), recipe=RECIPE, video_file=video_file, poster_file=None
            )
    with db.read() as session:
        ids = [v.id for v in library.recent(session=session, limit=2)]
    assert ids == [3, 2]


def test_sweep_removes_leftovers_and_orphans_but_keeps_owned_files(db: Database, media_dir: Path) -> None:
    video_file, poster_file = _incoming(media_dir, "kept")
    with db.write() as session:
        kept = library.add(
            session=session, store=FileStore(media_dir), recipe=RECIPE, video_file=video_file, poster_file=poster_file
        )
    orphan = media_dir / library.VIDEOS / "999.mp4"
    orphan.write_bytes(b"no row")
    leftover, _ = _incoming(media_dir, "job-7")
    with db.write() as session:
        removed = housekeeping.sweep(session=session, store=FileStore(media_dir))
    assert leftover in removed and not leftover.exists()
    # A file without a row is never deleted at once: its row may be in a write-ahead log this process cannot see
    assert orphan not in removed and not orphan.exists()
    assert (media_dir / library.ORPHANS / library.VIDEOS / "999.mp4").read_bytes() == b"no row"
    assert (media_dir / kept.path).exists() and (media_dir / str(kept.poster_path)).exists()
    with db.read() as session:
        assert session.get(Video, kept.id) is not None


def test_a_shared_folder_s_sweep_leaves_files_another_process_may_be_writing(db: Database, media_dir: Path) -> None:
    # The fleet on file:// media: a worker elsewhere is encoding (incoming/) or has just moved its MP4 into
    # videos/ and not yet committed its row. A server starting now must not touch either.
    encoding, _ = _incoming(media_dir, "job-8")
    publishing = media_dir / library.VIDEOS / "1000.mp4"
    publishing.parent.mkdir(parents=True, exist_ok=True)
    publishing.write_bytes(b"row not yet committed")
    old = media_dir / library.VIDEOS / "998.mp4"
    old.write_bytes(b"an old orphan")
    hours_ago = time.time() - 2 * housekeeping.PUBLISH_GRACE_S
    os.utime(old, (hours_ago, hours_ago))
    with db.write() as session:
        housekeeping.sweep(session=session, store=FileStore(media_dir), shared=True)
    assert encoding.exists() and publishing.exists()
    assert not old.exists() and (media_dir / library.ORPHANS / library.VIDEOS / "998.mp4").exists()


def test_file_path_refuses_to_leave_the_media_folder(media_dir: Path) -> None:
    assert library.file_path(media_dir, "videos/1.mp4") == (media_dir / "videos/1.mp4").resolve()
    with pytest.raises(ValueError, match="outside the media folder"):
        library.file_path(media_dir, "../studio.db")


def test_get_unknown_video(db: Database) -> None:
    with pytest.raises(library.VideoNotFound, match="video_id: no video 5"), db.read() as session:
        library.get(session=session, video_id=5)


# -- search, filters, paging -------------------------------------------------------------------------------------


def _add(
    db: Database,
    media_dir: Path,
    prompt: str,
    *,
    negative_prompt: str = "",
    model: str = "tiny-1.3b",
    parent_id: int | None = None,
    group_id: str | None = None,
) -> int:
    """A real video (files moved in by `library.add`) with the given texts; returns its id."""
    recipe = dataclasses.replace(RECIPE, prompt=prompt, negative_prompt=negative_prompt, model=model)
    video_file, poster_file = _incoming(media_dir, f"made-{prompt.encode().hex()[:40]}")
    with db.write() as session:
        video = library.add(
            session=session,
            store=FileStore(media_dir),
            recipe=recipe,
            video_file=video_file,
            poster_file=poster_file,
            parent_id=parent_id,
        )
        video.group_id = group_id
        return video.id


def _search_ids(db: Database, query: str = "", **filters: Any) -> list[int]:
    with db.read() as session:
        return [video.id for video in library.search(session=session, query=query, limit=200, **filters).items]


def test_search_english_ignores_case_and_needs_every_word(db: Database, media_dir: Path) -> None:
    fox = _add(db, media_dir, "A Red Fox running through snow")
    lighthouse = _add(db, media_dir, "a lighthouse in a storm, cinematic")
    _add(db, media_dir, "an old fisherman at dusk")

    assert _search_ids(db, "fox") == [fox]
    assert _search_ids(db, "RED FOX") == [fox]
    assert _search_ids(db, "  snow   fox ") == [fox]  # words in any order, anywhere
    assert _search_ids(db, "fox storm") == []  # every word must match
    assert _search_ids(db, "LightHouse Storm") == [lighthouse]
    assert _search_ids(db, "Fo") == [fox]  # under 3 characters: LIKE, still case-insensitive
    assert _search_ids(db, "a storm") == [lighthouse]  # a short word and an indexed one together
    assert _search_ids(db, "ligh") == [lighthouse]  # any substring, not just whole words


def test_search_finds_chinese_substrings_of_any_length(db: Database, media_dir: Path) -> None:
    fox = _add(db, media_dir, "一只狐狸在雪地里奔跑")
    cat = _add(db, media_dir, "一只小猫在雪地里睡觉")
    _add(db, media_dir, "a fox in the snow")

    assert _search_ids(db, "狐狸在雪地") == [fox]  # 3+ characters: the trigram index
    assert _search_ids(db, "雪地里") == [cat, fox]
    assert _search_ids(db, "狐狸") == [fox]  # 2 characters: LIKE
    assert _search_ids(db, "猫") == [cat]  # 1 character
    assert _search_ids(db, "一只") == [cat, fox]
    assert _search_ids(db, "狐狸　奔跑") == [fox]  # an ideographic space separates words too
    assert _search_ids(db, "狐狸雪地") == []  # not a substring of either


def test_search_reads_the_negative_prompt_too(db: Database, media_dir: Path) -> None:
    blurry = _add(db, media_dir, "a lighthouse", negative_prompt="blurry, 低质量, watermark")
    _add(db, media_dir, "a lighthouse", negative_prompt="")

    assert _search_ids(db, "watermark") == [blurry]
    assert _search_ids(db, "低质量") == [blurry]
    assert _search_ids(db, "lighthouse blurry") == [blurry]  # words may match in different columns


HOSTILE_QUERIES = [
    '"',
    "'",
    '""',
    'a "quoted',
    '"quoted"',
    "AND",
    "and",
    "fox AND",
    "OR",
    "NOT fox",
    "*",
    "fo*",
    "%",
    "100%",
    "_",
    "snake_case",
    "\\",
    "back\\slash",
    "NEAR(",
    "NEAR(the sea)",
    "NEAR(fox lighthouse, 2)",
    '"fox" OR "sky"',
    "fox' OR 1=1 --",
    "'; DROP TABLE videos; --",
    "prompt:fox",
    "{prompt negative_prompt}:fox",
    "^fox",
    "( ) ( ) -",
    "fox\x00snow",
    "\x00",
    "\u202efox",
    "f\u200box",
    "\ud800fox",
    "\x1b[31mfox",
    "x" * 10_000,
    " ".join(f"w{n}" for n in range(1_000)),
]
HOSTILE_CORPUS = [
    'a "quoted" fox',
    "100% cotton",
    "snake_case name",
    "NEAR(the sea) and the sand",
    "rock AND roll",
    "stars * in the sky",
    "back\\slash",
    "O'Brien's boat; DROP TABLE videos; --",
    "plain fox in the snow",
    "{prompt}:fox ^fox",
]


def _reference(query: str, texts: dict[int, tuple[str, str]]) -> list[int]:
    """What search must answer, by plain Python: every word is a case-insensitive substring of a column."""
    terms = [term.lower() for term in search.search_terms(query)]
    return sorted(
        (
            video_id
            for video_id, columns in texts.items()
            if all(any(term in column.lower() for column in columns) for term in terms)
        ),
        reverse=True,
    )


def test_search_text_is_searched_for_never_interpreted(db: Database, media_dir: Path) -> None:
    texts = {}
    for prompt in HOSTILE_CORPUS:
        texts[_add(db, media_dir, prompt, negative_prompt="no % here")] = (prompt, "no % here")

    for query in HOSTILE_QUERIES:
        assert _search_ids(db, query) == _reference(query, texts), f"query {query[:40]!r}"
    assert _search_ids(db, "%") == sorted(texts, reverse=True)  # every negative prompt holds a literal %
    assert _search_ids(db, "_") == _search_ids(db, "snake_case") != []
    with db.read() as session:  # the table survived the DROP TABLE queries
        assert len(library.recent(session=session, limit=50)) == len(HOSTILE_CORPUS)


def test_search_terms_drop_invisible_characters_and_duplicates() -> None:
    assert search.search_terms("  fox\tsnow\nfox ") == ["fox", "snow"]
    assert search.search_terms("fox\x00snow") == ["fox", "snow"]  # a control character splits words
    assert search.search_terms("f\u200bo\ufeffx\ud800") == ["fox"]  # format characters and surrogates go
    assert search.search_terms("") == search.search_terms(" \x00 ") == []
    assert len(search.search_terms(" ".join(f"w{n}" for n in range(100)))) == search.MAX_SEARCH_TERMS
    assert search.fts_phrase('say "hi" AND') == '"say ""hi"" AND"'
    assert search.like_pattern("50%_\\") == "%50\\%\\_\\\\%"


def test_search_filters_by_model_and_favorite(db: Database, media_dir: Path) -> None:
    small = _add(db, media_dir, "a fox", model="tiny-1.3b")
    big = _add(db, media_dir, "a fox", model="tiny-a14b")
    other = _add(db, media_dir, "a whale", model="tiny-a14b")
    with db.write() as session:
        library.set_favorite(session=session, video_id=big, favorite=True)
        library.set_favorite(session=session, video_id=small, favorite=True)

    assert _search_ids(db, model="tiny-a14b") == [other, big]
    assert _search_ids(db, favorite=True) == [big, small]
    assert _search_ids(db, favorite=False) == [other]
    assert _search_ids(db, "fox", model="tiny-a14b", favorite=True) == [big]
    assert _search_ids(db, "whale", favorite=True) == []
    assert _search_ids(db, model="no-such-model") == []


def test_search_pages_newest_first_with_the_total(db: Database, media_dir: Path) -> None:
    ids = [_add(db, media_dir, f"lighthouse number {n}") for n in range(7)]
    _add(db, media_dir, "a whale")
    newest_first = ids[::-1]

    with db.read() as session:
        pages = [library.search(session=session, query="lighthouse", limit=3, offset=o) for o in (0, 3, 6, 9)]
        everything = library.search(session=session, limit=24)
    assert [[v.id for v in page.items] for page in pages] == [newest_first[:3], newest_first[3:6], newest_first[6:], []]
    assert [page.total for page in pages] == [7, 7, 7, 7]
    assert [page.has_more for page in pages] == [True, True, False, False]
    assert (pages[1].limit, pages[1].offset) == (3, 3)
    assert everything.total == 8 and len(everything.items) == 8 and not everything.has_more
    with db.read() as session:
        assert [v.id for v in library.recent(session=session, limit=3)] == [v.id for v in everything.items[:3]]


def test_search_refuses_a_page_it_cannot_serve(db: Database) -> None:
    with db.read() as session:
        with pytest.raises(ValueError, match="limit: must be between 1 and 200, got 0"):
            library.search(session=session, limit=0)
        with pytest.raises(ValueError, match="offset: must be 0 or more, got -1"):
            library.search(session=session, offset=-1)


def test_search_follows_edits_and_deletions(db: Database, media_dir: Path) -> None:
    video_id = _add(db, media_dir, "a lighthouse in a storm")
    with db.write() as session:
        session.execute(update(Video).where(Video.id == video_id).values(prompt="一座灯塔在海边"))
    assert _search_ids(db, "lighthouse") == []
    assert _search_ids(db, "灯塔在") == [video_id]
    with db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=video_id)
    assert _search_ids(db, "灯塔在") == []


def _statements(db: Database, **arguments: Any) -> list[tuple[str, Any]]:
    """The SELECTs `library.search` sends for these arguments."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as session:
            library.search(session=session, limit=2, **arguments)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    return sent


@pytest.mark.parametrize(
    ("filters", "index"),
    [({}, None), ({"model": "tiny-1.3b"}, "ix_videos_model"), ({"favorite": True}, "ix_videos_favorite")],
)
def test_history_pages_walk_an_index_in_id_order(
    sqlite_db: Database, media_dir: Path, filters: dict[str, Any], index: str | None
) -> None:
    db = sqlite_db
    for n in range(3):
        _add(db, media_dir, f"video {n}")
    with db.write() as session:
        session.execute(update(Video).values(favorite=True))
    statements = _statements(db, **filters)
    assert len(statements) == 2  # the page, then the total
    with db.engine.connect() as conn:
        for statement, parameters in statements:
            plan = " / ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "TEMP B-TREE" not in plan, plan  # never sorts the history
            if index is not None:
                assert index in plan, plan


def test_postgres_search_reads_the_trigram_index_chinese_included(postgres: Any, media_dir: Path) -> None:
    db = Database(postgres.create_database())
    db.upgrade()
    try:
        snow = _add(db, media_dir, "一只狐狸在雪地中奔跑")
        _add(db, media_dir, "a cat asleep")
        assert _search_ids(db, "雪地中") == [snow]
        with db.engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: show what the planner can use
            pattern = search.like_pattern("雪地中")
            explain = text("EXPLAIN SELECT id FROM videos WHERE prompt ILIKE :pattern")
            plan = " / ".join(row[0] for row in conn.execute(explain, {"pattern": pattern}))
        assert "ix_videos_prompt_trgm" in plan, plan
    finally:
        db.dispose()


# -- favorites, children, groups, models -------------------------------------------------------------------------


def test_set_favorite_toggles(db: Database, media_dir: Path) -> None:
    video_id = _add(db, media_dir, "a fox")
    with db.write() as session:
        assert library.set_favorite(session=session, video_id=video_id, favorite=True).favorite is True
    assert _search_ids(db, favorite=True) == [video_id]
    with db.write() as session:
        library.set_favorite(session=session, video_id=video_id, favorite=False)
    assert _search_ids(db, favorite=True) == []
    with pytest.raises(library.VideoNotFound, match="video_id: no video 99"), db.write() as session:
        library.set_favorite(session=session, video_id=99, favorite=True)


def test_children_groups_and_models(db: Database, media_dir: Path) -> None:
    parent = _add(db, media_dir, "a fox", model="tiny-a14b", group_id="batch-1")
    sibling = _add(db, media_dir, "a fox", model="tiny-a14b", group_id="batch-1")
    first = _add(db, media_dir, "a fox, trimmed", parent_id=parent)
    second = _add(db, media_dir, "a fox, trimmed again", parent_id=parent)

    with db.read() as session:
        assert [v.id for v in library.children(session=session, video_id=parent)] == [first, second]
        assert library.children(session=session, video_id=sibling) == []
        assert [v.id for v in library.group(session=session, group_id="batch-1")] == [parent, sibling]
        assert library.group(session=session, group_id="no-such-group") == []
        assert library.models(session=session) == ["tiny-1.3b", "tiny-a14b"]


# -- delete ------------------------------------------------------------------------------------------------------


def _files(media_dir: Path, video_id: int) -> tuple[Path, Path]:
    return media_dir / library.VIDEOS / f"{video_id}.mp4", media_dir / library.POSTERS / f"{video_id}.jpg"


def _trash_files(media_dir: Path) -> list[Path]:
    trash = media_dir / library.TRASH
    return sorted(path for path in trash.rglob("*") if path.is_file()) if trash.is_dir() else []


def test_delete_removes_the_row_and_both_files_and_keeps_the_children(db: Database, media_dir: Path) -> None:
    parent = _add(db, media_dir, "a fox")
    child = _add(db, media_dir, "a fox, trimmed", parent_id=parent)
    video_file, poster_file = _files(media_dir, parent)
    assert video_file.exists() and poster_file.exists()

    with db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=parent)
        assert not video_file.exists() and len(_trash_files(media_dir)) == 2  # until the commit

    assert not video_file.exists() and not poster_file.exists()
    assert _trash_files(media_dir) == []
    with db.read() as session:
        assert session.get(Video, parent) is None
        kept = library.get(session=session, video_id=child)
        assert kept.parent_id is None and (media_dir / kept.path).exists()


def test_a_rolled_back_delete_keeps_the_row_and_the_files(db: Database, media_dir: Path) -> None:
    video_id = _add(db, media_dir, "a fox")
    video_file, poster_file = _files(media_dir, video_id)
    before = video_file.read_bytes()

    with pytest.raises(RuntimeError, match="commit failed"), db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=video_id)
        assert not video_file.exists()
        raise RuntimeError("commit failed")

    assert video_file.read_bytes() == before and poster_file.exists()
    assert _trash_files(media_dir) == []
    with db.read() as session:
        assert library.get(session=session, video_id=video_id).path == f"videos/{video_id}.mp4"
    assert _search_ids(db, "fox") == [video_id]  # the search index rolled back too


def test_a_delete_whose_file_move_fails_changes_nothing(
    db: Database, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video_id = _add(db, media_dir, "a fox")
    video_file, poster_file = _files(media_dir, video_id)
    real_replace = os.replace

    def poster_move_fails(source: Any, target: Any) -> None:
        if Path(target).parent.name == library.POSTERS and library.TRASH in Path(target).parts:
            raise PermissionError("poster is locked")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", poster_move_fails)
    with pytest.raises(PermissionError, match="poster is locked"), db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=video_id)

    assert video_file.exists() and poster_file.exists() and _trash_files(media_dir) == []
    with db.read() as session:
        assert session.get(Video, video_id) is not None


def test_a_delete_whose_file_removal_fails_still_commits_and_sweep_finishes_it(
    db: Database, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video_id = _add(db, media_dir, "a fox")
    real_unlink = Path.unlink

    def trash_is_locked(self: Path, missing_ok: bool = False) -> None:
        if library.TRASH in self.parts:
            raise PermissionError("file in use")
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", trash_is_locked)
    with db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=video_id)
    monkeypatch.undo()

    with db.read() as session:
        assert session.get(Video, video_id) is None
    assert len(_trash_files(media_dir)) == 2
    with db.write() as session:
        removed = housekeeping.sweep(session=session, store=FileStore(media_dir))
    assert len(removed) == 2 and _trash_files(media_dir) == []


def test_a_delete_in_a_savepoint_waits_for_the_outer_transaction(db: Database, media_dir: Path) -> None:
    kept, deleted = _add(db, media_dir, "kept"), _add(db, media_dir, "deleted")

    with pytest.raises(RuntimeError, match="outer rolls back"), db.write() as session:
        with session.begin_nested():
            library.delete(session=session, store=FileStore(media_dir), video_id=kept)
        assert len(_trash_files(media_dir)) == 2  # the savepoint is released, the transaction is not over
        raise RuntimeError("outer rolls back")
    assert all(path.exists() for path in _files(media_dir, kept))

    with db.write() as session, session.begin_nested():
        library.delete(session=session, store=FileStore(media_dir), video_id=deleted)
    assert not any(path.exists() for path in _files(media_dir, deleted))
    assert _trash_files(media_dir) == []
    with db.read() as session:
        assert session.get(Video, kept) is not None and session.get(Video, deleted) is None


def test_delete_tolerates_a_missing_file(db: Database, media_dir: Path) -> None:
    video_id = _add(db, media_dir, "a fox")
    _files(media_dir, video_id)[1].unlink()
    with db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=video_id)
    assert not any(path.exists() for path in _files(media_dir, video_id))


def test_delete_unknown_video(db: Database, media_dir: Path) -> None:
    with pytest.raises(library.VideoNotFound, match="video_id: no video 42"), db.write() as session:
        library.delete(session=session, store=FileStore(media_dir), video_id=42)


def test_sweep_empties_the_trash_but_puts_back_files_whose_row_survived(db: Database, media_dir: Path) -> None:
    survivor, gone = _add(db, media_dir, "survivor"), _add(db, media_dir, "gone")
    # A crash mid-delete: the survivor's files reached the trash but its row deletion never committed; the other
    # deletion committed but its files were never removed.
    trash = media_dir / library.TRASH
    for video_id in (survivor, gone):
        for path in _files(media_dir, video_id):
            (trash / path.parent.name).mkdir(parents=True, exist_ok=True)
            path.rename(trash / path.parent.name / path.name)
    with db.write() as session:
        session.delete(session.get(Video, gone))

    with db.write() as session:
        removed = housekeeping.sweep(session=session, store=FileStore(media_dir))

    assert all(path.exists() for path in _files(media_dir, survivor))
    assert sorted(removed) == sorted(trash / path.parent.name / path.name for path in _files(media_dir, gone))
    assert _trash_files(media_dir) == []


# -- migration 0002 ----------------------------------------------------------------------------------------------


def test_migration_0002_indexes_the_videos_made_before_it(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    columns = (
        "path, prompt, negative_prompt, seed, model, width, height, num_frames, fps, duration_s, steps, guidance, "
        "flow_shift, recipe, created_at, favorite"
    )
    with database.engine.begin() as connection:
        for prompt, negative in [("一只狐狸在雪地里奔跑", "低质量"), ("A lighthouse in a storm", "blurry")]:
            connection.exec_driver_sql(
                f"INSERT INTO videos ({columns}) VALUES (?, ?, ?, 1, 'tiny-1.3b', 480, 272, 17, 16, 1.0, 4, 5.0, 3.0, "
                "'{}', '2026-01-01 00:00:00', 0)",
                ("videos/x.mp4", prompt, negative),
            )

    try:
        database.upgrade()
        assert _search_ids(database, "雪地里") == [1]
        assert _search_ids(database, "LIGHTHOUSE storm") == [2]
        assert _search_ids(database, "blurry") == [2]
        assert _search_ids(database, "低质量") == [1]
    finally:
        database.dispose()
