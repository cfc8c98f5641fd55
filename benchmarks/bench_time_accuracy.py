"""Time accuracy and cost of the error-controlled stepping of ``cahn_hilliard``.

Three measurements (serial; ``mpirun -n 2`` works too):

``transient``: F(t) of two spinodal decompositions at the default tolerance against references
at 16× and 32× tighter tolerance, at 31 times log-spaced over the run (hit exactly):

- ``regular``: the default ``cahn_hilliard`` (regular solution χ = 3, degenerate mobility,
  seeded noise, 80 × 80 cells, t_end = 100 s);
- ``double_well``: polynomial double well, constant mobility, the smooth cosine perturbation
  0.5 + 0.01 cos(10πx/W) cos(8πy/H) without noise, κ = 1.8e-9 J/m (fastest-growing
  wavelength ≈ 0.2 µm), t_end = 50 s.

F of the regular solution changes sign, so its deviation is given relative to the range of
F over the run; the double-well F is positive and its deviation is relative to F(t) itself.

``coarsening``: the 7-decade coarsening run of ``tests/test_cahn_hilliard.py`` (2 µm × 1 µm,
64 × 32 cells, t from 10⁻³ s to 10⁴ s): steps of the default controller against the
controller of femcm 0.1 (backward Euler, Δt grown on easy Newton solves, RMS change of c per
step ≤ 0.01), and the largest fixed BDF2 step whose F stays within 1 % (of the F drop) of the
adaptive reference at t = 2, 4, ..., 20 s (a fixed step must resolve the early transient, so
a fixed run to 10⁴ s needs at least 10⁴ s / that step).

``default``: the default ``cahn_hilliard`` without output times: steps, rejected steps,
Newton iterations per step, wall time (the figures of the closing note).
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np

from mpi4py import MPI

import femcm
from femcm.base.constants import R_GAS, T_DEFAULT

L = 1e-6
KAPPA_TEST = 1e4 * R_GAS * T_DEFAULT * (L / 16) ** 2
DOUBLE_WELL = {
    "free_energy": "polynomial",
    "mobility": "constant",
    "noise": 0.0,
    "kappa": 1.8e-9,
    "initial": "0.5 + 0.01*cos(10*pi*x/width)*cos(8*pi*y/height)",
    "t_end": 50.0,
}
CASES = {"regular": {"t_end": 100.0}, "double_well": DOUBLE_WELL}


def run(**params) -> tuple[dict, np.ndarray]:
    """One run; (scalars + solver figures, free_energy.csv rows)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(MPI.COMM_WORLD.bcast(tmp, root=0))
        res = femcm.run("cahn_hilliard", out=out, **params)
        F = None
        if MPI.COMM_WORLD.rank == 0:
            F = np.loadtxt(out / "free_energy.csv", delimiter=",", skiprows=1, ndmin=2)
        F = MPI.COMM_WORLD.bcast(F, root=0)
    return res.scalars | {"wall": res.solver["wall_time_s"]}, F


def at(F: np.ndarray, times) -> np.ndarray:
    """F at the given (exactly hit) times."""
    idx = [int(np.argmin(np.abs(F[:, 0] - t))) for t in times]
    assert np.allclose(F[idx, 0], times, rtol=1e-9, atol=0)
    return F[idx, 1]


def say(*a) -> None:
    """Print on rank 0."""
    if MPI.COMM_WORLD.rank == 0:
        print(*a, flush=True)


def transient(names, rtol: float, atol: float) -> None:
    """Default tolerance vs 16× and 32× tighter."""
    for name in names:
        case = CASES[name]
        times = tuple(np.geomspace(1e-3 * case["t_end"], case["t_end"], 31))
        F = {}
        for k in (1, 16, 32):
            s, series = run(**case, rtol=rtol / k, atol=atol / k, output_times=times)
            F[k] = at(series, times)
            say(
                f"{name:>11} rtol {rtol / k:8.2e}: {s['steps']:4.0f} steps, "
                f"{s['rejected_steps']:3.0f} rejected, {s['newton_per_step']:.2f} Newton/step, "
                f"mass drift {s['c_integral_rel_change']:.1e}, "
                f"max F increase {np.diff(series[:, 1]).max() / np.abs(series[:, 1]).max():.1e}"
                f" (rel. to max|F|), wall {s['wall']:.0f} s"
            )
        scale = np.ptp(F[16]) if name == "regular" else np.abs(F[16])
        what = "of the range of F" if name == "regular" else "of F(t)"
        for a, b in ((1, 16), (16, 32)):
            dev = np.abs(F[a] - F[b]) / scale
            i = int(np.argmax(dev))
            say(
                f"{name:>11}: |F(rtol/{a}) - F(rtol/{b})| <= {dev.max():.2e} {what} "
                f"(worst at t = {times[i]:.3g} s); at each time: "
                + " ".join(f"{d:.1e}" for d in dev)
            )


def coarsening(rtol: float, atol: float) -> None:
    """Steps over 7 decades: default vs femcm 0.1's controller vs fixed BDF2 steps."""
    base = {
        "width": 2 * L,
        "height": L,
        "mesh_size": L / 32,
        "kappa": KAPPA_TEST,
        "noise_wavelength": L / 8,
        "dt_initial": 1e-3,
        "dt_min": 1e-8,
    }
    marks = tuple(2.0 * k for k in range(1, 11))
    s_new, F_new = run(**base, t_end=1e4, rtol=rtol, atol=atol, output_times=marks)
    s_old, _ = run(
        **base, t_end=1e4, rtol=0.0, atol=0.0, time_order=1, target_change=0.01, output_times=marks
    )
    ref = at(F_new, marks)
    drop = F_new[0, 1] - ref[-1]
    say(
        f"coarsening to 1e4 s: error control {s_new['steps']:.0f} steps "
        f"({s_new['rejected_steps']:.0f} rejected, {s_new['newton_per_step']:.2f} Newton/step, "
        f"{s_new['wall']:.0f} s); femcm 0.1 controller {s_old['steps']:.0f} steps "
        f"({s_old['newton_per_step']:.2f} Newton/step, {s_old['wall']:.0f} s); "
        f"ratio {s_new['steps'] / s_old['steps']:.2f}"
    )
    for dt in (2.0, 1.0, 0.5, 0.25):
        try:
            fixed = base | {"dt_initial": dt, "dt_min": dt, "dt_grow": 1.0, "easy_iterations": 1}
            _, F = run(**fixed, t_end=20.0, rtol=0.0, atol=0.0, output_times=marks)
            dev = float(np.abs(at(F, marks) - ref).max() / drop)
        except femcm.SolveError:
            dev = math.inf
        say(
            f"fixed BDF2 dt = {dt:g} s: max |F - F_adaptive| / drop = {dev:.3f}; a run to 1e4 s "
            f"takes {1e4 / dt:.0f} steps = {1e4 / dt / s_new['steps']:.1f} x adaptive"
        )


def default() -> None:
    """The default cahn_hilliard, no output times."""
    s, _ = run()
    say(
        f"default cahn_hilliard: {s['steps']:.0f} steps, {s['rejected_steps']:.0f} rejected, "
        f"{s['newton_per_step']:.2f} Newton/step, wall {s['wall']:.1f} s, "
        f"mass drift {s['c_integral_rel_change']:.1e}"
    )


def main(argv=None) -> None:
    """Run the chosen measurements."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="*", default=["default", "transient", "coarsening"])
    parser.add_argument("--cases", nargs="+", default=list(CASES))
    info = femcm.parameters("cahn_hilliard")
    parser.add_argument("--rtol", type=float, default=info["rtol"].default)
    parser.add_argument("--atol", type=float, default=info["atol"].default)
    args = parser.parse_args(argv)
    if "default" in args.what:
        default()
    if "transient" in args.what:
        transient(args.cases, args.rtol, args.atol)
    if "coarsening" in args.what:
        coarsening(args.rtol, args.atol)


if __name__ == "__main__":
    main()
