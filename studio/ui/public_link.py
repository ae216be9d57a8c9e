"""Gradio's public share link for a server this process runs (the studio serves Gradio inside FastAPI)."""

from __future__ import annotations

import logging
import os
import secrets
import threading

log = logging.getLogger(__name__)
TUNNEL_TIMEOUT_S = 30.0


def open_public_link(host: str, port: int) -> str | None:
    """A public URL tunnelled to host:port, or None (with a logged reason) when it cannot be made."""
    from gradio import networking

    found: list[str] = []

    def tunnel() -> None:
        try:
            found.append(
                networking.setup_tunnel(
                    local_host="127.0.0.1" if host in ("0.0.0.0", "::") else host,
                    local_port=port,
                    share_token=secrets.token_urlsafe(32),
                    share_server_address=os.environ.get("GRADIO_SHARE_SERVER_ADDRESS"),
                    share_server_tls_certificate=None,
                )
            )
        except Exception as exc:  # no network, blocked binary download, server refusal: all "no link"
            log.warning("could not create a public link (%s); the studio keeps serving locally", exc)

    thread = threading.Thread(target=tunnel, name="studio-share", daemon=True)
    thread.start()
    thread.join(TUNNEL_TIMEOUT_S)
    if not found:
        if thread.is_alive():
            log.warning("no public link after %.0f s; the studio keeps serving locally", TUNNEL_TIMEOUT_S)
        return None
    log.info("public link: %s", found[0])
    return found[0]
