"""Benchmarks of the data layer on the default SynthNSD: preparing a subject, loading it from the cache,
and the peak memory of preparing one subject in a fresh process.

Run: tox -e bench  (or pytest -o addopts="" tests/benchmarks --benchmark-only)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eval.cache import Cache
from eval.data.prepare import build_subject, load_subject
from eval.data.source import embedded_synthnsd
from eval.data.subject import PrepareOptions


@pytest.fixture(scope="module")
def default_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return embedded_synthnsd(Cache(tmp_path_factory.mktemp("bench-cache")), preset="default").root


def test_prepare_one_subject(benchmark, default_root: Path) -> None:
    data = benchmark.pedantic(build_subject, args=(default_root, 1, PrepareOptions()), rounds=1, iterations=1)
    benchmark.extra_info.update(
        n_test=int(data.test_ids.size), n_train=int(data.train_ids.size), n_voxels=data.n_voxels
    )
    assert data.test_ids.size == 982


def test_load_prepared_subject_from_cache(benchmark, default_root: Path, tmp_path: Path) -> None:
    load_subject(default_root, 1, PrepareOptions(), cache=Cache(tmp_path))  # fill the cache
    data = benchmark.pedantic(
        load_subject, args=(default_root, 1, PrepareOptions(), Cache(tmp_path)), rounds=5, iterations=1
    )
    assert data.test_ids.size == 982
    assert benchmark.stats.stats.max < 2.0  # figure to reach: a cached subject loads in under 2 s


def test_peak_memory_of_preparing_one_subject(benchmark, default_root: Path) -> None:
    # VmHWM (peak resident memory) of a fresh process: ru_maxrss would carry over this pytest process's peak
    # through fork and exec.
    code = (
        "import re\n"
        "from eval.data.prepare import build_subject\n"
        "from eval.data.subject import PrepareOptions\n"
        "peak = lambda: int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "before = peak()\n"
        f"build_subject({str(default_root)!r}, 1, PrepareOptions())\n"
        "print(before, peak())\n"
    )
    out = benchmark.pedantic(
        lambda: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout,
        rounds=1,
        iterations=1,
    )
    before_kib, after_kib = (int(v) for v in out.split())
    benchmark.extra_info.update(peak_rss_mib=after_kib / 1024, rss_after_imports_mib=before_kib / 1024)
    assert after_kib / 1024 < 2048  # figure to reach: under 2 GB for one synthetic subject
