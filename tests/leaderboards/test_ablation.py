"""Ablation tables: which results belong, row order, and deltas that are `eval.compare`'s paired bootstrap."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.compare import compare_results, paired_scores
from eval.errors import DataError
from eval.stats import stratified_paired_bootstrap
from leaderboards.ablation import ABLATION_SEED, build_ablation_tables
from leaderboards.collect import LoadedResult
from leaderboards.table import BEST
from tests.leaderboards.conftest import make_result

N = 40


def _loaded(*results) -> list[LoadedResult]:
    return [LoadedResult(Path(f"/r/{i}.json"), r) for i, r in enumerate(results)]


def _scores(subject: int, ablation: str | None, shift: float) -> dict[str, list[float]]:
    """SSIM and EffNet-B: the subject's base scores moved by `shift` (better, then worse); PixCorr: noise."""
    base = np.random.default_rng(subject).uniform(0.3, 0.7, N)
    noise = np.random.default_rng(100 * subject + len(ablation or "")).uniform(0, 1, N)
    return {"ssim": list(base + shift), "effnet": list(base - shift), "pixcorr": list(noise)}


def _havir(subject: int = 1, ablation: str | None = None, shift: float = 0.0, **kwargs):
    scores = _scores(subject, ablation, shift)
    return make_result("havir", subject, kind="method", ablation=ablation, per_image=scores, **kwargs)


def test_rows_are_the_full_model_then_ablations_with_compare_deltas() -> None:
    full, no_z, no_cap = _havir(), _havir(ablation="no_z", shift=-0.1), _havir(ablation="no_cap", shift=0.001)
    (table,) = build_ablation_tables(_loaded(no_z, full, no_cap, make_result("ridge")))
    assert table.decoder == "havir" and table.subject == 1 and table.subjects == (1,)
    assert [row.ablation for row in table.rows] == [None, "no_cap", "no_z"]
    assert [row.label for row in table.rows] == ["havir", "havir / no_cap", "havir / no_z"]
    assert all(d is None for d in table.rows[0].deltas)
    names = [c.name for c in table.columns]
    for row, result in zip(table.rows[1:], (no_cap, no_z)):
        expected = {r["metric"]: r for r in compare_results(result, full, seed=ABLATION_SEED)}
        for name, delta in zip(names, row.deltas):
            assert delta.diff == expected[name]["difference"]
            assert delta.ci95 == tuple(expected[name]["ci95"])
    no_z_row = dict(zip(names, table.rows[2].deltas))
    # SSIM 0.1 lower (worse), EffNet-B 0.1 higher (worse: lower is better): both excluded from zero.
    assert no_z_row["ssim"].diff == pytest.approx(-0.1) and no_z_row["ssim"].excludes_zero
    assert not no_z_row["ssim"].better and not no_z_row["effnet"].better and no_z_row["effnet"].excludes_zero
    no_cap_row = dict(zip(names, table.rows[1].deltas))
    assert no_cap_row["ssim"].better and no_cap_row["effnet"].better  # +0.001 SSIM, -0.001 EffNet-B
    ssim = names.index("ssim")
    assert table.rows[1].cells[ssim].mark == BEST  # no_cap's SSIM is the highest of the three


def test_only_variants_differing_by_the_ablation_alone_share_a_table() -> None:
    results = [
        _havir(),
        _havir(ablation="no_z"),
        _havir(ablation="no_cap", variant={"strength": 0.5}),  # other options: its own variant, no full model
        _havir(ablation="only_z", seed=1),  # another seed
        _havir(ablation="no_img", weights="seeded"),  # another table key
    ]
    (table,) = build_ablation_tables(_loaded(*results))
    assert [row.ablation for row in table.rows] == [None, "no_z"]
    assert build_ablation_tables(_loaded(_havir(), _havir(variant={"strength": 0.5}))) == []  # no ablation


def test_results_without_per_image_scores_have_no_deltas() -> None:
    full = make_result("havir", metrics={"ssim": 0.4})
    no_z = make_result("havir", ablation="no_z", metrics={"ssim": 0.3})
    (table,) = build_ablation_tables(_loaded(full, no_z))
    assert table.rows[1].cells[0].value == 0.3 and table.rows[1].deltas == (None,)


def test_a_mean_table_over_the_subjects_with_every_row() -> None:
    results = [_havir(s, a, shift=-0.05 if a else 0.0) for s in (1, 2, 5) for a in (None, "no_z")]
    results.append(_havir(7))  # subject 7 has no ablation: no table of its own, not in the mean
    tables = build_ablation_tables(_loaded(*results))
    assert [t.subject for t in tables] == [1, 2, 5, None]
    mean = tables[-1]
    assert mean.subjects == (1, 2, 5)
    full = {r.subject: r for r in results if r.decoder.ablation is None}
    ablated = {r.subject: r for r in results if r.decoder.ablation == "no_z"}
    pairs = [paired_scores(ablated[s], full[s]) for s in (1, 2, 5)]
    for column, delta in zip(mean.columns, mean.rows[1].deltas):
        a, b = zip(*(p[column.name] for p in pairs))
        expected = stratified_paired_bootstrap(list(a), list(b), seed=ABLATION_SEED, direction=column.direction)
        assert (delta.diff, delta.ci95) == (expected["difference"], tuple(expected["ci95"]))
    ssim = [c.name for c in mean.columns].index("ssim")
    assert mean.rows[1].deltas[ssim].diff == pytest.approx(-0.05) and mean.rows[1].deltas[ssim].excludes_zero
    assert mean.rows[0].cells[ssim].ci95 is not None and mean.rows[0].cells[ssim].n == 3 * N


def test_two_files_of_one_identity_are_an_error() -> None:
    with pytest.raises(DataError, match=r"two results files of one run identity \(havir / no_z\)"):
        build_ablation_tables(_loaded(_havir(), _havir(ablation="no_z"), _havir(ablation="no_z")))
