"""Best of k samples, chosen by the brain-predicted embedding only.

MindEye1 generates several samples per image and keeps the one whose CLIP image embedding is most similar to
the embedding the brain predicted (the prior's output). The ground truth is never an input here: `best_of_k`
sees the samples' embeddings and the predictions, nothing else (MindBridge's choice by similarity to the ground
truth is a test-time leak; see the metrics notes).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

SELECTION = "brain-predicted embedding"


@torch.no_grad()
def flat_embeddings(vd, images: torch.Tensor) -> torch.Tensor:
    """The backbone's CLIP image tokens of `images` (the space the prior predicts in), flattened: [N, L*D]."""
    from eval.backbone.targets import to_backbone_size

    return vd.image_tokens(to_backbone_size(images.float(), vd.info.image_size)).flatten(1).float()


def best_of_k(samples: torch.Tensor, predicted: torch.Tensor) -> torch.Tensor:
    """For each image, the index of the sample whose embedding has the highest cosine similarity with the
    predicted one (the first on ties).

    Args:
        samples: Embeddings of the k samples of every image, [k, N, d].
        predicted: The brain-predicted embedding of every image, [N, d].

    Returns:
        Indices into the k samples, [N] (int64, on the inputs' device).
    """
    if samples.ndim != 3 or predicted.ndim != 2 or samples.shape[1:] != predicted.shape:
        raise ValueError(f"best_of_k: expected samples [k, N, d] and predicted [N, d], found "
                         f"{list(samples.shape)} and {list(predicted.shape)}")
    similarity = (F.normalize(samples.float(), dim=-1) * F.normalize(predicted.float(), dim=-1)).sum(-1)
    return similarity.argmax(0)
