"""Share links for the selected History video: create (optionally expiring), list, revoke.

A link opens a read-only page at /v/<token> that anyone can watch without logging in.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from studio.domain.errors import Refused
from studio.services.studio import Studio
from studio.store.share_links import FlaggedNeedsConfirmation, ShareStatus
from studio.ui.errors import note

SHARE_EXPIRY: dict[str, int | None] = {
    "Never": None,
    "1 hour": 3600,
    "1 day": 86_400,
    "7 days": 7 * 86_400,
    "30 days": 30 * 86_400,
}
FLAGGED_SHARE_NOTE = (
    "The content check flagged this video. To share it anyway, tick **Share it anyway** and press "
    "**Create share link** again: its page blurs it until the viewer chooses to see it."
)


def public_base(public_url: str | None, request: gr.Request) -> str:
    """The studio's address for links: `public_url` when set, else scheme://host of this request.

    A proxy's X-Forwarded-Proto/-Host reach this only from `trusted_proxies` (studio.api.guards removes the rest).
    """
    if public_url:
        return public_url
    headers = request.headers
    scheme = headers.get("x-forwarded-proto", "http")
    host = headers.get("x-forwarded-host") or headers.get("host", "127.0.0.1:7860")
    return f"{scheme}://{host}"


class SharePanel:
    def __init__(self, studio: Studio) -> None:
        self.studio = studio

    # -- handlers --------------------------------------------------------------------------------

    def share_list(self, video_id: int | None) -> tuple[str, dict[str, Any]]:
        """The video's share links as a small table, and the revocable tokens for the picker."""
        if video_id is None:
            return "", gr.update(choices=[], value=None)
        links = self.studio.shares.of_video(video_id)
        rows = [
            f"| `/v/{link.token}` | {self.studio.shares.status(link).value} | "
            f"{f'{link.expires_at:%Y-%m-%d %H:%M} UTC' if link.expires_at else 'never'} |"
            for link in links
        ]
        table = "| link | status | expires |\n|---|---|---|\n" + "\n".join(rows) if rows else "No share links yet."
        active = [link.token for link in links if self.studio.shares.status(link) is ShareStatus.ACTIVE]
        return table, gr.update(choices=active, value=None)

    def create_share(
        self, video_id: int | None, expires: str, confirm_flagged: bool, request: gr.Request
    ) -> tuple[str, str, dict[str, Any]]:
        if video_id is None:
            return "", "Select a video first.", gr.update()
        try:
            token = self.studio.shares.create(
                video_id, expires_in_s=SHARE_EXPIRY[expires], confirm_flagged=bool(confirm_flagged)
            ).token
        except FlaggedNeedsConfirmation:
            table, picker = self.share_list(video_id)
            return "", f"⚠️ {FLAGGED_SHARE_NOTE}\n\n{table}", picker
        url = f"{public_base(self.studio.settings.public_url, request)}/v/{token}"
        table, picker = self.share_list(video_id)
        return url, table, picker

    def revoke_share(self, video_id: int | None, token: str | None) -> tuple[str, dict[str, Any]]:
        if video_id is None or not token:
            return "Choose a link to revoke.", gr.update()
        try:
            self.studio.shares.revoke(token)
        except Refused as exc:
            return note(exc), gr.update()
        return self.share_list(video_id)

    # -- layout ----------------------------------------------------------------------------------

    def build(self) -> None:
        with gr.Accordion("Share link", open=False):
            with gr.Row():
                self.expiry_pick = gr.Dropdown(label="Expires", choices=list(SHARE_EXPIRY), value="Never")
                self.confirm_flagged_box = gr.Checkbox(label="Share it anyway", value=False)
                self.share_btn = gr.Button("Create share link", size="sm")
            self.share_url = gr.Textbox(label="Link (anyone with it can watch, no login)", buttons=["copy"])
            self.share_table = gr.Markdown("", elem_id="share-links")
            with gr.Row():
                self.revoke_pick = gr.Dropdown(label="Revoke link", choices=[])
                self.revoke_btn = gr.Button("Revoke", size="sm", variant="stop")

    # -- wiring ----------------------------------------------------------------------------------

    def wire(self, selected_state: gr.State) -> None:
        private: dict[str, Any] = {"api_visibility": "private"}
        selected_state.change(
            self.share_list, inputs=selected_state, outputs=[self.share_table, self.revoke_pick], **private
        )
        self.share_btn.click(
            self.create_share,
            inputs=[selected_state, self.expiry_pick, self.confirm_flagged_box],
            outputs=[self.share_url, self.share_table, self.revoke_pick],
            **private,
        )
        self.revoke_btn.click(
            self.revoke_share,
            inputs=[selected_state, self.revoke_pick],
            outputs=[self.share_table, self.revoke_pick],
            **private,
        )
