"""The table model: grouping that never mixes protocols or weights, and direction-aware best/second marks."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from eval.errors import DataError, HarnessError
from leaderboards.collect import LoadedResult
from leaderboards.table import BEST, SECOND, build_table, build_tables, rank_marks
from tests.leaderboards.conftest import make_result


def loaded(*results) -> list[LoadedResult]:
    return [LoadedResult(Path(f"/r/{i}.json"), r) for i, r in enumerate(results)]


@pytest.mark.parametrize(
    ("values", "direction", "marks"),
    [
        ([0.1, 0.3, 0.2], "higher", [0, BEST, SECOND]),
        ([0.1, 0.3, 0.2], "lower", [BEST, 0, SECOND]),
        ([0.5, 0.5, 0.4, 0.4, 0.1], "higher", [BEST, BEST, SECOND, SECOND, 0]),
        ([0.5, 0.5, 0.4], "lower", [SECOND, SECOND, BEST]),
        ([0.70001, 0.70004, 0.6], "higher", [BEST, BEST, SECOND]),  # equal at the 4 printed decimals
        ([None, 0.2, None], "higher", [0, BEST, 0]),
        ([0.2], "lower", [BEST]),
    ],
    ids=["higher", "lower", "ties", "ties-lower", "display-precision", "missing", "single"],
)
def test_rank_marks(values, direction, marks) -> None:
    assert rank_marks(values, direction) == marks


def test_lower_is_better_columns_mark_the_smallest() -> None:
    table = build_table(
        loaded(
            make_result("a", metrics={"ssim": 0.5, "effnet": 0.9}),
            make_result("b", metrics={"ssim": 0.3, "effnet": 0.7}),
            make_result("c", metrics={"ssim": 0.4, "effnet": 0.8}),
        )
    )
    names = [c.name for c in table.columns]
    marks = {row.decoder: {n: cell.mark for n, cell in zip(names, row.cells)} for row in table.rows}
    assert marks["a"] == {"ssim": BEST, "effnet": 0}
    assert marks["b"] == {"ssim": 0, "effnet": BEST}
    assert marks["c"] == {"ssim": SECOND, "effnet": SECOND}


def test_columns_follow_the_metric_table_order() -> None:
    table = build_table(loaded(make_result(metrics={"swav": 0.3, "pixcorr": 0.2, "clip": 0.9})))
    assert [c.name for c in table.columns] == ["pixcorr", "clip", "swav"]
    assert [c.arrow for c in table.columns] == ["\u2191", "\u2191", "\u2193"]


@pytest.mark.parametrize(
    "other",
    [
        dict(protocol=("braindiffuser", "1")),
        dict(protocol=("mindeye", "2")),
        dict(weights="seeded"),
        dict(test_set="u" * 64),
    ],
    ids=["protocol", "protocol-version", "weights", "test-set"],
)
def test_a_table_cannot_mix_what_does_not_compare(other) -> None:
    items = loaded(make_result("a"), make_result("b", **other))
    with pytest.raises(HarnessError, match="cannot share a table"):
        build_table(items)
    tables = build_tables(items)
    assert len(tables) == 2 and all(len(t.rows) == 1 for t in tables)
    other_key = (*other.get("protocol", ("mindeye", "1")), other.get("weights", "pretrained"))
    keys = {(t.key.protocol, t.key.protocol_version, t.key.weights_source) for t in tables}
    assert keys == {("mindeye", "1", "pretrained"), other_key}


def test_one_table_per_subject_plus_a_mean_over_decoders_present_in_all() -> None:
    items = loaded(
        make_result("a", 1, {"ssim": 0.2}), make_result("a", 2, {"ssim": 0.4}), make_result("b", 1, {"ssim": 0.9})
    )
    tables = build_tables(items)
    assert [t.subject_label for t in tables] == ["subj01", "subj02", "mean over subjects 01, 02"]
    mean = tables[-1]
    assert [r.decoder for r in mean.rows] == ["a"]
    assert mean.rows[0].cells[0].value == pytest.approx(0.3) and mean.rows[0].cells[0].ci95 is None


def test_two_files_of_one_identity_are_an_error() -> None:
    message = r"two results files of one run identity \(a\) in one table: /r/0.json and /r/1.json"
    with pytest.raises(DataError, match=message):
        build_table(loaded(make_result("a"), make_result("a")))
    with pytest.raises(DataError, match=r"one run identity \(mine\) in one table: /r/0.json and /r/1.json"):
        build_table(loaded(make_result("a"), make_result("a", tag="mine")))  # a tag changes no number


def labels(table) -> list[str]:
    return [row.label for row in table.rows]


def test_two_variants_of_a_decoder_are_two_rows() -> None:
    table = build_table(
        loaded(
            make_result("havir", kind="method", metrics={"ssim": 0.3}, variant={"strength": 0.5}),
            make_result("havir", kind="method", metrics={"ssim": 0.4}),
            make_result("havir", kind="method", metrics={"ssim": 0.1}, ablation="no_cap", variant={"guidance": 2}),
            make_result("havir", kind="method", metrics={"ssim": 0.2}, tag="mine", variant={"strength": 0.25}),
        )
    )
    assert labels(table) == [
        "havir",
        "havir \u00b7 strength=0.5",
        "mine \u00b7 strength=0.25",
        "havir / no_cap \u00b7 guidance=2",
    ]
    assert [r.cells[0].mark for r in table.rows] == [BEST, SECOND, 0, 0]
    assert len({r.identity_hash for r in table.rows}) == 4


def test_rows_whose_labels_coincide_are_told_apart() -> None:
    table = build_table(loaded(make_result("a", seed=0), make_result("a", seed=1), make_result("b")))
    a0, a1, b = table.rows
    assert a0.label == f"a #{a0.variant_key[:8]}" and a1.label == f"a #{a1.variant_key[:8]}" and a0.label != a1.label
    assert b.label == "b"


def test_the_mean_over_subjects_groups_rows_of_one_variant() -> None:
    items = loaded(
        make_result("havir", 1, {"ssim": 0.2}),
        make_result("havir", 2, {"ssim": 0.4}),
        make_result("havir", 1, {"ssim": 0.6}, variant={"strength": 0.5}),
        make_result("havir", 2, {"ssim": 0.8}, variant={"strength": 0.5}),
        make_result("havir", 1, {"ssim": 0.9}, variant={"strength": 0.25}),  # not run for subject 2
        # One identity under two tags: for the mean, two variants, each of one subject only.
        make_result("havir", 1, {"ssim": 0.1}, tag="t", variant={"strength": 0.1}),
        make_result("havir", 2, {"ssim": 0.3}, tag="u", variant={"strength": 0.1}),
    )
    mean = build_tables(items)[-1]
    assert mean.subject is None and mean.subjects == (1, 2)
    assert labels(mean) == ["havir", "havir \u00b7 strength=0.5"]
    assert [r.cells[0].value for r in mean.rows] == [pytest.approx(0.3), pytest.approx(0.7)]
    assert all(r.identity_hash is None and r.artifacts == () for r in mean.rows)


def test_seeded_weights_or_a_producer_saying_so_make_a_table_not_comparable() -> None:
    assert not build_table(loaded(make_result(weights="seeded"))).comparable_to_published
    assert build_table(loaded(make_result(weights="pretrained"))).comparable_to_published
    assert build_table(loaded(make_result(weights="none"))).comparable_to_published  # pixel metrics: no weights
    synthetic = make_result(weights="none")
    synthetic = replace(synthetic, weights=replace(synthetic.weights, comparable_to_published=False))
    assert not build_table(loaded(make_result("a", weights="none"), synthetic)).comparable_to_published


def test_a_synthetic_dataset_makes_a_table_not_comparable_and_says_why() -> None:
    table = build_table(loaded(make_result(weights="none", dataset="synthnsd")))
    assert not table.comparable_to_published
    assert table.not_comparable_because == ("dataset synthnsd, not NSD",)
