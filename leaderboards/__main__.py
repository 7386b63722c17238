"""python -m leaderboards RESULTS_DIR [--out DIR]: render the leaderboard of a folder of results files."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from eval.errors import run_cli

EPILOG = """examples:
  python -m leaderboards results/
  python -m leaderboards results/ --out site/
writes index.html (with decoders/, plots/ and thumbs/ beside it; opens offline from file://),
leaderboard.md and leaderboard.csv. Exit status: 0; 1 when results files were skipped (the page is still
written, listing them); 2 on bad input (a missing folder, no valid results file)."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leaderboards",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("results_dir", help="folder searched recursively for results files (*.json)")
    parser.add_argument("--out", default=None, help="output folder (default: RESULTS_DIR)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from leaderboards.collect import collect_results, exit_status
    from leaderboards.render import write_leaderboard

    skipped = []

    def action() -> None:
        collection = collect_results(args.results_dir)
        print(write_leaderboard(collection, Path(args.out if args.out is not None else args.results_dir)))
        skipped.extend(collection.skipped)

    return run_cli(action) or exit_status(skipped)


if __name__ == "__main__":
    sys.exit(main())
