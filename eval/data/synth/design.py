"""The experimental design: which image each subject saw on each trial, and the stim-info table.

As in NSD, `subjectim` columns 1..n_shared hold the shared images (identical for every subject) and the
remaining columns each subject's own images; `masterordering` (common to all subjects) indexes those columns,
so shared trials sit at the same positions for everyone. Rows of subjects without a simulated brain
(3, 4, 6, 8 by default) repeat the first simulated subject's row, so the table keeps NSD's 8 rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from eval.data import layout
from eval.data.synth.config import EARLY_SESSIONS, REPS, SynthConfig
from eval.data.synth.seeding import stream

N_DESIGN_SUBJECTS = 8
COCO_MAX_ID = 581929  # largest COCO 2017 image id


@dataclass(frozen=True)
class Design:
    """NSD's design arrays, 1-based like the .mat file, as int64 vectors/matrices."""

    masterordering: np.ndarray  # (n_trials,) subjectim column of each trial
    subjectim: np.ndarray  # (8, n_shared + n_train) nsdId + 1
    sharedix: np.ndarray  # (n_shared,) nsdId + 1 of the shared images, ascending
    n_shared: int

    @property
    def n_trials(self) -> int:
        return int(self.masterordering.size)

    @property
    def trials_per_session(self) -> int:
        return self.n_trials // layout.DESIGN_SESSIONS

    def nsd_ids(self, subject: int) -> np.ndarray:
        """0-based nsdId shown on every trial to `subject`."""
        return self.subjectim[subject - 1, self.masterordering - 1] - 1

    def shared_trials(self) -> np.ndarray:
        """Bool per trial: a shared (test) image."""
        return self.masterordering <= self.n_shared

    def session_slice(self, session: int) -> slice:
        """Trials of 1-based `session`."""
        per = self.trials_per_session
        return slice((session - 1) * per, session * per)

    def repetitions(self, subject: int, n_images: int, sessions: int = layout.DESIGN_SESSIONS) -> np.ndarray:
        """(n_images, 3) 1-based trial numbers of each image's showings within `sessions`, 0 = not shown."""
        ids = self.nsd_ids(subject)[: sessions * self.trials_per_session]
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.r_[0, np.flatnonzero(np.diff(sorted_ids)) + 1]
        rank = np.arange(ids.size) - np.repeat(starts, np.diff(np.r_[starts, ids.size]))
        reps = np.zeros((n_images, REPS), dtype=np.int64)
        reps[sorted_ids, rank] = order + 1
        return reps


def build_design(config: SynthConfig) -> Design:
    """The trial order and image assignment of `config`, reproducing NSD's split over sessions 1-37 / 38-40."""
    rng = stream(config.seed, "design")
    n_shared, n_train = config.n_shared, config.n_train
    perm = rng.permutation(config.n_images)
    shared_ids = np.sort(perm[:n_shared])
    rows = {}
    for k, subject in enumerate(config.subjects):
        own = perm[n_shared + k * n_train : n_shared + (k + 1) * n_train]
        rows[subject] = np.concatenate([shared_ids, own])
    first = rows[config.subjects[0]]
    subjectim = np.stack([rows.get(s, first) for s in range(1, N_DESIGN_SUBJECTS + 1)]) + 1

    early, late = _shared_tokens(rng, config)
    train = np.repeat(np.arange(n_train) + n_shared, REPS)
    rng.shuffle(train)
    n_early_train = EARLY_SESSIONS * config.trials_per_session - early.size
    early = np.concatenate([early, train[:n_early_train]])
    late = np.concatenate([late, train[n_early_train:]])
    rng.shuffle(early)
    rng.shuffle(late)
    masterordering = np.concatenate([early, late]).astype(np.int64) + 1
    return Design(masterordering, subjectim.astype(np.int64), (shared_ids + 1).astype(np.int64), n_shared)


def _shared_tokens(rng: np.random.Generator, config: SynthConfig) -> tuple[np.ndarray, np.ndarray]:
    """0-based shared columns of the trials in sessions 1-37 and in sessions 38-40."""
    n = config.n_shared
    n_early_images = config.early_shared_images
    images = rng.permutation(n)
    early_images, late_images = images[:n_early_images], images[n_early_images:]
    # Every early image keeps its first showing early; a random few of the other showings move late.
    n_moved = REPS * n_early_images - config.early_shared_trials
    movable = np.repeat(early_images, REPS - 1)
    moved = rng.choice(movable.size, n_moved, replace=False)
    stay = np.ones(movable.size, dtype=bool)
    stay[moved] = False
    early = np.concatenate([early_images, movable[stay]])
    late = np.concatenate([np.repeat(late_images, REPS), movable[moved]])
    return early, late


def stim_info_table(config: SynthConfig, design: Design) -> pd.DataFrame:
    """nsd_stim_info_merged's columns, one row per image, ordered by nsdId.

    Repetition columns count only sessions a subject completed in the real NSD (subjects 3, 4, 6, 8 stop
    early), so they agree with what NSD's own table would say for the same design.
    """
    rng = stream(config.seed, "coco")
    n = config.n_images
    coco_ids = rng.choice(COCO_MAX_ID, n, replace=False) + 1
    val = rng.random(n) < 0.1
    val[-1] = True  # both caption files are non-empty, even for tiny configs
    val[0] = False
    crop = np.round(rng.integers(0, 120, n) / 640, 7)
    vertical = rng.random(n) < 0.5
    crop_boxes = [_crop_box(c, v) for c, v in zip(crop, vertical)]
    table = pd.DataFrame(
        {
            "cocoId": coco_ids,
            "cocoSplit": np.where(val, "val2017", "train2017"),
            "cropBox": crop_boxes,
            "loss": np.round(crop * rng.uniform(0.2, 0.6, n), 6),
            "nsdId": np.arange(n),
            "flagged": rng.random(n) < 0.005,
            "BOLD5000": rng.random(n) < 0.03,
            "shared1000": np.isin(np.arange(n), design.sharedix - 1),
        }
    )
    for s in range(1, N_DESIGN_SUBJECTS + 1):
        table[f"subject{s}"] = np.isin(np.arange(n), design.subjectim[s - 1] - 1).astype(np.int64)
    for s in range(1, N_DESIGN_SUBJECTS + 1):
        reps = design.repetitions(s, n, layout.SESSIONS_PER_SUBJECT[s])
        for r in range(REPS):
            table[f"subject{s}_rep{r}"] = reps[:, r]
    return table


def _crop_box(c: float, vertical: bool) -> str:
    """NSD's cropBox text: (top, bottom, left, right) fractions cut to make the COCO image square."""
    value: float | int = float(c) if c else 0
    box = (value, value, 0, 0) if vertical else (0, 0, value, value)
    return str(box)
