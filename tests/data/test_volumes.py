"""ROI volumes and voxel recipes: -1 outside the brain, missing labels, empty groups, mismatched shapes."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from eval.data import layout
from eval.data.prepare import build_subject, voxel_space
from eval.data.recipe import DEFAULT_RECIPE, VoxelRecipe
from eval.data.subject import PrepareOptions
from eval.data.volumes import load_brainmask, load_roi, read_label_table
from eval.errors import ConfigError, DataError


def test_minus_one_outside_the_brain_is_never_selected(synth_root: Path) -> None:
    brain, _ = load_brainmask(synth_root, 1)
    nsdgeneral = load_roi(synth_root, 1, "nsdgeneral", brain.shape)
    assert (nsdgeneral[~brain] == -1).all()  # the layout's convention, so `!= 0` would select the outside
    space = voxel_space(synth_root, 1, DEFAULT_RECIPE)
    x, y, z = space.voxels.xyz.T
    assert brain[x, y, z].all()
    assert (nsdgeneral[x, y, z] > 0).all()


def test_default_groups_cover_nsdgeneral_exactly_once(synth_root: Path) -> None:
    for subject in (1, 2, 5, 7):
        space = voxel_space(synth_root, subject, DEFAULT_RECIPE)
        both = np.concatenate([space.groups["structural"], space.groups["semantic"]])
        assert np.array_equal(np.sort(both), np.arange(space.voxels.n_voxels))


def test_groups_follow_each_subjects_own_rois(synth_root: Path) -> None:
    sizes = {s: voxel_space(synth_root, s, DEFAULT_RECIPE).voxels.n_voxels for s in (1, 2, 5, 7)}
    assert len(set(sizes.values())) > 1  # individual brains, no template


def test_subject_with_a_missing_floc_label_still_builds_its_groups(synth_root: Path) -> None:
    labels_present = {}
    for atlas in ("floc-faces", "floc-words"):
        table = read_label_table(layout.label_table(synth_root, 7, atlas))
        volume = nib.load(str(layout.roi_volume(synth_root, 7, atlas))).get_fdata()
        labels_present[atlas] = set(table) - {0} - set(np.unique(volume).astype(int))
    assert any(labels_present.values()), "subject 7 should lack a floc label"
    missing_atlas = next(a for a, missing in labels_present.items() if missing)
    missing_label = sorted(labels_present[missing_atlas])[0]
    recipe = VoxelRecipe(
        name="with-floc",
        domain={"roi": "nsdgeneral"},
        groups={
            "floc": {
                "and": [
                    {"roi": "nsdgeneral"},
                    {"or": [{"roi": "floc-faces"}, {"roi": missing_atlas, "labels": [missing_label]}]},
                ]
            },
            "rest": {"minus": [{"roi": "nsdgeneral"}, {"group": "floc"}]},
        },
    )
    space = voxel_space(synth_root, 7, recipe)
    assert space.groups["floc"].size > 0 and space.groups["rest"].size > 0


def test_labels_by_name_match_labels_by_number(synth_root: Path) -> None:
    by_name = VoxelRecipe("n", {"roi": "nsdgeneral"}, {"g": {"roi": "streams", "labels": ["early"]}})
    by_number = VoxelRecipe("n", {"roi": "nsdgeneral"}, {"g": {"roi": "streams", "labels": [1]}})
    a = voxel_space(synth_root, 1, by_name).groups["g"]
    b = voxel_space(synth_root, 1, by_number).groups["g"]
    assert a.size > 0 and np.array_equal(a, b)


def test_unknown_label_name_is_a_config_error(synth_root: Path) -> None:
    recipe = VoxelRecipe("typo", {"roi": "nsdgeneral"}, {"g": {"roi": "streams", "labels": ["erly"]}})
    with pytest.raises(ConfigError, match=r"atlas 'streams' has no label named 'erly'"):
        voxel_space(synth_root, 1, recipe)


def test_empty_group_is_refused(synth_root: Path) -> None:
    # Early visual cortex minus itself: a recipe mistake that must not train on zero voxels.
    recipe = VoxelRecipe(
        "empty", {"roi": "nsdgeneral"}, {"g": {"minus": [{"roi": "prf-visualrois"}, {"roi": "prf-visualrois"}]}}
    )
    with pytest.raises(DataError, match=r"voxel group 'g' of recipe 'empty' is empty"):
        build_subject(synth_root, 1, PrepareOptions(recipe=recipe.to_dict()))


def test_roi_volume_of_another_shape_is_refused(synth_copy: Path) -> None:
    path = layout.roi_volume(synth_copy, 1, "prf-visualrois")
    img = nib.load(str(path))
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj)[:, :-2], img.affine), str(path))
    with pytest.raises(DataError, match=r"prf-visualrois\.nii\.gz: expected shape .* found"):
        build_subject(synth_copy, 1, PrepareOptions())


def test_missing_roi_volume_names_the_expected_path(synth_copy: Path) -> None:
    layout.roi_volume(synth_copy, 2, "streams").unlink()
    with pytest.raises(DataError, match=r"missing ROI volume 'streams': expected file .*subj02.*streams\.nii\.gz"):
        build_subject(synth_copy, 2, PrepareOptions())
