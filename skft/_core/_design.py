"""The weighted least-squares design of the exact solver, as an operator on ``X``.

NumPy only, no validation. See :mod:`skft._core._exact` for the problem it serves.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["Design", "gram_is_safe", "pow2", "zero_diag_is_genuine"]

# Gram diagonals outside [2^-900, 2^900] mean squares that lost digits to underflow or may
# overflow in later sums: rescale the design first (by exact powers of two).
_SAFE_LO, _SAFE_HI = 2.0**-900, 2.0**900


def pow2(x):
    """The power of two nearest above ``x > 0`` (an exact scaling factor).

    Examples
    --------
    >>> pow2(3.0)
    4.0
    """
    return float(2.0 ** np.ceil(np.log2(x)))


class Design:
    """The weighted design ``A`` whose least-squares problem the solver works on.

    Implicit form: ``A = S^1/2 Xt`` with ``Xt`` one of ``X`` ("plain"), ``X - 1 m'``
    ("centred") or ``[X, 1]`` ("augmented"), applied through products with ``X`` (dense or
    CSR, never copied). Explicit form (``dense`` given): a dense copy ``A / colscale`` with
    ``colscale`` exact powers of two (a scalar, or one per column), made when the implicit
    products would overflow, underflow or cancel; the solver then works in the coordinates
    ``u = colscale * dz``.
    """

    def __init__(self, X, sq, mode, m=None, dense=None, colscale=1.0):
        self.X, self.sq, self.mode, self.m = X, sq, mode, m
        self.dense = dense
        self.colscale = colscale
        self.row_rms = None  # sqrt(weighted mean ||x_i||^2) of the raw rows, set by gram()
        n, d = X.shape
        self.n = n
        self.p = d + (mode == "augmented")

    # -- products
    def matvec(self, V):
        """``A @ V`` for ``V`` of shape (p, k)."""
        if self.dense is not None:
            return self.dense @ V
        X, mode = self.X, self.mode
        d = X.shape[1]
        out = np.asarray(X @ V[:d])
        if mode == "centred":
            out = out - (self.m @ V)[None, :]
        elif mode == "augmented":
            out = out + V[d][None, :]
        return out * self.sq[:, None]

    def rmatvec(self, U):
        """``A' @ U`` for ``U`` of shape (n, k)."""
        if self.dense is not None:
            return self.dense.T @ U
        T = U * self.sq[:, None]
        top = np.asarray(self.X.T @ T)
        if self.mode == "centred":
            return top - np.outer(self.m, T.sum(axis=0))
        if self.mode == "augmented":
            return np.vstack([top, T.sum(axis=0)[None, :]])
        return top

    def gram(self, side):
        """``(M, cancel)``: ``A A'`` (kernel) or ``A' A`` (primal), and the centring
        cancellation factor ``max_i M_raw_ii / M_ii`` (1 when nothing was subtracted)."""
        if self.dense is not None:
            A = self.dense
            return (A @ A.T if side == "kernel" else A.T @ A), 1.0
        X, sq, mode = self.X, self.sq, self.mode
        weighted = not np.all(sq == 1.0)
        cancel = 1.0
        if side == "kernel":
            K = X @ X.T
            K = np.asarray(K.toarray() if sp.issparse(K) else K)
            self.row_rms = float(np.sqrt(np.mean(np.diagonal(K) * sq * sq)))
            if mode == "centred":
                raw = np.diagonal(K).copy()
                Xm = np.asarray(X @ self.m).ravel()
                K = K - Xm[:, None] - Xm[None, :] + float(self.m @ self.m)
                cancel = _cancel(raw, np.diagonal(K))
            elif mode == "augmented":
                K = K + 1.0
            if weighted:
                K *= sq[:, None]
                K *= sq[None, :]
            return K, cancel
        Xs = X if not weighted else (X.multiply((sq * sq)[:, None]).tocsr() if sp.issparse(X)
                                     else X * (sq * sq)[:, None])
        G = X.T @ Xs
        G = np.asarray(G.toarray() if sp.issparse(G) else G)
        self.row_rms = float(np.sqrt(np.trace(G) / self.n))
        if mode == "centred":
            raw = np.diagonal(G).copy()
            G = G - self.n * np.outer(self.m, self.m)  # sum(s) = n
            cancel = _cancel(raw, np.diagonal(G))
        elif mode == "augmented":
            col = np.asarray(X.T @ (sq * sq)).ravel()
            G = np.block([[G, col[:, None]], [col[None, :], np.array([[float(sq @ sq)]])]])
        return G, cancel

    def explicit(self, side, min_norm=False):
        """A dense copy ``A / colscale`` with exact power-of-two scales that keep every
        square in range: one global scale on the kernel side or for a minimum-norm solution
        (``min_norm``: a global scale keeps it, per-column scales would change its metric),
        one per column on the primal side (a unique minimiser)."""
        X = self.X
        A = X.toarray() if sp.issparse(X) else np.array(X, dtype=np.float64)
        if self.mode == "centred":
            A -= self.m[None, :]
        elif self.mode == "augmented":
            A = np.hstack([A, np.ones((A.shape[0], 1))])
        A *= self.sq[:, None]
        amax = np.max(np.abs(A), axis=0) if A.size else np.zeros(self.p)
        if side == "kernel" or min_norm:
            top = float(amax.max()) if amax.size else 0.0
            cs = pow2(top) if top > 0 else 1.0
        else:
            cs = np.array([pow2(a) if a > 0 else 1.0 for a in amax])
        A /= cs
        out = Design(self.X, self.sq, self.mode, self.m, dense=A, colscale=cs)
        out.row_rms = self.row_rms
        return out

    def raw_row_rms(self):
        """``sqrt(weighted mean ||x_i||^2)`` of the raw (uncentred, unaugmented) rows."""
        if self.row_rms is not None and np.isfinite(self.row_rms) and self.row_rms > _SAFE_LO:
            return self.row_rms
        X = self.X
        Z = X.toarray() if sp.issparse(X) else X
        top = float(np.max(np.abs(Z))) if Z.size else 0.0
        if top == 0:
            return 0.0
        g = pow2(top)
        rs = np.einsum("ij,ij->i", Z / g, Z / g)
        return g * float(np.sqrt(np.mean(rs * self.sq * self.sq)))


def _cancel(raw, centred):
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(centred > 0, raw / np.where(centred > 0, centred, 1.0), 1.0)
    return float(np.max(ratio, initial=1.0))


def gram_is_safe(M):
    """Whether a Gram matrix is finite with its positive diagonal in ``[2^-900, 2^900]``.

    Examples
    --------
    >>> import numpy as np
    >>> gram_is_safe(np.eye(2)), gram_is_safe(np.diag([1e-300, 1.0]))
    (True, False)
    """
    d = np.diagonal(M)
    if not np.all(np.isfinite(d)) or not np.all(np.isfinite(M)):
        return False
    pos = d[d > 0]
    return bool(pos.size == 0 or (pos.max() < _SAFE_HI and pos.min() > _SAFE_LO))


def zero_diag_is_genuine(A, M, side):
    """Whether every zero on the Gram diagonal is a zero row (kernel) or column (primal) of
    the design ``A``, not squares that underflowed."""
    zero = np.flatnonzero(np.diagonal(M) == 0)
    if zero.size == 0:
        return True
    if A.dense is not None:
        sub = A.dense[zero] if side == "kernel" else A.dense[:, zero]
        return not np.any(sub)
    E = np.zeros((A.n if side == "kernel" else A.p, zero.size))
    E[zero, np.arange(zero.size)] = 1.0
    sub = A.rmatvec(E) if side == "kernel" else A.matvec(E)
    return not np.any(sub)
