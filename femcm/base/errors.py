"""The two error kinds every layer raises, and the one-line range check behind them.

:class:`InputError` is bad input (exit status 2 on the command line), :class:`SolveError` a
solve that did not converge (exit status 3). Messages are one line and name the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["BOUNDS", "InputError", "SolveError", "check_bounds", "check_range", "range_text"]


class InputError(ValueError):
    """Bad input: a parameter out of range, an unusable file, an inconsistent set-up."""


class SolveError(RuntimeError):
    """A linear or nonlinear solve (or the time stepping around it) did not converge."""


def range_text(meta: Mapping[str, Any]) -> str:
    """Human-readable allowed range from ``gt``/``ge``/``lt``/``le``/``choices`` entries."""
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    lo = f"> {meta['gt']:g}" if meta.get("gt") is not None else None
    lo = f">= {meta['ge']:g}" if meta.get("ge") is not None else lo
    hi = f"< {meta['lt']:g}" if meta.get("lt") is not None else None
    hi = f"<= {meta['le']:g}" if meta.get("le") is not None else hi
    return " and ".join(s for s in (lo, hi) if s) or "any"


BOUNDS = ("gt", "ge", "lt", "le")
"""Names of the bounds: exclusive/inclusive lower, exclusive/inclusive upper."""


def check_bounds(bounds: Mapping[str, float | None]) -> dict[str, float | None]:
    """Every bound name, None where not given; a ``TypeError`` for an unknown name."""
    unknown = set(bounds) - set(BOUNDS)
    if unknown:
        raise TypeError(f"unknown bound {sorted(unknown)[0]!r}: use {', '.join(BOUNDS)}")
    return {k: bounds.get(k) for k in BOUNDS}


def check_range(name: str, value: float, **bounds: float | None) -> None:
    """Raise a one-line :class:`InputError` if ``value`` is not finite or outside ``bounds``.

    ``bounds``: any of ``gt``, ``ge``, ``lt``, ``le`` (exclusive or inclusive lower/upper).
    """
    b = check_bounds(bounds)
    gt, ge, lt, le = b["gt"], b["ge"], b["lt"], b["le"]
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (gt is None or value > gt) and (ge is None or value >= ge)
    ok = ok and (lt is None or value < lt) and (le is None or value <= le)
    if not ok:
        rng = range_text(b)
        raise InputError(f"parameter {name} = {value!r} is out of range: must be {rng}")
