"""Find and load every results file under a folder; an unreadable one stops the leaderboard, naming it.

Files written by an earlier version of havir-bench (an older schema) are skipped with a warning, so an old
`runs/` folder does not stop the page; they are run again to appear.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from eval.errors import DataError, OlderSchemaError
from eval.results import RunResult, load_result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedResult:
    """A results file and where it was read from (its artifacts are relative to `path.parent`)."""

    path: Path
    result: RunResult


def collect_results(results_dir: str | os.PathLike[str]) -> list[LoadedResult]:
    """Load every `*.json` under `results_dir` (recursively, dot files excepted, with a warning), in path order.

    Raises:
        DataError: The folder is missing or holds no current results files, or any file is invalid (named).
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise DataError(f"results folder {folder} does not exist")
    paths = sorted(p for p in folder.rglob("*.json") if p.is_file())
    # Dot files are atomic writes in progress (or left by a killed writer), never results.
    hidden = [p for p in paths if p.name.startswith(".")]
    for p in hidden:
        log.warning("skipping temporary file %s", p)
    paths = [p for p in paths if not p.name.startswith(".")]
    if not paths:
        raise DataError(f"no results files (*.json) under {folder}")
    loaded = []
    for path in paths:
        try:
            loaded.append(LoadedResult(path=path, result=load_result(path)))
        except OlderSchemaError as exc:
            log.warning("skipping %s", exc)
    if not loaded:
        raise DataError(f"no current results files under {folder}: all {len(paths)} are from an earlier version")
    return loaded
