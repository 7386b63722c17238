"""`--jobs N`: decoders split over worker processes give the numbers one process gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.parallel import partition
from eval.results import load_result
from eval.run import main
from tests.test_cli import result_file


def test_partition_balances_cost_and_keeps_the_command_order() -> None:
    groups = partition(["a", "heavy", "b", "c", "other_heavy"], [1, 10, 1, 1, 10], 2)
    # The two heavy decoders go to different workers; the light ones even the totals out (12 against 11).
    assert groups == [("a", "heavy", "c"), ("b", "other_heavy")]


def test_partition_never_makes_more_groups_than_decoders_or_jobs() -> None:
    assert partition(["a", "b"], [1, 1], 8) == [("a",), ("b",)]
    assert partition(["a", "b", "c"], [5, 1, 1], 1) == [("a", "b", "c")]
    assert len(partition(["a", "b", "c", "d"], [1, 1, 1, 1], 3)) == 3


def test_two_workers_write_the_numbers_of_one_process(ci_run: Path, tmp_path: Path, capsys) -> None:
    # ci_run ran the reference decoders in one process (seed 0, CI SynthNSD); two workers must agree exactly.
    args = ["--decoder", "mean_image,random", "--subject", "1", "--synth-preset", "ci", "--seed", "0"]
    assert main([*args, "--jobs", "2", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "running 2 worker processes" in out and out.count("dataset: ") == 1
    for decoder in ("mean_image", "random"):
        parallel = load_result(result_file(tmp_path / "results", decoder))
        single = load_result(result_file(ci_run / "results", decoder))
        assert parallel.identity == single.identity
        assert parallel.per_image.scores == single.per_image.scores
    assert (tmp_path / "index.html").is_file()


def test_a_bad_jobs_count_is_refused(tmp_path: Path, capsys) -> None:
    assert main(["--decoder", "random,mean_image", "--jobs", "0", "--synth-preset", "ci", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: --jobs: expected a positive number of worker processes, found 0"


@pytest.mark.parametrize("bad", [("--decoder-option", "steps=3")])
def test_a_bad_choice_is_refused_before_any_worker_starts(bad: tuple[str, ...], tmp_path: Path, capsys) -> None:
    code = main(["--decoder", "random,mean_image", *bad, "--jobs", "2", "--synth-preset", "ci", "--out", str(tmp_path)])
    captured = capsys.readouterr()
    assert code == 2 and "worker" not in captured.out
    assert captured.err.strip().startswith("error: --decoder-option steps: decoder 'random' has no options")
