"""Paired comparison of two decoders scored on the same test images: `python -m eval.compare A.json B.json`.

For every metric both results files hold, the difference of means (A - B) with a paired bootstrap 95% interval
and the share of resamples in which A is not better (direction-aware). The two files must share protocol,
weight source and test set; per-image scores are aligned by NSD id.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from eval.errors import InputError, run_cli
from eval.results import RunResult, load_result
from eval.stats import paired_bootstrap


def _check_comparable(a: RunResult, b: RunResult, names: tuple[str, str]) -> None:
    checks = {
        "protocol": (f"{a.protocol.name} v{a.protocol.version}", f"{b.protocol.name} v{b.protocol.version}"),
        "weight source": (a.weights.source, b.weights.source),
        "test set": (a.dataset.test_set_fingerprint[:12], b.dataset.test_set_fingerprint[:12]),
    }
    for what, (x, y) in checks.items():
        if x != y:
            raise InputError(f"cannot compare {names[0]} with {names[1]}: {what} differs ({x} vs {y})")
    if a.per_image is None or b.per_image is None:
        missing = names[0] if a.per_image is None else names[1]
        raise InputError(f"cannot compare: {missing} has no per-image scores (a reported number?)")


def paired_scores(a: RunResult, b: RunResult, names: tuple[str, str] = ("A", "B")) -> dict[str, tuple[Any, Any]]:
    """Per metric both results hold with per-image scores: (A's scores, B's scores of the same images), both in
    A's image order (aligned by NSD id).

    Raises:
        InputError: The results differ in protocol, weight source or test set, or lack per-image scores.
    """
    _check_comparable(a, b, names)
    order_b = {nsd_id: k for k, nsd_id in enumerate(b.per_image.nsd_ids)}
    index = np.array([order_b[i] for i in a.per_image.nsd_ids])
    return {
        name: (np.asarray(a.per_image.scores[name]), np.asarray(b.per_image.scores[name])[index])
        for name in a.metrics
        if name in b.metrics and name in a.per_image.scores and name in b.per_image.scores
    }


def compare_results(a: RunResult, b: RunResult, names: tuple[str, str] = ("A", "B"), seed: int = 0) -> list[dict]:
    """One row per metric both results hold: means, difference, paired bootstrap interval and p.

    Raises:
        InputError: The results differ in protocol, weight source or test set, or lack per-image scores.
    """
    rows = []
    for name, (x, y) in paired_scores(a, b, names).items():
        block = a.metrics[name]
        stats = paired_bootstrap(x, y, seed=seed, direction=block.direction)
        rows.append({"metric": name, "display": block.display, "a": x.mean(), "b": y.mean(), **stats})
    return rows


def format_rows(rows: list[dict[str, Any]], names: tuple[str, str]) -> str:
    header = f"{'metric':<12} {names[0][:14]:>14} {names[1][:14]:>14} {'A - B':>9}  {'95% CI':<21} p(A not better)"
    lines = [header]
    for row in rows:
        low, high = row["ci95"]
        lines.append(
            f"{row['display']:<12} {row['a']:>14.4f} {row['b']:>14.4f} {row['difference']:>+9.4f}  "
            f"[{low:+.4f}, {high:+.4f}]  {row['p_a_not_better']:.4f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.compare", description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="results file of decoder A")
    parser.add_argument("b", type=Path, help="results file of decoder B (same test set, protocol, weights)")
    parser.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    args = parser.parse_args(argv)

    def action() -> None:
        a, b = load_result(args.a), load_result(args.b)
        names = (a.decoder.name, b.decoder.name)
        print(format_rows(compare_results(a, b, names, seed=args.seed), names))

    return run_cli(action)


if __name__ == "__main__":
    sys.exit(main())
