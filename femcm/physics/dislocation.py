r"""Non-singular straight dislocations in 2D: Cai's spreading and the eigenstrain.

A straight dislocation along z is described by its core position :math:`x_d`, Burgers vector
:math:`b`, core width :math:`a` and a cut: the half-line (or segment) :math:`S` from the core
in the unit direction :math:`t`, with unit normal :math:`n` ([Cai, C, Z]).
Its eigenstrain is

.. math::

    \varepsilon^D = \mathrm{sym}(b\otimes n)\,W(x),\qquad
    W(x) = \int_S w_2(|x - x'|)\,\mathrm{d}s',\qquad
    w_2(\rho) = \frac{2a^4}{\pi(\rho^2 + a^2)^3},

:math:`w_2` being the z-integral of Cai's spreading function
:math:`w(r) = 15a^4/(8\pi(r^2+a^2)^{7/2})` (:math:`\int w_2\,\mathrm dA = 1`). With
:math:`s_\parallel = (x - x_d)\cdot t`, :math:`s_\perp = (x - x_d)\cdot n`,
:math:`q^2 = s_\perp^2 + a^2` and :math:`\tau = q\cot\theta`, the half-line integral is

.. math::

    W = \frac{2a^4}{\pi q^5}\int_0^{\theta_0}\sin^4\theta\,\mathrm d\theta
      = \frac{2a^4}{\pi q^5}\Big[\frac{3\theta_0}{8} - \frac{\sin 2\theta_0}{4}
        + \frac{\sin 4\theta_0}{32}\Big],\qquad \theta_0 = \operatorname{atan2}(q, -s_\parallel),

the same closed form as Cai et al. (2006) (usually written with atan2 and rational terms), but
free of cancellation behind the core (small :math:`\theta_0`, where a Taylor series is used).
A cut of finite length L (clipped where it meets the boundary) is the difference of the
half-lines from :math:`x_d` and from :math:`x_d + L t`.

Glide cut: :math:`n \perp b` (the slip plane); climb cut (extra half-plane, misfit
dislocations): :math:`n \parallel b`. Sign: b = +b e_x with the cut along −x and n = +e_y is
Hirth–Lothe's edge dislocation (line +z, extra half-plane in y > 0, compression above the slip
plane). In general the stress field is that of Hirth–Lothe's dislocation (line +z) with the
effective Burgers vector :math:`b_\mathrm{HL} = -[(t\times n)\cdot e_z]\,b`, since reversing
the cut direction with b reversed gives the same eigenstrain up to a compatible field.

The closed-form stress fields and the Peach–Koehler force of such a dislocation are in
:mod:`femcm.physics.dislocation_stress`.

References: W. Cai, A. Arsenlis, C. R. Weinberger, V. V. Bulatov, J. Mech. Phys. Solids 54
(2006) 561; J. P. Hirth, J. Lothe, Theory of Dislocations (1982); [C] Cojocaru-Mirédin et
al., J. Power Sources (2025); [Z] Zhou et al., Arch. Appl. Mech. 91 (2021) 4499.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import ufl

from femcm.base.errors import InputError, check_range

__all__ = [
    "Dislocation",
    "DislocationEigenstrain",
    "dislocation_eigenstrain",
    "half_line_integral",
    "spreading_2d",
]

Expr = ufl.core.expr.Expr
Vec2 = tuple[float, float]


def spreading_2d(rho, a: float):
    """w₂(ρ) = 2a⁴/(π(ρ² + a²)³), 1/m²: Cai's spreading function integrated along the line."""
    return 2 * a**4 / (np.pi * (np.asarray(rho, dtype=float) ** 2 + a**2) ** 3)


# Taylor coefficients of ∫₀^θ sin⁴: sin⁴θ = (3 − 4 cos 2θ + cos 4θ)/8 = Σ_m c_m θ^{2m}.
_M = np.arange(2, 15)
_SIN4_SERIES = np.array(
    [
        (-1.0) ** m
        * (4.0 ** (2 * m) - 4 * 2.0 ** (2 * m))
        / (8 * math.factorial(2 * m))
        / (2 * m + 1)
        for m in _M
    ]
)


def _sin4_integral(theta: np.ndarray) -> np.ndarray:
    """∫₀^θ sin⁴ = 3θ/8 − sin 2θ/4 + sin 4θ/32, by its Taylor series for θ < 0.5."""
    out = 3 * theta / 8 - np.sin(2 * theta) / 4 + np.sin(4 * theta) / 32
    small = theta < 0.5
    if np.any(small):
        ts = theta[small]
        out[small] = sum(c * ts ** (2 * m + 1) for c, m in zip(_SIN4_SERIES, _M, strict=True))
    return out


def half_line_integral(s_par, s_perp, a: float) -> np.ndarray:
    """∫₀^∞ w₂(|x − x_d − s t|) ds (1/m) at signed coordinates (s_∥, s_⊥) of x − x_d.

    s_∥ along the half-line's direction t, s_⊥ across it.
    """
    s_par = np.asarray(s_par, dtype=float)
    q2 = np.asarray(s_perp, dtype=float) ** 2 + a**2
    q = np.sqrt(q2)
    theta = np.arctan2(q, -s_par)
    return (
        2 * a**4 / (np.pi * q2 * q2 * q) * _sin4_integral(np.atleast_1d(theta)).reshape(theta.shape)
    )


def _unit(v: Sequence[float], name: str) -> Vec2:
    v = np.asarray(v, dtype=float)
    if v.shape != (2,) or not np.all(np.isfinite(v)):
        raise InputError(f"parameter {name} must be a finite 2-vector, got {v!r}")
    norm = float(np.hypot(*v))
    if norm == 0:
        raise InputError(f"parameter {name} must be non-zero")
    return (float(v[0] / norm), float(v[1] / norm))


@dataclasses.dataclass(frozen=True)
class Dislocation:
    """A straight non-singular dislocation along z with its cut (SI units)."""

    position: Vec2
    """Core position x_d, m."""
    burgers: Vec2
    """Burgers vector b (in-plane), m."""
    cut: Vec2
    """Unit direction t of the cut from the core (normalised on construction)."""
    normal: Vec2
    """Unit normal n of the cut (normalised; must be ⊥ t)."""
    core_width: float
    """Core width a (h in [C]), m."""
    cut_length: float = math.inf
    """Length L of the cut from the core (m); ∞: a half-line."""

    def __post_init__(self) -> None:
        check_range("core_width", self.core_width, gt=0.0)
        if not self.cut_length > 0:
            raise InputError(
                f"parameter cut_length = {self.cut_length!r} is out of range: must be > 0"
            )
        b = np.asarray(self.burgers, dtype=float)
        if b.shape != (2,) or not np.all(np.isfinite(b)) or not np.any(b):
            raise InputError(f"parameter burgers must be a non-zero 2-vector, got {self.burgers!r}")
        t, n = _unit(self.cut, "cut"), _unit(self.normal, "normal")
        if abs(t[0] * n[0] + t[1] * n[1]) > 1e-9:
            raise InputError("parameter normal must be perpendicular to the cut direction")
        object.__setattr__(self, "position", (float(self.position[0]), float(self.position[1])))
        object.__setattr__(self, "burgers", (float(b[0]), float(b[1])))
        object.__setattr__(self, "cut", t)
        object.__setattr__(self, "normal", n)

    @classmethod
    def glide(
        cls, position: Sequence[float], burgers: Sequence[float], core_width: float, **kw
    ) -> Dislocation:
        """Glide cut along −b̂ with n = ẑ × b̂ (b = +b e_x: cut along −x, n = +e_y)."""
        bx, by = _unit(burgers, "burgers")
        return cls(tuple(position), tuple(burgers), (-bx, -by), (-by, bx), core_width, **kw)

    @classmethod
    def climb(
        cls,
        position: Sequence[float],
        burgers: Sequence[float],
        core_width: float,
        cut: Sequence[float],
        **kw,
    ) -> Dislocation:
        """Climb cut (extra half-plane) in direction ``cut`` ⊥ b, with n = b̂."""
        return cls(
            tuple(position), tuple(burgers), tuple(cut), _unit(burgers, "burgers"), core_width, **kw
        )

    @property
    def magnitude(self) -> float:
        """|b|, m."""
        return float(np.hypot(*self.burgers))

    @property
    def hirth_lothe_burgers(self) -> Vec2:
        """b_HL = −[(t × n)·e_z] b: the Burgers vector of the equivalent line-+z dislocation."""
        t, n = self.cut, self.normal
        s = t[0] * n[1] - t[1] * n[0]
        return (-s * self.burgers[0], -s * self.burgers[1])

    def local(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(s_∥, s_⊥): coordinates of (x, y) along the cut and along its normal."""
        dx, dy = np.asarray(x) - self.position[0], np.asarray(y) - self.position[1]
        t, n = self.cut, self.normal
        return dx * t[0] + dy * t[1], dx * n[0] + dy * n[1]

    def W(self, x, y) -> np.ndarray:
        """The spreading field ∫_S w₂ ds (1/m) at (x, y), clipped at ``cut_length``."""
        s_par, s_perp = self.local(x, y)
        w = half_line_integral(s_par, s_perp, self.core_width)
        if math.isfinite(self.cut_length):
            w = w - half_line_integral(s_par - self.cut_length, s_perp, self.core_width)
        return w

    def strain_tensor(self) -> np.ndarray:
        """sym(b ⊗ n) (m), 2×2."""
        b, n = np.asarray(self.burgers), np.asarray(self.normal)
        return 0.5 * (np.outer(b, n) + np.outer(n, b))

    def clipped(self, box: tuple[Vec2, Vec2]) -> Dislocation:
        """This dislocation with its cut ending where it leaves ``box`` = ((x0, y0), (x1, y1))."""
        (x0, y0), (x1, y1) = box
        px, py = self.position
        if not (x0 < px < x1 and y0 < py < y1):
            raise InputError(f"dislocation core {self.position} is outside the domain {box}")
        lengths = []
        for p, d, lo, hi in ((px, self.cut[0], x0, x1), (py, self.cut[1], y0, y1)):
            if d > 1e-14:
                lengths.append((hi - p) / d)
            elif d < -1e-14:
                lengths.append((lo - p) / d)
        return dataclasses.replace(self, cut_length=min(min(lengths), self.cut_length))


def dislocation_eigenstrain(W: Expr, burgers: Vec2, normal: Vec2) -> Expr:
    """ε^D = sym(b ⊗ n) W as a 3×3 UFL tensor (plane strain: zero out of plane)."""
    b = (*burgers, 0.0)
    n = (*normal, 0.0)
    return ufl.as_matrix(
        [[0.5 * (b[i] * n[j] + b[j] * n[i]) * W for j in range(3)] for i in range(3)]
    )


@dataclasses.dataclass(frozen=True, eq=False)
class DislocationEigenstrain:
    """ε^D = sym(b ⊗ n) W, independent of c (an eigenstrain source of the c–μ–u model).

    ``W`` is the spreading field in 1/m (normally the DG0 cell averages of
    :meth:`Dislocation.W` summed over dislocations sharing b and n).
    """

    W: Expr
    burgers: Vec2
    """b, m."""
    normal: Vec2
    """n (unit)."""

    def __call__(self, c: Expr) -> Expr:
        """sym(b ⊗ n) W (3×3, dimensionless); c is ignored."""
        return dislocation_eigenstrain(self.W, self.burgers, self.normal)
