"""`precomputed`: score reconstructions made elsewhere (another codebase, another machine, an earlier run).

    python -m eval.run --decoder precomputed --recon PATH [--recon-ids FILE | --recon-order NAME] --tag NAME

The file is read and checked by `baselines.recon_files`; its rows are put in the harness's test order (ascending
0-based NSD id, `TestInputs.nsd_ids`) by NSD id, named by exactly one of:

- the file itself: `nsd_ids` beside `images` (.npz, .safetensors, a .pt dict; the harness's own
  `runs/reconstructions/*.npz` are this), or the names of a folder's images (`12345.png`, `nsd12345.png`);
- `--recon-ids FILE`: the ids in row order (.npy, or text with one id per line); a folder's names are then row
  numbers (`0.png` .. `981.png`);
- `--recon-order NAME`: a published codebase's order (`ORDERS`), computed from the NSD design file.

Nothing is guessed: a file whose rows nothing names is refused. Ids the test set needs but the file lacks are
refused (the first named); rows the test set does not need are ignored with a warning and counted in the flags.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from baselines.recon_files import ReconFile, content_sha256, read_ids, read_recon
from eval.data.braindiffuser import BRAINDIFFUSER_SESSIONS, braindiffuser_test_ids
from eval.data.design import load_design, subject_trials
from eval.data.stimuli import Stimuli
from eval.data.subject import SubjectData
from eval.decoders import BuildContext, DecoderMeta, DecoderSpec, TestInputs, Variant
from eval.errors import ConfigError, HarnessError, InputError
from eval.options import option

log = logging.getLogger(__name__)

# Row orders of published codebases, in words (the README's table says where each comes from).
ORDERS = {
    "mindeye": "MindEye2: the subject's shared images in ascending NSD id, over sessions 1-40 or 1-37",
    "braindiffuser": (
        f"brain-diffuser: the subject's shared images in order of first presentation in sessions "
        f"1-{BRAINDIFFUSER_SESSIONS}"
    ),
}
MINDEYE_SESSIONS = (40, 37)  # MindEye2's new test set (all sessions, its default) and the old one (--no-new_test)


@dataclass(frozen=True)
class PrecomputedOptions:
    recon: str = option("", help="file or folder of reconstructions to score (--recon)", label=False)
    recon_ids: str | None = option(
        None, help="NSD ids of its rows: .npy, or text with one id per line (--recon-ids)", label=False
    )
    recon_order: str | None = option(
        None, choices=tuple(ORDERS), help="its rows follow this codebase's test order (--recon-order)", label=False
    )


def check_options(options: PrecomputedOptions) -> None:
    if not options.recon:
        raise ConfigError("--recon: decoder 'precomputed' needs the file or folder of reconstructions, found none")
    if options.recon_ids and options.recon_order:
        raise ConfigError("--recon-ids, --recon-order: expected one way to name the rows, found both")


def check(variant: Variant, subjects: tuple[int, ...]) -> None:
    """Everything about the file that needs no NSD data, before any data is read (the decoder reads it again)."""
    check_options(variant.options)
    if len(subjects) != 1:
        raise ConfigError(
            f"--subject: decoder 'precomputed' scores one subject's file, found subjects "
            f"{', '.join(map(str, subjects))}; run once per subject"
        )
    load(variant.options)


def load(options: PrecomputedOptions) -> tuple[ReconFile, np.ndarray | None, str]:
    """The file, the NSD id of each row when the file or `--recon-ids` names them (None: an order convention
    names them once the design is read), and how the rows are named, in words."""
    path = Path(options.recon)
    given = "--recon-ids" if options.recon_ids else "--recon-order" if options.recon_order else None
    recon = read_recon(path, names_are_rows=path.is_dir() and given is not None)
    if recon.nsd_ids is not None:
        if given:
            raise InputError(f"{path}: expected no {given} for a file that holds its own nsd_ids, found both")
        return recon, recon.nsd_ids, "file names" if path.is_dir() else "nsd_ids in the file"
    if options.recon_ids:
        return recon, read_ids(Path(options.recon_ids), recon.n, path), f"--recon-ids {options.recon_ids}"
    if options.recon_order:
        return recon, None, f"--recon-order {options.recon_order}"
    raise InputError(
        f"{path}: nothing says which NSD image each row is: give --recon-ids FILE (one id per row), "
        f"--recon-order {' | '.join(ORDERS)}, or store nsd_ids beside images in the file"
    )


def convention_ids(order: str, nsd_root: Path, subject: int, n_rows: int, path: Path) -> tuple[np.ndarray, str]:
    """The NSD id of each row under a codebase's order, and which variant of it matched the file's row count.

    Raises:
        InputError: The file's row count is not one the convention produces for this subject.
    """
    if order == "braindiffuser":
        ids = braindiffuser_test_ids(nsd_root, subject)
        if ids.size == n_rows:
            return ids, ORDERS[order]
        expected = str(ids.size)
    else:
        design = load_design(nsd_root)
        by_sessions = {}
        for sessions in MINDEYE_SESSIONS:
            trials = subject_trials(design, subject, sessions)
            by_sessions[sessions] = np.unique(trials.nsd_ids[trials.is_test])
            if by_sessions[sessions].size == n_rows:
                return by_sessions[sessions], f"MindEye2: shared images of sessions 1-{sessions}, ascending NSD id"
        expected = " or ".join(f"{ids.size} (sessions 1-{s})" for s, ids in by_sessions.items())
    raise InputError(
        f"--recon-order {order}: expected {expected} rows in {path} ({ORDERS[order]}, subject {subject}), "
        f"found {n_rows}"
    )


def align(row_ids: np.ndarray, needed: np.ndarray, path: Path, by_name: bool) -> tuple[np.ndarray, int]:
    """The row of each needed id, and how many rows no needed id asks for (by_name: a folder named by NSD ids).

    Raises:
        InputError: An id the test set needs has no row (names the first, with a hint for 1-based ids or a
            folder named by row numbers).
    """
    position = {int(nsd_id): row for row, nsd_id in enumerate(row_ids)}
    missing = [int(nsd_id) for nsd_id in needed if int(nsd_id) not in position]
    if missing:
        what = f"image for NSD id {missing[0]} ({missing[0]}.png)" if by_name else f"row for NSD id {missing[0]}"
        hint = ""
        if np.isin(np.asarray(needed) + 1, row_ids).all():
            hint = "; 1-based ids? the harness counts NSD ids from 0, as the rows of nsd_stimuli.hdf5"
        elif by_name and np.array_equal(np.sort(row_ids), np.arange(len(row_ids))):
            hint = "; names 0..n-1 look like row numbers (brain-diffuser's): add --recon-order or --recon-ids"
        raise InputError(
            f"{path}: expected every test image, found no {what} ({len(missing)} of {len(needed)} missing){hint}"
        )
    return np.asarray([position[int(nsd_id)] for nsd_id in needed], dtype=np.int64), len(row_ids) - len(needed)


class PrecomputedDecoder:
    """Reads the file on first use (so a build with the default options succeeds) and hands back its rows."""

    def __init__(self, context: BuildContext, variant: Variant | None = None) -> None:
        options = variant.options if variant is not None and variant.options is not None else None
        self.options: PrecomputedOptions = options or PrecomputedOptions()
        self._loaded: tuple[ReconFile, np.ndarray | None, str] | None = None
        self._row_ids: np.ndarray | None = None
        self._flags: dict[str, object] = {}

    @property
    def meta(self) -> DecoderMeta:
        return DecoderMeta(PRECOMPUTED.name, PRECOMPUTED.kind, PRECOMPUTED.description, flags=dict(self._flags))

    def _load(self) -> tuple[ReconFile, np.ndarray | None, str]:
        if self._loaded is None:
            check_options(self.options)
            self._loaded = load(self.options)
            recon, _, named_by = self._loaded
            self._flags = {"source": str(recon.path), **recon.flags, "rows": recon.n, "rows_named_by": named_by}
        return self._loaded

    def content_fingerprint(self) -> str:
        recon, _, _ = self._load()
        return content_sha256(recon.path, Path(self.options.recon_ids) if self.options.recon_ids else None)

    def fit(self, data: SubjectData, stimuli: Stimuli) -> None:
        """Nothing is learnt: a codebase's order is read from the design of the data's NSD root."""
        recon, row_ids, _ = self._load()
        if row_ids is None:
            row_ids, rule = convention_ids(self.options.recon_order, stimuli.root, data.subject, recon.n, recon.path)
            self._flags["rows_named_by"] = f"--recon-order {self.options.recon_order} ({rule})"
        self._row_ids = row_ids

    def reconstruct(self, inputs: TestInputs) -> torch.Tensor:
        if self._row_ids is None:
            raise HarnessError("decoder 'precomputed': reconstruct() called before fit()")
        recon, _, _ = self._load()
        by_name = recon.path.is_dir() and recon.nsd_ids is not None
        rows, extra = align(self._row_ids, inputs.nsd_ids, recon.path, by_name)
        if extra:
            unused = np.setdiff1d(self._row_ids, inputs.nsd_ids)
            log.warning("%s: %d rows are not in this test set (first: NSD id %d); ignored", recon.path, extra,
                        unused[0])
        self._flags["rows_ignored"] = extra
        return recon.tensor(rows)


PRECOMPUTED = DecoderSpec(
    name="precomputed",
    kind="method",
    description="reconstructions made elsewhere, read from a file and aligned by NSD id",
    build=PrecomputedDecoder,
    options=PrecomputedOptions,
    check=check,
)
