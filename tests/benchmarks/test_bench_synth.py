"""Time and memory of generating the default SynthNSD dataset (run with --benchmark-only)."""

from __future__ import annotations

import resource
import shutil
from pathlib import Path

from eval.data.synth import SynthConfig, generate


def _folder_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def test_bench_synth_default(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = SynthConfig.preset("default")
    root = tmp_path / "synthnsd"
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    benchmark.pedantic(generate, args=(root, config), rounds=1, iterations=1)
    after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: kilobytes, peak of the whole process
    benchmark.extra_info.update(
        {
            "config_key": config.key(),
            "n_images": config.n_images,
            "trials_per_session": config.trials_per_session,
            "peak_rss_mb": round(after_kb / 1024, 1),
            "peak_rss_before_mb": round(before_kb / 1024, 1),
            "disk_mb": round(_folder_mb(root), 1),
        }
    )
    assert (root / "synthnsd_truth" / "config.json").is_file()
    shutil.rmtree(root)
