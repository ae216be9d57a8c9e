"""The `/v/<token>` page: self-contained HTML (inline CSS and one inline script, allowed by hash in its CSP).

A video flagged by the content check is blurred, poster included, behind a "Show anyway" button, and its link
preview carries neither poster, video nor prompt.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from typing import Any

from studio.store.rows import Video

# -- the page ------------------------------------------------------------------------------------

_STYLE = """
:root { color-scheme: dark; }
body { margin: 0; background: #111318; color: #e6e8ee; font: 16px/1.5 system-ui, -apple-system, sans-serif; }
main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
video { display: block; max-width: 100%; max-height: 78vh; margin: 0 auto; background: #000; border-radius: 8px; }
h1 { font-size: 1.1rem; font-weight: 600; margin: 20px 0 8px; white-space: pre-wrap; overflow-wrap: anywhere; }
.negative { color: #a9afbd; white-space: pre-wrap; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; margin: 16px 0; }
dt { color: #a9afbd; }
dd { margin: 0; overflow-wrap: anywhere; }
button { font: inherit; padding: 8px 16px; border: 1px solid #3b4252; border-radius: 6px; background: #1d2230;
  color: inherit; cursor: pointer; }
button:hover { background: #262d3e; }
footer { margin-top: 32px; color: #7d8496; font-size: 0.85rem; }
.offscreen { position: fixed; left: -9999px; top: 0; }
.held { position: relative; width: fit-content; min-width: min(100%, 360px); max-width: 100%; margin: 0 auto;
  overflow: hidden; border-radius: 8px; }
.held video { width: 100%; min-height: 200px; border-radius: 0; }
video.blurred { filter: blur(40px); }
.content-notice { position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center;
  justify-content: center; gap: 12px; padding: 16px; text-align: center; background: rgba(17, 19, 24, 0.55); }
.content-notice p { margin: 0; max-width: 32em; }
"""

# Copies the recipe from the inert JSON block (no value is ever spliced into script text), and unblurs a flagged video
# when the viewer asks to see it.
_SCRIPT = """
(function () {
  var reveal = document.getElementById("reveal");
  if (reveal) {
    reveal.addEventListener("click", function () {
      var player = document.getElementById("player");
      player.classList.remove("blurred");
      player.controls = true;
      document.getElementById("content-notice").remove();
      player.focus();
    });
  }
  var button = document.getElementById("copy-recipe");
  function fallback(text) {
    var area = document.createElement("textarea");
    area.className = "offscreen";
    area.value = text;
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    area.remove();
    return ok;
  }
  function done(ok) {
    button.textContent = ok ? "Copied" : "Copy failed";
    setTimeout(function () { button.textContent = "Copy recipe"; }, 2000);
  }
  button.addEventListener("click", function () {
    var recipe = JSON.parse(document.getElementById("recipe").textContent);
    var text = JSON.stringify(recipe, null, 2);
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, function () { done(fallback(text)); });
    } else {
      done(fallback(text));
    }
  });
})();
"""


def _csp_hash(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode()).digest()).decode() + "'"


def content_security_policy(media_origin: str | None = None) -> str:
    """The page's policy; `media_origin` is a remote media store's origin, where its media routes redirect."""
    media = "'self'" if media_origin is None else f"'self' {media_origin}"
    return (
        f"default-src 'none'; media-src {media}; img-src {media}; "
        f"style-src {_csp_hash(_STYLE)}; script-src {_csp_hash(_SCRIPT)}; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is the secret: never hand it to another site
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}
# Short and private: a revocation reaches viewers within a minute, and shared caches never keep a copy.
PAGE_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "private, max-age=60"}


def page_headers(*, media_origin: str | None) -> dict[str, str]:
    """PAGE_HEADERS, with the media store's origin allowed for the player and the poster when it is remote."""
    if media_origin is None:
        return PAGE_HEADERS
    return {**PAGE_HEADERS, "Content-Security-Policy": content_security_policy(media_origin)}


NOT_FOUND_HEADERS = {**SECURITY_HEADERS, "Cache-Control": "no-store"}

NOT_FOUND_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>Link not valid · Wan Studio</title>
<style>{_STYLE}</style>
</head>
<body><main><h1>This link is not valid (it may have been revoked or expired).</h1></main></body>
</html>
"""

TITLE_CHARS = 70
# What link previews of a flagged video say, in place of its prompt and poster.
FLAGGED_TITLE = "Wan Studio · shared video"
FLAGGED_DESCRIPTION = (
    "A video made with Wan Studio. An automatic content check flagged it as possibly sensitive: "
    "open the link to choose whether to watch it."
)
FLAGGED_NOTICE = "An automatic content check flagged this video as possibly sensitive."


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def recipe_json(recipe: dict[str, Any]) -> str:
    """The recipe as JSON that is inert inside <script type="application/json">: no `<`, `>` or `&` survives."""
    text = json.dumps(recipe, ensure_ascii=True, sort_keys=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _preview_meta(video: Video, *, page_url: str, title: str) -> str:
    """OpenGraph and Twitter tags; a flagged video's tags carry neither its media nor its prompt."""
    if video.flagged:
        meta: list[tuple[str, object]] = [
            ("og:type", "website"),
            ("og:site_name", "Wan Studio"),
            ("og:title", title),
            ("og:description", FLAGGED_DESCRIPTION),
            ("og:url", page_url),
        ]
        names: list[tuple[str, object]] = [
            ("twitter:card", "summary"),
            ("twitter:title", title),
            ("twitter:description", FLAGGED_DESCRIPTION),
        ]
        return _meta_tags(meta, names)
    meta = [
        ("og:type", "video.other"),
        ("og:site_name", "Wan Studio"),
        ("og:title", title),
        ("og:description", video.prompt),
        ("og:url", page_url),
        ("og:video", f"{page_url}/video.mp4"),
        ("og:video:type", "video/mp4"),
        ("og:video:width", video.width),
        ("og:video:height", video.height),
    ]
    if page_url.startswith("https://"):
        meta.append(("og:video:secure_url", f"{page_url}/video.mp4"))
    if video.poster_path:
        meta += [
            ("og:image", f"{page_url}/poster.jpg"),
            ("og:image:width", video.width),
            ("og:image:height", video.height),
        ]
    names = [
        ("twitter:card", "summary_large_image" if video.poster_path else "summary"),
        ("twitter:title", title),
        ("twitter:description", video.prompt),
    ]
    if video.poster_path:
        names.append(("twitter:image", f"{page_url}/poster.jpg"))
    return _meta_tags(meta, names)


def _meta_tags(meta: list[tuple[str, object]], names: list[tuple[str, object]]) -> str:
    return "\n".join(
        [f'<meta property="{_e(key)}" content="{_e(value)}">' for key, value in meta]
        + [f'<meta name="{_e(key)}" content="{_e(value)}">' for key, value in names]
    )


def _player(video: Video, *, video_src: str, poster_src: str) -> str:
    """The <video>; a flagged one is blurred (poster too), without controls, until "Show anyway" is pressed."""
    poster_attr = f' poster="{_e(poster_src)}"' if video.poster_path else ""
    if not video.flagged:
        return f'<video controls playsinline preload="metadata" src="{_e(video_src)}"{poster_attr}></video>'
    return f"""<div class="held">
<video id="player" class="blurred" playsinline preload="metadata" src="{_e(video_src)}"{poster_attr}></video>
<div class="content-notice" id="content-notice">
<p>{_e(FLAGGED_NOTICE)}</p>
<button type="button" id="reveal">Show anyway</button>
</div>
</div>"""


def render_page(video: Video, *, token: str, base_url: str, root_path: str = "") -> str:
    """The permalink page of a video; `base_url` (ending in "/") makes the absolute URLs link previews need."""
    page_url = f"{base_url}v/{token}"
    video_src, poster_src = f"{root_path}/v/{token}/video.mp4", f"{root_path}/v/{token}/poster.jpg"
    title = FLAGGED_TITLE if video.flagged else "Wan Studio · " + _shorten(video.prompt, TITLE_CHARS)
    head_meta = _preview_meta(video, page_url=page_url, title=title)
    player = _player(video, video_src=video_src, poster_src=poster_src)
    details = [
        ("Seed", video.seed),
        ("Model", video.model),
        ("Size", f"{video.width}×{video.height}"),
        ("Frames", f"{video.num_frames} at {video.fps} fps"),
        ("Duration", f"{video.duration_s:.1f} s"),
        ("Steps", video.steps),
        ("Guidance", video.guidance if video.guidance_2 is None else f"{video.guidance} / {video.guidance_2}"),
        ("Flow shift", video.flow_shift),
    ]
    rows = "\n".join(f"<dt>{_e(name)}</dt><dd>{_e(value)}</dd>" for name, value in details)
    negative = (
        f'<p class="negative"><strong>Negative prompt:</strong> {_e(video.negative_prompt)}</p>'
        if video.negative_prompt
        else ""
    )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{_e(title)}</title>
{head_meta}
<style>{_STYLE}</style>
</head>
<body>
<main>
{player}
<h1>{_e(video.prompt)}</h1>
{negative}
<dl>
{rows}
</dl>
<button type="button" id="copy-recipe">Copy recipe</button>
<footer>Made with Wan Studio.</footer>
</main>
<script type="application/json" id="recipe">{recipe_json(video.recipe)}</script>
<script>{_SCRIPT}</script>
</body>
</html>
"""
