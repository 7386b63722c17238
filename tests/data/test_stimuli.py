"""The stimuli reader's refusals: each a one-line DataError naming the file, what was expected and found."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from eval.data import layout
from eval.data.stimuli import Stimuli
from eval.errors import DataError


def _write(root: Path, **datasets: np.ndarray) -> Path:
    path = layout.stimuli(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as handle:
        for name, data in datasets.items():
            handle.create_dataset(name, data=data, chunks=(1, *data.shape[1:]) if data.ndim == 4 else None)
    return path


def _images(n: int = 4, size: int = 8) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def test_a_valid_file_reads_its_images_in_the_order_asked(tmp_path: Path) -> None:
    images = _images()
    _write(tmp_path, imgBrick=images)
    stimuli = Stimuli(tmp_path)
    assert stimuli.n_images == 4 and stimuli.image_size == (8, 8)
    np.testing.assert_array_equal(stimuli.images(np.array([3, 0, 3])), images[[3, 0, 3]])


def test_a_file_without_imgbrick_lists_what_it_holds(tmp_path: Path) -> None:
    path = _write(tmp_path, images=_images(), labels=np.arange(4))
    for read in (lambda s: s.n_images, lambda s: s.images(np.array([0]))):
        with pytest.raises(DataError) as caught:
            read(Stimuli(tmp_path))
        assert str(caught.value) == f"NSD stimuli {path}: expected dataset 'imgBrick', found ['images', 'labels']"


def test_an_imgbrick_of_the_wrong_type_or_shape_is_described(tmp_path: Path) -> None:
    path = _write(tmp_path, imgBrick=_images().astype(np.float32))
    with pytest.raises(DataError) as caught:
        _ = Stimuli(tmp_path).n_images
    expected = "expected imgBrick as uint8 (n, H, W, 3), found float32 (4, 8, 8, 3)"
    assert str(caught.value) == f"NSD stimuli {path}: {expected}"
    with h5py.File(path, "w") as handle:
        handle.create_group("imgBrick")
    with pytest.raises(DataError, match=r"expected imgBrick as uint8 \(n, H, W, 3\), found a group$"):
        _ = Stimuli(tmp_path).n_images


def test_a_truncated_file_is_a_data_error(tmp_path: Path) -> None:
    path = _write(tmp_path, imgBrick=_images(64, 32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"^cannot read NSD stimuli .*nsd_stimuli\.hdf5"):
        Stimuli(tmp_path).images(np.arange(64))
