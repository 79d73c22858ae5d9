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

__all__ = ["column_scales", "sgd_scale", "warn_rounding"]

# |X| beyond 2^450 (~1e135) or below 2^-450: squared row norms (step sizes, curvature) and
# gradients x (x'w - y) leave float64's range
_EXTREME = 2.0**450
# columns whose largest entries differ by more than this: SGD's step is set by the largest
# and its limit along the smallest is reached after ~ratio^2 times as many steps
_MIXED = 1e4
# relative rounding of the training predictions above which the exact fit warns
_ROUNDING = 1e-3


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


def sgd_scale(X, *, loss, alpha, fit_intercept, partial, auto_step):
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

    Examples
    --------
    >>> import numpy as np
    >>> sgd_scale(np.ones((3, 2)), loss="squared_error", alpha=0.0, fit_intercept=True,
    ...           partial=False, auto_step=True)
    1.0
    """
    cols = column_scales(X)
    nonzero = cols[cols > 0]
    if nonzero.size == 0:
        return 1.0
    top, low = float(nonzero.max()), float(nonzero.min())
    ratio = np.float64(top) / np.float64(low)
    if ratio > _MIXED:
        with np.errstate(over="ignore"):
            slower = ratio * ratio
        warnings.warn(
            f"the columns of X differ in scale by a factor {ratio:.1e} (largest absolute "
            "entries): SGD's step is set by the largest, so along the smallest it converges "
            f"~{slower:.0e} times more slowly and may stop far from its limit. "
            "Standardise X (e.g. StandardScaler) or use solver='exact' (squared loss).",
            ConvergenceWarning, stacklevel=5)
    if 1.0 / _EXTREME <= top <= _EXTREME:
        return 1.0
    n, d = X.shape
    unique = alpha > 0 or not fit_intercept or n >= d + 1
    if loss != "squared_error" or partial or not auto_step or not unique:
        why = ("partial_fit" if partial else "a given eta0" if not auto_step
               else f"loss={loss!r}" if loss != "squared_error"
               else "alpha=0 with an intercept and fewer samples than coordinates (its limit "
                    "depends on the scale)")
        raise ValueError(
            f"X has entries of size {top:.1e}: SGD's squared norms and gradients leave "
            f"float64's range, and it cannot be rescaled internally with {why}. Rescale X "
            "(e.g. StandardScaler) or use solver='exact' (squared loss, any scale).")
    return float(2.0 ** np.round(np.log2(top)))


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
