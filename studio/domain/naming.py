"""What a person reads for a video outside its detail panel: file names for downloads, titles, tile captions.

Pure functions of a video's id, seed, prompt and (for a comparison) the seeds it tiles, so the API, the UI and a
comparison export all call a video by the same name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

MAX_FILE_NAME = 40  # characters, ".mp4" included: short enough for any file system and a phone's download list
PROMPT_WORDS = 6  # the slug takes at most this many words of the prompt (then it is cut to MAX_FILE_NAME)


def plural(count: int, word: str, words: str | None = None) -> str:
    """ "1 video", "2 videos" ("0 videos"); `words` for an irregular plural."""
    return f"{count} {word if count == 1 else words or word + 's'}"


def slug(text: str, *, words: int = PROMPT_WORDS) -> str:
    """The first `words` words of `text` in lowercase ASCII joined by "-" ("A red fox!" → "a-red-fox"); accents are
    dropped ("café" → "cafe") and words with no ASCII letter or digit (Chinese) vanish, so the slug may be empty."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return "-".join(re.findall(r"[a-z0-9]+", ascii_text)[:words])


def download_name(video_id: int, seed: int, prompt: str) -> str:
    """The file name a download gets: "wan-0042-seed1234-red-fox.mp4" (ASCII, at most MAX_FILE_NAME characters).

    The id (zero-padded to 4) and seed always fit; the prompt's slug is cut at a word boundary to keep the limit.
    """
    head = f"wan-{video_id:04d}-seed{seed}"
    room = MAX_FILE_NAME - len(head) - len(".mp4") - 1  # 1 for the "-" before the slug
    words = slug(prompt).split("-") if room > 0 else []
    kept: list[str] = []
    for word in (w for w in words if w):
        if len("-".join([*kept, word])) > room:
            break
        kept.append(word)
    return f"{head}-{'-'.join(kept)}.mp4" if kept else f"{head}.mp4"


def comparison_seeds(recipe: Mapping[str, Any] | None) -> list[int] | None:
    """The seeds a comparison export tiles, in grid order (None: the video is not a comparison)."""
    info = (recipe or {}).get("comparison")
    seeds = info.get("seeds") if isinstance(info, Mapping) else None
    if not isinstance(seeds, Sequence) or isinstance(seeds, str):
        return None
    return [int(seed) for seed in seeds if isinstance(seed, int)]


def seed_title(seed: int, recipe: Mapping[str, Any] | None) -> str:
    """ "seed 7" for a generated or trimmed video; "Comparison of seeds 1, 2, 3" for a comparison export, which is
    not one seed's video even though its row carries its first clip's seed."""
    seeds = comparison_seeds(recipe)
    if seeds:
        return "Comparison of seeds " + ", ".join(str(s) for s in seeds)
    return f"seed {seed}"


def tile_caption(*, video_id: int, seed: int, model: str, prompt: str, recipe: Mapping[str, Any] | None) -> str:
    """A gallery tile's two lines: "#12 · <start of the prompt>" then "seed 7 · <model>" (CSS cuts each line with an
    ellipsis; the whole prompt is in the tile's tooltip)."""
    first_line = " ".join(prompt.split()) or "(no prompt)"
    return f"#{video_id} · {first_line}\n{seed_title(seed, recipe)} · {model}"
