"""A damaged cache entry costs one warning line and a recomputation, never a traceback or a wrong value.

`Cache.read` itself, then each of its callers: prepared subject data, ground-truth features, a seeded
extractor's calibrated state and the backbone targets, each with an entry truncated or overwritten the way a full
disk or an interrupted copy leaves it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from eval.cache import Cache, read_meta


# Damage replaces a file (a new inode) rather than rewriting it in place: the entries are memory-mapped, and a
# mapping whose file shrinks under it ends the process (SIGBUS). The cache itself never rewrites a file in place
# either: it writes by rename and removes by unlink.
def _replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    _replace(path, data[: len(data) // 2])


def _empty(path: Path) -> None:
    _replace(path, b"")


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: _replace(path, text.encode("utf-8"))


def _npy_of(array: np.ndarray) -> Callable[[Path], None]:
    """A whole .npy file, but not the one this entry wrote."""

    def damage(path: Path) -> None:
        path.unlink()
        np.save(path, array)

    return damage


def _damage_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "eval.cache" and r.levelno >= logging.WARNING]


def _assert_one_warning(caplog: pytest.LogCaptureFixture, entry: Path) -> None:
    records = _damage_warnings(caplog)
    assert len(records) == 1, [r.getMessage() for r in records]
    message = records[0].getMessage()
    assert str(entry) in message and "damaged" in message and "\n" not in message


# --- Cache.read ---------------------------------------------------------------------------------------------


def _npy(path: Path) -> None:
    np.save(path, np.arange(1000, dtype=np.float32).reshape(100, 10))


def _pt(path: Path) -> None:
    torch.save({"state": {"w": torch.arange(100.0)}, "dims": {"a": 100}}, path)


def _safetensors(path: Path) -> None:
    save_file({"latents": torch.arange(100.0)}, str(path))


def _json(path: Path) -> None:
    path.write_text(json.dumps({"nodes": ["a", "b"]}))


WRITERS_AND_READERS: dict[str, tuple[Callable[[Path], None], Callable[[Path], object]]] = {
    ".npy": (_npy, lambda p: np.load(p, mmap_mode="r")),
    ".pt": (_pt, lambda p: torch.load(p, weights_only=True)),
    ".safetensors": (_safetensors, lambda p: load_file(str(p))),
    ".json": (_json, read_meta),
}

DAMAGES: dict[str, Callable[[Path], None]] = {
    "truncated": _truncate,
    "empty": _empty,
    "garbage": lambda p: p.write_bytes(b"not what was written\x00" * 7),
}


def test_an_absent_entry_is_none_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert Cache(tmp_path).read(tmp_path / "absent.npy", np.load, "an array") is None
    assert not _damage_warnings(caplog)


@pytest.mark.parametrize("suffix", sorted(WRITERS_AND_READERS))
def test_a_good_entry_is_read_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture, suffix: str) -> None:
    write, read = WRITERS_AND_READERS[suffix]
    path = tmp_path / f"entry{suffix}"
    write(path)
    assert Cache(tmp_path).read(path, read, "an entry") is not None
    assert path.exists() and not _damage_warnings(caplog)


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize("suffix", sorted(WRITERS_AND_READERS))
def test_a_damaged_file_is_none_with_one_warning_and_removed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, suffix: str, damage: str
) -> None:
    write, read = WRITERS_AND_READERS[suffix]
    path = tmp_path / f"entry{suffix}"
    write(path)
    DAMAGES[damage](path)
    assert Cache(tmp_path).read(path, read, "an entry") is None
    _assert_one_warning(caplog, path)
    assert not path.exists()


@pytest.mark.parametrize("content", ["null", "[1, 2]", '"nodes"', "{", "\udcff"])
def test_a_meta_json_that_is_not_an_object_is_damage(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    folder = tmp_path / "entry"
    folder.mkdir()
    (folder / "meta.json").write_bytes(content.encode("utf-8", "surrogateescape"))
    assert Cache(tmp_path).read(folder, lambda f: read_meta(f / "meta.json")["nodes"], "an entry") is None
    _assert_one_warning(caplog, folder)
    assert not folder.exists()


def test_a_loader_bug_is_not_mistaken_for_damage(tmp_path: Path) -> None:
    path = tmp_path / "entry.npy"
    _npy(path)

    def buggy(entry: Path) -> object:
        return np.load(entry) + "text"  # a TypeError is a bug to see, not damage to hide

    with pytest.raises(TypeError):
        Cache(tmp_path).read(path, buggy, "an entry")
    assert path.exists()


# --- the callers ----------------------------------------------------------------------------------------------


def test_damaged_prepared_data_is_rebuilt_with_the_same_values(
    synth_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from eval.data.prepare import build_subject, load_subject
    from eval.data.subject import PrepareOptions

    cache = Cache(tmp_path)
    first = build_subject(synth_root, 1, PrepareOptions())  # a fresh computation, in memory
    load_subject(synth_root, 1, PrepareOptions(), cache=cache)
    (folder,) = (tmp_path / "prepared").iterdir()
    damages = [
        ("train_fmri.npy", _truncate),  # memory-mapped on load: its size is checked against its header
        ("test_ids.npy", _empty),
        ("group__semantic.npy", _truncate),
        ("meta.json", _text("null")),
        ("test_reps.npy", _npy_of(np.ones(3, dtype=np.int64))),
    ]
    for name, damage in damages:
        caplog.clear()
        damage(folder / name)
        again = load_subject(synth_root, 1, PrepareOptions(), cache=cache)
        _assert_one_warning(caplog, folder)
        assert again.fingerprint == first.fingerprint, name
        for field in ("train_fmri", "test_fmri", "train_ids", "test_ids", "train_reps", "test_reps", "voxel_xyz"):
            np.testing.assert_array_equal(getattr(again, field), getattr(first, field), err_msg=f"{name}: {field}")
        assert list(again.groups) == list(first.groups)
        for group in first.groups:
            np.testing.assert_array_equal(again.groups[group], first.groups[group])
    caplog.clear()
    load_subject(synth_root, 1, PrepareOptions(), cache=cache)  # the rebuilt entry is whole again
    assert not _damage_warnings(caplog)


class _TinyNet(torch.nn.Module):
    """Two nodes of an untrained convolution: enough for the feature cache's bookkeeping."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 5, stride=4)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        h = self.conv(x)
        return {"conv": h, "pooled": h.mean(dim=(2, 3))}


def test_damaged_ground_truth_features_are_recomputed_with_the_same_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from eval.metrics.features import cached_features
    from eval.metrics.protocol import PROTOCOLS
    from eval.metrics.weights import LoadedExtractor

    torch.manual_seed(0)
    protocol = PROTOCOLS["mindeye-synth"]
    loaded = LoadedExtractor(net=_TinyNet(), spec=protocol.extractors["effnet"], provenance={"source": "test"})
    images = torch.rand(7, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    cache = Cache(tmp_path)
    first = cached_features(loaded, images, "seven", protocol, cache=cache)  # computed, in memory
    assert not any(isinstance(a, np.memmap) for a in first.values())
    (folder,) = (tmp_path / "features").iterdir()
    damages = [
        ("0.npy", _truncate),
        ("1.npy", _empty),
        ("meta.json", _text('{"nodes": ')),
        ("meta.json", _text('["conv", "pooled"]')),
        ("1.npy", _npy_of(np.zeros((3, 4), dtype=np.float32))),
    ]
    for name, damage in damages:
        caplog.clear()
        damage(folder / name)
        again = cached_features(loaded, images, "seven", protocol, cache=cache)
        _assert_one_warning(caplog, folder)
        assert set(again) == set(first)
        for node in first:
            assert not isinstance(again[node], np.memmap), "computed again, not read from the damaged entry"
            np.testing.assert_array_equal(again[node], first[node], err_msg=f"{name}: {node}")
    caplog.clear()
    reread = cached_features(loaded, images, "seven", protocol, cache=cache)
    assert not _damage_warnings(caplog) and all(isinstance(a, np.memmap) for a in reread.values())


def test_a_damaged_calibrated_state_is_recalibrated_with_the_same_values(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from eval.metrics.protocol import PROTOCOLS
    from eval.metrics.seeded import CalibrationSet, load_seeded

    protocol = PROTOCOLS["mindeye-synth"]
    spec = protocol.extractors["effnet"]  # the cheapest seeded network to build and calibrate
    calibration = CalibrationSet(torch.rand(8, 3, 64, 64, generator=torch.Generator().manual_seed(0)), "8", "8 images")
    cache = Cache(tmp_path)
    first = load_seeded(spec, protocol, calibration, cache=cache).net.state_dict()
    (path,) = (tmp_path / "extractors").iterdir()
    for damage in (_truncate, _empty, lambda p: _replace(p, b"\x80\x02]q\x00.")):  # the last: a pickled list
        caplog.clear()
        damage(path)
        again = load_seeded(spec, protocol, calibration, cache=cache).net.state_dict()
        _assert_one_warning(caplog, path)
        assert again.keys() == first.keys()
        for name, tensor in first.items():
            assert torch.equal(again[name], tensor), name
        assert torch.load(path, weights_only=True)["dims"]  # written again, whole


class _FakeBackbone:
    """Deterministic stand-ins for VD's encoders: cached_targets only needs shapes, values and a folder."""

    def __init__(self, folder: Path) -> None:
        self.info = SimpleNamespace(folder=str(folder), image_size=16)
        self.calls = 0

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return torch.nn.functional.avg_pool2d(images, 4)

    def image_tokens(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(2).transpose(1, 2)[:, :5].contiguous()

    def caption_tokens(self, captions: list[list[str]]) -> torch.Tensor:
        return torch.tensor([[[float(len(c)) for c in caps[:5]]] for caps in captions])


def test_damaged_backbone_targets_are_recomputed_with_the_same_values(
    synth_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from eval.backbone.targets import cached_targets, compute_targets
    from eval.data.stimuli import Stimuli

    folder = tmp_path / "vd"
    folder.mkdir()
    (folder / "model_index.json").write_text("{}")
    vd, stimuli, ids = _FakeBackbone(folder), Stimuli(synth_root), np.arange(6)
    cache = Cache(tmp_path / "cache")
    expected = compute_targets(vd, stimuli, ids)
    cached_targets(vd, stimuli, ids, cache)
    (path,) = (tmp_path / "cache" / "backbone-targets").iterdir()

    def other_rows(entry: Path) -> None:  # a whole file that is not this entry's
        save_file({k: v[:2].contiguous() for k, v in load_file(str(entry)).items()}, str(entry))

    for damage in (_truncate, _empty, lambda p: save_file({"latents": torch.zeros(6, 1)}, str(p)), other_rows):
        caplog.clear()
        calls = vd.calls
        damage(path)
        again = cached_targets(vd, stimuli, ids, cache)
        _assert_one_warning(caplog, path)
        assert vd.calls > calls, "computed again"
        for name in ("latents", "image_tokens", "text_tokens"):
            assert torch.equal(getattr(again, name), getattr(expected, name)), name
    caplog.clear()
    calls = vd.calls
    cached_targets(vd, stimuli, ids, cache)
    assert vd.calls == calls and not _damage_warnings(caplog)
