"""``ct_slice``: the Kirsch trend with pixels per radius, and a 1000 × 1000 pixel slice.

1. Pixelated quarter hole with the exact Kirsch traction (tests/test_ct_slice.py) at 10 to
   160 pixels per radius: the hoop stress σ_yy/S of the pixel at the hole edge on the
   symmetry line, Kirsch's value at that pixel's centre, the factor extrapolated from the
   ligament (Kirsch's form fitted 3 px to 0.6 R from the hole), and the wall time.
2. A synthetic 1000 × 1000 pixel cracked pellet (0.8 µm pixels, 60-row Li electrodes, six
   cracks): image analysis and meshing time (serial, in process), then mechanics and
   potential separately through the CLI, direct (MUMPS) and iterative (CG + GAMG), on 1 and
   2 ranks: DOFs, wall time, linear iterations.

``python benchmarks/bench_ct_slice.py [--quick] [--no-kirsch] [--physics mechanics|potential]``
(``--quick``: 400 × 400 pixels, 1 rank).
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import REPO, run_femcm

PELLET = {
    "synthetic_electrode_rows": 60,
    "synthetic_cracks": 6,
    "synthetic_filling": (0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    "synthetic_seed": 1,
}


def kirsch_trend() -> None:
    """Table 1."""
    sys.path.insert(0, str(REPO / "tests"))
    from test_ct_slice import kirsch_quarter

    from mpi4py import MPI

    print(f"{'px/R':>5} {'cells':>8} {'edge σyy/S':>10} {'Kirsch@px':>9} {'fitted K':>8} {'s':>6}")
    for n in (10, 20, 40, 80, 160):
        t = time.perf_counter()
        edge, fitted, exact = kirsch_quarter(MPI.COMM_WORLD, n)
        cells = round((3 * n) ** 2 * (1 - 3.14159265 / 36))
        print(
            f"{n:5d} {cells:8d} {edge:10.4f} {exact:9.4f} {fitted:8.4f} "
            f"{time.perf_counter() - t:6.2f}",
            flush=True,
        )


def mesh_timing(size: int) -> None:
    """Image analysis and pixel meshing of the synthetic slice (serial, in process)."""
    import femcm._backend  # noqa: F401

    from mpi4py import MPI

    from femcm.meshes.pixel_mesh import pixel_mesh
    from femcm.problem_scripts import ct_slice

    p = ct_slice.Parameters.create({"synthetic_width": size, "synthetic_height": size, **PELLET})
    t0 = time.perf_counter()
    sl = ct_slice.analyse_image(p)
    t1 = time.perf_counter()
    pm = pixel_mesh(MPI.COMM_WORLD, sl.tags, p.pixel_size)
    t2 = time.perf_counter()
    cells = pm.mesh.topology.index_map(2).size_global
    print(
        f"{size} × {size} pixels: image analysis {t1 - t0:.2f} s, mesh {t2 - t1:.2f} s "
        f"({cells} cells); cracks {int(sl.scalars['cracks'])}, "
        f"fragments dropped {int(sl.scalars['fragments_dropped'])}",
        flush=True,
    )


def run_cli(ranks: int, size: int, physics: str, solver: str) -> dict:
    """One CLI run; its result.json."""
    sets = {
        "synthetic_width": size,
        "synthetic_height": size,
        "physics": physics,
        "linear_solver": solver,
        **PELLET,
    }
    result, result["process_s"] = run_femcm("ct_slice", sets, ranks)
    return result


def big_slice(size: int, ranks: tuple[int, ...], physics_list: list[str]) -> None:
    """Table 2."""
    print(
        f"{'physics':>9} {'solver':>9} {'ranks':>5} {'cells':>8} {'dofs':>8} {'solve s':>7} "
        f"{'process s':>9} {'lin its':>7}  figures"
    )
    for physics in physics_list:
        for solver in ("direct", "iterative"):
            for n in ranks:
                r = run_cli(n, size, physics, solver)
                m, s, sc = r["mesh"], r["solver"], r["scalars"]
                figures = (
                    f"vM max {sc['von_mises_max'] / 1e6:.2f} MPa"
                    if physics == "mechanics"
                    else f"κ_eff/κ {sc['kappa_eff_ratio']:.6f}, "
                    f"field x{sc['field_enhancement_void']:.3f}"
                )
                print(
                    f"{physics:>9} {solver:>9} {n:5d} {m['cells']:8d} {m['dofs']:8d} "
                    f"{s['wall_time_s']:7.1f} {r['process_s']:9.1f} {s['linear_iterations']:7d}  "
                    f"{figures}",
                    flush=True,
                )


def main() -> None:
    """Print both tables."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-kirsch", action="store_true")
    ap.add_argument("--physics", nargs="+", default=["mechanics", "potential"])
    args = ap.parse_args()
    if not args.no_kirsch:
        kirsch_trend()
    size = 400 if args.quick else 1000
    mesh_timing(size)
    big_slice(size, (1,) if args.quick else (1, 2), args.physics)


if __name__ == "__main__":
    main()
