"""Train a HAVIR checkpoint, in one process or several: `accelerate launch -m havir.fit --subject 1`.

The checkpoint goes where `python -m eval.run --decoder havir` looks for it (same cache, ablation, seed and
data), unless --out names another folder; only the main process writes it, atomically.
"""

from __future__ import annotations

import argparse
import logging
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
    parser.add_argument("--vd-model", default=None, help="generation backbone (default: the shipped MiniVD)")
    parser.add_argument("--nsd-root", type=Path, default=None, help="NSD root (default: the embedded SynthNSD)")
    parser.add_argument("--synth-preset", default="default", help="default | ci")
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="checkpoint folder (default: where eval.run looks)")
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def fit(args: argparse.Namespace) -> Path | None:
    from accelerate import Accelerator

    from eval.cache import Cache
    from eval.config import parse_decoder_options
    from eval.data.prepare import load_subject
    from eval.data.source import resolve_source
    from eval.data.stimuli import Stimuli
    from eval.data.subject import PrepareOptions
    from eval.decoders import BuildContext, Variant
    from eval.options import parse_options
    from eval.pipeline import check_device, fit_or_load, save_checkpoint
    from eval.registry import check_ablation
    from havir.decoder import HAVIR

    check_device(args.device)
    check_ablation(HAVIR, args.ablation)
    variant = Variant(
        ablation=args.ablation,
        options=parse_options(HAVIR.options, parse_decoder_options(args.decoder_option), HAVIR.name),
        backbone=args.vd_model,
    )
    cache = Cache.at(args.cache_dir)
    accelerator = Accelerator(cpu=args.device == "cpu")
    with accelerator.main_process_first():  # one process generates SynthNSD and prepares the subject
        source = resolve_source(args.nsd_root, cache, args.synth_preset)
        data = load_subject(source.root, args.subject, PrepareOptions(), cache)
    # Under a launcher every process computes on its own device (accelerate's), not on --device.
    context = BuildContext(device=str(accelerator.device), seed=args.seed, subject=args.subject, cache=cache)
    decoder = HAVIR.build(context, variant)
    stimuli = Stimuli(source.root)
    train = lambda: decoder.fit(data, stimuli, accelerator=accelerator)  # noqa: E731
    if args.out is not None:
        train()
        if accelerator.is_main_process:
            save_checkpoint(decoder, args.out)
        done = f"fitted, saved {args.out}"
    else:
        done = fit_or_load(
            HAVIR.name, decoder, data, stimuli, cache, seed=args.seed, variant=variant, refit=True, fit=train,
            writer=accelerator.is_main_process,
        )
    if accelerator.is_main_process:
        print(f"checkpoint: {done} ({accelerator.num_processes} process(es))", flush=True)
    accelerator.wait_for_everyone()
    return args.out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from eval.run import quiet_model_loading

    quiet_model_loading()
    return run_cli(lambda: fit(args))


if __name__ == "__main__":
    sys.exit(main())
