"""Voxel groups as data: a recipe of (atlas, labels) sets combined by and / or / minus.

A recipe is recorded with every result, so a reader of a leaderboard knows exactly which voxels each module saw.
Expressions (JSON-friendly dicts):
  {"roi": "prf-visualrois"}                      all voxels with a label > 0 in that atlas
  {"roi": "streams", "labels": ["early", 2]}     voxels with one of these labels (names via the label table)
  {"and": [e1, e2, ...]}, {"or": [...]}, {"minus": [base, removed1, ...]}
  {"group": "structural"}                        a group defined earlier in the same recipe
Every group is intersected with the domain (the voxels the prepared data keeps as columns).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from eval.errors import ConfigError, DataError

Expr = Mapping[str, Any]

_STRUCTURAL = {
    "and": [
        {"roi": "nsdgeneral"},
        {"or": [{"roi": "prf-visualrois"}, {"roi": "streams", "labels": ["early"]}]},
    ]
}


@dataclass(frozen=True)
class VoxelRecipe:
    """Named voxel groups over a domain; `groups` keeps its definition order."""

    name: str
    domain: Expr
    groups: Mapping[str, Expr] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "groups", MappingProxyType(dict(self.groups)))
        if not self.groups:
            raise ConfigError(f"voxel recipe '{self.name}': expected at least one group, found none")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "domain": self.domain, "groups": dict(self.groups)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "voxel recipe") -> VoxelRecipe:
        missing = [key for key in ("domain", "groups") if key not in data]
        if missing:
            raise ConfigError(f"{source}: expected keys 'domain' and 'groups', missing {missing}")
        return cls(name=str(data.get("name", "custom")), domain=data["domain"], groups=data["groups"])

    @classmethod
    def from_json(cls, path: Path) -> VoxelRecipe:
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"--voxel-recipe: file not found: {path}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"--voxel-recipe {path}: expected JSON, found a syntax error: {exc}") from None
        return cls.from_dict(data, source=f"--voxel-recipe {path}")


# HAVIR's split (the paper's ROI table is not available): early visual cortex is structural, the rest of
# nsdgeneral semantic, so the two groups cover nsdgeneral exactly once; "nsdgeneral" itself is the group a
# no-split control (or any single-group decoder) reads.
DEFAULT_RECIPE = VoxelRecipe(
    name="havir-default-v1",
    domain={"roi": "nsdgeneral"},
    groups={
        "structural": _STRUCTURAL,
        "semantic": {"minus": [{"roi": "nsdgeneral"}, {"group": "structural"}]},
        "nsdgeneral": {"roi": "nsdgeneral"},
    },
)


def atlases_used(expr: Expr) -> set[str]:
    """Every atlas an expression reads."""
    if "roi" in expr:
        return {str(expr["roi"])}
    found: set[str] = set()
    for key in ("and", "or", "minus"):
        for sub in expr.get(key, ()):
            found |= atlases_used(sub)
    return found


@dataclass(frozen=True)
class Atlas:
    """One ROI label volume with its label table."""

    labels: np.ndarray
    table: Mapping[int, str]


def evaluate(
    recipe: VoxelRecipe, load_atlas: Callable[[str], Atlas], context: str
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Boolean volumes of the domain and of each group (already intersected with the domain).

    Raises:
        DataError: a group comes out empty, naming the subject (`context`) and the recipe.
    """
    cache: dict[str, Atlas] = {}

    def atlas(name: str) -> Atlas:
        if name not in cache:
            cache[name] = load_atlas(name)
        return cache[name]

    groups: dict[str, np.ndarray] = {}

    def mask_of(expr: Expr) -> np.ndarray:
        if "roi" in expr:
            return _roi_mask(atlas(str(expr["roi"])), expr, recipe.name)
        if "group" in expr:
            name = str(expr["group"])
            if name not in groups:
                raise ConfigError(f"voxel recipe '{recipe.name}': group '{name}' is used before it is defined")
            return groups[name]
        for op, combine in (("and", np.logical_and), ("or", np.logical_or)):
            if op in expr:
                masks = [mask_of(sub) for sub in expr[op]]
                out = masks[0].copy()
                for m in masks[1:]:
                    combine(out, m, out=out)
                return out
        if "minus" in expr:
            base, *removed = [mask_of(sub) for sub in expr["minus"]]
            out = base.copy()
            for m in removed:
                out &= ~m
            return out
        raise ConfigError(
            f"voxel recipe '{recipe.name}': expected one of roi/and/or/minus/group in an expression, found {dict(expr)}"
        )

    domain = mask_of(recipe.domain)
    if not domain.any():
        raise DataError(f"{context}: the domain of voxel recipe '{recipe.name}' selects no voxel")
    for name, expr in recipe.groups.items():
        groups[name] = mask_of(expr) & domain
        if not groups[name].any():
            raise DataError(
                f"{context}: voxel group '{name}' of recipe '{recipe.name}' is empty "
                f"(definition {json.dumps(expr)}); expected at least one voxel"
            )
    return domain, groups


def _roi_mask(atlas: Atlas, expr: Expr, recipe_name: str) -> np.ndarray:
    # NSD marks outside-brain voxels with -1, so "any label" means > 0, never != 0.
    if "labels" not in expr:
        return atlas.labels > 0
    by_name = {name: number for number, name in atlas.table.items()}
    numbers = []
    for label in expr["labels"]:
        if isinstance(label, str):
            if label not in by_name:
                raise ConfigError(
                    f"voxel recipe '{recipe_name}': atlas '{expr['roi']}' has no label named {label!r}; "
                    f"expected one of {sorted(by_name)}"
                )
            numbers.append(by_name[label])
        else:
            numbers.append(int(label))
    # A label absent from this subject's volume simply selects nothing (not every floc label exists everywhere).
    return np.isin(atlas.labels, numbers)
