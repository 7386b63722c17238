"""HAVIR's ablation table on one subject: PixCorr, SSIM and two-way identification in the backbone's CLIP space.

    python -m havir.ablations --out runs/havir-ablations --test-images 200 [--backbone PATH] [--synth-preset ci]

Each variant is fitted or loaded exactly as `python -m eval.run` does (same checkpoints), reconstructs the first
`--test-images` test images (all with 0) and is scored with the harness's pixel metrics; the reference decoders
mean_image and random give the floors. The table is written as JSON and Markdown.
"""

from __future__ import annotations

import argparse
import dataclasses
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
    parser.add_argument("--backbone", default=None, help="VD folder or name (default: the config's, minivd)")
    parser.add_argument("--synth-preset", default="default")
    parser.add_argument("--nsd-root", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--decoder-option", action="append", metavar="KEY=VALUE", help="havir option, repeatable")
    parser.add_argument("-v", "--verbose", action="store_true")
    return parser


def evaluate(args: argparse.Namespace) -> list[dict]:
    from eval.atomic import write_json_atomic, write_text_atomic
    from eval.config import RunConfig, parse_decoder_options
    from eval.data.source import resolve_source
    from eval.data.stimuli import Stimuli
    from eval.decoders import BuildContext, TestInputs
    from eval.metrics.score import score_pixel_metrics
    from eval.registry import resolve
    from eval.runner import fit_or_load, subject_data
    from havir.identification import clip_embeddings, two_way_identification

    options = parse_decoder_options(args.decoder_option)
    if args.backbone:
        options += (("backbone", args.backbone),)
    base = RunConfig(
        decoders=("havir",),
        subjects=(args.subject,),
        nsd_root=args.nsd_root,
        seed=args.seed,
        cache_dir=args.cache_dir,
        synth_preset=args.synth_preset,
        decoder_options=options,
    )
    source = resolve_source(args.nsd_root, args.cache_dir, args.synth_preset)
    stimuli = Stimuli(source.root)
    data = subject_data(base, source, args.subject)
    count = args.test_images or len(data.test_ids)
    inputs = TestInputs(fmri=np.asarray(data.test_fmri[:count]), nsd_ids=np.asarray(data.test_ids[:count]))
    gt = stimuli.images_tensor(inputs.nsd_ids)
    rows, vd, gt_embeds = [], None, None
    names = [v.strip() for v in args.variants.split(",")] + list(REFERENCES)
    for name in names:
        decoder_name = name if name in REFERENCES else "havir"
        ablation = None if name in ("full", *REFERENCES) else name
        config = dataclasses.replace(base, decoders=(decoder_name,), ablation=ablation)
        spec = resolve(decoder_name)
        context = BuildContext(
            ablation, "cpu", args.seed, args.subject, options=dict(options), cache_dir=args.cache_dir
        )
        decoder = spec.build(context)
        torch.manual_seed(args.seed)
        start = time.perf_counter()
        done = fit_or_load(spec, decoder, config, data, stimuli)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        recon = decoder.reconstruct(inputs).clamp(0, 1)
        recon = recon.mul(255).round().div(255)  # scored as the harness scores: from 8-bit images
        recon_s = time.perf_counter() - start
        if vd is None and decoder_name == "havir":
            vd = decoder.backbone()
            gt_embeds = clip_embeddings(vd, gt)
        pixel = score_pixel_metrics(gt, recon)
        row = {
            "variant": name,
            "pixcorr": float(np.mean(pixel["pixcorr"])),
            "ssim": float(np.mean(pixel["ssim"])),
            "two_way_clip": float(two_way_identification(clip_embeddings(vd, recon), gt_embeds).mean()) if vd else None,
            "fit_s": round(fit_s, 1),
            "reconstruct_s": round(recon_s, 1),
            "fit": done,
        }
        logging.getLogger(__name__).info("%s", row)
        print(row, flush=True)
        rows.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"subject": args.subject, "test_images": count, "dataset": source.label, "options": dict(options)}
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
    return run_cli(lambda: evaluate(args))


if __name__ == "__main__":
    sys.exit(main())
