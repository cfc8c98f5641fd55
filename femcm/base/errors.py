"""The two error kinds every layer raises, and the one-line range check behind them.

:class:`InputError` is bad input (exit status 2 on the command line), :class:`SolveError` a
solve that did not converge (exit status 3). Messages are one line and name the parameter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["InputError", "SolveError", "check_range", "range_text"]


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


def check_range(
    name: str,
    value: float,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> None:
    """Raise a one-line :class:`InputError` if ``value`` is not finite or outside the bounds."""
    ok = isinstance(value, int | float) and math.isfinite(value)
    ok = ok and (gt is None or value > gt) and (ge is None or value >= ge)
    ok = ok and (lt is None or value < lt) and (le is None or value <= le)
    if not ok:
        rng = range_text({"gt": gt, "ge": ge, "lt": lt, "le": le})
        raise InputError(f"parameter {name} = {value!r} is out of range: must be {rng}")
