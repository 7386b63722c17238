"""Plain data for one run identity's decoder page: provenance, metrics, per-image score distributions, the best
and worst reconstructions per metric beside the ground truth, brain maps and other artifacts."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eval.errors import HarnessError
from eval.metrics.spec import METRICS
from eval.results import RunResult
from leaderboards.collect import LoadedResult
from leaderboards.format import MISSING, direction_hint, format_ci, format_value, warning_text
from leaderboards.gallery import GroundTruth, Reconstructions, extremes
from leaderboards.labels import row_label
from leaderboards.plots import histogram
from leaderboards.table import Column, build_table

log = logging.getLogger(__name__)

EXTREMES = 2  # best and worst images shown per metric (each costs two thumbnails per decoder page)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".svg")


def href(path: Path, page_dir: Path) -> str:
    """`path` relative to the folder of the page that links it, URL-quoted."""
    return quote(Path(os.path.relpath(Path(path).resolve(), Path(page_dir).resolve())).as_posix())


def thumbnail_links(paths: Mapping[int, Path], page_dir: Path) -> dict[int, str]:
    """`href` of each thumbnail, resolving each folder once: thumbnails are files this package writes, never
    links, so a thumbnail's link is its folder's link and its name."""
    folders: dict[Path, str] = {}
    links = {}
    for nsd_id, path in paths.items():
        if path.parent not in folders:
            folders[path.parent] = href(path.parent, page_dir)
        folder = folders[path.parent]
        links[nsd_id] = quote(path.name) if folder == "." else f"{folder}/{quote(path.name)}"
    return links


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, (Mapping, list, tuple)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    """Nested provenance as ('a.b', 'text') pairs, so every field shows on its own line."""
    if isinstance(value, Mapping) and value:
        return [pair for k in sorted(value) for pair in _flat(f"{prefix}.{k}" if prefix else str(k), value[k])]
    return [(prefix, _text(value))]


def columns_of(result: RunResult) -> list[Column]:
    """The result's metrics as table columns, in the metric table's order, others after."""
    known = [n for n in METRICS if n in result.metrics] + sorted(set(result.metrics) - set(METRICS))
    return [
        Column(n, result.metrics[n].display, result.metrics[n].direction, METRICS[n].kind if n in METRICS else "other")
        for n in known
    ]


def provenance(result: RunResult) -> list[dict[str, Any]]:
    """Sections of (field, text) rows: what the run was, on which data, measured how, made by what."""
    identity = result.identity
    sections = {
        "run identity": [
            ("decoder", identity.decoder), ("ablation", _text(identity.ablation)), ("tag", _text(result.tag)),
            *_flat("options", dict(identity.options)), ("backbone", _text(identity.backbone)),
            ("transfer", _text(identity.transfer)), *_flat("data", dict(identity.data)),
            ("subject", str(identity.subject)), ("seed", str(identity.seed)),
            ("identity sha256", identity.key()),
        ],
        "data": [
            ("dataset", result.dataset.label), ("root", result.dataset.root),
            ("data fingerprint", result.dataset.fingerprint),
            ("test-set fingerprint", result.dataset.test_set_fingerprint),
            ("test images", str(result.dataset.n_test)), ("sessions", _text(result.dataset.sessions)),
            ("normalisation", _text(result.dataset.normalisation)),
            *_flat("voxel recipe", dict(result.dataset.voxel_recipe)),
        ],
        "protocol and weights": [
            ("protocol", f"{result.protocol.name} v{result.protocol.version}"),
            ("weights source", result.weights.source),
            ("comparable to published numbers", "yes" if result.weights.comparable_to_published else "no"),
            ("note", result.weights.note or MISSING), *_flat("extractors", dict(result.weights.extractors)),
        ],
        "harness": [
            ("version", result.harness.version), ("git commit", _text(result.harness.git_commit)),
            ("created (UTC)", result.created_utc), *_flat("packages", dict(result.harness.packages)),
            *((f"time: {k}", f"{v:.1f} s") for k, v in result.timing_s.items()),
        ],
        "decoder": [("description", result.decoder.description), ("kind", result.decoder.kind),
                    *_flat("flags", dict(result.decoder.flags))],
    }
    return [{"title": title, "rows": [{"key": k, "value": v} for k, v in rows]} for title, rows in sections.items()]


def _distributions(result: RunResult, columns: list[Column]) -> list[dict[str, Any]]:
    if result.per_image is None:
        return []
    out = []
    for col in columns:
        scores = result.per_image.scores.get(col.name)
        if not scores:
            continue
        hist = histogram(scores)
        out.append(
            {
                "title": f"{col.display} {col.arrow}",
                "hint": direction_hint(col),
                "width": hist.width,
                "height": hist.height,
                "bars": [vars(b) for b in hist.bars],
                "mean_x": hist.mean_x,
                "low": format_value(hist.low, col),
                "high": format_value(hist.high, col),
                "mean": format_value(result.metrics[col.name].value, col),
            }
        )
    return out


def _figure(nsd_id: int, score: float, col: Column, gt: dict[int, str], recon: dict[int, str],
            captions: dict[int, list[str]]) -> dict[str, Any]:
    caps = captions.get(nsd_id, [])
    return {
        "nsd_id": nsd_id,
        "score": format_value(score, col),
        "gt": gt.get(nsd_id),
        "recon": recon.get(nsd_id),
        "caption": caps[0] if caps else "",
        "captions": " | ".join(caps),
    }


def _extremes(item: LoadedResult, columns: list[Column], gt: GroundTruth, thumbs: Path, page_dir: Path
              ) -> tuple[list[dict[str, Any]], list[str]]:
    """Per metric, the best and worst images; plus one line per thing that could not be shown."""
    result, notes = item.result, []
    if result.per_image is None:
        return [], ["no per-image scores in this results file"]
    picks = {}
    for col in columns:
        scores = result.per_image.scores.get(col.name)
        if scores:
            picks[col.name] = extremes(scores, col.direction, EXTREMES)
    ids = result.per_image.nsd_ids
    wanted = sorted({ids[i] for best, worst in picks.values() for i in best + worst})
    recon: dict[int, Path] = {}
    artifact = result.artifacts.get("reconstructions")
    if artifact is None:
        notes.append("reconstructions not shown: the results file lists no reconstructions artifact")
    else:
        try:
            recon = Reconstructions.read(item.path.parent / artifact).thumbnails(wanted, thumbs)
        except HarnessError as exc:
            notes.append(f"reconstructions not shown: {exc}")
    gt_paths: dict[int, Path] = {}
    try:
        gt_paths = gt.thumbnails(wanted, thumbs / "gt" / result.dataset.test_set_fingerprint[:16])
    except HarnessError as exc:
        notes.append(f"ground truth not shown: {exc}")
    if gt.reason:
        notes.append(f"ground truth not shown: {gt.reason}")
    captions = gt.captions(wanted)
    recon_links, gt_links = thumbnail_links(recon, page_dir), thumbnail_links(gt_paths, page_dir)
    sections = []
    for col in columns:
        if col.name not in picks:
            continue
        scores = result.per_image.scores[col.name]
        best, worst = picks[col.name]
        sections.append(
            {
                "title": f"{col.display} {col.arrow}",
                "best": [_figure(ids[i], scores[i], col, gt_links, recon_links, captions) for i in best],
                "worst": [_figure(ids[i], scores[i], col, gt_links, recon_links, captions) for i in worst],
            }
        )
    return sections, notes


def decoder_view(item: LoadedResult, page_path: Path, index_path: Path, thumbs: Path, gt: GroundTruth
                 ) -> dict[str, Any]:
    """Everything the decoder page of one results file shows, as formatted strings and relative links."""
    result, page_dir = item.result, page_path.parent
    columns = columns_of(result)
    artifacts = {name: (item.path.parent / rel).resolve() for name, rel in result.artifacts.items()}
    present = {name: path for name, path in artifacts.items() if path.exists()}
    for name in sorted(set(artifacts) - set(present)):
        log.warning("artifact %s of %s is missing; not linked", artifacts[name], item.path)
    images = {n: p for n, p in present.items() if p.suffix.lower() in IMAGE_SUFFIXES}
    extreme_sections, notes = _extremes(item, columns, gt, thumbs, page_dir)
    return {
        "title": f"{row_label(result)} \u00b7 subj{result.subject:02d}",
        "label": row_label(result),
        "kind": result.decoder.kind,
        "description": result.decoder.description,
        "index": href(index_path, page_dir),
        "results_file": href(item.path, page_dir),
        "results_name": item.path.name,
        "summary": f"{result.dataset.label} \u00b7 protocol {result.protocol.name} v{result.protocol.version} "
        f"\u00b7 weights {result.weights.source} \u00b7 subj{result.subject:02d}",
        "warning": warning_text(build_table([item])),  # whether this run compares to published numbers
        "metrics": [
            {
                "display": c.display, "arrow": c.arrow, "hint": direction_hint(c),
                "value": format_value(result.metrics[c.name].value, c),
                "ci": format_ci(result.metrics[c.name].ci95, c),
                "n": _text(result.metrics[c.name].n),
            }
            for c in columns
        ],
        "distributions": _distributions(result, columns),
        "extremes": extreme_sections,
        "notes": notes,
        "brain_maps": [{"name": n, "href": href(p, page_dir)} for n, p in images.items() if n.startswith("brainmap")],
        "samples": [{"name": n, "href": href(p, page_dir)} for n, p in images.items() if not n.startswith("brainmap")],
        "files": [{"name": n, "href": href(p, page_dir)} for n, p in present.items() if n not in images],
        "provenance": provenance(result),
    }
