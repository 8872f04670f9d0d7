"""Typed records for the JSON cnimatrix writes: one dataclass declaration gives a block's reader
(`from_dict`), its writer (`to_dict`) and its JSON Schema fragment (`schema`), so the three can
never disagree.

A record's fields are all optional and default to None: a key a file lacks (an older summary, a
suite that did not run) reads as None. A value of another shape than declared also reads as None,
and a list or map keeps only the items that fit; files of the current format are validated against
the generated schema before they are read, so this only matters for older or hand-made ones.
Numbers declared `float` read as floats (a JSON 2 as 2.0), and NaN or infinity as None. Null
and absent read alike (None), and `to_dict` leaves None fields out; `nullable` only lets the
schema accept the null some writers put down.

A record is closed (a key it does not name is a schema error) unless it declares a `rest` field,
a map that takes every key the record does not name.
"""
from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from typing import Any, ClassVar, TypeVar

R = TypeVar("R", bound="Record")
_NO_VALUE = object()  # a value that does not fit its declared type


def fact(description: str, *, key: str | None = None, nullable: bool = False, minimum: float | None = None,
         required: bool = False):
    """A field of a record: what it means (the schema's description), its JSON key when that is no
    Python name, whether a writer may put it down as null, a lower bound, and whether the schema
    requires it (readers still get None when an older file lacks it)."""
    return field(default=None, metadata={"description": description, "key": key, "nullable": nullable,
                                         "minimum": minimum, "required": required})


def rest(description: str):
    """A map field holding every key its record does not name (for blocks keyed by name)."""
    return field(default=None, metadata={"description": description, "rest": True})


@dataclass(frozen=True)
class Record:
    """Base of the typed records; see the module docstring for the reading rules."""

    SCHEMA_NAME: ClassVar[str] = ""  # its name under $defs; default: the class name in snake case

    @classmethod
    def from_dict(cls: type[R], doc: Any) -> R:
        """The record of a mapping as the JSON holds it; anything but a mapping reads as an empty record."""
        doc = doc if isinstance(doc, Mapping) else {}
        values: dict[str, Any] = {}
        named = set()
        rest_field = None
        for f, tp in _fields(cls):
            if f.metadata.get("rest"):
                rest_field = (f, tp)
                continue
            key = _key(f)
            named.add(key)
            if key in doc:
                value = _read(tp, doc[key], f.metadata.get("minimum"))
                values[f.name] = None if value is _NO_VALUE else value
        if rest_field is not None:
            f, tp = rest_field
            others = {k: v for k, v in doc.items() if k not in named}
            if others:
                values[f.name] = _read(tp, others)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """The JSON mapping, keys in declaration order, None fields left out."""
        doc: dict[str, Any] = {}
        for f, _ in _fields(type(self)):
            value = getattr(self, f.name)
            if f.metadata.get("rest"):
                doc.update(_write(value or {}))
            elif value is not None:
                doc[_key(f)] = _write(value)
        return doc

    @classmethod
    def schema_name(cls) -> str:
        return cls.__dict__.get("SCHEMA_NAME") or re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()

    @classmethod
    def schema(cls) -> dict[str, Any]:
        """This record's JSON Schema fragment; other records are `#/$defs/<their schema name>`."""
        properties, required, extra = {}, [], False
        for f, tp in _fields(cls):
            if f.metadata.get("rest"):
                extra = _schema(typing.get_args(_strip_none(tp)[0])[1])
                continue
            node = {"description": f.metadata["description"], **_schema(_strip_none(tp)[0])}
            if f.metadata.get("nullable"):
                node = _with_null(node)
            if f.metadata.get("minimum") is not None:
                node["minimum"] = f.metadata["minimum"]
            properties[_key(f)] = node
            if f.metadata.get("required"):
                required.append(_key(f))
        fragment: dict[str, Any] = {"description": " ".join((cls.__doc__ or cls.__name__).split("\n\n")[0].split()),
                                    "type": "object", "additionalProperties": extra, "properties": properties}
        if required:
            fragment["required"] = required
        return fragment


def records_below(*roots: type[Record]) -> list[type[Record]]:
    """Every record the roots refer to, themselves included, each once, in the order first met."""
    found: list[type[Record]] = []

    def visit(tp: Any) -> None:
        if isinstance(tp, type) and issubclass(tp, Record):
            if tp in found:
                return
            found.append(tp)
            for _, inner in _fields(tp):
                visit(inner)
        for arg in typing.get_args(tp):
            visit(arg)

    for root in roots:
        visit(root)
    return found


def schema_defs(*roots: type[Record]) -> dict[str, dict[str, Any]]:
    """{schema name: fragment} of every record below the roots (names must not collide)."""
    defs: dict[str, dict[str, Any]] = {}
    for record in records_below(*roots):
        name = record.schema_name()
        if name in defs:
            raise ValueError(f"two records are both named {name!r} in the schema")
        defs[name] = record.schema()
    return defs


# --------------------------------------------------------------------------- the declarations


@cache
def _fields(cls: type[Record]) -> tuple[tuple[Any, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f, hints[f.name]) for f in fields(cls))


def _key(f) -> str:
    return f.metadata.get("key") or f.name


def _strip_none(tp: Any) -> tuple[Any, bool]:
    """(the type without None, whether None was part of it)."""
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and type(None) in args:
        kept = tuple(a for a in args if a is not type(None))
        return (kept[0] if len(kept) == 1 else typing.Union[kept]), True
    return tp, False


# --------------------------------------------------------------------------- reading and writing


def _read(tp: Any, value: Any, minimum: float | None = None) -> Any:
    """`value` as type `tp`, or _NO_VALUE when it does not fit."""
    tp, none_ok = _strip_none(tp)
    if value is None:
        return None if none_ok else _NO_VALUE
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is list:
        if not isinstance(value, list):
            return _NO_VALUE
        (item,) = typing.get_args(tp)
        return [v for v in (_read(item, x) for x in value) if v is not _NO_VALUE]
    if origin is dict:
        if not isinstance(value, Mapping):
            return _NO_VALUE
        _, item = typing.get_args(tp)
        read = {str(k): _read(item, v) for k, v in value.items()}
        return {k: v for k, v in read.items() if v is not _NO_VALUE}
    if isinstance(tp, type) and issubclass(tp, Record):
        return tp.from_dict(value) if isinstance(value, Mapping) else _NO_VALUE
    if tp is bool:
        return value if isinstance(value, bool) else _NO_VALUE
    if isinstance(value, bool) or not isinstance(value, tp if tp is not float else (int, float)):
        return _NO_VALUE
    if tp is float:
        value = float(value)
        if not math.isfinite(value):
            return _NO_VALUE
    if minimum is not None and value < minimum:
        return _NO_VALUE
    return value


def _write(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_write(v) for v in value]
    if isinstance(value, dict):
        return {k: _write(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- schema

_JSON_TYPES = {float: "number", int: "integer", str: "string", bool: "boolean"}


def _schema(tp: Any) -> dict[str, Any]:
    tp, none_ok = _strip_none(tp)
    if tp is Any:
        node: dict[str, Any] = {}
    elif typing.get_origin(tp) is list:
        node = {"type": "array", "items": _schema(typing.get_args(tp)[0])}
    elif typing.get_origin(tp) is dict:
        node = {"type": "object", "additionalProperties": _schema(typing.get_args(tp)[1])}
    elif isinstance(tp, type) and issubclass(tp, Record):
        node = {"$ref": f"#/$defs/{tp.schema_name()}"}
    elif tp in _JSON_TYPES:
        node = {"type": _JSON_TYPES[tp]}
    else:
        raise TypeError(f"no JSON Schema for {tp!r}")
    return _with_null(node) if none_ok and node else node


def _with_null(node: dict[str, Any]) -> dict[str, Any]:
    if "type" in node and isinstance(node["type"], str):
        return {**node, "type": [node["type"], "null"]}
    if "$ref" in node:
        rest_of = {k: v for k, v in node.items() if k != "$ref"}
        return {**rest_of, "anyOf": [{"$ref": node["$ref"]}, {"type": "null"}]}
    return node  # Any already allows null
