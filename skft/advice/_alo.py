"""Leave-one-out scores of the fine-tuned model for every loss: the assumption-free check.

The squared loss has exact closed-form leave-one-out residuals (:mod:`skft.advice._loo`).
For the other losses the fine-tuned model (``alpha > 0``) is first fitted on all samples by
the exact solver (:func:`skft._core._convex.solve_convex`, the point SGD converges to), then:

* smooth losses (``log_loss``, ``modified_huber``, ``huber``): the *approximate leave-one-out*
  (ALO; Rahnama Rad and Maleki 2020, Beirami et al. 2017), one Newton step from the full fit
  toward the fit without sample ``i``. With ``A = X~' D X~ + n alpha P`` the Hessian of
  ``sum_j loss(y_j, p_j) + (n alpha / 2) ||w - w0||^2`` (``X~ = [X, 1]`` with an intercept,
  ``P`` the identity on the coefficients and 0 on the free intercept, ``D = diag(loss'')``),
  the leave-one-out score of sample ``i`` is

  .. math:: p_{-i} = p_i + \\frac{h_i\\, \\ell'_i}{1 - \\ell''_i h_i},
            \\qquad h_i = \\tilde x_i^\\top A^{-1} \\tilde x_i

  (Sherman-Morrison on ``A - l''_i x_i x_i'``): exact for the squared loss, and for a smooth
  loss in high dimension its error is of smaller order than the leave-one-out error's own
  sampling error. ``h`` is formed on the smaller side: ``X (X'DX + cI)^{-1} X' =
  (K - K S (S K S + c I)^{-1} S K) / c`` with ``K = X X'``, ``S = D^{1/2}``, ``c = n alpha``
  when ``n <= d``; the free intercept adds ``u u' / (1' D u)`` with ``u = 1 - M_0 D 1``.
  Piecewise-quadratic losses use their generalised second derivative.
* piecewise-linear losses (``hinge``, ``epsilon_insensitive``): no Newton step exists (the
  loss has no curvature off its kinks), so ``K``-fold cross-validation with the exact solver,
  warm-started at the full fit. Each fit sees ``(K - 1) / K`` of the samples, so the
  estimate is slightly pessimistic (the error at ``n (K - 1) / K`` samples).

``alpha = 0`` is not covered (the minimiser may not exist or not be unique, and where SGD
stops then depends on its path): the caller reports that no empirical check ran.
"""

from dataclasses import dataclass

import numpy as np

from .._core._convex import _Loss, solve_convex

__all__ = ["LooScores", "loss_loo_scores"]

SMOOTH = ("log_loss", "modified_huber", "huber", "squared_error")
N_FOLDS = 10


@dataclass(frozen=True)
class LooScores:
    """Leave-one-out scores ``f_{-i}(x_i)`` of the fine-tuned model (internal).

    ``scores``: (n_samples, n_targets); ``method``: a short name of how they were computed;
    ``coef``, ``intercept``: the fit on all samples.
    """

    scores: np.ndarray
    method: str
    coef: np.ndarray
    intercept: np.ndarray


def _hat_diagonal(X, D, c, fit_intercept):
    """``h_i = x~_i' A^{-1} x~_i`` for one column, or None when ``A`` is singular."""
    n, d = X.shape
    if n <= d:
        K = X @ X.T
        s = np.sqrt(D)
        KS = K * s[None, :]
        T = (s[:, None] * KS) + c * np.eye(n)
        M0 = (K - KS @ np.linalg.solve(T, KS.T)) / c
        h = np.diag(M0).copy()
        MD1 = M0 @ D if fit_intercept else None
    else:
        A0 = (X.T * D) @ X + c * np.eye(d)
        AX = np.linalg.solve(A0, X.T)  # (d, n)
        h = np.einsum("ij,ji->i", X, AX)
        MD1 = X @ (AX @ D) if fit_intercept else None
    if fit_intercept:
        u = 1.0 - MD1
        s_int = float(D @ u)
        if not s_int > 1e-12 * max(float(D.sum()), 1e-300):
            return None  # the intercept direction has no curvature: no Newton step
        h = h + u * u / s_int
    return h


def _alo(X, Y, sol, alpha, loss, epsilon, fit_intercept):
    n = X.shape[0]
    W = sol.coef.reshape(X.shape[1], -1)
    b = np.atleast_1d(sol.intercept)
    P = X @ W + b[None, :]
    out = np.empty_like(P)
    c = n * alpha
    fn = _Loss(loss, epsilon)
    for j in range(P.shape[1]):
        _, d1, d2 = fn(P[:, j], Y[:, j])
        h = _hat_diagonal(X, np.asarray(d2, dtype=float), c, fit_intercept)
        if h is None:
            return None
        out[:, j] = P[:, j] + d1 * h / np.maximum(1.0 - d2 * h, 1e-12)
    return out


def _kfold(X, Y, W0, b0, alpha, loss, epsilon, fit_intercept, sol, n_folds):
    n = X.shape[0]
    k = min(n_folds, n)
    order = np.random.default_rng(0).permutation(n)
    out = np.empty(Y.shape)
    coef_start = sol.coef.reshape(X.shape[1], -1)
    for fold in np.array_split(order, k):
        train = np.ones(n, dtype=bool)
        train[fold] = False
        part = solve_convex(X[train], Y[train], W0.T, b0, alpha, loss, epsilon, fit_intercept,
                            coef_start=coef_start, intercept_start=np.atleast_1d(sol.intercept))
        out[fold] = X[fold] @ part.coef.reshape(X.shape[1], -1) + np.atleast_1d(part.intercept)
    return out


def loss_loo_scores(X, Y, W0, b0, alpha, loss, epsilon, fit_intercept, n_folds=N_FOLDS):
    """Leave-one-out (or cross-validated) scores of the model fine-tuned with ``loss``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    Y : ndarray of shape (n_samples, n_targets)
        Targets (``+-1`` for the classification losses, one column per binary problem).
    W0 : ndarray of shape (n_targets, n_features)
        The anchor (the start, calibrated when asked).
    b0 : ndarray of shape (n_targets,)
    alpha : float > 0
    loss : str
    epsilon : float
    fit_intercept : bool
    n_folds : int, default=10
        Folds of the cross-validation of the piecewise-linear losses.

    Returns
    -------
    LooScores
    """
    Y = np.asarray(Y, dtype=np.float64).reshape(X.shape[0], -1)
    W0 = np.atleast_2d(np.asarray(W0, dtype=np.float64))
    b0 = np.atleast_1d(np.asarray(b0, dtype=np.float64))
    sol = solve_convex(X, Y, W0.T, b0, float(alpha), loss, float(epsilon), bool(fit_intercept))
    coef = sol.coef.reshape(X.shape[1], -1).T
    intercept = np.atleast_1d(sol.intercept)
    if loss in SMOOTH:
        scores = _alo(X, Y, sol, float(alpha), loss, float(epsilon), bool(fit_intercept))
        if scores is not None:
            return LooScores(scores, "approximate leave-one-out", coef, intercept)
    scores = _kfold(X, Y, W0, b0, float(alpha), loss, float(epsilon), bool(fit_intercept), sol,
                    n_folds)
    k = min(n_folds, X.shape[0])
    return LooScores(scores, f"{k}-fold cross-validation", coef, intercept)
