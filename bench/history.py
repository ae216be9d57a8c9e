"""History page at 10,000 videos: the first page and prompt searches, timed server-side.

    .venv/bin/python bench/history.py [--videos 10000] [--runs 200]

Builds a temp SQLite database through the real migrations, inserts synthetic videos (English and Chinese
prompts, Wan's long Chinese negative prompt on most, several models, some favorites), then times each
`library.search` call as the page makes it: a fresh read session, the page of 24 and the total. Prints the
median and 95th percentile in ms, the ratio to the goal (first page ≤ 100 ms, search ≤ 50 ms; ≤ 1.00 meets it)
and SQLite's query plan for the unfiltered and filtered pages. Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import event, insert

from studio.domain.preset_types import WAN_NEGATIVE_PROMPT
from studio.store import library
from studio.store.database import Database
from studio.store.rows import Video

MODELS = ["wan2.2-t2v-a14b", "wan2.2-ti2v-5b", "wan2.1-t2v-1.3b", "tiny-a14b"]
EN_SUBJECTS = ["a red fox", "a lighthouse", "an old fisherman", "a paper boat", "a corgi", "a neon city", "a whale"]
EN_ACTIONS = ["running through snow", "at dusk in a storm", "dancing in the rain", "drifting on a lake", "flying"]
EN_STYLES = ["cinematic lighting", "watercolor", "35mm film grain", "slow motion", "aerial shot", "cyberpunk"]
ZH_SUBJECTS = ["一只狐狸", "一座灯塔", "一位老渔夫", "一只熊猫", "一条鲸鱼", "一只小猫", "一条龙"]
ZH_PLACES = ["在雪地里", "在森林中", "在海边", "在城市街头", "在沙漠里", "在月球上"]
ZH_ACTIONS = ["奔跑", "跳舞", "睡觉", "飞翔", "游泳", "散步"]
ZH_STYLES = ["电影感", "水彩画风格", "赛博朋克", "写实摄影", "慢动作"]

# (label, search arguments, goal in ms)
CASES: list[tuple[str, dict[str, Any], float]] = [
    ("first page (no filter)", {}, 100.0),
    ("first page, model filter", {"model": "wan2.2-ti2v-5b"}, 100.0),
    ("first page, favorites", {"favorite": True}, 100.0),
    ("search English word 'lighthouse'", {"query": "lighthouse"}, 50.0),
    ("search English two words 'FOX snow'", {"query": "FOX snow"}, 50.0),
    ("search Chinese 3 chars '雪地里'", {"query": "雪地里"}, 50.0),
    ("search Chinese 2 chars '狐狸' (LIKE)", {"query": "狐狸"}, 50.0),
    ("search 2 chars in every negative prompt '静态' (LIKE)", {"query": "静态"}, 50.0),
    ("search 3 chars in every negative prompt '低质量'", {"query": "低质量"}, 50.0),
    ("search no match 'zebra'", {"query": "zebra"}, 50.0),
    ("search no match 2 chars 'zq' (LIKE)", {"query": "zq"}, 50.0),
    ("search 'lighthouse' + model + favorites", {"query": "lighthouse", "model": "tiny-a14b", "favorite": True}, 50.0),
]


def synthetic_rows(count: int, rng: random.Random) -> list[dict[str, Any]]:
    rows = []
    for index in range(count):
        if rng.random() < 0.5:
            prompt = f"{rng.choice(EN_SUBJECTS)} {rng.choice(EN_ACTIONS)}, {rng.choice(EN_STYLES)}"
        else:
            prompt = (
                f"{rng.choice(ZH_SUBJECTS)}{rng.choice(ZH_PLACES)}{rng.choice(ZH_ACTIONS)}，{rng.choice(ZH_STYLES)}"
            )
        negative = WAN_NEGATIVE_PROMPT if rng.random() < 0.9 else "blurry, low quality, watermark"
        model = rng.choice(MODELS)
        seed = rng.randrange(2**32)
        recipe = {"prompt": prompt, "negative_prompt": negative, "model": model, "seed": seed, "steps": 40}
        rows.append(
            {
                "path": f"videos/{index + 1}.mp4",
                "poster_path": f"posters/{index + 1}.jpg",
                "prompt": prompt,
                "negative_prompt": negative,
                "seed": seed,
                "model": model,
                "width": 1280,
                "height": 704,
                "num_frames": 121,
                "fps": 24,
                "duration_s": 121 / 24,
                "steps": 40,
                "guidance": 5.0,
                "guidance_2": None,
                "flow_shift": 5.0,
                "recipe": recipe,
                "favorite": rng.random() < 0.05,
            }
        )
    return rows


def median_and_p95_ms(call: Callable[[], object], runs: int) -> tuple[float, float]:
    call()  # warm the page cache and the statement cache
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def query_plans(db: Database, **arguments: Any) -> list[str]:
    """SQLite's plans for the statements `library.search` runs with these arguments."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        with db.read() as session:
            library.search(session=session, limit=24, **arguments)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.engine.connect() as connection:
        for statement, parameters in statements:
            if statement.lstrip().upper().startswith("SELECT"):
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
                plans.append(" / ".join(row[-1] for row in rows))
    return plans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="studio-history-bench-") as work:
        run(Path(work), videos=args.videos, runs=args.runs)


def run(work: Path, *, videos: int, runs: int) -> None:
    # 1. A database as the studio makes it, with N videos.
    db = Database(f"sqlite:///{work / 'studio.db'}")
    db.upgrade()
    started = time.perf_counter()
    with db.write() as session:
        session.execute(insert(Video), synthetic_rows(videos, random.Random(1234)))
    print(f"{videos} videos inserted in {time.perf_counter() - started:.1f} s (the triggers fill the search index)")

    # 2. Query plans: the pages must walk an index in id order, never sort.
    for label, arguments in [("no filter", {}), ("model", {"model": "tiny-a14b"}), ("favorite", {"favorite": True})]:
        for plan in query_plans(db, **arguments):
            print(f"plan, {label}: {plan}")

    # 3. Timings.
    print(f"\n{'case':<56} {'matches':>7} {'median ms':>10} {'p95 ms':>8} {'goal ms':>8} {'ratio':>6}")
    for label, arguments, goal_ms in CASES:

        def call(arguments: dict[str, Any] = arguments) -> library.VideoPage:
            with db.read() as session:
                return library.search(session=session, limit=24, **arguments)

        total = call().total
        median, p95 = median_and_p95_ms(call, runs)
        print(f"{label:<56} {total:>7} {median:>10.2f} {p95:>8.2f} {goal_ms:>8.0f} {median / goal_ms:>6.2f}")
    db.dispose()  # the last connection checkpoints the WAL into the file
    print(f"\ndatabase file: {(work / 'studio.db').stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
