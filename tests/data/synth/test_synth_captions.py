"""Captions: COCO format, five per image, found by cocoId in the file named by cocoSplit."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from eval.data import layout
from eval.data.synth import SynthConfig
from eval.data.synth.captions import scene_captions
from eval.data.synth.scenes import sample_scene


def test_five_captions_per_image_by_split(ci_root: Path, ci_config: SynthConfig) -> None:
    table = pd.read_csv(layout.stim_info(ci_root), index_col=0)
    docs = {split: json.loads(layout.coco_captions(ci_root, split).read_text()) for split in ("train2017", "val2017")}
    by_split: dict[str, dict[int, list[str]]] = {}
    annotation_ids = []
    for split, doc in docs.items():
        assert set(doc) >= {"info", "images", "annotations"}
        for image in doc["images"]:
            assert image["height"] == image["width"] == ci_config.image_size
        caps: dict[int, list[str]] = {}
        for ann in doc["annotations"]:
            caps.setdefault(ann["image_id"], []).append(ann["caption"])
            annotation_ids.append(ann["id"])
        assert {img["id"] for img in doc["images"]} == set(caps)
        by_split[split] = caps
    assert len(annotation_ids) == len(set(annotation_ids))
    assert len(table) == sum(len(c) for c in by_split.values())
    for coco_id, split in zip(table["cocoId"], table["cocoSplit"]):
        caps = by_split[split][coco_id]
        assert len(caps) == 5 and len(set(caps)) == 5
        other = "val2017" if split == "train2017" else "train2017"
        assert coco_id not in by_split[other]


def test_captions_describe_the_scene() -> None:
    for nsd_id in range(50):
        scene = sample_scene(0, nsd_id)
        text = " ".join(scene_captions(0, scene))
        for obj in scene.objects:
            assert obj.category in text or f"{obj.category}s" in text or obj.category == "person"
        if len(scene.objects) > 1:
            words = ("left", "right", "above", "below", "next to", "beside", "front", "behind")
            assert any(word in text for word in words)
