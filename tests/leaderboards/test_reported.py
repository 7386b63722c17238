"""The reported-numbers file: the shipped file is valid and cited; bad rows are named; when a row may be ranked."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path

import pytest

from eval.errors import DataError
from eval.metrics.spec import METRICS
from leaderboards.reported import FIELDS, REPORTED_CSV, load_reported, ranking_reason
from leaderboards.table import TableKey


def _key(dataset: str = "nsd", protocol: str = "mindeye", weights: str = "pretrained") -> TableKey:
    return TableKey(dataset, "t" * 64, protocol, "2", weights)


def test_the_shipped_file_is_valid_and_every_row_is_cited() -> None:
    rows = load_reported()
    assert len(rows) >= 20
    for row in rows:
        assert row.citation and row.paper and row.table and row.method
        assert set(row.values) <= set(METRICS) and row.values
        assert row.dataset == "nsd" and row.weights == "pretrained"
    by_method = {(r.method, r.table, r.subjects): r for r in rows}
    me2 = by_method["MindEye2 (40 h)", "Table 1", (1, 2, 5, 7)]
    assert me2.values["alexnet2"] == 0.961 and me2.values["swav"] == 0.344 and me2.test_images == 1000
    assert me2.citation.startswith("arXiv:2403.11207")
    subj1 = by_method["MindEye2 (40 h)", "Table 7", (1,)]
    assert subj1.values["clip"] == pytest.approx(0.9356)
    havir = next(r for r in rows if r.decoder == "havir" and r.ablation is None)
    assert havir.values == {"pixcorr": 0.327, "ssim": 0.332, "alexnet5": 0.981, "inception": 0.964}
    assert havir.subjects == () and havir.subjects_label == "not stated"
    assert {r.ablation for r in rows if r.decoder == "havir"} == {None, "only_z", "no_z"}


def _write(tmp_path: Path, **changes: str) -> Path:
    line = dict.fromkeys(FIELDS, "x")
    line |= {"subjects": "1;2", "test_images": "982", "metric": "clip", "value": "0.9", "ablation": ""}
    line |= changes
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerow(line)
    path = tmp_path / "r.csv"
    path.write_text(buffer.getvalue())
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"metric": "CLIP"}, r"row 2, column 'metric': expected one of pixcorr, .*, found 'CLIP'"),
        ({"value": "93.1"}, r"row 2, column 'value': expected a number in \[0, 1\] for clip .*fraction.*'93.1'"),
        ({"value": "n/a"}, r"row 2, column 'value': expected a number .*found 'n/a'"),
        ({"metric": "effnet", "value": "-0.2"}, r"row 2, column 'value': expected a number in \[0, 2\] for effnet"),
        ({"subjects": "1,2"}, r"row 2, column 'subjects': expected subject numbers separated by ';', found '1,2'"),
        ({"test_images": "0"}, r"row 2, column 'test_images': expected a positive integer, found '0'"),
        ({"citation": ""}, r"row 2, column 'citation': expected a value, found an empty cell"),
    ],
    ids=["metric", "percent", "text", "distance", "subjects", "test-images", "citation"],
)
def test_a_bad_value_is_named_by_row_and_column(tmp_path: Path, changes, message) -> None:
    path = _write(tmp_path, **changes)
    with pytest.raises(DataError, match=rf"reported numbers {path}: {message}"):
        load_reported(path)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read it"):
        load_reported(tmp_path / "absent.csv")
    path = tmp_path / "header.csv"
    path.write_text("decoder,value\nx,1\n")
    with pytest.raises(DataError, match=r"expected the columns decoder,method,.*found \['decoder', 'value'\]"):
        load_reported(path)
    good = _write(tmp_path)
    text = good.read_text()
    good.write_text(text + text.splitlines()[1] + "\n")
    with pytest.raises(DataError, match="row 3, column 'metric': clip is already given"):
        load_reported(good)
    good.write_text(text + "x,y\n")
    with pytest.raises(DataError, match="row 3: expected 14 columns"):
        load_reported(good)
    assert load_reported(_write(tmp_path))[0].values == {"clip": 0.9}


def test_ranking_reason_is_none_only_when_everything_matches() -> None:
    row = next(r for r in load_reported(REPORTED_CSV) if r.table == "Table 1")
    assert ranking_reason(row, _key()) is None
    assert ranking_reason(row, _key(), test_images=1000) is None
    assert ranking_reason(row, _key(), test_images=982) == "1000 test images in the paper, 982 here"
    assert ranking_reason(row, _key(dataset="synthnsd")) == "reported on nsd, this table is on synthnsd"
    assert "protocol is braindiffuser" in ranking_reason(row, _key(protocol="braindiffuser"))
    assert "weights are seeded" in ranking_reason(row, _key(weights="seeded"))
    synthetic = ranking_reason(row, _key("synthnsd", "mindeye-synth", "seeded"), test_images=982)
    assert synthetic.count(";") == 3  # all four differences named
    assert ranking_reason(replace(row, protocol="unstated"), _key()) is not None
