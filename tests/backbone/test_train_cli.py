"""MiniVD's training command refuses a starting point that is not a saved model, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.backbone.train.__main__ import main


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("--vae-init", "expected a saved autoencoder folder with config.json"), ("--unet-init", "image_unet/config.json")],
)
def test_bad_starting_model_is_one_clear_line(tmp_path: Path, capsys, flag: str, expected: str) -> None:
    missing = tmp_path / "no-such-model"
    assert main(["--work", str(tmp_path / "work"), flag, str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and flag in err[0] and str(missing) in err[0] and expected in err[0]
    assert not (tmp_path / "work").exists()
