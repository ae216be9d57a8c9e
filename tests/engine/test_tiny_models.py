"""Tiny random-weight Wan pipelines: built offline, saved once, reloaded through the real loading path."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch
from diffusers.schedulers.scheduling_unipc_multistep import UniPCMultistepScheduler

from studio.domain.presets import PRESETS, TINY_PRESETS
from studio.engine.pipeline import ResidentPipeline
from studio.engine.tiny_models import build_tiny_pipeline, ensure_tiny_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One folder per module, so each tiny model is built and saved once and later tests reuse it."""
    return tmp_path_factory.mktemp("models")


def _folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def test_importing_tiny_does_not_import_torch() -> None:
    code = "import sys, studio.engine.tiny_models; assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, timeout=60)


@pytest.mark.parametrize("key", TINY_PRESETS)
def test_ensure_saves_a_small_folder_once(models_dir: Path, key: str) -> None:
    preset = PRESETS[key]
    folder = ensure_tiny_model(preset, models_dir)
    assert folder == models_dir / key
    index = folder / "model_index.json"
    assert index.is_file()
    assert _folder_bytes(folder) < 2_000_000
    assert not [p for p in models_dir.iterdir() if p.name.startswith(".")], "temp folders left behind"

    mtime = index.stat().st_mtime_ns
    assert ensure_tiny_model(preset, models_dir) == folder
    assert index.stat().st_mtime_ns == mtime, "second call rebuilt the model"


@pytest.mark.parametrize("key", TINY_PRESETS)
def test_saved_folder_loads_with_the_real_layout(models_dir: Path, key: str) -> None:
    preset = PRESETS[key]
    layout = preset.layout_info
    resident = ResidentPipeline(preset, models_dir=models_dir, device="cpu")
    assert resident.load() > 0
    pipe = resident.pipe

    assert (pipe.transformer_2 is not None) == layout.two_experts
    assert pipe.config["boundary_ratio"] == layout.boundary_ratio
    assert bool(pipe.config["expand_timesteps"]) == layout.expand_timesteps
    assert pipe.vae.config.scale_factor_spatial == layout.vae_spatial
    assert pipe.vae.config.z_dim == (48 if layout.vae_spatial == 16 else 16)
    assert pipe.transformer.config.in_channels == pipe.vae.config.z_dim
    assert pipe.text_encoder.config.d_model == pipe.transformer.config.text_dim
    assert pipe.text_encoder.config.vocab_size >= len(pipe.tokenizer)
    assert pipe.transformer.dtype == torch.float32

    assert isinstance(pipe.scheduler, UniPCMultistepScheduler)
    scheduler_config = pipe.scheduler.config
    assert scheduler_config["prediction_type"] == "flow_prediction"
    assert scheduler_config["use_flow_sigmas"]
    assert scheduler_config["flow_shift"] == preset.flow_shift


def test_same_seed_builds_same_weights() -> None:
    first, again, other = (build_tiny_pipeline("1.3b", seed=s).transformer.state_dict() for s in (0, 0, 1))
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not all(torch.equal(first[name], other[name]) for name in first)


def test_two_experts_have_different_weights() -> None:
    pipe = build_tiny_pipeline("a14b")
    assert pipe.transformer_2 is not None
    weight = "blocks.0.attn1.to_q.weight"
    assert not torch.equal(pipe.transformer.state_dict()[weight], pipe.transformer_2.state_dict()[weight])


def test_tokenizer_covers_latin_and_chinese() -> None:
    tokenizer = build_tiny_pipeline("1.3b").tokenizer
    assert tokenizer.convert_ids_to_tokens([0, 1, 2]) == ["<pad>", "</s>", "<unk>"]
    for text in ("A cat walking on the beach at sunset", "Zebra XYZ 42!", "一只猫在海边散步，夕阳"):
        ids = tokenizer(text).input_ids
        assert ids[-1] == tokenizer.eos_token_id
        assert tokenizer.unk_token_id not in ids, text
    assert len(tokenizer("the cat").input_ids) == 3  # whole words: "▁the", "▁cat", "</s>"


def test_racing_processes_share_one_folder(tmp_path: Path) -> None:
    preset = PRESETS["tiny-1.3b"]
    results: list[Path] = []
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            results.append(ensure_tiny_model(preset, tmp_path))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert results == [tmp_path / preset.key] * 3
    assert [p.name for p in tmp_path.iterdir()] == [preset.key]
    assert (tmp_path / preset.key / "model_index.json").is_file()


def test_leftover_folder_without_a_pipeline_is_replaced(tmp_path: Path) -> None:
    preset = PRESETS["tiny-1.3b"]
    leftover = tmp_path / preset.key
    (leftover / "vae").mkdir(parents=True)
    (leftover / "vae" / "partial.bin").write_bytes(b"half a file")

    folder = ensure_tiny_model(preset, tmp_path)
    assert (folder / "model_index.json").is_file()
    assert not (folder / "vae" / "partial.bin").exists()
    assert [p.name for p in tmp_path.iterdir()] == [preset.key]
