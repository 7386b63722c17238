"""Published weights from local files: the TORCH_HOME layout, --weights-dir, hash checks and the errors."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torchvision

from eval.errors import ConfigError, InputError
from eval.metrics.extractors import MINDEYE_EXTRACTORS
from eval.metrics.protocol import MINDEYE_SYNTH
from eval.metrics.seeded import CalibrationSet, load_seeded
from eval.metrics.weights import check_weight_file, file_sha256, load_pretrained, resolve_weight_source


def _with_hash_of(spec, path: Path):
    """The spec, its published hash prefix replaced by the test file's (a random state dict has another)."""
    weights = dataclasses.replace(spec.weights, sha256_prefix=file_sha256(path)[:8])
    return dataclasses.replace(spec, weights=weights)


def test_a_torch_home_layout_is_found_and_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = MINDEYE_EXTRACTORS["alexnet"]
    torch.manual_seed(3)
    state = torchvision.models.alexnet().state_dict()
    path = tmp_path / "torch" / "hub" / "checkpoints" / spec.weights.filename
    path.parent.mkdir(parents=True)
    torch.save(state, path)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    loaded = load_pretrained(_with_hash_of(spec, path))
    assert loaded.provenance["file"] == str(path) and loaded.provenance["check"] == "sha256-prefix"
    assert loaded.provenance["sha256"] == file_sha256(path)
    conv2 = dict(loaded.net.named_parameters())["body.graph.features.3.weight"]
    assert torch.equal(conv2, state["features.3.weight"])


def test_missing_weights_name_every_path_and_the_remedies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ConfigError) as error:
        load_pretrained(MINDEYE_EXTRACTORS["effnet"], weights_dir=tmp_path / "w")
    message = str(error.value)
    for tried in (tmp_path / "w", tmp_path / "w" / "hub" / "checkpoints", tmp_path / "torch" / "hub" / "checkpoints"):
        assert str(tried / "efficientnet_b1-c27df63c.pth") in message
    assert "--weights-dir" in message and "--weights-source seeded" in message and "\n" not in message


def test_a_wrong_sha256_is_refused(tmp_path: Path) -> None:
    spec = MINDEYE_EXTRACTORS["alexnet"]
    path = tmp_path / spec.weights.filename
    path.write_bytes(b"not the published file")
    with pytest.raises(InputError, match=r"expected sha256 starting with 7be5be79, found [0-9a-f]{64}"):
        check_weight_file(path, spec.weights)


def test_swav_checkpoint_with_module_prefixes_loads_from_weights_dir(tmp_path: Path) -> None:
    spec = MINDEYE_EXTRACTORS["swav"]
    torch.manual_seed(4)
    trunk = {k: v for k, v in torchvision.models.resnet50().state_dict().items() if not k.startswith("fc.")}
    checkpoint = {f"module.{k}": v for k, v in trunk.items()}
    checkpoint["module.projection_head.0.weight"] = torch.zeros(2, 2)  # SwAV's heads are dropped
    torch.save(checkpoint, tmp_path / spec.weights.filename)
    loaded = load_pretrained(spec, weights_dir=tmp_path)
    assert loaded.provenance["check"] == "none"  # no published hash: the file's sha256 is recorded instead
    params = dict(loaded.net.named_parameters())
    assert torch.equal(params["body.graph.layer4.2.conv3.weight"], trunk["layer4.2.conv3.weight"])
    del checkpoint["module.layer1.0.conv1.weight"]
    torch.save(checkpoint, tmp_path / spec.weights.filename)
    with pytest.raises(InputError, match="missing 1 .first: layer1.0.conv1.weight"):
        load_pretrained(spec, weights_dir=tmp_path)


def test_weight_source_auto_is_pretrained_on_nsd_and_seeded_on_synthnsd() -> None:
    assert resolve_weight_source("auto", "nsd") == "pretrained"
    assert resolve_weight_source("auto", "synthnsd") == "seeded"
    with pytest.raises(ConfigError, match="--weights-source: expected one of auto, pretrained, seeded"):
        resolve_weight_source("random", "nsd")


def test_minivd_clip_folder_is_used_on_the_seeded_path(tmp_path: Path) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(5)
    config = CLIPVisionConfig(
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        image_size=32,
        patch_size=8,
        projection_dim=16,
    )
    model = CLIPVisionModelWithProjection(config).eval()
    folder = tmp_path / "minivd"
    model.save_pretrained(folder / "image_encoder")
    (folder / "image_feature_extractor").mkdir()
    preprocessing = {
        "size": {"shortest_edge": 32},
        "crop_size": {"height": 32, "width": 32},
        "image_mean": [0.5, 0.5, 0.5],
        "image_std": [0.25, 0.25, 0.25],
    }
    (folder / "image_feature_extractor" / "preprocessor_config.json").write_text(json.dumps(preprocessing))
    unused = CalibrationSet(torch.zeros(0, 3, 8, 8), "none", "none")
    loaded = load_seeded(MINDEYE_SYNTH.extractors["clip"], MINDEYE_SYNTH, unused, minivd_dir=folder)
    assert loaded.provenance["method"] == "MiniVD CLIP vision encoder trained on SynthNSD"
    assert len(loaded.provenance["sha256"]) == 64  # the weights identity the feature cache is keyed by
    assert loaded.spec.size == 32 and loaded.spec.mean == (0.5, 0.5, 0.5)
    x = torch.rand(2, 3, 32, 32)
    with torch.inference_mode():
        assert torch.allclose(loaded.net(x)["embeds"], model(pixel_values=x).image_embeds)
