"""Problem parameters: frozen SI dataclasses with declared units, ranges and documentation.

Each problem declares ``class Parameters(ParameterSet)`` with fields made by :func:`param`
(a subclass of :class:`ParameterSet` is a frozen dataclass without a decorator).
Validation happens in ``__post_init__``: a value outside its range raises a one-line
``ValueError`` that names the parameter and the allowed range. The same declaration drives
``femcm show``, ``--set KEY=VALUE`` parsing, ``--config`` files and ``result.json``.
"""

from __future__ import annotations

import ast
import dataclasses
import math
import numbers
import typing
from collections.abc import Mapping
from typing import Any, NamedTuple, Self

import numpy as np

from femcm.app.param_fields import param
from femcm.base.errors import BOUNDS, InputError, check_range, range_text
from femcm.physics.materials import Isotropic

__all__ = ["ParameterInfo", "ParameterSet", "param"]


class ParameterInfo(NamedTuple):
    """What ``femcm.parameters(name)`` returns for one parameter."""

    default: Any
    unit: str
    doc: str
    allowed: str


MAX_TEXT = 10_000
"""Longest accepted string parameter or ``--set`` value, characters."""


def _show(value: Any, n: int = 80) -> str:
    """``repr`` of a value, shortened for a one-line message."""
    r = repr(value)
    return r if len(r) <= n else r[: n - 3] + "..."


def _plain(value: Any) -> Any:
    """NumPy scalars and arrays as the Python numbers and lists they hold."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """Convert ``value`` to the declared type (int -> float, list -> tuple), or raise.

    NumPy scalars (``np.float32``, ``np.int64``, ``np.bool_``) count as the Python numbers
    they hold and arrays as lists. Floats must be finite.
    """
    origin = typing.get_origin(hint)
    value = _plain(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"parameter {name} = {_show(value)} must be a number")
        v = float(value)
        if not math.isfinite(v):
            raise InputError(f"parameter {name} = {_show(value)} must be a finite number")
        return v
    if hint is int:
        if isinstance(value, bool) or not (
            isinstance(value, numbers.Integral) or (isinstance(value, float) and value.is_integer())
        ):
            raise InputError(f"parameter {name} = {_show(value)} must be an integer")
        return int(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise InputError(f"parameter {name} = {_show(value)} must be true or false")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise InputError(f"parameter {name} = {_show(value)} must be a string")
        if "\0" in value or len(value) > MAX_TEXT:
            raise InputError(
                f"parameter {name} = {_show(value)} must be text of at most {MAX_TEXT} "
                "characters without NUL"
            )
        return str(value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise InputError(f"parameter {name} = {_show(value)} must be a list")
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(name, args[0], v) for v in value)
        if len(args) != len(value):
            raise InputError(f"parameter {name} = {_show(value)} must have {len(args)} entries")
        return tuple(_coerce(name, a, v) for a, v in zip(args, value, strict=True))
    return value


@typing.dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
@dataclasses.dataclass(frozen=True)
class ParameterSet:
    """Base class of every problem's parameters (frozen, SI units, validated on creation).

    A subclass is made a frozen dataclass when it is defined (no decorator: one would
    process the class twice, which ``dataclasses`` refuses).
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        dataclasses.dataclass(frozen=True)(cls)

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(f.name, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            meta = f.metadata
            if meta.get("choices") and value in meta.get("renamed", {}):
                raise InputError(
                    f"parameter {f.name} = {value!r} was renamed: use "
                    f"{meta['renamed'][value]!r} (allowed: {', '.join(meta['choices'])})"
                )
            if meta.get("choices") and value not in meta["choices"]:
                raise InputError(
                    f"parameter {f.name} = {value!r} is not allowed: must be {range_text(meta)}"
                )
            bounds = {k: meta[k] for k in BOUNDS if meta.get(k) is not None}
            if bounds:
                check_range(f.name, value, **bounds)
        self.validate()

    def validate(self) -> None:
        """Cross-parameter checks; override in problems (raise ``ValueError``)."""

    @classmethod
    def names(cls) -> list[str]:
        """Parameter names in declaration order."""
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def create(cls, overrides: Mapping[str, Any]) -> Self:
        """Build from keyword overrides; an unknown key raises ``ValueError`` naming valid keys."""
        unknown = sorted(set(overrides) - set(cls.names()))
        if unknown:
            raise InputError(
                f"unknown parameter {unknown[0]!r}; valid parameters: {', '.join(cls.names())}"
            )
        return cls(**overrides)

    @classmethod
    def parse_value(cls, key: str, text: str) -> Any:
        """Parse the text of ``--set KEY=VALUE`` according to the declared type of ``key``."""
        if key not in cls.names():
            raise InputError(
                f"unknown parameter {key!r}; valid parameters: {', '.join(cls.names())}"
            )
        hint = typing.get_type_hints(cls)[key]
        if len(text) > MAX_TEXT:
            raise InputError(f"parameter {key}: value longer than {MAX_TEXT} characters")
        if hint is str:
            return text
        if hint is bool:
            low = text.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise InputError(f"parameter {key} = {text!r} must be true or false")
        try:
            return ast.literal_eval(text.strip())
        except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
            raise InputError(f"parameter {key} = {_show(text)} is not a valid value") from None

    @classmethod
    def info(cls) -> dict[str, ParameterInfo]:
        """Name -> (default, unit, doc, allowed range) for every parameter."""
        return {
            f.name: ParameterInfo(
                f.default,
                f.metadata.get("unit", ""),
                f.metadata.get("doc", ""),
                range_text(f.metadata),
            )
            for f in dataclasses.fields(cls)
        }

    def check_time_steps(self) -> None:
        """``dt_min <= dt_initial``, and ``dt_initial <= dt_max`` where ``dt_max`` is set (> 0).

        For :meth:`validate` of problems with the fields ``dt_initial``, ``dt_min`` (and
        ``dt_max``).
        """
        if self.dt_min > self.dt_initial:
            raise InputError(
                f"parameter dt_min = {self.dt_min:g} is out of range: "
                f"must be <= dt_initial = {self.dt_initial:g}"
            )
        dt_max = getattr(self, "dt_max", 0.0)
        if dt_max and dt_max < self.dt_initial:
            raise InputError(
                f"parameter dt_max = {dt_max:g} is out of range: "
                f"must be >= dt_initial = {self.dt_initial:g} (or 0: no limit)"
            )

    def isotropic(self, phase: str = "") -> Isotropic:
        """The material of the parameters ``E_<phase>`` and ``nu_<phase>`` (``E``, ``nu`` without).

        Out-of-range values are reported under the name of the Young's modulus parameter.
        """
        suffix = f"_{phase}" if phase else ""
        return Isotropic(getattr(self, f"E{suffix}"), getattr(self, f"nu{suffix}"), f"E{suffix}")

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict of every parameter (SI units)."""

        def plain(v: Any) -> Any:
            return [plain(x) for x in v] if isinstance(v, tuple) else v

        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
