"""A trained decoder's CI reconstructions scored beside the reference floors, for the baselines' learning tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from eval.decoders import BuildContext, TestInputs


def scores_against_floors(ci_comparison: Path, name: str, data, stimuli, inputs: TestInputs) -> dict:
    """{name: (PixCorr, two-way), "mean_image": PixCorr, "random": two-way} on `inputs`' test images.

    `name`'s reconstructions come from the shared CI comparison (`tests/regression/ci_run.py`); two-way
    identification is in MiniVD's CLIP image space.
    """
    from baselines.reference import MeanImageDecoder, RandomDecoder
    from eval.backbone.shared import load_backbone
    from eval.metrics.identification import two_way_identification
    from eval.metrics.score import score_pixel_metrics
    from havir.identification import clip_embeddings
    from tests.regression.ci_run import reconstructions

    gt = stimuli.images_tensor(inputs.nsd_ids)
    context = BuildContext(device="cpu", seed=0, subject=1)
    recon = reconstructions(ci_comparison, name, inputs.nsd_ids)
    mean_image, random = MeanImageDecoder(context), RandomDecoder(context)
    for floor in (mean_image, random):
        floor.fit(data, stimuli)
    vd = load_backbone("minivd", "cpu")
    gt_embeds = clip_embeddings(vd, gt)

    def pixcorr(images: torch.Tensor) -> float:
        return float(np.mean(score_pixel_metrics(gt, images)["pixcorr"]))

    def two_way(images: torch.Tensor) -> float:
        return float(two_way_identification(gt_embeds, clip_embeddings(vd, images), standardised=False).mean())

    return {
        name: (pixcorr(recon), two_way(recon)),
        "mean_image": pixcorr(mean_image.reconstruct(inputs)),
        "random": two_way(random.reconstruct(inputs)),
    }
