"""deploy/: the compose file and the scale-out pages, read statically (no Docker engine or cluster here)."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from studio.config import Settings
from studio.domain import presets

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"
SUBCOMMANDS = ("serve", "worker")
# What a required `${NAME:?…}` variable is set to when the test resolves the file as compose would.
REQUIRED_EXAMPLES = {"STUDIO_AUTH": "alice:choose-a-password"}
# Settings every studio process of the fleet must agree on.
SHARED_ENVIRONMENT = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "AUTH")
# Lines of the docs that run these tools carry the tools' own flags, not the studio's.
OTHER_TOOLS = ("docker ", "kubectl ", "curl ", "mc ", "helm ", "bench/")  # commands with flags of their own
Service = dict[str, Any]


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def services() -> dict[str, Service]:
    return compose()["services"]


def command(service: Service) -> list[str]:
    """The command as words, with `--flag=value` split in two."""
    raw = service.get("command", [])
    words = shlex.split(raw) if isinstance(raw, str) else [str(word) for word in raw]
    return [part for word in words for part in (word.split("=", 1) if word.startswith("--") else [word])]


def subcommand(words: list[str]) -> str | None:
    return words[2] if words[:2] == ["python", "app.py"] and len(words) > 2 else None


def studio_services() -> dict[str, Service]:
    """The services that run the studio (`python app.py …`): the server and the workers."""
    return {name: service for name, service in services().items() if command(service)[:2] == ["python", "app.py"]}


def of_kind(kind: str) -> dict[str, Service]:
    return {name: service for name, service in studio_services().items() if subcommand(command(service)) == kind}


def flag_value(words: list[str], flag: str) -> str | None:
    return words[words.index(flag) + 1] if flag in words[:-1] else None


def environment(service: Service) -> dict[str, str]:
    """`environment:` as a mapping, from either of compose's forms (mapping or `KEY=value` list)."""
    raw = service.get("environment", {})
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def interpolate(text: str) -> str:
    """Compose's `${NAME:-default}`, `${NAME:?message}` and `$$`, resolved as with an empty environment."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.group(1), match.group(2) or "", match.group(3) or ""
        if operator.endswith("?"):
            assert name in REQUIRED_EXAMPLES, f"${{{name}:?…}} is required: give it a value in REQUIRED_EXAMPLES"
            return REQUIRED_EXAMPLES[name]
        return argument

    return re.sub(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}", one, text).replace("$$", "$")


def setting_flags() -> set[str]:
    """`--foo-bar` for every Settings field `foo_bar` (cli_kebab_case), and `--no-foo` for booleans."""
    flags = set()
    for name, field in Settings.model_fields.items():
        flags.add("--" + name.replace("_", "-"))
        if field.annotation is bool:
            flags.add("--no-" + name.replace("_", "-"))
    return flags


def parse_settings(words: list[str], env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings `python app.py <subcommand> <flags>` would build with this environment (and no .env)."""
    unknown = [word for word in words[3:] if word.startswith("--") and word not in setting_flags()]
    assert unknown == [], f"{' '.join(words[:3])}: {unknown} are not settings of studio/config.py"
    for key in [key for key in os.environ if key.startswith("STUDIO_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, interpolate(value))
    return Settings(_cli_parse_args=words[3:], _env_file=None)  # type: ignore[call-arg]


def settings_of(service: Service, monkeypatch: pytest.MonkeyPatch) -> Settings:
    return parse_settings(command(service), environment(service), monkeypatch)


def gpu_reservations(service: Service) -> list[dict[str, Any]]:
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


def published_ports(service: Service) -> list[tuple[str, str]]:
    """(host address, container port) for each published port; "" is every interface."""
    result = []
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            result.append((str(entry.get("host_ip", "")), str(entry["target"])))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        result.append((parts[0] if len(parts) == 3 else "", parts[-1]))
    return result


def healthcheck_words(service: Service) -> list[str]:
    test = service.get("healthcheck", {}).get("test", [])
    return shlex.split(test) if isinstance(test, str) else [str(word) for word in test]


def image_installs(tool: str) -> bool:
    return re.search(rf"apt-get install[^&]*\b{tool}\b", DOCKERFILE.read_text(encoding="utf-8")) is not None


def docs() -> dict[str, tuple[str, Path]]:
    """deploy/*.md and README's "Scale out" section: name → (text, folder its links start from)."""
    found = {path.name: (path.read_text(encoding="utf-8"), DEPLOY) for path in sorted(DEPLOY.glob("*.md"))}
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Scale out\n" in readme, "README has no Scale out section"
    section = readme.split("\n## Scale out\n", 1)[1].split("\n## ", 1)[0]
    found["README.md"] = (section, ROOT)
    return found


def studio_text(line: str) -> str:
    """The part of a doc line that may carry studio flags: after `app.py`, or none of a line running another tool."""
    if "app.py" in line:
        return line.split("app.py", 1)[1]
    return "" if any(tool in line for tool in OTHER_TOOLS) else line


def yaml_blocks(text: str) -> list[Any]:
    return [doc for block in re.findall(r"```yaml\n(.*?)```", text, re.S) for doc in yaml.safe_load_all(block)]


def containers(manifests: list[Any]) -> list[dict[str, Any]]:
    return [
        container
        for manifest in manifests
        if isinstance(manifest, dict) and manifest.get("kind") in ("Deployment", "StatefulSet")
        for container in manifest["spec"]["template"]["spec"]["containers"]
    ]


def test_every_dependency_is_a_service_whose_condition_can_be_met() -> None:
    everything = services()
    for name, service in everything.items():
        depends = service.get("depends_on", {})
        if isinstance(depends, list):
            depends = {dependency: {} for dependency in depends}
        for dependency, spec in depends.items():
            assert dependency in everything, f"{name} depends on {dependency}: no such service"
            condition = spec.get("condition", "service_started")
            if condition == "service_healthy":
                assert "healthcheck" in everything[dependency], f"{name} waits for {dependency}'s health: it has none"
            if condition == "service_completed_successfully":
                restart = everything[dependency].get("restart", "no")
                assert restart in ("no", False), f"{name} waits for {dependency} to exit, but it restarts ({restart})"


def test_studio_services_are_the_image_of_the_dockerfile_running_app_py() -> None:
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert not re.search(r"^\s*ENTRYPOINT\b", dockerfile, re.M), "an ENTRYPOINT changes what `command:` means"
    built = {name for name, service in services().items() if "build" in service}
    assert built and built == set(studio_services()), "the services built from the Dockerfile run `python app.py`"
    for name, service in studio_services().items():
        assert subcommand(command(service)) in SUBCOMMANDS, f"{name}: app.py's subcommand is serve or worker"
        build = service["build"]
        context, dockerfile_name = (build, "Dockerfile") if isinstance(build, str) else (build["context"], "")
        path = COMPOSE.parent / context / (dockerfile_name or build.get("dockerfile", "Dockerfile"))
        assert path.resolve() == DOCKERFILE, f"{name} builds {path}, not the repository's Dockerfile"


def test_the_server_serves_ui_and_api_without_a_generation_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    servers = of_kind("serve")
    assert servers, "no service runs `app.py serve`"
    for name, server in servers.items():
        assert flag_value(command(server), "--workers") == "0", f"{name}: a fleet server runs `serve --workers 0`"
        settings = settings_of(server, monkeypatch)
        assert (settings.workers, settings.device) == (0, "auto")
        assert not gpu_reservations(server), f"{name}: a server loads no model and needs no GPU"
        assert str(settings.port) in [port for _, port in published_ports(server)], f"{name}: its port is not published"


def test_every_worker_serves_a_real_model_on_a_gpu_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    workers = of_kind("worker")
    assert len(workers) >= 2, "one worker per GPU: the file shows at least two"
    gpus = []
    for name, worker in workers.items():
        words = command(worker)
        model = flag_value(words, "--model")
        assert model in presets.REAL_PRESETS, f"{name}: --model {model} is none of {presets.REAL_PRESETS}"
        devices = gpu_reservations(worker)
        assert len(devices) == 1 and len(devices[0].get("device_ids", [])) == 1, f"{name}: reserve exactly one GPU"
        assert "count" not in devices[0], f"{name}: count and device_ids exclude each other"
        gpu = str(devices[0]["device_ids"][0])
        # The container sees only the GPU it reserves, numbered 0 there, whatever its number on the host.
        assert flag_value(words, "--device") in ("cuda", "cuda:0"), f"{name}: run it with --device cuda:0"
        assert settings_of(worker, monkeypatch).device in ("cuda", "cuda:0")
        numbered = re.fullmatch(r"worker-gpu(\d+)", name)
        assert numbered is None or numbered.group(1) == gpu, f"{name} reserves GPU {gpu}"
        gpus.append(gpu)
    assert len(gpus) == len(set(gpus)), f"two workers reserve the same GPU: {gpus}"


def test_every_gpu_reservation_is_an_nvidia_gpu() -> None:
    reservations = [(name, device) for name, service in services().items() for device in gpu_reservations(service)]
    assert reservations
    for name, device in reservations:
        assert device.get("driver") == "nvidia", f"{name}: driver {device.get('driver')!r}, not nvidia"
        assert "gpu" in device.get("capabilities", []), f"{name}: capabilities must include gpu"


def test_long_running_services_have_healthchecks_that_can_run(monkeypatch: pytest.MonkeyPatch) -> None:
    long_running = [name for name, service in services().items() if service.get("restart", "no") not in ("no", False)]
    for name in {"postgres", "minio", *studio_services(), *long_running}:
        check = services()[name].get("healthcheck", {})
        assert healthcheck_words(services()[name]) and not check.get("disable"), f"{name}: no healthcheck"
    for name, service in studio_services().items():
        probe = " ".join(healthcheck_words(service))
        for tool in ("curl", "wget"):
            assert tool not in probe or image_installs(tool), f"{name}: the image has no {tool}; probe with Python"
        settings = settings_of(service, monkeypatch)
        if subcommand(command(service)) == "serve":
            assert f":{settings.port}/health" in probe, f"{name}: the server's check is GET /health on its port"
        else:
            assert settings.metrics_port, f"{name}: a worker needs --metrics-port, its health check"
            assert f":{settings.metrics_port}/metrics" in probe, f"{name}: the worker's check is its /metrics"


def test_postgres_and_minio_are_not_published_on_every_interface() -> None:
    for name, service in services().items():
        if not service.get("image", "").startswith(("postgres:", "minio/minio:")):
            continue
        for host, port in published_ports(service):
            assert host not in ("", "0.0.0.0", "::", "[::]"), (
                f"{name}: port {port} is published on every interface; bind it to 127.0.0.1 or a private address"
            )


def test_named_volumes_are_declared_and_declared_volumes_are_used() -> None:
    declared = set(compose().get("volumes") or {})
    used = set()
    for name, service in services().items():
        for entry in service.get("volumes", []):
            if isinstance(entry, dict):
                source = entry.get("source", "") if entry.get("type", "volume") == "volume" else ""
            else:
                source = str(entry).split(":")[0] if ":" in str(entry) else ""
            if source and not source.startswith((".", "/", "~", "$")):  # a named volume, not a bind mount
                assert source in declared, f"{name} mounts volume {source}, which `volumes:` does not declare"
                used.add(source)
    assert declared == used, f"declared but never mounted: {sorted(declared - used)}"


def test_server_and_workers_share_one_database_and_one_media_store(monkeypatch: pytest.MonkeyPatch) -> None:
    everything = services()
    seen = set()
    for name, service in studio_services().items():
        settings = settings_of(service, monkeypatch)
        env = {key: interpolate(environment(service).get(key, "")) for key in SHARED_ENVIRONMENT}
        seen.add((settings.resolved_database_url, settings.media_url, settings.s3_endpoint_url, *env.values()))
        assert settings.uses_fleet, f"{name}: the fleet needs a Postgres --database-url"
        assert (settings.media_url or "").startswith("s3://"), f"{name}: the fleet's media are in s3://"
    assert len(seen) == 1, f"the server and the workers disagree on the database or the media store: {seen}"
    ((database_url, media_url, endpoint, access_key, secret_key, _),) = seen

    database = urlsplit(database_url)
    postgres = environment(everything[str(database.hostname)])
    assert database.username == postgres.get("POSTGRES_USER", "postgres")
    assert database.password == interpolate(postgres["POSTGRES_PASSWORD"])
    assert database.path.lstrip("/") == postgres.get("POSTGRES_DB", database.username)

    storage = environment(everything[str(urlsplit(endpoint).hostname)])
    assert (access_key, secret_key) == (
        interpolate(storage["MINIO_ROOT_USER"]),
        interpolate(storage["MINIO_ROOT_PASSWORD"]),
    )
    bucket = urlsplit(str(media_url)).netloc
    made = [" ".join(command(service)) for service in everything.values() if "mc mb" in " ".join(command(service))]
    assert any(re.search(rf"mc mb .*\S/{re.escape(bucket)}\b", line) for line in made), f"no service creates {bucket}"


def test_secrets_come_from_variables_with_placeholder_defaults() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert re.fullmatch(r"\$\{\w+[^}]*\}", password), f"{name}: {key} has a literal password"
            if not any(word in key for word in SECRET_WORDS):
                continue
            assert re.fullmatch(r"\$\{\w+[^}]*\}", value), f"{name}: {key} must come from a variable, not the file"
            default = interpolate(value)
            assert ":?" in value or default == "" or "change-me" in default, (
                f"{name}: {key}'s default {default!r} must be empty, required (:?) or read change-me"
            )


def test_images_are_pinned_to_a_version() -> None:
    for name, service in services().items():
        if "build" in service:
            continue
        image = service["image"].split("@")[0]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and "/" not in tag, f"{name}: {image} has no tag; pin a version"
        assert tag != "latest", f"{name}: 'latest' moves; pin a version"
        assert re.search(r"\d", tag), f"{name}: tag {tag!r} names no version"


def test_every_flag_and_variable_in_compose_and_the_docs_is_a_setting() -> None:
    for name, service in studio_services().items():
        for key in environment(service):
            field = key.removeprefix("STUDIO_").lower()
            assert not key.startswith("STUDIO_") or field in Settings.model_fields, f"{name}: {key} is no setting"
    used = [
        (f"compose.yaml {name}", flag)
        for name, service in studio_services().items()
        for flag in command(service)[3:]
        if flag.startswith("--")
    ]
    for doc, (text, _) in docs().items():
        used += [
            (doc, flag) for line in text.splitlines() for flag in re.findall(r"--[a-z][a-z0-9-]*", studio_text(line))
        ]
    assert any(doc != "compose.yaml" for doc, _ in used)
    unknown = [(doc, flag) for doc, flag in used if flag not in setting_flags()]
    assert unknown == [], f"not settings of studio/config.py: {unknown}"


def test_the_docs_name_real_subcommands_and_presets() -> None:
    for doc, (text, _) in docs().items():
        for word in re.findall(r"app\.py[\"',\s]+([\w-]+)", text):
            assert word in SUBCOMMANDS or word.startswith("-"), f"{doc}: `app.py {word}`: no such subcommand"
        for model in re.findall(r"--model[\"',\s]+([a-z0-9][a-z0-9.-]*)", text):
            assert model in presets.PRESETS, f"{doc}: --model {model} is no preset"


def test_the_kubernetes_snippets_parse_and_their_commands_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    manifests = yaml_blocks(docs()["kubernetes.md"][0])
    studio = [c for c in containers(manifests) if c["command"][:2] == ["python", "app.py"]]
    kinds = {subcommand(c["command"]) for c in studio}
    assert kinds == set(SUBCOMMANDS), f"the Kubernetes page shows both a server and a worker, not {kinds}"
    for container in studio:
        words = [str(word) for word in container["command"]]
        settings = parse_settings(words, {}, monkeypatch)
        if subcommand(words) == "serve":
            assert settings.workers == 0
            assert container["readinessProbe"]["httpGet"]["path"] == "/health"
        else:
            assert container["resources"]["limits"]["nvidia.com/gpu"] == 1, "one GPU per worker pod"
            assert settings.device in ("cuda", "cuda:0"), "a pod sees its one GPU as cuda:0"


def test_links_between_the_pages_resolve() -> None:
    for doc, (text, base) in docs().items():
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if "://" not in target:
                assert (base / target).exists(), f"{doc} links to {target}, which is not at {base / target}"
