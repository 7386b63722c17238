"""The subject-mean cell's interval: a stratified bootstrap over each subject's test images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.errors import InputError
from eval.stats import bootstrap_mean_ci, paired_bootstrap, stratified_mean_ci, stratified_paired_bootstrap
from leaderboards.collect import LoadedResult
from leaderboards.table import MEAN_SEED, build_tables, mean_cell, mean_cells
from tests.leaderboards.conftest import make_result


def test_a_hand_computed_case_resamples_within_each_subject() -> None:
    # Subject A's resampled mean is 0, 0.5 or 1 (p = 1/4, 1/2, 1/4); subject B's is always 0.5, so the mean over
    # subjects is 0.25, 0.5 or 0.75 and the 95% percentile interval is exactly [0.25, 0.75]. Pooling the four
    # images instead would put resampled means below 0.25 (e.g. 0, 0, 0, 0.5 -> 0.125).
    assert stratified_mean_ci([[0.0, 1.0], [0.5, 0.5]], n_boot=4000) == (0.25, 0.75)
    pooled = bootstrap_mean_ci([0.0, 1.0, 0.5, 0.5], n_boot=4000)
    assert pooled[0] < 0.25 and pooled[1] > 0.75


def test_one_subject_is_the_ordinary_bootstrap_and_the_paired_one() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=50), rng.normal(size=50)
    assert stratified_mean_ci([a], seed=7) == bootstrap_mean_ci(a, seed=7)
    assert stratified_paired_bootstrap([a], [b], seed=3, direction="lower") == paired_bootstrap(
        a, b, seed=3, direction="lower"
    )


def test_the_interval_holds_the_mean_narrows_with_more_images_and_is_seeded() -> None:
    rng = np.random.default_rng(2)
    small = [rng.normal(0.4, 0.2, 20), rng.normal(0.6, 0.2, 30)]
    large = [rng.normal(0.4, 0.2, 2000), rng.normal(0.6, 0.2, 3000)]
    widths = []
    for groups in (small, large):
        low, high = stratified_mean_ci(groups)
        assert low < np.mean([g.mean() for g in groups]) < high
        widths.append(high - low)
    assert widths[1] < widths[0] / 5  # ~sqrt(100) narrower
    assert stratified_mean_ci(small, seed=4) == stratified_mean_ci(small, seed=4)
    assert stratified_mean_ci(small, seed=4) != stratified_mean_ci(small, seed=5)


def test_bad_groups_are_refused() -> None:
    with pytest.raises(InputError, match="at least one group"):
        stratified_mean_ci([])
    with pytest.raises(InputError, match="finite"):
        stratified_mean_ci([[0.1, np.nan]])
    with pytest.raises(InputError, match="same groups"):
        stratified_paired_bootstrap([[0.1]], [[0.1], [0.2]])


def _loaded(*results) -> list[LoadedResult]:
    return [LoadedResult(Path(f"/r/{i}.json"), r) for i, r in enumerate(results)]


def test_the_mean_table_gives_each_cell_the_stratified_interval() -> None:
    rng = np.random.default_rng(3)
    scores = {1: rng.uniform(0, 1, 40), 2: rng.uniform(0.2, 1, 60)}
    results = [make_result("a", s, per_image={"ssim": list(v), "effnet": list(1 - v)}) for s, v in scores.items()]
    mean = build_tables(_loaded(*results))[-1]
    assert mean.subject is None and mean.subjects == (1, 2)
    ssim = mean.rows[0].cells[[c.name for c in mean.columns].index("ssim")]
    assert ssim.value == pytest.approx((scores[1].mean() + scores[2].mean()) / 2)
    assert ssim.ci95 == stratified_mean_ci([scores[1], scores[2]], seed=0) and ssim.n == 100
    assert ssim.ci95[0] < ssim.value < ssim.ci95[1]


def test_results_without_per_image_scores_get_no_interval() -> None:
    with_scores = make_result("a", 1, per_image={"ssim": [0.2, 0.4, 0.6]})
    without = make_result("a", 2, metrics={"ssim": 0.5})
    cell = mean_cell([with_scores, without], "ssim")
    assert cell.value == pytest.approx(0.45) and cell.ci95 is None and cell.n is None
    assert mean_cell([with_scores, without], "pixcorr").value is None  # one result lacks the metric


def test_a_rows_cells_equal_one_metric_at_a_time() -> None:
    rng = np.random.default_rng(8)
    metrics = ("pixcorr", "ssim", "alexnet2")
    results = [make_result("d", s, per_image={m: rng.uniform(size=n).tolist() for m in metrics})
               for s, n in ((1, 40), (2, 40), (5, 33))]
    cells = mean_cells(results, [*metrics, "clip"])
    for metric, cell in zip(metrics, cells):
        scores = [r.per_image.scores[metric] for r in results]
        assert cell.ci95 == stratified_mean_ci(scores, seed=MEAN_SEED) and cell.n == 113
        assert cell == mean_cell(results, metric)
    assert cells[3].value is None
