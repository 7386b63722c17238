"""How a result is named in a table: its row label, and the key that joins one variant's per-subject results."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from eval.results import RunResult


def row_label(result: RunResult) -> str:
    """The tag, else the decoder; then ' / ablation' if any; then ' · k=v, ...' of the variant's options.

    'havir', 'havir / no_cap', 'havir · strength=0.5', 'my-run · strength=0.5'.
    """
    label = result.tag or result.decoder.name
    if result.decoder.ablation:
        label += f" / {result.decoder.ablation}"
    if result.variant:
        label += " \u00b7 " + ", ".join(f"{k}={_text(v)}" for k, v in sorted(result.variant.items()))
    return label


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (Mapping, list)) else str(value)


def variant_key(result: RunResult) -> str:
    """sha256 of the run identity without subject and data fingerprint, plus the tag: one variant's per-subject
    results share it, so the mean over subjects averages exactly those."""
    text = result.identity.canonical(leave_out=("subject", "data_fingerprint")) + "\n" + json.dumps(result.tag)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
