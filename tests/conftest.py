"""Shared fixtures: a CI-sized SynthNSD generated once per test session, and a private cache folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from eval.data.subject import PrepareOptions


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every test writes its caches under a temporary folder, never the user's cache."""
    folder = tmp_path_factory.mktemp("cache")
    patcher = pytest.MonkeyPatch()
    patcher.setenv("HAVIR_BENCH_CACHE", str(folder))
    yield folder
    patcher.undo()


@pytest.fixture(scope="session")
def synth_root(private_cache: Path) -> Path:
    """The CI-sized embedded SynthNSD (in the private cache), read-only by convention: copy before changing."""
    from eval.data.source import embedded_synthnsd

    return embedded_synthnsd(preset="ci").root


@pytest.fixture()
def synth_copy(synth_root: Path, tmp_path: Path) -> Path:
    """A private copy of the CI SynthNSD root that a test may damage."""
    return Path(shutil.copytree(synth_root, tmp_path / "nsd"))


@pytest.fixture(scope="session")
def options() -> PrepareOptions:
    return PrepareOptions()


@pytest.fixture(scope="session")
def ci_run(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of the CI-sized end-to-end run (all reference decoders, subjects 1 and 7)."""
    from tests.regression.ci_run import REFERENCE_RUNS, run_ci

    out = tmp_path_factory.mktemp("ci-run")
    run_ci(out, REFERENCE_RUNS)
    return out


@pytest.fixture(scope="session")
def ci_comparison(synth_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Output folder of the CI-sized runs of the trained decoders (HAVIR and its ablations, Brain-Diffuser, Takagi,
    MindEye; subject 1, MiniVD): trained once, read by the regression guard and by each decoder's learning test."""
    from tests.regression.ci_run import TRAINED_RUNS, minivd_installed, run_ci

    if not minivd_installed():
        pytest.skip("MiniVD weights not installed: the trained decoders' CI comparison needs them")
    out = tmp_path_factory.mktemp("ci-comparison")
    run_ci(out, TRAINED_RUNS)
    return out


@pytest.fixture(scope="session")
def tiny_vd_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random VD-layout model (32 px images, 4 x 16 x 16 latents) written by the MiniVD code."""
    from eval.backbone.train.tiny import write_random_model

    return write_random_model(tmp_path_factory.mktemp("vd") / "tiny-vd")
