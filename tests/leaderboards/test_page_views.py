"""The leaderboard site's model: group order, row links, sort values, extremes, histograms, figures, and decoder
pages with ground truth, captions and brain maps (or one line saying why not)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from eval.errors import DataError
from eval.results import write_result
from leaderboards.gallery import extremes, load_reconstructions
from leaderboards.plots import Panel, histogram, metric_bars
from leaderboards.render import render_leaderboard
from tests.leaderboards.conftest import make_result, with_images, write_stimuli_root

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("scores", "direction", "best", "worst"),
    [
        ([0.2, 0.9, 0.5, 0.1], "higher", [1, 2], [3, 0]),
        ([0.2, 0.9, 0.5, 0.1], "lower", [3, 0], [1, 2]),
        ([0.5, 0.5, 0.5, 0.5], "higher", [0, 1], [3, 2]),
        ([0.7], "higher", [0], []),
    ],
    ids=["higher", "lower", "ties", "one"],
)
def test_extremes_honour_the_direction_and_never_overlap(scores, direction, best, worst) -> None:
    assert extremes(scores, direction, k=3) == (best, worst)


def test_histogram_fills_its_box_and_marks_the_mean() -> None:
    hist = histogram([0.0, 0.0, 0.0, 0.5, 1.0], bins=4, width=100, height=40)
    assert len(hist.bars) == 3 and max(b.height for b in hist.bars) == 40
    assert hist.bars[0].x == 0 and hist.bars[0].y == 0 and hist.mean_x == pytest.approx(30.0)
    assert (hist.low, hist.high) == (0.0, 1.0)
    assert histogram([]).bars == () and histogram([0.3, 0.3]).bars[0].height == 48


def test_a_figure_is_named_by_its_content_and_not_redrawn(tmp_path: Path) -> None:
    panels = [Panel("PixCorr \u2191", (0.2, None), ((0.1, 0.3), None), (True, False))]
    first = metric_bars(["a $x$ label", "b"], panels, tmp_path)  # '$' would start mathtext
    assert first.suffix == ".svg" and "a $x$ label" in first.read_text()
    stamp = first.stat().st_mtime_ns
    assert metric_bars(["a $x$ label", "b"], panels, tmp_path) == first and first.stat().st_mtime_ns == stamp
    other = metric_bars(["a $x$ label", "b"], [Panel("PixCorr \u2191", (0.25, None), (None, None), (True, False))],
                        tmp_path)
    assert other != first


def test_the_mean_comes_first_and_rows_link_to_their_decoder_pages(tmp_path: Path, write) -> None:
    for subject in (1, 2):
        write(decoder="ridge", subject=subject, metrics={"ssim": 0.3 + subject / 10})
    out = tmp_path / "site"
    html = render_leaderboard(tmp_path / "results", out).read_text()
    mean, s1, s2 = (html.index(f'<h3 id="g1-{k}">') for k in ("mean", "s01", "s02"))
    assert mean < s1 < s2
    pages = sorted(p.name for p in (out / "decoders").glob("*.html"))
    assert len(pages) == 2 and all(f'href="decoders/{p}"' in html for p in pages)
    assert html.count(f'href="decoders/{pages[0]}"') == 2  # its subject's row and the mean row's subject link
    assert 'data-sort="0.4">' in html and 'data-sort="0.45' in html  # the raw value, not the text


def test_decoder_page_shows_ground_truth_reconstructions_and_captions(tmp_path: Path) -> None:
    root = write_stimuli_root(tmp_path / "nsd", captions={k: f"a <b>bold</b> zebra {k}" for k in range(12)})
    results = tmp_path / "results"
    for name in ("ridge", "havir"):
        write_result(results, with_images(make_result(name, metrics={"pixcorr": 0.3, "ssim": 0.5}), results, root))
    out = tmp_path / "site"
    render_leaderboard(results, out)
    (page,) = (out / "decoders").glob("havir__*.html")
    html = page.read_text()
    assert "ground truth not shown" not in html and "reconstructions not shown" not in html
    shown = {int(i) for i in re.findall(r"/gt/[^/\"]+/(\d+)\.png", html)}
    assert 0 < len(shown) <= 12
    assert all(f"a &lt;b&gt;bold&lt;/b&gt; zebra {k}</span>NSD {k} " in html for k in shown)  # its own caption
    gt = list((out / "thumbs" / "gt").rglob("*.png"))
    recon = list((out / "thumbs").glob("havir-*/*.png"))
    assert len(recon) == len(shown) and {int(p.stem) for p in gt} >= shown  # ground truth shared by both decoders
    assert len(gt) == len({p.stem for p in gt})
    from PIL import Image

    assert Image.open(gt[0]).size == (32, 32)  # small images are not enlarged


def test_unreachable_data_is_one_line_not_a_failure(tmp_path: Path, write) -> None:
    write(decoder="ridge", artifacts={"reconstructions": "recon/absent.npz"})
    result = make_result("havir", metrics={"ssim": 0.4})
    results = tmp_path / "results"
    damaged = with_images(result, results, tmp_path / "no-such-root")
    write_result(results, damaged)
    npz = results / damaged.artifacts["reconstructions"]
    npz.write_bytes(b"not a zip file")
    out = tmp_path / "site"
    render_leaderboard(results, out)
    (havir,) = (out / "decoders").glob("havir__*.html")
    text = havir.read_text()
    assert text.count("ground truth not shown") == 1 and text.count("reconstructions not shown") == 1
    assert f"reconstructions not shown: reconstructions {npz}: expected an .npz (zip) file, found another" in text
    assert f"dataset root {tmp_path / 'no-such-root'} (named in the results file) is not on this machine" in text
    (ridge,) = (out / "decoders").glob("ridge__*.html")
    assert "no per-image scores in this results file" in ridge.read_text()


def test_brain_maps_are_shown_on_the_decoder_page(tmp_path: Path, write) -> None:
    from PIL import Image

    maps = tmp_path / "results" / "pretrained" / "artifacts" / "havir"
    maps.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(maps / "brainmap_semantic.png")
    (maps / "brainmap_semantic.nii.gz").write_bytes(b"nifti")
    write(decoder="havir", kind="method", artifacts={
        "brainmap_semantic": "artifacts/havir/brainmap_semantic.png",
        "brainmap_semantic_nifti": "artifacts/havir/brainmap_semantic.nii.gz",
    })
    render_leaderboard(tmp_path / "results", tmp_path / "site")
    (page,) = (tmp_path / "site" / "decoders").glob("havir__*.html")
    html = page.read_text()
    brain = html[html.index('id="brain-maps"'):]
    assert '<img src="../../results/pretrained/artifacts/havir/brainmap_semantic.png"' in brain
    assert 'href="../../results/pretrained/artifacts/havir/brainmap_semantic.nii.gz"' in html


def test_rendering_does_not_import_torch(tmp_path: Path, write) -> None:
    write(decoder="ridge")
    code = (
        "import sys; from leaderboards.render import render_leaderboard; "
        f"render_leaderboard({str(tmp_path / 'results')!r}, {str(tmp_path / 'site')!r}); "
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, done.stderr[-2000:]


def test_reconstructions_of_the_wrong_form_are_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "recon.npz"
    np.savez(path, images=np.zeros((3, 8, 8), dtype=np.float32), nsd_ids=np.arange(3))
    with pytest.raises(DataError, match=rf"reconstructions {path}: expected images uint8 \(n, H, W, 3\) and n "
                                        r"nsd_ids, found images float32 \(3, 8, 8\) and nsd_ids \(3,\)"):
        load_reconstructions(path)
    np.savez(path, pictures=np.zeros((3, 8, 8, 3), dtype=np.uint8))
    with pytest.raises(DataError, match="expected an .npz with 'images' and 'nsd_ids'"):
        load_reconstructions(path)
