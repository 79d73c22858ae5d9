"""Closed-form limit of squared-loss SGD started at a pretrained point.

NumPy only (one BLAS thread pool, see :mod:`skft._core._dense_linalg`): no validation, no
scikit-learn. Arrays in, arrays out.

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
  ``(w, b) = (w_s, b_s) + pinv(S^1/2 [X, 1]) S^1/2 (y - X w_s - b_s)``.
  When the least-squares minimiser is unique (the augmented design has full column rank), it is
  also the centred least-squares fit, which is how it is computed then.
  As ``alpha -> 0+`` the ``alpha > 0`` solution tends instead to the interpolator closest to
  ``w0`` with ``b`` free (``b`` is never pulled, so it costs nothing to move), which differs from
  the ``alpha = 0`` point whenever the augmented system is underdetermined: the limit is not
  continuous at ``alpha = 0``, and both points are exactly where SGD goes.
* :mod:`skft._core._sgd` may run the ``alpha > 0`` case in the centred parametrisation
  ``(x - m)' w + c``: the minimiser is unique, so the limit is the same point.
* Without intercept the intercept stays at ``b0`` (as in scikit-learn's SGD, whose
  ``intercept_init`` is kept when ``fit_intercept=False``).

Rows with zero weight are dropped. Numerics, in three tiers (:mod:`skft._core._exact_tiers`;
each later tier only when the earlier one cannot vouch for its answer):

1. **Gram + Cholesky + refinement** (the common case, one BLAS-3 product): the ``n x n`` kernel
   ``A A'`` when there are fewer rows than coordinates (never a ``d x d`` matrix then), else the
   ``p x p`` normal equations ``A' A``; symmetric diagonal equilibration (for the normal
   equations this is column scaling, a mere preconditioner since that minimiser is unique),
   Cholesky, then iterative refinement with residuals computed through ``A`` itself, not the
   Gram (the corrected semi-normal equations: the accuracy of an orthogonal solver, ``eps``
   times the condition number of ``A`` rather than of ``A' A``). The answer is accepted when the
   corrections contract to rounding level; they do not when the Gram is too ill-conditioned.
2. **Pseudo-inverse of the Gram** (``numpy.linalg.eigh``, cutoff ``size * eps * max``) when the
   Gram is singular (duplicate rows, collinear columns with ``alpha = 0``), with the same
   refinement; accepted only if every dropped direction is also negligible for an SVD of ``A``
   (``||A' q|| <= eps * max(n, p) * sigma_max``, the rank rule of ``numpy.linalg.lstsq``).
3. **SVD of the design** ``A`` itself (an orthogonal route, as ``numpy.linalg.lstsq``) otherwise:
   for ``alpha = 0`` the minimum-norm solution in the original coordinates with lstsq's rank
   cutoff; for ``alpha > 0`` the ridge filter ``sigma / (sigma^2 + n alpha)`` on the kernel
   side, the column-equilibrated stacked ridge system on the normal-equations side. With
   ``alpha > 0`` an ill-conditioned kernel first retries tier 1 on the column-equilibrated
   normal equations (up to 4096 coordinates): accurate coefficient by coefficient whatever
   the column scales. Only when that fails too (more coordinates, or more columns of the
   largest scale than rows) is the kernel-side ridge accurate norm-wise only, like lstsq on
   the unscaled problem.

Scale: entries whose squares would overflow or underflow (``|X|`` beyond ~1e150 or below
~1e-150) are handled by an exact power-of-two rescaling of an internal copy (global on the
kernel side, where the minimum norm must be kept, per column on the normal-equations side); the
residual ``y - X w`` likewise. Centring that would cancel many digits (feature means large
against their spread) is done explicitly on a copy instead of by a rank-one correction of the
Gram. A result that does not fit in float64 raises :class:`ExactOverflowError`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._design import Design, gram_is_safe, pow2, zero_diag_is_genuine
from ._exact_tiers import (
    _EPS,
    _colnorms,
    _ridge,
    _tier_cholesky,
    _tier_eigh,
    _tier_svd,
    solve_psd,
)

__all__ = ["ExactOverflowError", "ExactSolution", "solve_exact", "solve_psd"]

# centring by a rank-one correction loses log10(phi) digits: beyond this, centre explicitly
_CENTRE_CANCEL = 64.0
# kernel side, alpha > 0, ill-conditioned kernel: retry on the normal equations up to this size
_PRIMAL_RETRY = 4096


class ExactOverflowError(FloatingPointError, ValueError):
    """Raised when the closed form does not fit in float64 (entries of X or y far too large)."""


@dataclass(frozen=True)
class ExactSolution:
    """Result of :func:`solve_exact`.

    Attributes
    ----------
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
    side : {"kernel", "primal"}
        Which Gram matrix was formed (``n x n`` kernel or ``p x p`` normal equations).
    method : {"cholesky", "eigh", "svd"}
        The tier that produced the answer (module docstring).
    refinements : int
        Iterative-refinement steps taken (0 for ``"svd"``).
    rounding : ndarray of shape (n_targets,)
        ``eps * rms_i ||(x_i, 1)|| * ||(w, b)||`` over the spread (standard deviation) of each
        target column: the relative size of the rounding error that merely storing the
        coefficients in float64 puts on the training predictions. Above ~1e-3 the start is
        far off the scale of ``X`` (coefficients far larger than ``X`` calls for), and no
        float64 answer can predict the targets more precisely than that.
    """

    coef: np.ndarray
    intercept: np.ndarray
    side: str
    method: str
    refinements: int = 0
    rounding: np.ndarray | None = None


def _say(log, message, start=None):
    """``log(message)`` (with the seconds since ``start``) when a stage log is given."""
    if log is not None:
        log(message if start is None else f"{message}: {time.perf_counter() - start:.3f} s")


def _solve_ls(A, R, c, side, *, fallback=True, anchor=None, first_tier=1, min_norm=False,
              log=None):
    """``argmin ||A dz - R||^2 + c ||dz - anchor||^2`` (minimum norm if not unique) on ``A``.

    Returns ``(dz, method, steps, A)`` with ``dz`` in the original coordinates, or None when
    tier 1 fails and ``fallback`` is False. ``anchor`` (default 0) only on the primal side;
    ``first_tier=2`` skips tier 1; ``min_norm``: the minimiser may not be unique, so an
    explicit copy is scaled globally (per-column scales would change the norm). ``log``: a
    callable receiving one line per stage (the estimators' ``verbose``)."""
    start = time.perf_counter()
    M, cancel = A.gram(side)
    _say(log, f"Gram matrix ({side} side, {M.shape[0]} x {M.shape[0]}, {A.mode} design)", start)
    if not (gram_is_safe(M) and zero_diag_is_genuine(A, M, side)) or (
            A.mode == "centred" and cancel > _CENTRE_CANCEL):
        start = time.perf_counter()
        A = A.explicit(side, min_norm)
        M, _ = A.gram(side)
        _say(log, "Gram recomputed on an explicitly rescaled / centred copy (extreme scales "
             "or a centring that cancels digits)", start)
        if not np.all(np.isfinite(M)):
            raise ExactOverflowError(
                "the exact solver overflowed: the entries of X span too many orders of "
                "magnitude for float64 (after rescaling); rescale X")
    cs = A.colscale
    cdiag = _ridge(c, cs)
    if c > 0:
        M[np.diag_indices_from(M)] += cdiag if side == "primal" else float(cdiag)
    def stored(cs):
        if anchor is None:
            return None
        return anchor * (cs[:, None] if np.ndim(cs) else cs)

    out = None
    if first_tier == 1:
        start = time.perf_counter()
        out = _tier_cholesky(A, M, R, cdiag, side, stored(cs))
        _say(log, "Cholesky factorisation " + (
            "not accepted (singular or too ill-conditioned)" if out is None else
            f"accepted ({'no refinement needed' if out[1] == 0 else f'{out[1]} refinement steps'})"
        ), start)
    method = "cholesky"
    if out is None and not fallback:
        return None
    if out is None and c == 0:
        start = time.perf_counter()
        out = _tier_eigh(A, M, R, cdiag, side)
        method = "eigh"
        _say(log, "fallback: pseudo-inverse of the Gram matrix (eigh) " + (
            "not accepted (a dropped direction is not negligible for X)" if out is None
            else f"accepted ({out[1]} refinement steps)"), start)
    if out is None and c > 0 and side == "kernel" and A.p <= _PRIMAL_RETRY:
        # an ill-conditioned kernel with a unique (ridge) minimiser: the column-equilibrated
        # normal equations, affordable for a few thousand coordinates, are accurate
        # coefficient by coefficient when well conditioned (the SVD below only norm-wise)
        _say(log, f"fallback: the normal equations ({A.p} x {A.p}, columns equilibrated)")
        retry = _solve_ls(Design(A.X, A.sq, A.mode, A.m), R, c, "primal", fallback=False,
                          log=log)
        if retry is not None:
            return retry
    if out is None:
        start = time.perf_counter()
        if A.dense is None:
            A = A.explicit(side, min_norm)
            cs = A.colscale
            cdiag = _ridge(c, cs)
        try:
            out = (_tier_svd(A, R, cdiag, side, stored(cs)), 0)
        except np.linalg.LinAlgError as exc:  # pragma: no cover - LAPACK's SVD very rarely fails
            raise ExactOverflowError(
                f"the exact solver's SVD did not converge ({exc}); rescale X or use "
                "solver='sgd'") from exc
        method = "svd"
        _say(log, "fallback: SVD of the design", start)
    u, steps = out
    dz = u / (cs[:, None] if np.ndim(cs) else cs)
    return dz, method, steps, A


# --------------------------------------------------------------------------- entry point
def solve_exact(X, Y, coef_anchor, intercept_anchor, *, alpha, fit_intercept,
                sample_weight=None, coef_start=None, intercept_start=None, log=None):
    """Closed-form point that squared-loss SGD from the start converges to.

    See the module docstring for the objective, the intercept rule and the numerics.

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
    log : callable or None
        Receives one line per stage (Gram matrix, factorisation, refinement, fallback), with
        its time: the estimators' ``verbose``.

    Returns
    -------
    ExactSolution

    Raises
    ------
    ExactOverflowError
        When the residual of the start or the solution does not fit in float64.

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
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        sol = _solve_exact(X, Y, coef_anchor, intercept_anchor, alpha=alpha,
                           fit_intercept=fit_intercept, sample_weight=sample_weight,
                           coef_start=coef_start, intercept_start=intercept_start, log=log)
    if not (np.all(np.isfinite(sol.coef)) and np.all(np.isfinite(sol.intercept))):
        raise ExactOverflowError(
            "the exact solver overflowed (non-finite coefficients): the solution does not fit "
            "in float64; rescale X and y")
    return sol


def _solve_exact(X, Y, coef_anchor, intercept_anchor, *, alpha, fit_intercept,
                 sample_weight=None, coef_start=None, intercept_start=None, log=None):
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
    else:
        s = np.ones(n)
    if n == 0:
        raise ValueError("all sample weights are zero")
    # weights enter only through the ratio s_i / sum(s): rescale to mean one for conditioning
    s = s * (n / float(s.sum()))
    sq = np.sqrt(s)
    c = n * float(alpha)
    side = "kernel" if n < d + int(fit_intercept) else "primal"
    b_fixed = None if fit_intercept else b0
    out = None
    mode = "centred" if fit_intercept else "plain"
    # a zero column (a constant one beside the intercept) leaves the alpha = 0 minimiser
    # non-unique: SGD keeps the start's coefficient there (shares the move with the intercept)
    if side == "primal" and not (alpha == 0 and _null_columns(X, mode == "centred")):
        # The minimiser is unique in the common case: solve for w itself (from 0, the pull
        # toward w0 entering the normal equations), so that y - X w0 never cancels.
        W_from = np.zeros_like(W0)
        b_from = np.zeros_like(b0) if fit_intercept else b0
        R, rbar, rscale, m = _residual(X, Y, W_from, b_from, s, sq, mode)
        design = Design(X, sq, mode, m)
        out = _solve_ls(design, R, c, side, fallback=alpha > 0,
                        anchor=(W0 / rscale) if alpha > 0 else None, log=log)
        if out is None and alpha == 0:
            # tier 1 could not vouch for an ill-conditioned Gram; the minimiser may still be
            # unique, which per-column scaling (exact powers of two) does not change: only a
            # rank-deficient design needs the closest point below (features far smaller
            # than the intercept's 1 are not negligible for a unique minimiser)
            out = _unique_by_svd(design, R)
    if out is None:
        # alpha = 0: the least-squares point closest to the start (the SGD limit) in the
        # augmented coordinates; on the primal side only when the minimiser is not unique
        # (or too ill-conditioned for tier 1: then tiers 2-3 directly).
        mode = ("centred" if alpha > 0 else "augmented") if fit_intercept else "plain"
        W_from = W0 if alpha > 0 else Ws
        b_from = bs if fit_intercept else b0
        R, rbar, rscale, m = _residual(X, Y, W_from, b_from, s, sq, mode)
        if side == "primal":
            _say(log, "the least-squares minimiser is not unique or too ill-conditioned: the "
                 "one closest to the start, on the augmented design (pseudo-inverse or SVD)")
        out = _solve_ls(Design(X, sq, mode, m), R, c, side, first_tier=2 if side == "primal"
                        else 1, min_norm=alpha == 0, log=log)
    dz, method, steps, A = out
    dz = dz * rscale
    if mode == "centred":
        W = W_from + dz
        b = rbar + b_from - m @ dz
    elif mode == "augmented":
        W = W_from + dz[:d]
        b = b_from + dz[d]
    else:
        W = W_from + dz
        b = b_fixed.copy()
    rounding = _rounding(A, Y, W, b, fit_intercept)
    return ExactSolution(coef=W, intercept=np.asarray(b, dtype=np.float64), side=side,
                         method=method, refinements=int(steps), rounding=rounding)


def _unique_by_svd(A, R):
    """``(dz, "svd", 0, A)`` from the SVD of the column-scaled design when it has full column
    rank by lstsq's rule, else None."""
    E = A.explicit("primal")
    U, sig, Vt = np.linalg.svd(E.dense, full_matrices=False)
    if sig.size < E.p or not sig[-1] > _EPS * max(E.dense.shape) * sig[0]:
        return None
    u = Vt.T @ ((U.T @ R) / sig[:, None])
    cs = E.colscale
    return u / (cs[:, None] if np.ndim(cs) else cs), "svd", 0, E


def _null_columns(X, centred):
    """Whether a column of ``X`` is zero (``centred``: constant), exactly."""
    if sp.issparse(X):
        top = X.max(axis=0).toarray().ravel()
        low = X.min(axis=0).toarray().ravel()
    else:
        top, low = X.max(axis=0), X.min(axis=0)
    same = top == low
    return bool(np.any(same if centred else same & (top == 0)))


def _residual(X, Y, W, b, s, sq, mode):
    """``(R, rbar, rscale, m)``: the weighted residual ``S^1/2 (y - X W - b)`` of the start
    (centred in "centred" mode, with weighted means ``rbar`` and feature means ``m``), divided
    by the power of two ``rscale`` that brings it to order one."""
    n = X.shape[0]
    r = Y - np.asarray(X @ W) - b[None, :]
    if not np.all(np.isfinite(r)):
        raise ExactOverflowError(
            "the residual y - X @ coef of the start overflows float64: the start's predictions "
            "are far too large for these X and y (rescale X, y or the start)")
    m = rbar = None
    if mode == "centred":
        m = np.asarray(X.T @ s).ravel() / n
        rbar = s @ r / n
        r = r - rbar[None, :]
    R = r * sq[:, None]
    rmax = float(np.max(np.abs(R))) if R.size else 0.0
    # always to order one (exact): the dual K^-1 R ~ |R| / |X|^2 must not overflow when
    # |R| and 1 / |X|^2 are both large though their quotient |X'| |R| / |X|^2 is not
    rscale = pow2(rmax) if rmax > 0 else 1.0
    return R / rscale, rbar, rscale, m


def _rounding(A, Y, W, b, fit_intercept):
    """See ``ExactSolution.rounding``: ``eps * rms_i(|x_i|' |w| + |b|) / std(y)`` per target,
    from the cheap bound ``||x_i|| ||w||`` first and exactly only when that bound is large."""
    spread = np.std(Y, axis=0)
    spread = np.where(spread > 0, spread, np.sqrt(np.mean(Y * Y, axis=0)))
    spread = np.where(spread > 0, spread, np.inf)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        rows = np.hypot(A.raw_row_rms(), 1.0 if fit_intercept else 0.0)
        top = np.max(np.abs(W), axis=0, initial=0.0)
        top = np.where(top > 0, top, 1.0)
        size = np.hypot(top * _colnorms(W / top), b if fit_intercept else 0.0)
        out = _EPS * rows * size / spread
        if np.all(out <= 1e-4):
            return out
        X, absW = A.X, np.abs(W)
        acc = np.zeros(W.shape[1])
        step = max(1, 2**22 // max(X.shape[1], 1))
        for lo in range(0, X.shape[0], step):
            blk = X[lo:lo + step]
            blk = abs(blk) if sp.issparse(blk) else np.abs(blk)
            P = np.asarray(blk @ absW) + (np.abs(b) if fit_intercept else 0.0)
            acc += np.einsum("ij,ij->j", P, P)
        out = _EPS * np.sqrt(acc / X.shape[0]) / spread
    return np.where(np.isfinite(out), out, np.inf)
