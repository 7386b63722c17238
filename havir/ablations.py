"""HAVIR's ablation table on one subject: PixCorr, SSIM and two-way identification in the backbone's CLIP space.

    python -m havir.ablations --out runs/havir-ablations --test-images 200 [--vd-model PATH] [--synth-preset ci]

Each variant goes through the harness's pipeline (`eval.pipeline`: the same checkpoints, reconstruction, 8-bit
images and pixel metrics as `python -m eval.run`) on the first `--test-images` test images (all with 0); the
reference decoders mean_image and random give the floors. The table is written as JSON and Markdown. For all
eight metrics with intervals, run `python -m eval.run --decoder havir --ablation A` per variant.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

from eval.errors import run_cli

VARIANTS = ("full", "only_z", "no_cap", "no_img", "no_z", "no_split")
REFERENCES = ("mean_image", "random")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m havir.ablations", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the table (JSON and Markdown)")
    parser.add_argument("--subject", type=int, default=1)
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma list of " + ", ".join(VARIANTS))
    parser.add_argument("--test-images", type=int, default=200, help="first N test images (0: all)")
    parser.add_argument("--vd-model", default=None, help="generation backbone (default: the shipped MiniVD)")
    parser.add_argument("--synth-preset", default="default")
    parser.add_argument("--nsd-root", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--device", default="cpu", help="cpu | cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decoder-option", action="append", metavar="KEY=VALUE", help="havir option, repeatable")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def evaluate(args: argparse.Namespace) -> list[dict]:
    from eval.atomic import write_json_atomic, write_text_atomic
    from eval.cache import Cache
    from eval.config import RunConfig, parse_decoder_options
    from eval.data.source import resolve_source
    from eval.data.stimuli import Stimuli, uint8_to_tensor
    from eval.decoders import BuildContext, Variant
    from eval.metrics.identification import two_way_identification
    from eval.metrics.score import score_pixel_metrics
    from eval.options import parse_options
    from eval.pipeline import check_device, fit_or_load, inputs_of, quantise, reconstruct, subject_data
    from eval.registry import check_ablation, resolve
    from havir.identification import clip_embeddings

    check_device(args.device)
    havir = resolve("havir")
    options = parse_options(havir.options, parse_decoder_options(args.decoder_option), havir.name)
    names = [v.strip() for v in args.variants.split(",")]
    for name in names:
        check_ablation(havir, None if name == "full" else name)
    cache = Cache.at(args.cache_dir)
    source = resolve_source(args.nsd_root, cache, args.synth_preset)
    stimuli = Stimuli(source.root)
    data = subject_data(RunConfig(decoders=("havir",), cache_dir=args.cache_dir), source, args.subject)
    count = args.test_images or len(data.test_ids)
    inputs = inputs_of(data, count)
    gt = stimuli.images_tensor(inputs.nsd_ids)
    context = BuildContext(device=args.device, seed=args.seed, subject=args.subject, cache=cache)
    rows, vd, gt_embeds = [], None, None
    for name in names + list(REFERENCES):
        spec = havir if name not in REFERENCES else resolve(name)
        ablation = None if name in ("full", *REFERENCES) else name
        variant = Variant(ablation, options, args.vd_model) if spec is havir else Variant()
        decoder = spec.build(context, variant)
        torch.manual_seed(args.seed)
        start = time.perf_counter()
        done = fit_or_load(spec.name, decoder, data, stimuli, cache, seed=args.seed, variant=variant)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        recon = uint8_to_tensor(quantise(reconstruct(decoder, inputs, spec.name)))  # scored as the harness does
        recon_s = time.perf_counter() - start
        if vd is None and spec is havir:
            vd = decoder.backbone()
            gt_embeds = clip_embeddings(vd, gt)
        pixel = score_pixel_metrics(gt, recon, device=args.device)
        two_way = two_way_identification(gt_embeds, clip_embeddings(vd, recon), standardised=False) if vd else None
        row = {
            "variant": name,
            "pixcorr": float(np.mean(pixel["pixcorr"])),
            "ssim": float(np.mean(pixel["ssim"])),
            "two_way_clip": None if two_way is None else float(two_way.mean()),
            "fit_s": round(fit_s, 1),
            "reconstruct_s": round(recon_s, 1),
            "fit": done,
        }
        logging.getLogger(__name__).info("%s", row)
        print(row, flush=True)
        rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"subject": args.subject, "test_images": count, "dataset": source.label, "options": vars(options)}
    write_json_atomic(args.out / "ablations.json", {"meta": meta, "rows": rows})
    lines = [
        f"Subject {args.subject}, {count} test images, {source.label}; two-way identification in the backbone's "
        "CLIP image-embedding space (chance 0.5).",
        "",
        "| variant | PixCorr | SSIM | two-way (CLIP) | fit s | reconstruct s |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        two_way = "n/a" if r["two_way_clip"] is None else f"{r['two_way_clip']:.3f}"
        cells = [r["variant"], f"{r['pixcorr']:.3f}", f"{r['ssim']:.3f}", two_way, r["fit_s"], r["reconstruct_s"]]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    write_text_atomic(args.out / "ablations.md", "\n".join(lines) + "\n")
    return rows


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    from eval.run import quiet_model_loading

    quiet_model_loading()
    return run_cli(lambda: evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
