"""Shapes through both HAVIR modules for NSD-sized and SynthNSD-sized inputs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from havir.config import HavirConfig
from havir.train import build_model

SIZES = {
    # Real NSD subject 1 through the real VD: ~15.7k nsdgeneral voxels; 4x64x64 latents, 257x768 and 77x768 tokens.
    "nsd": (
        SimpleNamespace(latent_shape=(4, 64, 64), image_token_shape=(257, 768), text_token_shape=(77, 768)),
        (5917, 9807),
    ),
    # SynthNSD default subject 1 through MiniVD.
    "synth": (
        SimpleNamespace(latent_shape=(4, 16, 16), image_token_shape=(65, 64), text_token_shape=(48, 64)),
        (687, 1533),
    ),
}


@pytest.mark.parametrize("size", SIZES)
def test_shapes_through_both_modules(size: str) -> None:
    info, (n_structural, n_semantic) = SIZES[size]
    # A narrow hidden layer keeps the NSD-sized heads small; the paper-scale widths only change the middle.
    config = HavirConfig(hidden=8, blocks=2, upsample=4 if size == "nsd" else 2)
    model = build_model(config, n_structural, n_semantic, info).eval()
    z, e_img, e_cap = model(torch.randn(3, n_structural), torch.randn(3, n_semantic))
    assert z.shape == (3, *info.latent_shape)
    assert e_img.shape == (3, *info.image_token_shape)
    assert e_cap.shape == (3, *info.text_token_shape)
    assert model.structural.low_res[1:] == (info.latent_shape[1] // config.upsample,) * 2
    layers = model.input_layers()
    assert layers["structural"].in_features == n_structural and layers["semantic"].in_features == n_semantic


def test_each_module_reads_only_its_own_voxels() -> None:
    info, (n_structural, n_semantic) = SIZES["synth"]
    model = build_model(HavirConfig(hidden=16), n_structural, n_semantic, info).eval()
    x_str, x_sem = torch.randn(2, n_structural), torch.randn(2, n_semantic)
    z, e_img, e_cap = model(x_str, x_sem)
    z2, e_img2, e_cap2 = model(x_str, torch.randn(2, n_semantic))
    assert torch.equal(z, z2) and not torch.allclose(e_img, e_img2) and not torch.allclose(e_cap, e_cap2)


def test_structural_output_keeps_per_image_channel_means() -> None:
    # GroupNorm alone would give every image the same channel means (its mean colour); the projection after it
    # must let them differ.
    info, (n_structural, n_semantic) = SIZES["synth"]
    model = build_model(HavirConfig(hidden=16), n_structural, n_semantic, info).eval()
    z, _, _ = model(torch.randn(4, n_structural), torch.randn(4, n_semantic))
    channel_means = z.mean(dim=(2, 3))
    assert channel_means.std(dim=0).min() > 1e-4
