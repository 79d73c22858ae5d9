"""Closed-form leave-one-out and GCV errors of the fine-tuned linear model.

The fine-tuned model is ridge regression pulled toward the pretrained start ``w0``,

.. math::

    \\hat w = \\arg\\min_w \\frac{1}{2n}\\sum_i (y_i - x_i^\\top w - b)^2
              + \\frac{\\alpha}{2}\\lVert w - w_0\\rVert^2,

whose ``alpha = 0`` member is the interpolator closest to ``w0`` when ``n < d`` (the limit of
SGD started at ``w0``) and least squares when ``n > d``. It only depends on the data through
the residuals ``r = y - X w0`` of the pretrained model: ``w = w0 + v`` with ``v`` the ridge fit
of ``r`` on ``X``. Its leave-one-out residuals therefore come from one factorisation, on the
smaller side of the Gram matrix:

* ``n <= d`` (kernel side): with ``K = X X' + n alpha I``, ``e_i = (P r)_i / P_ii`` where
  ``P = K^-1`` without intercept, and with an unpenalised intercept
  ``P = K^-1 - K^-1 1 1' K^-1 / (1' K^-1 1)``. At ``alpha = 0`` the intercept is one more
  coordinate with feature 1 moved from ``b0`` by the least-norm change, so ``K = X X' + 1 1'``
  and ``P = K^-1``.
* ``n > d`` (feature side): the hat matrix ``H = Z (Z'Z + n alpha D)^-1 Z'`` with ``Z`` the
  (centred, when there is an intercept: ``H = 1 1'/n + H_c``) features, and
  ``e_i = (r - H r)_i / (1 - H_ii)``; at ``alpha = 0`` with rank-deficient features
  ``(Z'Z)^-1`` is the pseudo-inverse (the fit is least squares on the column space).

For ``alpha > 0`` this is the leave-one-out error of the fit whose total penalty
``n alpha`` is held fixed when a row is left out (the usual convention of ridge LOO).
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["LeaveOneOut", "loo_residuals"]

_RANK_TOL = 1e-10


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out and GCV errors of the fine-tuned model, for one or several ``alpha``.

    Attributes
    ----------
    alpha : float or ndarray of shape (n_alphas,)
        The pull toward the start.
    residuals : ndarray of shape (n_samples,) or (n_alphas, n_samples)
        ``e_i = y_i - f_{-i}(x_i)``: the error on sample ``i`` of the model fine-tuned on the
        other ``n - 1`` samples.
    mse : float or ndarray of shape (n_alphas,)
        ``mean(e_i^2)``, the leave-one-out estimate of the fine-tuned test MSE.
    gcv : float or ndarray of shape (n_alphas,)
        Generalised cross-validation ``n ||P r||^2 / tr(P)^2`` (kernel side) or
        ``mean((r - H r)^2) / (1 - tr(H)/n)^2`` (feature side); finite at ``alpha = 0``
        because it is taken as the limit.
    side : {"kernel", "features"}
        Which Gram matrix was factorised.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import loo_residuals
    >>> X = np.random.default_rng(0).standard_normal((10, 30))
    >>> loo = loo_residuals(X, np.ones(10), 0.5)
    >>> loo.side, loo.residuals.shape
    ('kernel', (10,))
    """

    alpha: float | np.ndarray
    residuals: np.ndarray
    mse: float | np.ndarray
    gcv: float | np.ndarray
    side: str

    def error_rate(self, y):
        """Leave-one-out misclassification rate for labels ``y`` in {-1, +1}.

        The leave-one-out prediction is ``y_i - e_i`` and sample ``i`` is misclassified when
        its sign differs from ``y_i`` (a tie at exactly 0 counts as an error).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels coded as -1/+1.

        Returns
        -------
        float or ndarray of shape (n_alphas,)

        Examples
        --------
        >>> import numpy as np
        >>> from skft.advice import loo_residuals
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((20, 50))
        >>> y = np.sign(X[:, 0] + 0.1)
        >>> loo = loo_residuals(X, y, alpha=0.1)
        >>> 0.0 <= loo.error_rate(y) <= 1.0
        True
        """
        y = np.asarray(y, dtype=float)
        pred = y - self.residuals
        rate = (np.sign(pred) != y).mean(axis=-1)
        return float(rate) if np.ndim(rate) == 0 else rate


def _kernel_side(X, r, alphas, fit_intercept):
    n = X.shape[0]
    gram = X @ X.T
    ones = np.ones(n)
    s, U = None, None
    out_e, out_g = [], []
    for alpha in alphas:
        if alpha == 0.0 and fit_intercept:
            s0, U0 = np.linalg.eigh(gram + np.outer(ones, ones))
            _check_rank(s0)
            inv = 1.0 / s0
            a = U0 @ (inv * (U0.T @ r))
            diag = (U0**2) @ inv
            tr = diag.sum()
        else:
            if s is None:
                s, U = np.linalg.eigh(gram)
                s = np.maximum(s, 0.0)
            if alpha == 0.0:
                _check_rank(s)
            inv = 1.0 / (s + n * alpha)
            Ur = U.T @ r
            a = U @ (inv * Ur)
            diag = (U**2) @ inv
            tr = diag.sum()
            if fit_intercept:
                u1 = U @ (inv * (U.T @ ones))
                c = u1.sum()
                a = a - u1 * (a.sum() / c)
                diag = diag - u1**2 / c
                tr = tr - (u1 @ u1) / c
        out_e.append(a / diag)
        out_g.append(n * (a @ a) / tr**2)
    return np.array(out_e), np.array(out_g)


def _feature_side(X, r, alphas, fit_intercept):
    n, d = X.shape
    if fit_intercept:
        Xc = X - X.mean(axis=0)
        rc = r - r.mean()
    else:
        Xc, rc = X, r
    s, V = np.linalg.eigh(Xc.T @ Xc)
    s = np.maximum(s, 0.0)
    XV = Xc @ V
    XVr = XV.T @ rc
    out_e, out_g = [], []
    null = s <= _RANK_TOL * max(s[-1], np.finfo(float).tiny)
    for alpha in alphas:
        if alpha == 0.0:
            # least squares on the column space (pseudo-inverse): directions that X never
            # varies along do not change any prediction, so they are simply skipped
            inv = np.where(null, 0.0, 1.0 / np.where(null, 1.0, s))
        else:
            inv = 1.0 / (s + n * alpha)
        fitted = XV @ (inv * XVr)
        h = (XV**2) @ inv
        res = rc - fitted
        if fit_intercept:
            h = h + 1.0 / n
        if np.any(h >= 1.0 - 1e-10):
            raise ValueError(
                "a sample has leverage 1 (it alone determines a direction of the fit), so its "
                "leave-one-out error is undefined at alpha=0; use alpha > 0."
            )
        out_e.append(res / (1.0 - h))
        out_g.append(np.mean(res**2) / (1.0 - h.sum() / n) ** 2)
    return np.array(out_e), np.array(out_g)


def _check_rank(s):
    if s[0] <= _RANK_TOL * max(s[-1], np.finfo(float).tiny):
        raise ValueError(
            "X is rank deficient on its smaller side, so the alpha=0 fine-tuned model is not "
            "unique or its leave-one-out error is undefined; use alpha > 0."
        )


def loo_residuals(X, r, alpha=0.0, *, fit_intercept=False):
    """Closed-form leave-one-out residuals of the model fine-tuned from ``w0``.

    Exact (no approximation) for the fine-tuned model of the module docstring, computed from
    one eigendecomposition of the smaller Gram matrix (``X X'`` if ``n <= d``, else ``X'X``),
    shared by all values of ``alpha``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Target features (validated by the caller; not modified).
    r : ndarray of shape (n_samples,)
        Residuals of the pretrained model, ``y - X w0 - b0``. ``b0`` matters only at
        ``alpha = 0`` with an intercept; at ``alpha > 0`` the intercept is unpenalised.
    alpha : float or array-like of float >= 0
        Pull toward the start (same convention as the estimators: penalty
        ``alpha/2 ||w - w0||^2`` next to the mean half squared error).
    fit_intercept : bool, default=False
        Whether the fine-tuned model also fits an intercept.

    Returns
    -------
    LeaveOneOut

    Raises
    ------
    ValueError
        At ``alpha = 0`` when the interpolator does not exist (``n <= d`` and linearly
        dependent rows) or a sample has leverage 1 (``n > d``).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import loo_residuals
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 100))
    >>> w0, w_star = np.zeros(100), rng.standard_normal(100) / 10
    >>> y = X @ w_star + 0.1 * rng.standard_normal(30)
    >>> loo = loo_residuals(X, y - X @ w0, alpha=[0.0, 1.0])
    >>> loo.residuals.shape, loo.side
    ((2, 30), 'kernel')
    """
    X = np.asarray(X, dtype=float)
    r = np.asarray(r, dtype=float)
    scalar = np.ndim(alpha) == 0
    alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
    if np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}.")
    n, d = X.shape
    if n < 3:
        raise ValueError(f"leave-one-out needs at least 3 samples, got n_samples={n}.")
    if n <= d + int(fit_intercept):
        e, g = _kernel_side(X, r, alphas, fit_intercept)
        side = "kernel"
    else:
        e, g = _feature_side(X, r, alphas, fit_intercept)
        side = "features"
    mse = np.mean(e**2, axis=1)
    if scalar:
        return LeaveOneOut(float(alphas[0]), e[0], float(mse[0]), float(g[0]), side)
    return LeaveOneOut(alphas, e, mse, g, side)
