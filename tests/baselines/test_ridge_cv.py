"""The multi-target ridge: its chosen penalties and predictions equal a direct closed-form solve and himalaya's."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from baselines.ridge_cv import DualRidge, RidgeFit

ALPHAS = (0.3, 3.0, 30.0, 300.0)


def problem(n: int, p: int, t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inputs with an offset, targets from a sparse linear map plus noise of target-dependent size (so different
    targets prefer different penalties), and test inputs."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n + 9, p)) + rng.normal(size=p)
    w = rng.normal(size=(p, t)) * (rng.random((p, t)) < 0.2)
    y = x @ w + rng.normal(size=(n + 9, t)) * np.linspace(0.1, 30.0, t) + 5.0
    return x[:n], y[:n], x[n:]


def closed_form(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) of min ||Y - X W - b||^2 + alpha ||W||^2: W = (X_c^T X_c + alpha I)^-1 X_c^T Y_c."""
    xm, ym = x.mean(0), y.mean(0)
    xc, yc = x - xm, y - ym
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return w, ym - xm @ w


def direct_cv(x, y, splits, alphas) -> np.ndarray:
    """Scores (alphas, targets): negative held-out mean squared error of the closed form, averaged over folds."""
    scores = np.zeros((len(alphas), y.shape[1]))
    for train, held in splits:
        for k, alpha in enumerate(alphas):
            w, b = closed_form(x[train], y[train], alpha)
            scores[k] -= ((y[held] - x[held] @ w - b) ** 2).mean(0) / len(splits)
    return scores


@pytest.mark.parametrize(("n", "p"), [(60, 90), (90, 40)], ids=["more-voxels-than-rows", "more-rows-than-voxels"])
def test_chosen_penalties_and_predictions_equal_the_closed_form(n: int, p: int) -> None:
    x, y, x_test = problem(n, p, t=12)
    solver = DualRidge(x, folds=4, seed=3, dtype=torch.float64)
    fit = solver.fit(y, alphas=ALPHAS, group_size=1, chunk=5)  # blocks of 5 targets: the chunking is exercised

    scores = direct_cv(x, y, solver.splits(), ALPHAS)
    best = scores.argmax(0)
    assert len(set(best.tolist())) > 1, "the problem should make targets prefer different penalties"
    np.testing.assert_array_equal(fit.alphas.numpy(), np.asarray(ALPHAS)[best])
    np.testing.assert_allclose(fit.cv_scores.numpy(), scores.max(0), rtol=1e-9)

    expected = np.stack(
        [x_test @ w[:, j] + b[j] for j, (w, b) in enumerate(closed_form(x, y, a) for a in np.asarray(ALPHAS)[best])],
        axis=1,
    )
    np.testing.assert_allclose(fit.predict(x_test).numpy(), expected, rtol=1e-8, atol=1e-8)


def test_grouped_targets_share_the_penalty_their_mean_score_prefers() -> None:
    x, y, _ = problem(50, 70, t=12, seed=1)
    solver = DualRidge(x, folds=5, seed=0, dtype=torch.float64)
    fit = solver.fit(y, alphas=ALPHAS, group_size=4)
    scores = direct_cv(x, y, solver.splits(), ALPHAS).reshape(len(ALPHAS), 3, 4).mean(-1)
    np.testing.assert_array_equal(fit.alphas.numpy(), np.repeat(np.asarray(ALPHAS)[scores.argmax(0)], 4))
    with pytest.raises(ValueError, match="divisor of 12"):
        solver.fit(y, alphas=ALPHAS, group_size=5)


def test_one_penalty_skips_cross_validation() -> None:
    x, y, x_test = problem(40, 30, t=3)
    fit = DualRidge(x, dtype=torch.float64).fit(y, alphas=(7.0,))
    assert torch.isnan(fit.cv_scores).all() and (fit.alphas == 7.0).all()
    w, b = closed_form(x, y, 7.0)
    np.testing.assert_allclose(fit.predict(x_test).numpy(), x_test @ w + b, rtol=1e-8, atol=1e-8)


def test_streamed_targets_and_coefficients_equal_the_in_memory_fit() -> None:
    x, y, x_test = problem(50, 80, t=10)
    solver = DualRidge(x, folds=3, dtype=torch.float64)
    whole = solver.fit(y, alphas=ALPHAS)
    kept: dict[int, torch.Tensor] = {}
    streamed = solver.fit(lambda a, b: y[:, a:b], 10, alphas=ALPHAS, chunk=3, keep=lambda a, b, c: kept.update({a: c}))
    assert streamed.coef.shape == (whole.coef.shape[0], 0) and sorted(kept) == [0, 3, 6, 9]
    torch.testing.assert_close(torch.cat([kept[k] for k in sorted(kept)], dim=1), whole.coef)
    torch.testing.assert_close(streamed.alphas, whole.alphas)


def test_fit_round_trips_through_arrays() -> None:
    x, y, x_test = problem(30, 20, t=4)
    fit = DualRidge(x, folds=3).fit(y, alphas=ALPHAS)
    again = RidgeFit.from_arrays(fit.to_arrays("z"), "z")
    torch.testing.assert_close(again.predict(x_test), fit.predict(x_test))
    assert "alpha" in fit.summary() and "R2" in fit.summary()


def test_matches_himalaya_ridge_cv_on_the_same_folds() -> None:
    himalaya = pytest.importorskip("himalaya.ridge")
    from himalaya.backend import set_backend

    set_backend("numpy")
    x, y, x_test = problem(60, 45, t=9, seed=2)
    solver = DualRidge(x, folds=5, seed=1, dtype=torch.float64)
    fit = solver.fit(y, alphas=ALPHAS)
    reference = himalaya.RidgeCV(alphas=np.asarray(ALPHAS), fit_intercept=True, cv=solver.splits()).fit(x, y)
    # himalaya stores the penalties as exp(-log(1 / alpha)): equal to rounding
    np.testing.assert_allclose(fit.alphas.numpy(), np.asarray(reference.best_alphas_), rtol=1e-12)
    assert len(set(fit.alphas.tolist())) > 1
    np.testing.assert_allclose(fit.predict(x_test).numpy(), reference.predict(x_test), rtol=1e-6, atol=1e-6)
