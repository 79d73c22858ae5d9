"""The exact solver's normal equations, from merged row moments instead of the rows.

NumPy/SciPy only: no validation, no scikit-learn. The point computed is the one of
:func:`skft._core._exact.solve_exact` (same objective, same intercept rule, see that module), on
its ``p x p`` "primal" side, so the rows themselves are never needed: only the
:class:`~skft._core._moments.CrossMoments` of the features ``x`` and of the residuals
``r = y - X w_r - b_r`` of one reference point ``(w_r, b_r)`` (:func:`residual_reference`),
which can be reduced block by block (on a cluster, from files). Taking the moments of the
residuals rather than of ``y`` keeps the right-hand side as accurate as the in-memory solver's.

With ``S`` the weights, ``w = sum s``, ``m`` and ``rbar`` the weighted means, ``C_xx`` and ``C_xr``
the centred scatters, the systems solved (by :func:`skft._core._exact.solve_psd`) are

* intercept and ``alpha > 0`` (centred): ``(C_xx + w alpha I) dW = C_xr``, ``W = w0 + dW``,
  ``b = rbar - m' dW`` (reference ``(w0, 0)``);
* intercept and ``alpha = 0``: when the least-squares minimiser is unique (``C_xx`` positive
  definite) it is the centred fit ``C_xx dW = C_xr``, ``b = bs + rbar - m' dW``; otherwise the
  minimum norm from the start ``(ws, bs)`` on the augmented system
  ``[[C_xx + w m m', w m], [w m', w]] [dW; db] = [C_xr + w m rbar'; w rbar]``;
* no intercept: ``(C_xx + w m m' + w alpha I) dW = C_xr + w m rbar'``, ``b = b0``.

These are the in-memory normal equations divided by ``n / w``, a factor that changes neither
the solution nor the relative cut-off of the pseudo-inverse.
"""

from __future__ import annotations

import numpy as np

from ._exact import ExactOverflowError, ExactSolution, solve_psd

__all__ = ["residual_reference", "solve_exact_from_moments"]


def residual_reference(coef_anchor, intercept_anchor, *, alpha, fit_intercept,
                       coef_start=None, intercept_start=None):
    """The point ``(w_r, b_r)`` whose residuals :func:`solve_exact_from_moments` needs.

    The anchor ``(w0, 0)`` for the centred case (intercept, ``alpha > 0``), the start for the
    augmented one (intercept, ``alpha = 0``), and ``(w0 or start, b0)`` without intercept.

    Returns
    -------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)

    Examples
    --------
    >>> import numpy as np
    >>> w, b = residual_reference(np.ones((2, 1)), np.ones(1), alpha=0.1, fit_intercept=True)
    >>> w.ravel().tolist(), b.tolist()
    ([1.0, 1.0], [0.0])
    """
    W0 = np.asarray(coef_anchor, dtype=np.float64)
    b0 = np.asarray(intercept_anchor, dtype=np.float64)
    Ws = W0 if coef_start is None else np.asarray(coef_start, dtype=np.float64)
    bs = b0 if intercept_start is None else np.asarray(intercept_start, dtype=np.float64)
    if fit_intercept and alpha > 0:
        return W0, np.zeros_like(b0)
    if fit_intercept:
        return Ws, bs
    return (W0 if alpha > 0 else Ws), b0


def solve_exact_from_moments(moments, coef_reference, intercept_reference, *, alpha,
                             fit_intercept):
    """Closed-form point of :func:`skft._core._exact.solve_exact` from row moments.

    Parameters
    ----------
    moments : CrossMoments
        Of the features and of the residuals ``Y - X w_r - b_r`` of the reference point.
    coef_reference, intercept_reference : ndarray
        The reference point ``(w_r, b_r)`` of :func:`residual_reference` (same arguments).
    alpha : float >= 0
    fit_intercept : bool

    Returns
    -------
    ExactSolution
        With ``side="primal"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft._core._moments import cross_moments
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 3)); y = X @ [1.0, 2.0, 3.0] + 4.0
    >>> w, b = residual_reference(np.zeros((3, 1)), np.zeros(1), alpha=0.0, fit_intercept=True)
    >>> mom = cross_moments(X, y[:, None] - X @ w - b)
    >>> sol = solve_exact_from_moments(mom, w, b, alpha=0.0, fit_intercept=True)
    >>> np.round(sol.coef.ravel(), 6).tolist(), np.round(sol.intercept, 6).tolist()
    ([1.0, 2.0, 3.0], [4.0])
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sol = _solve(moments, coef_reference, intercept_reference, float(alpha),
                     bool(fit_intercept))
    if not (np.all(np.isfinite(sol.coef)) and np.all(np.isfinite(sol.intercept))):
        raise ExactOverflowError(
            "the exact solver overflowed (non-finite coefficients): the entries of X or y are "
            "too large for float64 Gram matrices; rescale X and y")
    return sol


def _solve(mom, Wr, br, alpha, fit_intercept):
    Wr = np.asarray(Wr, dtype=np.float64)
    br = np.asarray(br, dtype=np.float64)
    w, m, rbar = mom.weight, mom.mean_x, mom.mean_r
    if not w > 0:
        raise ValueError("all sample weights are zero")
    d = m.size
    if fit_intercept and alpha > 0:
        G = mom.scatter_xx.copy()
        G[np.diag_indices(d)] += w * alpha
        dW, method = solve_psd(G, mom.scatter_xr)
        return ExactSolution(coef=Wr + dW, intercept=rbar - m @ dW, side="primal",
                             method=method)
    if fit_intercept:  # alpha = 0
        dW, method = solve_psd(mom.scatter_xx, mom.scatter_xr)
        if method == "cholesky":  # unique least squares: the centred fit, no cancellation
            return ExactSolution(coef=Wr + dW, intercept=br + rbar - m @ dW, side="primal",
                                 method=method)
    G = mom.scatter_xx + w * np.outer(m, m)
    rhs = mom.scatter_xr + w * np.outer(m, rbar)
    if fit_intercept:  # singular: the minimum norm from the start, on the augmented system
        G = np.block([[G, w * m[:, None]], [w * m[None, :], np.array([[w]])]])
        rhs = np.vstack([rhs, w * rbar[None, :]])
        U, method = solve_psd(G, rhs)
        return ExactSolution(coef=Wr + U[:d], intercept=br + U[d], side="primal",
                             method=method)
    if alpha > 0:
        G[np.diag_indices(d)] += w * alpha
    dW, method = solve_psd(G, rhs)
    return ExactSolution(coef=Wr + dW, intercept=br.copy(), side="primal", method=method)
