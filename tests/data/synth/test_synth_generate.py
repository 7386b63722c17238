"""Determinism, atomic writes, refusal of a non-empty target, config validation and the command line."""

from __future__ import annotations

from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pytest
import scipy.io

from eval.data import layout
from eval.data.synth import SynthConfig, generate, truth_subject, writer
from eval.data.synth.__main__ import main
from eval.errors import ConfigError, DataError

SMALL = SynthConfig.preset("ci", subjects=(1,))


def _arrays(root: Path) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with h5py.File(layout.stimuli(root), "r") as f:
        out["stimuli"] = f["imgBrick"][()]
    for session in (1, 40):
        with h5py.File(layout.betas_hdf5(root, 1, session), "r") as f:
            out[f"h5_{session}"] = f["betas"][()]
        out[f"nii_{session}"] = np.asarray(nib.load(layout.betas_nifti(root, 1, session)).dataobj)
    for atlas in layout.ROI_ATLASES:
        out[atlas] = np.asarray(nib.load(layout.roi_volume(root, 1, atlas)).dataobj)
    out["masterordering"] = scipy.io.loadmat(layout.expdesign(root))["masterordering"]
    truth = np.load(truth_subject(root, 1))
    out.update({f"truth_{k}": truth[k] for k in ("kind", "prf_x", "semantic_weights", "noise_loadings")})
    return out


def test_same_seed_same_data_other_seed_differs(tmp_path: Path) -> None:
    a = _arrays(generate(tmp_path / "a", SMALL))
    b = _arrays(generate(tmp_path / "b", SMALL))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    for name in ("nsd_stim_info_merged.csv",):
        assert (layout.stim_info(tmp_path / "a")).read_bytes() == (layout.stim_info(tmp_path / "b")).read_bytes(), name
    c = _arrays(generate(tmp_path / "c", SynthConfig.preset("ci", subjects=(1,), seed=1)))
    for key in ("stimuli", "h5_1", "nii_40", "masterordering", "prf-visualrois"):
        assert not np.array_equal(a[key], c[key]), key


def test_failure_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer, "write_truth_common", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        generate(tmp_path / "nsd", SMALL)
    assert list(tmp_path.iterdir()) == []


def test_refuses_non_empty_target_accepts_empty(tmp_path: Path) -> None:
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep.txt").write_text("mine")
    with pytest.raises(DataError, match="not empty"):
        generate(full, SMALL)
    assert (full / "keep.txt").read_text() == "mine"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert generate(empty, SMALL) == empty
    assert layout.expdesign(empty).is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]  # no temporary folder left


def test_config_validation_and_key() -> None:
    with pytest.raises(ConfigError, match="divisible by 40"):
        SynthConfig(n_train=999)
    with pytest.raises(ConfigError, match="subjects"):
        SynthConfig(subjects=(3,))
    with pytest.raises(ConfigError, match="unknown SynthNSD preset"):
        SynthConfig.preset("huge")
    default = SynthConfig.preset("default")
    assert default.key() == SynthConfig().key() and len(default.key()) == 12
    assert default.key() != SynthConfig(seed=1).key() != SynthConfig.preset("ci").key()
    assert SynthConfig.from_dict(default.to_dict()) == default
    ci = SynthConfig.preset("ci")
    assert SynthConfig.from_dict(ci.to_dict()).key() == ci.key()
    assert default.n_images == 5000 and default.trials_per_session == 150


def test_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "x"), "--preset", "ci", "--n-train", "199"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err
    (tmp_path / "y").mkdir()
    (tmp_path / "y" / "f").write_text("")
    assert main(["--out", str(tmp_path / "y"), "--preset", "ci"]) == 2


def test_cli_generates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["--out", str(out), "--preset", "ci", "--seed", "5", "--image-size", "48", "--n-train", "160"]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with h5py.File(layout.stimuli(out), "r") as f:
        assert f["imgBrick"].shape == (200 + 4 * 160, 48, 48, 3)
    assert len(scipy.io.loadmat(layout.expdesign(out))["masterordering"].ravel()) == 3 * 360
