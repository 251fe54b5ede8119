"""JSON codec for the model's dataclasses, driven by their type hints.

``to_json_dict`` and ``from_json_dict`` are exact inverses for every model type: datetimes travel
as ISO 8601 strings with their offset, enums as their values, tuples as lists.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def to_json_dict(obj: Any) -> Any:
    """Turn a model object (or a value inside one) into JSON-ready data."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_json_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, datetime):
        return obj.isoformat()
    if isinstance(obj, tuple | list):
        return [to_json_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_json_dict(v) for k, v in obj.items()}
    return obj


@cache
def _fields(cls: type) -> tuple[frozenset[str], dict[str, Callable[[Any], Any]]]:
    """A dataclass's field names and a decoder per field (built once per class)."""
    hints = typing.get_type_hints(cls)
    names = frozenset(f.name for f in dataclasses.fields(cls))
    return names, {name: _decoder(hints[name]) for name in names}


def from_json_dict(cls: type[T], data: Any) -> T:
    """Build a ``cls`` from data made by :func:`to_json_dict`; unknown keys are an error."""
    if not isinstance(data, dict):
        raise ValueError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    names, decoders = _fields(cls)  # type: ignore[arg-type]
    if not names.issuperset(data):
        raise ValueError(f"{cls.__name__}: unknown fields {sorted(set(data) - names)}")
    return cls(**{name: decoders[name](value) for name, value in data.items()})


def _same(value: Any) -> Any:
    return value


@cache
def _decoder(hint: Any) -> Callable[[Any], Any]:
    """How to decode a value of type ``hint`` (chosen once per hint, not per value): optional
    values may be None, tuples decode each item as their first argument, dataclasses by their
    fields, enums by value, datetimes from ISO 8601; anything else is taken as it is."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            inner = _decoder(options[0])
            return lambda value: None if value is None else inner(value)
        return _union_decoder(tuple(options))
    if origin is tuple:
        item = _decoder(args[0])
        return lambda value: tuple(item(v) for v in value)
    if origin in (dict, collections.abc.Mapping):
        if len(args) == 2 and args[1] is not Any:
            values = _decoder(args[1])
            return lambda value: {k: values(v) for k, v in value.items()}
        return dict
    if isinstance(hint, type) and hint is not Any:
        if dataclasses.is_dataclass(hint):
            return functools.partial(from_json_dict, hint)
        if issubclass(hint, Enum):
            return hint
        if hint is datetime:
            return datetime.fromisoformat
    return _same


def _union_decoder(options: tuple[Any, ...]) -> Callable[[Any], Any]:
    """A union of several types (``str | ExternalToken``): an object decodes as the one dataclass
    among them, anything else as it is."""
    classes = [o for o in options if isinstance(o, type) and dataclasses.is_dataclass(o)]
    if len(classes) != 1:
        return _same
    as_class = functools.partial(from_json_dict, classes[0])
    return lambda value: as_class(value) if isinstance(value, dict) else value
