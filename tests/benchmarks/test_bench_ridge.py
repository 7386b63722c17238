"""Benchmark of the multi-target ridge at NSD's size: 8,859 training rows x 15,724 voxels (subject 1's nsdgeneral)
to the 257 x 768 CLIP image tokens of Versatile Diffusion, one penalty per token chosen by 5-fold cross-validation
over the default grid (10 penalties), float32 products on the CPU.

The fit runs in a fresh process, so its peak resident memory (VmHWM) is its own. Targets are made block by block
(one token's 768 outputs per block: x[:, :64] @ w + noise, so penalties differ between tokens) and each block's
coefficients are handed to a callback that keeps only their checksum: at this size they are 8,858 x 197,376 floats
(7 GB), which a caller writes to disk block by block.

Run: tox -e bench -- tests/benchmarks/test_bench_ridge.py
     RIDGE_BENCH_TOKENS=16 ... fits only the first 16 tokens (the same decompositions and peak memory; the time per
     token times 257 gives the full fit's).
Figure to reach: peak resident memory under 8 GB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

N_ROWS, N_VOXELS, N_TOKENS, DIM = 8859, 15724, 257, 768
PEAK_LIMIT_GB = 8.0

SCRIPT = """
import json, re, sys, time
import numpy as np, torch
from baselines.ridge_cv import DualRidge

n, p, tokens, dim = (int(v) for v in sys.argv[1:5])
peak = lambda: int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024 / 1e9
x = np.random.default_rng(0).standard_normal((n, p), dtype=np.float32)
w = np.random.default_rng(1).standard_normal((64, tokens * dim), dtype=np.float32) * 0.05

def targets(start, stop):
    noise = np.random.default_rng(start).standard_normal((n, stop - start), dtype=np.float32)
    return x[:, :64] @ w[:, start:stop] + noise * (1 + start // dim % 4)

checksum = []
start = time.perf_counter()
solver = DualRidge(x, folds=5, seed=0)
solver.fold_parts()
solver.basis
setup = time.perf_counter() - start
start = time.perf_counter()
fit = solver.fit(targets, tokens * dim, group_size=dim, chunk=dim,
                 keep=lambda a, b, coef: checksum.append(float(coef.double().abs().sum())))
solve = time.perf_counter() - start
alphas = fit.alphas.view(tokens, dim)[:, 0].tolist()
print(json.dumps({"setup_s": setup, "solve_s": solve, "per_token_s": solve / tokens, "peak_gb": peak(),
                  "distinct_alphas": len(set(alphas)), "threads": torch.get_num_threads(), "blocks": len(checksum)}))
"""


def test_ridge_at_nsd_size_stays_under_8_gb(benchmark) -> None:
    tokens = int(os.environ.get("RIDGE_BENCH_TOKENS", N_TOKENS))
    argv = [sys.executable, "-c", SCRIPT, *(str(v) for v in (N_ROWS, N_VOXELS, tokens, DIM))]

    def run() -> dict:
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])

    report = benchmark.pedantic(run, rounds=1, iterations=1)
    report |= {"tokens": tokens, "full_fit_estimate_s": report["setup_s"] + report["per_token_s"] * N_TOKENS}
    benchmark.extra_info.update({k: round(v, 3) if isinstance(v, float) else v for k, v in report.items()})
    benchmark.extra_info["load"] = os.getloadavg()[0]
    print(report)
    assert report["blocks"] == tokens
    assert report["peak_gb"] < PEAK_LIMIT_GB, report
