"""Fixtures of the HAVIR tests: the tiny random VD model and one trained CI-sized decoder per session."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from eval.data.prepare import build_subject
from eval.data.stimuli import Stimuli
from eval.data.subject import PrepareOptions
from eval.decoders import BuildContext, TestInputs, Variant

# Small enough that fitting on the CI SynthNSD takes a few seconds; dropout off so runs are comparable.
TINY_OPTIONS = {"epochs": 2, "finetune_epochs": 3, "hidden": 32, "dropout": 0.0, "steps": 3}


def tiny_variant(vd_dir: Path, ablation: str | None = None, transfer=None, **options) -> Variant:
    """HAVIR's variant with the tiny options, the tiny backbone, and `options` on top."""
    from havir.config import HavirOptions

    return Variant(ablation, HavirOptions(**{**TINY_OPTIONS, **options}), str(vd_dir), transfer)


@pytest.fixture(scope="session")
def havir_vd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from eval.backbone.train.tiny import write_random_model

    return write_random_model(tmp_path_factory.mktemp("havir-vd") / "tiny-vd")


@pytest.fixture(scope="session")
def subject1(synth_root: Path):
    data = build_subject(synth_root, 1, PrepareOptions())
    return data, Stimuli(synth_root)


def make_decoder(vd_dir: Path, ablation: str | None = None, seed: int = 0, *, device: str = "cpu", **options):
    from havir.decoder import HavirDecoder

    context = BuildContext(device=device, seed=seed, subject=1)
    return HavirDecoder(context, tiny_variant(vd_dir, ablation, **options))


@pytest.fixture(scope="session")
def fitted(havir_vd_dir: Path, subject1, tmp_path_factory: pytest.TempPathFactory):
    """A decoder fitted on CI subject 1, and the folder of its saved checkpoint."""
    data, stimuli = subject1
    decoder = make_decoder(havir_vd_dir)
    decoder.fit(data, stimuli)
    folder = tmp_path_factory.mktemp("havir-checkpoint")
    decoder.save(folder)
    return decoder, folder


def first_test_rows(data, count: int = 6) -> TestInputs:
    return TestInputs(fmri=np.asarray(data.test_fmri[:count]), nsd_ids=np.asarray(data.test_ids[:count]))
