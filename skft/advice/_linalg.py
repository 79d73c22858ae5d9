"""Eigendecompositions of the advice, on NumPy's LAPACK with explicit BLAS threads.

NumPy's and SciPy's wheels each ship an OpenBLAS with its own thread pool; the advice's hot
path (Gram products, then eigendecompositions) stays in NumPy's. The tridiagonal reduction
of ``eigh`` / ``eigvalsh`` is memory-bound level-2 BLAS: for a few hundred rows, waking a
second thread costs more than it saves, and on a loaded machine a multithreaded ``eigh`` of
an 800 x 800 matrix was measured 2-4 times slower than one thread. Matrices below
``EIG_SINGLE_THREAD_BELOW`` rows are therefore decomposed on one BLAS thread
(:func:`skft._core._dense_linalg.blas_threads_for`), larger ones on the default threads (a
2000 x 2000 ``eigvalsh`` took 0.3 s on two threads against 0.6 s on one). The small
problems fitted after the factorisations (non-negative least squares on a few hundred
numbers, the profile's bounded least squares) run under :func:`small_work`: one thread in
every BLAS pool, so that neither pool's idle threads spin against the other's.
"""

import numpy as np

from .._core._dense_linalg import blas_threads_for

__all__ = ["EIG_SINGLE_THREAD_BELOW", "eigh", "eigvalsh", "small_work"]

#: Symmetric eigenproblems of fewer rows than this run on one BLAS thread.
EIG_SINGLE_THREAD_BELOW = 1024


def eigh(M):
    """``numpy.linalg.eigh(M)`` on one BLAS thread when ``M`` is small (module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._linalg import eigh
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
    >>> from skft.advice._linalg import eigvalsh
    >>> eigvalsh(np.diag([2.0, 1.0])).tolist()
    [1.0, 2.0]
    """
    with blas_threads_for(M.shape[0], EIG_SINGLE_THREAD_BELOW):
        return np.linalg.eigvalsh(M)


def small_work():
    """Context: one thread in every BLAS pool, for work on small matrices.

    Examples
    --------
    >>> from skft.advice._linalg import small_work
    >>> with small_work():
    ...     pass
    """
    return blas_threads_for(0)
