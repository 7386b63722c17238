"""Decoder options as data: each decoder declares a frozen dataclass whose fields are its options.

A field is declared with `option(default, help=..., low=..., high=..., choices=...)`; the harness parses
`--decoder-option KEY=VALUE` against it (did-you-mean on a typo, the range named on a bad value), records the
resolved values in the run identity, prints the table for `--list-options`, and labels a variant by the fields
that differ from their defaults. A decoder never parses text itself.

A field typed `X | None` with default None means "the decoder decides" (e.g. a size preset's value).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eval.errors import ConfigError

_KINDS = {int: "an integer", float: "a number", str: "text", bool: "true or false"}


def option(
    default: Any,
    *,
    help: str,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    choices: Sequence[str] | None = None,
    label: bool = True,
) -> Any:
    """A declared option: its default, one line of help, and the values it accepts (inclusive bounds unless open).

    label: False for an option the run identity records but a variant's label does not show (a file path, which
    `--tag` names better).
    """
    meta = {
        "help": help, "low": low, "high": high, "low_open": low_open, "high_open": high_open, "choices": choices,
        "label": label,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class NoOptions:
    """The options of a decoder that has none."""


@dataclass(frozen=True)
class OptionInfo:
    """One row of a decoder's option table."""

    name: str
    kind: type
    optional: bool  # None is a value: "the decoder decides"
    default: Any
    help: str
    low: float | None
    high: float | None
    low_open: bool
    high_open: bool
    choices: tuple[str, ...] | None

    @property
    def type_name(self) -> str:
        return self.kind.__name__

    def accepts(self) -> str:
        """What values are accepted, in words: '(0, 1]', '>= 1', 'auto | synth | paper'."""
        if self.choices:
            return " | ".join(self.choices)
        if self.low is not None and self.high is not None:
            return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{'<' if self.high_open else '<='} {self.high:g}"
        return "any"

    def check(self, value: Any, shown: str) -> None:
        """Raise ConfigError naming the option, the accepted values and `shown` when `value` is outside them."""
        if value is None and self.optional:
            return
        inside = True
        if self.choices is not None:
            inside = value in self.choices
        if self.low is not None:
            inside &= value > self.low if self.low_open else value >= self.low
        if self.high is not None:
            inside &= value < self.high if self.high_open else value <= self.high
        if not inside:
            raise ConfigError(f"--decoder-option {self.name}: expected {self.accepts()}, found {shown}")


def declared(options_class: type) -> list[OptionInfo]:
    """The option table of `options_class`, in declaration order."""
    hints = typing.get_type_hints(options_class)
    rows = []
    for field in dataclasses.fields(options_class):
        kind, optional = _base_type(hints[field.name], f"{options_class.__name__}.{field.name}")
        meta = field.metadata
        rows.append(
            OptionInfo(
                name=field.name,
                kind=kind,
                optional=optional,
                default=field.default,
                help=meta.get("help", ""),
                low=meta.get("low"),
                high=meta.get("high"),
                low_open=bool(meta.get("low_open")),
                high_open=bool(meta.get("high_open")),
                choices=tuple(meta["choices"]) if meta.get("choices") else None,
            )
        )
    return rows


def _base_type(hint: Any, where: str) -> tuple[type, bool]:
    """(int, True) for `int | None`; only int, float, str and bool are option types."""
    args = typing.get_args(hint)
    optional = isinstance(hint, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    if base not in _KINDS:
        raise TypeError(f"{where}: option types are int, float, str or bool (optionally | None), found {hint}")
    return base, optional


def _convert(info: OptionInfo, text: str) -> Any:
    if info.optional and text.strip().lower() in ("none", "default"):
        return None
    try:
        if info.kind is bool:
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(text)
            return lowered in ("true", "1", "yes")
        return info.kind(text)
    except ValueError:
        raise ConfigError(
            f"--decoder-option {info.name}={text}: expected {_KINDS[info.kind]}, found {text!r}"
        ) from None


def parse_options(options_class: type, pairs: Sequence[tuple[str, str]], decoder: str) -> Any:
    """An instance of `options_class` from `--decoder-option` pairs (later pairs win), every value checked.

    Raises:
        ConfigError: An option the decoder does not declare (with the close names), a value of the wrong type,
            or one outside its range.
    """
    table = {info.name: info for info in declared(options_class)}
    values: dict[str, Any] = {}
    for key, text in pairs:
        if key not in table:
            if not table:
                raise ConfigError(f"--decoder-option {key}: decoder '{decoder}' has no options")
            close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.6)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ConfigError(
                f"--decoder-option {key}: unknown option for decoder '{decoder}'.{hint} Available: {', '.join(table)}"
            )
        value = _convert(table[key], text)
        table[key].check(value, repr(text) if table[key].kind is str else text)
        values[key] = value
    return options_class(**values)


def as_dict(options: Any) -> dict[str, Any]:
    """Every option's value, defaults included (what a run identity records)."""
    return {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}


def option_flags(options: Any, config: Any = None) -> dict[str, Any]:
    """Options as a result's flags: the values given, and once the decoder has resolved its configuration,
    the value it gave each option (an option left to the decoder, None, records what the decoder chose)."""
    values = {name: value for name, value in as_dict(options).items() if value is not None}
    if config is not None:
        values |= {name: getattr(config, name) for name in as_dict(options) if hasattr(config, name)}
    return values


def differences(options: Any) -> dict[str, Any]:
    """The options whose value differs from the declared default (what labels a variant)."""
    return {
        field.name: getattr(options, field.name)
        for field in dataclasses.fields(options)
        if getattr(options, field.name) != field.default
    }


def labelled_differences(options: Any) -> dict[str, Any]:
    """`differences` without the options declared with `label=False`."""
    shown = {field.name for field in dataclasses.fields(options) if field.metadata.get("label", True)}
    return {name: value for name, value in differences(options).items() if name in shown}


def options_table(options_class: type, decoder: str) -> str:
    """The option table as Markdown (the README's lists are this text)."""
    rows = declared(options_class)
    if not rows:
        return f"decoder '{decoder}' has no options\n"
    lines = ["| option | type | default | accepts | what it does |", "|---|---|---|---|---|"]
    for info in rows:
        default = "decoder's choice" if info.default is None else str(info.default)
        lines.append(f"| `{info.name}` | {info.type_name} | {default} | {info.accepts()} | {info.help} |")
    return "\n".join(lines) + "\n"
