"""Where each NSD file lives, relative to the NSD root.

One module for the paths, used by the reader and by the SynthNSD writer alike, so the twin cannot drift
from the layout the reader expects. Facts: the NSD data manual (see README, "NSD on disk").
"""

from __future__ import annotations

from pathlib import Path

SUBJECTS_WITH_ALL_SESSIONS = (1, 2, 5, 7)
SESSIONS_PER_SUBJECT = {1: 40, 2: 40, 3: 32, 4: 30, 5: 40, 6: 32, 7: 40, 8: 30}
# The design files describe 40 sessions for every subject: trials per session = len(masterordering) / 40.
DESIGN_SESSIONS = 40
N_SHARED_IMAGES = 1000
N_STIMULI = 73000  # rows of nsd_stimuli.hdf5: the design file's image ids are 1..73000
BETA_SCALE = 300.0  # stored int16 value = percent signal change x 300

ROI_ATLASES = (
    "nsdgeneral",
    "prf-visualrois",
    "streams",
    "floc-faces",
    "floc-bodies",
    "floc-places",
    "floc-words",
)
BETAS_FOLDER = "betas_fithrf_GLMdenoise_RR"


def subject_tag(subject: int) -> str:
    """'subj01' for 1."""
    return f"subj{subject:02d}"


def betas_dir(root: Path, subject: int) -> Path:
    return Path(root) / "nsddata_betas" / "ppdata" / subject_tag(subject) / "func1pt8mm" / BETAS_FOLDER


def betas_nifti(root: Path, subject: int, session: int) -> Path:
    """Session is 1-based, as in the file names."""
    return betas_dir(root, subject) / f"betas_session{session:02d}.nii.gz"


def betas_hdf5(root: Path, subject: int, session: int) -> Path:
    return betas_dir(root, subject) / f"betas_session{session:02d}.hdf5"


def func_dir(root: Path, subject: int) -> Path:
    return Path(root) / "nsddata" / "ppdata" / subject_tag(subject) / "func1pt8mm"


def brainmask(root: Path, subject: int) -> Path:
    return func_dir(root, subject) / "brainmask.nii.gz"


def roi_volume(root: Path, subject: int, atlas: str) -> Path:
    return func_dir(root, subject) / "roi" / f"{atlas}.nii.gz"


def label_table(root: Path, subject: int, atlas: str) -> Path:
    return Path(root) / "nsddata" / "freesurfer" / subject_tag(subject) / "label" / f"{atlas}.mgz.ctab"


def expdesign(root: Path) -> Path:
    return Path(root) / "nsddata" / "experiments" / "nsd" / "nsd_expdesign.mat"


def stim_info(root: Path) -> Path:
    return Path(root) / "nsddata" / "experiments" / "nsd" / "nsd_stim_info_merged.csv"


def stimuli(root: Path) -> Path:
    return Path(root) / "nsddata_stimuli" / "stimuli" / "nsd" / "nsd_stimuli.hdf5"


def coco_captions(root: Path, coco_split: str) -> Path:
    """COCO annotations as nsd_access lays them out: next to the stimuli, one file per COCO split."""
    return Path(root) / "nsddata_stimuli" / "stimuli" / "nsd" / "annotations" / f"captions_{coco_split}.json"
