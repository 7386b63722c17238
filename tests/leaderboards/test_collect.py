"""Reading a results folder: bad files are skipped one by one, named with the reason; the rest is rendered."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest

from eval.errors import DataError
from eval.regression import summarise_results
from eval.results import HarnessInfo, load_result, write_result
from leaderboards.__main__ import main
from leaderboards.collect import collect_results
from leaderboards.render import render_leaderboard
from leaderboards.table import build_tables
from tests.leaderboards.conftest import make_result


def _skip_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("skipping ")]


def test_older_and_newer_schema_files_are_skipped_naming_each(tmp_path: Path, write, caplog) -> None:
    current = write(decoder="a")
    data = json.loads(current.read_text())
    old = current.with_name("b__full__subj01__mindeye.json")
    old.write_text(json.dumps({**data, "schema_version": 1}))
    new = current.with_name("c__full__subj01__mindeye.json")
    new.write_text(json.dumps({**data, "schema_version": 99}))
    with caplog.at_level(logging.WARNING, logger="leaderboards.collect"):
        found = collect_results(tmp_path / "results")
    assert [item.path for item in found.loaded] == [current] and found.loaded[0].result == load_result(current)
    assert [s.path for s in found.skipped] == [old, new]
    assert "earlier version of havir-bench" in found.skipped[0].reason
    assert "schema_version 99: written by a newer version" in found.skipped[1].reason
    lines = _skip_lines(caplog)
    assert len(lines) == 2 and lines[0].startswith(f"skipping {old}: ") and lines[1].startswith(f"skipping {new}: ")
    current.unlink()
    with pytest.raises(DataError, match=r"no valid results files under .*: all 2 were skipped \(first: "):
        collect_results(tmp_path / "results")


def test_malformed_files_are_skipped_and_the_reason_is_one_line(tmp_path: Path, write) -> None:
    good = write(decoder="a")
    folder = tmp_path / "results" / "deep"
    folder.mkdir(parents=True)
    (folder / "broken.json").write_text('{"schema_version": 2,\n "x": ')
    (folder / "empty.json").write_text("{}")
    bad_field = json.loads(good.read_text())
    bad_field["metrics"]["pixcorr"]["direction"] = "sideways"
    (folder / "field.json").write_text(json.dumps(bad_field))
    found = collect_results(tmp_path / "results")
    assert [item.path for item in found.loaded] == [good]
    reasons = {s.path.name: s.reason for s in found.skipped}
    assert set(reasons) == {"broken.json", "empty.json", "field.json"}
    assert reasons["broken.json"].startswith("not valid JSON")
    assert reasons["empty.json"] == "missing field 'schema_version' (not a havir-bench results file?)"
    assert "metrics.pixcorr.direction" in reasons["field.json"] and "sideways" in reasons["field.json"]
    assert all("\n" not in r and str(folder) not in r for r in reasons.values())


def test_one_identity_written_by_two_code_versions_is_skipped_whole(tmp_path: Path, write) -> None:
    kept = write(decoder="b")
    first = write(decoder="a")
    result = make_result(decoder="a")
    newer = replace(result, harness=HarnessInfo(version="0.2.0", git_commit="f" * 40))
    second = write_result(tmp_path / "results" / "elsewhere", newer).path
    found = collect_results(tmp_path / "results")
    assert [item.path for item in found.loaded] == [kept]
    assert sorted(s.path for s in found.skipped) == sorted([first, second])
    by_path = {s.path: s.reason for s in found.skipped}
    assert "havir-bench 0.1.0, commit unknown here" in by_path[first] and str(second) in by_path[first]
    assert "havir-bench 0.2.0, commit ffffffffffff here" in by_path[second] and str(first) in by_path[second]


def test_one_identity_written_twice_by_the_same_code_stays_the_duplicate_error(tmp_path: Path, write) -> None:
    first = write(decoder="a")
    second = write_result(tmp_path / "results" / "copy", make_result(decoder="a")).path
    found = collect_results(tmp_path / "results")
    assert not found.skipped and len(found.loaded) == 2
    with pytest.raises(
        DataError, match=f"two results files of one run identity .*: {second} and {first}"
    ):  # path order
        build_tables(found.loaded)


def test_temporary_missing_and_empty_folders(tmp_path: Path, write) -> None:
    write(decoder="a")
    (tmp_path / "results" / ".r.tmp123.json").write_text("{")  # an atomic write in progress is not a result
    found = collect_results(tmp_path / "results")
    assert [item.result.decoder.name for item in found.loaded] == ["a"] and found.skipped == []
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no results files"):
        collect_results(empty)
    with pytest.raises(DataError, match="does not exist"):
        collect_results(tmp_path / "absent")


def test_the_page_lists_skipped_files_and_the_command_exits_1(tmp_path: Path, write, caplog) -> None:
    write(decoder="a")
    bad = tmp_path / "results" / "bad.json"
    bad.write_text("[1, 2]")
    html = render_leaderboard(tmp_path / "results", tmp_path / "site").read_text()
    assert "Skipped files" in html and f"<code>{bad}</code>: expected a JSON object, found list" in html
    with caplog.at_level(logging.ERROR, logger="leaderboards.collect"):
        assert main([str(tmp_path / "results"), "--out", str(tmp_path / "site2")]) == 1
    assert (tmp_path / "site2" / "index.html").is_file()  # written before the exit status
    assert any("1 results file(s) skipped" in r.getMessage() and str(bad) in r.getMessage() for r in caplog.records)
    bad.unlink()
    assert main([str(tmp_path / "results"), "--out", str(tmp_path / "site3")]) == 0
    assert "Skipped files" not in (tmp_path / "site3" / "index.html").read_text()
    assert main([str(tmp_path / "absent")]) == 2


def test_the_regression_guard_refuses_a_folder_with_a_skipped_file(tmp_path: Path, write) -> None:
    write(decoder="a", metrics={"ssim": 0.4})
    assert summarise_results(tmp_path / "results") == {"subj01/a": {"ssim": {"value": 0.4, "direction": "higher"}}}
    bad = tmp_path / "results" / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match=f"results file {bad}: not valid JSON"):
        summarise_results(tmp_path / "results")
