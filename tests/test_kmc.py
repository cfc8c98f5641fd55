"""Lattice KMC of ion hopping [D]: closed-form equilibrium, tracer diffusion, bookkeeping, replicas.

Statistical checks compare a mean over independent replicas with its reference in standard
errors (3 SE), and assert that the standard error is small enough for the check to mean
something. Seeds are fixed, so every run gives the same numbers on 1 and 2 ranks.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from conftest import REPO, script_scalars_one_and_two_ranks

import femcm
from femcm.app.params import ParameterSet
from femcm.base.constants import E_CHARGE, K_B
from femcm.base.errors import InputError
from femcm.models.kmc import estimate, run_replicas, simulate
from femcm.models.kmc_events import HopProcess
from femcm.models.kmc_lattice import Lattice, strip_lattice
from femcm.physics.lattice_gas import (
    canonical_occupancy,
    equilibrium_occupancy,
    hop_rate,
    log_prefactor,
    tracer_diffusivity,
)
from femcm.problem_scripts.ion_occupancy_kmc import solve_continuum

EV = E_CHARGE
NU = 1e13
A = 0.5e-9


# --- closed forms --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("barriers", "fractions", "occupancy", "temperature"),
    [
        ((0.30 * EV, 0.331 * EV), (0.883, 0.117), 0.02, 298.0),
        ((0.30 * EV, 0.35 * EV), (0.75, 0.25), 0.4, 298.0),
        ((0.40 * EV, 0.36 * EV, 0.5 * EV), (0.5, 0.3, 0.2), 0.7, 500.0),
    ],
)
def test_closed_form_is_detailed_balance_with_the_mean(barriers, fractions, occupancy, temperature):
    n = equilibrium_occupancy(barriers, fractions, occupancy, temperature)
    x = log_prefactor(barriers, fractions, occupancy, temperature)
    odds = n / (1 - n)
    assert np.allclose(odds, np.exp(x + np.asarray(barriers) / (K_B * temperature)), rtol=1e-12)
    assert float(np.dot(fractions, n)) == pytest.approx(occupancy, rel=1e-13)
    # the slower phase (higher barrier) holds more ions
    assert list(np.argsort(n)) == list(np.argsort(barriers))


def test_equal_barriers_give_uniform_occupancy():
    n = equilibrium_occupancy((0.3 * EV, 0.3 * EV), (0.4, 0.6), 0.25, 298.0)
    assert np.allclose(n, 0.25, rtol=1e-14)


def test_canonical_average_tends_to_the_closed_form():
    barriers, temperature, occupancy = (0.30 * EV, 0.33 * EV), 298.0, 0.05
    ref = equilibrium_occupancy(barriers, (7, 1), occupancy, temperature)
    errors = []
    for sites in (80, 800, 8000, 80000):
        counts = (7 * sites // 8, sites // 8)
        can = canonical_occupancy(barriers, counts, round(occupancy * sites), temperature)
        errors.append(np.max(np.abs(can / ref - 1)))
    # relative difference O(1/N): ~10x smaller per decade of lattice size
    rates = [math.log10(errors[i] / errors[i + 1]) for i in range(len(errors) - 1)]
    assert min(rates) > 0.9, (errors, rates)
    assert errors[-1] < 1e-4
    assert canonical_occupancy((0.3 * EV,), (50,), 5, 298.0)[0] == pytest.approx(0.1)


def test_hop_rate_and_tracer_diffusivity():
    k = hop_rate(NU, 0.30 * EV, 298.0)
    assert k == pytest.approx(NU * math.exp(-0.30 * EV / (K_B * 298.0)), rel=1e-14)
    assert tracer_diffusivity(NU, A, 0.30 * EV, 298.0) == pytest.approx(k * A**2, rel=1e-14)


# --- lattice and engine bookkeeping ------------------------------------------------------------


def test_strip_lattice_of_dixit():
    lat = strip_lattice(60e-9, 60e-9, 7e-9, 0.5e-9)
    assert lat.shape == (120, 120)
    cols = np.flatnonzero(lat.phases[:, 0] == 1)
    assert list(cols) == list(range(53, 67))  # 14 columns, centred: 53 + 14 + 53 = 120
    assert np.all(lat.phases == lat.phases[:, :1])
    horizontal = strip_lattice(60e-9, 60e-9, 7e-9, 0.5e-9, "horizontal")
    assert np.array_equal(horizontal.phases, lat.phases.T)
    assert list(lat.site_counts) == [120 * 106, 120 * 14]


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((60e-9, 60e-9, 7e-9, 0.7e-9), "width"),
        ((60e-9, 60.3e-9, 7e-9, 0.5e-9), "height"),
        ((60e-9, 60e-9, 7.2e-9, 0.5e-9), "strip_width"),
        ((60e-9, 60e-9, 60e-9, 0.5e-9), "strip_width"),
        ((60e-9, 60e-9, 0.0, 0.5e-9), "strip_width"),
        ((60e-9, 60e-9, 7e-9, -1.0), "lattice_spacing"),
    ],
)
def test_bad_lattice_is_a_one_line_error(args, name):
    with pytest.raises(InputError) as err:
        strip_lattice(*args)
    msg = str(err.value)
    assert f"parameter {name} " in msg and "\n" not in msg
    with pytest.raises(InputError, match="strip_orientation"):
        strip_lattice(60e-9, 60e-9, 7e-9, 0.5e-9, "diagonal")


def test_event_lists_and_displacements_stay_consistent():
    """After every batch the O(1)-maintained event lists equal a recount from the occupation,
    the ion number is conserved and every ion sits at its start + unwrapped displacement."""
    lat = Lattice(np.array([[0, 1, 1, 0, 2]] * 4 + [[2, 2, 0, 0, 1]] * 2), A)
    proc = HopProcess(
        lat, hop_rate(NU, np.array([0.30, 0.33, 0.28]) * EV, 298.0), 13, np.random.default_rng(5)
    )
    nx, ny = lat.shape
    start = np.argwhere((proc.ion_at >= 0).reshape(lat.shape))[
        np.argsort(proc.ion_at[proc.ion_at >= 0])
    ]
    for _ in range(30):
        proc.run(337)
        for listed, possible in zip(proc.listed_events(), proc.possible_events(), strict=True):
            assert np.array_equal(listed, possible)
        where = np.flatnonzero(proc.ion_at >= 0)
        assert len(where) == 13
        ions = proc.ion_at[where]
        pos = np.column_stack(np.divmod(where, ny))
        expected = (start[ions] + proc.hops[ions]) % (nx, ny)
        assert np.array_equal(pos, expected)
    assert proc.events == 30 * 337 and proc.time > 0


def test_time_averages_conserve_the_ion_number():
    """Occupied-time bookkeeping: the time-averaged occupancy sums to the ion number exactly."""
    lat = strip_lattice(8e-9, 4e-9, 2e-9, 0.5e-9)
    res = simulate(lat, hop_rate(NU, [0.30 * EV, 0.32 * EV], 298.0), 37, 20_000, 5_000, 3)
    assert res.occupancy.sum() == pytest.approx(37, rel=1e-10)
    assert np.all((res.occupancy >= 0) & (res.occupancy <= 1 + 1e-12))
    assert res.events == 20_000 and res.time > res.averaging_time > 0


# --- statistics against the closed forms ---------------------------------------------------------

EQUILIBRIUM_CASES = [
    # E_bulk (eV), E_secondary (eV), T (K), mean occupancy
    (0.30, 0.30 + K_B * 298.0 * math.log(1 / 0.3) / EV, 298.0, 0.05),  # [D]'s assumed ratio
    (0.25, 0.31, 350.0, 0.10),
    (0.30, 0.35, 298.0, 0.40),  # dense: exclusion matters
    (0.40, 0.36, 500.0, 0.30),  # the strip is the fast phase
]


@pytest.mark.parametrize(("e1", "e2", "temperature", "occupancy"), EQUILIBRIUM_CASES)
def test_kmc_equilibrium_matches_closed_form(comm, e1, e2, temperature, occupancy, verify):
    lat = strip_lattice(16e-9, 8e-9, 4e-9, A)
    barriers = (e1 * EV, e2 * EV)
    ions = round(occupancy * lat.n_sites)
    res = run_replicas(lat, hop_rate(NU, barriers, temperature), ions, 260_000, 80_000, 7, 10, comm)
    ref = equilibrium_occupancy(barriers, lat.site_counts, ions / lat.n_sites, temperature)
    exact = canonical_occupancy(barriers, lat.site_counts, ions, temperature)
    for p in range(2):
        est = estimate([r.phase_occupancy[p] for r in res])
        assert est.stderr < 0.02 * ref[p]  # the check is sharp
        what = "KMC occupancies, 2 phases, 4 barrier pairs, T = 298–500 K, n̄ = 0.05–0.40"
        for key, value, r in (
            ("detailed_balance", ref[p], "n/(1−n) = A e^{E_a/k_BT} (grand canonical)"),
            ("canonical", exact[p], "the canonical (fixed ion number) average"),
        ):
            verify(
                f"occupancy_{key}_se",
                abs(est.deviation(value)),
                "<",
                3.0,
                reference=f"{r}: |KMC − closed form| in standard errors",
                what=what,
                msg=(p, est, value),
            )
    # the equilibrium holds at every site, boundary or not: each column within 4 SE
    cols = np.array([r.occupancy.mean(axis=1) for r in res])
    col_ref = ref[lat.phases[:, 0]]
    col_se = cols.std(axis=0, ddof=1) / math.sqrt(len(res))
    assert np.max(np.abs(cols.mean(axis=0) - col_ref) / col_se) < 4.0


def test_dilute_tracer_diffusivity(comm, verify):
    """Single phase, 0.4 % occupancy: ⟨r²⟩ = 4 D t with D = ν a² exp(−E_a/k_BT)."""
    barrier, temperature = 0.30 * EV, 298.0
    lat = Lattice(np.zeros((96, 96), dtype=np.int64), A)
    res = run_replicas(lat, [hop_rate(NU, barrier, temperature)], 36, 300_000, 1_000, 11, 16, comm)
    d = [np.mean(np.sum(r.displacement**2, axis=1)) / (4 * r.averaging_time) for r in res]
    est = estimate(d)
    ref = tracer_diffusivity(NU, A, barrier, temperature)
    assert est.stderr < 0.06 * ref
    verify(
        "tracer_diffusivity_se",
        abs(est.deviation(ref)),
        "<",
        3.0,
        reference="D = ν a² e^{−E_a/k_BT}: |KMC − D| in standard errors",
        what="KMC dilute tracer diffusivity (0.4 % occupancy)",
        msg=(est, ref),
    )


def test_replicas_do_not_depend_on_the_rank_count(comm):
    """Gathered replicas equal a serial recomputation from the spawned seeds, bit for bit."""
    lat = strip_lattice(8e-9, 6e-9, 2e-9, A)
    rates = hop_rate(NU, [0.30 * EV, 0.33 * EV], 298.0)
    res = run_replicas(lat, rates, 20, 5_000, 1_000, 42, 5, comm)
    assert [r.replica for r in res] == list(range(5))
    seeds = np.random.SeedSequence(42).spawn(5)
    for r in range(5):
        again = simulate(lat, rates, 20, 5_000, 1_000, seeds[r], replica=r)
        assert np.array_equal(again.occupancy, res[r].occupancy)
        assert again.time == res[r].time
    assert not np.array_equal(res[0].occupancy, res[1].occupancy)


# --- continuum counterpart and the problem ------------------------------------------------------


@pytest.mark.parametrize(
    ("e1", "e2", "temperature", "occupancy", "band"),
    [
        (0.30, 0.30 + K_B * 298.0 * math.log(1 / 0.3) / EV, 298.0, 0.02, (53, 14, 53)),  # [D]
        (0.40, 0.36, 500.0, 0.40, (7, 3, 8)),  # dense, the strip is the fast phase
    ],
)
def test_continuum_steady_state_is_the_closed_form(
    comm, e1, e2, temperature, occupancy, band, verify
):
    """FE lattice gas with nodal site energies: every vertex within 1e-6 of the closed form."""
    phase = np.repeat([0, 1, 0], band)
    barriers = (e1 * EV, e2 * EV)
    model, x, c = solve_continuum(phase, A, barriers, occupancy, temperature, NU, comm)
    assert np.allclose(x, (np.arange(len(phase)) + 0.5) * A, rtol=0, atol=1e-6 * A)
    ref = equilibrium_occupancy(barriers, np.bincount(phase), occupancy, temperature)
    verify(
        "fe_lattice_gas",
        np.max(np.abs(c / ref[phase] - 1)),
        "<",
        1e-6,
        reference="the same closed form: max |c / n − 1| at every vertex",
        what="FE continuum lattice gas at steady state (dilute [D] and dense)",
    )
    assert c.mean() == pytest.approx(occupancy, rel=1e-9)  # mass conserved by the march
    mu = np.concatenate(comm.allgather(model.fields()["mu"].x.array))
    assert np.ptp(mu) < 1e-6 * 8.314 * temperature  # μ uniform at steady state


SMALL = dict(
    width=16e-9,
    height=8e-9,
    strip_width=4e-9,
    occupancy=0.1,
    events=340_000,
    equilibration_events=100_000,
    replicas=8,
    seed=3,
)


def test_problem_reports_and_profile(comm, shared_tmp):
    """Phase means vs closed form (3 SE), continuum vs closed form (1e-6), KMC profile vs
    continuum column by column, CSV and pictures written."""
    res = femcm.run("ion_occupancy_kmc", out=shared_tmp / "run", comm=comm, plot=True, **SMALL)
    s = res.scalars
    for name in ("bulk", "secondary", "ratio"):
        assert abs(s[f"occupancy_{name}_deviation"]) < 3.0, (name, s)
        assert s[f"occupancy_{name}_stderr"] < 0.03 * s[f"occupancy_{name}_closed_form"]
    assert s["fe_closed_form_error"] < 1e-6
    assert s["occupancy_secondary_fe"] == pytest.approx(s["occupancy_secondary_closed_form"])
    assert s["occupancy_ratio_closed_form"] > 1  # the slow strip holds more ions
    assert s["events_per_second"] > 0 and s["simulated_time"] > s["averaging_time"] > 0
    with open(shared_tmp / "run" / "occupancy_profile.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 32
    kmc = np.array([float(r["kmc_mean"]) for r in rows])
    se = np.array([float(r["kmc_stderr"]) for r in rows])
    fe = np.array([float(r["continuum"]) for r in rows])
    phase = np.array([int(float(r["phase"])) for r in rows])
    assert list(np.flatnonzero(phase)) == list(range(12, 20))
    z = (kmc - fe) / se
    inner = np.ones(32, dtype=bool)
    inner[[11, 12, 19, 20]] = False  # columns at the phase boundary
    assert np.max(np.abs(z[inner])) < 4.0, z
    assert np.mean(z**2) < 2.5, z  # ≈ 1 if the profile scatters statistically
    for png in ("occupancy.png", "occupancy_profile.png"):
        assert (shared_tmp / "run" / png).stat().st_size > 10_000
    assert {"occupancy", "c", "mu"} <= set(res.fields)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"occupancy": 1.0}, "occupancy"),
        ({"occupancy": 0.0}, "occupancy"),
        ({"occupancy": 1e-6}, "occupancy"),  # no ion at all on the lattice
        ({"strip_width": 60e-9}, "strip_width"),
        ({"strip_width": 80e-9}, "strip_width"),
        ({"lattice_spacing": 0.7e-9}, "width"),
        ({"strip_width": 7.2e-9}, "strip_width"),
        ({"equilibration_events": 4_000_000}, "equilibration_events"),
        ({"E_bulk": 0.3}, "E_bulk"),  # eV typed where J is due
        ({"lattice_spacing": 1e-12}, "lattice_spacing"),  # 3.6e9 sites
        ({"strip_orientation": "diagonal"}, "strip_orientation"),
    ],
)
def test_bad_parameters_are_one_line_errors(override, name):
    from femcm.problem_scripts.ion_occupancy_kmc import Parameters

    assert issubclass(Parameters, ParameterSet)
    with pytest.raises(ValueError) as err:
        Parameters.create(override)
    msg = str(err.value)
    assert f"parameter {name} " in msg and "\n" not in msg, msg


@pytest.mark.serial
def test_same_statistics_on_one_and_two_ranks(tmp_path):
    script = str(REPO / "problems" / "ion_occupancy_kmc.py")
    sets = [f"--set={k}={v}" for k, v in SMALL.items()] + ["--set=events=40000"]
    sets += ["--set=equilibration_events=10000", "--set=replicas=3"]
    s1, s2 = script_scalars_one_and_two_ranks(script, sets, tmp_path)
    for k in s1:
        if k == "events_per_second":  # a timing
            continue
        if k.endswith("_fe") or k == "fe_closed_form_error":  # FE solve: round-off differs
            assert s2[k] == pytest.approx(s1[k], rel=1e-8, abs=1e-12), k
        else:  # the KMC statistics are bitwise the same
            assert s2[k] == s1[k], k
