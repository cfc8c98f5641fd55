"""``thick_cylinder``: Lamé's closed form (the worked example of docs/architecture.md).

Reference: Lamé's thick-walled cylinder, plane strain (Timoshenko & Goodier, §28):
σ_rr = A − B/r², σ_θθ = A + B/r², σ_zz = 2νA.
"""

from __future__ import annotations

import numpy as np
import pytest

import femcm


def _run(comm, h, **kw):
    return femcm.run("thick_cylinder", comm=comm, mesh_size=h, **kw).scalars


LAME = "Lamé (plane strain): σ_rr = A − B/r², σ_θθ = A + B/r², σ_zz = 2νA"


def test_lame_closed_form_and_rate(comm, verify):
    coarse, fine = _run(comm, 1e-4), _run(comm, 5e-5)
    what = "thick cylinder under internal pressure, P2, curved cells, h = a/10, a/20"
    for s in (coarse, fine):
        for key, tol in (("hoop_stress_inner", 1e-2), ("radial_displacement_inner", 5e-3)):
            verify.approx(
                key,
                s[key],
                s[f"{key}_exact"],
                tol,
                reference=f"{LAME}: {key.replace('_', ' ')}, relative error",
                what=what,
            )
    for name in ("sigma_rr_error", "sigma_tt_error", "sigma_zz_error"):
        rate = np.log2(coarse[name] / fine[name])
        print(f"{name}: {coarse[name]:.3e} -> {fine[name]:.3e}, rate {rate:.2f}")
        ref = f"{LAME}: relative L² error of {name.split('_')[1]}"
        verify(name, fine[name], "<", 5e-3, reference=f"{ref}, h = a/20", what=what)
        # P2 displacement: stress error O(h²)
        verify(f"{name}_rate", rate, ">", 1.8, reference=f"{ref}, rate", what=what)


def test_external_pressure_and_iterative_solver(comm):
    direct = _run(comm, 2e-4, outer_pressure=5e6)
    iterative = _run(comm, 2e-4, outer_pressure=5e6, linear_solver="iterative")
    assert direct["hoop_stress_inner"] == pytest.approx(direct["hoop_stress_inner_exact"], rel=2e-2)
    for k, v in direct.items():
        assert iterative[k] == pytest.approx(v, rel=1e-6, abs=1e-12)


def test_bad_input(comm):
    with pytest.raises(ValueError, match="outer_radius"):
        femcm.run("thick_cylinder", comm=comm, outer_radius=0.5e-3)
    with pytest.raises(ValueError, match="mesh_size"):
        femcm.run("thick_cylinder", comm=comm, mesh_size=1e-3)


def test_output_on_curved_mesh_reads_back(comm, shared_tmp):
    out = shared_tmp / "tc"
    res = femcm.run("thick_cylinder", out=out, comm=comm, mesh_size=2e-4)
    comm.barrier()
    loaded = femcm.load(out)
    assert loaded.scalars["hoop_stress_inner"] == pytest.approx(res.scalars["hoop_stress_inner"])
    assert {"u", "sigma_h", "von_mises"} <= set(loaded.fields)
