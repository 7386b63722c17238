"""Command line: `python -m eval.run --decoder NAME [--ablation A] [--subject 1|2|5|7|all] ...`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from eval.errors import run_cli

EPILOG = """examples:
  python -m eval.run --decoder reference                 all reference decoders, subject 1, embedded SynthNSD
  python -m eval.run --decoder nearest_neighbour --subject all --nsd-root /data/nsd
  python -m eval.run --decoder comparison --subject all  references, HAVIR and the baselines, subjects 1, 2, 5, 7
  python -m eval.run --decoder ground_truth,random --out runs/bounds
  python -m eval.run --decoder mine --nsd-root /data/nsd --weights-dir ~/weights   published weights, exact protocol
  python -m eval.run --decoder reference --protocol braindiffuser --weights-source seeded
  python -m eval.run --decoder havir --ablation no_cap --decoder-option strength=0.5 --tag havir-s05
  python -m eval.run --decoder havir --ablation all     the full model and every ablation: the ablation table
  python -m eval.run --decoder havir --list-options      the decoder's options, types, defaults and ranges
  python -m eval.run --decoder havir --subject 2,5,7 --transfer-from 1 --finetune-sessions 1
  python -m eval.run --decoder precomputed --recon mine_sub1.npz --tag mine      score images made elsewhere
  python -m eval.run --decoder precomputed --recon me2_all_recons.pt --recon-order mindeye --sessions 40 --tag me2
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval.run",
        description="Reconstruct the NSD shared test images with a decoder and score them.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to evaluate")
    what.add_argument(
        "--decoder",
        required=True,
        help="decoder name, comma list, or a group: reference, baseline, oracle, comparison (references, HAVIR "
        "and the baselines) or all (every decoder that needs no --recon)",
    )
    what.add_argument(
        "--ablation",
        default=None,
        help="ablation of the decoder (see its documentation), or 'all': the full model and every ablation",
    )
    what.add_argument("--subject", default="1", help="1, 2, 5, 7, a comma list, or 'all' (default: 1)")
    what.add_argument(
        "--decoder-option",
        action="append",
        metavar="KEY=VALUE",
        help="decoder option, repeatable; --list-options prints the decoder's table",
    )
    what.add_argument("--list-options", action="store_true", help="print the options of --decoder and exit")
    what.add_argument(
        "--tag", default=None, help="your name for this variant: its leaderboard row and the start of its file name"
    )
    what.add_argument(
        "--transfer-from", type=int, default=None, help="pretrain on this subject, fine-tune on each --subject"
    )
    what.add_argument(
        "--finetune-sessions",
        type=int,
        default=None,
        help="sessions used to fine-tune with --transfer-from (default: 1)",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--nsd-root",
        type=Path,
        default=None,
        help="NSD root folder; without it the embedded SynthNSD twin is used (generated on first use)",
    )
    data.add_argument(
        "--sessions", type=int, default=37, help="sessions read per subject: 37 -> 982 test images, 40 -> 1000"
    )
    data.add_argument("--normalisation", default="zscore_train", help="none | zscore_train | zscore_session")
    data.add_argument(
        "--betas-format", default="auto", help="auto (hdf5 if present, checked against .nii.gz) | hdf5 | nifti"
    )
    data.add_argument(
        "--voxel-recipe", type=Path, default=None, help="JSON voxel-group recipe (default: HAVIR's split)"
    )
    data.add_argument(
        "--braindiffuser-dir",
        type=Path,
        default=None,
        help="folder of brain-diffuser's nsd_*_fmriavg_nsdgeneral_sub*.npy files (needs --nsd-root)",
    )
    data.add_argument("--synth-preset", default="default", help="size of the embedded SynthNSD: default | ci")
    external = parser.add_argument_group("reconstructions made elsewhere (--decoder precomputed)")
    external.add_argument(
        "--recon",
        default=None,
        metavar="PATH",
        help="the images to score: .npy, .npz, .safetensors, .pt (tensors only), or a folder of PNG/JPEG files",
    )
    external.add_argument(
        "--recon-ids", default=None, metavar="FILE", help="NSD ids (0-based) of its rows: .npy, or text, one per line"
    )
    external.add_argument(
        "--recon-order",
        default=None,
        metavar="NAME",
        help="its rows follow a published codebase's test order: mindeye | braindiffuser",
    )
    generation = parser.add_argument_group("generation backbone")
    generation.add_argument(
        "--vd-model",
        default=None,
        help="Versatile Diffusion for diffusion decoders: 'minivd' (default, shipped), a VD-layout folder, or "
        "shi-labs/versatile-diffusion from the local Hugging Face cache (never downloaded)",
    )
    run = parser.add_argument_group("run")
    run.add_argument("--out", type=Path, default=Path("runs"), help="output folder (default: runs)")
    run.add_argument("--device", default="cpu", help="cpu | cuda (default: cpu)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="worker processes the decoders are split over, each with an equal share of the CPU threads "
        "(default: 1)",
    )
    metrics = parser.add_argument_group("metrics")
    metrics.add_argument(
        "--protocol",
        default="auto",
        help="mindeye | braindiffuser | mindeye-synth | auto (default: mindeye on NSD, mindeye-synth on SynthNSD)",
    )
    metrics.add_argument(
        "--weights-source",
        default="auto",
        help="pretrained (published weights, local files) | seeded (no files; not comparable to published) | "
        "auto (default: pretrained on NSD, seeded on SynthNSD)",
    )
    metrics.add_argument(
        "--weights-dir",
        type=Path,
        default=None,
        help="folder searched first for weight files (flat, or laid out like $TORCH_HOME: hub/checkpoints/)",
    )
    run.add_argument(
        "--cache-dir", type=Path, default=None, help="cache folder (default: $HAVIR_BENCH_CACHE or the user cache)"
    )
    run.add_argument("--refit", action="store_true", help="ignore saved checkpoints and fit again")
    run.add_argument("-v", "--verbose", action="store_true")
    return parser


def config_from_args(args: argparse.Namespace):
    from eval.config import RunConfig, parse_decoder_options, parse_subjects
    from eval.data.recipe import VoxelRecipe
    from eval.data.subject import PrepareOptions
    from eval.registry import expand

    recipe = VoxelRecipe.from_json(args.voxel_recipe).to_dict() if args.voxel_recipe else {}
    return RunConfig(
        decoders=tuple(expand(args.decoder)),
        ablation=args.ablation,
        subjects=parse_subjects(args.subject),
        nsd_root=args.nsd_root,
        out_dir=args.out,
        device=args.device,
        seed=args.seed,
        protocol=args.protocol,
        weights_source=args.weights_source,
        weights_dir=args.weights_dir,
        prepare=PrepareOptions(
            sessions=args.sessions, normalisation=args.normalisation, betas_format=args.betas_format, recipe=recipe
        ),
        cache_dir=args.cache_dir,
        synth_preset=args.synth_preset,
        refit=args.refit,
        braindiffuser_dir=args.braindiffuser_dir,
        vd_model=args.vd_model,
        decoder_options=parse_decoder_options(args.decoder_option),
        transfer_from=args.transfer_from,
        finetune_sessions=args.finetune_sessions,
        tag=args.tag,
        recon=args.recon,
        recon_ids=args.recon_ids,
        recon_order=args.recon_order,
        jobs=args.jobs,
    )


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.list_options:
        return run_cli(lambda: list_options(args.decoder))
    quiet_model_loading()
    return run_cli(lambda: evaluate_and_render(config_from_args(args)))


def list_options(names: str) -> None:
    """Print each named decoder's option table (Markdown, as in the README)."""
    from eval.options import options_table
    from eval.registry import expand, resolve

    for name in expand(names):
        spec = resolve(name)
        print(f"{name}:\n{options_table(spec.options, name)}", flush=True)


def evaluate_and_render(config) -> None:
    """Run the evaluation, then render the leaderboard site and the report tables of every results file in the
    output folder (`index.html`, `report/`)."""
    from eval.parallel import run_parallel
    from eval.runner import run
    from leaderboards.collect import collect_results
    from leaderboards.render import write_leaderboard
    from leaderboards.report import write_report_tables

    if config.jobs > 1 and len(config.decoders) > 1:
        run_parallel(config)
    else:
        run(config)
    collection = collect_results(config.results_dir)
    page = write_leaderboard(collection, config.out_dir)
    write_report_tables(collection, config.out_dir / "report")
    print(f"leaderboard: {page}", flush=True)
    print(f"report tables: {config.out_dir / 'report' / 'README.md'}", flush=True)


def quiet_model_loading() -> None:
    """No per-file loading bars from transformers and diffusers: the CLI's stderr is for its own lines."""
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()
    diffusers_logging.disable_progress_bar()


if __name__ == "__main__":
    sys.exit(main())
