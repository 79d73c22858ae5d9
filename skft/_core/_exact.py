"""Closed-form limit of squared-loss SGD started at a pretrained point.

NumPy/SciPy only: no validation, no scikit-learn. Arrays in, arrays out.

The objective (weights ``s_i >= 0`` normalised to mean one over the rows, so that it reads
``sum_i s_i l_i / sum_i s_i``) is

.. math::

    F(w, b) = \\frac{\\sum_i s_i (y_i - x_i^\\top w - b)^2 / 2}{\\sum_i s_i}
              + \\frac{\\alpha}{2} \\lVert w - w_0 \\rVert^2 .

The intercept rule, shared with :mod:`skft._core._sgd`: the SGD treats the intercept as one more
coordinate with constant feature 1, the same step size and **no pull** toward ``b0``.

* ``alpha > 0``: ``F`` has a unique minimiser. ``b`` is unpenalised, so with weighted means
  ``m = X' s / sum(s)``, ``ybar = s' y / sum(s)`` and the centred ``Xc = X - 1 m'``,
  ``w = w0 + Xc' S^1/2 (S^1/2 Xc Xc' S^1/2 + sum(s) alpha I)^-1 S^1/2 (yc - Xc w0)`` and
  ``b = ybar - m' w`` (with unit weights ``sum(s) = n``, the formula of DESIGN.md).
* ``alpha = 0``: SGD moves ``(w, b)`` only inside ``(w_s, b_s) + span{(x_i, 1)}`` (the start plus
  the row space of the augmented design), so its limit is the weighted least-squares minimiser
  closest to the start in the augmented norm ``||w - w_s||^2 + (b - b_s)^2``:
  ``(w, b) = (w_s, b_s) + pinv(S^1/2 [X, 1]) S^1/2 (y - X w_s - b_s)``, computed through the
  augmented kernel ``X X' + 1 1'`` when there are fewer rows than coordinates.
  As ``alpha -> 0+`` the ``alpha > 0`` solution tends instead to the interpolator closest to
  ``w0`` with ``b`` free (``b`` is never pulled, so it costs nothing to move), which differs from
  the ``alpha = 0`` point whenever the augmented system is underdetermined: the limit is not
  continuous at ``alpha = 0``, and both points are exactly where SGD goes.
* :mod:`skft._core._sgd` may run the ``alpha > 0`` case in the centred parametrisation
  ``(x - m)' w + c``: the minimiser is unique, so the limit is the same point.
* Without intercept the intercept stays at ``b0`` (as in scikit-learn's SGD, whose
  ``intercept_init`` is kept when ``fit_intercept=False``).

Rows with zero weight are dropped. The linear system is solved on the smaller side: an
``n x n`` kernel when ``n`` is smaller than the number of coordinates (never a ``d x d`` matrix
then), the ``p x p`` normal equations otherwise; Cholesky first, and when the matrix is singular or
ill-conditioned (duplicate rows, ``alpha = 0``) an eigendecomposition with relative cutoff
(a stable pseudo-inverse). One factorisation serves all target columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import linalg
from scipy.linalg import lapack

__all__ = ["ExactOverflowError", "ExactSolution", "solve_exact", "solve_psd"]

# Cholesky is trusted when LAPACK's reciprocal condition estimate exceeds this.
_CHOL_RCOND = np.sqrt(np.finfo(np.float64).eps)


class ExactOverflowError(FloatingPointError, ValueError):
    """Raised when the closed form overflows float64 (entries of X or y far too large)."""


@dataclass(frozen=True)
class ExactSolution:
    """Result of :func:`solve_exact`.

    Attributes
    ----------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
    side : {"kernel", "primal"}
        Which Gram matrix was factorised (``n x n`` kernel or ``p x p`` normal equations).
    method : {"cholesky", "eigh"}
        ``"eigh"`` when the pseudo-inverse fallback was used.
    """

    coef: np.ndarray
    intercept: np.ndarray
    side: str
    method: str


def solve_psd(M, B):
    """Solve ``M X = B`` for symmetric positive semi-definite ``M``, minimum-norm if singular.

    Cholesky with a LAPACK condition estimate; if the factorisation fails or the reciprocal
    condition number is below ``sqrt(eps)``, the pseudo-inverse from ``eigh`` with eigenvalues
    below ``size * eps * max_eigenvalue`` treated as zero.

    Returns
    -------
    X : ndarray
    method : {"cholesky", "eigh"}
    """
    size = M.shape[0]
    if size == 0:
        return np.zeros_like(B), "cholesky"
    anorm = float(np.abs(M).sum(axis=0).max())
    if anorm > 0 and np.isfinite(anorm):
        try:
            c, lower = linalg.cho_factor(M, lower=True, check_finite=False)
            rcond, info = lapack.dpocon(c, anorm, uplo="L")
            if info == 0 and rcond > _CHOL_RCOND:
                return linalg.cho_solve((c, lower), B, check_finite=False), "cholesky"
        except linalg.LinAlgError:
            pass
    evals, evecs = linalg.eigh(M, check_finite=False)
    top = evals[-1] if evals.size else 0.0
    cutoff = size * np.finfo(np.float64).eps * max(top, 0.0)
    keep = evals > cutoff
    if not np.any(keep):
        return np.zeros_like(B), "eigh"
    V = evecs[:, keep]
    return V @ ((V.T @ B) / evals[keep][:, None]), "eigh"


def _matmul(X, A):
    out = X @ A
    return np.asarray(out.toarray() if sp.issparse(out) else out)


def solve_exact(X, Y, coef_anchor, intercept_anchor, *, alpha, fit_intercept,
                sample_weight=None, coef_start=None, intercept_start=None):
    """Closed-form point that squared-loss SGD from the start converges to.

    See the module docstring for the objective and the intercept rule.

    Parameters
    ----------
    X : ndarray or CSR matrix of shape (n_samples, n_features), float64
    Y : ndarray of shape (n_samples, n_targets)
    coef_anchor : ndarray of shape (n_features, n_targets)
        ``w0``, the point the pull ``alpha/2 ||w - w0||^2`` is toward.
    intercept_anchor : ndarray of shape (n_targets,)
        ``b0``; the fixed intercept when ``fit_intercept`` is False.
    alpha : float >= 0
    fit_intercept : bool
    sample_weight : ndarray of shape (n_samples,) or None
    coef_start, intercept_start : ndarray or None
        Where SGD starts (defaults: the anchor). Matters only for ``alpha = 0``, where the limit
        is the least-squares solution closest to the start.

    Returns
    -------
    ExactSolution

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((5, 8)); y = rng.standard_normal((5, 1))
    >>> w0 = np.ones((8, 1))
    >>> sol = solve_exact(X, y, w0, np.zeros(1), alpha=0.0, fit_intercept=False)
    >>> bool(np.allclose(X @ sol.coef, y))  # interpolates
    True
    >>> bool(np.allclose(sol.coef - w0, np.linalg.pinv(X) @ (y - X @ w0)))  # closest to w0
    True
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        sol = _solve_exact(X, Y, coef_anchor, intercept_anchor, alpha=alpha,
                           fit_intercept=fit_intercept, sample_weight=sample_weight,
                           coef_start=coef_start, intercept_start=intercept_start)
    if not (np.all(np.isfinite(sol.coef)) and np.all(np.isfinite(sol.intercept))):
        raise ExactOverflowError(
            "the exact solver overflowed (non-finite coefficients): the entries of X or y are "
            "too large for float64 Gram matrices; rescale X and y")
    return sol


def _solve_exact(X, Y, coef_anchor, intercept_anchor, *, alpha, fit_intercept,
                 sample_weight=None, coef_start=None, intercept_start=None):
    W0 = np.asarray(coef_anchor, dtype=np.float64)
    b0 = np.asarray(intercept_anchor, dtype=np.float64)
    Ws = W0 if coef_start is None else np.asarray(coef_start, dtype=np.float64)
    bs = b0 if intercept_start is None else np.asarray(intercept_start, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n, d = X.shape
    if sample_weight is not None:
        s = np.asarray(sample_weight, dtype=np.float64)
        keep = s > 0
        if not np.all(keep):
            X, Y, s = X[keep], Y[keep], s[keep]
            n = X.shape[0]
        uniform = bool(np.all(s == s[0])) if n else True
    else:
        s, uniform = np.ones(n), True
    if n == 0:
        raise ValueError("all sample weights are zero")
    ssum = float(s.sum())
    # weights enter only through the ratio s_i / sum(s): rescale to mean one for conditioning
    s = s * (n / ssum)
    ssum = float(n)
    sq = np.sqrt(s)
    c = ssum * alpha

    if fit_intercept and alpha > 0:
        mode = "centred"
        m = _matmul(X.T, s) / ssum  # weighted feature means (d,)
        ybar = s @ Y / ssum
        W_from, b_from = W0, None
        R = Y - _matmul(X, W0) - (ybar - m @ W0)[None, :]
        p = d
    elif fit_intercept:
        mode = "augmented"
        W_from, b_from = Ws, bs
        R = Y - _matmul(X, Ws) - bs[None, :]
        p = d + 1
    else:
        mode = "plain"
        W_from = W0 if alpha > 0 else Ws
        b_from = b0
        R = Y - _matmul(X, W_from) - b0[None, :]
        p = d
    R = R * sq[:, None]

    def adjoint(V):
        """A' V for A = S^1/2 Xtilde (Xtilde the centred / augmented / plain design)."""
        T = V * sq[:, None]
        top = _matmul(X.T, T)
        if mode == "centred":
            return top - np.outer(m, T.sum(axis=0)), None
        if mode == "augmented":
            return top, T.sum(axis=0)
        return top, None

    if n < p:
        side = "kernel"
        K = _matmul(X, X.T)
        if mode == "centred":
            Xm = _matmul(X, m)
            K = K - Xm[:, None] - Xm[None, :] + m @ m
        elif mode == "augmented":
            K = K + 1.0
        if not uniform:
            K = K * np.outer(sq, sq)
        if c > 0:
            K[np.diag_indices_from(K)] += c
        V, method = solve_psd(K, R)
        dW, db = adjoint(V)
    else:
        side = "primal"
        Xs = X if uniform else (X.multiply(s[:, None]).tocsr() if sp.issparse(X)
                                else X * s[:, None])
        G = _matmul(X.T, Xs)
        if uniform:
            G = G * s[0]
        if mode == "centred":
            G = G - ssum * np.outer(m, m)
        elif mode == "augmented":
            col = _matmul(X.T, s)
            G = np.block([[G, col[:, None]], [col[None, :], np.array([[ssum]])]])
        if c > 0:
            G[np.diag_indices_from(G)] += c
        top, last = adjoint(R)
        rhs = top if last is None else np.vstack([top, last[None, :]])
        U, method = solve_psd(G, rhs)
        dW, db = (U[:d], U[d]) if mode == "augmented" else (U, None)

    W = W_from + dW
    if mode == "centred":
        b = ybar - m @ W
    elif mode == "augmented":
        b = b_from + db
    else:
        b = b_from.copy()
    return ExactSolution(coef=W, intercept=np.asarray(b, dtype=np.float64), side=side,
                         method=method)
