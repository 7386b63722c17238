"""Two-way identification, correlation distance and their statistics against direct transcriptions."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.spatial.distance
import scipy.stats
import torch

from eval.errors import InputError
from eval.metrics.identification import correlation_distance, standardise_rows, two_way_identification
from eval.stats import identification_p_value, paired_bootstrap


def reference_two_way(gt: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """The definition, literally: Pearson r of every ground truth j with every reconstruction i, float64."""
    n = len(gt)
    r = np.corrcoef(np.concatenate([gt, recon]))[:n, n:]  # r[j, i]
    scores = []
    for i in range(n):
        distractors = [j for j in range(n) if j != i]
        scores.append(sum(r[j, i] < r[i, i] for j in distractors) / (n - 1))
    return np.array(scores)


@pytest.fixture(scope="module")
def features() -> tuple[np.ndarray, np.ndarray]:
    """Noisy reconstructions of random features, with exact ties: duplicated ground truth and reconstructions."""
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(40, 300))
    recon = gt + rng.normal(scale=3.0, size=gt.shape)
    gt[7] = gt[3]  # a distractor identical to the target: a tie, which loses
    recon[11] = recon[12]
    recon[20] = gt[20]
    gt[21] = gt[20]  # recon 20 ties at r = 1 with distractor 21
    return gt, recon


def test_two_way_identification_equals_the_definition_with_ties(features) -> None:
    gt, recon = features
    ours = two_way_identification(standardise_rows(gt), standardise_rows(recon))
    ref = reference_two_way(gt, recon)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert ref[20] < 1.0 and ref.std() > 0.05  # the tie at r = 1 lost, and scores vary: the test can fail


def test_correlation_distance_equals_scipy(features) -> None:
    gt, recon = features
    ours = correlation_distance(standardise_rows(gt), standardise_rows(recon))
    ref = [scipy.spatial.distance.correlation(a, b) for a, b in zip(gt, recon)]
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)
    assert ours[20] == pytest.approx(0.0, abs=1e-6)


def test_identical_sets_identify_perfectly_and_constant_features_score_zero() -> None:
    gt = torch.randn(6, 50, generator=torch.Generator().manual_seed(1))
    std = standardise_rows(gt)
    assert (two_way_identification(std, std) == 1.0).all()
    rows = standardise_rows(torch.cat([gt[:5], torch.ones(1, 50)]))
    assert torch.all(rows[5] == 0)
    scores = two_way_identification(std, rows)  # a constant reconstruction wins no comparison
    assert scores[5] == 0.0 and (scores[:5] == 1.0).all()


def test_mismatched_features_are_refused() -> None:
    with pytest.raises(InputError, match="expected standardised features"):
        two_way_identification(torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(InputError, match="at least 2 images"):
        two_way_identification(torch.zeros(1, 3), torch.zeros(1, 3))


def test_binomial_p_value_is_brain_diffusers_formula() -> None:
    n = 30
    rng = np.random.default_rng(2)
    scores = rng.integers(13, 19, size=n) / (n - 1)
    score = scores.mean()
    expected = 1 - scipy.stats.binom.cdf(round(score * n * (n - 1)), n * (n - 1), 0.5)
    assert 1e-6 < expected < 0.5
    assert identification_p_value(scores) == pytest.approx(expected, rel=1e-9)
    assert identification_p_value(np.full(n, 0.5)) > 0.4  # chance is not significant
    strong = np.full(n, 0.9)
    assert 1 - scipy.stats.binom.cdf(0.9 * n * (n - 1), n * (n - 1), 0.5) == 0.0  # the formula underflows
    assert 0 < identification_p_value(strong) < 1e-20  # the survival function keeps the tail


def test_paired_bootstrap_sees_a_small_consistent_difference() -> None:
    rng = np.random.default_rng(3)
    shared = rng.uniform(0, 1, size=500)  # what both decoders share about each image
    a = shared + 0.01
    b = shared + rng.normal(scale=0.001, size=500)
    out = paired_bootstrap(a, b, seed=0)
    assert out["difference"] == pytest.approx(0.01, abs=2e-4)
    assert out["ci95"][0] > 0 and out["p_a_not_better"] == 0.0
    assert paired_bootstrap(a, b, direction="lower")["p_a_not_better"] == 1.0
    with pytest.raises(InputError, match="same images"):
        paired_bootstrap(a, b[:10])


def test_standardise_rows_writes_in_place_into_out_and_checks_it() -> None:
    features = torch.randn(5, 7, 3, generator=torch.Generator().manual_seed(3)) * 4 + 2
    out = torch.full((5, 21), float("nan"))
    assert standardise_rows(features, out=out) is out
    np.testing.assert_array_equal(out.numpy(), standardise_rows(features).numpy())
    np.testing.assert_allclose(out.sum(dim=1).numpy(), 0, atol=1e-5)
    np.testing.assert_allclose(out.norm(dim=1).numpy(), 1, atol=1e-6)
    with pytest.raises(InputError, match=r"out must be float32 \[5, 21\], found torch.float64"):
        standardise_rows(features, out=torch.empty(5, 21, dtype=torch.float64))
