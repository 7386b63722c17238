"""The CI-sized run whose metrics the regression reference pins, and the command that refreshes it.

python -m tests.regression.ci_run --update    # after a deliberate change of the numbers; commit the file
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from eval.regression import summarise_results, write_reference

REFERENCE = Path(__file__).with_name("reference_metrics.json")
# Absolute tolerance per metric: bigger than float noise between machines and library builds, smaller than any
# change of a decoder or metric that matters.
TOLERANCE = {"default": 0.005}
ARGS = ["--decoder", "reference", "--subject", "1,7", "--synth-preset", "ci", "--seed", "0"]


def run_ci(out: Path) -> Path:
    from eval.run import main

    code = main([*ARGS, "--out", str(out)])
    if code != 0:
        raise SystemExit(f"the CI-sized run failed with exit code {code}")
    return out / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--update", action="store_true", help="rewrite the committed reference from a fresh run")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        current = summarise_results(run_ci(Path(tmp)))
    if args.update:
        write_reference(REFERENCE, current, TOLERANCE, {"command": "python -m eval.run " + " ".join(ARGS)})
        print(f"wrote {REFERENCE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
