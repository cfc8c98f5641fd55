"""Full-degree field output: ADIOS2 VTX files ``OUT/NAME.bp`` (ParaView's ADIOS2 VTX reader).

``fields.xdmf`` holds P1 (vertex) and DG0 (cell) data: a P2 displacement or potential, or a
DG1 stress, is written there as a lowered copy. :func:`write_vtx` writes the same fields at
their own polynomial degree with :class:`dolfinx.io.VTXWriter` (BP4 engine): one folder per
field, named by its key in ``Solution.fields`` (``OUT/u.bp`` holds ``u``, ``OUT/sigma.bp``
holds ``sigma``), each with the function-space nodes as points and Lagrange cells (6 nodes
per P2 triangle), so ParaView renders the quadratic field without interpolating it onto the
vertices.

The ``.bp`` folders are written into the output's staging folder like every other file and
moved into ``OUT`` on commit. DOLFINx must be built with ADIOS2 (the ``dolfinx-solver-real``
wheel and the DOLFINx Docker image are); without it nothing is written and one warning is
logged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import dolfinx
from dolfinx import fem, io

from femcm.app.output import Output
from femcm.base.log import logger

__all__ = ["VTXSeries", "needs_vtx", "vtx_fields", "write_vtx"]

ENGINE = "BP4"
"""ADIOS2 engine: BP4, which every ParaView with the VTX reader opens."""


def needs_vtx(f: fem.Function) -> bool:
    """True when ``fields.xdmf`` can only hold a lowered copy of ``f``.

    Lagrange fields of degree ≥ 2 and discontinuous fields of degree ≥ 1; P1 and DG0 fields
    are exact in XDMF.
    """
    el = f.function_space.ufl_element()
    degree = el.embedded_superdegree
    return degree >= 2 or (el.discontinuous and degree >= 1)


def vtx_fields(fields: Mapping[str, fem.Function]) -> dict[str, fem.Function]:
    """The fields of a solution that get a ``.bp`` file, by their key in ``fields``."""
    return {k: f for k, f in fields.items() if isinstance(f, fem.Function) and needs_vtx(f)}


class VTXSeries:
    """A time series of fields, one ``OUT/<name>.bp`` each (collective). No-op without output.

    ``functions`` is a mapping (file name -> field) or a sequence (file names from
    ``Function.name``). Use :meth:`write` at every output time and :meth:`close` at the end
    (or ``with``). A field VTX cannot write (e.g. a quadrature element) is skipped with a
    warning.
    """

    def __init__(
        self,
        output: Output | None,
        functions: Mapping[str, fem.Function] | Iterable[fem.Function],
    ):
        self._writers: list[io.VTXWriter] = []
        if isinstance(functions, Mapping):
            named = list(functions.items())
        else:
            named = [(f.name, f) for f in functions]
        if output is None or not output.enabled or not named:
            return
        names = [n for n, _ in named]
        if len(set(names)) != len(names):
            raise ValueError(f"VTX fields need distinct names, got {names}")
        if not dolfinx.has_adios2:
            logger.warning("DOLFINx without ADIOS2: no .bp files for %s", names)
            return
        for name, f in named:
            comm = f.function_space.mesh.comm
            try:
                w = io.VTXWriter(comm, str(output.path(f"{name}.bp")), [f], engine=ENGINE)
            except RuntimeError as exc:
                logger.warning("no %s.bp: %s", name, exc)
                continue
            self._writers.append(w)

    def write(self, t: float = 0.0) -> None:
        """Write the current values of every field at time ``t``."""
        for w in self._writers:
            w.write(t)

    def close(self) -> None:
        """Close every file (idempotent)."""
        for w in self._writers:
            w.close()
        self._writers = []

    def __enter__(self) -> VTXSeries:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_vtx(
    output: Output | None,
    functions: Mapping[str, fem.Function] | Iterable[fem.Function],
    t: float = 0.0,
) -> None:
    """Write each function once, at time ``t``, to ``OUT/<name>.bp`` at its own degree."""
    with VTXSeries(output, functions) as series:
        series.write(t)
