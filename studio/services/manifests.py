"""`app.py --verify-model`: sha256 manifests of a diffusers folder, and what differs from one.

A manifest maps each weight/config file's path (relative, with `/`) to its sha256. Verification reports files
that are missing or changed, tracked-type files the manifest does not know, and any pickle-format weights:
the studio loads safetensors only, so a `.bin`/`.pt` in a model folder is never needed and is never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

# What a diffusers folder needs to load: weights, configs and tokenizer files (spiece.model, vocab/merges .txt).
TRACKED_SUFFIXES = frozenset({".safetensors", ".json", ".model", ".txt"})
# Formats that unpickle on load: arbitrary code execution if the file was tampered with.
PICKLE_SUFFIXES = frozenset({".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"})
MANIFEST_ALGORITHM = "sha256"


def _files(folder: Path) -> list[tuple[str, Path]]:
    """(relative posix path, path) of every file under `folder`, skipping hidden parts such as `.cache/`."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        found.append((relative.as_posix(), path))
    return sorted(found)


def sha256_of(path: Path) -> str:
    """The file's sha256, read in chunks (weights are tens of GB)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, MANIFEST_ALGORITHM).hexdigest()


def manifest_for(folder: Path) -> dict[str, str]:
    """Relative path → sha256 of every weight, config and tokenizer file in a diffusers folder."""
    if not folder.is_dir():
        raise FileNotFoundError(f"model folder {folder} does not exist or is not a directory")
    return {name: sha256_of(path) for name, path in _files(folder) if path.suffix in TRACKED_SUFFIXES}


def verify(folder: Path, manifest: dict[str, str]) -> list[str]:
    """Every way `folder` differs from `manifest`, one readable line each; an empty list means it verifies."""
    if not folder.is_dir():
        return [f"{folder}: the model folder does not exist or is not a directory"]
    present = dict(_files(folder))
    problems = []
    # 1. What the manifest expects: each file present and unchanged.
    for name, expected in sorted(manifest.items()):
        path = present.get(name)
        if path is None:
            problems.append(f"missing: {name} (listed in the manifest, not in {folder})")
            continue
        actual = sha256_of(path)
        if actual != expected:
            problems.append(f"changed: {name} (sha256 {actual[:12]}…, manifest says {expected[:12]}…)")
    # 2. What the folder has beyond it: pickles always, other tracked files when the manifest does not know them.
    for name, path in sorted(present.items()):
        if path.suffix in PICKLE_SUFFIXES:
            problems.append(f"unexpected pickle: {name} (the studio loads .safetensors only; delete it or convert it)")
        elif path.suffix in TRACKED_SUFFIXES and name not in manifest:
            problems.append(f"unexpected: {name} (not in the manifest; re-create the manifest if it is yours)")
    return problems


def write_manifest(folder: Path, path: Path) -> dict[str, str]:
    """Hash `folder` and write its manifest as JSON to `path` (temp file, then renamed); returns the manifest."""
    manifest = manifest_for(folder)
    body = {"algorithm": MANIFEST_ALGORITHM, "files": manifest}
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, path)
    return manifest


def read_manifest(path: Path) -> dict[str, str]:
    """The manifest written by `write_manifest`; ValueError says what is wrong with a malformed one."""
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"manifest {path}: not valid JSON ({exc})") from exc
    if not isinstance(body, dict) or body.get("algorithm") != MANIFEST_ALGORITHM:
        raise ValueError(f'manifest {path}: expected {{"algorithm": "{MANIFEST_ALGORITHM}", "files": {{...}}}}')
    files = body.get("files")
    if not isinstance(files, dict):
        raise ValueError(f'manifest {path}: "files" must map relative paths to sha256 hex digests')
    for name, digest in files.items():
        if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
            raise ValueError(f"manifest {path}: {name!r} has {digest!r}, expected a 64-character sha256 hex digest")
    return dict(files)


def model_folder(source: str | None, *, tiny_folder: Path | None = None, revision: str | None = None) -> Path:
    """The folder holding a model's files: the tiny model's, a local folder, or a hub repo's cached snapshot."""
    if tiny_folder is not None:
        return tiny_folder
    if source is None:
        raise ValueError("model: this preset names no weights to verify")
    folder = Path(source).expanduser()
    if folder.is_dir():
        return folder
    from huggingface_hub import snapshot_download

    # Safetensors and configs only: what the studio loads (a stray .bin is what verify() reports).
    patterns = ["*.json", "*.safetensors", "*.model", "*.txt"]
    return Path(snapshot_download(source, revision=revision, allow_patterns=patterns))
