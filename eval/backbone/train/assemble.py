"""Stage assemble: the trained parts as one VD folder (model_index.json, safetensors), with a sha256 manifest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from eval.atomic import atomic_folder
from eval.backbone.locate import MANIFEST, write_manifest

# What diffusers' VersatileDiffusionDualGuidedPipeline reads from model_index.json: component -> (library, class).
MODEL_INDEX = {
    "_class_name": "VersatileDiffusionDualGuidedPipeline",
    "_diffusers_version": "0.42.1",
    "tokenizer": ["transformers", "CLIPTokenizer"],
    "image_feature_extractor": ["transformers", "CLIPImageProcessor"],
    "text_encoder": ["transformers", "CLIPTextModelWithProjection"],
    "image_encoder": ["transformers", "CLIPVisionModelWithProjection"],
    "image_unet": ["diffusers", "UNet2DConditionModel"],
    "text_unet": ["versatile_diffusion", "UNetFlatConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
    "scheduler": ["diffusers", "DDIMScheduler"],
}
PARTS = tuple(name for name in MODEL_INDEX if not name.startswith("_"))


def assemble(model: Path, out: Path, seconds: float) -> Path:
    """Copy the stage outputs into `out` (replacing it atomically) with model_index.json and the manifest."""
    curves = model.parent / "curves"  # WORK/curves beside WORK/model
    with atomic_folder(out) as tmp:
        for part in PARTS:
            shutil.copytree(model / part, tmp / part)
        (tmp / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2) + "\n")
        training = {"seconds": round(seconds, 1), "curves": {}}
        for curve in sorted(curves.glob("*.jsonl")):
            rows = [json.loads(line) for line in curve.read_text().splitlines() if line]
            training["curves"][curve.stem] = rows
        (tmp / "training.json").write_text(json.dumps(training, indent=1) + "\n")
        write_manifest(tmp)
        if out.exists():  # the new model is complete: only now does the old one go
            shutil.rmtree(out)
    return out / MANIFEST
