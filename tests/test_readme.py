"""The README's option lists are the decoders' declarations, printed: they cannot drift apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.options import NoOptions, options_table
from eval.registry import DECODERS, resolve

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("name", sorted(DECODERS))
def test_every_decoder_with_options_has_its_table_in_the_readme(name: str) -> None:
    spec = resolve(name)
    if spec.options is NoOptions:
        pytest.skip(f"{name} declares no options")
    assert options_table(spec.options, name) in README.read_text(encoding="utf-8"), (
        f"README: the option table of '{name}' differs from `python -m eval.run --decoder {name} --list-options`"
    )
