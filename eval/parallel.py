"""`--jobs N`: one run's decoders split over N worker processes on one machine.

Torch's intra-op threads speed up the small networks of the embedded default poorly (two threads on two cores
give about 1.5x), so N single-threaded processes that each run whole decoders finish a run of several decoders
sooner. The parent first does what every worker would otherwise repeat: it checks the configuration, prepares the
dataset, calibrates and loads the extractors, prepares each subject and computes the ground truth's features, all
into the cache. Each worker then runs its share of the decoders with `eval.runner.run` and writes its own results
files (atomic, one per run identity) into the same folder; the parent renders the leaderboard once afterwards.
Numbers do not depend on the split: every decoder seeds itself, whichever process runs it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
from collections.abc import Sequence
from dataclasses import replace

from eval.config import RunConfig
from eval.errors import HarnessError, run_cli

log = logging.getLogger(__name__)

# Relative cost of a decoder: generating the test images through the backbone dominates a run.
BACKBONE_COST, PLAIN_COST = 10, 1


def partition(names: Sequence[str], costs: Sequence[int], jobs: int) -> list[tuple[str, ...]]:
    """Split `names` into at most `jobs` groups of similar total cost (longest first, each to the lightest group).

    Each group keeps the command line's order; empty groups are dropped.
    """
    groups: list[list[int]] = [[] for _ in range(max(1, min(jobs, len(names))))]
    totals = [0] * len(groups)
    for index in sorted(range(len(names)), key=lambda i: -costs[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(index)
        totals[lightest] += costs[index]
    return [tuple(names[i] for i in sorted(group)) for group in groups if group]


def decoder_groups(config: RunConfig) -> list[tuple[str, ...]]:
    """The decoders of `config`, grouped for `config.jobs` workers."""
    from eval.registry import ablations_to_run, resolve

    costs = []
    for name in config.decoders:
        spec = resolve(name)
        variants = len(ablations_to_run(spec, config.ablation))
        costs.append(variants * (BACKBONE_COST if spec.uses_backbone else PLAIN_COST))
    return partition(config.decoders, costs, config.jobs)


def prepare_shared(config: RunConfig) -> None:
    """Compute into the cache what every worker needs: dataset, extractors, prepared subjects, ground-truth features."""
    from eval.runner import open_run

    opened = open_run(config)
    extractors = dict.fromkeys(feature.extractor for feature in opened.scorer.protocol.features)
    for _, test_set in opened.test_sets():
        for name in extractors:
            opened.scorer.ground_truth(test_set.images, test_set.fingerprint, name)
    opened.scorer.wait_for_cache_writes()


def _worker(config: RunConfig, threads: int) -> None:
    """One worker process: its decoders, run as a single-process run would (errors as one line, exit 2)."""
    import torch

    from eval.runner import run

    torch.set_num_threads(threads)
    sys.exit(run_cli(lambda: run(config, announce=False)))


def run_parallel(config: RunConfig) -> None:
    """Run `config`'s decoders in `config.jobs` worker processes (see the module docstring).

    Raises:
        HarnessError: A worker failed (named by its decoders); the other workers' results are kept.
    """
    from eval.runner import check_config

    check_config(config)  # every bad choice is refused here, once, before any work
    groups = decoder_groups(config)
    prepare_shared(config)
    threads = max(1, (os.cpu_count() or 1) // len(groups))
    split = " | ".join(map(",".join, groups))
    print(f"running {len(groups)} worker processes, {threads} thread(s) each: {split}", flush=True)
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch thread pools
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    workers = []
    try:
        for group in groups:
            worker_config = replace(config, decoders=group, jobs=1)
            workers.append((group, context.Process(target=_worker, args=(worker_config, threads))))
            workers[-1][1].start()
        for _, process in workers:
            process.join()
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
        for _, process in workers:
            if process.is_alive():
                process.terminate()
    failed = [(group, process.exitcode) for group, process in workers if process.exitcode != 0]
    if failed:
        described = "; ".join(f"{','.join(group)} (exit code {code})" for group, code in failed)
        raise HarnessError(f"--jobs: workers failed: {described}; the other workers' results are written")
