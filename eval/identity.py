"""A run's identity (every choice that changes a number) and its variant label (what differs from the defaults).

Two runs that differ in any such choice never share a results file; the label tells a reader which variant a
leaderboard row is (`havir · strength=0.5`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eval.data.subject import PrepareOptions, SubjectData
from eval.decoders import DecoderSpec, Variant
from eval.options import as_dict, labelled_differences
from eval.results import RunIdentity

DEFAULT_BACKBONE = "minivd"


def data_choices(dataset: str, prepare: PrepareOptions, fmri_source: Path | None) -> dict[str, Any]:
    """The data options of a run as its identity records them."""
    return {"dataset": dataset, "prepare": prepare.to_dict(), "fmri_source": str(fmri_source) if fmri_source else None}


def run_identity(
    spec: DecoderSpec,
    variant: Variant,
    data: SubjectData,
    *,
    dataset: str,
    prepare: PrepareOptions,
    fmri_source: Path | None,
    protocol: tuple[str, str],
    weights_source: str,
    seed: int,
    content: str | None = None,
) -> RunIdentity:
    """The identity of one (decoder variant, subject) under one protocol and weight source.

    Args:
        content: The decoder's `content_fingerprint()`, if it has one (recorded as options["content_sha256"]).
    """
    options = variant.options if variant.options is not None else spec.options()
    recorded = as_dict(options) | ({"content_sha256": content} if content is not None else {})
    return RunIdentity(
        decoder=spec.name,
        ablation=variant.ablation,
        options=recorded,
        backbone=(variant.backbone or DEFAULT_BACKBONE) if spec.uses_backbone else None,
        transfer=variant.transfer.to_dict() if variant.transfer else None,
        data=data_choices(dataset, prepare, fmri_source),
        subject=data.subject,
        protocol=protocol[0],
        protocol_version=protocol[1],
        weights_source=weights_source,
        seed=seed,
        data_fingerprint=data.fingerprint,
    )


def variant_label(
    spec: DecoderSpec, variant: Variant, prepare: PrepareOptions, fmri_source: Path | None, seed: int
) -> dict[str, Any]:
    """What differs from the decoder's defaults and the harness's defaults (empty for the default run)."""
    options = variant.options if variant.options is not None else spec.options()
    label = labelled_differences(options)
    if spec.uses_backbone and variant.backbone not in (None, DEFAULT_BACKBONE):
        label["backbone"] = variant.backbone
    if variant.transfer is not None:
        label |= {"transfer_from": variant.transfer.source, "finetune_sessions": variant.transfer.sessions}
    defaults = PrepareOptions().to_dict()
    label |= {k: v for k, v in prepare.to_dict().items() if v != defaults[k] and k != "recipe"}
    if prepare.recipe:
        label["voxel_recipe"] = "custom"
    if fmri_source is not None:
        label["fmri"] = "brain-diffuser files"
    if seed != 0:
        label["seed"] = seed
    return label
