"""Results files on disk: named by run identity, written atomically, one file per identity, read back validated.

A results file is `<tag or decoder>__<ablation or full>__subjXX__<protocol>__<short hash>.json`: readable parts
for people, the identity's short hash so that variants never share a file. Writing an identity replaces any
file of the same identity, under this name or another tag, together with the artifacts only it listed.
Artifact paths are relative to the folder holding the results file.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.atomic import write_json_atomic
from eval.errors import ConfigError, DataError, InputError
from eval.results.fromjson import find_non_finite
from eval.results.schema import RunIdentity, RunResult

try:
    import fcntl
except ImportError:  # not on Windows: writers of one folder are then not serialised
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

_NAME_PART = re.compile(r"[A-Za-z0-9]+(?:[-._][A-Za-z0-9]+)*")  # so no "__", which separates the parts
_LOCK_NAME = ".results-write.lock"


@dataclass(frozen=True)
class WriteOutcome:
    """Where a result was written, and the results files of the same identity it replaced (this path included
    when it existed before)."""

    path: Path
    replaced: tuple[Path, ...] = ()


def result_stem(identity: RunIdentity, tag: str | None = None) -> str:
    """'havir__no_cap__subj01__mindeye__3f2a9c1b7e' (the tag, when given, in place of the decoder's name).

    Raises:
        ConfigError: A part is not safe in a file name; names the part (`--tag` for the tag).
    """
    first = ("--tag", tag) if tag is not None else ("decoder name", identity.decoder)
    parts = [first, ("ablation name", identity.ablation or "full"), ("protocol name", identity.protocol)]
    for what, part in parts:
        check_name_part(what, part)
    name, ablation, protocol = (part for _, part in parts)
    return f"{name}__{ablation}__subj{int(identity.subject):02d}__{protocol}__{identity.short_hash()}"


def check_name_part(what: str, part: object) -> None:
    """Raise ConfigError unless `part` can stand in a results file name (`what` names it: '--tag', ...)."""
    if not isinstance(part, str) or not _NAME_PART.fullmatch(part):
        raise ConfigError(
            f"{what} {part!r}: cannot be part of a file name: use letters, digits and single '-', '_' or '.' "
            "between them"
        )


def check_tag(tag: str) -> None:
    """Fail early on a `--tag` a file name cannot hold."""
    check_name_part("--tag", tag)


def write_result(results_dir: str | os.PathLike[str], result: RunResult | Mapping[str, Any]) -> WriteOutcome:
    """Write `result` atomically into `results_dir`, then remove other files of the same run identity.

    A mapping is validated first. The old file survives any failure of the write. Files whose name ends in the
    same short hash but whose full identity differs are left alone.

    Raises:
        InputError: A value is NaN or infinite (JSON has neither); names the field.
        DataError: A mapping does not follow the schema.
        ConfigError: The tag, decoder, ablation or protocol name cannot be part of a file name.
    """
    folder = Path(results_dir)
    if not isinstance(result, RunResult):
        result = RunResult.from_dict(result, source=f"to be written in {folder}")
    path = folder / f"{result_stem(result.identity, result.tag)}.json"
    obj = result.to_dict()
    bad = find_non_finite(obj)
    if bad:
        raise InputError(f"cannot write results file {path}: field '{bad}' is NaN or infinite")
    with _folder_lock(folder):
        existed = path.is_file()
        write_json_atomic(path, obj)
        replaced = ([path] if existed else []) + _remove_same_identity(folder, path, result)
    for old in replaced:
        log.info("replaced results file %s (same run identity)", old)
    return WriteOutcome(path=path, replaced=tuple(replaced))


def load_result(path: str | os.PathLike[str]) -> RunResult:
    """Read and validate one results file.

    Raises:
        OlderSchemaError: The file was written by an earlier version of havir-bench (a DataError).
        DataError: The file is unreadable, not JSON, from a newer harness, or misses a field; names it.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise DataError(f"results file {path}: cannot read it: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"results file {path}: not valid JSON: {exc}") from None
    return RunResult.from_dict(data, source=str(path))


@contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    """Serialise writers of one folder, so two writers of one identity under two tags leave exactly one file.

    Without a lock each could remove the other's file. Where locking is unavailable (no fcntl, a file system
    without locks) the write goes ahead unlocked, as it would have without this.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / _LOCK_NAME, "a+b")  # noqa: SIM115 - closed below; closing releases the lock
    except OSError:
        yield  # the write itself reports a folder it cannot write to
        return
    with handle:
        if fcntl is not None:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            except OSError:
                pass
        yield


def _remove_same_identity(folder: Path, path: Path, result: RunResult) -> list[Path]:
    key = result.identity.key()
    keep = {(folder / rel).resolve() for rel in result.artifacts.values()}
    removed = []
    for other in sorted(folder.glob(f"*__{result.identity.short_hash()}.json")):
        if other.name == path.name or other.name.startswith("."):
            continue
        try:
            old = load_result(other)
        except DataError:
            continue  # gone meanwhile, or not a current results file: not ours to remove
        if old.identity.key() != key or not _remove(other):
            continue
        for rel in old.artifacts.values():
            artifact = folder / rel
            if artifact.is_file() and artifact.resolve() not in keep:
                _remove(artifact)
        removed.append(other)
    return removed


def _remove(path: Path) -> bool:
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:  # the new result is written; a file left over is reported, not fatal
        log.warning("could not remove %s (same run identity as a newer result): %s", path, exc.strerror or exc)
        return False
    return True
