"""Wall time of ``inclusion_mechanics`` at three mesh sizes, MUMPS and GAMG, 1 and 2 ranks."""

from __future__ import annotations

from _common import run_femcm

CASES = [(20e-6, 4e-6), (10e-6, 2e-6), (5e-6, 1e-6)]


def run(ranks: int, h: float, hi: float, solver: str) -> dict:
    """One run; returns its result.json."""
    settings = {"mesh_size": h, "mesh_size_inclusion": hi, "linear_solver": solver}
    return run_femcm("inclusion_mechanics", settings, ranks)[0]


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
