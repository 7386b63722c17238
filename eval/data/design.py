"""The NSD experimental design: which image each trial showed, and the shared-image train/test rule."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.io

from eval.data import layout
from eval.data.volumes import require_file
from eval.errors import ConfigError, DataError


@dataclass(frozen=True)
class Design:
    """`nsd_expdesign.mat`, converted to 0-based indices."""

    masterordering: np.ndarray  # (n_trials,) 0-based column of subjectim shown on each trial
    subjectim: np.ndarray  # (8, n_cols) 0-based NSD ids
    sharedix: np.ndarray  # (n_shared,) 0-based NSD ids
    path: Path

    @property
    def n_trials(self) -> int:
        return int(self.masterordering.size)

    @property
    def trials_per_session(self) -> int:
        return self.n_trials // layout.DESIGN_SESSIONS

    @property
    def n_shared(self) -> int:
        return int(self.sharedix.size)


def load_design(root: Path) -> Design:
    path = require_file(layout.expdesign(root), "NSD design file")
    try:
        mat = scipy.io.loadmat(str(path), variable_names=["masterordering", "subjectim", "sharedix"])
    except Exception as exc:
        raise DataError(f"cannot read NSD design file {path}: {exc}") from exc
    found = sorted(k for k in mat if not k.startswith("__"))
    for key in ("masterordering", "subjectim", "sharedix"):
        if key not in mat:
            raise DataError(f"NSD design file {path}: expected variable '{key}', found {found}")
    subjectim = np.asarray(mat["subjectim"])
    if subjectim.ndim != 2 or subjectim.shape[0] != 8:
        raise DataError(
            f"NSD design file {path}: expected subjectim of shape (8, images per subject), found {subjectim.shape}"
        )
    n_columns = subjectim.shape[1]
    # The .mat file is 1-based (MATLAB); a 0-based or foreign file would silently pair trials with the wrong
    # images, so every index is checked against the range it indexes before the shift to 0-based.
    masterordering = _indices(
        path, "masterordering", np.asarray(mat["masterordering"]).ravel(), n_columns, "columns of subjectim"
    )
    subjectim = _indices(path, "subjectim", subjectim, layout.N_STIMULI, "the images of the stimuli file")
    sharedix = _indices(
        path, "sharedix", np.asarray(mat["sharedix"]).ravel(), layout.N_STIMULI, "the images of the stimuli file"
    )
    _check_shared(path, subjectim, sharedix)
    design = Design(masterordering=masterordering - 1, subjectim=subjectim - 1, sharedix=sharedix - 1, path=path)
    if design.n_trials == 0 or design.n_trials % layout.DESIGN_SESSIONS:
        raise DataError(
            f"NSD design file {path}: expected a masterordering of {layout.DESIGN_SESSIONS} equal sessions, "
            f"found {design.n_trials} trials"
        )
    return design


def _indices(path: Path, key: str, values: np.ndarray, upper: int, meaning: str) -> np.ndarray:
    """`values` as int64, after checking that each is one of NSD's 1-based indices 1..upper."""
    if values.size == 0 or not (np.issubdtype(values.dtype, np.integer) or np.issubdtype(values.dtype, np.floating)):
        raise DataError(f"NSD design file {path}: expected {key} to hold numbers, found {values.dtype} {values.shape}")
    bad = (values < 1) | (values > upper)
    if values.dtype.kind == "f":
        bad |= ~np.isfinite(values) | (np.round(values) != values)
    if np.any(bad):
        flat = int(np.flatnonzero(bad)[0])
        # Positions are 1-based, as MATLAB (and the file's own indices) count.
        if values.ndim == 2:
            row, column = np.unravel_index(flat, values.shape)
            where = f"row {row + 1}, column {column + 1}"
        else:
            where = f"position {flat + 1}"
        value = values.flat[flat]
        shown = int(value) if np.isfinite(value) and value == int(value) else value
        hint = " (a 0-based file?)" if shown == 0 else f" ({meaning})"
        raise DataError(
            f"NSD design file {path}: {key} holds {shown} at {where}; "
            f"expected NSD's 1-based indices 1..{upper}{hint}"
        )
    return values.astype(np.int64)


def _check_shared(path: Path, subjectim: np.ndarray, sharedix: np.ndarray) -> None:
    """The test split counts a trial as shared iff it shows one of subjectim's first len(sharedix) columns:
    those columns must hold exactly the images of sharedix, in every row (1-based ids, as in the file)."""
    n_shared = sharedix.size
    if n_shared > subjectim.shape[1]:
        raise DataError(
            f"NSD design file {path}: expected sharedix to list at most the {subjectim.shape[1]} columns of "
            f"subjectim, found {n_shared} ids"
        )
    shared = np.sort(sharedix)
    for row in range(subjectim.shape[0]):
        first = np.sort(subjectim[row, :n_shared])
        if np.array_equal(first, shared):
            continue
        outside = np.setdiff1d(shared, first)
        found = (
            f"{outside.size} of its ids absent from row {row + 1} (first: {outside[0]})"
            if outside.size
            else f"repeated ids in sharedix or in row {row + 1}"
        )
        hint = " (a 0-based sharedix?)" if np.array_equal(shared + 1, first) else ""
        raise DataError(
            f"NSD design file {path}: expected sharedix to hold the images of subjectim's first {n_shared} "
            f"columns (the shared images, in every row), found {found}{hint}"
        )


@dataclass(frozen=True)
class SubjectTrials:
    """Every trial of one subject within the chosen sessions."""

    nsd_ids: np.ndarray  # (n_trials,) 0-based NSD id of the image shown
    is_test: np.ndarray  # (n_trials,) shared image => test set
    session: np.ndarray  # (n_trials,) 1-based session number
    n_sessions: int


def subject_trials(design: Design, subject: int, n_sessions: int) -> SubjectTrials:
    """Trials of `subject` in sessions 1..n_sessions, by the shared-image rule.

    A trial is a test trial iff it showed one of the shared images: masterordering index < n_shared
    (the first n_shared columns of subjectim are the shared images, identical for every subject).
    """
    if not 1 <= n_sessions <= layout.DESIGN_SESSIONS:
        raise ConfigError(f"--sessions: expected 1..{layout.DESIGN_SESSIONS}, found {n_sessions}")
    n = n_sessions * design.trials_per_session
    order = design.masterordering[:n]
    nsd_ids = design.subjectim[subject - 1, order]
    session = np.arange(n) // design.trials_per_session + 1
    return SubjectTrials(nsd_ids=nsd_ids, is_test=order < design.n_shared, session=session, n_sessions=n_sessions)
