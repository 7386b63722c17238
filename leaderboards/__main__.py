"""python -m leaderboards RESULTS_DIR [--out DIR]: render the leaderboard of a folder of results files."""

from __future__ import annotations

import argparse
import logging
import sys

from eval.errors import run_cli

EPILOG = """examples:
  python -m leaderboards results/
  python -m leaderboards results/ --out site/
writes index.html (with decoders/, plots/ and thumbs/ beside it; opens offline from file://),
leaderboard.md and leaderboard.csv."""


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
    from leaderboards.render import render_leaderboard

    return run_cli(lambda: print(render_leaderboard(args.results_dir, args.out)))


if __name__ == "__main__":
    sys.exit(main())
