"""``ion_occupancy_kmc`` on [D]'s lattice: event rate, relaxation from the uniform start, full run.

1. Event rate: one replica of [D]'s assumed set-up (120 × 120 sites, 7 nm strip, 2 %
   occupancy, 0.30 / 0.331 eV, 298 K), 4·10⁶ events on one core; best and median of
   ``--repeat`` runs (the machine is shared), compile time excluded. Target: < 10 s.
2. Relaxation: strip occupancy in blocks of 2.5·10⁵ events from the uniform random start,
   mean over 12 replicas, relative to the closed form; the deficit's decay time in events.
3. The problem with its defaults (8 replicas × 4·10⁶ events, 2·10⁶ of them equilibration) on
   1 and 2 ranks: occupancies, ratio ± standard error, deviations from the closed form in
   standard errors, continuum error, events/s, wall time; the statistics must agree exactly.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
from _common import run_femcm

from femcm.base.constants import E_CHARGE, K_B
from femcm.models.kmc import simulate
from femcm.models.kmc_events import HopProcess, compile_event_loop
from femcm.models.kmc_lattice import strip_lattice
from femcm.physics.lattice_gas import equilibrium_occupancy, hop_rate

T = 298.0
BARRIERS = (0.30 * E_CHARGE, 0.30 * E_CHARGE + K_B * T * math.log(1 / 0.3))


def dixit_lattice():
    """[D]'s 60 × 60 nm² lattice (a = 0.5 nm) with the 7 nm strip; ions at 2 %."""
    lat = strip_lattice(60e-9, 60e-9, 7e-9, 0.5e-9)
    return lat, hop_rate(1e13, BARRIERS, T), round(0.02 * lat.n_sites)


def event_rate(repeat: int) -> None:
    """Print the event-loop time of 4e6 events (one replica, one core)."""
    lat, rates, ions = dixit_lattice()
    compile_event_loop()
    times, cpu = [], []
    for k in range(repeat):
        c0 = time.process_time()
        res = simulate(lat, rates, ions, 4_000_000, 1_000_000, k)
        cpu.append(time.process_time() - c0)
        times.append(res.seconds)
    best, median = min(times), float(np.median(times))
    print(f"4e6 events, one core: wall best {best:.2f} s ({4e6 / best:.3g} events/s), "
          f"median {median:.2f} s ({4e6 / median:.3g} events/s); CPU time best "
          f"{min(cpu):.2f} s ({4e6 / min(cpu):.3g} events/s)")  # fmt: skip


def relaxation(replicas: int = 12, blocks: int = 20, block: int = 250_000) -> None:
    """Print the strip occupancy per block from the uniform start and the deficit's decay time."""
    lat, rates, ions = dixit_lattice()
    ref = equilibrium_occupancy(BARRIERS, lat.site_counts, ions / lat.n_sites, T)[1]
    strip = lat.phases.ravel() == 1
    rows = np.empty((replicas, blocks))
    for r in range(replicas):
        proc = HopProcess(lat, rates, ions, np.random.default_rng(1000 + r))
        for b in range(blocks):
            acc = np.zeros(lat.n_sites)
            t0 = proc.time
            proc.run(block, occupied_time=acc)
            rows[r, b] = acc[strip].sum() / ((proc.time - t0) * strip.sum())
    mean = rows.mean(axis=0)
    se = rows.std(axis=0, ddof=1) / math.sqrt(replicas)
    print(f"{'events':>9} {'n_strip':>8} {'s.e.':>7} {'n/closed - 1':>12}")
    for b in range(blocks):
        print(f"{(b + 1) * block:>9d} {mean[b]:8.5f} {se[b]:7.5f} {mean[b] / ref - 1:12.4f}")
    # decay time from the blocks whose deficit is still well above the noise
    deficit = 1 - mean / ref
    use = deficit > 3 * se / ref
    use &= np.cumprod(use).astype(bool)
    if use.sum() >= 2:
        centres = (np.arange(blocks) + 0.5) * block
        slope = np.polyfit(centres[use], np.log(deficit[use]), 1)[0]
        print(f"deficit decay time ≈ {-1 / slope:.3g} events (fit over {use.sum()} blocks)")


def full_run(ranks: int) -> dict:
    """The problem with its defaults; returns result.json."""
    out, out["elapsed"] = run_femcm("ion_occupancy_kmc", ranks=ranks)
    return out


def main(argv=None) -> None:
    """Run the three parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-relaxation", action="store_true")
    args = parser.parse_args(argv)
    event_rate(args.repeat)
    if not args.skip_relaxation:
        relaxation()
    runs = {n: full_run(n) for n in (1, 2)}
    for n, res in runs.items():
        s = res["scalars"]
        print(
            f"ranks {n}: n_bulk {s['occupancy_bulk_mean']:.5f} ± {s['occupancy_bulk_stderr']:.5f}"
            f" ({s['occupancy_bulk_deviation']:+.2f} s.e.), n_strip "
            f"{s['occupancy_secondary_mean']:.5f} ± {s['occupancy_secondary_stderr']:.5f} "
            f"({s['occupancy_secondary_deviation']:+.2f} s.e.), ratio {s['occupancy_ratio']:.3f}"
            f" ± {s['occupancy_ratio_stderr']:.3f} (closed form "
            f"{s['occupancy_ratio_closed_form']:.3f}, {s['occupancy_ratio_deviation']:+.2f} s.e.)"
            f", FE error {s['fe_closed_form_error']:.1e}, {s['events_per_second']:.3g} events/s"
            f", wall {res['solver']['wall_time_s']:.1f} s (process {res['elapsed']:.1f} s)"
        )
    s1, s2 = runs[1]["scalars"], runs[2]["scalars"]
    same = all(s1[k] == s2[k] for k in s1 if k != "events_per_second" and "fe" not in k.split("_"))
    print(f"KMC statistics identical on 1 and 2 ranks: {same}")


if __name__ == "__main__":
    main()
