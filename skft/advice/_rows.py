"""Rows that are not independent: exact and near duplicates.

Everything the advice computes (the pretrained error, leave-one-out, GCV, the moments) assumes
independent rows. Two departures are detected:

* **Exact duplicates** (identical feature rows). When every distinct row appears the same
  number of times ``c`` with the same label, fine-tuning on the data is exactly fine-tuning
  on the distinct rows (the objective's mean over rows and the interpolation constraints are
  unchanged), so the advice is computed on the distinct rows and is still exact. With
  different labels on a repeated row (regression), the fit is the one on the distinct rows
  with their mean label, whose noise variance is ``s2 / c``; the pooled within-row variance
  of the labels (pure error) estimates ``s2``. With unequal multiplicities the fit is a
  *weighted* fit of the distinct rows, which the theory does not cover: the distinct rows
  are used as an approximation and the advice is not confident.
* **Near duplicates**: distinct rows much closer to each other than independent rows of the
  same covariance can be. For independent rows ``||x_i - x_j||^2`` concentrates around
  ``2 tr(Sigma)`` (a weighted chi-square with ``r = tr(Sigma)^2 / tr(Sigma^2)`` effective
  degrees of freedom); a pair is flagged when its distance is below
  ``chi2.ppf(0.01 / n_pairs, r) / r`` times the median distance (fewer than 0.01 false
  pairs expected among those tested). Leave-one-out is then optimistic (a near copy of the
  left-out row stays in the fit): the advice is not confident. On the kernel side every pair
  is tested (from the Gram matrix); otherwise up to ``MAX_TESTED`` rows are tested against
  all rows in a random projection to ``PROJECTION_DIM`` dimensions (fixed seed).
"""

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.stats import chi2

__all__ = ["RowStructure", "find_duplicates"]

MAX_TESTED = 1000
PROJECTION_DIM = 64
#: Expected number of falsely flagged pairs among those tested (independent Gaussian rows).
FALSE_PAIRS = 0.01
#: Every pair is tested (from ``U U'``) when ``m^2 d`` is at most this.
MAX_PAIR_FLOPS = 2e9
#: Largest relative squared distance ever counted as a near duplicate.
TAU_MAX = 0.1


@dataclass(frozen=True)
class RowStructure:
    """Duplicate structure of the rows of ``X``.

    Attributes
    ----------
    n_rows, n_unique : int
        Number of rows and of distinct rows.
    first : ndarray of shape (n_unique,)
        Index of the first occurrence of each distinct row (sorted).
    inverse : ndarray of shape (n_rows,)
        Distinct row of each row (index into ``first``).
    multiplicity : ndarray of shape (n_unique,)
        How many times each distinct row appears.
    label_conflict : bool
        Whether a repeated row carries different labels.
    pure_error_var : float or None
        Pooled within-row variance of the labels of repeated rows (regression, with
        conflicting labels), an estimate of the noise variance.
    near_pairs : int
        Number of near-duplicate pairs found among the distinct rows tested.
    near_rows_tested : int
        Number of distinct rows whose nearest neighbour was searched.
    near_threshold : float
        Relative squared distance under which a pair counts as a near duplicate.
    near_groups : ndarray of shape (n_unique,) or None
        Group of each distinct row in the near-duplicate graph (its connected components),
        when every pair was tested and near duplicates were found; else None.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._rows import find_duplicates
    >>> X = np.random.default_rng(0).standard_normal((5, 40))
    >>> rows = find_duplicates(np.vstack([X, X]), np.r_[np.arange(5.0), np.arange(5.0)])
    >>> rows.n_unique, rows.uniform, rows.label_conflict
    (5, True, False)
    """

    n_rows: int
    n_unique: int
    first: np.ndarray
    inverse: np.ndarray
    multiplicity: np.ndarray
    label_conflict: bool
    pure_error_var: float | None
    near_pairs: int
    near_rows_tested: int
    near_threshold: float
    near_groups: np.ndarray | None = None

    @property
    def has_duplicates(self):
        return self.n_unique < self.n_rows

    @property
    def uniform(self):
        """Every distinct row appears equally often."""
        return bool(np.all(self.multiplicity == self.multiplicity[0]))

    def mean_labels(self, y):
        """Mean label of each distinct row."""
        return np.bincount(self.inverse, weights=y, minlength=self.n_unique) / self.multiplicity


def _exact(X):
    """First occurrence, group and multiplicity of the distinct rows, in ``O(n d)``.

    Rows are grouped by a hash of their bytes (identical rows hash identically; a product
    with a random vector would not do, BLAS rounding depends on the row's position), then
    each group of equal hashes is checked row by row (a hash collision never merges
    different rows).
    """
    n = X.shape[0]
    X = np.ascontiguousarray(X)
    h = np.array([hash(row.tobytes()) for row in X], dtype=np.int64)
    _, key = np.unique(h, return_inverse=True)
    key = np.ravel(key)
    label = np.arange(n)
    counts_key = np.bincount(key)
    for k in np.flatnonzero(counts_key > 1):
        left = np.flatnonzero(key == k)
        while left.size:
            same = np.all(X[left] == X[left[0]], axis=1)
            label[left[same]] = left[0]
            left = left[~same]
    first, inverse, counts = np.unique(label, return_inverse=True, return_counts=True)
    return first, np.ravel(inverse), counts


def _threshold(n_pairs, r_eff):
    if not (r_eff > 0 and n_pairs > 0):
        return 0.0
    return min(float(chi2.ppf(min(FALSE_PAIRS / n_pairs, 0.5), r_eff) / r_eff), TAU_MAX)


def _near_from_gram(gram, r_eff):
    """Near-duplicate pairs from a Gram matrix; also the groups they form (connected
    components of the near-duplicate graph; None when there are none)."""
    n = gram.shape[0]
    sq = np.diag(gram)
    D = sq[:, None] + sq[None, :] - 2.0 * gram
    iu = np.triu_indices(n, 1)
    dist = D[iu]
    med = float(np.median(dist)) if dist.size else 0.0
    tau = _threshold(dist.size, r_eff)
    if not med > 0:
        return 0, n, tau, None
    close = dist < tau * med
    found = int(np.count_nonzero(close))
    if not found:
        return 0, n, tau, None
    graph = coo_matrix((np.ones(found), (iu[0][close], iu[1][close])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    return found, n, tau, labels


def _near_projected(X, r_eff, block=100):
    n, d = X.shape
    rng = np.random.default_rng(0)
    if d > PROJECTION_DIM:
        Z = X @ (rng.standard_normal((d, PROJECTION_DIM)) / np.sqrt(PROJECTION_DIM))
        r_eff = min(r_eff, PROJECTION_DIM)
    else:
        Z = X
    tested = np.sort(rng.choice(n, size=min(n, MAX_TESTED), replace=False))
    sq = np.einsum("ij,ij->i", Z, Z)
    tau = _threshold(tested.size * (n - 1), r_eff)
    a, b = rng.integers(0, n, size=(2, 20000))
    a, b = a[a != b], b[a != b]
    sample = sq[a] + sq[b] - 2.0 * np.einsum("ij,ij->i", Z[a], Z[b])
    med = float(np.median(sample)) if sample.size else 0.0
    if not med > 0:
        return 0, tested.size, tau
    found = 0
    for start in range(0, tested.size, block):  # only counted: the groups are not complete
        rows = tested[start : start + block]
        D = sq[rows, None] + sq[None, :] - 2.0 * (Z[rows] @ Z.T)
        D[np.arange(rows.size), rows] = np.inf
        found += int(np.count_nonzero(D < tau * med))
    return found, tested.size, tau, None


def exact_duplicates(X, y, *, classification=False):
    """The exact-duplicate part of :class:`RowStructure` (``near_*`` left at 0).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels (regression values or -1/+1).
    classification : bool, default=False

    Returns
    -------
    RowStructure
    """
    n = X.shape[0]
    first, inverse, counts = _exact(X)
    y = np.asarray(y, dtype=float)
    mean_y = np.bincount(inverse, weights=y, minlength=first.size) / counts
    dev = y - mean_y[inverse]
    conflict = bool(np.any(np.abs(dev) > 1e-12 * max(1.0, float(np.abs(y).max()))))
    pure = None
    if conflict and not classification:
        dof = n - first.size
        pure = float(np.sum(dev**2) / dof) if dof > 0 else None
    return RowStructure(n, int(first.size), first, inverse, counts, conflict, pure, 0, 0, 0.0)


def with_near_duplicates(rows, U, *, gram=None, r_eff=None):
    """``rows`` with its near-duplicate fields filled, from the distinct rows ``U``.

    Parameters
    ----------
    rows : RowStructure
    U : ndarray of shape (n_unique, n_features)
        The distinct rows.
    gram : ndarray of shape (n_unique, n_unique), default=None
        ``U U'`` (any centring or added constant) when already computed: every pair is then
        tested.
    r_eff : float, default=None
        Effective dimension ``tr(Sigma)^2 / tr(Sigma^2)``; estimated from ``U`` when None.

    Returns
    -------
    RowStructure
    """
    from dataclasses import replace

    if r_eff is None:
        Uc = U - U.mean(axis=0)
        g = Uc @ Uc.T if Uc.shape[0] <= Uc.shape[1] else Uc.T @ Uc
        tr2 = float(np.sum(g**2))
        r_eff = float(np.trace(g)) ** 2 / tr2 if tr2 > 0 else 0.0
    m = U.shape[0]
    if gram is None and float(m) * m * U.shape[1] <= MAX_PAIR_FLOPS:
        gram = U @ U.T
    if gram is not None:
        near, tested, tau, groups = _near_from_gram(gram, r_eff)
    else:
        near, tested, tau, groups = _near_projected(U, r_eff)
    return replace(
        rows, near_pairs=near, near_rows_tested=tested, near_threshold=tau, near_groups=groups
    )


def find_duplicates(X, y, *, r_eff=None, classification=False):
    """Exact and near duplicate rows of ``X`` (module docstring).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels (regression values or -1/+1).
    r_eff : float, default=None
        Effective dimension ``tr(Sigma)^2 / tr(Sigma^2)``; estimated from ``X`` when None.
    classification : bool, default=False
        Labels are classes (a conflict is any difference).

    Returns
    -------
    RowStructure
    """
    rows = exact_duplicates(X, y, classification=classification)
    return with_near_duplicates(rows, X[rows.first], r_eff=r_eff)
