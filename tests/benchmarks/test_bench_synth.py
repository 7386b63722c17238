"""Time and memory of generating the default SynthNSD dataset (run with tox -e bench)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from eval.data.synth import SynthConfig

# Generation runs in a fresh process: its peak resident memory (VmHWM) is then the generator's own, not this
# pytest process's (ru_maxrss would carry that over through fork and exec).
_GENERATE = """
import json, re, sys, time
from eval.data.synth import SynthConfig, generate
start = time.perf_counter()
generate(sys.argv[1], SynthConfig.preset("default"))
seconds = time.perf_counter() - start
peak_kib = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"seconds": seconds, "peak_rss_mb": peak_kib / 1024}))
"""


def _folder_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def test_bench_synth_default(benchmark, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = SynthConfig.preset("default")
    root = tmp_path / "synthnsd"

    def generate_in_fresh_process() -> dict:
        done = subprocess.run([sys.executable, "-c", _GENERATE, str(root)], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    measured = benchmark.pedantic(generate_in_fresh_process, rounds=1, iterations=1)
    benchmark.extra_info.update(
        {
            "config_key": config.key(),
            "n_images": config.n_images,
            "trials_per_session": config.trials_per_session,
            "generate_s": round(measured["seconds"], 2),
            "peak_rss_mb": round(measured["peak_rss_mb"], 1),
            "disk_mb": round(_folder_mb(root), 1),
        }
    )
    assert (root / "synthnsd_truth" / "config.json").is_file()
    assert measured["seconds"] < 60  # figure to reach: the default generation in under a minute
    assert measured["peak_rss_mb"] < 2048
