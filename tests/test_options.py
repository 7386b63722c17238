"""Declared decoder options: parsing against the declaration, ranges, did-you-mean, the table, the differences."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from eval.errors import ConfigError
from eval.options import NoOptions, as_dict, declared, differences, option, options_table, parse_options


@dataclass(frozen=True)
class Toy:
    rate: float = option(0.5, low=0, high=1, low_open=True, help="a rate")
    count: int = option(3, low=1, help="a count")
    mode: str = option("fast", choices=("fast", "slow"), help="a mode")
    width: int | None = option(None, low=8, help="None: the decoder's choice")
    flag: bool = option(False, help="a switch")


def test_values_are_typed_and_later_pairs_win() -> None:
    parsed = parse_options(Toy, [("rate", "0.25"), ("count", "4"), ("rate", "1"), ("flag", "yes")], "toy")
    assert parsed == Toy(rate=1.0, count=4, flag=True)
    assert parse_options(Toy, [("width", "none")], "toy").width is None
    assert parse_options(Toy, [("width", "16")], "toy").width == 16


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        ([("rat", "0.5")], "--decoder-option rat: unknown option for decoder 'toy'. Did you mean: rate? Available"),
        ([("zzz", "1")], "Available: rate, count, mode, width, flag"),
        ([("rate", "0")], "--decoder-option rate: expected (0, 1], found 0"),
        ([("rate", "1.01")], "--decoder-option rate: expected (0, 1], found 1.01"),
        ([("count", "0")], "--decoder-option count: expected >= 1, found 0"),
        ([("count", "2.5")], "--decoder-option count=2.5: expected an integer, found '2.5'"),
        ([("mode", "medium")], "--decoder-option mode: expected fast | slow, found 'medium'"),
        ([("width", "4")], "--decoder-option width: expected >= 8, found 4"),
        ([("flag", "maybe")], "--decoder-option flag=maybe: expected true or false"),
    ],
)
def test_bad_options_are_one_line_errors(pairs, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_options(Toy, pairs, "toy")
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_a_decoder_without_options_refuses_every_option() -> None:
    with pytest.raises(ConfigError, match="decoder 'plain' has no options"):
        parse_options(NoOptions, [("x", "1")], "plain")
    assert parse_options(NoOptions, [], "plain") == NoOptions()


def test_table_lists_every_declared_option() -> None:
    table = options_table(Toy, "toy")
    assert "| `rate` | float | 0.5 | (0, 1] | a rate |" in table
    assert "| `width` | int | decoder's choice | >= 8 |" in table
    assert [info.name for info in declared(Toy)] == ["rate", "count", "mode", "width", "flag"]


def test_differences_name_only_what_left_its_default() -> None:
    changed = Toy(count=5, width=32)
    assert differences(changed) == {"count": 5, "width": 32}
    assert differences(Toy()) == {}
    assert as_dict(changed)["rate"] == 0.5 and len(as_dict(changed)) == 5


def test_an_undeclarable_type_is_refused() -> None:
    @dataclass(frozen=True)
    class Bad:
        items: list = option(None, help="no lists")

    with pytest.raises(TypeError, match="option types are int, float, str or bool"):
        declared(Bad)
