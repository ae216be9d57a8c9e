"""A grid of videos with one play/pause/seek control that drives every tile (seed and X/Y comparisons).

Playback is synced on time: the longest clip leads, a shorter one holds its last frame until the lead ends, then all
start again together. Tiles of other sizes are letterboxed in equal cells; a cell without a video shows its state.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from studio.domain.comparisons import grid_shape

# Runs once when the gr.HTML component mounts. Listeners are delegated to `element`, so they keep working when
# the grid's HTML is replaced (a new comparison). `timeupdate` does not bubble: listen in the capture phase.
SYNC_JS = """
const videos = () => Array.from(element.querySelectorAll('[data-sync] video'));
const lead = () => videos().reduce((a, v) => (!a || (v.duration || 0) > (a.duration || 0) ? v : a), null);
const at = (v, t) => Math.min(t, Math.max(0, (v.duration || t) - 0.001));
const label = (t) => {
  const out = element.querySelector('[data-sync-time]');
  if (out) out.textContent = t.toFixed(2) + ' s';
};
element.addEventListener('input', (event) => {
  if (!event.target.matches('[data-sync-seek]')) return;
  const t = parseFloat(event.target.value);
  videos().forEach((v) => { v.currentTime = at(v, t); });
  label(t);
});
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-sync-play]');
  if (!button) return;
  const all = videos();
  const playing = all.some((v) => !v.paused);
  if (playing) { all.forEach((v) => v.pause()); button.textContent = '▶ Play all'; return; }
  const first = lead();
  const t = first && !first.ended ? first.currentTime : 0;
  all.forEach((v) => { v.currentTime = at(v, t); v.muted = true; v.play(); });
  button.textContent = '⏸ Pause all';
});
element.addEventListener('timeupdate', (event) => {
  const first = lead();
  if (!first || event.target !== first) return;
  videos().forEach((v) => {
    if (v === first || v.paused || v.ended) return;
    if (Math.abs(v.currentTime - at(v, first.currentTime)) > 0.08) v.currentTime = at(v, first.currentTime);
  });
  const seek = element.querySelector('[data-sync-seek]');
  if (seek) seek.value = first.currentTime;
  label(first.currentTime);
}, true);
element.addEventListener('ended', (event) => {
  if (event.target !== lead()) return;
  videos().forEach((v) => { v.currentTime = 0; v.play(); });
}, true);
"""

SYNC_CSS = """
.sync-controls { display: flex; gap: 12px; align-items: center; margin: 6px 0 10px; }
.sync-controls input[type=range] { flex: 1; }
.sync-tiles { display: grid; gap: 8px; }
.sync-tiles figure { margin: 0; }
.sync-tiles video { width: 100%; aspect-ratio: var(--cell-ratio, 16 / 9); object-fit: contain;
  border-radius: 6px; background: #111; }
.sync-tiles .sync-cell-state { display: flex; align-items: center; justify-content: center; text-align: center;
  aspect-ratio: var(--cell-ratio, 16 / 9); border-radius: 6px; background: #222; color: #ddd; padding: 8px; }
.sync-tiles .sync-head { font-weight: 600; align-self: center; text-align: center; font-size: 0.9em; }
.sync-tiles figcaption { font-size: 0.9em; opacity: 0.8; text-align: center; }
"""


@dataclass(frozen=True)
class Tile:
    url: str | None  # None: no video yet (or the cell failed): `state` says why
    caption: str
    state: str = ""


def _figure(tile: Tile) -> str:
    caption = f"<figcaption>{html.escape(tile.caption)}</figcaption>"
    if tile.url is None:
        return f"<figure><div class='sync-cell-state'>{html.escape(tile.state)}</div>{caption}</figure>"
    return f"<figure><video src='{html.escape(tile.url)}' muted playsinline preload='auto'></video>{caption}</figure>"


def render(
    tiles: list[Tile],
    duration_s: float,
    *,
    note: str = "",
    column_labels: list[str] | None = None,
    row_labels: list[str] | None = None,
    ratio: str = "16 / 9",
) -> str:
    """The grid's HTML: a shared control bar, then one labelled <video> per tile, row by row.

    With `column_labels` and `row_labels` (an X/Y comparison) the grid has a header row and a header column.
    """
    if not tiles:
        return f"<p class='sync-empty'>{html.escape(note or 'Nothing to compare yet.')}</p>"
    if column_labels is None or row_labels is None:
        _, columns = grid_shape(len(tiles))  # as the exported MP4 lays them out
        figures = "".join(_figure(t) for t in tiles)
        template = f"repeat({columns}, 1fr)"
    else:
        columns = len(column_labels)
        heads = "<div></div>" + "".join(f"<div class='sync-head'>{html.escape(c)}</div>" for c in column_labels)
        rows = [
            f"<div class='sync-head'>{html.escape(r)}</div>"
            + "".join(_figure(t) for t in tiles[n * columns : (n + 1) * columns])
            for n, r in enumerate(row_labels)
        ]
        figures = heads + "".join(rows)
        template = f"minmax(4em, auto) repeat({columns}, 1fr)"
    return (
        "<div data-sync class='sync-grid'>"
        "<div class='sync-controls'><button type='button' data-sync-play>▶ Play all</button>"
        f"<input type='range' data-sync-seek min='0' max='{duration_s:.3f}' step='0.01' value='0'>"
        "<span data-sync-time>0.00 s</span></div>"
        f"<div class='sync-tiles' style='grid-template-columns: {template}; --cell-ratio: {html.escape(ratio)}'>"
        f"{figures}</div>"
        f"{f'<p>{html.escape(note)}</p>' if note else ''}</div>"
    )
