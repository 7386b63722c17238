"""`python -m eval.compare`: paired bootstrap between two decoders' results files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from eval.compare import compare_results, main
from eval.errors import InputError
from eval.metrics.spec import METRICS
from eval.results import ProtocolInfo, load_result
from tests.test_cli import result_file


def _result(ci_run: Path, decoder: str):
    return load_result(result_file(ci_run / "results", decoder))


def test_nearest_neighbour_beats_random_on_every_identification(ci_run: Path) -> None:
    rows = compare_results(_result(ci_run, "nearest_neighbour"), _result(ci_run, "random"))
    assert [r["metric"] for r in rows] == list(METRICS)
    for row in rows:
        if METRICS[row["metric"]].kind == "identification":
            assert row["difference"] > 0 and row["ci95"][0] > 0 and row["p_a_not_better"] < 0.05, row


def test_results_of_different_protocols_are_refused(ci_run: Path) -> None:
    a = _result(ci_run, "random")
    b = _result(ci_run, "mean_image")
    identity = dataclasses.replace(b.identity, protocol="mindeye", protocol_version="2")
    b = dataclasses.replace(b, protocol=ProtocolInfo("mindeye", "2"), identity=identity)
    with pytest.raises(InputError, match=r"protocol differs \(mindeye-synth v1 vs mindeye v2\)"):
        compare_results(a, b, ("random", "mean_image"))


def test_command_prints_one_line_per_metric(ci_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(result_file(ci_run / "results", d)) for d in ("ground_truth", "random")]
    assert main(files) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 + len(METRICS) and out[1].startswith("PixCorr")
