"""Backbone oracles run through the harness's decoder interface, on a tiny random VD model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines.vd_oracle import VD_AUTOKL, VD_IMG2IMG_ORACLE, VD_TEXT_ORACLE, VD_TOKENS_ORACLE
from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, TestInputs, Variant


@pytest.fixture(scope="module")
def setting(synth_root):
    return build_subject(synth_root, 1, PrepareOptions()), Stimuli(synth_root)


@pytest.mark.parametrize(
    "spec", [VD_AUTOKL, VD_IMG2IMG_ORACLE, VD_TOKENS_ORACLE, VD_TEXT_ORACLE], ids=lambda s: s.name
)
def test_oracle_reconstructs_the_test_images_at_backbone_size(spec, tiny_vd_dir, setting):
    data, stimuli = setting
    decoder = spec.build(BuildContext(device="cpu", seed=0, subject=1), Variant(backbone=str(tiny_vd_dir)))
    decoder.fit(data, stimuli)
    ids = np.asarray(data.test_ids[:3])
    images = decoder.reconstruct(TestInputs(fmri=data.test_fmri[:3], nsd_ids=ids))
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.float32
    assert 0.0 <= float(images.min()) and float(images.max()) <= 1.0
    assert decoder.meta.kind == "reference" and decoder.meta.flags["uses_ground_truth"] is True
    assert torch.equal(images, decoder.reconstruct(TestInputs(fmri=data.test_fmri[:3], nsd_ids=ids)))


def test_caption_tokens_average_each_images_captions(tiny_vd_dir):
    from eval.backbone.model import VersatileBackbone

    vd = VersatileBackbone.load(tiny_vd_dir)
    captions = [["a red ball", "a ball"], ["two cats", "cats", "a pair of cats"]]
    tokens = vd.caption_tokens(captions)
    assert tokens.shape == (2, *vd.info.text_token_shape)
    assert torch.allclose(tokens[1], vd.text_tokens(captions[1]).mean(0), atol=1e-6)


def test_text_oracle_reads_the_captions_alone(tiny_vd_dir, setting, monkeypatch):
    data, stimuli = setting
    decoder = VD_TEXT_ORACLE.build(BuildContext(device="cpu", seed=0, subject=1), Variant(backbone=str(tiny_vd_dir)))
    decoder.fit(data, stimuli)
    seen = {}

    def generate(**kwargs):
        seen.update(kwargs)
        return torch.zeros(len(kwargs["text_tokens"]), 3, 32, 32)

    monkeypatch.setattr(decoder.backbone, "generate", generate)
    decoder.reconstruct(TestInputs(fmri=data.test_fmri[:2], nsd_ids=np.asarray(data.test_ids[:2])))
    assert seen["latents"] is None and "image_tokens" not in seen
    assert seen["options"].mix_ratio == 1.0 and seen["text_tokens"].shape[0] == 2
