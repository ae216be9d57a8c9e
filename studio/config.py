"""Settings: one typed object from defaults, `STUDIO_*` environment variables, `.env` and `app.py` flags."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from studio import hosting


class Settings(BaseSettings):
    """Everything the studio can be told at start. Each field is documented in README "Settings"."""

    model_config = SettingsConfigDict(
        env_prefix="STUDIO_",
        env_file=".env",
        extra="ignore",
        cli_kebab_case=True,
        cli_implicit_flags=True,
        cli_prog_name="app.py",
    )

    model: str = Field("auto", description="Preset key, hub id or local diffusers folder; auto picks by GPU memory")
    host: str = Field(default_factory=hosting.default_host, description="Address to listen on (0.0.0.0: the network)")
    port: int = Field(default_factory=hosting.default_port, ge=1, le=65535, description="Port to listen on")
    data_dir: Path = Field(
        default_factory=hosting.default_data_dir, description="Database, media and tiny models (/data on Spaces)"
    )
    database_url: str | None = Field(None, description="SQLAlchemy URL; default sqlite:///<data-dir>/studio.db")
    device: str = Field("auto", description="Where the pipeline runs: auto, cpu, cuda or cuda:N (a worker's GPU)")
    share: bool = Field(False, description="Also open a Gradio public link (needs --auth)")
    share_without_auth: bool = Field(False, description="Allow --share without --auth: anyone with the link can use it")
    auth: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="user:password for the UI; repeat the flag for several users"
    )

    api_tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Bearer tokens for the REST API and media routes; repeat the flag"
    )
    max_queued: int = Field(100, ge=1, le=100_000, description="Queue cap: submissions beyond it get HTTP 429")
    max_queued_per_user: int = Field(20, ge=1, le=100_000, description="Jobs one user (or address) may have waiting")
    max_jobs_per_hour: int = Field(
        300, ge=0, le=1_000_000, description="Jobs one user may submit per hour (0: no limit)"
    )
    model_revision: str | None = Field(None, description="Hub commit or tag to pin the model's weights to")
    fast_lora: str | None = Field(None, description="Distilled LoRA for fast mode (file, folder or hub id); none: off")
    fast_lora_2: str | None = Field(None, description="Its low-noise expert's LoRA (two-expert models)")
    fast_lora_scale: float | None = Field(None, ge=0.0, le=4.0, description="Scale of the fast LoRA")
    fast_lora_2_scale: float | None = Field(None, ge=0.0, le=4.0, description="Scale of the low-noise LoRA")
    cache: str | None = Field(
        None, description="Balanced's step cache: magcache or fbcache, optionally :THRESHOLD; none: Balanced off"
    )
    batch_seeds: Literal["auto", "on", "off"] = Field(
        "auto", description="Run a comparison's seeds in one batched call; auto: on the CPU (measured faster there)"
    )
    memory_strategy: str = Field("auto", description="auto, resident, expert_swap, model_offload or group_offload")
    attention_backend: str = Field("auto", description="auto or a diffusers attention backend name")
    compile: bool = Field(False, description="Regional torch.compile of the repeated blocks, warmed up at load (GPU)")
    quantize: Literal["off", "fp8"] = Field(
        "off", description="fp8: torchao FP8 experts on GPUs of compute capability 8.9+ (half the weights)"
    )
    content_check: bool = Field(True, description="Score every new video with the local NSFW classifier")
    content_threshold: float = Field(0.8, ge=0.0, le=1.0, description="Flag a video whose content score reaches this")
    verify_model: bool = Field(
        False, description="Hash the model files and refuse to serve unless they match the manifest"
    )
    record_model_manifest: bool = Field(False, description="Hash the model files into the manifest, then exit")
    model_manifest: Path | None = Field(None, description="Manifest file; default <data-dir>/manifests/<model>.json")
    mcp: bool = Field(False, description="Also serve Gradio's MCP server (the generate tool) for AI agents")
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Web origins allowed to call the API from a browser (none by default)"
    )
    max_upload_mb: int = Field(64, ge=1, le=4096, description="Largest upload (MP4 import) in MB")
    max_request_kb: int = Field(
        256, ge=16, le=1_048_576, description="Largest request body in KB, uploads aside (a 10 MB prompt is refused)"
    )
    max_streams_per_user: int = Field(
        8, ge=1, le=10_000, description="Job event streams (SSE) one user (or address) may hold open at once"
    )
    max_edits_per_hour: int = Field(
        120, ge=0, le=1_000_000, description="Trims and comparison exports one user may make per hour (0: no limit)"
    )
    min_free_disk_mb: int = Field(
        1024, ge=0, le=10_000_000, description="Refuse new jobs and edits when the media disk has less free space (MB)"
    )
    login_max_failures: int = Field(
        10, ge=1, le=1_000_000, description="Failed logins per address (and per user name) before a lockout"
    )
    login_window_s: int = Field(
        900, ge=1, le=86_400, description="Seconds failed logins are counted over; a lockout lasts until they age out"
    )
    callback_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Non-public callback destinations to allow: host names or networks (e.g. hooks.lan, 10.0.0.0/8)",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses whose X-Forwarded-For/-Proto are believed (none by default)",
    )
    public_url: str | None = Field(
        default_factory=hosting.default_public_url,
        description="The studio's public address (https://studio.example.com) for share links and previews",
    )
    workers: int = Field(
        1, ge=0, le=1, description="Generation workers inside this process: 1, or 0 to serve UI and API only (fleet)"
    )
    media_url: str | None = Field(
        None, description="Where videos are stored: file:///path or s3://bucket/prefix; default <data-dir>/media"
    )
    s3_endpoint_url: str | None = Field(
        None, description="S3-compatible endpoint for s3:// media (MinIO, R2…); credentials from the AWS variables"
    )
    media_redirect: bool = Field(
        False,
        description="s3:// media: send players to short-lived presigned URLs of the store (clients must reach it) "
        "instead of serving the files from this server's local copy",
    )
    media_cache_gb: float = Field(
        20.0, ge=0, le=100_000, description="s3:// media: keep this machine's copies of the bucket under this size (GB)"
    )
    max_attempts: int = Field(
        2, ge=1, le=10, description="Runs a fleet job gets when its worker dies mid-job before it ends interrupted"
    )
    metrics_port: int | None = Field(
        None, ge=1, le=65535, description="A fleet worker's Prometheus port (/metrics); none: no metrics server"
    )
    log_level: Literal["debug", "info", "warning"] = Field(
        "info", description="How much the console says; debug also shows the libraries' start-up warnings"
    )

    @field_validator("auth", "api_tokens", "cors_origins", "callback_allow", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # STUDIO_AUTH="alice:pw1,bob:pw2" in the environment; a list from the CLI.
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("auth")
    @classmethod
    def _check_auth(cls, value: list[str]) -> list[str]:
        for item in value:
            user, sep, password = item.partition(":")
            if not sep or not user or not password:
                raise ValueError(f"auth: {item!r} must look like user:password")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        url = value.strip().rstrip("/")
        scheme, sep, rest = url.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or any(c in rest for c in "?#@ "):
            raise ValueError(f"public_url: {value!r} must look like https://studio.example.com (optionally a path)")
        return url

    @field_validator("media_url")
    @classmethod
    def _check_media_url(cls, value: str | None) -> str | None:
        from studio.domain.media_url import parse_media_url

        if value is not None:
            parse_media_url(value)  # raises "media_url: must be file:///path or s3://bucket[/prefix]; …"
        return value

    @field_validator("device")
    @classmethod
    def _check_device(cls, value: str) -> str:
        kind, _, index = value.partition(":")
        if kind not in ("auto", "cpu", "cuda") or (index and (kind != "cuda" or not index.isdigit())):
            raise ValueError(f"device: {value!r} must be auto, cpu, cuda or cuda:N")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError as exc:
                raise ValueError(
                    f"trusted_proxies: {entry!r} is not an address or a network such as 10.0.0.0/8"
                ) from exc
        return value

    @field_validator("callback_allow")
    @classmethod
    def _check_callback_allow(cls, value: list[str]) -> list[str]:
        from studio.domain.destinations import parse_allow_list

        parse_allow_list(value)  # raises ValueError naming the entry
        return value

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'studio.db').resolve()}"

    @property
    def database_file(self) -> Path | None:
        """The SQLite file, when the database is one."""
        url = self.resolved_database_url
        if not url.startswith("sqlite") or ":memory:" in url:
            return None
        return Path(url.split("///", 1)[-1]).resolve()

    @property
    def media_dir(self) -> Path:
        """The media folder: the store itself for file:// media, the local cache of an s3:// store."""
        if self.media_url and self.media_url.startswith("file://"):
            return Path(self.media_url.removeprefix("file://")).resolve()
        return (self.data_dir / "media").resolve()

    @property
    def uses_fleet(self) -> bool:
        """Jobs go through the distributed job engine (Postgres) rather than this process's own worker thread."""
        return self.resolved_database_url.startswith("postgresql")

    @property
    def models_dir(self) -> Path:
        return (self.data_dir / "models").resolve()

    @field_validator("api_tokens")
    @classmethod
    def _check_tokens(cls, value: list[str]) -> list[str]:
        for token in value:
            if len(token) < 16:
                raise ValueError("api_tokens: each token must be at least 16 characters")
        return value

    def manifest_path(self, model_key: str) -> Path:
        name = "".join(c if c.isalnum() or c in "-._" else "_" for c in model_key)
        return self.model_manifest or self.data_dir / "manifests" / f"{name}.json"

    @property
    def auth_pairs(self) -> list[tuple[str, str]]:
        return [(user, password) for user, _, password in (item.partition(":") for item in self.auth)]


def load_settings(argv: list[str] | None = None) -> Settings:
    """Settings from the environment and `.env`, overridden by command-line flags when `argv` is given."""
    if argv is None:
        return Settings()
    return Settings(_cli_parse_args=argv)  # type: ignore[call-arg]
