"""Reading the per-subject volumes of NSD: brain mask, ROI label volumes and their label tables."""

from __future__ import annotations

import logging
from pathlib import Path

import nibabel as nib
import numpy as np

from eval.data import layout
from eval.errors import DataError

log = logging.getLogger(__name__)


def require_file(path: Path, what: str) -> Path:
    """Return `path`, or fail with one line naming the expected path."""
    if not path.is_file():
        raise DataError(f"missing {what}: expected file {path}")
    return path


def load_volume(path: Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Load a 3-D NIfTI volume in its stored dtype, with its affine."""
    require_file(path, what)
    try:
        img = nib.load(str(path))
        data = np.asanyarray(img.dataobj)
    except Exception as exc:  # nibabel raises many types for corrupt files
        raise DataError(f"cannot read {what} {path}: {exc}") from exc
    if data.ndim != 3:
        raise DataError(f"{what} {path}: expected a 3-D volume, found shape {data.shape}")
    return data, np.asarray(img.affine, dtype=np.float64)


def load_brainmask(root: Path, subject: int) -> tuple[np.ndarray, np.ndarray]:
    """Boolean brain mask (X, Y, Z) and the functional space's affine."""
    data, affine = load_volume(layout.brainmask(root, subject), "brain mask")
    return data > 0, affine


def load_roi(root: Path, subject: int, atlas: str, expected_shape: tuple[int, ...]) -> np.ndarray:
    """Integer label volume of one atlas; -1 (outside the brain) and 0 (unlabelled) select nothing."""
    path = layout.roi_volume(root, subject, atlas)
    data, _ = load_volume(path, f"ROI volume '{atlas}'")
    if data.shape != tuple(expected_shape):
        raise DataError(
            f"ROI volume {path}: expected shape {tuple(expected_shape)} (the subject's functional space), "
            f"found {data.shape}"
        )
    if not np.issubdtype(data.dtype, np.integer):
        rounded = np.rint(data)
        if not np.array_equal(rounded, data):
            raise DataError(f"ROI volume {path}: expected integer labels, found non-integer values")
        data = rounded
    return data.astype(np.int32, copy=False)


def read_label_table(path: Path) -> dict[int, str]:
    """Parse a FreeSurfer-style `.ctab`: one `<int> <name> ...` per line."""
    require_file(path, "label table")
    table: dict[int, str] = {}
    for line_number, line in enumerate(path.read_text().splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        try:
            table[int(fields[0])] = fields[1]
        except (ValueError, IndexError) as exc:
            raise DataError(f"label table {path} line {line_number}: expected '<int> <name>', found {line!r}") from exc
    log.debug("label table %s: %s", path, table)  # the exact NSD content was never checked here: show it
    return table


def load_label_table(root: Path, subject: int, atlas: str) -> dict[int, str]:
    """The subject's label table for `atlas`, falling back to fsaverage's (same names) when absent."""
    path = layout.label_table(root, subject, atlas)
    if not path.is_file():
        fallback = Path(str(path).replace(layout.subject_tag(subject), "fsaverage"))
        if fallback.is_file():
            log.info("label table %s absent; using %s", path, fallback)
            path = fallback
    return read_label_table(path)
