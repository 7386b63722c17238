"""Which dataset a run reads: a real NSD root, a SynthNSD root, or the embedded default (SynthNSD, generated
into the cache on first use)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from eval.cache import Cache
from eval.data import layout
from eval.errors import DataError

log = logging.getLogger(__name__)

SYNTH_MARKER = Path("synthnsd_truth") / "config.json"


@dataclass(frozen=True)
class DataSource:
    """name: 'nsd' or 'synthnsd'; label: what the run prints and the leaderboard shows."""

    name: str
    root: Path
    label: str
    embedded_default: bool = False


def resolve_source(
    nsd_root: str | os.PathLike[str] | None, cache: Cache | None = None, synth_preset: str = "default"
) -> DataSource:
    """The data source for a run: `nsd_root` when given, else the embedded SynthNSD (generated if absent)."""
    if nsd_root is not None:
        root = Path(nsd_root).expanduser()
        if not root.is_dir():
            raise DataError(f"--nsd-root: expected an NSD folder at {root}, found nothing there")
        if not layout.expdesign(root).is_file():
            raise DataError(f"--nsd-root {root}: missing NSD design file: expected file {layout.expdesign(root)}")
        if (root / SYNTH_MARKER).is_file():
            return DataSource("synthnsd", root, f"synthnsd at {root}")
        return DataSource("nsd", root, f"NSD at {root}")
    return embedded_synthnsd(cache, synth_preset)


def embedded_synthnsd(cache: Cache | None = None, preset: str = "default") -> DataSource:
    """The SynthNSD twin of `preset` in the cache, generated on first use."""
    from eval.data.synth import SynthConfig, generate  # only needed when no NSD root is given

    config = SynthConfig.preset(preset)
    root = Cache.at(cache).entry("synthnsd", config.key(), prefix=preset, length=64)
    if not (root / SYNTH_MARKER).is_file():
        log.info("generating SynthNSD (%s preset) into %s", preset, root)
        generate(root, config)
    suffix = "" if preset == "default" else f", {preset} preset"
    return DataSource("synthnsd", root, f"synthnsd (embedded default{suffix})", embedded_default=True)
