"""Loading a VD-layout folder offline: layout, manifest, errors that say where the code looked."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import pytest

from eval.backbone.locate import MANIFEST, REAL_VD, locate_model
from eval.backbone.model import VersatileBackbone
from eval.errors import ConfigError, DataError


def test_tiny_model_in_vd_layout_loads_through_the_real_loader(tiny_vd_dir, tiny_vd):
    index = json.loads((tiny_vd_dir / "model_index.json").read_text())
    assert index["_class_name"] == "VersatileDiffusionDualGuidedPipeline"
    for part in ("vae", "image_unet", "text_unet", "text_encoder", "image_encoder", "tokenizer", "scheduler"):
        assert (tiny_vd_dir / part).is_dir(), part
    assert all(p.suffix == ".safetensors" for p in tiny_vd_dir.rglob("*.safetensors"))
    info = tiny_vd.info
    assert info.image_size == 32
    assert info.latent_shape == (4, 16, 16)
    assert info.image_token_shape == (17, 16)  # (32 / 8)^2 patches + the class token
    assert info.text_token_shape == (16, 16)
    assert info.verified_files == len((tiny_vd_dir / MANIFEST).read_text().split("\n")) - 1


def test_sha256_mismatch_is_a_one_line_error(tiny_vd_dir, tmp_path):
    copy = tmp_path / "vd"
    shutil.copytree(tiny_vd_dir, copy)
    weights = copy / "vae" / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(
        DataError, match=r"vae/diffusion_pytorch_model.safetensors: expected sha256 [0-9a-f]{64}.*found"
    ):
        VersatileBackbone.load(copy)


def test_missing_folder_names_every_place_looked(tmp_path):
    with pytest.raises(ConfigError, match=f"not found; looked in: {tmp_path / 'nowhere'}") as raised:
        locate_model(tmp_path / "nowhere")
    assert "\n" not in str(raised.value)


def test_offline_hub_id_without_cache_fails_without_network(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))

    def no_network(*args, **kwargs):
        raise AssertionError("the loader tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with pytest.raises(ConfigError) as raised:
        VersatileBackbone.load(REAL_VD)
    message = str(raised.value)
    assert f"model '{REAL_VD}' not found" in message
    assert str(tmp_path / "hub") in message and "local files only" in message
    assert "--vd-model" in message


def test_hub_id_found_in_local_cache(tiny_vd_dir, tmp_path, monkeypatch):
    # A snapshot laid out as huggingface_hub stores it: models--org--name/snapshots/<rev>/ plus refs/main.
    repo = tmp_path / "hub" / "models--shi-labs--versatile-diffusion"
    snapshot = repo / "snapshots" / "0123456789abcdef"
    shutil.copytree(tiny_vd_dir, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    assert locate_model(REAL_VD) == snapshot


def test_shipped_minivd_loads_with_every_file_verified():
    vd = VersatileBackbone.load()  # default: the MiniVD in the package
    files = [p for p in Path(vd.info.folder).rglob("*") if p.is_file() and p.name != "SHA256SUMS"]
    assert vd.info.name == "minivd" and vd.info.verified_files == len(files) > 10
    assert vd.info.image_size == 64 and vd.info.latent_shape == (4, 16, 16)
    assert vd.info.image_token_shape == (65, 64) and vd.info.text_token_shape == (48, 64)
    total = sum(p.stat().st_size for p in Path(vd.info.folder).rglob("*") if p.is_file())
    assert total < 40 * 2**20
