"""Files of reconstructions made elsewhere: read, checked, and turned into the harness's image convention.

Formats: `.npy` (the images); `.npz` and `.safetensors` (array `images`, optionally `nsd_ids`); `.pt`/`.pth` read
with `torch.load(weights_only=True)` only (a tensor, or a dict of tensors `images` and optionally `nsd_ids`: a
pickled Python object is refused, never run); a folder of PNG/JPEG files. Layouts: (n, H, W, 3) channels-last or
(n, 3, H, W) channels-first, told apart by where the 3 is; grey images ((n, H, W), one channel, or grey PNGs) are
repeated to RGB. Values: uint8 is 0-255, float is [0, 1] (told apart by dtype); any other dtype, NaN or inf, and
floats outside [0, 1] are refused. Every refusal is one line naming the file, what was expected and what was found.
"""

from __future__ import annotations

import hashlib
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from eval.data.layout import N_STIMULI
from eval.data.stimuli import uint8_to_tensor
from eval.errors import ConfigError, InputError

ARRAY_FORMATS = {".npy": "npy", ".npz": "npz", ".safetensors": "safetensors", ".pt": "pt", ".pth": "pt"}
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
ID_NAME = re.compile(r"(?:nsd[-_]?)?(\d+)", re.IGNORECASE)  # 12345.png, nsd12345.png, nsd_12345.jpg (0-based ids)
ROW_NAME = re.compile(r"\d+")  # 0.png .. 981.png: row numbers, as brain-diffuser names its reconstructions
_CHECK_ROWS = 64  # images per step of the value checks


@dataclass(frozen=True)
class ReconFile:
    """Images read from one file or folder, channels-last, with the NSD ids the file itself names (if any)."""

    path: Path
    images: np.ndarray  # (n, H, W, 3) uint8 0-255, or float in [0, 1]
    nsd_ids: np.ndarray | None  # (n,) int64: the file's `nsd_ids`, or a folder's file names
    flags: dict[str, Any] = field(default_factory=dict)  # how it was read: format, layout, values, size

    @property
    def n(self) -> int:
        return int(self.images.shape[0])

    def tensor(self, rows: np.ndarray) -> torch.Tensor:
        """float32 [len(rows), 3, H, W] in [0, 1] of the given rows."""
        chunk = np.ascontiguousarray(self.images[rows])
        if chunk.dtype == np.uint8:
            return uint8_to_tensor(chunk)
        return torch.from_numpy(chunk).permute(0, 3, 1, 2).float()


def read_recon(path: Path, names_are_rows: bool = False) -> ReconFile:
    """Read and check the reconstructions at `path`.

    Args:
        names_are_rows: For a folder: file names are row numbers 0..n-1 (the ids come from elsewhere), not NSD ids.

    Raises:
        ConfigError: Nothing at `path`, or a format this reader does not know.
        InputError: The content is not a set of images as described in the module docstring.
    """
    if not path.exists():
        raise ConfigError(f"--recon: expected a file or folder of reconstructions, found nothing at {path}")
    if path.is_dir():
        images, ids, flags = _read_folder(path, names_are_rows)
    elif path.suffix.lower() in ARRAY_FORMATS:
        fmt = ARRAY_FORMATS[path.suffix.lower()]
        images, ids = _read_arrays(path, fmt)
        flags = {"format": fmt}
    else:
        raise ConfigError(
            f"--recon {path}: expected .npy, .npz, .safetensors, .pt or .pth, or a folder of PNG/JPEG images, "
            f"found {path.suffix or 'no suffix'!r}"
        )
    images, layout = _channels_last(images, path)
    flags |= {"layout": layout, "values": _check_values(images, path)}
    flags["image_size"] = f"{images.shape[1]}x{images.shape[2]}"
    if ids is not None:
        ids = checked_ids(ids, f"{path}: nsd_ids", images.shape[0])
    return ReconFile(path=path, images=images, nsd_ids=ids, flags=flags)


def read_ids(path: Path, n_rows: int, recon: Path) -> np.ndarray:
    """The NSD ids of `--recon-ids`: a .npy array, or a text file with one id per line (blank lines and # ignored)."""
    if not path.is_file():
        raise ConfigError(f"--recon-ids: expected a .npy or text file of NSD ids, found nothing at {path}")
    where = f"--recon-ids {path}"
    if path.suffix.lower() == ".npy":
        values = _load_npy(path)
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{where}: cannot read it as text: {_first_line(exc)}") from None
        numbers = []
        for number, line in enumerate(lines, start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                numbers.append(int(text))
            except ValueError:
                raise InputError(
                    f"{where}: expected one integer NSD id per line, found {text!r} on line {number}"
                ) from None
        values = np.asarray(numbers, dtype=np.int64)
    if values.size != n_rows:
        raise InputError(f"{where}: expected {n_rows} ids (one per row of {recon}), found {values.size}")
    return checked_ids(values, where, n_rows)


def checked_ids(values: np.ndarray, where: str, n_rows: int) -> np.ndarray:
    """`values` as int64 NSD ids (0-based, each once), one per row."""
    values = np.asarray(values)
    if values.ndim == 2 and 1 in values.shape:
        values = values.ravel()
    if values.ndim != 1 or values.size != n_rows:
        raise InputError(f"{where}: expected {n_rows} ids (one per image), found shape {tuple(values.shape)}")
    if values.dtype.kind == "f" and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
        values = values.astype(np.int64)
    if values.dtype.kind not in "iu":
        raise InputError(f"{where}: expected integer NSD ids, found dtype {values.dtype}")
    values = values.astype(np.int64)
    bad = np.flatnonzero((values < 0) | (values >= N_STIMULI))
    if bad.size:
        raise InputError(f"{where}: expected NSD ids 0..{N_STIMULI - 1} (0-based), found {values[bad[0]]}")
    unique, counts = np.unique(values, return_counts=True)
    if unique.size != values.size:
        repeated = unique[counts > 1][0]
        raise InputError(f"{where}: expected each NSD id once, found {repeated} {counts[counts > 1][0]} times")
    return values


def image_files(folder: Path) -> list[Path]:
    """The PNG/JPEG files of a folder (hidden files and other suffixes left out), by name."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def content_sha256(recon: Path, ids: Path | None) -> str:
    """sha256 of the bytes read: the file (or each image of the folder, with its name) and the ids file."""
    digest = hashlib.sha256()
    for label, path in (("recon", recon), ("ids", ids)):
        if path is None:
            continue
        files = image_files(path) if path.is_dir() else [path]
        for file in files:
            name = file.name if path.is_dir() else ""
            digest.update(f"{label}:{name}:{file.stat().st_size}\n".encode())
            with open(file, "rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _pickled(path: Path) -> InputError:
    return InputError(
        f"{path}: expected only arrays or tensors, found pickled Python objects; refused without loading them "
        "(read with torch.load(weights_only=True) / allow_pickle=False): save a tensor, a dict of tensors or a .npy"
    )


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _pickled(path) from None
        raise InputError(f"{path}: cannot read it as .npy: {_first_line(exc)}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it as .npy: {_first_line(exc)}") from None


def _read_arrays(path: Path, fmt: str) -> tuple[np.ndarray, np.ndarray | None]:
    """(images, nsd_ids or None) of an array file."""
    if fmt == "npy":
        return _load_npy(path), None
    try:
        if fmt == "npz":
            with np.load(path, allow_pickle=False) as archive:
                arrays = {key: archive[key] for key in archive.files}
        elif fmt == "safetensors":
            from safetensors.torch import load_file

            arrays = load_file(str(path), device="cpu")
        else:
            arrays = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise _pickled(path) from None
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise _pickled(path) from None
        raise InputError(f"{path}: cannot read it as .{fmt}: {_first_line(exc)}") from None
    except Exception as exc:  # zip, safetensors and torch readers each raise their own type on a damaged file
        raise InputError(f"{path}: cannot read it as .{fmt}: {_first_line(exc)}") from None
    if isinstance(arrays, torch.Tensor):
        return _numpy(arrays), None
    if not isinstance(arrays, dict) or "images" not in arrays:
        found = sorted(map(str, arrays)) if isinstance(arrays, dict) else type(arrays).__name__
        raise InputError(f"{path}: expected an array 'images' (and optionally 'nsd_ids'), found {found}")
    for key in ("images", "nsd_ids"):
        if key in arrays and not isinstance(arrays[key], (np.ndarray, torch.Tensor)):
            raise InputError(f"{path}: expected '{key}' to be an array, found {type(arrays[key]).__name__}")
    ids = arrays.get("nsd_ids")
    return _numpy(arrays["images"]), None if ids is None else _numpy(ids)


def _numpy(value: np.ndarray | torch.Tensor) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    value = value.detach().cpu()
    if value.dtype in (torch.bfloat16, torch.float16):
        value = value.float()
    return value.numpy()


def _read_folder(folder: Path, names_are_rows: bool) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    files = image_files(folder)
    if not files:
        raise InputError(f"{folder}: expected PNG or JPEG images, found none")
    pattern, meaning = (ROW_NAME, "row numbers 0.png, 1.png, ...") if names_are_rows else (
        ID_NAME, "0-based NSD ids: 12345.png or nsd12345.png")
    numbers: dict[int, Path] = {}
    for file in files:
        match = pattern.fullmatch(file.stem)
        if match is None:
            raise InputError(f"{folder}: expected image names of {meaning}, found {file.name!r}")
        number = int(match.group(1) if match.groups() else match.group(0))
        if number in numbers:
            raise InputError(f"{folder}: expected one image per number, found {numbers[number].name} and {file.name}")
        numbers[number] = file
    order = sorted(numbers)
    if names_are_rows and order != list(range(len(order))):
        first = next(row for row in range(len(order) + 1) if row not in numbers)
        raise InputError(f"{folder}: expected rows 0..{len(order) - 1} ({meaning}), found no image for row {first}")
    images, grey = [], False
    for number in order:
        image, was_grey = _read_image(numbers[number])
        if images and image.shape != images[0].shape:
            raise InputError(
                f"{numbers[number]}: expected {images[0].shape[0]}x{images[0].shape[1]} like "
                f"{numbers[order[0]].name}, found {image.shape[0]}x{image.shape[1]}"
            )
        images.append(image)
        grey |= was_grey
    flags = {"format": "image folder", "file_names": "row numbers" if names_are_rows else "NSD ids"}
    if grey:
        flags["grey_images"] = "repeated to RGB"
    return np.stack(images), None if names_are_rows else np.asarray(order, dtype=np.int64), flags


def _read_image(path: Path) -> tuple[np.ndarray, bool]:
    """uint8 (H, W, 3) of one PNG/JPEG file, and whether it was grey."""
    try:
        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode in ("RGBA", "LA", "PA", "P"):
                image = image.convert("RGBA")
                if np.asarray(image)[..., 3].min() < 255:
                    raise InputError(f"{path}: expected an opaque image, found transparent pixels (alpha below 255)")
                mode = "RGB"
            if mode not in ("RGB", "L", "1"):
                raise InputError(f"{path}: expected an 8-bit RGB or grey image, found mode {image.mode!r}")
            return np.asarray(image.convert("RGB"), dtype=np.uint8), image.mode in ("L", "1")
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"{path}: cannot read the image: {_first_line(exc)}") from None


def _channels_last(images: np.ndarray, path: Path) -> tuple[np.ndarray, str]:
    """(n, H, W, 3) from any accepted layout, and the layout found, in words."""
    shape = tuple(images.shape)
    if images.ndim == 3:
        return np.repeat(images[..., None], 3, axis=3), "grey (n, H, W), repeated to RGB"
    if images.ndim != 4:
        raise InputError(f"{path}: expected images (n, H, W, 3) or (n, 3, H, W), found shape {shape}")
    last, first = shape[3] in (1, 3), shape[1] in (1, 3)
    if last == first:
        found = "cannot tell which axis holds them" if last else "neither axis 1 nor axis 3 holds them"
        raise InputError(
            f"{path}: expected 3 (RGB) or 1 (grey) channels on axis 1 or axis 3, found shape {shape} ({found})"
        )
    if first:
        images, layout = np.moveaxis(images, 1, 3), f"channels-first (n, {shape[1]}, H, W)"
    else:
        layout = f"channels-last (n, H, W, {shape[3]})"
    if images.shape[3] == 1:
        return np.repeat(images, 3, axis=3), layout + ", grey repeated to RGB"
    return images, layout


def _check_values(images: np.ndarray, path: Path) -> str:
    """The value convention of `images` (uint8 0-255 or float 0-1), after checking every value."""
    if images.size == 0:
        raise InputError(f"{path}: expected at least one non-empty image, found shape {tuple(images.shape)}")
    if images.dtype == np.uint8:
        return "uint8 0-255 (divided by 255)"
    if images.dtype.kind != "f":
        raise InputError(
            f"{path}: expected uint8 (0-255) or float (0-1) images, found dtype {images.dtype} "
            "(convert 8-bit values with .astype(uint8))"
        )
    for start in range(0, images.shape[0], _CHECK_ROWS):
        chunk = images[start : start + _CHECK_ROWS].reshape(min(_CHECK_ROWS, images.shape[0] - start), -1)
        finite = np.isfinite(chunk).all(axis=1)
        if not finite.all():
            first = start + int(np.flatnonzero(~finite)[0])
            raise InputError(f"{path}: expected finite values, found NaN or infinite values (first in image {first})")
        outside = ((chunk < 0) | (chunk > 1)).any(axis=1)
        if outside.any():
            row = int(np.flatnonzero(outside)[0])
            low, high = float(chunk[row].min()), float(chunk[row].max())
            hint = ""
            if 1 < high <= 255 and low >= 0:
                hint = "; 8-bit values as float? divide by 255 or save uint8"
            elif -1 <= low < 0 and high <= 1:
                hint = "; [-1, 1] images need (x + 1) / 2"
            raise InputError(
                f"{path}: expected float values in [0, 1] (or uint8 0-255), found {low:.4g} to {high:.4g} "
                f"in image {start + row} (the first outside){hint}"
            )
    return f"{images.dtype} in [0, 1]"
