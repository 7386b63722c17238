"""The CI-sized comparison whose metrics the regression reference pins, and the command that refreshes it.

Every decoder runs through `python -m eval.run`'s `main`, as a user would run it, on the CI SynthNSD (200 training
images, 196 test images, 32 px): the reference decoders on subjects 1 and 7, and the trained decoders on subject 1:
HAVIR (the full model and `only_z`) and the baselines Brain-Diffuser, Takagi and MindEye. The trained decoders keep
their default sizes and training (seconds on 200 images) and generate through the shipped MiniVD, the backbone their
learning tests need (a random tiny VD shows no learning, so its numbers would guard nothing), with 4 generation
steps instead of 20 (3 denoising steps at their strengths; MindEye best of 2, as its synth preset), because the
reconstruction of the 196 test images is what costs. HAVIR's other ablations each add a reconstruction and a
scoring (about 15 s on an idle machine), more than the test suite's time allows.

    python -m tests.regression.ci_run              # run it, print each metric against the reference
    python -m tests.regression.ci_run --update     # after a deliberate change of the numbers; commit the file
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from eval.atomic import write_json_atomic
from eval.backbone.locate import MINIVD_DIR
from eval.errors import DataError, run_cli
from eval.regression import (
    Summary,
    compare,
    load_reference,
    report,
    summarise_results,
    unguarded,
    write_reference,
)
from eval.results import load_result

REFERENCE = Path(__file__).with_name("reference_metrics.json")
REFRESH = "python -m tests.regression.ci_run --update"
COMMON = ["--synth-preset", "ci", "--seed", "0"]
# The reference decoders: no training, no backbone; the existing guard's run.
REFERENCE_RUNS = [["--decoder", "reference", "--subject", "1,7"]]
# The trained decoders, subject 1, MiniVD (the default --vd-model); `only_z` reuses the full model's checkpoint.
STEPS = ["--decoder-option", "steps=4"]
TRAINED_RUNS = [
    ["--decoder", "havir,brain_diffuser,takagi,mindeye", "--subject", "1", *STEPS],
    ["--decoder", "havir", "--ablation", "only_z", "--subject", "1", *STEPS],
]
# Absolute tolerance per metric, each with its reason. Measured (README, "Guarding the metrics (CI)"): two runs
# with one thread agree exactly; with two threads the trained decoders move (summed in another order, the training
# takes another path), the reference decoders do not.
PIXEL = "PixCorr and SSIM are exact for given images: they move only when a trained decoder's images do"
IDENTIFICATION = (
    "two-way identification over 196 test images: one image's score moves in steps of 1/195; a trained "
    "decoder's images, and so its scores, move with the thread count"
)
DISTANCE = "mean feature distance of seeded networks: smooth in the images, which move with the thread count"
TOLERANCE = {"default": 0.005, "pixcorr": 0.005, "ssim": 0.003, "alexnet2": 0.01, "alexnet5": 0.01,
             "inception": 0.01, "clip": 0.01, "effnet": 0.005, "swav": 0.005}
REASONS = {
    "default": "bigger than float noise between machines, thread counts and library builds, smaller than any "
    "change of a decoder or metric that matters",
    "pixcorr": PIXEL,
    "ssim": PIXEL,
    **{name: IDENTIFICATION for name in ("alexnet2", "alexnet5", "inception", "clip")},
    "effnet": DISTANCE,
    "swav": DISTANCE,
}


def minivd_installed() -> bool:
    return (MINIVD_DIR / "model_index.json").is_file()


def run_ci(out: Path, runs: Sequence[Sequence[str]] = (*REFERENCE_RUNS, *TRAINED_RUNS)) -> Path:
    """Run each command of `runs` into `out`; returns the results folder."""
    from eval.run import main

    for args in runs:
        code = main([*args, *COMMON, "--out", str(out)])
        if code != 0:
            raise SystemExit(f"the CI-sized run {' '.join(args)} failed with exit code {code}")
    return out / "results"


def commands(runs: Sequence[Sequence[str]] = (*REFERENCE_RUNS, *TRAINED_RUNS)) -> list[str]:
    return ["python -m eval.run " + " ".join([*args, *COMMON]) for args in runs]


def reconstructions(out: Path, decoder: str, nsd_ids: Sequence[int], subject: int = 1) -> torch.Tensor:
    """The images the run in `out` scored for `decoder`'s full model, as float (n, 3, H, W), rows of `nsd_ids`."""
    from eval.data.stimuli import uint8_to_tensor

    results = out / "results"
    found = [
        result
        for result in map(load_result, sorted(results.glob("*.json")))
        if (result.decoder.name, result.decoder.ablation, result.subject) == (decoder, None, subject)
    ]
    if len(found) != 1:
        raise DataError(f"{results}: expected one result of decoder '{decoder}' subject {subject}, found {len(found)}")
    with np.load(results / found[0].artifacts["reconstructions"]) as saved:
        images, ids = saved["images"], saved["nsd_ids"]
    row = {int(nsd_id): k for k, nsd_id in enumerate(ids)}
    return uint8_to_tensor(images[[row[int(nsd_id)] for nsd_id in nsd_ids]])


def check(current: Summary) -> int:
    """Print each metric of `current` against the reference; 1 if any regressed or a decoder is unguarded."""
    reference = load_reference(REFERENCE)
    changes = compare(reference, current)
    for change in changes:
        print(change.describe())
    extra = unguarded(reference, current)
    if extra:
        print(f"decoders the reference does not pin (refresh it: {REFRESH}): {', '.join(extra)}", file=sys.stderr)
    if any(change.regressed for change in changes):
        print(report(changes, REFRESH), file=sys.stderr)
        return 1
    return 1 if extra else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true", help="rewrite the committed reference from a fresh run")
    parser.add_argument("--out", type=Path, default=None, help="keep the run's output here (default: a temporary one)")
    parser.add_argument("--summary", type=Path, default=None, help="also write the run's metrics to this JSON file")
    args = parser.parse_args(argv)
    code = 0

    def action() -> None:
        nonlocal code
        with tempfile.TemporaryDirectory() as tmp:
            current = summarise_results(run_ci(args.out or Path(tmp)))
        if args.summary:
            write_json_atomic(args.summary, current)
        if args.update:
            provenance = {"commands": commands(), "threads": torch.get_num_threads(), "refresh": REFRESH}
            write_reference(REFERENCE, current, TOLERANCE, REASONS, provenance)
            print(f"wrote {REFERENCE}: {len(current)} decoder rows")
        else:
            code = check(current)

    return run_cli(action) or code


if __name__ == "__main__":
    sys.exit(main())
