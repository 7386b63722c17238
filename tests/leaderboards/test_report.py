"""python -m leaderboards.report: Markdown, LaTeX and CSV of the comparison, ablation and reported tables."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eval.results import write_result
from leaderboards.latex import escape_latex
from leaderboards.report import main, write_report
from tests.leaderboards.conftest import make_result

N = 30


def _scores(seed: int, level: float) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    return {
        "ssim": list(np.clip(rng.normal(level, 0.05, N), 0, 1)),
        "alexnet2": list(np.clip(rng.normal(level + 0.3, 0.05, N), 0, 1)),
        "effnet": list(np.clip(rng.normal(1 - level, 0.05, N), 0, 1)),
    }


@pytest.fixture()
def results(tmp_path: Path) -> Path:
    """Two subjects of: a_b (level 0.5), ridge (0.3), havir (0.4), havir / no_cap (0.2), on SynthNSD."""
    folder = tmp_path / "results"
    synth = {"dataset": "synthnsd", "weights": "seeded", "protocol": ("mindeye-synth", "1")}
    for s in (1, 2):
        for k, (decoder, ablation, level) in enumerate(
            [("a_b", None, 0.5), ("ridge", None, 0.3), ("havir", None, 0.4), ("havir", "no_cap", 0.2)]
        ):
            result = make_result(decoder, s, ablation=ablation, per_image=_scores(10 * s + k, level), **synth)
            write_result(folder, result)
    return folder


def _rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.endswith(r"\\")]


def test_latex_is_structurally_sound_and_marks_best_and_second(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    paths = write_report(results, out)
    tex = (out / "comparison_synthnsd_mindeye-synth_mean.tex").read_text()
    assert tex.count("{") == tex.count("}") and tex.count(r"\begin{") == tex.count(r"\end{")
    lines = tex.splitlines()
    top, mid, bottom = (lines.index(rule) for rule in (r"\toprule", r"\midrule", r"\bottomrule"))
    assert top < mid < bottom and lines[top + 1].startswith("decoder & kind & SSIM $\\uparrow$")
    body = _rows(tex)[1:]
    assert len(body) == 4 and all(line.count(" & ") == 1 + 3 for line in body)
    assert body[0].startswith(r"a\_b & ")  # escaped label
    by_label = {line.split(" & ")[0]: line.split(" & ")[2:] for line in body}
    # SSIM and AlexNet(2) higher is better: a_b best, havir second; EffNet-B lower is better: the same order.
    assert by_label[r"a\_b"][0].startswith(r"\textbf{") and by_label["havir"][0].startswith(r"\underline{")
    assert by_label[r"a\_b"][1].startswith(r"\textbf{") and r"\%}" in by_label[r"a\_b"][1]
    assert by_label[r"a\_b"][2].startswith(r"\textbf{") and by_label["havir"][2].startswith(r"\underline{")
    assert not any("textbf" in cell or "underline" in cell for cell in by_label["ridge"])
    unescaped = "\n".join(body).replace(" & ", " ").replace(r"\_", "").replace(r"\%", "")
    assert not set("_%&") & set(unescaped)  # every special character escaped
    assert {p.suffix for p in paths} == {".md", ".tex", ".csv"} and out / "README.md" in paths


def test_every_table_in_three_formats_with_an_index(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    write_report(results, out)
    stems = {p.stem for p in out.iterdir() if p.name != "README.md"}
    assert stems == {
        "comparison_synthnsd_mindeye-synth_subj01",
        "comparison_synthnsd_mindeye-synth_subj02",
        "comparison_synthnsd_mindeye-synth_mean",
        "ablation_havir_synthnsd_mindeye-synth_subj01",
        "ablation_havir_synthnsd_mindeye-synth_subj02",
        "ablation_havir_synthnsd_mindeye-synth_mean",
        "reported_numbers",
    }
    assert all((out / f"{stem}{suffix}").is_file() for stem in stems for suffix in (".md", ".tex", ".csv"))
    index = (out / "README.md").read_text()
    assert all(f"({stem}.tex)" in index for stem in stems)
    assert "reported on nsd, this table is on synthnsd" in index and "arXiv:2403.11207v2" in index
    md = (out / "ablation_havir_synthnsd_mindeye-synth_mean.md").read_text()
    no_cap = next(line for line in md.splitlines() if line.startswith("| havir / no_cap |"))
    assert no_cap.count("\u25bc") == 3 and "\u25b2" not in no_cap  # significantly worse in all three metrics
    rows = list(csv.DictReader(io.StringIO((out / "ablation_havir_synthnsd_mindeye-synth_mean.csv").read_text())))
    assert [r["variant"] for r in rows] == ["havir", "havir / no_cap"]
    assert rows[1]["ssim_significant"] == "True" and rows[1]["ssim_better"] == "False" and rows[0]["ssim_diff"] == ""
    assert float(rows[1]["ssim_diff"]) == pytest.approx(-0.2, abs=0.05)
    assert float(rows[0]["ssim_ci95_low"]) < float(rows[0]["ssim"]) < float(rows[0]["ssim_ci95_high"])
    reported = (out / "reported_numbers.md").read_text()
    assert "MindEye2 (40 h)" in reported and "**" not in reported and "<u>" not in reported  # never ranked


def test_reported_rows_are_ranked_only_where_everything_matches(tmp_path: Path) -> None:
    for s in (1, 2, 5, 7):
        result = make_result("havir", s, kind="method", metrics={"ssim": 0.6, "clip": 0.99})
        write_result(tmp_path / "results", replace(result, dataset=replace(result.dataset, n_test=1000)))
    out = tmp_path / "report"
    write_report(tmp_path / "results", out)
    mean = (out / "comparison_nsd_mindeye_mean.md").read_text()
    assert "| havir | method | **0.6000** | **99.00%** |" in mean
    assert "| MindEye2 (40 h) (MindEye2, Table 1) | reported | 0.4310 | 93.00% |" in mean
    assert "| MindEye2 unrefined (MindEye2, Table 1) | reported | 0.3280 | <u>94.50%</u> |" in mean
    assert "| MindEye2 low-level (MindEye2, Table 1) | reported | <u>0.5390</u> | 57.20% |" in mean
    assert "MindBridge" not in mean  # 982 test images
    subj1 = (out / "comparison_nsd_mindeye_subj01.md").read_text()
    assert "| MindEye2 (40 h) (MindEye2, Table 7) | reported |" in subj1 and "Table 1" not in subj1
    assert "| MindEye1 (img2img 0.85)" not in subj1  # 982 test images, not this table's 1000


def test_the_command_exits_1_after_writing_when_files_were_skipped(results: Path, tmp_path: Path, capsys) -> None:
    bad = results / "broken.json"
    bad.write_text("{")
    assert main([str(results), "--out", str(tmp_path / "r")]) == 1
    assert (tmp_path / "r" / "comparison_synthnsd_mindeye-synth_mean.tex").is_file()
    assert f"`{bad}`: not valid JSON" in (tmp_path / "r" / "README.md").read_text()
    assert main([str(tmp_path / "absent"), "--out", str(tmp_path / "r2")]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last == f"error: results folder {tmp_path / 'absent'} does not exist"
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "--out", str(tmp_path / "r2")]) == 2
    assert not (tmp_path / "r2").exists()


def test_escape_latex() -> None:
    assert escape_latex("a_b & 50% #1 {x} ~^\\") == (
        r"a\_b \& 50\% \#1 \{x\} \textasciitilde{}\textasciicircum{}\textbackslash{}"
    )
    assert escape_latex("havir \u00b7 k=0.5") == r"havir \textperiodcentered{} k=0.5"
