"""Dataclasses from parsed JSON by their type hints, and values made JSON-plain the other way.

The dataclasses are the schema: a field's annotation says which JSON value it takes, so no second table of
names and types has to be kept in step with them. Supported annotations: `str`, `int` (a bool is refused),
`float` (an int is accepted; NaN and infinity are refused), `bool`, `Any` (any JSON value), unions such as
`X | None`, `Mapping[str, X]`, `tuple[X, ...]`, `tuple[X, Y]` and nested dataclasses. A field may be absent when
it has a default or is typed `X | None` or `Any`; a key that names no field is refused.
"""

from __future__ import annotations

import dataclasses
import math
import os
import types
import typing
from collections.abc import Mapping
from functools import cache
from typing import Any, TypeVar

import numpy as np

T = TypeVar("T")
_FORMS = {
    "problem": "field '{path}': {problem}",
    "missing": "missing field '{path}'",
    "non-finite": "field '{path}' is NaN or infinite",
}


class FieldError(ValueError):
    """One field does not fit its dataclass; the message names it by its dotted path from the outermost object."""

    def __init__(self, path: str, problem: str = "", form: str = "problem") -> None:
        super().__init__(_FORMS[form].format(path=path, problem=problem))
        self.path, self.problem, self.form = path, problem, form

    @classmethod
    def missing(cls, path: str) -> FieldError:
        return cls(path, form="missing")

    @classmethod
    def non_finite(cls, path: str) -> FieldError:
        return cls(path, form="non-finite")

    def under(self, parent: str) -> FieldError:
        """The same error, its path prefixed with the field that holds the object it was found in."""
        return FieldError(_join(parent, self.path), self.problem, self.form) if parent else self


def plain(value: Any) -> Any:
    """JSON-shaped copy (mappings to dicts with str keys, tuples and arrays to lists, numpy scalars and paths to
    Python), so a value read back from JSON compares equal to the one written."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def find_non_finite(value: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite float in a JSON-shaped value, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "value"
    if isinstance(value, dict):
        items = [(_join(path, str(k)), v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
    else:
        items = []
    for where, item in items:
        found = find_non_finite(item, where)
        if found:
            return found
    return None


def from_json(cls: type[T], data: Any, path: str = "") -> T:
    """Build dataclass `cls` from a parsed JSON object, checking every field against its type hint.

    Args:
        cls: A dataclass whose annotations use the supported forms (see the module docstring).
        data: The parsed JSON object.
        path: Where `data` sits in the outer object, for error messages ("" at the top).

    Raises:
        FieldError: The first field that is missing, unknown, of the wrong type or not finite, or refused by the
            dataclass's own checks; named by its dotted path.
    """
    if not isinstance(data, Mapping):
        raise FieldError(path, f"expected dict, found {_found(data)}")
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    names = {f.name for f in fields}
    unknown = sorted(str(k) for k in data if k not in names)
    if unknown:
        raise FieldError(_join(path, unknown[0]), f"not in the schema (expected one of: {', '.join(sorted(names))})")
    hints = _hints(cls)
    kwargs = {}
    for f in fields:
        where = _join(path, f.name)
        if f.name in data:
            kwargs[f.name] = _value(hints[f.name], data[f.name], where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            if not _nullable(hints[f.name]):
                raise FieldError.missing(where)
            kwargs[f.name] = None
    try:
        return cls(**kwargs)
    except FieldError as exc:
        raise exc.under(path) from None


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _join(parent: str, name: str) -> str:
    return f"{parent}.{name}" if parent else name


def _nullable(hint: Any) -> bool:
    return hint is Any or (_is_union(hint) and type(None) in typing.get_args(hint))


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (types.UnionType, typing.Union)


def _value(hint: Any, value: Any, where: str) -> Any:
    if value is None:
        if _nullable(hint):
            return None
        raise FieldError(where, f"expected {_name(hint)}, found null")
    if hint is Any:
        bad = find_non_finite(value, where)
        if bad:
            raise FieldError.non_finite(bad)
        return value
    if dataclasses.is_dataclass(hint):
        return from_json(hint, value, where)
    if _is_union(hint):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(options) == 1:
            return _value(options[0], value, where)
        for option in options:  # in declared order: the first that fits wins (bool before int, int before float)
            try:
                return _value(option, value, where)
            except FieldError:
                continue
        raise FieldError(where, f"expected {_name(hint)}, found {_found(value)}")
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (Mapping, dict):
        if not isinstance(value, Mapping):
            raise FieldError(where, f"expected dict, found {_found(value)}")
        return {str(k): _value(args[1], v, _join(where, str(k))) for k, v in value.items()}
    if origin is tuple:
        return _tuple(args, value, where)
    if hint in (str, int, float, bool):
        return _scalar(hint, value, where)
    raise TypeError(f"field '{where}': annotation {hint!r} is not supported by from_json")


def _tuple(args: tuple[Any, ...], value: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list):
        raise FieldError(where, f"expected list, found {_found(value)}")
    if len(args) == 2 and args[1] is Ellipsis:
        if args[0] is float and _plain_floats(value):  # per-image scores: tens of thousands, all fine
            return tuple(map(float, value))
        args = (args[0],) * len(value)
    elif len(value) != len(args):
        raise FieldError(where, f"expected a list of {len(args)} values, found {len(value)}")
    return tuple(_value(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))


def _plain_floats(values: list[Any]) -> bool:
    """Whether every value is a finite float or int (not bool): what `_scalar(float, ...)` accepts."""
    return all(type(v) is float or type(v) is int for v in values) and all(map(math.isfinite, values))


def _scalar(hint: type, value: Any, where: str) -> Any:
    accepted = (int, float) if hint is float else (hint,)
    if not isinstance(value, accepted) or (isinstance(value, bool) and hint is not bool):
        raise FieldError(where, f"expected {hint.__name__}, found {_found(value)}")
    if hint is float:
        if not math.isfinite(value):
            raise FieldError.non_finite(where)
        return float(value)
    return value


def _found(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _name(hint: Any) -> str:
    if _is_union(hint):
        return " or ".join(_name(a) for a in typing.get_args(hint) if a is not type(None))
    origin = typing.get_origin(hint)
    if origin in (Mapping, dict) or dataclasses.is_dataclass(hint):
        return "dict"
    if origin is tuple:
        return "list"
    return getattr(hint, "__name__", str(hint))
