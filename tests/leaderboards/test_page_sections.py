"""Ablation and reported-number sections of the page: formatted differences marked when their interval excludes
zero, and reported numbers ranked with computed ones only where nothing forbids it, the reason shown otherwise."""

from __future__ import annotations

from pathlib import Path

from leaderboards.ablation import AblationRow, AblationTable, Delta
from leaderboards.collect import LoadedResult
from leaderboards.reported import ReportedRow
from leaderboards.sections import ablation_views, reported_view
from leaderboards.table import BEST, SECOND, Cell, Column, TableKey, build_tables
from leaderboards.views import PageLinks, table_view
from tests.leaderboards.conftest import make_result

KEY = TableKey("nsd", "t" * 64, "mindeye", "1", "pretrained")
SSIM = Column("ssim", "SSIM", "higher", "pixel")
ALEX = Column("alexnet2", "AlexNet(2)", "higher", "identification")


def reported(**fields) -> ReportedRow:
    base = dict(decoder="mindeye2", paper="MindEye2", citation="arXiv:2403.11207v2 (ICML 2024)", table="Table 1",
                subjects=(1, 2), test_images=10, protocol="mindeye", dataset="nsd", weights="pretrained",
                values={"ssim": 0.323, "alexnet2": 0.947}, note="", method="MindEye2 (40 h)")
    return ReportedRow(**{**base, **fields})


def test_ablation_differences_are_signed_with_intervals_and_marked() -> None:
    table = AblationTable(KEY, "havir", 1, (1,), (SSIM, ALEX), (
        AblationRow("havir", None, (Cell(0.40, (0.39, 0.41), 10, BEST), Cell(0.90, None, 10, BEST)), (None, None)),
        AblationRow("havir / no_cap", "no_cap", (Cell(0.35, None, 10, SECOND), Cell(0.91, None, 10, 0)),
                    (Delta(-0.05, (-0.07, -0.03), True, False), Delta(0.01, (-0.02, 0.04), False, True))),
    ))
    (view,) = ablation_views([table], {KEY: "NSD at /nsd"})[KEY]
    assert view["title"].startswith("havir ablations \u00b7 NSD at /nsd") and view["title"].endswith("subj01")
    assert [c["display"] for c in view["columns"]] == ["SSIM", "AlexNet(2)"]
    full, no_cap = view["rows"]
    assert [c["delta"] for c in full["cells"]] == [None, None] and full["cells"][0]["best"]
    ssim, alex = no_cap["cells"]
    assert (ssim["delta"]["text"], ssim["delta"]["ci"], ssim["delta"]["cls"]) == ("-0.0500", "[-0.0700, -0.0300]",
                                                                               "sig worse")
    assert (alex["delta"]["text"], alex["delta"]["sig"], alex["delta"]["cls"]) == ("+1.00", False, "better")
    assert "includes zero" in alex["delta"]["title"] and ssim["second"]


def test_reported_rows_say_per_group_why_they_are_not_ranked() -> None:
    synth = TableKey("synthnsd", "s" * 64, "mindeye-synth", "1", "seeded")
    view = reported_view([reported(), reported(method="Takagi", values={"ssim": 0.3})],
                         [(synth, "synth group", 982), (KEY, "nsd group", 10)])
    assert [c["display"] for c in view["columns"]] == ["SSIM", "AlexNet(2)"]
    mindeye, takagi = view["rows"]
    assert mindeye["label"] == "MindEye2 (40 h)" and mindeye["source"].startswith("[1] MindEye2, Table 1")
    assert [c["text"] for c in mindeye["cells"]] == ["0.3230", "94.70%"] and takagi["cells"][1]["text"] == "\u2013"
    assert mindeye["reasons"][0].startswith("synth group: not ranked with it: reported on nsd, this table is on synth")
    assert "10 test images in the paper, 982 here" in mindeye["reasons"][0]
    assert mindeye["reasons"][1] == "nsd group: comparable"
    assert view["citations"] == ["arXiv:2403.11207v2 (ICML 2024)"]
    assert reported_view([], []) is None


def test_a_reported_row_that_compares_is_ranked_in_the_table_and_marked(tmp_path: Path) -> None:
    loaded = [LoadedResult(Path(f"/r/{s}.json"), make_result("havir", s, {"ssim": 0.30 + s / 100}, kind="method"))
              for s in (1, 2)]
    mean = next(t for t in build_tables(loaded) if t.subject is None)
    view = table_view(mean, "m", PageLinks(), tmp_path / "plots", tmp_path, [reported()], n_test=10)
    assert [(r["label"], r["kind"]) for r in view["rows"]] == [("havir", "method"),
                                                              ("MindEye2 (40 h) (MindEye2, Table 1)", "reported")]
    assert [r["cells"][0]["best"] for r in view["rows"]] == [False, True]  # the paper's 0.323 beats the mean 0.315
    assert view["rows"][0]["cells"][0]["second"] and view["notes"]
    other = table_view(mean, "m", PageLinks(), tmp_path / "plots", tmp_path, [reported(subjects=(1,))], n_test=10)
    assert [r["kind"] for r in other["rows"]] == ["method"] and other["notes"] == []
