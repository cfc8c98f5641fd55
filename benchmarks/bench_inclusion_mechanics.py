"""Wall time of ``inclusion_mechanics`` at three mesh sizes, MUMPS and GAMG, 1 and 2 ranks."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

MPIRUN = Path(sys.executable).with_name("mpirun")
CASES = [(20e-6, 4e-6), (10e-6, 2e-6), (5e-6, 1e-6)]


def run(ranks: int, h: float, hi: float, solver: str) -> dict:
    """One run; returns its result.json."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "femcm",
            "run",
            "inclusion_mechanics",
            "--out",
            tmp,
            "--set",
            f"mesh_size={h}",
            "--set",
            f"mesh_size_inclusion={hi}",
            "--set",
            f"linear_solver={solver}",
        ]
        if ranks > 1:
            cmd = [str(MPIRUN), "-n", str(ranks), *cmd]
        subprocess.run(cmd, check=True, capture_output=True)
        return json.loads((Path(tmp) / "result.json").read_text())


def main() -> None:
    """Print one line per case."""
    print(f"{'cells':>8} {'dofs':>9} {'solver':>6} {'ranks':>5} {'wall s':>7} {'lin its':>7}")
    for h, hi in CASES:
        for solver in ("direct", "iterative"):
            for ranks in (1, 2):
                r = run(ranks, h, hi, solver)
                m, s = r["mesh"], r["solver"]
                print(
                    f"{m['cells']:8d} {m['dofs']:9d} {solver:>6} {ranks:5d} "
                    f"{s['wall_time_s']:7.2f} {s['linear_iterations']:7d}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
