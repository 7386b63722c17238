"""The results-file schema: validation derived from the dataclasses, round trip, run identity, file naming,
atomic writes that replace a run identity's older files, and load errors that name the file and the field."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from eval.errors import ConfigError, DataError, InputError, OlderSchemaError
from eval.results import (
    SCHEMA_VERSION,
    DatasetInfo,
    DecoderInfo,
    HarnessInfo,
    MetricSummary,
    PerImage,
    ProtocolInfo,
    RunIdentity,
    RunResult,
    WeightsInfo,
    harness_info,
    load_result,
    result_stem,
    summarise_metrics,
    utc_now,
    write_result,
)


def make_identity(**changes) -> RunIdentity:
    fields = dict(
        decoder="ridge",
        ablation=None,
        options={"alpha": 1.0, "sizes": (10, 20)},
        backbone=None,
        transfer=None,
        data={"name": "synthnsd", "sessions": (1, 2, 3), "fmri_source": None},
        subject=1,
        protocol="mindeye",
        protocol_version="1",
        weights_source="none",
        seed=0,
        data_fingerprint="f" * 64,
    )
    return RunIdentity(**{**fields, **changes})


def make_result(pixcorr: float = 0.3, **changes) -> RunResult:
    per_image = {"pixcorr": np.linspace(pixcorr - 0.1, pixcorr + 0.1, 5), "ssim": np.linspace(0.2, 0.4, 5)}
    result = RunResult(
        created_utc=utc_now(),
        harness=HarnessInfo(version="0.1.0", git_commit=None, packages={"torch": "2.14.1"}),
        identity=make_identity(),
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
    return replace(result, **changes)


def test_round_trip(tmp_path: Path) -> None:
    result = make_result(tag="mine", variant={"alpha": np.float64(2.0)})
    outcome = write_result(tmp_path, result)
    assert outcome.path == tmp_path / f"{result_stem(result.identity, 'mine')}.json" and outcome.replaced == ()
    loaded = load_result(outcome.path)
    assert loaded == result and loaded.identity.key() == result.identity.key()
    data = json.loads(outcome.path.read_text())
    assert next(iter(data)) == "schema_version" and data["schema_version"] == SCHEMA_VERSION == 2
    assert data["per_image"]["nsd_ids"] == [100, 101, 102, 103, 104] and len(data["per_image"]["scores"]["ssim"]) == 5
    assert data["metrics"]["pixcorr"]["display"] == "PixCorr" and data["metrics"]["ssim"]["direction"] == "higher"
    assert data["dataset"]["voxel_recipe"] == {"roi": "nsdgeneral", "sizes": [10, 20]}
    assert data["identity"]["options"] == {"alpha": 1.0, "sizes": [10, 20]}
    assert data["tag"] == "mine" and data["variant"] == {"alpha": 2.0}


def test_a_mapping_is_validated_then_written(tmp_path: Path) -> None:
    data = make_result().to_dict()
    path = write_result(tmp_path, data).path
    assert load_result(path).to_dict() == data
    del data["decoder"]["kind"]
    with pytest.raises(DataError, match="missing field 'decoder.kind'"):
        write_result(tmp_path / "other", data)
    assert not (tmp_path / "other").exists()


def test_failed_write_keeps_the_old_file(tmp_path: Path) -> None:
    path = write_result(tmp_path, make_result()).path
    before = path.read_bytes()
    bad = make_result()
    bad.metrics["ssim"] = MetricSummary(float("nan"), None, 5, "higher", "SSIM")
    with pytest.raises(InputError, match=rf"{path.name}: field 'metrics.ssim.value' is NaN or infinite"):
        write_result(tmp_path, bad)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.glob("*.json*")) == [path.name]  # no temporary file left behind


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
        (lambda d: d.update(schema_version="2"), "field 'schema_version': expected int, found str"),
        (lambda d: d.update(schema_version=3), "schema_version 3: written by a newer version of havir-bench"),
        (lambda d: d["decoder"].pop("name"), "missing field 'decoder.name'"),
        (lambda d: d["identity"].pop("options"), "missing field 'identity.options'"),
        (lambda d: d.pop("metrics"), "missing field 'metrics'"),
        (lambda d: d["metrics"]["ssim"].pop("direction"), "missing field 'metrics.ssim.direction'"),
        (lambda d: d["decoder"].update(name=None), "field 'decoder.name': expected str, found null"),
        (lambda d: d["decoder"].update(kind=3), "field 'decoder.kind': expected str, found int"),
        (lambda d: d.update(subject="1"), "field 'subject': expected int, found str"),
        (lambda d: d.update(subject=True), "field 'subject': expected int, found bool"),
        (lambda d: d["identity"].update(seed=False), "field 'identity.seed': expected int, found bool"),
        (lambda d: d["metrics"]["ssim"].update(value="0.3"), "field 'metrics.ssim.value': expected float, found str"),
        (lambda d: d["metrics"]["ssim"].update(ci95=[0.1]), "field 'metrics.ssim.ci95': expected a list of 2"),
        (lambda d: d["timing_s"].update(fit=[1]), "field 'timing_s.fit': expected float, found list"),
        (lambda d: d.update(dataset=[]), "field 'dataset': expected dict, found list"),
        (lambda d: d["identity"].update(transfer={"source": "2"}), "'identity.transfer.source': expected int, found"),
        (lambda d: d["decoder"]["flags"].update(x=[1]), "'decoder.flags.x': expected bool or str or int or float"),
        (lambda d: d["decoder"].update(nmae="x"), r"'decoder.nmae': not in the schema \(expected one of: ablation, "),
        (lambda d: d["weights"].update(source="internet"), "field 'weights.source': expected one of none, seeded"),
        (lambda d: d["decoder"].update(kind="sota"), "field 'decoder.kind': expected one of reference"),
        (lambda d: d["metrics"]["ssim"].update(direction="lower"), "field 'metrics.ssim.direction': expected 'higher'"),
        (lambda d: d["identity"].update(subject=2), r"field 'identity.subject': expected 1 \(as the result states\)"),
        (lambda d: d["per_image"]["scores"]["ssim"].pop(), r"'per_image.scores.ssim': expected 5 values \(one per"),
        (lambda d: d["metrics"]["ssim"].update(value=float("nan")), "field 'metrics.ssim.value' is NaN or infinite"),
        (lambda d: d["metrics"]["ssim"].update(ci95=[0.1, float("inf")]), r"'metrics.ssim.ci95\[1\]' is NaN"),
        (lambda d: d["identity"]["options"].update(a=[float("nan")]), r"field 'identity.options.a\[0\]' is NaN"),
    ],
    ids=[
        "no-version",
        "version-type",
        "future-version",
        "no-decoder-name",
        "no-nested-mapping",
        "no-metrics",
        "no-direction",
        "null-for-str",
        "int-for-str",
        "str-for-int",
        "bool-for-int",
        "bool-for-nested-int",
        "str-for-float",
        "ci95-length",
        "mapping-value",
        "list-for-dataclass",
        "transfer-value",
        "flags-union",
        "unknown-field",
        "weights-source",
        "decoder-kind",
        "direction-contradicts-table",
        "identity-contradicts-result",
        "per-image-length",
        "nan",
        "inf-in-tuple",
        "nan-in-any",
    ],
)
def test_load_errors_name_the_file_and_field(tmp_path: Path, change, match) -> None:
    path = _corrupt(tmp_path, change)
    with pytest.raises(DataError, match=match) as info:
        load_result(path)
    assert str(info.value).startswith(f"results file {path}: ")
    assert not isinstance(info.value, OlderSchemaError)


def test_an_older_schema_is_refused_with_its_own_error(tmp_path: Path) -> None:
    path = _corrupt(tmp_path, lambda d: d.update(schema_version=1))
    with pytest.raises(OlderSchemaError) as info:
        load_result(path)
    assert str(info.value) == (
        f"results file {path}: schema_version 1: written by an earlier version of havir-bench (this one reads 2); "
        "run it again"
    )


def test_optional_fields_may_be_absent_and_ints_are_floats(tmp_path: Path) -> None:
    def change(d) -> None:
        for section, name in [("harness", "git_commit"), ("identity", "ablation"), ("metrics", "")]:
            if name:
                d[section].pop(name)
        d.pop("tag")
        d.pop("per_image")
        d["metrics"]["ssim"].pop("p_value")
        d["metrics"]["ssim"]["value"] = 1

    result = load_result(_corrupt(tmp_path, change))
    assert result.tag is None and result.per_image is None and result.identity.ablation is None
    assert result.harness.git_commit is None and result.metrics["ssim"].p_value is None
    assert result.metrics["ssim"].value == 1.0 and isinstance(result.metrics["ssim"].value, float)


def test_invalid_json_and_missing_file_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"schema_version": 2,')
    with pytest.raises(DataError, match=f"results file {path}: not valid JSON"):
        load_result(path)
    with pytest.raises(DataError, match="absent.json: cannot read it"):
        load_result(tmp_path / "absent.json")


def test_reported_numbers_need_no_interval_or_per_image_scores(tmp_path: Path) -> None:
    reported = make_result(
        per_image=None,
        metrics={"ssim": {"value": 0.3467, "ci95": None, "n": None, "direction": "higher", "display": "SSIM"}},
    )
    assert load_result(write_result(tmp_path, reported).path) == reported


def test_identity_is_json_plain_and_its_key_covers_every_field() -> None:
    identity = make_identity(data={"name": "nsd", "fmri_source": Path("/bd"), "n": np.int64(3)})
    assert identity.data == {"name": "nsd", "fmri_source": "/bd", "n": 3}
    again = RunIdentity(**json.loads(json.dumps(identity.__dict__)))
    assert again == identity and again.key() == identity.key()
    assert len(identity.key()) == 64 and identity.short_hash() == identity.key()[:10]
    changed = [
        make_identity(**{name: value})
        for name, value in [
            ("decoder", "havir"),
            ("ablation", "no_cap"),
            ("options", {"alpha": 2.0, "sizes": (10, 20)}),
            ("backbone", "minivd"),
            ("transfer", {"source": 2, "sessions": 1}),
            ("data", {"name": "nsd"}),
            ("subject", 2),
            ("protocol", "braindiffuser"),
            ("protocol_version", "2"),
            ("weights_source", "seeded"),
            ("seed", 1),
            ("data_fingerprint", "g" * 64),
        ]
    ]
    assert len({make_identity().key(), *(i.key() for i in changed)}) == 13
    with pytest.raises(ValueError, match="field 'options': expected JSON values only"):
        make_identity(options={"f": object()})


def test_result_stem_is_readable_and_ends_in_the_short_hash() -> None:
    identity = make_identity(decoder="nearest_neighbour")
    stem = result_stem(identity)
    assert stem == f"nearest_neighbour__full__subj01__mindeye__{identity.short_hash()}"
    identity = make_identity(decoder="havir", ablation="no_cap", subject=7, protocol="braindiffuser")
    expected = f"strong.v2__no_cap__subj07__braindiffuser__{identity.short_hash()}"
    assert result_stem(identity, tag="strong.v2") == expected


@pytest.mark.parametrize("bad", ["a/b", "a__b", "", "<script>", "-x", "x."])
def test_result_stem_refuses_a_part_that_is_not_file_name_safe(bad: str) -> None:
    with pytest.raises(ConfigError) as info:
        result_stem(make_identity(), tag=bad)
    assert str(info.value) == (
        f"--tag {bad!r}: cannot be part of a file name: use letters, digits and single '-', '_' or '.' between them"
    )
    with pytest.raises(ConfigError, match=r"^decoder name .*: cannot be part of a file name"):
        result_stem(make_identity(decoder=bad))
    with pytest.raises(ConfigError, match=r"^ablation name .*: cannot be part of a file name"):
        result_stem(make_identity(ablation=bad or "a b"))


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    return path


def test_writing_an_identity_under_another_tag_replaces_its_file_and_artifacts(tmp_path: Path) -> None:
    results = tmp_path / "results"
    old_artifacts = {"samples": "../samples/a.png", "shared": "../shared.txt", "folder": "../folder", "gone": "x.npz"}
    old = write_result(results, make_result(artifacts=old_artifacts)).path
    for rel in ("../samples/a.png", "../shared.txt", "../folder/inside.txt"):
        _touch(results / rel)
    new = make_result(tag="mine", artifacts={"samples": "../samples/b.png", "shared": "../shared.txt"})
    outcome = write_result(results, new)
    assert outcome.replaced == (old,) and not old.exists()
    assert not (tmp_path / "samples" / "a.png").exists()  # only the old result listed it
    assert (tmp_path / "shared.txt").is_file()  # the new result lists it too
    assert (tmp_path / "folder" / "inside.txt").is_file()  # a listed folder is not a file: left alone
    assert [p.name for p in results.glob("*.json")] == [outcome.path.name] and load_result(outcome.path) == new


def test_the_same_short_hash_with_another_identity_is_left_alone(tmp_path: Path) -> None:
    mine, other = make_result(), make_result(tag="other", identity=make_identity(seed=1))
    # A file named like `mine`'s identity but holding another: only the full key decides.
    impostor = tmp_path / f"other__full__subj01__mindeye__{mine.identity.short_hash()}.json"
    impostor.write_text((write_result(tmp_path / "elsewhere", other).path).read_text())
    outcome = write_result(tmp_path, mine)
    assert outcome.replaced == () and impostor.is_file() and load_result(impostor) == other


def test_a_rerun_under_the_same_name_is_reported_as_replaced(tmp_path: Path) -> None:
    first = write_result(tmp_path, make_result(pixcorr=0.3))
    second = write_result(tmp_path, make_result(pixcorr=0.5))
    assert first.replaced == () and second.replaced == (first.path,) and second.path == first.path
    assert load_result(second.path).metrics["pixcorr"].value == pytest.approx(0.5)


def test_writers_of_one_identity_at_once_leave_exactly_one_file(tmp_path: Path) -> None:
    results = [make_result(tag=f"t{i}") for i in range(6)] + [make_result() for _ in range(2)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda r: write_result(tmp_path, r), results))
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 1 and load_result(files[0]).identity == results[0].identity
    assert files[0] in {o.path for o in outcomes}


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
