"""The O(d) kernel: spectral sums ``sum_j v_j / (l_j + k)^p`` at many ``k`` at once.

Every quantity of the theory is such a sum with ``p = 1`` or ``2`` and a non-negative
or signed numerator ``v`` (``l``, ``l^2``, ``delta_j^2 l_j``, ...). Two exact routes:

- *direct* (small ``d``): blocks of ``1 / (l + k)`` and two matrix products, cost
  ``O(d p)`` per batch of ``p`` values of ``k``;
- *binned* (large ``d``): the positive eigenvalues are grouped in bins
  ``[c (1 - eps), c (1 + eps)]``; inside a bin, with ``e = l - c`` and ``K = c + k``,
  ``1/(l + k)^p = K^-p sum_m binom(-p, m) (e/K)^m`` with ``|e/K| <= eps``. Truncated after
  ``_ORDER`` terms the relative error is below ``(_ORDER + 2) eps^(_ORDER + 1) ~ 1e-16``,
  so the result is exact to rounding. The moments ``sum_bin v e^m`` are computed once
  (``O(d * _ORDER)``), after which each ``k`` costs ``O(n_bins * _ORDER)``, independent
  of ``d``. Zero eigenvalues form their own bin with ``e = 0`` (exact).
"""

import numpy as np
from scipy import sparse

_EPS = 0.02
_ORDER = 9  # (9 + 2) * 0.02**10 ~ 1e-16
_MIN_BINNED = 20_000  # below this many eigenvalues the direct route is cheaper
_BLOCK = 1 << 17


class _SpectralSums:
    """``S1[:, i] = sum_j cols1[j, i] / (l_j + k)``, ``S2[:, i] = sum_j cols2[j, i] / (l_j + k)^2``.

    Parameters
    ----------
    lam : ndarray of shape (d,)
        Eigenvalues ``>= 0``.
    cols1, cols2 : ndarray of shape (d, c1), (d, c2)
        Numerators.
    binned : bool or None
        Force a route (tests); ``None`` chooses by size.
    """

    def __init__(self, lam, cols1, cols2, binned=None):
        self.lam = lam
        self.cols1 = cols1
        self.cols2 = cols2
        n_pos = int(np.count_nonzero(lam))
        if binned is None:
            binned = lam.size >= _MIN_BINNED
        self.binned = bool(binned) and n_pos > 0
        if self.binned:
            self._prepare_bins()

    def _prepare_bins(self):
        lam = self.lam
        pos = lam > 0
        lp = lam[pos]
        lo = lp.min()
        ratio = (1 + _EPS) / (1 - _EPS)
        b = np.floor(np.log(lp / lo) / np.log(ratio)).astype(np.intp)
        nb = int(b.max()) + 1
        left = lo * ratio ** np.arange(nb)
        center = left * (1 + ratio) / 2
        e = lp - center[b]
        rel = e / center[b]
        if np.abs(rel).max() > 1.5 * _EPS:  # pragma: no cover - rounding cannot do this
            raise RuntimeError("eigenvalue binning failed.")
        used = np.bincount(b, minlength=nb) > 0
        self.center = center[used]
        remap = np.cumsum(used) - 1
        b = remap[b]
        nb = self.center.size
        # indicator (n_bins, n_pos) in CSC form: column j has a single 1 in row b[j]
        indicator = sparse.csc_array(
            (np.ones(b.size), b, np.arange(b.size + 1)), shape=(nb, b.size)
        )
        self.moments = []
        for cols in (self.cols1, self.cols2):
            term = cols[pos]  # boolean indexing copies
            mom = np.empty((_ORDER + 1, nb, cols.shape[1]))
            for m in range(_ORDER + 1):
                mom[m] = indicator @ term  # sum over each bin of v e^m
                if m < _ORDER:
                    term *= e[:, None]
            self.moments.append(mom)
        self.zero1 = self.cols1[~pos].sum(axis=0)
        self.zero2 = self.cols2[~pos].sum(axis=0)

    def __call__(self, k):
        """Return ``(S1, S2)`` of shapes (p, c1), (p, c2) for ``k`` > 0 of shape (p,)."""
        k = np.asarray(k, dtype=np.float64)
        if self.binned:
            return self._binned(k)
        return self._direct(k)

    def _direct(self, k):
        p = k.size
        lam = self.lam
        s1 = np.zeros((p, self.cols1.shape[1]))
        s2 = np.zeros((p, self.cols2.shape[1]))
        if p == 0:
            return s1, s2
        step = max(1, _BLOCK // p)
        for start in range(0, lam.size, step):
            lc = lam[start : start + step, None]
            inv = lc + k
            np.reciprocal(inv, out=inv)  # 1 / (l + k)
            s1 += inv.T @ self.cols1[start : start + step]
            np.multiply(inv, inv, out=inv)  # 1 / (l + k)^2
            s2 += inv.T @ self.cols2[start : start + step]
        return s1, s2

    def _binned(self, k):
        x = 1.0 / (self.center[None, :] + k[:, None])  # (p, nb): 1 / K
        out = []
        for power, mom, zero in (
            (1, self.moments[0], self.zero1),
            (2, self.moments[1], self.zero2),
        ):
            xm = x**power
            acc = np.zeros((k.size, mom.shape[2]))
            for m in range(_ORDER + 1):
                coef = (-1) ** m * (1 if power == 1 else m + 1)  # binom(-p, m)
                acc += coef * (xm @ mom[m])
                xm = xm * x
            acc += zero[None, :] / k[:, None] ** power
            out.append(acc)
        return out[0], out[1]
