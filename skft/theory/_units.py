"""Units of the convex-loss theory: solve at unit scale, answer in the user's units.

The fixed points of :mod:`skft.theory._fixed_point` are scale-equivariant. With the features
in units ``x`` (``Sigma`` in ``x^2``) and, for regression, the labels in units ``y``:

* classification (the loss sees the dimensionless margin ``y (x'w + b)``): class means in
  ``x``, starts ``w0`` in ``1/x``, intercepts dimensionless, ``alpha`` in ``x^2`` (the penalty
  ``alpha/2 ||w - w0||^2`` sits beside a dimensionless mean loss); error rates, mean scores,
  ``w' Sigma w`` and the intercept are dimensionless, ``kappa`` is in ``x^2``;
* regression: ``delta = w0 - w_star`` in ``y/x``, the noise, ``epsilon`` and the intercept in
  ``y``; the loss is in ``y^2`` (squared, huber) or ``y`` (epsilon-insensitive), so ``alpha``
  is in ``x^2`` or ``x^2 / y``; the test MSE is in ``y^2``, ``kappa`` in ``x^2``.

The theory divides ``Sigma`` by ``t = 2^e``, a power of four near its largest eigenvalue
(:func:`skft.theory._spectrum._normalise`: ``sqrt(t)`` is a power of two) and the
``y``-quantities by ``s``, a power of two near the largest of them (``numpy.ldexp``: every
scaling is exact, with no intermediate overflow),
so a problem scaled by powers of two is solved as the very same unit problem, bit for bit.
The answers are multiplied back, and a ``ValueError`` names the argument when an answer
leaves the normal range of float64 (an overflow, or a denormal that would have lost its
digits), never an ``inf``, ``0`` or ``nan`` with a RuntimeWarning.
"""

import numpy as np

from ._spectrum import _normalise

__all__ = []

_TINY = np.finfo(np.float64).tiny
_ROUNDOFF = 1e-12


def _log2(power_of_two):
    """``k`` for ``2^k`` (exact)."""
    return int(np.frexp(power_of_two)[1]) - 1


def _power_of_two(*magnitudes):
    """Exponent ``e`` of the largest finite magnitude ``m 2^e`` (``m`` in ``[1/2, 1)``); 0 if
    there is none.

    Exact: magnitudes scaled by ``2^k`` give ``e + k``; at unit scale the largest magnitude is
    in ``[1/2, 1)`` and the exponent is 0, so applying it twice is applying it once.
    """
    top = 0.0
    for m in magnitudes:
        m = np.abs(np.asarray(m, dtype=np.float64))
        m = m[np.isfinite(m)]
        if m.size:
            top = max(top, float(m.max()))
    return int(np.frexp(top)[1]) if top > 0 else 0


def _norm(v):
    """Euclidean norm without overflow or underflow (``max |v|`` times the norm of
    ``v / max |v|``), equivariant under scaling by powers of two."""
    v = np.abs(np.asarray(v, dtype=np.float64)).ravel()
    top = float(v.max(initial=0.0))
    if not (top > 0 and np.isfinite(top)):
        return top
    return top * float(np.sqrt(np.sum((v / top) ** 2)))


def _scaled(value, exponent):
    """``value * 2^exponent``, exactly (one rounding at most, where the result is denormal)."""
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(np.asarray(value, dtype=np.float64), exponent)


def _unit_alpha(alpha, exponent, name="alpha"):
    """``alpha / 2^exponent`` (the unit of ``alpha``); refuses a positive ``alpha`` that is
    denormal or 0 there, ``1e-308`` times the covariance's scale: it cannot be told from the
    ``alpha = 0`` limit, another setting (and the fixed point's ``k / alpha`` would overflow).
    An overflow to ``inf`` is harmless: ``_clip_alpha`` caps it (the pretrained model)."""
    a = np.asarray(alpha, dtype=np.float64)
    unit = _scaled(a, -exponent)
    if np.any((a > 0) & (unit < _TINY)):
        raise ValueError(
            f"{name}={float(np.min(a[a > 0])):.3g} is below float64's range relative to the "
            f"scale of the problem (2^{exponent}): it cannot be told from alpha = 0, whose "
            f"limit differs. Pass alpha = 0, or a larger {name}.")
    return unit


def _rescaled(value, exponent, what, culprit):
    """``value * 2^exponent``; a ``ValueError`` naming ``culprit`` when a finite value leaves
    float64's normal range (``inf``, ``nan`` and exact zeros carry over: they are the theory's
    answers, e.g. at the interpolation peak)."""
    v = np.asarray(value, dtype=np.float64)
    out = _scaled(v, exponent)
    # a unit value below the unit problem's round-off (an intercept of 1e-17 for 0) may
    # become denormal or 0: it carries no digits to lose
    lost = np.isfinite(v) & ~(np.isfinite(out) & (np.abs(out) >= _TINY)) & (
        np.abs(v) > _ROUNDOFF)
    if np.any(lost):
        side = "overflows" if np.any(np.isinf(out[lost])) else "underflows"
        size = np.log10(np.max(np.abs(v[lost]))) + exponent * np.log10(2.0)
        raise ValueError(
            f"the {what} {side} float64 (it is about 1e{size:.0f}): the answer cannot be "
            f"represented. Rescale {culprit}.")
    return out if isinstance(value, np.ndarray) else float(out)


def _unit_covariance(eigenvalues):
    """``(lam, e)``: the eigenvalues at unit scale, ``Sigma / 2^e`` (``e`` even)."""
    lam, t = _normalise(eigenvalues)
    return lam, _log2(t)


def _unit_mixture(eigenvalues, prods, n_means, alpha):
    """The classification inputs at unit scale: ``(lam, prods, alpha, e)``, ``Sigma / 2^e``.

    ``prods[:, a, b]`` are products of eigen-coordinates of ``n_means`` means (units ``x``)
    followed by starts (units ``1/x``); ``alpha`` is in the units of ``Sigma``.
    """
    lam, e = _unit_covariance(eigenvalues)
    prods = np.asarray(prods, dtype=np.float64)
    half = np.concatenate([np.full(n_means, -e // 2), np.full(prods.shape[1] - n_means, e // 2)])
    return lam, _scaled(prods, half[:, None] + half[None, :]), _unit_alpha(alpha, e), e


def _unit_products(eigenvalues, vectors, n_means, names):
    """``(lam, prods, e)``: the eigenvalues at unit scale ``Sigma / 2^e`` and the products of
    the eigen-coordinates ``vectors`` (``(M, d)``: ``n_means`` class means in the units of
    ``x``, then starts in ``1/x``), each vector scaled before the products are formed."""
    lam, e = _unit_covariance(eigenvalues)
    vectors = np.asarray(vectors, dtype=np.float64)
    half = np.concatenate([np.full(n_means, -e // 2), np.full(len(vectors) - n_means, e // 2)])
    vec = _scaled(vectors, half[:, None]).T
    with np.errstate(over="ignore", under="ignore"):
        prods = vec[:, :, None] * vec[:, None, :]
    if not np.all(np.isfinite(prods)):
        raise ValueError(
            f"{names} are too large for the scale of covariance: a margin such as "
            "mu' Sigma^-1 mu or w0' Sigma w0 overflows float64. Rescale them.")
    return lam, prods, e


def _intercept_feature_error(feature_one):
    """The ``ValueError`` for an ``alpha = 0`` intercept whose feature 1 dwarfs the features
    (``feature_one > 2^8`` at unit scale), raised when its equations were not solved; else
    ``None`` (the caller re-raises its own error)."""
    if not feature_one > 2.0**8:
        return None
    return ValueError(
        "with alpha=0 below the rank (or separability), SGD's limit counts the intercept as "
        f"one more coordinate of feature 1, here {feature_one:.3g} times the features' scale "
        "(sqrt of the covariance's largest eigenvalue): its equations were not solved at this "
        "ratio. Use alpha > 0, fit_intercept=False, or features of a scale nearer 1.")
