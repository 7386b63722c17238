"""Find and load every results file under a folder; a file that cannot be shown is skipped, naming it and why.

Skipped, each with one warning line (and listed in `Collection.skipped`, so the page and the exit code can say
so): a file that is not valid JSON or does not follow the schema, a file of an older schema (run it again) or
of a newer one (update havir-bench), and every file of a run identity that two or more files hold when they were
written by different code versions (harness version or git commit): their numbers may differ and neither is
known to be the right one, so none is shown until one is removed or the run is repeated. Files of one identity
written by the same code are copies of one run: they stay, and the table reports them as a duplicate (an error
naming both), as before.
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DataError
from eval.results import RunResult, load_result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedResult:
    """A results file and where it was read from (its artifacts are relative to `path.parent`)."""

    path: Path
    result: RunResult


@dataclass(frozen=True)
class Skipped:
    """A results file left out of the tables."""

    path: Path
    reason: str  # one line: what was expected, what was found


@dataclass(frozen=True)
class Collection:
    """What a results folder holds: the files loaded, in path order, and the files skipped."""

    loaded: list[LoadedResult]
    skipped: list[Skipped]


def collect_results(results_dir: str | os.PathLike[str]) -> Collection:
    """Load every `*.json` under `results_dir` (recursively, dot files excepted, with a warning), in path order.

    Raises:
        DataError: The folder is missing, holds no results files, or every one of them was skipped.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise DataError(f"results folder {folder} does not exist")
    paths = sorted(p for p in folder.rglob("*.json") if p.is_file())
    # Dot files are atomic writes in progress (or left by a killed writer), never results.
    for p in paths:
        if p.name.startswith("."):
            log.warning("skipping temporary file %s", p)
    paths = [p for p in paths if not p.name.startswith(".")]
    if not paths:
        raise DataError(f"no results files (*.json) under {folder}")
    loaded: list[LoadedResult] = []
    skipped: list[Skipped] = []
    for path in paths:
        try:
            loaded.append(LoadedResult(path=path, result=load_result(path)))
        except DataError as exc:  # OlderSchemaError included
            skipped.append(Skipped(path, _reason(exc, path)))
    loaded, conflicting = _drop_conflicting_versions(loaded)
    skipped = sorted(skipped + conflicting, key=lambda s: s.path)
    for item in skipped:
        log.warning("skipping %s: %s", item.path, item.reason)
    if not loaded:
        raise DataError(
            f"no valid results files under {folder}: all {len(paths)} were skipped (first: {skipped[0].path}: "
            f"{skipped[0].reason})"
        )
    return Collection(loaded=loaded, skipped=skipped)


def exit_status(skipped: list[Skipped]) -> int:
    """A command's exit status after writing what was valid: 1, with a closing line, when files were skipped."""
    if not skipped:
        return 0
    names = ", ".join(str(item.path) for item in skipped)
    log.error("error: %d results file(s) skipped, reasons above: %s", len(skipped), names)
    return 1


def _reason(exc: DataError, path: Path) -> str:
    """The error's message without its leading 'results file PATH: ' (the skip line names the file itself)."""
    message = str(exc).replace("\n", " ")
    prefix = f"results file {path}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def code_version(result: RunResult) -> str:
    """'havir-bench 0.1.0, commit 1a2b3c4d5e6f' (commit 'unknown' outside a git checkout)."""
    commit = result.harness.git_commit[:12] if result.harness.git_commit else "unknown"
    return f"{result.harness.name} {result.harness.version}, commit {commit}"


def _drop_conflicting_versions(loaded: list[LoadedResult]) -> tuple[list[LoadedResult], list[Skipped]]:
    """Split off every file of a run identity that files of different code versions hold."""
    by_identity: dict[str, list[LoadedResult]] = defaultdict(list)
    for item in loaded:
        by_identity[item.result.identity.key()].append(item)
    dropped: dict[Path, Skipped] = {}
    for items in by_identity.values():
        if len({code_version(item.result) for item in items}) < 2:
            continue
        for item in items:
            others = "; ".join(f"{o.path} ({code_version(o.result)})" for o in items if o is not item)
            dropped[item.path] = Skipped(
                item.path,
                f"expected one code version per run identity, found {code_version(item.result)} here and "
                f"{others} for the same identity; remove the stale file or run it again",
            )
    return [item for item in loaded if item.path not in dropped], list(dropped.values())
