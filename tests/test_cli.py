"""`python -m eval.run` end to end on the CI-sized SynthNSD, and its one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.run import main

REPO = Path(__file__).resolve().parents[1]


def test_run_writes_results_and_a_leaderboard(ci_run: Path) -> None:
    results = sorted((ci_run / "results").glob("*.json"))
    assert len(results) == 8  # 4 reference decoders x subjects 1, 7
    result = json.loads(results[0].read_text())
    assert result["schema_version"] == 1
    assert result["dataset"]["label"] == "synthnsd (embedded default, ci preset)"
    assert result["dataset"]["n_test"] == len(result["per_image"]["nsd_ids"])
    assert set(result["metrics"]) >= {"pixcorr", "ssim"}
    html = (ci_run / "index.html").read_text()
    assert "nearest_neighbour" in html and "PixCorr" in html
    fingerprints = {json.loads(p.read_text())["dataset"]["test_set_fingerprint"] for p in results}
    assert len(fingerprints) == 1  # both subjects scored on the same test images


def _cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "eval.run", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def test_unknown_decoder_gets_did_you_mean() -> None:
    line = _one_line_error(_cli("--decoder", "nearest_neighbor"))
    assert "Did you mean: nearest_neighbour?" in line


def test_unknown_ablation_is_refused() -> None:
    assert "Unknown ablation 'no_cap' for decoder 'mean_image'" in _one_line_error(
        _cli("--decoder", "mean_image", "--ablation", "no_cap")
    )


def test_missing_nsd_root_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-nsd"
    assert str(missing) in _one_line_error(_cli("--decoder", "random", "--nsd-root", str(missing)))


def test_nsd_root_without_design_names_the_expected_file(tmp_path: Path) -> None:
    line = _one_line_error(_cli("--decoder", "random", "--nsd-root", str(tmp_path)))
    assert "nsd_expdesign.mat" in line


def test_unwritable_output_folder_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    line = _one_line_error(_cli("--decoder", "random", "--out", str(blocker / "out")))
    assert line.startswith("error: --out: cannot write to folder")


def test_missing_backbone_names_every_place_looked(tmp_path: Path) -> None:
    missing = tmp_path / "no-vd"
    line = _one_line_error(_cli("--decoder", "vd_autokl", "--vd-model", str(missing)))
    assert f"Versatile Diffusion model '{missing}' not found; looked in: {missing}" in line


def test_bad_subject_is_refused() -> None:
    assert "--subject" in _one_line_error(_cli("--decoder", "random", "--subject", "nine"))


def test_cuda_without_a_gpu_is_refused() -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    assert "--device cuda" in _one_line_error(_cli("--decoder", "random", "--device", "cuda"))


def test_rerun_keeps_earlier_results_and_adds_new_ones(ci_run: Path, tmp_path: Path) -> None:
    """Results of other decoders already in the output folder survive a run and appear on its leaderboard."""
    import shutil

    out = Path(shutil.copytree(ci_run, tmp_path / "out"))
    before = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert (
        main(["--decoder", "random", "--subject", "1", "--synth-preset", "ci", "--seed", "3", "--out", str(out)]) == 0
    )
    after = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    assert set(after) == set(before)
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["random__full__subj01__mindeye.json"]
    assert "ground_truth" in (out / "index.html").read_text()
