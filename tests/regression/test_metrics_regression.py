"""CI guard: the CI-sized comparison must not move any metric of any decoder the wrong way beyond its tolerance;
and the guard itself: directions, tolerances, its message, missing and unguarded decoders, the reference file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.errors import DataError
from eval.regression import compare, load_reference, report, summarise_results, unguarded, write_reference
from tests.regression import ci_run as ci
from tests.regression.ci_run import REFERENCE, REFRESH


@pytest.fixture(scope="module")
def current(ci_run: Path, ci_comparison: Path) -> dict:
    return summarise_results(ci_run / "results", ci_comparison / "results")


def test_no_metric_of_any_decoder_regressed(current: dict) -> None:
    reference = load_reference(REFERENCE)
    changes = compare(reference, current)
    assert not unguarded(reference, current), f"decoders the reference does not pin; refresh it: {REFRESH}"
    assert len(changes) == 8 * len(current)  # every decoder row, all eight metrics
    assert not any(change.regressed for change in changes), report(changes, REFRESH)


def test_the_comparison_covers_every_decoder(current: dict) -> None:
    from eval.registry import GROUPS

    decoders = {row.split("/")[1].split(" ")[0] for row in current}
    assert decoders >= {*GROUPS["reference"], *GROUPS["baseline"], "havir"}
    ablations = {row.split("/")[2].split(" ")[0] for row in current if row.count("/") == 2}
    assert ablations == {"only_z"}
    assert {row for row in current if row.startswith("subj07/")} == {f"subj07/{name}" for name in GROUPS["reference"]}


def test_reference_pins_the_bounds() -> None:
    rows = load_reference(REFERENCE)["rows"]
    assert rows["subj01/ground_truth"]["pixcorr"]["value"] == pytest.approx(1.0)
    assert rows["subj01/nearest_neighbour"]["pixcorr"]["value"] > rows["subj01/random"]["pixcorr"]["value"]


def _reference(value: float, direction: str, tolerance: dict | None = None) -> dict:
    block = {"value": value, "direction": direction}
    return {"tolerance": tolerance or {"default": 0.01}, "rows": {"subj01/havir": {"pixcorr": block, "ssim": block}}}


def _current(value: float, direction: str) -> dict:
    block = {"value": value, "direction": direction}
    return {"subj01/havir": {"pixcorr": block, "ssim": block}}


@pytest.mark.parametrize(
    ("direction", "current", "regressed"),
    [
        ("higher", 0.48, True),  # wrong way beyond the tolerance
        ("higher", 0.495, False),  # wrong way within it
        ("higher", 0.9, False),  # right way, however far
        ("lower", 0.52, True),
        ("lower", 0.505, False),
        ("lower", 0.1, False),
    ],
)
def test_only_the_wrong_direction_beyond_tolerance_fails(direction: str, current: float, regressed: bool) -> None:
    changes = compare(_reference(0.5, direction), _current(current, direction))
    assert [change.regressed for change in changes] == [regressed, regressed]
    assert all(change.improved == (abs(current - 0.5) > 0.01 and not regressed) for change in changes)


def test_a_metric_tolerance_overrides_the_default() -> None:
    reference = _reference(0.5, "higher", {"default": 0.01, "pixcorr": 0.1})
    pixcorr, ssim = compare(reference, _current(0.45, "higher"))
    assert (pixcorr.metric, pixcorr.tolerance, pixcorr.regressed) == ("pixcorr", 0.1, False)
    assert (ssim.metric, ssim.tolerance, ssim.regressed) == ("ssim", 0.01, True)


def test_the_message_names_decoder_metric_old_and_new_value_and_tolerance() -> None:
    changes = compare(_reference(0.5, "lower", {"default": 0.01, "ssim": 0.2}), _current(0.53125, "lower"))
    assert changes[0].describe() == (
        "decoder subj01/havir, metric pixcorr (lower is better): was 0.5000, now 0.5312, worse by 0.0312 "
        "(tolerance 0.01)"
    )
    message = report(changes, REFRESH)
    assert message.splitlines() == [
        f"1 metric(s) regressed beyond tolerance (if intended: {REFRESH}, and commit it):",
        changes[0].describe(),
    ]  # ssim moved as far, within its own tolerance


def test_a_decoder_missing_from_the_run_is_an_error_naming_it() -> None:
    reference = _reference(0.5, "higher")
    reference["rows"]["subj01/takagi"] = reference["rows"]["subj01/havir"]
    with pytest.raises(DataError, match=r"decoder 'subj01/takagi' missing from the current results"):
        compare(reference, _current(0.5, "higher"))
    with pytest.raises(DataError, match=r"decoder 'subj01/havir', 'subj01/takagi' missing .* found 0 rows"):
        compare(reference, {})
    with pytest.raises(DataError, match=r"metric 'ssim' of decoder 'subj01/havir' missing"):
        compare(_reference(0.5, "higher"), {"subj01/havir": {"pixcorr": {"value": 0.5, "direction": "higher"}}})


def test_a_decoder_the_reference_lacks_is_unguarded() -> None:
    current = _current(0.5, "higher") | {"subj01/mindeye": _current(0.5, "higher")["subj01/havir"]}
    assert unguarded(_reference(0.5, "higher"), current) == ["subj01/mindeye"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"version": 1}, "expected version 2, found 1"),
        ({"tolerance": {"pixcorr": 0.01}}, "expected a 'default' tolerance"),
        ({"tolerance": {"default": -0.1}}, "tolerance 'default' expected a number >= 0, found -0.1"),
        ({"tolerance": {"default": 0.1, "pixcor": 0.1}}, "tolerance for 'pixcor', expected one of"),
        ({"rows": {}}, "expected a non-empty 'rows' table"),
    ],
)
def test_a_bad_reference_file_is_refused_naming_it(tmp_path: Path, change: dict, expected: str) -> None:
    path = tmp_path / "reference.json"
    write_reference(path, _current(0.5, "higher"), {"default": 0.01}, {"default": "why"}, {"commands": []})
    path.write_text(json.dumps(json.loads(path.read_text()) | change))
    with pytest.raises(DataError) as caught:
        load_reference(path)
    assert str(path) in str(caught.value) and expected in str(caught.value) and "\n" not in str(caught.value)


def test_update_writes_the_reference_with_its_commands_and_a_check_against_it_passes_then_fails(
    ci_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--update` and the check, on the reference decoders' session run instead of a fresh comparison."""
    monkeypatch.setattr(ci, "run_ci", lambda out: ci_run / "results")
    monkeypatch.setattr(ci, "REFERENCE", tmp_path / "reference.json")
    assert ci.main(["--update"]) == 0
    written = load_reference(tmp_path / "reference.json")
    assert written["provenance"]["commands"] == ci.commands() and written["provenance"]["refresh"] == REFRESH
    assert written["tolerance"] == ci.TOLERANCE and set(written["tolerance_reasons"]) == set(ci.TOLERANCE)
    assert ci.main([]) == 0
    assert "decoder subj07/random, metric swav (lower is better): was" in capsys.readouterr().out

    written["rows"]["subj07/random"]["swav"]["value"] -= 0.5
    (tmp_path / "reference.json").write_text(json.dumps(written))
    assert ci.main([]) == 1
    assert "decoder subj07/random, metric swav (lower is better)" in capsys.readouterr().err
