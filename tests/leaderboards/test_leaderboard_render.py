"""HTML, Markdown and CSV from results files written by the real writer."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import jinja2
import pytest
import torch

from eval.atomic import write_json_atomic
from eval.visual import save_sample_grid
from leaderboards.__main__ import main
from leaderboards.render import NOT_COMPARABLE, TEMPLATE, environment, render_leaderboard
from tests.leaderboards.conftest import make_result


@pytest.fixture()
def results(tmp_path: Path, write) -> Path:
    write(decoder="ridge", metrics={"pixcorr": 0.25, "ssim": 0.31, "alexnet2": 0.9731, "effnet": 0.81})
    write(decoder="havir", kind="method", metrics={"pixcorr": 0.33, "ssim": 0.29, "alexnet2": 0.9812, "effnet": 0.72})
    write(decoder="nearest_neighbour", kind="reference", weights="seeded", metrics={"pixcorr": 0.1, "ssim": 0.2})
    return tmp_path / "results"


def test_render_writes_html_markdown_and_csv(results: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    page = render_leaderboard(results, out)
    assert page == out / "index.html"
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>")
    # Self-contained: styles and the sorting script are inline; nothing is fetched from anywhere.
    assert "<script src" not in html and 'rel="stylesheet"' not in html and 'src="http' not in html
    assert "98.12%" in html and "[97.12, 99.12]" in html  # identification as a percentage, CI small
    assert "0.3300" in html and "EffNet-B \u2193" in html and "PixCorr \u2191" in html
    assert '<td class="best" data-sort="0.33"><span class="v">0.3300</span>' in html
    assert '<td class="second" data-sort="0.25"><span class="v">0.2500</span>' in html
    assert '<td class="best" data-sort="0.72"><span class="v">0.7200</span>' in html  # lower is better
    assert html.count(NOT_COMPARABLE) == 1  # only the seeded table
    assert ">method</span>" in html and ">reference</span>" in html
    assert len(list((out / "decoders").glob("*.html"))) == 3 and len(list((out / "plots").glob("*.svg"))) == 2
    md = (out / "leaderboard.md").read_text()
    assert "| havir | method | **0.3300** | <u>0.2900</u> | **98.12%** | **0.7200** |" in md
    assert f"**Warning:** {NOT_COMPARABLE}: weights seeded" in md
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    assert len(rows) == 4 + 4 + 2
    havir_effnet = next(r for r in rows if r["decoder"] == "havir" and r["metric"] == "effnet")
    assert float(havir_effnet["value"]) == 0.72 and havir_effnet["mark"] == "best" and havir_effnet["subject"] == "1"
    assert havir_effnet["label"] == "havir" and len(havir_effnet["identity"]) == 10


def test_variants_are_rows_labelled_alike_in_every_format(tmp_path: Path, write) -> None:
    write(decoder="havir", kind="method", metrics={"ssim": 0.3})
    write(decoder="havir", kind="method", metrics={"ssim": 0.4}, variant={"strength": 0.5})
    out = tmp_path / "site"
    html = render_leaderboard(tmp_path / "results", out).read_text()
    assert ">havir</a><span" in html and ">havir \u00b7 strength=0.5</a><span" in html
    md = (out / "leaderboard.md").read_text()
    assert "| havir | method | <u>0.3000</u> |" in md and "| havir \u00b7 strength=0.5 | method | **0.4000** |" in md
    rows = list(csv.DictReader(io.StringIO((out / "leaderboard.csv").read_text())))
    assert [(r["label"], r["value"]) for r in rows] == [("havir", "0.3"), ("havir \u00b7 strength=0.5", "0.4")]


def test_default_output_folder_is_the_results_folder(results: Path) -> None:
    assert render_leaderboard(results) == results / "index.html"
    assert (results / "leaderboard.md").is_file() and (results / "leaderboard.csv").is_file()
    render_leaderboard(results)  # the pages it wrote are not results files (no *.json), so a re-render works


def test_decoder_names_and_variants_are_escaped(tmp_path: Path, write) -> None:
    write(variant={"prompt": "<script>alert(3)</script>"}, description='"><img src=x onerror=alert(2)>')
    # A name the writer refuses in a file name can still come in a hand-written file.
    hostile = make_result("<script>alert(1)</script>")
    write_json_atomic(tmp_path / "results" / "hand-written.json", hostile.to_dict())
    page = render_leaderboard(tmp_path / "results", tmp_path / "site")
    html = page.read_text()
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "prompt=&lt;script&gt;alert(3)" in html
    assert "<script>" not in (tmp_path / "site" / "leaderboard.md").read_text()
    for page in (tmp_path / "site" / "decoders").glob("*.html"):
        text = page.read_text()
        assert "<script" not in text and "<img src=x" not in text, page


def test_strict_undefined_catches_a_missing_field() -> None:
    template = environment().get_template(TEMPLATE)
    with pytest.raises(jinja2.UndefinedError, match="skipped"):
        template.render(title="t", summary="s")
    with pytest.raises(jinja2.UndefinedError, match="groups"):
        template.render(title="t", summary="s", skipped=[], reported=None)
    with pytest.raises(jinja2.UndefinedError, match="'id'"):
        template.render(title="t", summary="s", skipped=[], reported=None, groups=[{"title": "x"}])


def test_sample_grid_is_linked_relative_to_the_page(tmp_path: Path, write) -> None:
    grid = tmp_path / "results" / "pretrained" / "samples" / "ridge.png"
    images = torch.rand(4, 3, 32, 32)
    save_sample_grid(images, {"ridge": images}, grid, n=4)
    write(decoder="ridge", artifacts={"samples": "samples/ridge.png", "reconstructions": "recon/missing.npz"})
    render_leaderboard(tmp_path / "results", tmp_path / "site")
    (page,) = (tmp_path / "site" / "decoders").glob("ridge__*.html")
    html = page.read_text()
    assert '<img src="../../results/pretrained/samples/ridge.png"' in html
    assert "missing.npz" not in html  # a missing artifact is not linked (and logged)


def test_cli_reports_harness_errors_in_one_line(tmp_path: Path, write, capsys) -> None:
    write(decoder="a")
    assert main([str(tmp_path / "results"), "--out", str(tmp_path / "site")]) == 0
    assert (tmp_path / "site" / "index.html").is_file()
    capsys.readouterr()
    assert main([str(tmp_path / "absent")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: results folder {tmp_path / 'absent'} does not exist"
    (tmp_path / "results" / "broken.json").write_text("not json")
    assert main([str(tmp_path / "results")]) == 1  # skipped, not fatal (tests/leaderboards/test_collect.py)
    assert "broken.json" in (tmp_path / "results" / "index.html").read_text()
