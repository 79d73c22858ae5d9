"""Mergeable sufficient statistics of row blocks (first and second moments, centred).

NumPy only: no validation, no scikit-learn, no dask. Arrays in, small arrays out.

A quantity summed over the rows of a data set split in blocks (files, chunks of a dask array,
workers of a cluster) can be computed block by block and merged in any order, in memory
``O(d^2)`` whatever the number of rows. Summing raw products ``X'X`` loses precision when the
columns have means large against their spread, so each block keeps its moments *about its own
mean*, and two blocks are merged by shifting both to the pooled mean (Chan, Golub & LeVeque's
pairwise update for the covariance; Pebay's for higher moments):

.. math::

    C = C_a + C_b + \\frac{w_a w_b}{w_a + w_b} (m_b - m_a)(m_b - m_a)^\\top .

Two statistics are kept here:

* :class:`CrossMoments`: weighted moments of features ``x`` and responses ``r`` (the residuals
  of a start), what a squared-loss fit needs (``X'SX``, ``X'S r``, ``X's``, ``s'r``, ``sum s``).
* :class:`RowMoments`: unweighted moments of rows ``u`` about their pooled mean ``M``, with the
  sums of ``||u_i - M||^2`` and ``||u_i - M||^4`` that unbiased estimates of ``tr(Sigma)`` and
  ``tr(Sigma^2)`` need, without keeping one number per row. Shifting a block's centre by
  ``delta`` uses its third moment ``t = sum_i ||z_i||^2 z_i`` (``z_i`` the centred rows):

  .. math::

      \\sum_i \\lVert z_i - \\delta \\rVert^4 = q_4 - 4 \\delta^\\top t
      + 4 \\delta^\\top C \\delta + 2 \\lVert\\delta\\rVert^2 q_2 + N \\lVert\\delta\\rVert^4 .
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CrossMoments", "RowMoments", "cross_moments", "merge_moments", "row_moments"]


@dataclass(frozen=True)
class CrossMoments:
    """Weighted moments of ``(x, r)`` about their weighted means.

    Attributes
    ----------
    n_rows : int
        Rows with a positive weight.
    weight : float
        ``sum_i s_i``.
    mean_x : ndarray of shape (n_features,)
        ``m = sum_i s_i x_i / sum_i s_i``.
    mean_r : ndarray of shape (n_targets,)
        ``rbar = sum_i s_i r_i / sum_i s_i``.
    scatter_xx : ndarray of shape (n_features, n_features)
        ``sum_i s_i (x_i - m)(x_i - m)'``.
    scatter_xr : ndarray of shape (n_features, n_targets)
        ``sum_i s_i (x_i - m)(r_i - rbar)'``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft._core._moments import cross_moments  # one block in memory
    >>> X = np.arange(12.0).reshape(6, 2); r = np.ones((6, 1))
    >>> mom = cross_moments(X, r)
    >>> mom.n_rows, mom.mean_x.tolist(), mom.mean_r.tolist()
    (6, [5.0, 6.0], [1.0])
    """

    n_rows: int
    weight: float
    mean_x: np.ndarray
    mean_r: np.ndarray
    scatter_xx: np.ndarray
    scatter_xr: np.ndarray

    def merge(self, other):
        """Moments of the union of the two row sets (Chan et al.'s pairwise update)."""
        wa, wb = self.weight, other.weight
        if wb == 0:
            return CrossMoments(self.n_rows + other.n_rows, wa, self.mean_x, self.mean_r,
                                self.scatter_xx, self.scatter_xr)
        if wa == 0:
            return CrossMoments(self.n_rows + other.n_rows, wb, other.mean_x, other.mean_r,
                                other.scatter_xx, other.scatter_xr)
        w = wa + wb
        dx = other.mean_x - self.mean_x
        dr = other.mean_r - self.mean_r
        f = wa * wb / w
        return CrossMoments(
            n_rows=self.n_rows + other.n_rows,
            weight=w,
            mean_x=self.mean_x + dx * (wb / w),
            mean_r=self.mean_r + dr * (wb / w),
            scatter_xx=self.scatter_xx + other.scatter_xx + f * np.outer(dx, dx),
            scatter_xr=self.scatter_xr + other.scatter_xr + f * np.outer(dx, dr),
        )


@dataclass(frozen=True)
class RowMoments:
    """Moments of rows ``u_i`` about their mean, with the sums of ``||u_i - M||^{2, 4}``.

    Attributes
    ----------
    n_rows : int
    mean : ndarray of shape (n_features,)
        ``M = sum_i u_i / N``.
    scatter : ndarray of shape (n_features, n_features)
        ``C = sum_i (u_i - M)(u_i - M)'``.
    third : ndarray of shape (n_features,)
        ``t = sum_i ||u_i - M||^2 (u_i - M)``.
    norm2 : float
        ``q2 = sum_i ||u_i - M||^2`` (the trace of ``C``, kept separately for accuracy).
    norm4 : float
        ``q4 = sum_i ||u_i - M||^4``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft._core._moments import row_moments  # one block in memory
    >>> mom = row_moments(np.array([[0.0, 0.0], [2.0, 0.0]]))
    >>> mom.mean.tolist(), mom.norm2, mom.norm4
    ([1.0, 0.0], 2.0, 2.0)
    """

    n_rows: int
    mean: np.ndarray
    scatter: np.ndarray
    third: np.ndarray
    norm2: float
    norm4: float

    def _shifted(self, delta):
        """The same rows' moments about ``mean + delta`` (``mean`` field left as is)."""
        N = self.n_rows
        dd = float(delta @ delta)
        Cd = self.scatter @ delta
        q4 = (self.norm4 - 4.0 * float(delta @ self.third) + 4.0 * float(delta @ Cd)
              + 2.0 * dd * self.norm2 + N * dd**2)
        third = self.third - delta * self.norm2 - 2.0 * Cd - (N * dd) * delta
        scatter = self.scatter + N * np.outer(delta, delta)
        return scatter, third, self.norm2 + N * dd, q4

    def merge(self, other):
        """Moments of the union of the two row sets, about the pooled mean."""
        if other.n_rows == 0:
            return self
        if self.n_rows == 0:
            return other
        N = self.n_rows + other.n_rows
        mean = self.mean + (other.mean - self.mean) * (other.n_rows / N)
        Ca, ta, q2a, q4a = self._shifted(mean - self.mean)
        Cb, tb, q2b, q4b = other._shifted(mean - other.mean)
        return RowMoments(N, mean, Ca + Cb, ta + tb, q2a + q2b, q4a + q4b)


def cross_moments(X, R, sample_weight=None):
    """:class:`CrossMoments` of one block of rows.

    Parameters
    ----------
    X : ndarray of shape (n_rows, n_features), float64
    R : ndarray of shape (n_rows, n_targets), float64
    sample_weight : ndarray of shape (n_rows,) or None
        Non-negative weights (None: ones).

    Returns
    -------
    CrossMoments

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, R = rng.standard_normal((10, 3)) + 5, rng.standard_normal((10, 1))
    >>> both = cross_moments(X[:4], R[:4]).merge(cross_moments(X[4:], R[4:]))
    >>> bool(np.allclose(both.scatter_xx, 9 * np.cov(X.T)))
    True
    """
    d, k = X.shape[1], R.shape[1]
    if sample_weight is None:
        n = X.shape[0]
        if n == 0:
            return _empty_cross(d, k)
        mx, mr = X.mean(axis=0), R.mean(axis=0)
        Z = X - mx
        return CrossMoments(n, float(n), mx, mr, Z.T @ Z, Z.T @ (R - mr))
    s = np.asarray(sample_weight, dtype=np.float64)
    w = float(s.sum())
    if not w > 0:
        return _empty_cross(d, k)
    mx, mr = (s @ X) / w, (s @ R) / w
    Z = X - mx
    Zs = Z * s[:, None]
    return CrossMoments(int(np.count_nonzero(s > 0)), w, mx, mr, Zs.T @ Z, Zs.T @ (R - mr))


def _empty_cross(d, k):
    return CrossMoments(0, 0.0, np.zeros(d), np.zeros(k), np.zeros((d, d)), np.zeros((d, k)))


def row_moments(U):
    """:class:`RowMoments` of one block of rows.

    Parameters
    ----------
    U : ndarray of shape (n_rows, n_features), float64

    Returns
    -------
    RowMoments

    Examples
    --------
    >>> import numpy as np
    >>> U = np.random.default_rng(0).standard_normal((10, 3)) + 100.0
    >>> both = row_moments(U[:3]).merge(row_moments(U[3:]))
    >>> e = np.sum((U - U.mean(axis=0)) ** 2, axis=1)
    >>> bool(np.isclose(both.norm4, np.sum(e**2), rtol=1e-12))
    True
    """
    n, d = U.shape
    if n == 0:
        return RowMoments(0, np.zeros(d), np.zeros((d, d)), np.zeros(d), 0.0, 0.0)
    mean = U.mean(axis=0)
    Z = U - mean
    e = np.einsum("ij,ij->i", Z, Z)
    return RowMoments(n, mean, Z.T @ Z, Z.T @ e, float(e.sum()), float(e @ e))


def merge_moments(parts):
    """Merge a sequence of :class:`CrossMoments` or :class:`RowMoments` pairwise (a tree).

    Examples
    --------
    >>> import numpy as np
    >>> U = np.arange(12.0).reshape(6, 2)
    >>> merge_moments([row_moments(U[i:i + 2]) for i in range(0, 6, 2)]).n_rows
    6
    """
    parts = list(parts)
    if not parts:
        raise ValueError("no moments to merge")
    while len(parts) > 1:
        merged = [a.merge(b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        if len(parts) % 2:
            merged.append(parts[-1])
        parts = merged
    return parts[0]
