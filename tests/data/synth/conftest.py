"""The ci-preset SynthNSD shared read-only by the synth tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.data.synth import SynthConfig, truth_dir


@pytest.fixture(scope="session")
def ci_config() -> SynthConfig:
    return SynthConfig.preset("ci")


@pytest.fixture(scope="session")
def ci_root(synth_root: Path, ci_config: SynthConfig) -> Path:
    """The project-wide CI SynthNSD (tests/conftest.py), generated once for the whole test session."""
    assert json.loads((truth_dir(synth_root) / "config.json").read_text())["key"] == ci_config.key()
    return synth_root
