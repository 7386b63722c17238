"""Train a HAVIR checkpoint, in one process or several: `accelerate launch -m havir.fit --subject 1`.

The checkpoint goes where `python -m eval.run --decoder havir` looks for it (same cache, ablation, seed and
data), unless --out names another folder; only the main process writes it, atomically.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path

from eval.errors import run_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m havir.fit",
        description="Train HAVIR on one subject's training split (multi-process under `accelerate launch`).",
        epilog="example:\n  accelerate launch --num_processes 2 -m havir.fit --subject 1 --ablation no_split",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--subject", type=int, default=1)
    parser.add_argument("--ablation", default=None, help="an ablation of havir (only no_split changes training)")
    parser.add_argument("--decoder-option", action="append", metavar="KEY=VALUE", help="havir option, repeatable")
    parser.add_argument("--nsd-root", type=Path, default=None, help="NSD root (default: the embedded SynthNSD)")
    parser.add_argument("--synth-preset", default="default", help="default | ci")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder (default: where eval.run looks)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def fit(args: argparse.Namespace) -> Path:
    from accelerate import Accelerator

    from eval.atomic import atomic_folder
    from eval.config import parse_decoder_options
    from eval.data.prepare import load_subject
    from eval.data.source import resolve_source
    from eval.data.stimuli import Stimuli
    from eval.data.subject import PrepareOptions
    from eval.decoders import BuildContext
    from eval.runner import check_device, checkpoint_folder
    from havir.decoder import HAVIR, HavirDecoder

    check_device(args.device)
    accelerator = Accelerator(cpu=args.device == "cpu")
    with accelerator.main_process_first():  # one process generates SynthNSD and prepares the subject
        source = resolve_source(args.nsd_root, args.cache_dir, args.synth_preset)
        data = load_subject(source.root, args.subject, PrepareOptions(), args.cache_dir)
    context = BuildContext(
        ablation=args.ablation,
        device=str(accelerator.device),
        seed=args.seed,
        subject=args.subject,
        options=dict(parse_decoder_options(args.decoder_option)),
        cache_dir=args.cache_dir,
    )
    decoder = HavirDecoder(context)
    decoder.fit(data, Stimuli(source.root), accelerator=accelerator)
    folder = args.out or checkpoint_folder(
        args.cache_dir, HAVIR.name, decoder.checkpoint_variant(data), data, args.seed
    )
    if accelerator.is_main_process:
        if folder.is_dir():
            shutil.rmtree(folder)
        with atomic_folder(folder) as tmp:
            decoder.save(tmp)
        print(f"checkpoint: {folder} ({accelerator.num_processes} process(es))", flush=True)
    accelerator.wait_for_everyone()
    return folder


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return run_cli(lambda: fit(args))


if __name__ == "__main__":
    sys.exit(main())
