"""When can a linear model bring the loss to zero on every sample? Gordon's thresholds.

At ``alpha = 0`` a loss with a zero set behaves in two ways. Below a threshold of ``n`` some
coefficients reach zero loss on all ``n`` samples (the data are *separable*, or can be
*interpolated* within the loss's dead zone): the minimiser is not unique, and the limit of SGD
depends on its path (hinge, modified huber, epsilon-insensitive), or diverges in norm
(logistic: the max-margin direction). Above it the minimiser is unique and the regular
equations apply.

Threshold (Gordon's comparison, as for the logistic MLE by Candes and Sur, 2020, and for
Gaussian mixtures by Deng, Kammoun and Thrampoulidis, 2022). Whiten the features
(``u = Sigma^{1/2} w``, which changes no feasibility question): the leave-one-out score of a
sample of component ``c`` is ``o_c + b + sqrt(q) G`` with ``o_c = mu_c'w`` and
``q = ||u||^2``; the part of ``u`` outside the span of the whitened means has squared norm
``q - ||u_par||^2`` and can align with ``sqrt(r)`` independent Gaussian directions
(``r = rank Sigma``). Zero loss is feasible iff, for some ``(o, b, q)``,

.. math:: n \\, \\mathbb{E}\\, \\mathrm{dist}^2(o_c + b + \\sqrt q G, S_c)
          \\le r \\, (q - \\lVert u_\\parallel \\rVert^2),

with ``S_c`` the zero set of the loss for the label (``{z >= 0}`` for separability, scale
free) and ``||u_par||^2 = o' M^+ o`` for the Gram matrix ``M_ab = mu_a' Sigma^+ mu_b`` of the
means. So the threshold is ``n* = r / min F`` with
``F = E dist^2 / (q - ||u_par||^2)``. Isotropic check: with no signal, ``n* = 2 r``
(Cover, 1965).
"""

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from scipy.special import ndtr

__all__ = []


def _h(c):
    """``E[(c - G)_+^2]`` for ``G ~ N(0, 1)``."""
    return (1.0 + c * c) * ndtr(c) + c * np.exp(-0.5 * c * c) / np.sqrt(2.0 * np.pi)


def _separability_n(gram, prior, label, rank, fit_intercept):
    """Number of samples ``n*`` below which the mixture is linearly separable.

    gram : (C, C) whitened Gram ``mu_a' Sigma^+ mu_b`` of the component means;
    prior, label : (C,). Returns ``inf`` when a mean is outside the range (the caller
    checks) or the classes are perfectly separated by their means.
    """
    ev, U = np.linalg.eigh((gram + gram.T) / 2.0)
    keep = ev > 1e-12 * max(ev.max(initial=0.0), 1e-300)
    root = U[:, keep] * np.sqrt(ev[keep])  # o = root @ t, o' M^+ o = ||t||^2
    p = root.shape[1]

    def objective(x):
        z = x[:p]
        t = z / np.sqrt(1.0 + z @ z)
        b = x[p] if fit_intercept else 0.0
        o = root @ t
        return float(prior @ _h(-label * (o + b))) / (1.0 - t @ t)

    best = objective(np.zeros(p + int(fit_intercept)))
    if p + int(fit_intercept) == 0:
        return rank / best
    starts = [np.zeros(p + int(fit_intercept))]
    # a start along the Bayes-like direction: o_c proportional to label_c
    if p:
        target = np.linalg.lstsq(root, label, rcond=None)[0]
        for scale in (0.5, 2.0, 8.0):
            starts.append(np.concatenate([scale * target, np.zeros(int(fit_intercept))]))
    for x0 in starts:
        res = minimize(objective, x0, method="BFGS", options=dict(gtol=1e-12))
        if np.isfinite(res.fun):
            best = min(best, float(res.fun))
    return rank / best if best > 0 else np.inf


def _zero_loss_n_regression(channel, law, rank, fit_intercept, b_fixed):
    """``n*`` below which a residual loss can be zero on every sample (Gordon).

    Minimises ``E dist^2(b + sqrt(q) G - eps, S) / q`` over ``q > 0`` (and ``b`` when the
    intercept is fitted); ``n* = rank / min``.
    """

    def ratio(log_q, b):
        q = np.exp(log_q)
        mean = b - law.means
        sd = np.sqrt(q + law.variances)
        _, f2, _ = channel.hard(mean, sd)
        return float(f2 @ law.weights) / q

    def best_b(log_q):
        if not fit_intercept:
            return ratio(log_q, b_fixed)
        spread = np.sqrt(law.variance + np.exp(log_q)) + 1.0
        res = minimize_scalar(lambda b: ratio(log_q, b), bounds=(law.mean - 10 * spread,
                              law.mean + 10 * spread), method="bounded",
                              options=dict(xatol=1e-10))
        return min(float(res.fun), ratio(log_q, law.mean))

    grid = np.linspace(-25.0, 25.0, 101)
    vals = np.array([best_b(g) for g in grid])
    i = int(np.argmin(vals))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    res = minimize_scalar(best_b, bounds=(lo, hi), method="bounded", options=dict(xatol=1e-10))
    best = min(float(res.fun), float(vals[i]))
    return rank / best if best > 0 else np.inf
