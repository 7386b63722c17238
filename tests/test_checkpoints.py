"""A checkpoint's JSON state: read in one line or refused in one line, each mismatch in one message shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.checkpoints import Field, check_state, read_state, recorded, training_facts, voxel_groups
from eval.errors import ConfigError, DataError

STATE = {
    "data_fingerprint": "a" * 64,
    "n_voxels": 120,
    "group_sizes": {"structural": 40, "semantic": 80},
    "training": {"hidden": 256, "lr": 0.001, "groups": ["structural", "semantic"]},
}


def _fields(**changed) -> list[Field]:
    expected = STATE | changed
    groups = voxel_groups(expected["group_sizes"])
    return training_facts(expected["data_fingerprint"], 3, expected["n_voxels"], groups, expected["training"])


def test_a_recorded_state_is_read_back_and_passes(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"version": 1, **recorded(_fields())}))
    state = read_state(path, "Model")
    assert state == {"version": 1, **STATE}
    # Tuples in the expected settings match the lists JSON stored.
    check_state(state, path, "Model", _fields(training=STATE["training"] | {"groups": ("structural", "semantic")}))


@pytest.mark.parametrize(
    "content, found",
    [(None, "No such file"), ('{"n_voxels": 12', "Expecting"), ("[1, 2]", "expected a JSON object, found list")],
)
def test_an_unreadable_state_is_refused_in_one_line(tmp_path: Path, content: str | None, found: str) -> None:
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DataError) as caught:
        read_state(path, "Model")
    message = str(caught.value)
    assert message.startswith(f"Model checkpoint {path}: expected a readable JSON file, found ") and found in message
    assert "\n" not in message


def test_another_data_fingerprint_names_file_expected_and_found(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with pytest.raises(DataError) as caught:
        check_state(STATE, path, "Model", _fields(data_fingerprint="b" * 64))
    assert str(caught.value) == (
        f"Model checkpoint {path}: expected data fingerprint {'b' * 12} (subject 3's prepared data), found {'a' * 12}"
    )
    unknown = {k: v for k, v in STATE.items() if k != "data_fingerprint"}
    expected = r"expected data fingerprint a{12} \(subject 3's prepared data\), found unknown$"
    with pytest.raises(DataError, match=expected):
        check_state(unknown, path, "Model", _fields())


def test_the_first_mismatch_in_order_is_the_one_raised(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    with pytest.raises(DataError) as caught:
        check_state(STATE, path, "Model", _fields(n_voxels=121, group_sizes={"structural": 41, "semantic": 80}))
    assert str(caught.value) == f"Model checkpoint {path}: expected voxel count 121, found 120"
    with pytest.raises(DataError) as caught:
        check_state(STATE, path, "Model", _fields(group_sizes={"structural": 41, "semantic": 80}))
    assert str(caught.value) == (
        f"Model checkpoint {path}: expected voxel groups {{'structural': 41, 'semantic': 80}}, "
        "found {'structural': 40, 'semantic': 80}"
    )
    with pytest.raises(DataError, match=r"expected voxel count 120, found absent$"):
        check_state({"data_fingerprint": "a" * 64}, path, "Model", _fields())


def test_other_training_settings_name_only_those_that_differ(tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    settings = STATE["training"] | {"hidden": 48, "epochs": 3}
    with pytest.raises(ConfigError) as caught:
        check_state(STATE, path, "Model", _fields(training=settings))
    assert str(caught.value) == (
        f"Model checkpoint {path}: expected training settings hidden=48, epochs=3, "
        "found hidden=256, epochs absent; use --refit"
    )
    older = STATE | {"training": STATE["training"] | {"retired": True}}
    expected = r"expected training settings retired absent, found retired=true; use --refit$"
    with pytest.raises(ConfigError, match=expected):
        check_state(older, path, "Model", _fields())
