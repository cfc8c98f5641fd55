"""The safe expression evaluator: what it computes, what it refuses, and that refusing runs nothing.

The escapes are the known ways out of an ``eval`` sandbox: lambdas and comprehensions (whose
names the old filter of ``co_names`` never saw), attribute chains to ``object.__subclasses__``,
subscripts, dunder names, strings, keyword/starred arguments and huge powers. Each payload
would create a file; the test checks that parsing *and* evaluating refuse it and that no file
appears. The same payload run through the pre-fix filter does create the file (the control
that shows the payloads are real and the test can fail).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from femcm.base.errors import InputError
from femcm.base.expression_names import MAX_EXPONENT
from femcm.base.expressions import parse_expression

NAMES = ("x", "y", "width", "height")


def _pts():
    x = np.linspace(0.0, 1e-6, 7)
    return {"x": x, "y": x[::-1], "width": 1e-6, "height": 1e-6}


VALUES = [
    ("0.5", lambda x, y, w, h: np.full_like(x, 0.5)),
    ("2", lambda x, y, w, h: np.full_like(x, 2.0)),
    (
        "0.5 + 0.3*tanh((x - width/2)/2e-8)",
        lambda x, y, w, h: 0.5 + 0.3 * np.tanh((x - w / 2) / 2e-8),
    ),
    (
        "0.5 + 0.1*sin(2*pi*x/width)*cos(pi*y/height)",
        lambda x, y, w, h: 0.5 + 0.1 * np.sin(2 * np.pi * x / w) * np.cos(np.pi * y / h),
    ),
    ("where(x < width/2, 0.1, 0.9)", lambda x, y, w, h: np.where(x < w / 2, 0.1, 0.9)),
    (
        "0.2 + 0.6*((x > 3e-7) & (y > 3e-7))",
        lambda x, y, w, h: 0.2 + 0.6 * ((x > 3e-7) & (y > 3e-7)),
    ),
    ("0.1 + 0.8*(x < y)", lambda x, y, w, h: 0.1 + 0.8 * (x < y)),
    ("-x**2/width**2 + 1", lambda x, y, w, h: -(x**2) / w**2 + 1),
    ("(2*x/width) % 1", lambda x, y, w, h: np.mod(2 * x / w, 1)),
    (
        "sqrt(abs(x - y))/1e-3 + exp(-x/width) + log(1 + y/height)",
        lambda x, y, w, h: np.sqrt(np.abs(x - y)) / 1e-3 + np.exp(-x / w) + np.log(1 + y / h),
    ),
    (
        "minimum(x, y) + maximum(x, y) + arctan2(y, x + 1e-9)",
        lambda x, y, w, h: np.minimum(x, y) + np.maximum(x, y) + np.arctan2(y, x + 1e-9),
    ),
    ("0 < x/width <= 0.5", lambda x, y, w, h: ((0 < x / w) & (x / w <= 0.5)).astype(float)),
]


def test_values():
    p = _pts()
    for text, expected in VALUES:
        got = parse_expression("initial", text, NAMES)(**p)
        ref = expected(p["x"], p["y"], p["width"], p["height"])
        assert got.shape == p["x"].shape, text
        np.testing.assert_allclose(got, ref, rtol=1e-14, atol=0, err_msg=text)


def test_constant_broadcasts_and_float_arithmetic():
    e = parse_expression("initial", "1/3", NAMES)
    v = e(**_pts())
    assert v.dtype == np.float64 and v.shape == (7,)
    assert v[0] == pytest.approx(1 / 3, rel=1e-15)  # integer division would give 0
    assert parse_expression("c", "7/2", ())() == 3.5


def _payloads(target):
    """Expressions that, if evaluated by ``eval``, create the file ``target``."""
    t = str(target)
    opener = (
        "[c for c in ().__class__.__base__.__subclasses__() if c.__name__ == 'catch_warnings']"
        f"[0]()._module.__builtins__['open']({t!r}, 'w')"
    )
    return {
        "lambda": f"(lambda: {opener})()",
        "comprehension": opener,
        "generator": f"list(c for c in [{opener}])",
        "attribute": f"().__class__.__base__.__subclasses__()[0]({t!r})",
        "subscript": f"x[0] + {opener}[0]",
        "dunder": f"__import__('builtins').open({t!r}, 'w')",
        "builtins": f"__builtins__['open']({t!r}, 'w')",
        "keyword": f"sin(x, out=open({t!r}, 'w'))",
        "starred": f"exp(*[open({t!r}, 'w')])",
        "walrus": f"(f := open({t!r}, 'w'))",
        "conditional": f"open({t!r}, 'w') if x else 0",
        "fstring": f"f'{{open({t!r}, \"w\")}}'",
        "set": f"{{open({t!r}, 'w')}}",
        "dict": f"{{1: open({t!r}, 'w')}}",
        "call_of_call": f"where(x, y, x)(open({t!r}, 'w'))",
    }


def _old_filter_eval(text):
    """The pre-fix cahn_hilliard check: names of the outer code object, then ``eval``."""
    allowed = {"pi", "sin", "cos", "exp", "tanh", "sqrt", "where", "abs", "log"}
    code = compile(text, "<initial>", "eval")
    if set(code.co_names) - allowed - {"x", "y", "width", "height"}:
        return None
    env = {"__builtins__": {}, "pi": np.pi, "x": np.zeros(1), "y": np.zeros(1)}
    return eval(code, env)  # the hole this module closes


def test_old_filter_lets_the_lambda_escape_run(tmp_path):
    """Control: the lambda payload really creates the file through the pre-fix filter."""
    target = tmp_path / "pwned_control"
    _old_filter_eval(_payloads(target)["lambda"])
    assert target.exists()


def test_escapes_refused_and_nothing_runs(tmp_path):
    for kind in sorted(_payloads("T")):
        target = tmp_path / f"pwned_{kind}"
        text = _payloads(target)[kind]
        with pytest.raises(InputError) as info:
            e = parse_expression("initial", text, NAMES)
            e(**_pts())  # not reached: refused while parsing
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith("parameter initial"), (kind, msg)
        assert not target.exists(), kind


REFUSED = [
    ("9**9**9", "power of a power"),
    ("x**1e6", "exponent"),
    (f"2**{MAX_EXPONENT + 1:g}", "exponent"),
    ("x**-100", "exponent"),
    ("x[5]", "subscript (a[i])"),
    ("'abc'", "str"),
    ("b'abc'", "bytes"),
    ("True", "bool"),
    ("1j", "complex"),
    ("...", "ellipsis"),
    ("None", "NoneType"),
    ("x.real", "attribute (a.b)"),
    ("(x, y)", "a tuple"),
    ("[x]", "a list"),
    ("foo(x)", "'foo'"),
    ("sin", "unknown name 'sin'"),
    ("z", "unknown name 'z'"),
    ("__class__", "unknown name"),
    ("where(x, y)", "takes 3"),
    ("x and y", "and/or"),
    ("not x", "Not"),
    ("x // 2", "FloorDiv"),
    ("x << 2", "LShift"),
    ("x is y", "Is"),
    ("x in y", "In"),
    ("", "empty"),
    ("   ", "empty"),
    ("0.5 +", "not a valid expression"),
    ("x\0", "not a valid expression"),
    ("(" * 400 + "x" + ")" * 400, "not a valid expression"),
    ("+" * 300 + "x", "nested"),
    ("x" + "+x" * 1500, "longer than"),
    ("1" + "0" * 400, "beyond float range"),
]


def test_refused_with_one_line():
    for text, why in REFUSED:
        with pytest.raises(InputError) as info:
            parse_expression("initial", text, NAMES)(**_pts())
        msg = str(info.value)
        assert "\n" not in msg and msg.startswith("parameter initial"), msg
        assert why in msg, msg


NOT_FINITE = [
    ("1/0", "x = 0"),
    ("log(x)", "x = 0"),
    ("sqrt(x - width)", "x = 0"),
    ("1/(x - 5e-7)", "x = 5e-07"),
    ("x**64/1e-300**0 * 1e300**2", "x = 0"),
]


def test_not_finite_is_an_input_error_naming_the_point():
    for text, where in NOT_FINITE:
        with pytest.raises(InputError) as info:
            parse_expression("initial", text, NAMES)(**_pts())
        msg = str(info.value)
        assert "not finite" in msg and where in msg and "\n" not in msg, msg


def test_long_sums_are_fine_and_bounded():
    text = "+".join(["x/width"] * 90)
    v = parse_expression("initial", text, NAMES)(**_pts())
    assert v[-1] == pytest.approx(90.0)


def test_missing_value_named():
    with pytest.raises(InputError, match="no value for y"):
        parse_expression("initial", "x + y", NAMES)(x=1.0, width=1.0, height=1.0)


def test_huge_power_takes_no_time():
    """``2.0**1e3``-style growth is float arithmetic: inf, reported, at once."""
    import time

    t0 = time.perf_counter()
    with pytest.raises(InputError, match="not finite"):
        parse_expression("initial", "(x + 10)**64 * 1e300", NAMES)(**_pts())
    assert time.perf_counter() - t0 < 1.0
    assert math.isfinite(parse_expression("initial", "(x/width)**64", NAMES)(**_pts())[-1])
