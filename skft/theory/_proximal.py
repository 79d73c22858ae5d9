"""Proximal maps of the estimators' losses and their Gaussian averages.

The proportional limit of ``(1/n) sum_i loss(y_i, x_i'w + b) + (alpha/2) ||w - w0||^2``
sees the loss only through its proximal map at a Gaussian input: with the leave-one-out
prediction ``P`` of a sample (Gaussian given its class) and the susceptibility ``V``,

.. math:: p = \\mathrm{prox}_{V \\ell(y, \\cdot)}(P)
          = \\arg\\min_p \\ell(y, p) + \\frac{(p - P)^2}{2 V},
          \\qquad f = \\frac{p - P}{V} = -\\partial_p \\ell(y, p).

The fixed point needs three averages per class: ``E f``, ``E f^2`` and
``E[1 - dp/dP]`` (the share of the loss's curvature the sample keeps). For the
piecewise-linear proximal maps (squared, hinge, modified huber, huber,
epsilon-insensitive) each is a sum of truncated Gaussian moments, computed in closed form;
the logistic loss is averaged by Gauss-Hermite quadrature, its proximal map found by
safeguarded Newton steps. Where a loss has a zero set ``S`` (every loss but the logistic),
``V -> inf`` gives the *hard* limit ``V f -> proj_S(P) - P`` and
``E[1 - dp/dP] -> P(P not in S)``: the ``alpha -> 0+`` limit (interpolation, max margin).

Conventions: margin losses (classification, labels ``+-1``) work on the margin ``Z = y P``,
``f = y g(Z)``; residual losses (regression) on the residual ``r0 = P - eps`` at the
prediction, ``f = (prox(r0) - r0) / V``, averaged over the noise law's mixture components.
"""

import numpy as np
from scipy.special import expit, ndtr, roots_hermitenorm, roots_legendre

__all__ = ["get_channel", "CHANNELS"]

_SQRT2PI = np.sqrt(2.0 * np.pi)
_GL_X, _GL_W = roots_legendre(8)
_GL16_X, _GL16_W = roots_legendre(16)
_GH_X, _GH_W = roots_hermitenorm(40)
_GH_W = _GH_W / _SQRT2PI


def _pdf(x):
    return np.exp(-0.5 * x * x) / _SQRT2PI


def _normal_nodes(mean, sd, band=None, width=None, breaks=()):
    """Nodes and weights for ``E h(Z)``, ``Z ~ N(mean, sd^2)``, by composite Gauss-Legendre.

    Panels of width ``sd`` over ``mean +- 10 sd``, refined to ``width`` inside ``band`` (where
    ``h`` varies on a scale shorter than ``sd``), with panel edges at ``breaks`` (kinks of
    ``h``): 16 nodes per panel. Gauss-Hermite alone fails when ``sd`` is much larger than the
    scale of ``h`` (a logistic transition seen through a wide Gaussian).
    """
    if not sd > 0:
        return np.array([float(mean)]), np.ones(1)
    lo, hi = mean - 10.0 * sd, mean + 10.0 * sd
    edges = [np.linspace(lo, hi, 21)]
    if band is not None:
        b_lo, b_hi = max(band[0], lo), min(band[1], hi)
        if b_hi > b_lo:
            step = min(width, sd)
            edges.append(np.linspace(b_lo, b_hi, int(np.ceil((b_hi - b_lo) / step)) + 1))
    edges.append(np.asarray([b for b in breaks if lo < b < hi], dtype=np.float64))
    e = np.unique(np.concatenate(edges))
    half = 0.5 * np.diff(e)[:, None]
    Z = (0.5 * (e[1:] + e[:-1]))[:, None] + half * _GL16_X
    w = half * _GL16_W * _pdf((Z - mean) / sd) / sd
    return Z.ravel(), w.ravel()


def _piece(mu, s, lo, hi):
    """``(E[1; I], E[W; I], E[W^2; I])`` for ``W ~ N(mu, s^2)`` and ``I = [lo, hi)``.

    ``lo``/``hi`` may be infinite; ``s = 0`` is the point mass at ``mu``. Closed form with
    the standard normal's partial moments; an interval narrower than ``s / 2`` is integrated
    by 8-point Gauss-Legendre instead (the closed form cancels there: its second moment is
    ``O(width^3)`` computed from ``O(1)`` terms).
    """
    mu, s, lo, hi = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (mu, s, lo, hi))
    )
    pos = s > 0
    ss = np.where(pos, s, 1.0)
    with np.errstate(invalid="ignore"):
        a = (lo - mu) / ss
        b = (hi - mu) / ss
        # Phi(b) - Phi(a) computed on the side where it does not cancel
        m0 = np.where(a > 0, ndtr(-a) - ndtr(-b), ndtr(b) - ndtr(a))
        pa, pb = _pdf(a), _pdf(b)
        m1 = pa - pb
        apa = np.where(np.isfinite(a), a * pa, 0.0)
        bpb = np.where(np.isfinite(b), b * pb, 0.0)
        m2 = m0 + apa - bpb
        e0 = m0
        e1 = mu * m0 + ss * m1
        e2 = mu * mu * m0 + 2.0 * mu * ss * m1 + ss * ss * m2
        narrow = pos & np.isfinite(a) & np.isfinite(b) & (b - a < 0.5)
        if np.any(narrow):
            half = 0.5 * (b - a)[..., None]
            u = 0.5 * (a + b)[..., None] + half * _GL_X  # standardised nodes
            wts = half * _GL_W * _pdf(u)
            w_nodes = mu[..., None] + ss[..., None] * u
            e0 = np.where(narrow, wts.sum(-1), e0)
            e1 = np.where(narrow, (wts * w_nodes).sum(-1), e1)
            e2 = np.where(narrow, (wts * w_nodes**2).sum(-1), e2)
    # point mass
    inside = (lo <= mu) & (mu < hi)
    e0 = np.where(pos, e0, inside * 1.0)
    e1 = np.where(pos, e1, inside * mu)
    e2 = np.where(pos, e2, inside * mu * mu)
    return e0, e1, e2


# --------------------------------------------------------------------------- margin losses
class _Margin:
    """Margin loss ``ell(y p) = l(z)``; methods take the margin mean ``a = y E P``."""

    kind = "margin"
    has_zero_set = True

    def moments(self, a, s, V):
        """``(E g, E g^2, E[1 - dz*/dZ])`` for ``Z ~ N(a, s^2)``, ``g = (z* - Z)/V``."""
        raise NotImplementedError

    def hard(self, a, s):
        """``V -> inf``: ``g V -> (1 - Z)_+`` (projection on the zero set ``z >= 1``)."""
        e0, e1, e2 = _piece(np.asarray(a) - 1.0, s, -np.inf, 0.0)
        return -e1, e2, e0

    def hard_g(self, Z):
        return np.maximum(1.0 - Z, 0.0)


class SquaredMargin(_Margin):
    """``(1 - z)^2 / 2`` (the squared error on +-1 labels)."""

    def moments(self, a, s, V):
        a = np.asarray(a, dtype=np.float64)
        w_mean = a - 1.0
        g1 = -w_mean / (1.0 + V)
        g2 = (w_mean**2 + np.asarray(s) ** 2) / (1.0 + V) ** 2
        d = np.broadcast_to(V / (1.0 + V), g1.shape)
        return g1, g2 + 0.0 * g1, d + 0.0 * g1

    def hard(self, a, s):
        w_mean = np.asarray(a, dtype=np.float64) - 1.0
        return -w_mean, w_mean**2 + np.asarray(s) ** 2, np.ones_like(w_mean)

    def hard_g(self, Z):
        return 1.0 - Z

    def g(self, Z, V):
        return (1.0 - Z) / (1.0 + V)

    def prox(self, Z, V):
        return (Z + V) / (1.0 + V)


class Hinge(_Margin):
    """``max(0, 1 - z)``."""

    def moments(self, a, s, V):
        w = np.asarray(a, dtype=np.float64) - 1.0  # W = Z - 1
        i0, i1, i2 = _piece(w, s, -V, 0.0)  # flat part: z* = 1, g = -W / V
        t0, _, _ = _piece(w, s, -np.inf, -V)  # linear part: g = 1
        return -i1 / V + t0, i2 / V**2 + t0, i0

    def g(self, Z, V):
        return np.clip((1.0 - Z) / V, 0.0, 1.0)

    def prox(self, Z, V):
        return np.where(Z >= 1.0, Z, np.where(Z >= 1.0 - V, 1.0, Z + V))


class ModifiedHuber(_Margin):
    """``max(0, 1 - z)^2`` for ``z >= -1``, ``-4 z`` below."""

    def moments(self, a, s, V):
        w = np.asarray(a, dtype=np.float64) - 1.0
        c = 1.0 + 2.0 * V
        i0, i1, i2 = _piece(w, s, -2.0 - 4.0 * V, 0.0)  # g = -2 W / (1 + 2V)
        t0, _, _ = _piece(w, s, -np.inf, -2.0 - 4.0 * V)  # g = 4
        return -2.0 * i1 / c + 4.0 * t0, 4.0 * i2 / c**2 + 16.0 * t0, i0 * (2.0 * V / c)

    def g(self, Z, V):
        return np.where(Z >= 1.0, 0.0, np.minimum(2.0 * (1.0 - Z) / (1.0 + 2.0 * V), 4.0))

    def prox(self, Z, V):
        return Z + V * self.g(Z, V)


class Logistic(_Margin):
    """``log(1 + exp(-z))``; no zero set (its ``alpha -> 0`` limit is the max margin)."""

    has_zero_set = False

    def prox(self, Z, V):
        """``z`` solving ``z = Z + V sigma(-z)`` (increasing, in ``(Z, Z + V)``): Newton's
        method safeguarded by bisection (a Newton step is taken only when it stays in the
        bracket and shrinks faster than bisection would)."""
        Z = np.asarray(Z, dtype=np.float64)
        V = np.broadcast_to(np.asarray(V, dtype=np.float64), Z.shape)
        lo, hi = Z.copy(), Z + V
        z = np.clip(Z + V * expit(-Z) / (1.0 + 0.25 * V), lo, hi)
        width = hi - lo
        for _ in range(200):
            sp = expit(-z)
            h = z - Z - V * sp
            lo = np.where(h <= 0, z, lo)
            hi = np.where(h >= 0, z, hi)
            step = h / (1.0 + V * sp * (1.0 - sp))
            znew = z - step
            bad = (znew <= lo) | (znew >= hi) | (np.abs(step) > 0.5 * width)
            width = np.where(bad, 0.5 * (hi - lo), np.abs(step))
            znew = np.where(bad, 0.5 * (lo + hi), znew)
            if np.all(np.abs(znew - z) <= 1e-14 * (1.0 + np.abs(z))):
                return znew
            z = znew
        return z  # pragma: no cover - bisection halves the bracket at worst

    def g(self, Z, V):
        return expit(-self.prox(Z, V))

    def nodes(self, a, s, V):
        """Quadrature for ``Z ~ N(a, s^2)`` in the variable ``z = prox(Z)``.

        ``Z = z - V sigma(-z)`` is explicit and increasing in ``z``, so
        ``E h(prox(Z)) = int h(z) phi((Z(z) - a)/s) Z'(z) dz / s`` needs no prox at the nodes.
        Composite 16-point Gauss-Legendre on panels that resolve both scales: the Gaussian
        (edges at ``Z = a + s u`` for ``u`` on a grid of ``[-10, 10]``) and the logistic
        (``z``-step 0.5 on ``[-40, 40]``). Returns ``(z, Z, weights)``.
        """
        if not s > 0:
            z = self.prox(np.array([a]), V)
            return z, np.array([a]), np.ones(1)
        u = np.linspace(-10.0, 10.0, 41)
        edges_z = self.prox(a + s * u, V)
        z_lo, z_hi = edges_z[0], edges_z[-1]
        f_lo, f_hi = max(z_lo, -40.0), min(z_hi, 40.0)
        fine = np.arange(f_lo, f_hi, 0.5) if f_hi > f_lo else np.empty(0)
        e = np.unique(np.concatenate([edges_z, fine]))
        half = 0.5 * np.diff(e)[:, None]
        z = ((0.5 * (e[1:] + e[:-1]))[:, None] + half * _GL16_X).ravel()
        sig = expit(-z)
        Z = z - V * sig
        jac = 1.0 + V * sig * (1.0 - sig)
        w = (half * _GL16_W).ravel() * _pdf((Z - a) / s) * jac / s
        return z, Z, w

    def moments(self, a, s, V):
        a, s = np.broadcast_arrays(np.asarray(a, dtype=np.float64),
                                   np.asarray(s, dtype=np.float64))
        out = np.empty((3,) + a.shape)
        for sv in np.unique(s):  # one shared set of nodes per standard deviation
            sel = s == sv
            out[:, sel] = self._moments_common(a[sel], float(sv), V)
        return out[0], out[1], out[2]

    def _moments_common(self, a, s, V):
        """``(E g, E g^2, E[1 - dz/dZ])`` for ``Z ~ N(a_i, s^2)``, ``a`` of shape (m,)."""
        if s < 0.3:  # narrower than the logistic's own scale: Gauss-Hermite per mean
            Z = a[:, None] + s * _GH_X
            z = self.prox(Z, V)
            w = np.broadcast_to(_GH_W, Z.shape)
        else:  # nodes in z shared by all means (see ``nodes``)
            u = np.arange(a.min() - 10.0 * s, a.max() + 10.0 * s + 0.25 * s, 0.5 * s)
            edges_z = self.prox(u, V)
            f_lo, f_hi = max(edges_z[0], -40.0), min(edges_z[-1], 40.0)
            fine = np.arange(f_lo, f_hi, 0.5) if f_hi > f_lo else np.empty(0)
            e = np.unique(np.concatenate([edges_z, fine]))
            half = 0.5 * np.diff(e)[:, None]
            z = ((0.5 * (e[1:] + e[:-1]))[:, None] + half * _GL16_X).ravel()
            sig = expit(-z)
            Zn = z - V * sig
            base = (half * _GL16_W).ravel() * (1.0 + V * sig * (1.0 - sig)) / s
            w = base[None, :] * _pdf((Zn[None, :] - a[:, None]) / s)
            z = np.broadcast_to(z, w.shape)
        g = expit(-z)
        curv = g * (1.0 - g)
        d = V * curv / (1.0 + V * curv)
        return np.stack([(g * w).sum(-1), (g * g * w).sum(-1), (d * w).sum(-1)])

    def hard(self, a, s):  # pragma: no cover - guarded by has_zero_set
        raise ValueError("the logistic loss has no zero set: alpha = 0 is the max margin.")


# --------------------------------------------------------------------------- residual losses
class _Residual:
    """Residual loss ``rho(p - y)``; moments over ``r0 ~ N(a, s^2)`` (one noise component)."""

    kind = "residual"
    has_zero_set = True

    def __init__(self, epsilon=0.0):
        self.epsilon = float(epsilon)

    def hard(self, a, s):
        """``V -> inf`` with the zero set ``{0}``: ``V f -> -r0``."""
        a = np.asarray(a, dtype=np.float64)
        return -a, a * a + np.asarray(s) ** 2, np.ones_like(a)

    def hard_f(self, r):
        return -r


class SquaredResidual(_Residual):
    """``(p - y)^2 / 2``."""

    def moments(self, a, s, V):
        a = np.asarray(a, dtype=np.float64)
        f1 = -a / (1.0 + V)
        f2 = (a * a + np.asarray(s) ** 2) / (1.0 + V) ** 2
        return f1, f2 + 0.0 * f1, np.broadcast_to(V / (1.0 + V), f1.shape) + 0.0 * f1

    def f(self, r, V):
        return -r / (1.0 + V)

    def prox(self, r, V):
        return r / (1.0 + V)


class Huber(_Residual):
    """``r^2/2`` for ``|r| <= epsilon``, ``epsilon |r| - epsilon^2/2`` beyond."""

    def moments(self, a, s, V):
        e = self.epsilon
        cut = e * (1.0 + V)
        i0, i1, i2 = _piece(a, s, -cut, cut)
        up, _, _ = _piece(a, s, cut, np.inf)
        dn, _, _ = _piece(a, s, -np.inf, -cut)
        f1 = -i1 / (1.0 + V) - e * up + e * dn
        f2 = i2 / (1.0 + V) ** 2 + e * e * (up + dn)
        return f1, f2, i0 * (V / (1.0 + V))

    def f(self, r, V):
        return -np.clip(r / (1.0 + V), -self.epsilon, self.epsilon)

    def prox(self, r, V):
        return r + V * self.f(r, V)


class EpsilonInsensitive(_Residual):
    """``max(0, |r| - epsilon)``; its zero set is ``[-epsilon, epsilon]``."""

    def moments(self, a, s, V):
        e = self.epsilon
        p0, p1, p2 = _piece(a, s, e, e + V)  # f = (e - r) / V
        n0, n1, n2 = _piece(a, s, -e - V, -e)  # f = (-e - r) / V
        up, _, _ = _piece(a, s, e + V, np.inf)  # f = -1
        dn, _, _ = _piece(a, s, -np.inf, -e - V)  # f = +1
        f1 = (e * p0 - p1) / V + (-e * n0 - n1) / V - up + dn
        f2 = (e * e * p0 - 2 * e * p1 + p2) / V**2 + (e * e * n0 + 2 * e * n1 + n2) / V**2
        f2 = f2 + up + dn
        return f1, f2, p0 + n0

    def hard(self, a, s):
        e = self.epsilon
        p0, p1, p2 = _piece(a, s, e, np.inf)
        n0, n1, n2 = _piece(a, s, -np.inf, -e)
        f1 = (e * p0 - p1) + (-e * n0 - n1)
        f2 = (e * e * p0 - 2 * e * p1 + p2) + (e * e * n0 + 2 * e * n1 + n2)
        return f1, f2, p0 + n0

    def hard_f(self, r):
        return np.clip(r, -self.epsilon, self.epsilon) - r

    def f(self, r, V):
        e = self.epsilon
        return np.where(
            np.abs(r) <= e, 0.0, -np.sign(r) * np.minimum((np.abs(r) - e) / V, 1.0)
        )

    def prox(self, r, V):
        return r + V * self.f(r, V)


#: loss name -> channel class (``epsilon`` for the residual losses)
CHANNELS = {
    "squared_error": (SquaredMargin, SquaredResidual),
    "log_loss": (Logistic, None),
    "hinge": (Hinge, None),
    "modified_huber": (ModifiedHuber, None),
    "huber": (None, Huber),
    "epsilon_insensitive": (None, EpsilonInsensitive),
}


def get_channel(loss, task, epsilon=0.1):
    """The channel of ``loss`` for ``task`` ("classification" or "regression")."""
    if loss not in CHANNELS:
        raise ValueError(f"loss must be one of {sorted(CHANNELS)}, got {loss!r}.")
    margin, residual = CHANNELS[loss]
    cls = margin if task == "classification" else residual
    if cls is None:
        raise ValueError(f"loss={loss!r} is not a {task} loss.")
    return cls() if task == "classification" else cls(epsilon)
