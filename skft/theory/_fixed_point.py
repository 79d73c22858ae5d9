"""The fixed point of regularised convex estimation toward a start, for any loss.

Problem. Samples come from a mixture of components ``c`` (prior ``pi_c``): features
``x = mu_c + z`` with ``E z = 0``, ``Cov z = Sigma``, and a label channel per component (a
label ``y_c = +-1`` for a margin loss; the noise law for a residual loss). The estimator is

.. math:: (\\hat w, \\hat b) = \\arg\\min_{w, b} \\frac1n \\sum_i \\ell(y_i, x_i^\\top w + b)
          + \\frac{\\alpha}{2} \\lVert w - w_0 \\rVert^2 .

(Regression is written in ``u = w - w_star``: the start is ``delta = w0 - w_star``, the
components' means are 0, and the loss is ``rho(x'u + b - eps)``.)

Equations (Gaussian min-max theorem; Thrampoulidis, Abbasi, Hassibi 2018; Loureiro et al.
2021 for mixtures with a general covariance). In the proportional limit the leave-one-out
prediction of a sample of component ``c`` is ``P = m_c + b + sqrt(q) xi`` with
``m_c = mu_c'w``, ``q = w' Sigma w`` and ``xi ~ N(0, 1)``; its fitted value is
``prox_{V loss}(P)`` and ``f = (prox - P) / V``. With

* ``theta = E[1 - d prox / dP] / V``, ``nu_c = pi_c E[f | c]``, ``beta^2 = E f^2``,
* ``k = alpha / theta`` and ``R = (alpha + theta Sigma)^{-1} = (Sigma + k)^{-1} / theta``,

the estimator is ``w = R (alpha w0 + sum_c nu_c mu_c) - (beta / sqrt n) R Sigma^{1/2} h``
(``h`` standard Gaussian), so that

.. math:: V = \\frac1n \\operatorname{tr}(\\Sigma R), \\quad m_c = \\mu_c^\\top R c, \\quad
          q = c^\\top R \\Sigma R c + \\frac{\\beta^2}{n} \\operatorname{tr}(\\Sigma R \\Sigma R),
          \\quad c = \\alpha w_0 + \\sum_c \\nu_c \\mu_c,

and ``E f = 0`` when the intercept is fitted (else ``b`` is fixed). For the squared loss
``theta = 1 / (1 + V)`` and ``k - alpha = k df1(k) / n``: the effective regularisation of
:func:`skft.theory.effective_regularization`.

Regimes. *Regular*, ``alpha > 0``, and ``alpha = 0`` when the minimiser is unique
(``k = 0``: ``R = Sigma^+ / theta``, ``theta V = rank / n``; the start drops out). *Hard*,
``alpha -> 0+`` when the loss can be brought to zero on every sample (interpolation,
separable data): ``V -> inf`` with ``k`` and ``theta V = tau`` finite,
``V f -> proj_S(P) - P``, ``tau = P(P not in S) = df1(k) / n`` and
``w = (Sigma + k)^{-1} (k w0 + sum_c (nu_c / theta) mu_c) - noise``: the point of the zero
set closest to ``w0`` (the SGD limit of squared and huber losses; with ``w0 = 0`` and the
hinge's zero set, the max-margin direction).

Everything is in the eigenbasis of ``Sigma``: the vectors (means, start) enter only through
the products of their eigen-coordinates, ``P_ab(j) = a_j b_j`` (an assumed profile may be
used), in spectral sums ``sum_j P_ab(j) / (l_j + k)`` and ``sum_j l_j P_ab(j) / (l_j + k)^2``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import root

from ._sums import _SpectralSums

__all__ = []


@dataclass(frozen=True, eq=False)
class _Mixture:
    """A mixture in eigen-coordinates, with its spectral-sum kernel.

    lam : (d,) eigenvalues; prods : (d, M, M) products of the vectors' eigen-coordinates;
    prior, mean_index (-1: mean 0), mean_sign, label : (C,) per component; start : index of
    the start among the vectors (-1: none); noise : NoiseLaw or None (residual channels).
    """

    lam: np.ndarray
    prods: np.ndarray
    prior: np.ndarray
    mean_index: np.ndarray
    mean_sign: np.ndarray
    label: np.ndarray
    start: int
    noise: object = None

    def __post_init__(self):
        d, M, _ = self.prods.shape
        iu = np.triu_indices(M)
        packed = self.prods[:, iu[0], iu[1]]
        lam = self.lam
        sums = _SpectralSums(lam, np.column_stack([lam, packed]),
                             np.column_stack([lam * lam, lam[:, None] * packed]))
        object.__setattr__(self, "_iu", iu)
        object.__setattr__(self, "_sums", sums)
        pos = lam > 0
        inv = np.where(pos, 1.0 / np.where(pos, lam, 1.0), 0.0)
        object.__setattr__(self, "_pinv", self._unpack(inv @ packed))
        object.__setattr__(self, "_null", self._unpack((~pos) @ np.abs(packed)))
        object.__setattr__(self, "rank", int(np.count_nonzero(pos)))
        means = sorted({int(i) for i in self.mean_index if i >= 0})
        object.__setattr__(self, "means", np.array(means, dtype=int))

    @property
    def n_vectors(self):
        return self.prods.shape[1]

    def _unpack(self, packed):
        M = self.n_vectors
        out = np.zeros(packed.shape[:-1] + (M, M))
        out[..., self._iu[0], self._iu[1]] = packed
        out[..., self._iu[1], self._iu[0]] = packed
        return out

    def sums(self, k):
        """``df1, df2, S1 = sum P/(l+k), S2 = sum l P/(l+k)^2`` at ``k > 0``; ``k = 0``:
        the pseudo-inverse sums (``df1 = df2 = rank``)."""
        if k == 0:
            return float(self.rank), float(self.rank), self._pinv, self._pinv
        s1, s2 = self._sums(np.array([k]))
        return s1[0, 0], s2[0, 0], self._unpack(s1[0, 1:]), self._unpack(s2[0, 1:])

    def means_outside_range(self):
        """True when a mean vector has a component on a zero eigenvalue of Sigma."""
        if self.means.size == 0:
            return False
        diag = np.diag(self._null)[self.means]
        scale = np.diag(self._pinv)[self.means]
        return bool(np.any(diag > 1e-12 * np.maximum(1.0, scale)))


@dataclass(frozen=True)
class _Solution:
    """A solved fixed point (see the module docstring for the symbols)."""

    regime: str  # "regular" or "hard"
    k: float
    V: float  # inf in the hard regime
    scale: float  # 1/theta (regular) or 1/tau (hard): f -> w coefficient
    q: float
    m: np.ndarray  # (C,) mu_c'w
    b: float
    gamma: np.ndarray  # (M,) w = (Sigma + k)^-1 sum_a gamma_a v_a - noise
    noise2: float  # noise part of q is noise2 * df2 / n
    residual: float  # max |F| at the solution
    margin: float = 1.0  # hard regime: the zero set is {z >= margin} (max margin: kappa)


def _channel(channel, mix, a, q, V, hard):
    """Per-component ``(E f, E f^2, E[1 - prox'])`` at means ``a`` (C,), variance ``q``."""
    s = np.sqrt(max(q, 0.0))
    if channel.kind == "margin":
        y = mix.label
        za = y * a
        g1, g2, d = channel.hard(za, s) if hard else channel.moments(za, np.full_like(za, s), V)
        return y * g1, g2, d
    law = mix.noise
    mean = a[:, None] - law.means[None, :]
    sd = np.sqrt(q + law.variances)[None, :] + 0.0 * mean
    f1, f2, d = channel.hard(mean, sd) if hard else channel.moments(mean, sd, V)
    w = law.weights
    return f1 @ w, f2 @ w, d @ w


def _means(mix, o, b):
    """``m_c + b`` per component from the overlaps ``o`` (one per mean vector)."""
    full = np.zeros(mix.n_vectors)
    full[mix.means] = o
    m = np.where(mix.mean_index >= 0, mix.mean_sign * full[np.maximum(mix.mean_index, 0)], 0.0)
    return m, m + b


def _gamma(mix, start_coef, nu):
    g = np.zeros(mix.n_vectors)
    if mix.start >= 0:
        g[mix.start] += start_coef
    has = mix.mean_index >= 0
    np.add.at(g, mix.mean_index[has], (nu * mix.mean_sign)[has])
    return g


class _Regular:
    """Residuals of the regular system; unknowns ``(log V, log q, o, [b])``."""

    def __init__(self, mix, channel, n, alpha, free_b, b_fixed):
        self.mix, self.channel, self.n, self.alpha = mix, channel, n, alpha
        self.free_b, self.b_fixed = free_b, b_fixed
        self.n_o = mix.means.size

    def unpack(self, x):
        V, q = np.exp(x[0]), np.exp(x[1])
        o = x[2 : 2 + self.n_o]
        b = x[2 + self.n_o] if self.free_b else self.b_fixed
        return V, q, o, b

    def evaluate(self, x):
        mix, n, alpha = self.mix, self.n, self.alpha
        V, q, o, b = self.unpack(x)
        m, a = _means(mix, o, b)
        f1, f2, d = _channel(self.channel, mix, a, q, V, hard=False)
        pi = mix.prior
        theta = max(float(pi @ d) / V, 1e-150)
        nu = pi * f1
        beta2 = float(pi @ f2)
        k = alpha / theta
        df1, df2, s1, s2 = mix.sums(k)
        g = _gamma(mix, alpha, nu) / theta
        v_new = df1 / (n * theta)
        o_new = s1[mix.means] @ g
        noise2 = beta2 / theta**2
        q_new = g @ s2 @ g + noise2 * df2 / n
        return dict(V=V, q=q, o=o, b=b, m=m, v_new=v_new, q_new=q_new, o_new=o_new,
                    ef=float(pi @ f1), k=k, scale=1.0 / theta, gamma=g, noise2=noise2)

    def residual(self, x):
        e = self.evaluate(x)
        r = [np.log(e["V"] / e["v_new"]), np.log(e["q"] / e["q_new"])]
        r += list(e["o"] - e["o_new"])
        if self.free_b:
            r.append(e["ef"])
        return np.array(r)

    def step(self, x, damping):
        """One damped iteration of the map (``b`` moved by a Newton step on ``E f``)."""
        e = self.evaluate(x)
        y = x.copy()
        y[0] = (1 - damping) * x[0] + damping * np.log(e["v_new"])
        y[1] = (1 - damping) * x[1] + damping * np.log(e["q_new"])
        y[2 : 2 + self.n_o] = (1 - damping) * x[2 : 2 + self.n_o] + damping * e["o_new"]
        if self.free_b:
            h = 1e-6
            x2 = x.copy()
            x2[-1] += h
            slope = (self.evaluate(x2)["ef"] - e["ef"]) / h
            if slope < 0:
                y[-1] = x[-1] - damping * e["ef"] / slope
        return y

    def solution(self, x, res):
        e = self.evaluate(x)
        return _Solution("regular", e["k"], e["V"], e["scale"], e["q"], e["m"], e["b"],
                         e["gamma"], e["noise2"], res)


class _Hard:
    """Residuals of the hard (``alpha -> 0+``) system; unknowns ``(log k, log q, o)``.

    Without a start (``start_coef = 0``: the max-margin limit) the system is homogeneous in
    the scale of ``w`` and is solved normalised, ``q = 1`` with the zero set ``{z >= kappa}``
    (the margin ``kappa = 1 / sqrt(q)`` of the margin-1 solution): unknowns
    ``(log k, log kappa, o)``; it stays well scaled up to the separability threshold, where
    ``kappa -> 0``.
    """

    def __init__(self, mix, channel, n, start_coef, b_fixed):
        self.mix, self.channel, self.n = mix, channel, n
        self.start_coef = start_coef  # 1: pulled toward w0 (closest point); 0: max margin
        self.normalised = start_coef == 0 and channel.kind == "margin"
        self.b_fixed = b_fixed
        self.n_o = mix.means.size
        self.free_b = False

    def evaluate(self, x):
        mix, n = self.mix, self.n
        k = np.exp(x[0])
        o = x[2 : 2 + self.n_o]
        m, a = _means(mix, o, self.b_fixed)
        if self.normalised:
            q, shift = 1.0, 1.0 - np.exp(x[1])  # zero set z >= kappa: shift the margins
        else:
            q, shift = np.exp(x[1]), 0.0
        f1, f2, d = _channel(self.channel, mix, a + shift * self.mix.label, q, np.inf,
                             hard=True)
        pi = mix.prior
        tau = max(float(pi @ d), 1e-150)
        df1, df2, s1, s2 = mix.sums(k)
        g = _gamma(mix, k * self.start_coef, pi * f1 / tau)
        noise2 = float(pi @ f2) / tau**2
        return dict(k=k, q=q, o=o, m=m, tau=tau, df1=df1, o_new=s1[mix.means] @ g,
                    q_new=g @ s2 @ g + noise2 * df2 / n, gamma=g, noise2=noise2)

    def residual(self, x):
        e = self.evaluate(x)
        r = [np.log(e["df1"] / (self.n * e["tau"])), np.log(e["q"] / e["q_new"])]
        return np.array(r + list(e["o"] - e["o_new"]))

    def step(self, x, damping):
        e = self.evaluate(x)
        y = x.copy()
        # k: move toward the root of df1(k)/n = tau (df1 decreasing in k)
        y[0] = x[0] + damping * np.log(e["df1"] / (self.n * e["tau"]))
        if self.normalised:  # q_new scales like 1/kappa^2 at fixed margins
            y[1] = x[1] + 0.5 * damping * np.log(e["q_new"])
        else:
            y[1] = (1 - damping) * x[1] + damping * np.log(e["q_new"])
        y[2:] = (1 - damping) * x[2:] + damping * e["o_new"]
        return y

    def solution(self, x, res):
        e = self.evaluate(x)
        margin = float(np.exp(x[1])) if self.normalised else 1.0
        return _Solution("hard", e["k"], np.inf, 1.0 / e["tau"], e["q"], e["m"], self.b_fixed,
                         e["gamma"], e["noise2"], res, margin)


def _find_root(system, x0, tol=1e-11):
    """Newton (MINPACK hybrid) from ``x0``; on failure damped iterations, then Newton again."""
    size = np.size(x0)

    def fun(x):
        try:
            with np.errstate(all="ignore"):
                r = system.residual(x)
        except (ZeroDivisionError, OverflowError, ValueError):
            return np.full(size, 1e6)
        return np.where(np.isfinite(r), r, 1e6)

    def good(x):
        return np.all(np.isfinite(x)) and np.max(np.abs(fun(x))) < 1e-8

    sol = root(fun, x0, method="hybr", options=dict(xtol=tol))
    x = sol.x
    if not good(x):
        x = np.array(x0, dtype=float)
        for damping in (0.5, 0.2):
            for _ in range(3000):
                try:
                    with np.errstate(all="ignore"):
                        xn = system.step(x, damping)
                except (ZeroDivisionError, OverflowError, ValueError):
                    break
                if not np.all(np.isfinite(xn)):
                    break
                if np.max(np.abs(xn - x)) < 1e-12:
                    x = xn
                    break
                x = xn
            sol = root(fun, x, method="hybr", options=dict(xtol=tol))
            if good(sol.x):
                x = sol.x
                break
    res = float(np.max(np.abs(fun(x))))
    if not res < 1e-7:
        raise RuntimeError(
            f"the fixed-point equations did not converge (residual {res:.2g}); please report "
            "the inputs."
        )
    return x, res


def _solve_regular(mix, channel, n, alpha, *, free_b, b_fixed=0.0, init=None):
    """Solve the regular system (``alpha > 0``, or ``alpha = 0`` with ``k = 0``)."""
    system = _Regular(mix, channel, n, alpha, free_b, b_fixed)
    x0 = init if init is not None else _initial_regular(mix, n, alpha, free_b, b_fixed)
    x, res = _find_root(system, x0)
    return system.solution(x, res), x


def _solve_hard(mix, channel, n, *, start_coef=1.0, b_fixed=0.0, init=None):
    """Solve the hard (``alpha -> 0+``) system; ``n < rank`` or separable data required."""
    system = _Hard(mix, channel, n, start_coef, b_fixed)
    x0 = np.array(init if init is not None else _initial_hard(mix, n, start_coef), dtype=float)
    try:
        x, res = _find_root(system, x0)
    except RuntimeError:
        # the hard system's Newton iterations depend on their start (measured: an intercept
        # whose feature 1 is large against the features' scale); restart from other k and q
        for dk, dq in _HARD_RESTARTS:
            try:
                x, res = _find_root(system, x0 + np.r_[dk, dq, np.zeros(x0.size - 2)])
                break
            except RuntimeError:
                continue
        else:
            raise
    return system.solution(x, res), x


#: shifts of ``(log k, log q)`` tried when the hard system does not converge from its start
_HARD_RESTARTS = ((3.0, 0.0), (1.0, 0.0), (0.0, -1.0), (0.0, 2.0), (-3.0, 0.0))


def _start_overlaps(mix):
    """``o = v_a' w0`` for the mean vectors and ``q0 = w0' Sigma w0``."""
    if mix.start < 0:
        return np.zeros(mix.means.size), 0.0
    lam = mix.lam
    o = np.array([np.sum(mix.prods[:, a, mix.start]) for a in mix.means])
    q0 = float(lam @ mix.prods[:, mix.start, mix.start])
    return o, q0


def _initial_regular(mix, n, alpha, free_b, b_fixed):
    from ._spectrum import _solve_kappa

    lam = mix.lam
    o, q0 = _start_overlaps(mix)
    if alpha > 0:
        k = float(_solve_kappa(lam, np.array([float(n)]), np.array([alpha]))[0][0])
        V = max(k / alpha - 1.0, 1e-8)
    else:
        V = mix.rank / max(n - mix.rank, 1.0)
    q = max(q0, 1e-2 * float(lam.mean()) if lam.size else 1.0, 1e-8)
    x = [np.log(V), np.log(q)] + list(o)
    if free_b:
        x.append(b_fixed)
    return np.array(x, dtype=float)


def _initial_hard(mix, n, start_coef):
    from ._spectrum import _solve_kappa

    lam = mix.lam
    n_eff = min(float(n), 0.5 * mix.rank)  # beyond the rank: some share of the samples
    k = float(_solve_kappa(lam, np.array([n_eff]), np.array([0.0]))[0][0])
    o, q0 = _start_overlaps(mix)
    if start_coef == 0:  # max margin, normalised: unit score variance, margin 1/2
        labels = np.zeros(mix.n_vectors)
        labels[mix.mean_index] = mix.label * mix.mean_sign
        o = labels[mix.means]
        return np.array([np.log(max(k, 1e-8)), np.log(0.5)] + list(o), dtype=float)
    q = max(q0, 1.0)
    return np.array([np.log(max(k, 1e-8)), np.log(q)] + list(o), dtype=float)
