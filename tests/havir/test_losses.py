"""HAVIR's losses against the paper's equations."""

from __future__ import annotations

import math

import pytest
import torch

from havir.losses import flat_unit, sobel, sobel_loss, soft_clip_loss, structural_loss, token_loss


def eq4_transcription(p: torch.Tensor, t: torch.Tensor, tau: float) -> float:
    """Equation (4) written with explicit loops over i, j and m."""
    n = p.shape[0]
    total = 0.0
    for i in range(n):
        label_den = sum(math.exp(float(t[i] @ t[m]) / tau) for m in range(n))
        pred_den = sum(math.exp(float(p[i] @ t[m]) / tau) for m in range(n))
        for j in range(n):
            label = math.exp(float(t[i] @ t[j]) / tau) / label_den
            total -= label * math.log(math.exp(float(p[i] @ t[j]) / tau) / pred_den)
    return total


def test_soft_clip_matches_equation_4() -> None:
    torch.manual_seed(0)
    p, t = flat_unit(torch.randn(7, 3, 5)).double(), flat_unit(torch.randn(7, 3, 5)).double()
    expected = eq4_transcription(p, t, tau=0.3)
    assert float(soft_clip_loss(p, t, 0.3, reduction="sum")) == pytest.approx(expected, rel=1e-9)
    assert float(soft_clip_loss(p, t, 0.3)) == pytest.approx(expected / 7, rel=1e-9)


def test_soft_clip_rows_split_over_processes_add_up_to_the_whole_batch() -> None:
    torch.manual_seed(1)
    p, t = torch.randn(8, 6).double(), torch.randn(8, 6).double()
    whole = soft_clip_loss(p, t, 0.5, reduction="sum")
    halves = sum(soft_clip_loss(p[r::2], t[r::2], 0.5, all_targets=t, reduction="sum") for r in range(2))
    assert float(halves) == pytest.approx(float(whole), rel=1e-12)


def test_soft_clip_is_lower_for_the_matching_prediction() -> None:
    torch.manual_seed(2)
    t = flat_unit(torch.randn(16, 32))
    shuffled = t[torch.randperm(16)]
    assert soft_clip_loss(t, t, 0.05) < soft_clip_loss(shuffled, t, 0.05)


def test_sobel_loss_is_zero_for_equal_latents_and_positive_otherwise() -> None:
    torch.manual_seed(3)
    z = torch.randn(2, 4, 16, 16)
    assert float(sobel_loss(z, z.clone())) == 0.0
    assert float(sobel_loss(z, z + 0.1 * torch.randn_like(z))) > 0.0
    # A constant shift has the same gradients: the Sobel term ignores it, the MSE term does not.
    assert float(sobel_loss(z, z + 1.0)) == pytest.approx(0.0, abs=1e-10)
    total, parts = structural_loss(z, z + 1.0)
    assert parts["str_mse"] == pytest.approx(1.0) and float(total) == pytest.approx(1.0, abs=1e-6)


def test_sobel_kernels_are_kx_and_its_transpose() -> None:
    ramp = torch.arange(5.0).view(1, 1, 1, 5).expand(1, 1, 5, 5)  # increases along x only
    grads = sobel(ramp)
    assert grads.shape == (1, 2, 5, 5)
    assert torch.allclose(grads[0, 0, :, 2], torch.full((5,), 8.0))  # interior: (1+2+1) * 2 per step of 1
    assert torch.allclose(grads[0, 1], torch.zeros(5, 5))
    assert torch.allclose(sobel(ramp.transpose(-1, -2))[0, 1, 2, :], torch.full((5,), 8.0))


def test_token_loss_has_a_contrastive_and_a_direct_part() -> None:
    torch.manual_seed(4)
    target = torch.randn(6, 3, 4)
    contrastive, mse = token_loss(2 * target, target, 0.1)  # same direction, twice the length
    contrastive_same, mse_same = token_loss(target, target, 0.1)
    assert float(contrastive) == pytest.approx(float(contrastive_same))  # SoftCLIP sees directions only
    assert float(mse) > 0.0 and float(mse_same) == 0.0
