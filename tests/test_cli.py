"""`python -m eval.run` end to end on the CI-sized SynthNSD, and its one-line errors for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.metrics.spec import METRICS
from eval.results import load_result
from eval.run import main

REPO = Path(__file__).resolve().parents[1]


def result_file(results: Path, decoder: str, subject: int = 1) -> Path:
    """The one results file of a decoder's default variant (its name ends in the identity's hash)."""
    candidates = sorted(results.glob(f"{decoder}__full__subj{subject:02d}__mindeye-synth__*.json"))
    found = [path for path in candidates if load_result(path).variant == {}]
    assert len(found) == 1, found
    return found[0]


def test_run_writes_results_and_a_leaderboard(ci_run: Path) -> None:
    results = sorted((ci_run / "results").glob("*.json"))
    assert len(results) == 8  # 4 reference decoders x subjects 1, 7
    result = json.loads(results[0].read_text())
    assert result["schema_version"] == 2
    identity = result["identity"]
    assert (identity["decoder"], identity["subject"], identity["seed"], identity["backbone"]) == (
        Path(results[0]).name.split("__")[0], int(Path(results[0]).name.split("__")[2][4:]), 0, None
    )
    assert identity["data_fingerprint"] == result["dataset"]["fingerprint"] and result["variant"] == {}
    assert result["dataset"]["label"] == "synthnsd (embedded default, ci preset)"
    assert result["dataset"]["n_test"] == len(result["per_image"]["nsd_ids"])
    assert list(result["metrics"]) == list(METRICS)  # all eight, in the papers' order
    assert result["protocol"] == {"name": "mindeye-synth", "version": "1"}
    assert result["weights"]["source"] == "seeded" and not result["weights"]["comparable_to_published"]
    assert set(result["weights"]["extractors"]) == {"alexnet", "inception", "clip", "effnet", "swav"}
    assert set(result["per_image"]["scores"]) == set(METRICS)
    assert 0 <= result["metrics"]["alexnet2"]["p_value"] <= 1 and result["metrics"]["ssim"]["p_value"] is None
    html = (ci_run / "index.html").read_text()
    assert "nearest_neighbour" in html
    for spec in METRICS.values():
        assert spec.display in html
    fingerprints = {json.loads(p.read_text())["dataset"]["test_set_fingerprint"] for p in results}
    assert len(fingerprints) == 1  # both subjects scored on the same test images
    # The report tables of the same folder: the mean over both subjects, in the three formats, and their index.
    assert sorted(p.suffix for p in (ci_run / "report").glob("comparison_*_mean.*")) == [".csv", ".md", ".tex"]
    assert "comparison_" in (ci_run / "report" / "README.md").read_text()


def test_seeded_extractors_separate_images_in_the_reference_run(ci_run: Path) -> None:
    """Chance for the random decoder, the bounds for the ground truth, on every feature metric."""
    for subject in (1, 7):
        results = {
            name: load_result(result_file(ci_run / "results", name, subject)).metrics
            for name in ("random", "ground_truth")
        }
        for spec in METRICS.values():
            if spec.kind == "identification":
                assert abs(results["random"][spec.name].value - 0.5) < 0.1, spec.name
                assert results["ground_truth"][spec.name].value == 1.0
            elif spec.kind == "distance":
                assert results["random"][spec.name].value > 0.3, spec.name
                assert results["ground_truth"][spec.name].value == pytest.approx(0.0, abs=1e-5)


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


@pytest.mark.slow  # three CI runs, about 35 s: run with -m slow
def test_a_variant_is_added_beside_the_default_and_a_rerun_replaces_its_own_file(ci_run: Path, tmp_path: Path) -> None:
    """Another seed is another identity: a new file beside the others; the same identity replaces its own file."""
    import shutil

    out = Path(shutil.copytree(ci_run, tmp_path / "out"))
    before = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    args = ["--decoder", "random", "--subject", "1", "--synth-preset", "ci", "--out", str(out)]
    assert main([*args, "--seed", "3"]) == 0
    after = {p.name: p.read_bytes() for p in (out / "results").glob("*.json")}
    added = sorted(set(after) - set(before))
    assert len(added) == 1 and added[0].startswith("random__full__subj01__mindeye-synth__"), added
    assert all(after[name] == before[name] for name in before)  # nothing else touched
    assert load_result(out / "results" / added[0]).variant == {"seed": 3}
    assert "random \u00b7 seed=3" in (out / "index.html").read_text()

    default = result_file(out / "results", "random")
    proc = _cli(*args, "--seed", "0")
    assert proc.returncode == 0, proc.stderr
    assert f"replaced {default}" in proc.stdout
    assert sorted(p.name for p in (out / "results").glob("*.json")) == sorted(after)


@pytest.mark.slow  # two concurrent CI runs, about 33 s: run with -m slow
def test_two_runs_of_one_identity_at_once_leave_one_valid_file(synth_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--decoder", "mean_image", "--synth-preset", "ci", "--out", str(out)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "eval.run", *args], cwd=REPO, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
    files = sorted((out / "results").glob("*.json"))
    assert len(files) == 1, files
    assert load_result(files[0]).decoder.name == "mean_image"
    leftovers = [p for p in out.rglob(".*") if p.is_file() and p.name != ".results-write.lock"]
    assert not leftovers  # no temporary file left behind


def test_list_options_prints_the_declared_table() -> None:
    proc = _cli("--decoder", "havir", "--list-options")
    assert proc.returncode == 0, proc.stderr
    assert "| `strength` | float | 0.75 | (0, 1] |" in proc.stdout
    assert "| `preset` | str | auto | auto | synth | paper |" in proc.stdout
    assert "has no options" in _cli("--decoder", "random", "--list-options").stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--decoder", "havir", "--decoder-option", "strenght=0.5"), "Did you mean: strength?"),
        (("--decoder", "havir", "--decoder-option", "strength=1.5"), "--decoder-option strength: expected (0, 1]"),
        (("--decoder", "havir", "--decoder-option", "steps=ten"), "steps=ten: expected an integer, found 'ten'"),
        (("--decoder", "havir", "--decoder-option", "strength"), "--decoder-option: expected KEY=VALUE"),
        (("--decoder", "random", "--decoder-option", "steps=3"), "decoder 'random' has no options"),
        (("--decoder", "random", "--transfer-from", "2"), "--transfer-from: decoder 'random' has no transfer"),
        (("--decoder", "mean_image", "--vd-model", "minivd"), "--vd-model: decoder 'mean_image' does not generate"),
        (("--decoder", "havir", "--finetune-sessions", "2"), "--finetune-sessions: only means something with"),
        (("--decoder", "havir", "--transfer-from", "1"), "--transfer-from 1: expected another subject"),
        (("--decoder", "random", "--tag", "my/run"), "--tag 'my/run': cannot be part of a file name"),
        (("--decoder", "random,mean_image", "--tag", "mine"), "--tag: names one decoder's variant, found 2"),
        (("--decoder", "reference", "--ablation", "all"), "--ablation all: expected a decoder with ablations, found"),
    ],
)
def test_choices_that_mean_nothing_or_are_wrong_are_refused(
    args: tuple[str, ...], expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # In process: every one of these is refused before any data is read.
    assert main([*args, "--synth-preset", "ci", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and expected in err, err


def test_pretrained_weights_missing_on_synthnsd_say_how_to_provide_them(tmp_path: Path) -> None:
    line = _one_line_error(
        _cli(
            "--decoder",
            "random",
            "--synth-preset",
            "ci",
            "--weights-source",
            "pretrained",
            "--out",
            str(tmp_path / "out"),
            env={"TORCH_HOME": str(tmp_path / "torch")},
        )
    )
    assert "alexnet-owt-7be5be79.pth not found" in line
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth") in line
    assert "--weights-source seeded" in line
    assert not (tmp_path / "out" / "results").exists()  # refused before any decoder ran


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--weights-source", "imagenet"), "--weights-source: expected one of auto, pretrained, seeded"),
        (("--protocol", "mindey"), "unknown metric protocol 'mindey'. Did you mean: mindeye"),
        (("--weights-dir", "/no/such/folder"), "--weights-dir: expected a folder of weight files"),
    ],
)
def test_bad_metric_options_are_refused(args: tuple[str, ...], expected: str, tmp_path: Path) -> None:
    line = _one_line_error(_cli("--decoder", "random", "--synth-preset", "ci", "--out", str(tmp_path), *args))
    assert expected in line
