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


CH, IM, IP = "cahn_hilliard", "inclusion_mechanics", "inclusion_potential"
CH_TOML = "mesh_size = 1e-7\nt_end = 1.0\n"
VARY = ("study", IM, "--vary")
NUMPY = '__import__("numpy")'
OVERLAPPING = "[[1e-4,1e-4,5e-5],[1.5e-4,1e-4,5e-5]]"  # two inclusions that overlap
C_SWAPPED = ("free_energy=polynomial", "c_alpha=0.7", "c_beta=0.3")  # c_beta below c_alpha
IM_SETS = tuple(f"--set={s}" for s in IM_COARSE)

_LAMBDA = (
    "(lambda: [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == "
    "'catch_warnings'][0]()._module.__builtins__['open']('{PWN}', 'w'))()"
)


def _ch(id: str, key: str, value: str) -> tuple[str, ...]:
    """The row of a coarse ``cahn_hilliard`` run on the command line with ``--set KEY=VALUE``."""
    return (id, "cli", CH, key, *CH_COARSE, f"{key}={value}")


# One row a case: (id, channel, problem, word, *arguments); the arguments are the KEY=VALUE
# sets (cli, script), the lines of the TOML file (toml), the keyword-dict source (api) or the
# words after ``femcm`` (raw). One list a kind.
EXPRESSION = [  # the initial expression of cahn_hilliard
    _ch("expr_lambda", "initial", _LAMBDA),
    ("expr_lambda_script", "script", CH, "initial", *CH_COARSE, f"initial={_LAMBDA}"),
    ("expr_attribute", "cli", CH, "initial", "initial=().__class__"),
    ("expr_dunder", "cli", CH, "initial", "initial=__import__('os')"),
    _ch("expr_power", "initial", "9**9**9"),
    _ch("expr_div0", "initial", "1/0"),
    _ch("expr_subscript", "initial", "x[5]"),
    _ch("expr_string", "initial", "'abc'"),
    _ch("expr_above_1", "initial", "2.0"),
    _ch("expr_log0", "initial", "log(x)"),
    _ch("expr_syntax", "initial", "0.5 +"),
    _ch("expr_empty", "initial", ""),
    ("expr_toml_lambda", "toml", CH, "initial", CH_TOML, f'initial = "{_LAMBDA}"\n'),
    ("expr_api_lambda", "api", CH, "initial", f'{{"initial": "{_LAMBDA}"}}'),
]

MESH_FILE = [  # --set mesh_file=PATH on the command line (cahn_hilliard coarse)
    _ch(id, "mesh_file", path)
    if problem == CH
    else (id, "cli", IM, "mesh_file", f"mesh_file={path}")
    for id, problem, path in [
        ("msh_garbage", IM, "{DATA}/garbage.msh"),
        ("msh_empty", IM, "{DATA}/empty.msh"),
        ("msh_truncated", IM, "{DATA}/truncated.msh"),
        ("msh_no_groups", IM, "{DATA}/nogroups.msh"),
        ("msh_3d", CH, "{DATA}/box3d.msh"),
        ("msh_directory", CH, "{DATA}"),
        ("msh_garbage_ch", CH, "{DATA}/garbage.msh"),
        ("msh_binary_junk", CH, "{DATA}/junk.bin"),
        ("msh_missing", IM, "{DATA}/missing.msh"),
    ]
]

SIZE = [
    ("size_im_mesh", "cli", IM, "mesh_size", "mesh_size=1e-9", "mesh_size_inclusion=1e-9"),
    ("size_im_incl", "cli", IM, "mesh_size_inclusion", "mesh_size_inclusion=1e-10"),
    ("size_ip_mesh", "cli", IP, "mesh_size", "mesh_size=1e-9", "mesh_size_inclusion=1e-9"),
    ("size_ch_mesh", "cli", CH, "mesh_size", "mesh_size=1e-10"),
    _ch("size_ch_noise", "noise_modes", "1e10"),
    ("size_im_width", "cli", IM, "mesh_size", "width=1.0", "height=1.0"),
]

CROSS = [  # nonsense that was accepted
    ("cross_nan_output_times", "toml", CH, "output_times", CH_TOML, "output_times = [0.5, nan]\n"),
    ("cross_incl_mesh_size", "cli", IM, "mesh_size_inclusion", "mesh_size_inclusion=1e-3"),
    ("cross_li_thickness", "cli", IM, "li_thickness", *IM_COARSE, "li_thickness=1e-12"),
    _ch("cross_noise_wavelength", "noise_wavelength", "1e-300"),
    _ch("cross_dt_min", "dt_min", "1"),
    ("cross_c_beta", "cli", CH, "c_beta", *CH_COARSE, *C_SWAPPED),
    ("cross_pressure_inf", "cli", IM, "pressure", "pressure=1e999"),
    ("cross_temperature", "cli", IP, "temperature", *IP_COARSE, "temperature=1e-300"),
]

VALUE = [  # value types and formats
    ("value_word", "cli", IM, "pressure", "pressure=abc"),
    ("value_float_degree", "cli", IM, "degree", "degree=2.5"),
    ("value_bool", "cli", CH, "mechanics", "mechanics=maybe"),
    ("value_choice", "cli", IM, "linear_solver", "linear_solver=hypre"),
    ("value_tuple_len", "cli", IM, "inclusions", "inclusions=[[1e-4,1e-4]]"),
    ("value_radius", "cli", IM, "inclusions", "inclusions=[[1e-4,1e-4,-1e-5]]"),
    ("value_overlap", "script", IP, "inclusions", f"inclusions={OVERLAPPING}"),
    ("value_no_equals", "cli", IM, "--set", "pressure"),
    ("value_unknown", "cli", IM, "bogus", "bogus=1"),
    ("value_nu", "script", IM, "nu_220", "nu_220=0.7"),
    ("value_expr_in_number", "cli", IM, "pressure", "pressure=__import__('os')"),
    *[  # inclusion_mechanics, channel toml or api as the id begins: (id, word, text)
        (id, id.partition("_")[0], IM, word, text)
        for id, word, text in [
            ("toml_invalid", "not valid TOML", "pressure = = 1\n"),
            ("toml_unknown", "bogus", "bogus = 1\n"),
            ("toml_type", "pressure", 'pressure = "high"\n'),
            ("toml_table", "solver", "[solver]\ntol = 1\n"),
            ("toml_date", "pressure", "pressure = 1979-05-27\n"),
            ("api_string", "pressure", '{"pressure": "abc"}'),
            ("api_negative", "E_li", '{"E_li": -3.0}'),
            ("api_unknown", "bogus", '{"bogus": 1}'),
            ("api_list_for_float", "pressure", '{"pressure": [1, 2]}'),
            ("api_np_int_range", "degree", f'{{"degree": {NUMPY}.int64(7)}}'),
            ("api_np_nan", "pressure", f'{{"pressure": {NUMPY}.float32("nan")}}'),
            ("api_array_shape", "inclusions", f'{{"inclusions": {NUMPY}.ones((2, 2))}}'),
        ]
    ],
]

FILES = [  # config and output paths
    ("config_missing", "raw", IM, "missing.toml", "run", IM, "--config", "{DATA}/missing.toml"),
    ("config_binary", "raw", IM, "junk.bin", "run", IM, "--config", "{DATA}/junk.bin"),
    ("config_dev_zero", "raw", IM, "/dev/zero", "run", IM, "--config", "/dev/zero"),
    ("config_directory", "raw", IM, "config file", "run", IM, "--config", "{DATA}"),
    ("out_is_file", "raw", IM, "junk.bin", "run", IM, *IM_SETS, "--out", "{DATA}/junk.bin"),
    ("out_unwritable", "raw", IM, "/proc/femcm", "run", IM, *IM_SETS, "--out", "/proc/femcm"),
]

USAGE = [  # command-line usage
    ("unknown_problem", "raw", "", "valid problems", "run", "no_such_problem"),
    ("show_unknown", "raw", "", "valid problems", "show", "no_such_problem"),
    ("study_ranks0", "raw", "", "ranks", *VARY, "pressure=1e6,2e6", "--ranks", "0"),
    ("study_workers0", "raw", "", "workers", *VARY, "pressure=1e6,2e6", "--workers", "0"),
    ("study_vary_empty", "raw", "", "--vary", *VARY, "pressure="),
    ("study_vary_unknown", "raw", "", "bogus", *VARY, "bogus=1,2"),
    ("study_vary_bad_value", "raw", "", "pressure", *VARY, "pressure=1e6,abc"),
]

TABLE: dict[str, list[tuple[str, ...]]] = {
    "expression": EXPRESSION,
    "mesh_file": MESH_FILE,
    "size": SIZE,
    "cross": CROSS,
    "value": VALUE,
    "files": FILES,
    "usage": USAGE,
}
"""Kind -> its cases, one row each."""

ALSO_MPIRUN = {"expr_lambda_script", "msh_garbage", "size_ch_mesh"}
"""Cases also run under ``mpirun -n 2`` (one per channel that starts ranks differently)."""

_FIELD = {"cli": "sets", "script": "sets", "toml": "toml", "api": "api", "raw": "raw"}


def _case(kind: str, id: str, channel: str, problem: str, word: str, *args: str) -> Case:
    """One table row as a :class:`Case` (toml and api arguments are joined into one text)."""
    field = _FIELD[channel]
    value = args if field in ("sets", "raw") else "".join(args)
    return Case(id, kind, channel, problem, word, mpi=id in ALSO_MPIRUN, **{field: value})


CASES: list[Case] = [_case(kind, *row) for kind, rows in TABLE.items() for row in rows]
assert list(TABLE) == list(KINDS) and len({c.id for c in CASES}) == len(CASES)


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
