"""`precomputed`: reconstructions made elsewhere, read in every format, aligned by NSD id, refused in one line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from baselines.precomputed import PRECOMPUTED, PrecomputedDecoder, PrecomputedOptions
from eval.data.braindiffuser import braindiffuser_test_ids
from eval.data.design import load_design, subject_trials
from eval.data.prepare import load_subject
from eval.data.stimuli import Stimuli, uint8_to_tensor
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, TestInputs, Variant
from eval.identity import run_identity
from eval.results import load_result
from eval.run import main
from leaderboards.collect import collect_results
from leaderboards.table import build_table
from tests.test_cli import _cli, _one_line_error


class Plain:
    """A custom class with nothing special about it: still not a tensor."""


class Payload:
    """A custom object whose unpickling would create `marker`: a .pt holding it must be refused unread."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # nothing lands in the repository, even from a run refused late


@pytest.fixture(scope="module")
def setting(synth_root: Path):
    """Subject 1's prepared data, its test ids (the harness's order) and their true images, uint8 (n, H, W, 3)."""
    data = load_subject(synth_root, 1, PrepareOptions())
    stimuli = Stimuli(synth_root)
    return data, stimuli, np.asarray(data.test_ids), stimuli.images(data.test_ids)


def _decode(setting, **options) -> tuple[torch.Tensor, PrecomputedDecoder]:
    data, stimuli, ids, _ = setting
    variant = Variant(options=PrecomputedOptions(**options))
    decoder = PRECOMPUTED.build(BuildContext(device="cpu", seed=0, subject=1), variant)
    decoder.fit(data, stimuli)
    return decoder.reconstruct(TestInputs(fmri=np.zeros((ids.size, 1), np.float32), nsd_ids=ids)), decoder


def _shuffled(setting, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The true test images in a shuffled order, with the NSD id of each row."""
    _, _, ids, gt = setting
    order = np.random.default_rng(seed).permutation(ids.size)
    return gt[order], ids[order]


def _write(kind: str, folder: Path, images: np.ndarray, ids: np.ndarray) -> dict[str, str]:
    """Write `images` (uint8 channels-last) in one of the accepted forms; return the options that read it."""
    folder.mkdir(parents=True, exist_ok=True)
    as_float_first = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32) / 255
    if kind == "npy+ids.npy":
        np.save(folder / "r.npy", images), np.save(folder / "ids.npy", ids)
        return {"recon": str(folder / "r.npy"), "recon_ids": str(folder / "ids.npy")}
    if kind == "npy+ids.txt":
        np.save(folder / "r.npy", as_float_first)
        (folder / "ids.txt").write_text("# NSD ids, one per row\n" + "\n".join(map(str, ids)) + "\n")
        return {"recon": str(folder / "r.npy"), "recon_ids": str(folder / "ids.txt")}
    if kind == "npz":
        np.savez(folder / "r.npz", images=images, nsd_ids=ids)
        return {"recon": str(folder / "r.npz")}
    if kind == "safetensors":
        from safetensors.numpy import save_file

        save_file({"images": as_float_first, "nsd_ids": ids.astype(np.int64)}, str(folder / "r.safetensors"))
        return {"recon": str(folder / "r.safetensors")}
    if kind == "pt-tensor":
        torch.save(torch.from_numpy(as_float_first), folder / "r.pt")
        np.save(folder / "ids.npy", ids)
        return {"recon": str(folder / "r.pt"), "recon_ids": str(folder / "ids.npy")}
    if kind == "pt-dict":
        torch.save({"images": torch.from_numpy(images), "nsd_ids": torch.from_numpy(ids)}, folder / "r.pth")
        return {"recon": str(folder / "r.pth")}
    if kind == "png-folder":
        for k, (image, nsd_id) in enumerate(zip(images, ids)):
            name = (f"{nsd_id}.png", f"nsd{nsd_id}.png", f"nsd_{nsd_id:05d}.PNG")[k % 3]
            Image.fromarray(image).save(folder / name)
        return {"recon": str(folder)}
    if kind == "grey-npy":
        np.save(folder / "r.npy", images[..., 0]), np.save(folder / "ids.npy", ids)
        return {"recon": str(folder / "r.npy"), "recon_ids": str(folder / "ids.npy")}
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["npy+ids.npy", "npy+ids.txt", "npz", "safetensors", "pt-tensor", "pt-dict", "png-folder"]
)
def test_every_format_loads_and_aligns_to_the_test_order(setting, tmp_path: Path, kind: str) -> None:
    images, ids = _shuffled(setting)
    out, decoder = _decode(setting, **_write(kind, tmp_path / kind, images, ids))
    assert torch.equal(out, uint8_to_tensor(setting[3]))  # exactly the true images, in the harness's order
    flags = decoder.meta.flags
    assert flags["rows"] == ids.size and flags["rows_ignored"] == 0 and flags["image_size"] == "32x32"
    float_kinds = ("npy+ids.txt", "safetensors", "pt-tensor")
    assert flags["values"] == ("float32 in [0, 1]" if kind in float_kinds else "uint8 0-255 (divided by 255)")
    assert flags["layout"].startswith("channels-first" if kind in float_kinds else "channels-last")


def test_grey_images_are_repeated_to_rgb_and_jpeg_folders_read(setting, tmp_path: Path) -> None:
    images, ids = _shuffled(setting)
    out, decoder = _decode(setting, **_write("grey-npy", tmp_path / "g", images, ids))
    assert torch.equal(out, uint8_to_tensor(np.repeat(setting[3][..., :1], 3, axis=3)))
    assert decoder.meta.flags["layout"] == "grey (n, H, W), repeated to RGB"
    folder = tmp_path / "jpeg"
    folder.mkdir()
    for image, nsd_id in zip(images, ids):
        Image.fromarray(image).save(folder / f"{nsd_id}.jpg", quality=95, subsampling=0)
    out, _ = _decode(setting, recon=str(folder))
    assert (out - uint8_to_tensor(setting[3])).abs().mean() < 0.05  # lossy, but the same images in the same order


def test_any_resolution_is_read_as_is(setting, tmp_path: Path) -> None:
    images, ids = _shuffled(setting)
    big = images.repeat(3, axis=1).repeat(3, axis=2)  # 96 x 96
    np.savez(tmp_path / "big.npz", images=big, nsd_ids=ids)
    out, decoder = _decode(setting, recon=str(tmp_path / "big.npz"))
    assert out.shape[-2:] == (96, 96) and decoder.meta.flags["image_size"] == "96x96"


def _convention_rows(setting, order: str, sessions: int) -> np.ndarray:
    data, stimuli, _, _ = setting
    if order == "braindiffuser":
        return braindiffuser_test_ids(stimuli.root, data.subject)
    trials = subject_trials(load_design(stimuli.root), data.subject, sessions)
    return np.unique(trials.nsd_ids[trials.is_test])


@pytest.mark.parametrize(("order", "sessions"), [("mindeye", 37), ("mindeye", 40), ("braindiffuser", 37)])
def test_ordering_conventions_align_by_nsd_id(setting, tmp_path: Path, order: str, sessions: int) -> None:
    _, stimuli, ids, gt = setting
    rows = _convention_rows(setting, order, sessions)
    np.save(tmp_path / "r.npy", stimuli.images(rows))
    out, decoder = _decode(setting, recon=str(tmp_path / "r.npy"), recon_order=order)
    assert torch.equal(out, uint8_to_tensor(gt))
    assert decoder.meta.flags["rows_ignored"] == rows.size - ids.size  # 1-40 has images 1-37 has not: ignored
    assert decoder.meta.flags["rows_named_by"].startswith(f"--recon-order {order} (")
    if order == "braindiffuser":
        assert not np.array_equal(rows, np.sort(rows))  # first presentation is not ascending: the test means it


def test_a_folder_named_by_rows_follows_the_convention(setting, tmp_path: Path) -> None:
    _, stimuli, _, gt = setting
    rows = _convention_rows(setting, "braindiffuser", 37)
    for row, image in enumerate(stimuli.images(rows)):  # brain-diffuser writes results/.../subj01/{row}.png
        Image.fromarray(image).save(tmp_path / f"{row}.png")
    out, _ = _decode(setting, recon=str(tmp_path), recon_order="braindiffuser")
    assert torch.equal(out, uint8_to_tensor(gt))


def test_one_changed_pixel_changes_the_run_identity(setting, tmp_path: Path) -> None:
    data = setting[0]
    images, ids = _shuffled(setting)
    hashes = []
    for value in (0, 0, 1):
        changed = images.copy()
        changed[5, 7, 9, 1] = value
        np.savez(tmp_path / "r.npz", images=changed, nsd_ids=ids)  # the same path each time
        variant = Variant(options=PrecomputedOptions(recon=str(tmp_path / "r.npz")))
        decoder = PRECOMPUTED.build(BuildContext(device="cpu", seed=0, subject=1), variant)
        identity = run_identity(
            PRECOMPUTED, variant, data, dataset="synthnsd", prepare=PrepareOptions(), fmri_source=None,
            protocol=("mindeye-synth", "1"), weights_source="seeded", seed=0, content=decoder.content_fingerprint(),
        )
        hashes.append(identity.short_hash())
        assert len(identity.options["content_sha256"]) == 64
    assert hashes[0] == hashes[1] != hashes[2]


def _nn_file(ci_run: Path) -> Path:
    (path,) = sorted((ci_run / "reconstructions").glob("nearest_neighbour__full__subj01__*.npz"))
    return path


def _result(out: Path, tag: str):
    (path,) = sorted((out / "results").glob(f"{tag}__full__subj01__*.json"))
    return load_result(path)


def test_a_saved_run_rescores_to_its_own_numbers_and_two_files_are_two_rows(ci_run: Path, tmp_path: Path) -> None:
    source = _nn_file(ci_run)
    (own,) = [
        load_result(p) for p in sorted((ci_run / "results").glob("nearest_neighbour__full__subj01__*.json"))
    ]
    out = tmp_path / "out"
    common = ["--decoder", "precomputed", "--synth-preset", "ci", "--out", str(out)]
    assert main([*common, "--recon", str(source), "--tag", "nn-rescored"]) == 0
    rescored = _result(out, "nn-rescored")
    assert {k: m.value for k, m in rescored.metrics.items()} == {k: m.value for k, m in own.metrics.items()}
    assert rescored.per_image.scores == own.per_image.scores  # every image's score, not only the means
    assert rescored.per_image.nsd_ids == own.per_image.nsd_ids and rescored.variant == {}
    assert rescored.decoder.flags["rows_named_by"] == "nsd_ids in the file"

    # Another file (larger, channels-first float, rows named by an ids file) and tag: a second row beside it.
    with np.load(source) as saved:
        images, ids = saved["images"][::-1], saved["nsd_ids"][::-1]
    big = images.repeat(2, axis=1).repeat(2, axis=2).transpose(0, 3, 1, 2).astype(np.float32) / 255
    torch.save(torch.from_numpy(np.ascontiguousarray(big)), tmp_path / "big.pt")
    (tmp_path / "ids.txt").write_text("\n".join(map(str, ids)))
    args = ["--recon", str(tmp_path / "big.pt"), "--recon-ids", str(tmp_path / "ids.txt"), "--tag", "nn-big"]
    assert main([*common, *args]) == 0
    big_result = _result(out, "nn-big")
    assert big_result.identity.short_hash() != rescored.identity.short_hash()
    assert big_result.identity.options["content_sha256"] != rescored.identity.options["content_sha256"]
    assert abs(big_result.metrics["pixcorr"].value - own.metrics["pixcorr"].value) < 0.1  # same images, upsampled
    table = build_table(collect_results(out / "results").loaded)
    assert sorted(row.label for row in table.rows) == ["nn-big", "nn-rescored"]  # the tags, no file paths
    html = (out / "index.html").read_text()
    assert "nn-big" in html and "nn-rescored" in html


def _error(capsys, *args: str) -> str:
    """The one line `eval.run.main` prints for bad input, after checking exit code 2."""
    code = main([*args, "--synth-preset", "ci"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: "), (code, err)
    return err[0]


def test_bad_files_are_refused_in_one_line_before_any_data_is_read(setting, tmp_path: Path, capsys) -> None:
    images, ids = _shuffled(setting)
    n = ids.size
    np.save(tmp_path / "ids.npy", ids)
    floats = images.astype(np.float32) / 255

    def refused(name: str, array: np.ndarray, *extra: str) -> str:
        np.save(tmp_path / name, array)
        recon = ["--recon", str(tmp_path / name)]
        naming = extra or ("--recon-ids", str(tmp_path / "ids.npy"))
        return _error(capsys, "--decoder", "precomputed", *recon, *naming)

    assert f"expected {n - 1} ids (one per row of {tmp_path / 'short.npy'}), found {n}" in refused(
        "short.npy", images[:-1])
    signed = floats.copy()
    signed[2] = signed[2] * 2 - 1
    line = refused("signed.npy", signed)
    assert "signed.npy: expected float values in [0, 1] (or uint8 0-255), found -" in line
    assert "in image 2 (the first outside); [-1, 1] images need (x + 1) / 2" in line
    assert "in image 0 (the first outside); 8-bit values as float? divide by 255" in refused("255.npy", floats * 255)
    assert "found dtype int64" in refused("int.npy", images.astype(np.int64))
    assert "expected 3 (RGB) or 1 (grey) channels on axis 1 or axis 3, found shape" in refused(
        "rgba.npy", np.concatenate([images, images[..., :1]], axis=3))
    nan = floats.copy()
    nan[4, 0, 0, 0] = np.nan
    assert "nan.npy: expected finite values, found NaN or infinite values (first in image 4)" in refused("nan.npy", nan)
    line = refused("bare.npy", images, "--tag", "x")
    assert "bare.npy: nothing says which NSD image each row is: give --recon-ids FILE" in line
    assert "--recon-order mindeye | braindiffuser, or store nsd_ids" in line
    np.savez(tmp_path / "dup.npz", images=images, nsd_ids=np.r_[ids[:-1], ids[0]])
    assert f"expected each NSD id once, found {ids[0]} 2 times" in _error(
        capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "dup.npz"))
    np.savez(tmp_path / "noimg.npz", pictures=images)
    assert "expected an array 'images' (and optionally 'nsd_ids'), found ['pictures']" in _error(
        capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "noimg.npz"))
    (tmp_path / "r.h5").write_bytes(b"")
    assert "found '.h5'" in _error(capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "r.h5"))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    line = _error(capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "objects.npy"))
    assert "objects.npy: expected only arrays or tensors, found pickled Python objects; refused without loading" in line


def test_a_pickled_pt_is_refused_and_never_run(setting, tmp_path: Path) -> None:
    images, ids = _shuffled(setting)
    marker = tmp_path / "ran"
    torch.save({"images": torch.from_numpy(images), "meta": Payload(marker), "plain": Plain()}, tmp_path / "evil.pt")
    assert not marker.exists()
    proc = _cli("--decoder", "precomputed", "--recon", str(tmp_path / "evil.pt"), "--synth-preset", "ci")
    line = _one_line_error(proc)
    assert f"error: {tmp_path / 'evil.pt'}: expected only arrays or tensors, found pickled Python objects" in line
    assert not marker.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--decoder", "precomputed"), "--recon: decoder 'precomputed' needs the file or folder of reconstructions"),
        (("--decoder", "random", "--recon", "x.npz"), "--recon: decoder 'random' has no option recon"),
        (("--decoder", "mean_image", "--recon-order", "mindeye"), "--recon-order: decoder 'mean_image' has no option"),
        (("--decoder", "precomputed", "--recon", "x.npz", "--recon-order", "mindeye2"),
         "--recon-order: expected mindeye | braindiffuser, found 'mindeye2'"),
        (("--decoder", "precomputed", "--recon", "x.npz", "--recon-ids", "i.txt", "--recon-order", "mindeye"),
         "--recon-ids, --recon-order: expected one way to name the rows, found both"),
        (("--decoder", "precomputed", "--recon", "/no/such/file.npz"),
         "--recon: expected a file or folder of reconstructions, found nothing at /no/such/file.npz"),
        (("--decoder", "precomputed", "--recon", "x.npz", "--subject", "1,7"),
         "--subject: decoder 'precomputed' scores one subject's file, found subjects 1, 7"),
    ],
)
def test_flags_are_checked_in_one_line(args: tuple[str, ...], expected: str, capsys) -> None:
    assert expected in _error(capsys, *args)


def test_a_file_with_its_own_ids_refuses_another_naming(setting, tmp_path: Path, capsys) -> None:
    images, ids = _shuffled(setting)
    np.savez(tmp_path / "r.npz", images=images, nsd_ids=ids)
    line = _error(capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "r.npz"), "--recon-order", "mindeye")
    assert "r.npz: expected no --recon-order for a file that holds its own nsd_ids, found both" in line


def test_missing_images_and_mismatched_conventions_are_refused_in_one_line(setting, tmp_path: Path, capsys) -> None:
    """Checks that need the test set: refused after the data is read, before anything is written."""
    images, ids = _shuffled(setting)
    folder = tmp_path / "folder"
    folder.mkdir()
    for image, nsd_id in zip(images, ids):
        Image.fromarray(image).save(folder / f"{nsd_id}.png")
    first_missing = int(np.sort(ids)[3])
    (folder / f"{first_missing}.png").unlink()
    (folder / f"{int(np.sort(ids)[10])}.png").unlink()
    out = ["--out", str(tmp_path / "out")]
    line = _error(capsys, "--decoder", "precomputed", "--recon", str(folder), *out)
    assert f"folder: expected every test image, found no image for NSD id {first_missing} ({first_missing}.png)" in line
    assert f"(2 of {ids.size} missing)" in line

    np.savez(tmp_path / "one-based.npz", images=images, nsd_ids=ids + 1)
    line = _error(capsys, "--decoder", "precomputed", "--recon", str(tmp_path / "one-based.npz"), *out)
    assert "1-based ids? the harness counts NSD ids from 0" in line

    np.save(tmp_path / "r.npy", images[:-2])
    recon = ["--recon", str(tmp_path / "r.npy")]
    line = _error(capsys, "--decoder", "precomputed", *recon, "--recon-order", "mindeye", *out)
    assert f"--recon-order mindeye: expected 200 (sessions 1-40) or {ids.size} (sessions 1-37) rows in" in line
    assert f"found {ids.size - 2}" in line
    line = _error(capsys, "--decoder", "precomputed", *recon, "--recon-order", "braindiffuser", *out)
    assert f"--recon-order braindiffuser: expected {ids.size} rows in" in line
    assert not list((tmp_path / "out").glob("results/*.json"))  # refused before anything was written
