"""LLZO (y < 0) / Li (y > 0) rectangle with misfit-dislocation cores on the interface.

The geometry of ``heterointerface`` ([C] Fig. 6): the interface y = 0 is a mesh line; each
misfit-dislocation core on it is a vertex meshed at ``h_core`` (≤ a/4), and its climb cut
runs straight down through the LLZO to the bottom, meshed at ``h_cut``; a band of
``h_interface`` within ``r_interface`` of the interface resolves the interdiffusion zone. The
cores and cuts are meshed even when the dislocations are switched off, so that the cases with
and without them share one mesh.

Cells: ``llzo``, ``li``. Facets: ``left``, ``right``, ``bottom``, ``top``, ``interface``.
Run alone to write a ``.msh``: ``python meshes/heterointerface.py out.msh``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import femcm._backend  # noqa: F401  (DOLFINx provider before dolfinx)

from dolfinx.io import gmsh as gmshio

from mpi4py import MPI

from femcm.meshes._gmsh import session, write_msh
from femcm.meshes.dislocation_square import _build, dislocation_rectangle

__all__ = ["heterointerface", "misfit_positions"]


def misfit_positions(width: float, spacing: float) -> list[float]:
    """X of the misfit dislocations: spacing s, centred, at least s/2 from the side walls."""
    n = int(width / spacing + 1e-9)
    return [(k - (n - 1) / 2) * spacing for k in range(n)]


def heterointerface(
    comm: MPI.Comm,
    width: float,
    height: float,
    cores_x: Sequence[float],
    h_core: float,
    h: float,
    *,
    h_cut: float,
    h_interface: float,
    r_interface: float,
    r_core: float,
    grading: float = 0.2,
) -> gmshio.MeshData:
    """Build and distribute the mesh (metres); x ∈ [−w/2, w/2], y ∈ [−h/2, h/2]."""
    box = ((-width / 2, -height / 2), (width / 2, height / 2))
    return dislocation_rectangle(
        comm,
        box,
        [(x, 0.0) for x in cores_x],
        [(0.0, -1.0)] * len(cores_x),
        h_core,
        h,
        h_cut=h_cut,
        r_core=r_core,
        r_cut=r_core,
        grading=grading,
        interface=0.0,
        phases=("llzo", "li"),
        h_interface=h_interface,
        r_interface=r_interface,
    )


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "heterointerface.msh")
    xs = misfit_positions(40.0, 4.0)
    with session("heterointerface", MPI.COMM_SELF):
        _build(
            ((-20, -20), (20, 20)),
            [(x, 0.0) for x in xs],
            [((x, 0.0), (x, -20.0)) for x in xs],
            0.22,
            2.0,
            0.45,
            1.3,
            1.3,
            0.2,
            0.0,
            ("llzo", "li"),
            0.4,
            6.0,
        )
        write_msh(out, unit=1e-9)
    print(f"wrote {out}")
