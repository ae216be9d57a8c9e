"""The client's HTTP connection: credentials, one request at a time, and the error a refusal becomes."""

from __future__ import annotations

from typing import Any, Self

import httpx


class StudioError(RuntimeError):
    """The API refused a request; `detail` is its explanation (for 422: one message per bad field)."""

    def __init__(self, status_code: int, detail: Any, retry_after_s: float | None = None) -> None:
        if isinstance(detail, list):
            text = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in detail)
        else:
            text = str(detail)
        super().__init__(f"HTTP {status_code}: {text}")
        self.status_code = status_code
        self.detail = detail
        self.retry_after_s = retry_after_s


class Connection:
    """An httpx client for one studio; the feature groups of StudioClient build on it. Authenticate with `token`
    (Bearer) or `auth=(user, password)`."""

    def __init__(
        self,
        base_url: str = "http://127.0.0.1:7860",
        *,
        token: str | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, auth=auth, timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            retry_after = response.headers.get("Retry-After")
            raise StudioError(response.status_code, detail, float(retry_after) if retry_after else None)
        return response.json() if response.content else None
