"""A decoder checkpoint's JSON state: read it, and check it against what the decoder about to load it expects.

A checkpoint folder holds the weights and one JSON file recording what they were trained on (the data's
fingerprint, the voxel count, the voxel groups) and with which settings. A decoder lists these facts once, as
`Field`s: `recorded` writes them into the JSON, `check_state` checks them on loading. Loading a checkpoint trained
on anything else would reconstruct from the wrong voxels or with the wrong model, so every mismatch is refused in
one line of one shape:

    <what> checkpoint <file>: expected <field> <expected>, found <found>

A file that cannot be read is refused the same way ("expected a readable JSON file"), never with a traceback;
`--refit` trains the checkpoint again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.cache import read_meta
from eval.errors import ConfigError, DataError, HarnessError

FINGERPRINT_SHOWN = 12  # characters of a data fingerprint a message shows


def read_state(path: Path, what: str) -> dict[str, Any]:
    """The checkpoint's JSON object.

    Args:
        path: The checkpoint's JSON file.
        what: The decoder's name as messages show it ("HAVIR", "MindEye", "brain_diffuser").

    Raises:
        DataError: In one line, when the file is missing, damaged or holds anything but a JSON object.
    """
    try:
        return read_meta(Path(path))
    except (OSError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{what} checkpoint {path}: expected a readable JSON file, found {detail}") from None


def _as_json(value: Any) -> Any:
    """`value` as the checkpoint's JSON holds it once read back (tuples become lists, keys strings)."""
    return json.loads(json.dumps(value))


def _plain(value: Any) -> str:
    return "absent" if value is None else str(value)


@dataclass(frozen=True)
class Field:
    """One recorded fact a checkpoint must match.

    Attributes:
        key: The fact's key in the checkpoint's JSON.
        label: Its name in a message ("data fingerprint").
        expected: The value the loading decoder expects (compared as JSON would store it).
        error: The error a mismatch raises: DataError for the data, ConfigError for the settings.
        show: (expected, found) -> the two values as the message shows them.
        note: Words after the expected value ("(subject 1's prepared data)").
        hint: Words after the found value ("use --refit").
    """

    key: str
    label: str
    expected: Any
    error: type[HarnessError] = DataError
    show: Callable[[Any, Any], tuple[str, str]] = lambda expected, found: (_plain(expected), _plain(found))
    note: str = ""
    hint: str = ""


def recorded(fields: Sequence[Field]) -> dict[str, Any]:
    """What a checkpoint's JSON records of `fields` (the values a later load checks with `check_state`)."""
    return {field.key: field.expected for field in fields}


def check_state(state: Mapping[str, Any], path: Path, what: str, fields: Sequence[Field]) -> None:
    """Check `fields` in order against the checkpoint's `state`; the first mismatch is raised.

    Raises:
        DataError or ConfigError (each field's `error`): "<what> checkpoint <path>: expected <label> <expected>,
            found <found>", in one line.
    """
    for field in fields:
        expected, found = _as_json(field.expected), state.get(field.key)
        if found == expected:
            continue
        shown_expected, shown_found = field.show(expected, found)
        note = f" {field.note}" if field.note else ""
        hint = f"; {field.hint}" if field.hint else ""
        raise field.error(
            f"{what} checkpoint {path}: expected {field.label} {shown_expected}{note}, found {shown_found}{hint}"
        )


def _show_fingerprints(expected: str, found: Any) -> tuple[str, str]:
    return expected[:FINGERPRINT_SHOWN], (str(found)[:FINGERPRINT_SHOWN] if found else "unknown")


def data_fingerprint(fingerprint: str, subject: int) -> Field:
    """The fingerprint of the subject's prepared data the checkpoint was trained on."""
    return Field(
        "data_fingerprint", "data fingerprint", fingerprint, show=_show_fingerprints,
        note=f"(subject {subject}'s prepared data)",
    )


def voxel_count(n_voxels: int) -> Field:
    """The number of voxels of the prepared data (the columns of the test fMRI)."""
    return Field("n_voxels", "voxel count", n_voxels)


def voxel_groups(sizes: Mapping[str, int]) -> Field:
    """The number of voxels each part of the model reads, by part."""
    return Field("group_sizes", "voxel groups", dict(sizes))


def _show_settings(expected: Mapping[str, Any], found: Any) -> tuple[str, str]:
    """Only the settings that differ, as name=value (JSON values), in the expected settings' order."""
    found = found if isinstance(found, Mapping) else {}
    keys = [*expected, *(key for key in found if key not in expected)]
    differ = [key for key in keys if key not in found or key not in expected or found[key] != expected[key]]

    def listed(settings: Mapping[str, Any]) -> str:
        return ", ".join(f"{key}={json.dumps(settings[key])}" if key in settings else f"{key} absent" for key in differ)

    return listed(expected), listed(found)


def training_settings(key: Mapping[str, Any]) -> Field:
    """The settings that change the trained weights (the decoder's training key)."""
    return Field("training", "training settings", key, error=ConfigError, show=_show_settings, hint="use --refit")


def training_facts(
    fingerprint: str, subject: int, n_voxels: int, groups: Field, training: Mapping[str, Any]
) -> list[Field]:
    """What a trained decoder's checkpoint records, in the order a load checks it: the prepared data's fingerprint,
    its voxel count, the voxel groups the model reads (`groups`) and the settings that change the weights."""
    return [data_fingerprint(fingerprint, subject), voxel_count(n_voxels), groups, training_settings(training)]
