"""``edge_dislocation`` and ``heterointerface``: cost, Cai errors, stepping, interface widths.

Four tables (each a separate ``femcm run`` in a subprocess, serial unless ``--ranks``):

1. ``cai``: Cai errors by radius (max |σ − σ_Cai| / (D/r) over σ_xx, σ_yy, σ_xy, σ_h outside
   the band |y| < 2a along the cut), elasticity only with Cai's traction on a 40 a square, for
   P2 with DG1 W (default), P2 with DG0 W ([C]'s cell averages) and P1 with DG0 W.
2. ``defaults``: DOFs, steps, Newton iterations and wall time of both problems at defaults
   (heterointerface without and with misfit dislocations; the interdiffusion widths).
3. ``stepping``: edge_dislocation at defaults to equilibrium with the adaptive Δt, then with
   fixed Δt = t_eq/n for decreasing n until the free-energy curve stays within 1 % of the
   adaptive one at all times (both curves piecewise linear in t between their steps,
   compared at the union of their step times; relative to the total decrease F(0) − F(t_eq));
   ``--window T`` runs the fixed-Δt cases only to T (the early core segregation, ~a²/D0,
   is what a fixed Δt fails to follow) and extrapolates their cost to t_eq;
   the ratio of steps and of wall times fixed/adaptive.

Run: ``.venv/bin/python benchmarks/bench_dislocation.py [--tables cai defaults stepping]``.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

import numpy as np
from _common import run_femcm

B = 1.298e-9


KEEP: Path | None = None
"""Where to keep each run's output folder (with PNGs); None: temporary folders."""


def run(problem: str, settings: dict, ranks: int = 1) -> tuple[dict, np.ndarray | None, float]:
    """One run: (result.json, free_energy.csv rows or None, wall time of the process)."""
    with tempfile.TemporaryDirectory() as tmp:
        if KEEP is not None:
            tag = "_".join(f"{k}-{v}" for k, v in settings.items()) or "defaults"
            tmp = str(KEEP / f"{problem}_{tag}")
        extra = ["--plot"] if KEEP is not None else []
        res, wall = run_femcm(problem, settings, ranks, out=tmp, extra=extra)
        fe = Path(tmp) / "free_energy.csv"
        rows = None
        if fe.exists():
            with fe.open() as f:
                rows = np.array([[float(x) for x in r] for r in list(csv.reader(f))[1:]])
        return res, rows, wall


def table_cai(ranks: int) -> None:
    """Cai errors by radius for three discretisations."""
    base = {"chemistry": "false", "outer_traction": "cai", "domain_size": 40 * B}
    cases = {
        "P2, DG1 W": {},
        "P2, DG0 W": {"w_degree": 0},
        "P1, DG0 W": {"degree": 1, "w_degree": 0},
    }
    print("\n## Cai errors by radius: max |σ − σ_Cai| / (D/r), r ≥ a, outside |y| < 2a on the cut")
    header = None
    for name, extra in cases.items():
        res, _, wall = run("edge_dislocation", base | extra, ranks)
        radii = {k: v for k, v in res["scalars"].items() if k.startswith("cai_error_r")}
        if header is None:
            header = [k[len("cai_error_r") :] for k in radii]
            print(f"{'case':>10} {'cells':>6} {'dofs':>6} " + " ".join(f"{h:>7}" for h in header))
        print(
            f"{name:>10} {res['mesh']['cells']:>6} {res['mesh']['dofs']:>6} "
            + " ".join(f"{100 * v:6.2f}%" for v in radii.values())
            + f"   ({wall:.1f} s)"
        )


def table_defaults(ranks: int) -> None:
    """Both problems at defaults."""
    print("\n## Defaults")
    print(
        f"{'problem':>28} {'cells':>6} {'dofs':>7} {'steps':>5} {'newton':>6} "
        f"{'wall s':>7}  figures"
    )
    cases = [
        ("edge_dislocation", {}),
        ("heterointerface", {"misfit_dislocations": "false"}),
        ("heterointerface", {"misfit_dislocations": "true"}),
    ]
    for problem, extra in cases:
        res, _, _ = run(problem, extra, ranks)
        s, m, sv = res["scalars"], res["mesh"], res["solver"]
        if problem == "edge_dislocation":
            fig = (
                f"c {s['c_min']:.3f}..{s['c_max']:.3f} (y {s['c_min_y'] * 1e9:+.2f}, "
                f"{s['c_max_y'] * 1e9:+.2f} nm), sigma_h {s['sigma_h_min'] / 1e9:.2f}.."
                f"{s['sigma_h_max'] / 1e9:.2f} GPa, t_eq {s['time_to_equilibrium']:.3g} s"
            )
            label = problem
        else:
            fig = (
                f"width {s['interdiffusion_width'] * 1e9:.2f} nm (y10 {s['y_10'] * 1e9:+.2f}, "
                f"y90 {s['y_90'] * 1e9:+.2f}), sigma_h {s['sigma_h_min'] / 1e9:.3f}.."
                f"{s['sigma_h_max'] / 1e9:.3f} GPa (LLZO {s['sigma_h_min_llzo'] / 1e9:.3f}.."
                f"{s['sigma_h_max_llzo'] / 1e9:.3f})"
            )
            label = f"{problem} misfit={extra['misfit_dislocations']}"
        print(
            f"{label:>28} {m['cells']:>6} {m['dofs']:>7} {sv['time_steps']:>5} "
            f"{sv['newton_iterations']:>6} {sv['wall_time_s']:>7.1f}  {fig}"
        )


def deviation(ref: np.ndarray, rows: np.ndarray) -> float:
    """Max |F(t) − F_ref(t)| / (F_ref(0) − F_ref(end)) over both runs' times up to t_end.

    Each curve between its own steps is the straight line in t (what a run knows of F there);
    F changes fastest at the start (core segregation in ~a²/D0), so a large fixed Δt shows up
    at the reference's early times.
    """
    # The t = 0 record has u = 0 (the dislocation's eigenstrain not yet relaxed): every run
    # starts from the relaxed F of the reference's first step (2e-8 s, c still uniform).
    ref, rows = ref.copy(), rows.copy()
    ref[0, 1] = rows[0, 1] = ref[1, 1]
    span = abs(ref[0, 1] - ref[-1, 1])
    t_end = min(ref[-1, 0], rows[-1, 0])
    times = np.union1d(ref[:, 0], rows[:, 0])
    times = times[times <= t_end]
    f_ref = np.interp(times, ref[:, 0], ref[:, 1])
    f_run = np.interp(times, rows[:, 0], rows[:, 1])
    return float(np.abs(f_run - f_ref).max() / span)


def table_stepping(ranks: int, max_runs: int, first: int = 8, window: float = 0.0) -> None:
    """Adaptive vs fixed Δt to equilibrium."""
    print("\n## Time stepping: adaptive vs the largest fixed Δt within 1 % of its F(t)")
    res, ref, wall_ref = run("edge_dislocation", {}, ranks)
    t_eq = res["scalars"]["time_to_equilibrium"]
    steps_ref = res["solver"]["time_steps"]
    print(
        f"adaptive: t_eq = {t_eq:.4g} s, {steps_ref} steps, "
        f"{res['solver']['newton_iterations']} Newton its, {wall_ref:.1f} s"
    )
    print(f"{'fixed dt':>10} {'t_end':>9} {'steps':>6} {'dev F':>8} {'wall s':>7}")
    n = first
    for _ in range(max_runs):
        dt = t_eq / n
        t_end = min(t_eq, window) if window > 0 else t_eq
        res, rows, wall = run("edge_dislocation", {"dt_fixed": dt, "t_end": t_end}, ranks)
        dev = deviation(ref, rows)
        steps = res["solver"]["time_steps"]
        print(f"{dt:>10.3g} {t_end:>9.3g} {steps:>6} {100 * dev:>7.2f}% {wall:>7.1f}")
        if dev <= 0.01:
            full = wall * t_eq / t_end
            print(
                f"largest fixed dt within 1 %: {dt:.3g} s = t_eq/{n}: {n} steps to t_eq = "
                f"{n / steps_ref:.0f}x the adaptive steps; wall to t_eq ~{full:.0f} s = "
                f"{full / wall_ref:.0f}x (from the window [0, {t_end:.3g}] s)"
            )
            return
        n *= 3
    print(f"no fixed dt down to t_eq/{n // 3} stayed within 1 % (stopped after {max_runs} runs)")


def main(argv=None) -> None:
    """Print the chosen tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--tables", nargs="+", default=["cai", "defaults", "stepping"])
    parser.add_argument("--max-runs", type=int, default=5, help="fixed-Δt runs at most")
    parser.add_argument("--first", type=int, default=8, help="first fixed Δt = t_eq/FIRST")
    parser.add_argument(
        "--window",
        type=float,
        default=0.0,
        help="fixed runs only to this time (s; the early transient decides), 0: to t_eq",
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep outputs (and PNGs) here")
    args = parser.parse_args(argv)
    global KEEP
    KEEP = args.keep
    for name in args.tables:
        {"cai": table_cai, "defaults": table_defaults}.get(
            name, lambda r: table_stepping(r, args.max_runs, args.first, args.window)
        )(args.ranks)


if __name__ == "__main__":
    main()
