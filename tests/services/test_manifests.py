"""studio.services.manifests: manifests of a small fake diffusers folder, and every kind of problem verify reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from studio.services.manifests import manifest_for, read_manifest, verify, write_manifest

WEIGHTS = "transformer/diffusion_pytorch_model.safetensors"


def _write_weights(path: Path) -> None:
    try:
        import torch
        from safetensors.torch import save_file
    except ImportError:  # the format does not matter to hashing; real safetensors when the package is there
        path.write_bytes(b"\x00" * 64 + b"fake weights")
        return
    save_file({"proj.weight": torch.arange(12, dtype=torch.float32).reshape(3, 4)}, str(path))


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A diffusers-shaped folder: index, configs, tokenizer file, one safetensors, plus a hub download cache."""
    folder = tmp_path / "model"
    (folder / "transformer").mkdir(parents=True)
    (folder / "tokenizer").mkdir()
    (folder / "model_index.json").write_text(json.dumps({"_class_name": "WanPipeline"}))
    (folder / "transformer" / "config.json").write_text(json.dumps({"num_layers": 2}))
    (folder / "tokenizer" / "spiece.model").write_bytes(b"sentencepiece")
    (folder / "README.md").write_text("not a model file")
    (folder / ".cache" / "huggingface").mkdir(parents=True)
    (folder / ".cache" / "huggingface" / "x.json").write_text("{}")
    _write_weights(folder / WEIGHTS)
    return folder


def test_manifest_lists_weights_configs_and_tokenizer_files_only(model_dir: Path) -> None:
    manifest = manifest_for(model_dir)
    assert sorted(manifest) == [
        "model_index.json",
        "tokenizer/spiece.model",
        "transformer/config.json",
        WEIGHTS,
    ]
    assert all(len(digest) == 64 for digest in manifest.values())


def test_clean_folder_verifies(model_dir: Path) -> None:
    assert verify(model_dir, manifest_for(model_dir)) == []


def test_changed_byte_is_reported_with_the_file_name(model_dir: Path) -> None:
    manifest = manifest_for(model_dir)
    weights = model_dir / WEIGHTS
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01
    weights.write_bytes(bytes(data))
    problems = verify(model_dir, manifest)
    assert len(problems) == 1
    assert problems[0].startswith(f"changed: {WEIGHTS}")


def test_missing_file_is_reported(model_dir: Path) -> None:
    manifest = manifest_for(model_dir)
    (model_dir / "transformer" / "config.json").unlink()
    assert verify(model_dir, manifest) == [
        f"missing: transformer/config.json (listed in the manifest, not in {model_dir})"
    ]


def test_stray_pickle_is_reported_even_if_the_rest_is_clean(model_dir: Path) -> None:
    manifest = manifest_for(model_dir)
    (model_dir / "transformer" / "diffusion_pytorch_model.bin").write_bytes(b"\x80\x04pickle")
    problems = verify(model_dir, manifest)
    assert len(problems) == 1
    assert problems[0].startswith("unexpected pickle: transformer/diffusion_pytorch_model.bin")


def test_unknown_safetensors_file_is_reported(model_dir: Path) -> None:
    manifest = manifest_for(model_dir)
    (model_dir / "transformer" / "diffusion_pytorch_model.fp16.safetensors").write_bytes(b"{}")
    assert [p.split(" (")[0] for p in verify(model_dir, manifest)] == [
        "unexpected: transformer/diffusion_pytorch_model.fp16.safetensors"
    ]


def test_missing_folder_is_one_problem(tmp_path: Path) -> None:
    assert verify(tmp_path / "nope", {"model_index.json": "0" * 64}) == [
        f"{tmp_path / 'nope'}: the model folder does not exist or is not a directory"
    ]


def test_manifest_round_trips_through_json(model_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "manifests" / "model.json"
    written = write_manifest(model_dir, path)
    assert read_manifest(path) == written
    assert verify(model_dir, read_manifest(path)) == []
    assert not list(path.parent.glob(".*.tmp"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"files": {}}', '"algorithm"'),
        ('{"algorithm": "sha256", "files": []}', '"files" must map'),
        ('{"algorithm": "sha256", "files": {"a.json": "xyz"}}', "'a.json' has 'xyz'"),
    ],
)
def test_malformed_manifest_is_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=re.escape(message)):
        read_manifest(path)
