"""The results-file schema: round trip, atomic writes, and load errors that name the file and the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from eval.errors import ConfigError, DataError, InputError
from eval.results import (
    SCHEMA_VERSION,
    DatasetInfo,
    DecoderInfo,
    HarnessInfo,
    MetricSummary,
    PerImage,
    ProtocolInfo,
    RunResult,
    WeightsInfo,
    harness_info,
    load_result,
    result_filename,
    summarise_metrics,
    utc_now,
    write_result,
)


def make_result(pixcorr: float = 0.3) -> RunResult:
    per_image = {"pixcorr": np.linspace(pixcorr - 0.1, pixcorr + 0.1, 5), "ssim": np.linspace(0.2, 0.4, 5)}
    return RunResult(
        created_utc=utc_now(),
        harness=HarnessInfo(version="0.1.0", git_commit=None, packages={"torch": "2.14.1"}),
        decoder=DecoderInfo(
            name="ridge",
            ablation=None,
            description="ridge to pixels",
            flags={"blend": 0.25, "best_of": 1, "gt_selection": False},
            kind="baseline",
        ),
        subject=1,
        dataset=DatasetInfo(
            name="synthnsd",
            label="synthnsd (embedded default)",
            root="/tmp/nsd",
            fingerprint="f" * 64,
            test_set_fingerprint="t" * 64,
            n_test=5,
            sessions=(1, 2, 3),
            normalisation="zscore-session",
            voxel_recipe={"roi": "nsdgeneral", "sizes": (10, 20)},
        ),
        protocol=ProtocolInfo(name="mindeye", version="1"),
        weights=WeightsInfo(source="none", comparable_to_published=False, note="pixel metrics only"),
        metrics=summarise_metrics(per_image),
        per_image=PerImage(nsd_ids=np.arange(100, 105), scores=per_image),
        timing_s={"fit": 1.5, "score": np.float64(0.25)},
        artifacts={"samples": "samples/ridge.png"},
    )


def test_round_trip(tmp_path: Path) -> None:
    result = make_result()
    path = write_result(tmp_path / "r.json", result)
    loaded = load_result(path)
    assert loaded == result
    data = json.loads(path.read_text())
    assert next(iter(data)) == "schema_version" and data["schema_version"] == SCHEMA_VERSION
    assert data["per_image"]["nsd_ids"] == [100, 101, 102, 103, 104]
    assert data["metrics"]["pixcorr"]["display"] == "PixCorr" and data["metrics"]["ssim"]["direction"] == "higher"
    assert data["dataset"]["voxel_recipe"] == {"roi": "nsdgeneral", "sizes": [10, 20]}


def test_a_mapping_is_validated_then_written(tmp_path: Path) -> None:
    data = make_result().to_dict()
    write_result(tmp_path / "r.json", data)
    assert load_result(tmp_path / "r.json").to_dict() == data
    del data["decoder"]["kind"]
    with pytest.raises(DataError, match="missing field 'decoder.kind'"):
        write_result(tmp_path / "s.json", data)
    assert not (tmp_path / "s.json").exists()


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_result(tmp_path / "r.json", make_result())
    before = path.read_bytes()
    bad = make_result()
    bad.metrics["ssim"] = MetricSummary(float("nan"), None, 5, "higher", "SSIM")
    with pytest.raises(InputError, match=r"r.json: field 'metrics.ssim.value' is NaN"):
        write_result(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # no temporary file left behind


def _corrupt(tmp_path: Path, change) -> Path:
    data = make_result().to_dict()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    return path


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.pop("schema_version"), "missing field 'schema_version'"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d["decoder"].pop("name"), "missing field 'decoder.name'"),
        (lambda d: d.pop("metrics"), "missing field 'metrics'"),
        (lambda d: d["metrics"]["ssim"].pop("direction"), "missing field 'metrics.ssim.direction'"),
        (lambda d: d.update(subject="1"), "field 'subject': expected int, found str"),
        (lambda d: d["weights"].update(source="internet"), "weights.source: expected one of none, seeded"),
        (lambda d: d["decoder"].update(kind="sota"), "decoder.kind: expected one of reference"),
        (lambda d: d["metrics"]["ssim"].update(direction="lower"), "metrics.ssim.direction: expected 'higher'"),
        (lambda d: d["per_image"]["ssim"].pop(), r"per_image.ssim: expected 5 values \(one per nsd_id\), found 4"),
        (lambda d: d["metrics"]["ssim"].update(value=float("nan")), "field 'metrics.ssim.value' is NaN"),
    ],
    ids=[
        "no-version",
        "future-version",
        "no-decoder-name",
        "no-metrics",
        "no-direction",
        "subject-type",
        "weights-source",
        "decoder-kind",
        "direction-contradicts-table",
        "per-image-length",
        "nan",
    ],
)
def test_load_errors_name_the_file_and_field(tmp_path: Path, change, match) -> None:
    path = _corrupt(tmp_path, change)
    with pytest.raises(DataError, match=match) as info:
        load_result(path)
    assert str(info.value).startswith(f"results file {path}: ")


def test_invalid_json_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 1,')
    with pytest.raises(DataError, match=f"results file {path}: not valid JSON"):
        load_result(path)
    with pytest.raises(DataError, match="absent.json: cannot read it"):
        load_result(tmp_path / "absent.json")


def test_reported_numbers_need_no_interval_or_per_image_scores(tmp_path: Path) -> None:
    result = make_result()
    reported = RunResult(
        **{
            **result.__dict__,
            "per_image": None,
            "metrics": {"ssim": {"value": 0.3467, "ci95": None, "n": None, "direction": "higher", "display": "SSIM"}},
        }
    )
    assert load_result(write_result(tmp_path / "r.json", reported)) == reported


def test_result_filename() -> None:
    assert result_filename("nearest_neighbour", None, 1, "mindeye") == "nearest_neighbour__full__subj01__mindeye.json"
    assert result_filename("havir", "no_cap", 7, "braindiffuser") == "havir__no_cap__subj07__braindiffuser.json"
    for bad in ("a/b", "a__b", "", "<script>"):
        with pytest.raises(ConfigError, match="cannot be part of a file name"):
            result_filename(bad, None, 1, "mindeye")


def test_metrics_block_takes_display_and_direction_from_the_table() -> None:
    block = summarise_metrics({"effnet": [0.8, 0.9, 0.7], "pixcorr": [0.1, 0.2, 0.3]})
    assert block["effnet"].direction == "lower" and block["effnet"].display == "EffNet-B"
    assert block["pixcorr"].value == pytest.approx(0.2) and block["pixcorr"].n == 3
    assert block["pixcorr"].ci95[0] <= 0.2 <= block["pixcorr"].ci95[1]
    with pytest.raises(ConfigError, match="unknown metric 'pixcor'. Did you mean: pixcorr"):
        summarise_metrics({"pixcor": [0.1]})


def test_harness_info_records_installed_packages() -> None:
    info = harness_info(("numpy", "surely-not-installed-package"))
    assert info.name == "havir-bench" and info.packages == {"numpy": np.__version__}
    assert info.git_commit is None or len(info.git_commit) == 40
