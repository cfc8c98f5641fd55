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
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import numba
import numpy as np

from mpi4py import MPI

from femcm.base.errors import InputError, check_range

__all__ = [
    "DIRECTIONS",
    "Estimate",
    "HopProcess",
    "Lattice",
    "ReplicaResult",
    "compile_event_loop",
    "estimate",
    "mean_stderr",
    "run_replicas",
    "simulate",
    "strip_lattice",
]

DIRECTIONS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], dtype=np.int64)
"""Hop directions in lattice units: +x, −x, +y, −y (the opposite of d is d ^ 1)."""

CHUNK = 1 << 18
"""Events per call of the compiled loop (random numbers are drawn per chunk)."""


@dataclasses.dataclass(frozen=True)
class Lattice:
    """A periodic 2D square lattice with a phase index per site.

    ``phases[i, j]`` is the phase of the site at ((i + ½) a, (j + ½) a).
    """

    phases: np.ndarray
    """Phase index per site, shape (nx, ny), integers 0 .. P−1."""
    spacing: float
    """Lattice spacing a, m."""

    def __post_init__(self) -> None:
        ph = np.asarray(self.phases)
        if ph.ndim != 2 or min(ph.shape) < 3 or not np.issubdtype(ph.dtype, np.integer):
            raise InputError("lattice phases must be an integer array of shape (nx>=3, ny>=3)")
        if ph.min() < 0:
            raise InputError("lattice phase indices must be >= 0")
        check_range("lattice_spacing", self.spacing, gt=0.0)
        object.__setattr__(self, "phases", ph.astype(np.int64))

    @property
    def shape(self) -> tuple[int, int]:
        """(nx, ny)."""
        return self.phases.shape

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return int(self.phases.size)

    @property
    def n_phases(self) -> int:
        """Number of phases P (max index + 1)."""
        return int(self.phases.max()) + 1

    @property
    def site_counts(self) -> np.ndarray:
        """Sites per phase, shape (P,)."""
        return np.bincount(self.phases.ravel(), minlength=self.n_phases)

    def neighbours(self) -> np.ndarray:
        """Flat index of the neighbour of each flat site index in each direction, (N, 4)."""
        nx, ny = self.shape
        i, j = np.divmod(np.arange(nx * ny), ny)
        out = np.empty((nx * ny, 4), dtype=np.int64)
        for d, (dx, dy) in enumerate(DIRECTIONS):
            out[:, d] = ((i + dx) % nx) * ny + (j + dy) % ny
        return out


def _sites(length: float, spacing: float, name: str) -> int:
    """length/spacing as an integer, or a one-line InputError naming the parameter."""
    n = length / spacing
    if abs(n - round(n)) > 1e-6 * max(1.0, n) or round(n) < 1:
        raise InputError(
            f"parameter {name} = {length:g} m is not a whole multiple of lattice_spacing = "
            f"{spacing:g} m: must be k * lattice_spacing, k = 1, 2, ..."
        )
    return round(n)


def strip_lattice(
    width: float,
    height: float,
    strip_width: float,
    spacing: float,
    orientation: str = "vertical",
) -> Lattice:
    """Bulk (phase 0) with a secondary-phase strip (phase 1) through the middle.

    Args:
        width: domain size along x, m.
        height: domain size along y, m.
        strip_width: strip width across the strip, m (0 < strip_width < domain size across).
        spacing: lattice spacing a, m; must divide width, height and strip_width.
        orientation: ``vertical`` (strip along y, centred in x) or ``horizontal`` (along x).

    Returns:
        The lattice; the strip holds the sites whose centre lies within the strip.
    """
    check_range("lattice_spacing", spacing, gt=0.0)
    check_range("width", width, gt=0.0)
    check_range("height", height, gt=0.0)
    if orientation not in ("vertical", "horizontal"):
        raise InputError(
            f"parameter strip_orientation = {orientation!r} is not allowed: "
            "must be one of vertical, horizontal"
        )
    nx = _sites(width, spacing, "width")
    ny = _sites(height, spacing, "height")
    across, n_across = (width, nx) if orientation == "vertical" else (height, ny)
    if not 0.0 < strip_width < across:
        raise InputError(
            f"parameter strip_width = {strip_width:g} m is out of range: must be > 0 and "
            f"< {across:g} m (the domain {'width' if orientation == 'vertical' else 'height'})"
        )
    m = _sites(strip_width, spacing, "strip_width")
    start = (n_across - m) // 2
    band = np.zeros(n_across, dtype=np.int64)
    band[start : start + m] = 1
    phases = np.broadcast_to(
        band[:, None] if orientation == "vertical" else band[None, :], (nx, ny)
    )
    return Lattice(np.ascontiguousarray(phases), spacing)


# --- the compiled event loop ----------------------------------------------------------------


@numba.njit(cache=True, inline="always")
def _add(e, phase, ev_list, ev_count, ev_pos):
    if ev_pos[e] < 0:
        c = phase[e >> 2]
        ev_list[c, ev_count[c]] = e
        ev_pos[e] = ev_count[c]
        ev_count[c] += 1


@numba.njit(cache=True, inline="always")
def _remove(e, phase, ev_list, ev_count, ev_pos):
    p = ev_pos[e]
    if p >= 0:
        c = phase[e >> 2]
        last = ev_list[c, ev_count[c] - 1]
        ev_list[c, p] = last
        ev_pos[last] = p
        ev_pos[e] = -1
        ev_count[c] -= 1


@numba.njit(cache=True)
def _hop_loop(
    randoms, rates, nbr, phase, ion_at, disp, ev_list, ev_count, ev_pos, since, acc, t, record
):
    """Run len(randoms) events; returns (time, events done). Stops early if none is possible."""
    n_cls = rates.shape[0]
    for k in range(randoms.shape[0]):
        ktot = 0.0
        for c in range(n_cls):
            ktot += rates[c] * ev_count[c]
        if ktot <= 0.0:
            return t, k
        u = randoms[k, 0] * ktot
        c = 0
        while c < n_cls - 1 and u >= rates[c] * ev_count[c]:
            u -= rates[c] * ev_count[c]
            c += 1
        while ev_count[c] == 0:  # round-off landed on an empty trailing class
            c -= 1
        i = int(u / rates[c])
        if i >= ev_count[c]:
            i = ev_count[c] - 1
        e = ev_list[c, i]
        s = e >> 2
        d = e & 3
        dst = nbr[s, d]
        t += -math.log(1.0 - randoms[k, 1]) / ktot
        if record:
            acc[s] += t - since[s]
            since[dst] = t
        # the ion leaves s: none of its events remain
        for dd in range(4):
            _remove(4 * s + dd, phase, ev_list, ev_count, ev_pos)
        ion = ion_at[s]
        ion_at[dst] = ion
        ion_at[s] = -1
        if d == 0:
            disp[ion, 0] += 1
        elif d == 1:
            disp[ion, 0] -= 1
        elif d == 2:
            disp[ion, 1] += 1
        else:
            disp[ion, 1] -= 1
        # occupied neighbours of s may now hop into it
        for dd in range(4):
            n = nbr[s, dd]
            if ion_at[n] >= 0:
                _add(4 * n + (dd ^ 1), phase, ev_list, ev_count, ev_pos)
        # neighbours of dst: occupied ones lose their hop into dst, empty ones gain one from dst
        for dd in range(4):
            n = nbr[dst, dd]
            if ion_at[n] >= 0:
                _remove(4 * n + (dd ^ 1), phase, ev_list, ev_count, ev_pos)
            else:
                _add(4 * dst + dd, phase, ev_list, ev_count, ev_pos)
    return t, randoms.shape[0]


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


class HopProcess:
    """The state of one KMC trajectory: ions placed at random, event lists built, clock at 0.

    Args:
        lattice: the lattice and its phases.
        rates: hop rate per phase (of the origin site) to one empty neighbour, 1/s.
        ions: number of ions, 0 < ions < sites.
        rng: random generator; it places the ions and drives every event.
    """

    def __init__(
        self, lattice: Lattice, rates: Sequence[float], ions: int, rng: np.random.Generator
    ):
        k = np.asarray(rates, dtype=float)
        if k.ndim != 1 or len(k) != lattice.n_phases or not np.all(np.isfinite(k) & (k > 0)):
            raise InputError(f"rates must be {lattice.n_phases} positive numbers (one a phase)")
        check_range("ions", ions, gt=0, lt=lattice.n_sites)
        self.lattice = lattice
        self.rates = k
        self.rng = rng
        n = lattice.n_sites
        # int32 keeps the working set (event lists, positions, neighbours) in the L2 cache
        self.nbr = lattice.neighbours().astype(np.int32)
        self.phase = lattice.phases.ravel().astype(np.int32)
        occupied = np.zeros(n, dtype=bool)
        occupied[rng.permutation(n)[:ions]] = True
        self.ion_at = np.full(n, -1, dtype=np.int32)
        """Ion index on each flat site, −1 if empty."""
        self.ion_at[occupied] = np.arange(ions, dtype=np.int32)
        self.hops = np.zeros((ions, 2), dtype=np.int64)
        """Unwrapped displacement of each ion in lattice units since the last reset."""
        self.ev_list = np.zeros((len(k), 4 * n), dtype=np.int32)
        self.ev_count = np.zeros(len(k), dtype=np.int64)
        self.ev_pos = np.full(4 * n, -1, dtype=np.int32)
        for c, codes in enumerate(self.possible_events()):
            self.ev_list[c, : len(codes)] = codes
            self.ev_pos[codes] = np.arange(len(codes))
            self.ev_count[c] = len(codes)
        self.time = 0.0
        """Simulated time, s."""
        self.events = 0
        """Events done."""
        self.seconds = 0.0
        """Wall time spent in the event loop, s."""

    def possible_events(self) -> list[np.ndarray]:
        """Codes 4 s + d of the hops possible now, per rate class, sorted (from the occupation)."""
        occ = self.ion_at >= 0
        codes = np.flatnonzero((occ[:, None] & ~occ[self.nbr]).ravel())
        return [codes[self.phase[codes >> 2] == c] for c in range(len(self.rates))]

    def listed_events(self) -> list[np.ndarray]:
        """The maintained event lists, per rate class, sorted (equal to possible_events)."""
        return [np.sort(self.ev_list[c, :m]) for c, m in enumerate(self.ev_count)]

    def run(self, events: int, occupied_time: np.ndarray | None = None) -> None:
        """Run ``events`` hops.

        Args:
            events: number of events.
            occupied_time: if given (one entry a site), each site's occupied time during these
                events is added to it.
        """
        record = occupied_time is not None
        acc = occupied_time if record else np.zeros(1)
        since = np.full(self.lattice.n_sites if record else 1, self.time)
        wall = time.perf_counter()
        todo = int(events)
        while todo > 0:
            r = self.rng.random((min(CHUNK, todo), 2))
            self.time, m = _hop_loop(
                r, self.rates, self.nbr, self.phase, self.ion_at, self.hops, self.ev_list,
                self.ev_count, self.ev_pos, since, acc, self.time, record,
            )  # fmt: skip
            self.events += m
            todo -= m
            if m < len(r):
                raise InputError("no hop is possible (the lattice is full or empty)")
        if record:
            occ = self.ion_at >= 0
            acc[occ] += self.time - since[occ]
        self.seconds += time.perf_counter() - wall


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


def compile_event_loop() -> None:
    """Compile the event loop (or load it from numba's cache) so that timings exclude it."""
    HopProcess(
        Lattice(np.zeros((3, 3), dtype=np.int64), 1.0), [1.0], 1, np.random.default_rng(0)
    ).run(1)


def run_replicas(
    lattice: Lattice,
    rates: Sequence[float],
    ions: int,
    events: int,
    equilibration_events: int,
    seed: int,
    replicas: int,
    comm: MPI.Comm = MPI.COMM_WORLD,
) -> list[ReplicaResult]:
    """Run ``replicas`` independent replicas spread over the ranks of ``comm``.

    Replica r uses ``SeedSequence(seed).spawn(replicas)[r]`` and runs on rank r mod size; the
    list returned on every rank holds all replicas in replica order, so it does not depend on
    the number of ranks. Arguments as for :func:`simulate`.
    """
    check_range("replicas", replicas, ge=1)
    check_range("seed", seed, ge=0)
    compile_event_loop()
    children = np.random.SeedSequence(int(seed)).spawn(int(replicas))
    mine = [
        simulate(lattice, rates, ions, events, equilibration_events, children[r], replica=r)
        for r in range(comm.rank, replicas, comm.size)
    ]
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
