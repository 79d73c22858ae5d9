"""Dense linear algebra on NumPy's BLAS/LAPACK only (one thread pool for the exact solver).

NumPy's and SciPy's wheels each ship their own OpenBLAS with its own thread pool; a SciPy
factorisation right after a NumPy product was measured 3-250x slower with default threads on a
loaded machine (threads of one pool spinning while the other works). The exact solver's hot path
(a NumPy Gram product, then a factorisation) therefore stays inside NumPy. NumPy has a Cholesky
factorisation but no triangular solve, so :class:`Cholesky` solves by recursive blocking: the
diagonal blocks (at most ``_LEAF`` rows) are inverted once, and the off-diagonal blocks are
applied by matrix products (the same arithmetic as a blocked ``trsm``).

* :class:`Cholesky`: ``M = L L'`` of a symmetric positive definite ``M`` after symmetric
  diagonal equilibration (``diag(M)^-1/2 M diag(M)^-1/2``: Cholesky's accuracy depends on the
  condition of the equilibrated matrix, van der Sluis), with ``solve`` for many right-hand sides.
* :func:`pinv_eigh`: the pseudo-inverse of a symmetric positive semi-definite matrix from
  ``numpy.linalg.eigh`` with a relative cutoff.
* :func:`eigh`, :func:`eigvalsh`: NumPy's symmetric eigensolvers with explicit threads. Their
  tridiagonal reduction is memory-bound level-2 BLAS: for a few hundred rows, waking a second
  thread costs more than it saves, and on a loaded machine a multithreaded ``eigh`` of an
  800 x 800 matrix was measured 2-4 times slower than one thread. Matrices below
  ``EIG_SINGLE_THREAD_BELOW`` rows are decomposed on one BLAS thread, larger ones on the
  default threads (a 2000 x 2000 ``eigvalsh`` took 0.3 s on two threads, 0.6 s on one).
* :func:`small_work`: one thread in every BLAS pool (NumPy's and SciPy's) for work on small
  matrices, so that neither pool's idle threads spin against the other's.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import numpy as np

try:  # a scikit-learn dependency
    from threadpoolctl import ThreadpoolController
except ImportError:  # pragma: no cover
    ThreadpoolController = None

__all__ = ["Cholesky", "blas_threads_for", "eigh", "eigvalsh", "pinv_eigh", "small_work"]

_EPS = np.finfo(np.float64).eps
_LEAF = 128
# Below this size a factorisation runs on one BLAS thread: a few milliseconds of work, where
# waking a second thread costs more than it saves (and much more on a loaded machine, where
# the other thread may wait for a core).
SINGLE_THREAD_BELOW = 2048
_CONTROLLER = []


_DEPTH = [0]


@contextmanager
def _one_blas_thread():
    if ThreadpoolController is None or _DEPTH[0]:  # nested: already limited
        yield
        return
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    _DEPTH[0] += 1
    try:
        with _CONTROLLER[0].limit(limits=1, user_api="blas"):
            yield
    finally:
        _DEPTH[0] -= 1


def blas_threads_for(size, single_below=SINGLE_THREAD_BELOW):
    """Context: one BLAS thread for matrices smaller than ``single_below`` (default
    ``SINGLE_THREAD_BELOW``), else the default threads.

    Examples
    --------
    >>> with blas_threads_for(10):
    ...     pass
    """
    return _one_blas_thread() if size < single_below else nullcontext()


#: Symmetric eigenproblems of fewer rows than this run on one BLAS thread (module docstring).
EIG_SINGLE_THREAD_BELOW = 1024


def eigh(M):
    """``numpy.linalg.eigh(M)`` on one BLAS thread when ``M`` is small (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> s, U = eigh(np.diag([2.0, 1.0]))
    >>> s.tolist()
    [1.0, 2.0]
    """
    with blas_threads_for(M.shape[0], EIG_SINGLE_THREAD_BELOW):
        return np.linalg.eigh(M)


def eigvalsh(M):
    """``numpy.linalg.eigvalsh(M)`` on one BLAS thread when ``M`` is small.

    Examples
    --------
    >>> import numpy as np
    >>> eigvalsh(np.diag([2.0, 1.0])).tolist()
    [1.0, 2.0]
    """
    with blas_threads_for(M.shape[0], EIG_SINGLE_THREAD_BELOW):
        return np.linalg.eigvalsh(M)


def small_work():
    """Context: one thread in every BLAS pool, for work on small matrices.

    Examples
    --------
    >>> with small_work():
    ...     pass
    """
    return blas_threads_for(0)


class Cholesky:
    """Equilibrated Cholesky factor of a symmetric positive definite matrix (NumPy only).

    ``M = E^-1 L L' E^-1`` with ``E = diag(M)^-1/2``. Construction raises
    ``numpy.linalg.LinAlgError`` when the equilibrated matrix is not numerically positive
    definite, or when a pivot falls below ``pivot_tol`` (a squared pivot of the unit-diagonal
    matrix below ``pivot_tol`` means a numerically singular matrix: ``lambda_min <= L_ii^2``).

    Parameters
    ----------
    M : ndarray of shape (m, m)
        Symmetric with a positive diagonal (only the lower triangle is read by LAPACK).
    pivot_tol : float, default=0.0

    Attributes
    ----------
    min_pivot : float
        ``min_i L_ii^2`` of the equilibrated factor (an upper bound of its smallest eigenvalue).

    Examples
    --------
    >>> import numpy as np
    >>> M = np.array([[4.0, 2.0], [2.0, 3.0]])
    >>> x = Cholesky(M).solve(np.array([[2.0], [1.0]]))
    >>> bool(np.allclose(M @ x, [[2.0], [1.0]]))
    True
    """

    def __init__(self, M, pivot_tol=0.0):
        d = np.diagonal(M)
        if not np.all(d > 0):
            raise np.linalg.LinAlgError("non-positive diagonal")
        self.scale = 1.0 / np.sqrt(d)
        Ms = M * self.scale[:, None]
        Ms *= self.scale[None, :]
        self._threads = lambda: blas_threads_for(M.shape[0])
        with self._threads():
            L = np.linalg.cholesky(Ms)
        piv = np.diagonal(L) ** 2
        self.min_pivot = float(piv.min()) if piv.size else 1.0
        if not (self.min_pivot > pivot_tol) or not np.all(np.isfinite(piv)):
            raise np.linalg.LinAlgError("numerically singular")
        self.L = L
        self._Ms_norm1 = float(np.abs(Ms).sum(axis=0).max())
        self._leaves = {}

    def _leaf_inv(self, lo, hi):
        key = (lo, hi)
        inv = self._leaves.get(key)
        if inv is None:
            inv = np.linalg.inv(self.L[lo:hi, lo:hi])
            self._leaves[key] = inv
        return inv

    def _lower(self, B, lo, hi):
        """Solve ``L[lo:hi, lo:hi] X = B``."""
        if hi - lo <= _LEAF:
            return self._leaf_inv(lo, hi) @ B
        mid = (lo + hi) // 2
        X1 = self._lower(B[: mid - lo], lo, mid)
        X2 = self._lower(B[mid - lo:] - self.L[mid:hi, lo:mid] @ X1, mid, hi)
        return np.concatenate([X1, X2])

    def _upper(self, B, lo, hi):
        """Solve ``L[lo:hi, lo:hi]' X = B``."""
        if hi - lo <= _LEAF:
            return self._leaf_inv(lo, hi).T @ B
        mid = (lo + hi) // 2
        X2 = self._upper(B[mid - lo:], mid, hi)
        X1 = self._upper(B[: mid - lo] - self.L[mid:hi, lo:mid].T @ X2, lo, mid)
        return np.concatenate([X1, X2])

    def _solve_scaled(self, B):
        m = self.L.shape[0]
        with self._threads():
            return self._upper(self._lower(B, 0, m), 0, m)

    def solve(self, B):
        """``M^-1 B`` for ``B`` of shape (m, k)."""
        return self._solve_scaled(B * self.scale[:, None]) * self.scale[:, None]

    def rcond(self):
        """Estimate of the reciprocal 1-norm condition number of the equilibrated matrix.

        Hager's method with Higham's refinements (LAPACK's ``dlacn2``, as ``dpocon``): a lower
        bound of ``||Ms^-1||_1``, usually within a factor 3, from a few solves.
        """
        m = self.L.shape[0]
        solve = self._solve_scaled
        x = np.full((m, 1), 1.0 / m)
        y = solve(x)
        est = float(np.abs(y).sum())
        for it in range(5):
            xi = np.where(y >= 0, 1.0, -1.0)
            z = solve(xi)
            j = int(np.argmax(np.abs(z)))
            if it > 0 and abs(z[j, 0]) <= float(z[:, 0] @ x[:, 0]):
                break
            x = np.zeros((m, 1))
            x[j] = 1.0
            y = solve(x)
            new = float(np.abs(y).sum())
            if new <= est:
                break
            est = new
        alt = ((-1.0) ** np.arange(m) * (1.0 + np.arange(m) / max(m - 1, 1)))[:, None]
        est = max(est, 2.0 * float(np.abs(solve(alt)).sum()) / (3.0 * m))
        return 1.0 / (est * self._Ms_norm1) if est > 0 else 0.0


def pinv_eigh(M, cutoff_rel=None):
    """Pseudo-inverse pieces of a symmetric PSD matrix: ``(Q, inv_eigs, Q_null, top)``.

    Eigenvalues at most ``cutoff_rel * max_eigenvalue`` (default ``m * eps``) count as zero;
    ``Q`` holds the kept eigenvectors, ``inv_eigs`` the reciprocals of the kept eigenvalues and
    ``Q_null`` the dropped eigenvectors; ``top`` is the largest eigenvalue.

    Examples
    --------
    >>> import numpy as np
    >>> Q, inv, Q0, top = pinv_eigh(np.diag([2.0, 0.0]))
    >>> inv, Q0.shape
    (array([0.5]), (2, 1))
    """
    m = M.shape[0]
    if cutoff_rel is None:
        cutoff_rel = m * _EPS
    evals, evecs = np.linalg.eigh(M)
    top = float(max(evals[-1], 0.0)) if m else 0.0
    keep = evals > cutoff_rel * top
    return evecs[:, keep], 1.0 / evals[keep], evecs[:, ~keep], top
