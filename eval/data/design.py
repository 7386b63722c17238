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
    # The .mat file is 1-based (MATLAB); everything downstream is 0-based.
    design = Design(
        masterordering=np.asarray(mat["masterordering"]).ravel().astype(np.int64) - 1,
        subjectim=np.asarray(mat["subjectim"]).astype(np.int64) - 1,
        sharedix=np.asarray(mat["sharedix"]).ravel().astype(np.int64) - 1,
        path=path,
    )
    if design.n_trials % layout.DESIGN_SESSIONS:
        raise DataError(
            f"NSD design file {path}: expected a masterordering of {layout.DESIGN_SESSIONS} equal sessions, "
            f"found {design.n_trials} trials"
        )
    if design.subjectim.shape[0] != 8 or design.masterordering.max() >= design.subjectim.shape[1]:
        raise DataError(
            f"NSD design file {path}: expected subjectim of shape (8, >{design.masterordering.max()}), "
            f"found {design.subjectim.shape}"
        )
    return design


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
