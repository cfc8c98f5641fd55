r"""Rejection-free lattice kinetic Monte Carlo of ion hopping [D, Methods "Kinetic Monte Carlo"].

A 2D square lattice, periodic in both directions; every site belongs to a phase p with hop
rate :math:`k_p` (1/s). An ion on site s hops to each empty nearest neighbour at :math:`k_{p(s)}`
(origin-only rates). BKL / n-fold way: with :math:`k_\mathrm{tot} = \sum_p k_p N_p`, N_p the
number of possible (ion, direction) events leaving phase p, an event is picked with probability
proportional to its rate (a class by :math:`r_1 k_\mathrm{tot}`, then a uniform event within
it) and time advances by :math:`-\ln(1 - r_2)/k_\mathrm{tot}`.

Data structures (all O(1) per event): per rate class a list of event codes ``4 s + d`` with
the position of each code in its list (swap-remove), so a hop updates at most 16 entries.
The event loop is compiled with numba (4·10⁶ events in well under a second); the random
numbers come from a NumPy ``Generator`` seeded by a ``SeedSequence``, so a replica's trajectory
depends on its seed only.

Time averages are exact time integrals: each site stores when it was last occupied and adds
the occupied span when its ion leaves (and at the end), so nothing is summed per event over the
lattice. Displacements are unwrapped (periodic images counted) for tracer mean-square
displacements.

Replicas (:func:`run_replicas`) get the seeds ``SeedSequence(seed).spawn(R)``; rank r of the
communicator runs replicas r, r + size, ...; the results are gathered in replica order on every
rank, so every statistic is the same on any number of ranks.

The lattice is :mod:`femcm.models.kmc_lattice`, the compiled event loop and the state of one
trajectory :mod:`femcm.models.kmc_events`; this module runs replicas and their statistics.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from mpi4py import MPI

from femcm.base.errors import check_range
from femcm.models.kmc_events import HopProcess, compile_event_loop
from femcm.models.kmc_lattice import Lattice

__all__ = [
    "Estimate",
    "ReplicaResult",
    "estimate",
    "mean_stderr",
    "run_replicas",
    "simulate",
]


# --- one replica ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReplicaResult:
    """Time averages and end state of one replica (after its equilibration events)."""

    replica: int
    """Replica index (its seed is the replica-th child of the base SeedSequence)."""
    occupancy: np.ndarray
    """Time-averaged occupancy of each site, shape (nx, ny)."""
    phase_occupancy: np.ndarray
    """Time-averaged occupancy of each phase (mean over its sites), shape (P,)."""
    time: float
    """Simulated physical time of all events, s."""
    averaging_time: float
    """Simulated time after the equilibration events, s."""
    events: int
    """Events run (equilibration included)."""
    seconds: float
    """Wall time of the event loops, s."""
    displacement: np.ndarray
    """Unwrapped displacement of each ion over the averaging window, m, shape (N, 2)."""
    final: np.ndarray
    """Occupation (bool) of each site at the end, shape (nx, ny)."""

    def as_arrays(self) -> dict[str, np.ndarray]:
        """The result as named arrays (a checkpoint)."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_arrays(cls, a: Mapping[str, np.ndarray]) -> ReplicaResult:
        """Back from :meth:`as_arrays`."""
        scalars = {"replica": int, "time": float, "averaging_time": float, "events": int,
                   "seconds": float}  # fmt: skip
        return cls(**{f.name: scalars[f.name](a[f.name]) if f.name in scalars
                      else np.asarray(a[f.name]) for f in dataclasses.fields(cls)})  # fmt: skip


def simulate(
    lattice: Lattice,
    rates: Sequence[float],
    ions: int,
    events: int,
    equilibration_events: int,
    seed: np.random.SeedSequence | int,
    replica: int = 0,
) -> ReplicaResult:
    """Run one replica: ``ions`` ions placed uniformly at random, then ``events`` hops.

    Args:
        lattice: the lattice and its phases.
        rates: hop rate per phase (of the origin site) to one empty neighbour, 1/s.
        ions: number of ions, 0 < ions < sites.
        events: total events (equilibration included).
        equilibration_events: events before the time averages start (< events).
        seed: SeedSequence (or integer) of this replica.
        replica: index stored in the result.
    """
    check_range("events", events, gt=0)
    check_range("equilibration_events", equilibration_events, ge=0, lt=events)
    proc = HopProcess(lattice, rates, ions, np.random.default_rng(seed))
    proc.run(equilibration_events)
    t_start = proc.time
    proc.hops[:] = 0
    acc = np.zeros(lattice.n_sites)
    proc.run(events - equilibration_events, occupied_time=acc)
    span = proc.time - t_start
    site_avg = acc / span
    counts = lattice.site_counts
    sums = np.bincount(proc.phase, weights=site_avg, minlength=len(counts))
    phase_avg = np.divide(sums, counts, out=np.full(len(counts), np.nan), where=counts > 0)
    return ReplicaResult(
        replica=replica,
        occupancy=site_avg.reshape(lattice.shape),
        phase_occupancy=phase_avg,
        time=proc.time,
        averaging_time=span,
        events=proc.events,
        seconds=proc.seconds,
        displacement=proc.hops.astype(float) * lattice.spacing,
        final=(proc.ion_at >= 0).reshape(lattice.shape),
    )


# --- replicas over MPI ranks --------------------------------------------------------------------


def run_replicas(
    lattice: Lattice,
    rates: Sequence[float],
    ions: int,
    events: int,
    equilibration_events: int,
    seed: int,
    replicas: int,
    comm: MPI.Comm = MPI.COMM_WORLD,
    done: Mapping[int, ReplicaResult] | None = None,
    on_done: Callable[[ReplicaResult], None] | None = None,
) -> list[ReplicaResult]:
    """Run ``replicas`` independent replicas spread over the ranks of ``comm``.

    Replica r uses ``SeedSequence(seed).spawn(replicas)[r]`` and runs on rank r mod size; the
    list returned on every rank holds all replicas in replica order, so it does not depend on
    the number of ranks. Arguments as for :func:`simulate`; ``done``: replicas already run
    (a restart), not run again; ``on_done(result)``: called on its rank after each replica.
    """
    done = done or {}
    check_range("replicas", replicas, ge=1)
    check_range("seed", seed, ge=0)
    compile_event_loop()
    children = np.random.SeedSequence(int(seed)).spawn(int(replicas))
    todo = [r for r in range(replicas) if r not in done]
    mine = []
    for r in todo[comm.rank :: comm.size]:
        res = simulate(lattice, rates, ions, events, equilibration_events, children[r], replica=r)
        mine.append(res)
        if on_done is not None:
            on_done(res)
    if comm.rank == 0:
        mine += [done[r] for r in range(replicas) if r in done]
    gathered = [res for part in comm.allgather(mine) for res in part]
    return sorted(gathered, key=lambda res: res.replica)


@dataclasses.dataclass(frozen=True)
class Estimate:
    """Mean over independent replicas and its standard error."""

    mean: float
    stderr: float
    """Sample standard deviation / √R (NaN for one replica)."""

    def deviation(self, reference: float) -> float:
        """(mean − reference)/stderr: the deviation in standard errors."""
        return (self.mean - reference) / self.stderr


def estimate(values: Sequence[float] | np.ndarray) -> Estimate:
    """Mean and standard error of one figure over independent replicas."""
    mean, se = mean_stderr(np.asarray(values, dtype=float).ravel())
    return Estimate(float(mean), float(se))


def mean_stderr(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error over replicas (axis 0) of an array of figures; NaN errors for R=1."""
    v = np.asarray(values, dtype=float)
    r = v.shape[0]
    mean = v.mean(axis=0)
    if r < 2:
        return mean, np.full_like(mean, np.nan)
    return mean, v.std(axis=0, ddof=1) / math.sqrt(r)
