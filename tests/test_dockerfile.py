"""The Dockerfile and .dockerignore, read statically (no engine here); `docker build` only where an engine answers."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRET_WORDS = ("TOKEN", "KEY", "PASSWORD", "PASSWD", "SECRET", "CREDENTIAL")


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, with `\\` continuations joined and comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, args = (pending + line).partition(" ")
        result.append((keyword.upper(), args.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    return result


def args_of(keyword: str) -> list[str]:
    return [args for key, args in instructions() if key == keyword]


def words(args: str) -> list[str]:
    """JSON (exec) form or shell form, as a list of words."""
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def env_pairs(args: str) -> dict[str, str]:
    """`ENV A=1 B="x y"` and the legacy `ENV A 1` form."""
    parts = shlex.split(args)
    if parts and "=" not in parts[0]:
        return {parts[0]: " ".join(parts[1:])}
    return dict(part.split("=", 1) for part in parts)


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip().rstrip("/") for line in lines if line.strip() and not line.startswith("#")]


def is_ignored(relative: str) -> bool:
    """Approximately Docker's rule: a pattern matches the path or one of its parent folders; `!` re-includes."""
    ignored = False
    parents = [str(Path(*Path(relative).parts[: i + 1])) for i in range(len(Path(relative).parts))]
    for pattern in ignore_patterns():
        negate = pattern.startswith("!")
        bare = pattern.lstrip("!")
        candidates = [bare, bare.removeprefix("**/")]
        if any(fnmatch(path, c) for path in parents for c in candidates):
            ignored = not negate
    return ignored


def test_base_image_is_pinned_to_an_explicit_version() -> None:
    images = [words(args)[0] for args in args_of("FROM")]
    assert images, "no FROM"
    for image in images:
        name, _, tag = image.partition("@")[0].rpartition(":")
        assert name and tag, f"{image}: no tag; pin an explicit version"
        assert tag != "latest", f"{image}: 'latest' moves; pin an explicit version"
        assert re.match(r"\d+(\.\d+)+", tag), f"{image}: tag {tag!r} does not start with a version number"
    assert images[-1].startswith("nvidia/cuda:13."), "torch 2.13's default Linux wheel is the CUDA 13 build"


def test_runs_as_a_non_root_user_before_cmd() -> None:
    keys = [key for key, _ in instructions()]
    assert keys.count("CMD") == 1 and keys[-1] == "CMD", "exactly one CMD, as the last instruction"
    users = [args for key, args in instructions()[: keys.index("CMD")] if key == "USER"]
    assert users, "no USER before CMD: the app would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_cmd_starts_the_studio() -> None:
    assert words(args_of("CMD")[0]) == ["python", "app.py"]


def test_healthcheck_calls_health() -> None:
    (check,) = args_of("HEALTHCHECK")
    assert " CMD " in f" {check} ", "HEALTHCHECK needs a CMD"
    assert "/health" in check
    assert "urllib" in check or "curl" in check


def test_exposes_the_studio_port_and_listens_on_all_interfaces() -> None:
    assert any("7860" in words(args) for args in args_of("EXPOSE"))
    env = {k: v for args in args_of("ENV") for k, v in env_pairs(args).items()}
    assert env.get("STUDIO_HOST") == "0.0.0.0"
    assert env.get("GRADIO_ANALYTICS_ENABLED") == "False"


def test_data_and_hub_cache_are_volumes_where_the_app_writes() -> None:
    volumes = [v for args in args_of("VOLUME") for v in words(args)]
    env = {k: v for args in args_of("ENV") for k, v in env_pairs(args).items()}
    assert "/data" in volumes
    assert env.get("STUDIO_DATA_DIR") in volumes
    assert env.get("HF_HOME") in volumes


def test_requirements_are_installed_before_the_code_is_copied() -> None:
    steps = instructions()
    copy_req = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and "requirements.txt" in a)
    install = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and re.search(r"pip install .*-r requirements", a))
    copy_app = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and "app.py" in a)
    assert copy_req < install < copy_app, "requirements first, so code edits keep the dependency layer cached"
    assert "--no-cache-dir" in steps[install][1]


def test_no_env_or_arg_looks_like_a_secret() -> None:
    names = [name for args in args_of("ENV") for name in env_pairs(args)]
    names += [args.split("=")[0].strip() for args in args_of("ARG")]
    suspicious = [name for name in names if any(word in name.upper() for word in SECRET_WORDS)]
    assert not suspicious, f"secrets belong in `docker run -e`, not in the image: {suspicious}"


def test_dockerignore_keeps_local_state_and_secrets_out() -> None:
    patterns = set(ignore_patterns())
    for required in (".venv", "data", ".git", ".env"):
        assert required in patterns, f".dockerignore must exclude {required}"


def test_every_copied_path_exists_and_is_in_the_build_context() -> None:
    copies = [words(args) for args in args_of("COPY") + args_of("ADD")]
    assert copies
    for parts in copies:
        sources = [p for p in parts[:-1] if not p.startswith("--")]
        assert not any(p.startswith("--from") for p in parts), "multi-stage COPY: extend this test"
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: no such path in the repository"
            assert not is_ignored(source.rstrip("/")), f"COPY {source}: excluded by .dockerignore"


def _docker_engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.timeout(3600)
def test_image_builds() -> None:
    if not _docker_engine_answers():
        pytest.skip("no Docker engine answers `docker info` here; the Dockerfile is only checked statically")
    tag = "wan-studio:test"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=3500)
    inspect = subprocess.run(["docker", "image", "inspect", tag], check=True, capture_output=True, text=True)
    config = json.loads(inspect.stdout)[0]["Config"]
    assert config["User"] == "1000:1000"
    assert "/health" in " ".join(config["Healthcheck"]["Test"])
