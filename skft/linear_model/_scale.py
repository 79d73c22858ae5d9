"""Scale checks of the estimators' solvers: extreme or badly mixed feature scales.

The exact solver handles any scale itself (:mod:`skft._core._exact`); here the estimator
turns its diagnostics into warnings naming the user's arguments, and guards the SGD solver,
whose steps and squared norms live in float64 too.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning

__all__ = ["column_scales", "intercept_fit_is_unique", "sgd_scale", "warn_offsets",
           "warn_rounding"]

# |X| beyond 2^450 (~1e135) or below 2^-450: squared row norms (step sizes, curvature) and
# gradients x (x'w - y) leave float64's range
_EXTREME = 2.0**450
# columns whose largest entries differ by more than this: SGD's step is set by the largest
# and its limit along the smallest is reached after ~ratio^2 times as many steps
_MIXED = 1e4
# relative rounding of the training predictions above which the exact fit warns
_ROUNDING = 1e-3
# with an intercept SGD's coordinates are (x, 1): features whose largest entries are off 1 by
# more than this are brought to it by a power of two when the limit allows (below)
_BALANCE = 16.0
# unique least squares with an intercept is checked by a rank computation (an SVD) up to
# this many flops n d min(n, d), about a second; beyond, it counts as not unique
_RANK_CHECK_FLOPS = 2**30
# feature means this many standard deviations off 0, with an intercept and no centring:
# SGD converges ~ratio^2 times more slowly along the centred directions
_OFFSET = 100.0


def column_scales(X):
    """Largest absolute entry of each column (no dense temporary for sparse or dense X).

    Examples
    --------
    >>> import numpy as np
    >>> column_scales(np.array([[1.0, -3.0], [-2.0, 0.5]])).tolist()
    [2.0, 3.0]
    """
    if sp.issparse(X):
        return np.asarray(abs(X).max(axis=0).toarray()).ravel()
    if X.shape[0] == 0:
        return np.zeros(X.shape[1])
    return np.maximum(np.abs(X.max(axis=0)), np.abs(X.min(axis=0)))


def centred_column_scales(X):
    """Largest absolute entry of each column of ``X`` minus its mean.

    Examples
    --------
    >>> import numpy as np
    >>> centred_column_scales(np.array([[1000.0, 1.0], [1002.0, -3.0]])).tolist()
    [1.0, 2.0]
    """
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0)).ravel()
        top = X.max(axis=0).toarray().ravel()
        low = X.min(axis=0).toarray().ravel()
    elif X.shape[0] == 0:
        return np.zeros(X.shape[1])
    else:
        mean, top, low = X.mean(axis=0), X.max(axis=0), X.min(axis=0)
    return np.maximum(np.abs(top - mean), np.abs(low - mean))


def sgd_scale(X, *, loss, alpha, fit_intercept, partial, auto_step, centred=False):
    """Power of two ``g`` by which SGD runs on ``X / g`` (and ``y / g``), or 1.

    For extreme entries (beyond ~1e135 or below ~1e-135) SGD runs on the rescaled problem
    ``(X / g, y / g)`` with ``alpha / g^2`` and the intercept ``b / g``: with the squared loss
    its minimiser is the same ``w`` (and ``b``); the automatic step adapts to the scale, so the
    iterates are those of SGD on the original problem, without overflow. That is the same
    limit when the minimiser is unique (``alpha > 0``, or no intercept, or more samples than
    coordinates); with ``alpha = 0``, an intercept and fewer samples than coordinates the
    limit depends on the relative scale of ``w`` and ``b`` and a clear error is raised, as for
    another loss, a given ``eta0`` or ``partial_fit`` (whose batches may differ in scale).
    Columns of very different scales give a ConvergenceWarning.

    With an intercept, SGD's coordinates are ``(x, 1)``: features far from 1 (largest entry
    beyond ``[1/16, 16]``) make the problem ill-conditioned between ``w`` and ``b`` (features
    ~1e-3 converge 1e6 times more slowly than the intercept, and SGD's stall rule stops it
    far from its limit without a word). When the limit does not depend on the scale (squared
    loss, automatic step, ``fit``, and a unique minimiser: ``alpha > 0`` or ``[X, 1]`` of full
    column rank) SGD runs on the rescaled problem as above; otherwise a ratio beyond 1e4 gives
    a ConvergenceWarning. ``centred``: SGD will run on the centred features (their scales,
    not the raw ones, then set the balance and the mixed-scale warning).

    Examples
    --------
    >>> import numpy as np
    >>> sgd_scale(np.ones((3, 2)), loss="squared_error", alpha=0.0, fit_intercept=True,
    ...           partial=False, auto_step=True)
    1.0
    """
    raw = column_scales(X)
    raw_top = float(raw.max(initial=0.0))
    if raw_top == 0:
        return 1.0
    cols = centred_column_scales(X) if centred else raw
    nonzero = cols[cols > 0]
    top = float(nonzero.max()) if nonzero.size else 1.0  # the scale against the intercept
    low = float(nonzero.min()) if nonzero.size else 1.0
    with np.errstate(over="ignore"):  # beyond float64 (1e300 against 1e-114): inf, said so
        ratio = np.float64(top) / np.float64(low)
        slower = ratio * ratio
    if ratio > _MIXED:
        warnings.warn(
            f"the columns of X differ in scale by a factor {ratio:.1e} (largest absolute "
            "entries): SGD's step is set by the largest, so along the smallest it converges "
            f"~{slower:.0e} times more slowly and may stop far from its limit. "
            "Standardise X (e.g. StandardScaler) or use solver='exact' (squared loss).",
            ConvergenceWarning, stacklevel=5)
    extreme = not 1.0 / _EXTREME <= raw_top <= _EXTREME
    unbalanced = fit_intercept and not 1.0 / _BALANCE <= top <= _BALANCE
    if not (extreme or unbalanced):
        return 1.0
    n, d = X.shape
    rescalable = loss == "squared_error" and not partial and auto_step
    if not extreme:
        if rescalable and (alpha > 0 or intercept_fit_is_unique(X)):
            return float(2.0 ** np.round(np.log2(top)))
        off = max(top, 1.0 / top)
        if off > _MIXED:
            warnings.warn(
                f"the largest entries of X are {top:.1e} against the intercept's constant "
                f"feature 1: SGD converges ~{off * off:.0e} times more slowly along the "
                "smaller and may stop far from its limit. Standardise X (e.g. "
                "StandardScaler) or use solver='exact' (squared loss).",
                ConvergenceWarning, stacklevel=5)
        return 1.0
    unique = alpha > 0 or not fit_intercept or n >= d + 1
    if not rescalable or not unique:
        why = ("partial_fit" if partial else "a given eta0" if not auto_step
               else f"loss={loss!r}" if loss != "squared_error"
               else "alpha=0 with an intercept and fewer samples than coordinates (its limit "
                    "depends on the scale)")
        raise ValueError(
            f"X has entries of size {raw_top:.1e}: SGD's squared norms and gradients leave "
            f"float64's range, and it cannot be rescaled internally with {why}. Rescale X "
            "(e.g. StandardScaler) or use solver='exact' (squared loss, any scale).")
    return float(2.0 ** np.round(np.log2(raw_top)))


def intercept_fit_is_unique(X):
    """Whether ``[X, 1]`` has full column rank (least squares with an intercept is unique),
    checked on dense ``X`` when the SVD costs at most ~2^30 flops (else False).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((5, 2))
    >>> intercept_fit_is_unique(X), intercept_fit_is_unique(np.c_[X, X[:, 0]])
    (True, False)
    """
    n, d = X.shape
    if sp.issparse(X) or n < d + 1 or n * d * d > _RANK_CHECK_FLOPS:
        return False
    Z = X - X.mean(axis=0)
    top = np.max(np.abs(Z), axis=0)
    Z = Z / np.where(top > 0, top, 1.0)  # column scaling: rank, not conditioning
    return bool(np.all(top > 0) and np.linalg.matrix_rank(Z) == d)


def warn_offsets(X):
    """ConvergenceWarning when feature means are far off 0 against their spread: with an
    intercept that SGD cannot centre away (``alpha = 0`` and a non-unique least-squares fit,
    whose limit depends on the parametrisation) it converges ~ratio^2 times more slowly along
    the centred directions than along the mean.

    Examples
    --------
    >>> import numpy as np
    >>> warn_offsets(np.random.default_rng(0).standard_normal((5, 3)))  # nothing to say
    """
    if sp.issparse(X):
        mean = np.asarray(X.mean(axis=0)).ravel()
        var = np.asarray(X.multiply(X).mean(axis=0)).ravel() - mean * mean
    else:
        mean, var = X.mean(axis=0), X.var(axis=0)
    sd = np.sqrt(np.maximum(var, 0.0))
    live = sd > 0
    if not np.any(live):
        return
    ratio = float(np.max(np.abs(mean[live]) / sd[live]))
    if ratio > _OFFSET:
        warnings.warn(
            f"feature means are up to {ratio:.0e} standard deviations off 0: with an "
            "intercept at alpha=0 and fewer independent samples than coordinates SGD cannot "
            f"centre them away, and converges ~{ratio * ratio:.0e} times more slowly along "
            "the centred directions; it may stop far from its limit. Centre X (e.g. "
            "StandardScaler) or use solver='exact'.", ConvergenceWarning, stacklevel=5)


def warn_rounding(rounding):
    """Warn when the exact fit's coefficients are too large for float64 predictions.

    ``rounding`` is :attr:`skft._core._exact.ExactSolution.rounding`.

    Examples
    --------
    >>> import numpy as np
    >>> warn_rounding(np.array([1e-12]))  # nothing to say
    """
    worst = float(np.max(rounding, initial=0.0))
    if worst > _ROUNDING:
        warnings.warn(
            f"the fitted coefficients are so large against the scale of y that rounding them "
            f"to float64 alone perturbs the training predictions by ~{worst:.1e} times the "
            "spread of y: the start (coef_init) is far off the scale of X. Rescale X, or "
            "start from a coef_init of the scale the data call for.",
            UserWarning, stacklevel=4)
