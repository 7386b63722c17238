"""Ablation and reported-number sections of the page: formatted differences marked when their interval excludes
zero, and reported numbers ranked with computed ones only when no reason forbids it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from leaderboards.collect import LoadedResult
from leaderboards.sections import REPORTED_KIND, ablation_views, rank_reported, reported_view
from leaderboards.table import BEST, SECOND, Cell, Column, TableKey, build_tables
from tests.leaderboards.conftest import make_result

KEY = TableKey("nsd", "t" * 64, "mindeye", "1", "pretrained")
SSIM = Column("ssim", "SSIM", "higher", "pixel")
ALEX = Column("alexnet2", "AlexNet(2)", "higher", "identification")


@dataclass(frozen=True)
class Delta:
    diff: float
    ci95: tuple[float, float]
    excludes_zero: bool
    better: bool


@dataclass(frozen=True)
class AblationRow:
    label: str
    ablation: str | None
    cells: tuple
    deltas: tuple


@dataclass(frozen=True)
class AblationTable:
    key: TableKey
    decoder: str
    subject: int | None
    subjects: tuple[int, ...]
    columns: tuple
    rows: tuple


@dataclass(frozen=True)
class Reported:
    decoder: str = "MindEye"
    paper: str = "Scotti et al. 2023"
    citation: str = "Scotti et al., NeurIPS 2023"
    table: str = "Table 1"
    subjects: tuple[int, ...] = (1, 2, 5, 7)
    test_images: int = 982
    protocol: str = "mindeye"
    dataset: str = "nsd"
    weights: str = "pretrained"
    values: dict = field(default_factory=lambda: {"ssim": 0.323, "alexnet2": 0.947})
    note: str = ""


def test_ablation_differences_are_signed_with_intervals_and_marked() -> None:
    table = AblationTable(KEY, "havir", 1, (1,), (SSIM, ALEX), (
        AblationRow("havir", None, (Cell(0.40, (0.39, 0.41), 10, BEST), Cell(0.90, None, 10, BEST)), (None, None)),
        AblationRow("havir / no_cap", "no_cap", (Cell(0.35, None, 10, SECOND), Cell(0.91, None, 10, 0)),
                    (Delta(-0.05, (-0.07, -0.03), True, False), Delta(0.01, (-0.02, 0.04), False, True))),
    ))
    (view,) = ablation_views([table])[KEY]
    assert view["title"] == "havir \u00b7 subj01" and [c["display"] for c in view["columns"]] == ["SSIM", "AlexNet(2)"]
    full, no_cap = view["rows"]
    assert [c["delta"] for c in full["cells"]] == [None, None] and full["cells"][0]["best"]
    ssim, alex = no_cap["cells"]
    assert (ssim["delta"]["text"], ssim["delta"]["ci"], ssim["delta"]["cls"]) == ("-0.0500", "[-0.0700, -0.0300]",
                                                                               "sig worse")
    assert (alex["delta"]["text"], alex["delta"]["sig"], alex["delta"]["cls"]) == ("+1.00 pp", False, "better")
    assert "includes zero" in alex["delta"]["title"] and ssim["second"]


def reason(row: Reported, key: TableKey) -> str | None:
    return None if (row.dataset, row.protocol, row.weights) == (key.dataset, key.protocol, key.weights_source) else (
        f"dataset {key.dataset} differs from {row.dataset}")


def test_reported_rows_say_why_they_are_not_ranked() -> None:
    synth = TableKey("synthnsd", "s" * 64, "mindeye", "1", "seeded")
    view = reported_view([Reported(), Reported(decoder="Takagi", values={"ssim": 0.3})],
                         [(synth, "synth group"), (KEY, "nsd group")], reason)
    assert [c["display"] for c in view["columns"]] == ["SSIM", "AlexNet(2)"]
    mindeye, takagi = view["rows"]
    assert mindeye["label"] == "MindEye (Scotti et al. 2023)" and mindeye["source"].startswith("[1] Table 1")
    assert [c["text"] for c in mindeye["cells"]] == ["0.3230", "94.70%"] and takagi["cells"][1]["text"] == "\u2013"
    assert mindeye["reasons"] == ["synth group: not ranked with it: dataset synthnsd differs from nsd",
                                  "nsd group: same dataset, protocol and weights: comparable"]
    assert view["citations"] == ["Scotti et al., NeurIPS 2023"]
    assert reported_view([], [], reason) is None


def test_reported_rows_rank_only_where_nothing_differs() -> None:
    loaded = [LoadedResult(Path(f"/r/{s}.json"), make_result("havir", s, {"ssim": 0.30 + s / 100}, kind="method"))
              for s in (1, 2)]
    tables = build_tables(loaded)
    synth = build_tables([LoadedResult(Path("/r/x.json"), make_result("a", dataset="synthnsd", weights="seeded"))])
    ranked = rank_reported([*tables, *synth], [Reported()], reason)
    mean = next(t for t in ranked if t.subject is None)
    assert [r.kind for r in mean.rows] == ["method", REPORTED_KIND]
    assert [r.cells[0].mark for r in mean.rows] == [SECOND, BEST]  # the paper's 0.323 beats the mean 0.315
    assert mean.rows[1].cells[0].value == 0.323
    assert all(r.kind != REPORTED_KIND for t in ranked if t.subject is not None for r in t.rows)
