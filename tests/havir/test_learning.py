"""HAVIR learns on SynthNSD: on a CI-sized run it beats the mean image on PixCorr and chance on two-way
identification (MiniVD's CLIP image space). Needs the shipped MiniVD weights (a random model cannot show it)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eval.backbone.locate import MINIVD_DIR
from eval.decoders import BuildContext, TestInputs
from eval.metrics.score import score_pixel_metrics

pytestmark = pytest.mark.skipif(
    not (MINIVD_DIR / "model_index.json").is_file(), reason=f"MiniVD weights not installed at {MINIVD_DIR}"
)


def test_havir_beats_the_reference_floors_on_ci_synthnsd(subject1, ci_comparison) -> None:
    """The reconstructions of the shared CI comparison (`tests/regression/ci_run.py`: default options, 4 steps)."""
    from baselines.reference import MeanImageDecoder, RandomDecoder
    from eval.backbone.shared import load_backbone
    from eval.metrics.identification import two_way_identification
    from havir.identification import clip_embeddings
    from tests.regression.ci_run import reconstructions

    data, stimuli = subject1
    count = 64
    inputs = TestInputs(fmri=np.asarray(data.test_fmri[:count]), nsd_ids=np.asarray(data.test_ids[:count]))
    gt = stimuli.images_tensor(inputs.nsd_ids)

    context = BuildContext(device="cpu", seed=0, subject=1)
    recon = reconstructions(ci_comparison, "havir", inputs.nsd_ids)
    mean_image, random = MeanImageDecoder(context), RandomDecoder(context)
    for floor in (mean_image, random):
        floor.fit(data, stimuli)

    def pixcorr(images: torch.Tensor) -> float:
        return float(np.mean(score_pixel_metrics(gt, images)["pixcorr"]))

    vd = load_backbone("minivd", "cpu")
    gt_embeds = clip_embeddings(vd, gt)

    def two_way(images: torch.Tensor) -> float:
        return float(two_way_identification(gt_embeds, clip_embeddings(vd, images), standardised=False).mean())

    scores = {"havir": (pixcorr(recon), two_way(recon))}
    scores["mean_image"] = (pixcorr(mean_image.reconstruct(inputs)), None)
    scores["random"] = (None, two_way(random.reconstruct(inputs)))
    print(scores)
    assert scores["havir"][0] > scores["mean_image"][0], scores
    assert scores["havir"][1] > scores["random"][1] + 0.05, scores
