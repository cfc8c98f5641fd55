r"""The compiled event loop of the kinetic Monte Carlo (:mod:`femcm.models.kmc`).

BKL / n-fold way: with :math:`k_\mathrm{tot} = \sum_p k_p N_p`, N_p the number of possible
(ion, direction) events leaving phase p, an event is picked with probability proportional to
its rate (a class by :math:`r_1 k_\mathrm{tot}`, then a uniform event within it) and time
advances by :math:`-\ln(1 - r_2)/k_\mathrm{tot}`.

Data structures (all O(1) per event): per rate class a list of event codes ``4 s + d`` with
the position of each code in its list (swap-remove), so a hop updates at most 16 entries.
The event loop is compiled with numba (4·10⁶ events in well under a second); the random
numbers come from the trajectory's NumPy ``Generator``.

Time averages are exact time integrals: each site stores when it was last occupied and adds
the occupied span when its ion leaves (and at the end), so nothing is summed per event over the
lattice. Displacements are unwrapped (periodic images counted).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numba
import numpy as np

from femcm.base.errors import InputError, check_range
from femcm.models.kmc_lattice import Lattice

__all__ = ["CHUNK", "HopProcess", "compile_event_loop"]

CHUNK = 1 << 18
"""Events per call of the compiled loop (random numbers are drawn per chunk)."""


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


def compile_event_loop() -> None:
    """Compile the event loop (or load it from numba's cache) so that timings exclude it."""
    HopProcess(
        Lattice(np.zeros((3, 3), dtype=np.int64), 1.0), [1.0], 1, np.random.default_rng(0)
    ).run(1)
