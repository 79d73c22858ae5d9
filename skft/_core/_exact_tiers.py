"""The three numerical tiers of the exact solver (see :mod:`skft._core._exact`).

Gram + equilibrated Cholesky + iterative refinement through the design itself; the
pseudo-inverse of the Gram (``eigh``) when it is singular; the SVD of the design when
neither can vouch for its answer. NumPy only (one BLAS thread pool).
"""

from __future__ import annotations

import numpy as np

from ._dense_linalg import Cholesky, blas_threads_for, pinv_eigh

__all__ = ["solve_psd"]

_EPS = np.finfo(np.float64).eps
_TINY = np.finfo(np.float64).tiny
# a unit-diagonal Cholesky pivot below this means cond > ~1e11: go to the pseudo-inverse
_PIVOT_TOL = 1e4 * _EPS
# refinement: accept a stalled correction of at most this relative size
_STALL_OK = 1e-8
_MAX_REFINE = 12
# equilibrated Gram with a reciprocal condition estimate above this: accurate to ~1e-12
# without refinement
_RCOND_TRUST = 1e-4


def solve_psd(M, B):
    """Solve ``M X = B`` for symmetric positive semi-definite ``M``, minimum-norm if singular.

    Equilibrated Cholesky (NumPy only) with two steps of iterative refinement; if the
    factorisation fails, a pivot is below ``1e4 eps`` or refinement does not contract, the
    pseudo-inverse from ``numpy.linalg.eigh`` with eigenvalues below
    ``size * eps * max_eigenvalue`` treated as zero.

    Returns
    -------
    X : ndarray
    method : {"cholesky", "eigh"}

    Examples
    --------
    >>> import numpy as np
    >>> X, method = solve_psd(np.diag([2.0, 0.0]), np.array([[1.0], [0.0]]))
    >>> X.ravel().tolist(), method
    ([0.5, 0.0], 'eigh')
    """
    size = M.shape[0]
    if size == 0:
        return np.zeros_like(B), "cholesky"
    try:
        chol = Cholesky(M, pivot_tol=_PIVOT_TOL)
    except np.linalg.LinAlgError:
        chol = None
    if chol is not None:
        X, ok, _ = _refined(chol.solve(B), lambda U: B - M @ U, chol.solve)
        if ok:
            return X, "cholesky"
    Q, inv, _, _ = pinv_eigh(M)
    return Q @ (inv[:, None] * (Q.T @ B)), "eigh"


def _colnorms(U):
    return np.sqrt(np.einsum("ij,ij->j", U, U))


def _refine(step, max_iter=_MAX_REFINE):
    """Run ``step()`` (one refinement correction, returning its relative size, worst column)
    until accepted or rejected; returns ``(accepted, steps)``.

    Accepted when the relative correction falls to ``4 eps``, or when it stops contracting (at
    least halving) at a size of at most ``_STALL_OK``: the rounding floor of the residual, as
    accurate as an orthogonal solver. Rejected when it stalls higher, or turns non-finite.
    """
    prev = size = np.inf
    for it in range(1, max_iter + 1):
        size = step()
        if not np.isfinite(size):
            return False, it
        if size <= 4 * _EPS:
            return True, it
        if size > 0.5 * prev:
            return size <= _STALL_OK, it
        prev = size
    return size <= _STALL_OK, max_iter


def _relative(delta, U):
    if not U.size:
        return 0.0
    return float(np.max(_colnorms(delta) / np.maximum(_colnorms(U), _TINY)))


def _refined(U, residual, solve):
    """``U`` refined by ``U += solve(residual(U))``: ``(U, accepted, steps)``."""
    state = [U]

    def step():
        delta = solve(residual(state[0]))
        state[0] = state[0] + delta
        return _relative(delta, state[0])
    ok, steps = _refine(step)
    return state[0], ok, steps


def _refined_kernel(A, R, c, solve, v=None):
    """Kernel side: ``dz = A' v`` with ``(A A' + c) v = R``, refining ``dz`` itself
    (``dz += A' solve(R - A dz - c v)``): the corrections are small, so ``A' dv`` does not
    carry the rounding of a large ``v`` (which would leave a residual ~ ``eps cond(A)^2``)."""
    v = solve(R) if v is None else v
    state = [v, A.rmatvec(v)]

    def step():
        v, dz = state
        rho = R - A.matvec(dz)
        if c is not None:
            rho -= c * v
        dv = solve(rho)
        ddz = A.rmatvec(dv)
        state[0], state[1] = v + dv, dz + ddz
        return _relative(ddz, state[1])
    ok, steps = _refine(step)
    return state[1], ok, steps


# --------------------------------------------------------------------------- the tiers
def _tier_cholesky(A, M, R, cdiag, side, anchor=None):
    """Tier 1; returns ``(u, steps)`` in stored coordinates or None. ``anchor`` (primal
    side): the pull is ``cdiag ||u - anchor||^2`` instead of toward 0."""
    idx = np.flatnonzero(np.diagonal(M) > 0)
    if idx.size == 0:
        return np.zeros((A.p, R.shape[1])), 0
    full = idx.size == M.shape[0]
    B = R if side == "kernel" else _rhs(A, R, cdiag, anchor)
    with blas_threads_for(idx.size):  # the small factorisation: no thread wake-ups
        try:
            chol = Cholesky(M if full else M[np.ix_(idx, idx)], pivot_tol=_PIVOT_TOL)
        except np.linalg.LinAlgError:
            return None

        def solve(B):
            if full:
                return chol.solve(B)
            out = np.zeros((M.shape[0], B.shape[1]))
            out[idx] = chol.solve(B[idx])
            return out

        # well conditioned (the common case): the Gram solution is accurate to ~eps cond as
        # it stands, and refinement (two more passes over X) is skipped
        trusted = chol.rcond() > _RCOND_TRUST
        first = solve(B)
    if side == "kernel":
        if trusted:
            return A.rmatvec(first), 0
        dz, ok, steps = _refined_kernel(A, R, cdiag if cdiag else None, solve, first)
        return (dz, steps) if ok else None
    if trusted:
        return first, 0

    def residual(U):
        pull = U if anchor is None else U - anchor
        return A.rmatvec(R - A.matvec(U)) - _times(cdiag, pull)
    U, ok, steps = _refined(first, residual, solve)
    return (U, steps) if ok else None


def _rhs(A, R, cdiag, anchor):
    """Right-hand side ``A' R + cdiag anchor`` of the normal equations."""
    B = A.rmatvec(R)
    return B if anchor is None else B + _times(cdiag, anchor)


def _ridge(c, cs):
    """The pull ``c / cs^2`` in stored coordinates (capped: beyond 1e290 it is infinite)."""
    if not c > 0:
        return 0.0
    with np.errstate(over="ignore", divide="ignore"):
        out = np.square(np.sqrt(c) / np.asarray(cs, dtype=np.float64))
    out = np.minimum(out, 1e290)
    return out if np.ndim(out) else float(out)


def _times(cdiag, U):
    return cdiag[:, None] * U if np.ndim(cdiag) else cdiag * U


def _tier_eigh(A, M, R, cdiag, side):
    """Tier 2 (alpha = 0 only): the Gram's pseudo-inverse, refined; None unless every dropped
    direction is also below lstsq's rank cutoff for ``A``."""
    Q, inv, Q0, top = pinv_eigh(M)
    if top <= 0:
        return np.zeros((A.p, R.shape[1])), 0
    if Q0.shape[1]:
        along = A.rmatvec(Q0) if side == "kernel" else A.matvec(Q0)
        cutoff = _EPS * max(A.n, A.p) * np.sqrt(top)
        if float(np.max(_colnorms(along))) > cutoff:
            return None

    def solve(B):
        return Q @ (inv[:, None] * (Q.T @ B))

    if side == "kernel":
        dz, ok, steps = _refined_kernel(A, R, None, solve)
        return (dz, steps) if ok else None

    def residual(U):
        return A.rmatvec(R - A.matvec(U))
    U, ok, steps = _refined(solve(A.rmatvec(R)), residual, solve)
    return (U, steps) if ok else None


def _tier_svd(A, R, cdiag, side, anchor=None):
    """Tier 3: SVD of the explicit design (``A`` must be explicit)."""
    D = A.dense
    n, p = D.shape
    ridge = np.any(np.asarray(cdiag) > 0)
    colnorm = None
    if ridge and side == "primal":
        # the stacked ridge system, its columns equilibrated (the minimiser is unique)
        c = np.sqrt(np.broadcast_to(np.asarray(cdiag, dtype=np.float64), (p,)))
        D = np.vstack([D, np.diag(c)])
        tail = np.zeros((p, R.shape[1])) if anchor is None else c[:, None] * anchor
        R = np.vstack([R, tail])
        colnorm = np.sqrt(np.einsum("ij,ij->j", D, D))
        colnorm[colnorm == 0] = 1.0
        D = D / colnorm
    U, sig, Vt = np.linalg.svd(D, full_matrices=False)
    top = float(sig[0]) if sig.size else 0.0
    if ridge and side == "kernel":
        f = sig / (sig * sig + float(cdiag))
    else:
        keep = sig > _EPS * max(D.shape) * top
        f = np.zeros_like(sig)
        f[keep] = 1.0 / sig[keep]
    u = Vt.T @ (f[:, None] * (U.T @ R))
    return u if colnorm is None else u / colnorm[:, None]
