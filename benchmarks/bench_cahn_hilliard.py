"""``cahn_hilliard`` with mechanics (c–μ–u, ~10⁵ DOFs, 2D) to equilibrium, MUMPS vs iterative.

A 0.5 µm square, interface length √(κ/(c_max RT)) = 62.5 nm, 158 × 158 cells (P1 c, μ, u:
101,124 DOFs), χ = 3, degenerate mobility, Ω = 1e-6 m³/mol, E = 100 GPa: spinodal decomposition
and coarsening until the free energy stops changing (``energy_steady_time``: |dF/dt|/max|F|
below 1e-6 1/s from then on); the run stops when max|Δc|/Δt < 1e-5 1/s. Adaptive Δt from
1e-4 s, RMS change of c per step capped at 0.02. Serial; ``--ranks 2`` for two.
Iterative: GMRES, fieldsplit (multiplicative) with an LU (MUMPS) solve of the c–μ block and GAMG
with the rigid-body near-nullspace on u.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from femcm.base.constants import R_GAS, T_DEFAULT

MPIRUN = Path(sys.executable).with_name("mpirun")
WIDTH = 0.5e-6
CELLS = 158
KAPPA = 1e4 * R_GAS * T_DEFAULT * (1e-6 / 16) ** 2
SETTINGS = {
    "width": WIDTH,
    "height": WIDTH,
    "mesh_size": WIDTH / CELLS,
    "kappa": KAPPA,
    "noise_wavelength": 1.25e-7,
    "mechanics": "true",
    "t_end": 1e5,
    "steady_tol": 1e-5,
    "target_change": 0.02,
}


def run(solver: str, ranks: int) -> dict:
    """One run; returns its result.json."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "femcm", "run", "cahn_hilliard", "--out", tmp]
        for k, v in (SETTINGS | {"linear_solver": solver}).items():
            cmd += ["--set", f"{k}={v}"]
        if ranks > 1:
            cmd = [str(MPIRUN), "-n", str(ranks), *cmd]
        subprocess.run(cmd, check=True, capture_output=True)
        return json.loads((Path(tmp) / "result.json").read_text())


def main(argv=None) -> None:
    """Print one line per linear solver."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ranks", type=int, default=1)
    parser.add_argument("--solvers", nargs="+", default=["direct", "iterative"])
    args = parser.parse_args(argv)
    print(
        f"{'solver':>9} {'ranks':>5} {'dofs':>7} {'steps':>5} {'rej':>3} {'newton/step':>11} "
        f"{'lin its':>7} {'lin/newton':>10} {'t_steady s':>10} {'t_end s':>8} {'F J/m':>11} "
        f"{'wall s':>7}"
    )
    for solver in args.solvers:
        r = run(solver, args.ranks)
        s, sv = r["scalars"], r["solver"]
        steady = s["energy_steady_time"]
        print(
            f"{solver:>9} {args.ranks:5d} {r['mesh']['dofs']:7d} {s['steps']:5.0f} "
            f"{s['rejected_steps']:3.0f} {s['newton_per_step']:11.2f} "
            f"{sv['linear_iterations']:7d} "
            f"{sv['linear_iterations'] / max(sv['newton_iterations'], 1):10.1f} "
            f"{steady if not math.isnan(steady) else float('nan'):10.4g} {s['t_final']:8.4g} "
            f"{s['free_energy_total']:11.5g} {sv['wall_time_s']:7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
