"""A battery of bad inputs over the CLI, problem scripts, TOML files and the Python API.

Each :class:`Case` is one thing a new user (or an attacker) might type. The expected outcome
is always the same: one line on stderr (rank 0) naming the parameter, exit status 2, no
traceback, nothing written into the output folder, and for code-injection payloads no file
created. Used by ``tests/test_bad_input.py`` (in-process and as subprocesses) and by
``benchmarks/bad_input_battery.py`` (every case as a subprocess, with a timeout and a memory
limit, for the before/after table of issue 14).

Placeholders in arguments: ``{DATA}`` (folder made by :func:`make_inputs`), ``{PWN}`` (a file
that a successful injection would create).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

IM_COARSE = ("mesh_size=40e-6", "mesh_size_inclusion=8e-6")
IP_COARSE = ("mesh_size=40e-6", "mesh_size_inclusion=8e-6")
CH_COARSE = ("mesh_size=1e-7", "t_end=1.0")

KINDS = {
    "expression": "initial expression (injection, hang, bad values)",
    "mesh_file": "mesh file contents",
    "size": "absurd sizes (cells, DOFs, arrays)",
    "cross": "nonsense accepted (cross-parameter, non-finite)",
    "value": "value types and formats (--set, TOML, API)",
    "files": "config and output paths",
    "usage": "command-line usage (study, names)",
}


@dataclasses.dataclass(frozen=True)
class Case:
    """One bad input.

    Attributes:
        id: short unique name.
        kind: key of :data:`KINDS`.
        channel: ``cli`` (``femcm run PROBLEM ARGS``), ``script`` (``problems/PROBLEM.py
            ARGS``), ``toml`` (``femcm run PROBLEM --config FILE`` with ``toml`` as the file),
            ``api`` (``femcm.run(PROBLEM, **api)``), or ``raw`` (``femcm ARGS``, no run).
        problem: problem name.
        word: what the one-line message must contain (the parameter, or the file/option).
        sets: ``KEY=VALUE`` overrides (cli, script; also added to toml and raw study cases).
        toml: the TOML text (channel toml).
        api: Python source of the keyword dict (channel api).
        raw: full argument list after ``femcm`` (channel raw; ``--out`` is added).
        mpi: also run under ``mpirun -n 2`` in the test suite.
    """

    id: str
    kind: str
    channel: str
    problem: str
    word: str
    sets: tuple[str, ...] = ()
    toml: str = ""
    api: str = ""
    raw: tuple[str, ...] = ()
    mpi: bool = False


def _c(id, kind, problem, word, *sets, channel="cli", mpi=False):
    return Case(id, kind, channel, problem, word, sets=tuple(sets), mpi=mpi)


def _t(id, kind, problem, word, toml):
    return Case(id, kind, "toml", problem, word, toml=toml)


def _a(id, kind, problem, word, api):
    return Case(id, kind, "api", problem, word, api=api)


def _r(id, kind, word, *raw):
    return Case(id, kind, "raw", "", word, raw=tuple(raw))


_LAMBDA = (
    "(lambda: [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
    "'catch_warnings'][0]()._module.__builtins__['open']('{PWN}', 'w'))()"
)

CASES: list[Case] = [
    # --- the initial expression of cahn_hilliard
    _c("expr_lambda", "expression", "cahn_hilliard", "initial", *CH_COARSE, f"initial={_LAMBDA}"),
    _c(
        "expr_lambda_script",
        "expression",
        "cahn_hilliard",
        "initial",
        *CH_COARSE,
        f"initial={_LAMBDA}",
        channel="script",
        mpi=True,
    ),
    _c("expr_attribute", "expression", "cahn_hilliard", "initial", "initial=().__class__"),
    _c("expr_dunder", "expression", "cahn_hilliard", "initial", "initial=__import__('os')"),
    _c("expr_power", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=9**9**9"),
    _c("expr_div0", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=1/0"),
    _c("expr_subscript", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=x[5]"),
    _c("expr_string", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial='abc'"),
    _c("expr_above_1", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=2.0"),
    _c("expr_log0", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=log(x)"),
    _c("expr_syntax", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial=0.5 +"),
    _c("expr_empty", "expression", "cahn_hilliard", "initial", *CH_COARSE, "initial="),
    _t(
        "expr_toml_lambda",
        "expression",
        "cahn_hilliard",
        "initial",
        'mesh_size = 1e-7\nt_end = 1.0\ninitial = "' + _LAMBDA + '"\n',
    ),
    _a("expr_api_lambda", "expression", "cahn_hilliard", "initial", f'{{"initial": "{_LAMBDA}"}}'),
    # --- mesh files
    _c(
        "msh_garbage",
        "mesh_file",
        "inclusion_mechanics",
        "mesh_file",
        "mesh_file={DATA}/garbage.msh",
        mpi=True,
    ),
    _c("msh_empty", "mesh_file", "inclusion_mechanics", "mesh_file", "mesh_file={DATA}/empty.msh"),
    _c(
        "msh_truncated",
        "mesh_file",
        "inclusion_mechanics",
        "mesh_file",
        "mesh_file={DATA}/truncated.msh",
    ),
    _c(
        "msh_no_groups",
        "mesh_file",
        "inclusion_mechanics",
        "mesh_file",
        "mesh_file={DATA}/nogroups.msh",
    ),
    _c(
        "msh_3d",
        "mesh_file",
        "cahn_hilliard",
        "mesh_file",
        *CH_COARSE,
        "mesh_file={DATA}/box3d.msh",
    ),
    _c("msh_directory", "mesh_file", "cahn_hilliard", "mesh_file", *CH_COARSE, "mesh_file={DATA}"),
    _c(
        "msh_garbage_ch",
        "mesh_file",
        "cahn_hilliard",
        "mesh_file",
        *CH_COARSE,
        "mesh_file={DATA}/garbage.msh",
    ),
    _c(
        "msh_binary_junk",
        "mesh_file",
        "cahn_hilliard",
        "mesh_file",
        *CH_COARSE,
        "mesh_file={DATA}/junk.bin",
    ),
    _c(
        "msh_missing",
        "mesh_file",
        "inclusion_mechanics",
        "mesh_file",
        "mesh_file={DATA}/missing.msh",
    ),
    # --- sizes
    _c(
        "size_im_mesh",
        "size",
        "inclusion_mechanics",
        "mesh_size",
        "mesh_size=1e-9",
        "mesh_size_inclusion=1e-9",
    ),
    _c(
        "size_im_incl",
        "size",
        "inclusion_mechanics",
        "mesh_size_inclusion",
        "mesh_size_inclusion=1e-10",
    ),
    _c(
        "size_ip_mesh",
        "size",
        "inclusion_potential",
        "mesh_size",
        "mesh_size=1e-9",
        "mesh_size_inclusion=1e-9",
    ),
    _c("size_ch_mesh", "size", "cahn_hilliard", "mesh_size", "mesh_size=1e-10", mpi=True),
    _c("size_ch_noise", "size", "cahn_hilliard", "noise_modes", *CH_COARSE, "noise_modes=1e10"),
    _c("size_im_width", "size", "inclusion_mechanics", "mesh_size", "width=1.0", "height=1.0"),
    # --- nonsense that was accepted
    _t(
        "cross_nan_output_times",
        "cross",
        "cahn_hilliard",
        "output_times",
        "mesh_size = 1e-7\nt_end = 1.0\noutput_times = [0.5, nan]\n",
    ),
    _c(
        "cross_incl_mesh_size",
        "cross",
        "inclusion_mechanics",
        "mesh_size_inclusion",
        "mesh_size_inclusion=1e-3",
    ),
    _c(
        "cross_li_thickness",
        "cross",
        "inclusion_mechanics",
        "li_thickness",
        *IM_COARSE,
        "li_thickness=1e-12",
    ),
    _c(
        "cross_noise_wavelength",
        "cross",
        "cahn_hilliard",
        "noise_wavelength",
        *CH_COARSE,
        "noise_wavelength=1e-300",
    ),
    _c("cross_dt_min", "cross", "cahn_hilliard", "dt_min", *CH_COARSE, "dt_min=1"),
    _c(
        "cross_c_beta",
        "cross",
        "cahn_hilliard",
        "c_beta",
        *CH_COARSE,
        "free_energy=polynomial",
        "c_alpha=0.7",
        "c_beta=0.3",
    ),
    _c("cross_pressure_inf", "cross", "inclusion_mechanics", "pressure", "pressure=1e999"),
    _c(
        "cross_temperature",
        "cross",
        "inclusion_potential",
        "temperature",
        *IP_COARSE,
        "temperature=1e-300",
    ),
    # --- value types and formats
    _c("value_word", "value", "inclusion_mechanics", "pressure", "pressure=abc"),
    _c("value_float_degree", "value", "inclusion_mechanics", "degree", "degree=2.5"),
    _c("value_bool", "value", "cahn_hilliard", "mechanics", "mechanics=maybe"),
    _c("value_choice", "value", "inclusion_mechanics", "linear_solver", "linear_solver=hypre"),
    _c("value_tuple_len", "value", "inclusion_mechanics", "inclusions", "inclusions=[[1e-4,1e-4]]"),
    _c(
        "value_radius",
        "value",
        "inclusion_mechanics",
        "inclusions",
        "inclusions=[[1e-4,1e-4,-1e-5]]",
    ),
    _c(
        "value_overlap",
        "value",
        "inclusion_potential",
        "inclusions",
        "inclusions=[[1e-4,1e-4,5e-5],[1.5e-4,1e-4,5e-5]]",
        channel="script",
    ),
    _c("value_no_equals", "value", "inclusion_mechanics", "--set", "pressure"),
    _c("value_unknown", "value", "inclusion_mechanics", "bogus", "bogus=1"),
    _c("value_nu", "value", "inclusion_mechanics", "nu_220", "nu_220=0.7", channel="script"),
    _c(
        "value_expr_in_number",
        "value",
        "inclusion_mechanics",
        "pressure",
        "pressure=__import__('os')",
    ),
    _t("toml_invalid", "value", "inclusion_mechanics", "not valid TOML", "pressure = = 1\n"),
    _t("toml_unknown", "value", "inclusion_mechanics", "bogus", "bogus = 1\n"),
    _t("toml_type", "value", "inclusion_mechanics", "pressure", 'pressure = "high"\n'),
    _t("toml_table", "value", "inclusion_mechanics", "solver", "[solver]\ntol = 1\n"),
    _t("toml_date", "value", "inclusion_mechanics", "pressure", "pressure = 1979-05-27\n"),
    _a("api_string", "value", "inclusion_mechanics", "pressure", '{"pressure": "abc"}'),
    _a("api_negative", "value", "inclusion_mechanics", "E_li", '{"E_li": -3.0}'),
    _a("api_unknown", "value", "inclusion_mechanics", "bogus", '{"bogus": 1}'),
    _a("api_list_for_float", "value", "inclusion_mechanics", "pressure", '{"pressure": [1, 2]}'),
    _a(
        "api_np_int_range",
        "value",
        "inclusion_mechanics",
        "degree",
        '{"degree": __import__("numpy").int64(7)}',
    ),
    _a(
        "api_np_nan",
        "value",
        "inclusion_mechanics",
        "pressure",
        '{"pressure": __import__("numpy").float32("nan")}',
    ),
    _a(
        "api_array_shape",
        "value",
        "inclusion_mechanics",
        "inclusions",
        '{"inclusions": __import__("numpy").ones((2, 2))}',
    ),
    # --- files and folders
    Case(
        "config_missing",
        "files",
        "raw",
        "inclusion_mechanics",
        "missing.toml",
        raw=("run", "inclusion_mechanics", "--config", "{DATA}/missing.toml"),
    ),
    Case(
        "config_binary",
        "files",
        "raw",
        "inclusion_mechanics",
        "junk.bin",
        raw=("run", "inclusion_mechanics", "--config", "{DATA}/junk.bin"),
    ),
    Case(
        "config_dev_zero",
        "files",
        "raw",
        "inclusion_mechanics",
        "/dev/zero",
        raw=("run", "inclusion_mechanics", "--config", "/dev/zero"),
    ),
    Case(
        "config_directory",
        "files",
        "raw",
        "inclusion_mechanics",
        "config file",
        raw=("run", "inclusion_mechanics", "--config", "{DATA}"),
    ),
    Case(
        "out_is_file",
        "files",
        "raw",
        "inclusion_mechanics",
        "junk.bin",
        raw=(
            "run",
            "inclusion_mechanics",
            *(f"--set={s}" for s in IM_COARSE),
            "--out",
            "{DATA}/junk.bin",
        ),
    ),
    Case(
        "out_unwritable",
        "files",
        "raw",
        "inclusion_mechanics",
        "/proc/femcm",
        raw=(
            "run",
            "inclusion_mechanics",
            *(f"--set={s}" for s in IM_COARSE),
            "--out",
            "/proc/femcm",
        ),
    ),
    # --- command-line usage
    _r("unknown_problem", "usage", "valid problems", "run", "no_such_problem"),
    _r("show_unknown", "usage", "valid problems", "show", "no_such_problem"),
    _r(
        "study_ranks0",
        "usage",
        "ranks",
        "study",
        "inclusion_mechanics",
        "--vary",
        "pressure=1e6,2e6",
        "--ranks",
        "0",
    ),
    _r(
        "study_workers0",
        "usage",
        "workers",
        "study",
        "inclusion_mechanics",
        "--vary",
        "pressure=1e6,2e6",
        "--workers",
        "0",
    ),
    _r(
        "study_vary_empty", "usage", "--vary", "study", "inclusion_mechanics", "--vary", "pressure="
    ),
    _r(
        "study_vary_unknown",
        "usage",
        "bogus",
        "study",
        "inclusion_mechanics",
        "--vary",
        "bogus=1,2",
    ),
    _r(
        "study_vary_bad_value",
        "usage",
        "pressure",
        "study",
        "inclusion_mechanics",
        "--vary",
        "pressure=1e6,abc",
    ),
]


def make_inputs(data: Path) -> None:
    """Write the files the cases refer to into ``data`` (gmsh meshes made here, rank 0 only)."""
    import gmsh

    data.mkdir(parents=True, exist_ok=True)
    (data / "garbage.msh").write_text("this is not a mesh\n$MeshFormat\n4.1 0 8\ngarbage\n")
    (data / "empty.msh").write_bytes(b"")
    (data / "junk.bin").write_bytes(bytes(range(256)) * 8)
    init = not gmsh.isInitialized()
    if init:
        gmsh.initialize(interruptible=False)
    gmsh.option.setNumber("General.Terminal", 0)
    try:
        gmsh.clear()
        gmsh.model.add("sq")
        gmsh.model.occ.addRectangle(0, 0, 0, 1e-4, 1e-4)
        gmsh.model.occ.synchronize()
        gmsh.option.setNumber("Mesh.MeshSizeMax", 2e-5)
        gmsh.model.mesh.generate(2)
        gmsh.write(str(data / "nogroups.msh"))
        gmsh.model.addPhysicalGroup(2, [1], 1, name="llzo_220")
        gmsh.write(str(data / "full.msh"))
        text = (data / "full.msh").read_text()
        (data / "truncated.msh").write_text(text[: len(text) // 2])
        gmsh.clear()
        gmsh.model.add("box")
        gmsh.model.occ.addBox(0, 0, 0, 1e-6, 1e-6, 1e-6)
        gmsh.model.occ.synchronize()
        gmsh.model.addPhysicalGroup(3, [1], 1, name="cube")
        gmsh.option.setNumber("Mesh.MeshSizeMax", 5e-7)
        gmsh.model.mesh.generate(3)
        gmsh.write(str(data / "box3d.msh"))
        gmsh.clear()
    finally:
        if init:
            gmsh.finalize()


def substitute(text: str, data: Path, pwn: Path) -> str:
    """Fill the ``{DATA}`` and ``{PWN}`` placeholders."""
    return text.replace("{DATA}", str(data)).replace("{PWN}", str(pwn))


def femcm_args(case: Case, data: Path, pwn: Path, out: Path) -> list[str]:
    """Arguments after ``python -m femcm`` (cli, toml, raw) or after the script path (script).

    For the toml channel the TOML file is written to ``data/<id>.toml``.
    """
    sets = []
    for s in case.sets:
        sets += ["--set", substitute(s, data, pwn)]
    if case.channel == "cli":
        return ["run", case.problem, *sets, "--out", str(out)]
    if case.channel == "script":
        return [*sets, "--out", str(out)]
    if case.channel == "toml":
        cfg = data / f"{case.id}.toml"
        cfg.write_text(substitute(case.toml, data, pwn))
        return ["run", case.problem, "--config", str(cfg), "--out", str(out)]
    if case.channel == "raw":
        args = [substitute(a, data, pwn) for a in case.raw]
        if "--out" in args or args[0] not in ("run", "study"):
            return args
        return [*args, "--out", str(out)]
    raise ValueError(case.channel)


def api_source(case: Case, data: Path, pwn: Path, out: Path) -> str:
    """Python source that runs an api case and exits 2 with the one-line message.

    The exception is raised on every rank; like a careful user script, only rank 0 prints.
    """
    kw = substitute(case.api, data, pwn)
    return (
        "import sys, femcm\n"
        "from mpi4py import MPI\n"
        "try:\n"
        f"    femcm.run({case.problem!r}, out={str(out)!r}, **{kw})\n"
        "except ValueError as exc:\n"
        "    if MPI.COMM_WORLD.rank == 0:\n"
        "        print('femcm: error:', str(exc), file=sys.stderr)\n"
        "    sys.exit(2)\n"
    )
