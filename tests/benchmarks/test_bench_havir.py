"""Benchmarks of HAVIR on the default SynthNSD with MiniVD: training subject 1, and a whole `eval.run`.

Run: tox -e bench  (or pytest -o addopts="" tests/benchmarks/test_bench_havir.py --benchmark-only)
Figures to reach: training in under 3 minutes, the whole run for subject 1 in under 10 minutes (one CPU thread).
Set HAVIR_BENCH_BACKBONE to a VD folder to time another backbone than the shipped MiniVD.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from eval.backbone.locate import MINIVD_DIR
from eval.cache import Cache
from eval.data.prepare import load_subject
from eval.data.source import embedded_synthnsd
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, Variant

BACKBONE = os.environ.get("HAVIR_BENCH_BACKBONE", "minivd")
pytestmark = pytest.mark.skipif(
    BACKBONE == "minivd" and not (MINIVD_DIR / "model_index.json").is_file(),
    reason=f"MiniVD weights not installed at {MINIVD_DIR}",
)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench-havir-cache")


def test_train_subject1(benchmark, cache: Path) -> None:
    from havir.decoder import HavirDecoder

    torch.set_num_threads(1)
    root = embedded_synthnsd(Cache(cache), preset="default").root
    data, stimuli = load_subject(root, 1, PrepareOptions(), cache), Stimuli(root)
    context = BuildContext(device="cpu", seed=0, subject=1, cache=Cache(cache))
    decoder = HavirDecoder(context, Variant(backbone=BACKBONE))
    decoder._attach(data)
    start = time.perf_counter()
    decoder.training_set(data, stimuli)  # targets, cached for the timed fit
    targets_s = time.perf_counter() - start
    benchmark.pedantic(decoder.fit, args=(data, stimuli), rounds=1, iterations=1)
    benchmark.extra_info.update(
        targets_s=round(targets_s, 1),
        epochs=decoder.config.epochs,
        final_loss=decoder.history[-1]["loss"],
        load=os.getloadavg()[0],
    )
    assert decoder.history[-1]["loss"] < decoder.history[0]["loss"]
    assert benchmark.stats.stats.max < 180


def test_full_run_subject1(benchmark, cache: Path, tmp_path: Path) -> None:
    from eval.run import main

    argv = [
        "--decoder",
        "havir",
        "--out",
        str(tmp_path),
        "--cache-dir",
        str(cache),
        "--refit",
        "--vd-model",
        BACKBONE,
    ]
    code = benchmark.pedantic(main, args=(argv,), rounds=1, iterations=1)
    benchmark.extra_info.update(load=os.getloadavg()[0])
    assert code == 0
    assert benchmark.stats.stats.max < 600
