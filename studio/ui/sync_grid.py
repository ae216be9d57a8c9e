"""A grid of videos with one play/pause/seek control that drives every tile (seed comparison)."""

from __future__ import annotations

import html
from dataclasses import dataclass

from studio.domain.comparisons import grid_shape

# Runs once when the gr.HTML component mounts. Listeners are delegated to `element`, so they keep working when
# the grid's HTML is replaced (a new comparison). `timeupdate` does not bubble: listen in the capture phase.
SYNC_JS = """
const videos = () => Array.from(element.querySelectorAll('[data-sync] video'));
const label = (t) => {
  const out = element.querySelector('[data-sync-time]');
  if (out) out.textContent = t.toFixed(2) + ' s';
};
element.addEventListener('input', (event) => {
  if (!event.target.matches('[data-sync-seek]')) return;
  const t = parseFloat(event.target.value);
  videos().forEach((v) => { v.currentTime = t; });
  label(t);
});
element.addEventListener('click', (event) => {
  const button = event.target.closest('[data-sync-play]');
  if (!button) return;
  const all = videos();
  const playing = all.some((v) => !v.paused);
  if (playing) { all.forEach((v) => v.pause()); button.textContent = '▶ Play all'; return; }
  const t = all.length ? all[0].currentTime : 0;
  all.forEach((v) => { v.currentTime = t; v.muted = true; v.play(); });
  button.textContent = '⏸ Pause all';
});
element.addEventListener('timeupdate', (event) => {
  const all = videos();
  if (!all.length || event.target !== all[0]) return;
  const lead = all[0];
  all.slice(1).forEach((v) => {
    if (!v.paused && Math.abs(v.currentTime - lead.currentTime) > 0.08) v.currentTime = lead.currentTime;
  });
  const seek = element.querySelector('[data-sync-seek]');
  if (seek) seek.value = lead.currentTime;
  label(lead.currentTime);
}, true);
"""

SYNC_CSS = """
.sync-controls { display: flex; gap: 12px; align-items: center; margin: 6px 0 10px; }
.sync-controls input[type=range] { flex: 1; }
.sync-tiles { display: grid; gap: 8px; }
.sync-tiles figure { margin: 0; }
.sync-tiles video { width: 100%; border-radius: 6px; background: #111; }
.sync-tiles figcaption { font-size: 0.9em; opacity: 0.8; text-align: center; }
"""


@dataclass(frozen=True)
class Tile:
    url: str
    caption: str


def render(tiles: list[Tile], duration_s: float, *, note: str = "") -> str:
    """The grid's HTML: a shared control bar, then one labelled <video> per tile."""
    if not tiles:
        return f"<p class='sync-empty'>{html.escape(note or 'Nothing to compare yet.')}</p>"
    _, columns = grid_shape(len(tiles))  # as the exported MP4 lays them out
    figures = "".join(
        f"<figure><video src='{html.escape(t.url)}' muted playsinline loop preload='auto'></video>"
        f"<figcaption>{html.escape(t.caption)}</figcaption></figure>"
        for t in tiles
    )
    return (
        "<div data-sync class='sync-grid'>"
        "<div class='sync-controls'><button type='button' data-sync-play>▶ Play all</button>"
        f"<input type='range' data-sync-seek min='0' max='{duration_s:.3f}' step='0.01' value='0'>"
        "<span data-sync-time>0.00 s</span></div>"
        f"<div class='sync-tiles' style='grid-template-columns: repeat({columns}, 1fr)'>{figures}</div>"
        f"{f'<p>{html.escape(note)}</p>' if note else ''}</div>"
    )
