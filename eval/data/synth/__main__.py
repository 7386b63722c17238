"""Command line: ``python -m eval.data.synth --out DIR [--preset ci] [--seed N] [--n-train N] [--image-size N]``."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from eval.data.synth.config import PRESETS, SynthConfig
from eval.data.synth.generate import generate
from eval.errors import run_cli

EPILOG = """examples:
  python -m eval.data.synth --out ~/data/synthnsd
  python -m eval.data.synth --out /tmp/synth-ci --preset ci --seed 3
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.data.synth",
        description="Generate SynthNSD, a synthetic twin of NSD in NSD's on-disk layout.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, help="target folder (must not exist or be empty)")
    group = parser.add_argument_group("content")
    group.add_argument(
        "--preset", choices=sorted(PRESETS), default="default", help="size preset (default: %(default)s)"
    )
    group.add_argument("--seed", type=int, help="root random seed (preset: 0)")
    group.add_argument("--n-train", type=int, help="training images per subject (n_shared + n_train divisible by 40)")
    group.add_argument("--image-size", type=int, help="stimulus side in pixels (a multiple of the feature grid)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    overrides = {
        name: value
        for name, value in (("seed", args.seed), ("n_train", args.n_train), ("image_size", args.image_size))
        if value is not None
    }
    return run_cli(lambda: print(generate(args.out, SynthConfig.preset(args.preset, **overrides))))


if __name__ == "__main__":
    sys.exit(main())
