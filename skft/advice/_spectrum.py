"""Population eigenvalues of the target covariance, estimated from a few samples.

When the number of rows ``m`` is not much larger than ``d``, the sample eigenvalues are a
distorted (Marchenko-Pastur) image of the population ones and, when ``m < d``, most of them are
zero. What the theory needs, ``df1(k) = sum_j l_j / (l_j + k)`` and its relatives, can still be
read from the sample Gram matrix through the deterministic equivalent of the resolvent: for
every ``lam > 0``,

.. math::

    \\sum_j \\frac{\\ell_j}{\\ell_j + k(\\lambda)} \\approx \\sum_i \\frac{g_i}{g_i + \\lambda},
    \\qquad k(\\lambda) = \\frac{m}{\\operatorname{tr}\\,(A A^\\top / m + \\lambda I_m)^{-1}},

with ``g_i`` the eigenvalues of ``A'A / m`` (computed on the smaller Gram side). The population
spectrum is then fitted as a non-negative mixture of point masses on a logarithmic grid that
matches these equations along a path of ``lam``, the unbiased trace ``tr(A'A)/m`` and, more
softly, the unbiased ``tr(Sigma^2)`` (El Karoui's 2008 approach, solved by non-negative
least squares), and expanded to ``d`` eigenvalues by quantiles. Eigenvalues below the
smallest effective regularisation ``k_min`` of the path cannot be told apart from zero; the
fit's mass there is placed at ``k_min`` (assumption: the spectrum has no unresolved mass far
below what the data can see). Assumption: rows
``a = Sigma^{1/2} z`` with independent, centred, standardised entries of ``z`` (the
Marchenko-Pastur model); the rows are centred by the caller when an intercept is fitted.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import nnls

from .._core._dense_linalg import eigvalsh, small_work
from .._core._moments import RowMoments
from ..utils._dask_compat import is_dask_array

__all__ = ["SpectrumEstimate", "estimate_spectrum"]


@dataclass(frozen=True)
class SpectrumEstimate:
    """Estimated population eigenvalues of a covariance matrix.

    Attributes
    ----------
    eigenvalues : ndarray of shape (n_features,)
        Estimated population eigenvalues, in decreasing order.
    trace : float
        Unbiased estimate of ``tr(Sigma)``: ``||A||_F^2 / m``.
    trace_sq : float
        Unbiased estimate of ``tr(Sigma^2)`` for centred independent rows:
        ``(||A'A||_F^2 - sum_i ||a_i||^4) / (m (m - 1))``.
    n_rows : int
        Number of rows ``m`` it was estimated from.
    method : str
        ``"sample"`` (sample eigenvalues, used when ``m >= 50 d``) or ``"resolvent-nnls"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_spectrum
    >>> est = estimate_spectrum(np.random.default_rng(0).standard_normal((2000, 20)))
    >>> est.method, est.eigenvalues.shape
    ('sample', (20,))
    """

    eigenvalues: np.ndarray
    trace: float
    trace_sq: float
    n_rows: int
    method: str

    def __repr__(self):
        ev = self.eigenvalues
        return (
            f"SpectrumEstimate(n_features={ev.size}, range=[{ev.min():.3g}, {ev.max():.3g}], "
            f"trace={self.trace:.4g}, n_rows={self.n_rows}, method={self.method!r})"
        )


def _gram_eigenvalues(A, gram=None):
    """Eigenvalues of ``A'A`` computed on the smaller Gram side, plus ``||A'A||_F^2``
    (``gram``: ``A A'`` when already computed and ``m <= d``)."""
    m, d = A.shape
    if gram is None or m > d:
        gram = A @ A.T if m <= d else A.T @ A
    g = np.maximum(eigvalsh(gram), 0.0)
    return g, float(np.sum(g**2))


def _stats_with_extra(A, U, *, centre=True, augment=False, t=1.0):
    """Gram eigenvalues, Frobenius norm and row norms of ``[A; U - mean(U)]`` (``U`` as it is
    when ``centre`` is False; a constant column ``t`` appended to both when ``augment``), on the
    kernel side: for ``m <= d`` pooled rows (the stacked copy holds at most ``d x d``
    numbers)."""
    mean = U.mean(axis=0) if centre else np.zeros(U.shape[1])
    stacked = np.vstack([A, U - mean])
    t2 = t * t if augment else 0.0
    row_sq = np.einsum("ij,ij->i", stacked, stacked) + t2
    gram = stacked @ stacked.T + t2
    g = np.maximum(eigvalsh(gram), 0.0)
    return g, float(np.sum(g**2)), row_sq


#: Unlabelled rows in memory are reduced in row blocks of at most this many entries (32 MiB of
#: float64), so that the advice's memory is ``O(d^2 + block)`` whatever their number.
BLOCK_ENTRIES = 1 << 22


def unlabeled_moments(U, cache=None):
    """:class:`~skft._core._moments.RowMoments` of the unlabelled rows, computed once per
    ``cache``: reduced on the cluster for a dask array (:func:`skft.dask.row_moments`), else
    from ``U'U`` (:func:`_moments_in_memory`) or block by block (:func:`_moments_in_blocks`).
    ``U`` is never copied, centred or stacked whole.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._spectrum import unlabeled_moments
    >>> U = np.random.default_rng(0).standard_normal((1000, 3)) + 5.0
    >>> mom = unlabeled_moments(U)
    >>> bool(np.allclose(mom.scatter, 999 * np.cov(U.T)))
    True
    """
    cache = {} if cache is None else cache
    if "moments" not in cache:
        if is_dask_array(U):  # skft[dask]
            from ..dask import row_moments

            mom = row_moments(U, name="X_unlabeled")
        else:
            mom = _moments_in_memory(U)
        cache["moments"] = mom
    return cache["moments"]


#: Centring ``U'U`` by the rank-one correction ``N m m'`` is accepted when it cancels at most
#: this factor of the diagonal (about two digits); otherwise the rows are centred explicitly.
CENTRE_CANCEL = 64.0


def _moments_in_memory(U):
    """:class:`RowMoments` of a float64 array in memory, with its one ``d x d`` product.

    ``U'U`` (a view's product: no copy), the column sums and the rows' squared norms, then
    the scatter about the mean by the rank-one correction ``U'U - N m m'`` and the rows'
    centred norms ``||u_i - m||^2 = ||u_i||^2 - 2 u_i'm + ||m||^2``; the same BLAS-3 product a
    user would form. When that correction cancels more than ``CENTRE_CANCEL`` of the
    diagonal (means large against the spread), or ``U`` is not a contiguous float64 array,
    :func:`_moments_in_blocks` centres the rows explicitly, block by block.
    """
    N = U.shape[0]
    if U.dtype != np.float64 or not (U.flags.c_contiguous or U.flags.f_contiguous):
        return _moments_in_blocks(U)
    mean = U.sum(axis=0) / N
    raw = U.T @ U
    scatter = raw - N * np.outer(mean, mean)
    top, cen = np.diagonal(raw), np.diagonal(scatter)
    with np.errstate(divide="ignore", invalid="ignore"):
        cancel = np.where(top > 0, top / np.where(cen > 0, cen, 0.0), 1.0)
    if not np.all(cancel <= CENTRE_CANCEL):
        return _moments_in_blocks(U)
    f = np.einsum("ij,ij->i", U, U) - 2.0 * (U @ mean) + float(mean @ mean)
    third = U.T @ f - mean * f.sum()
    return RowMoments(N, mean, scatter, third, float(f.sum()), float(f @ f))


def _moments_in_blocks(U):
    """:class:`RowMoments` of ``U`` read in row blocks of ``BLOCK_ENTRIES`` entries.

    The rows are taken about a fixed centre ``c`` (the mean of the first block, close to the
    mean of all: no cancellation), ``z_i = u_i - c``, and the sums ``S = sum z z'``,
    ``s = sum z``, ``t = sum ||z||^2 z``, ``q2 = sum ||z||^2``, ``q4 = sum ||z||^4``
    accumulated block by block (one ``d x d`` accumulator, no merge per block); they are
    moved to the mean ``M = c + s/N`` once at the end, with ``delta = s/N``:
    ``C = S - N delta delta'``, ``q2 - N ||delta||^2``,
    ``t - 2 S delta - q2 delta + 2 N ||delta||^2 delta`` and
    ``q4 - 4 t'delta + 4 delta'S delta + 2 ||delta||^2 q2 - 3 N ||delta||^4``.
    """
    N, d = U.shape
    step = max(1, BLOCK_ENTRIES // max(d, 1))
    centre = np.asarray(U[:step], dtype=float).mean(axis=0)
    S = np.zeros((d, d))
    s, t = np.zeros(d), np.zeros(d)
    q2 = q4 = 0.0
    for lo in range(0, N, step):
        Z = np.array(U[lo:lo + step], dtype=float)  # the one copy of a block
        Z -= centre
        e = np.einsum("ij,ij->i", Z, Z)
        S += Z.T @ Z
        s += Z.sum(axis=0)
        t += Z.T @ e
        q2 += float(e.sum())
        q4 += float(e @ e)
    delta = s / N
    dd = float(delta @ delta)
    Sd = S @ delta
    scatter = S - N * np.outer(delta, delta)
    third = t - 2.0 * Sd - q2 * delta + 2.0 * N * dd * delta
    norm4 = q4 - 4.0 * float(t @ delta) + 4.0 * float(delta @ Sd) + 2.0 * dd * q2 - 3.0 * N * dd**2
    return RowMoments(N, centre + delta, scatter, third, q2 - N * dd, norm4)


def _pooled(A, mom, *, centre, augment=False, AtA=None, t=1.0):
    """What the spectrum fit needs of the pooled rows ``[A; U - c]`` (``c`` the mean of ``U``
    when ``centre``, else 0; a column ``t`` appended to both when ``augment``), from ``A`` and the
    moments ``mom`` of ``U``: Gram eigenvalues, ``||.||_F^2``, the number of rows and the
    sums of the rows' squared norms and of their squares. ``AtA``: ``A'A`` when already
    computed."""
    N = mom.n_rows
    if centre:
        S, q2, q4 = mom.scatter, mom.norm2, mom.norm4
    else:
        S, _, q2, q4 = mom._shifted(-mom.mean)
    gram = (A.T @ A if AtA is None else AtA) + S
    a_sq = np.einsum("ij,ij->i", A, A)
    if augment:
        t2 = t * t
        col = t * (A.sum(axis=0) + N * mom.mean)
        m_all = float(A.shape[0] + N)
        gram = np.block([[gram, col[:, None]], [col[None, :], np.array([[t2 * m_all]])]])
        q4, q2, a_sq = q4 + 2.0 * t2 * q2 + N * t2 * t2, q2 + N * t2, a_sq + t2
    g = np.maximum(eigvalsh(gram), 0.0)
    return (g, float(np.sum(g**2)), A.shape[0] + N, float(a_sq.sum() + q2),
            float(np.sum(a_sq**2) + q4))


def _n_null_pooled(g, m, d):
    return int(np.sum(g <= 1e-10 * g.max())) if m > d and g.max() > 0 else 0


def spectrum_for_design(factor, extra=None, n_grid=160, n_path=64, cache=None):
    """:func:`estimate_spectrum` of the design a :class:`GramFactor` factorised.

    Without ``extra`` the factor's Gram eigenvalues are reused (no new factorisation). With
    ``extra`` (unlabelled rows) they are pooled as the design treats the labelled ones:
    as they are (``"none"``), centred by their own mean (``"free"``), or with a constant
    column ``t`` appended (``"augmented"``: the second moments of ``(x, t)``, ``t`` the
    factor's ``intercept_scaling``). When the pooled
    rows outnumber the coordinates, the unlabelled rows enter through their moments
    (:func:`unlabeled_moments`: mean, ``d x d`` scatter, sums of squared norms), computed once
    per ``cache`` for every design, blockwise or on a dask cluster; ``X'X`` is shared too.

    Parameters
    ----------
    factor : GramFactor
    extra : ndarray or dask array of shape (n_extra, n_features), default=None
    n_grid, n_path : int
        As in :func:`estimate_spectrum`.
    cache : dict, default=None
        Shared between the calls of one advice (a new one when None).

    Returns
    -------
    SpectrumEstimate
    """
    X = factor.X
    d = factor.n_features
    cache = {} if cache is None else cache
    kind = factor.intercept
    t = getattr(factor, "intercept_scaling", 1.0)  # value of the augmented design's column
    if extra is not None and X.shape[0] + extra.shape[0] > d:
        mom = unlabeled_moments(extra, cache)
        if kind == "free":
            A, AtA = X - X.mean(axis=0), None
        else:
            if "XtX" not in cache:
                cache["XtX"] = X.T @ X
            A, AtA = X, cache["XtX"]
        g, fro2, m, sq1, sq2 = _pooled(
            A, mom, centre=kind == "free", augment=kind == "augmented", AtA=AtA, t=t
        )
        return _fit_spectrum(g, fro2, m, sq1, sq2, d, _n_null_pooled(g, m, d), n_grid, n_path)
    if extra is not None:
        A = X - X.mean(axis=0) if kind == "free" else X
        g, fro2, row_sq = _stats_with_extra(
            A, np.asarray(extra, dtype=float), centre=kind == "free", augment=kind == "augmented",
            t=t,
        )
        m = row_sq.size
        return _fit_spectrum(
            g, fro2, m, float(row_sq.sum()), float(np.sum(row_sq**2)), d,
            _n_null_pooled(g, m, d), n_grid, n_path,
        )
    g = factor.eigenvalues
    m = X.shape[0]
    if m > d:
        n_null = int(np.sum(g <= 1e-10 * g.max())) if g.max() > 0 else d
    elif factor.intercept == "free":
        n_null = int(np.sum(np.all(X == X[0], axis=0)))
    elif factor.intercept == "none":
        n_null = int(np.sum(np.all(X == 0.0, axis=0)))
    else:
        n_null = 0
    rs = factor.row_sq
    return _fit_spectrum(
        g, float(np.sum(g**2)), m, float(rs.sum()), float(np.sum(rs**2)), d, n_null, n_grid, n_path
    )


def estimate_spectrum(A, *, extra=None, n_grid=160, n_path=64):
    """Estimate the population eigenvalues of the covariance of the rows of ``A``.

    Parameters
    ----------
    A : ndarray of shape (n_rows, n_features)
        Centred rows (validated by the caller; not modified).
    extra : ndarray or dask array of shape (n_extra, n_features), default=None
        More rows from the same distribution (e.g. unlabelled data), centred here by their
        own mean, pooled with ``A``. When ``n_rows + n_extra > d`` they enter through their
        mean, ``d x d`` scatter and the sums of their rows' squared norms and of their
        squares, reduced block by block (never copied, centred or stacked whole) or, for a
        dask array (``skft[dask]``), on the cluster (:func:`skft.dask.row_moments`): the same
        estimate, in memory ``O(d^2)`` plus one block.
    n_grid : int, default=160
        Number of candidate eigenvalues (log-spaced, plus zero) in the fitted mixture.
    n_path : int, default=64
        Number of values of ``lam`` at which the resolvent equations are matched.

    Returns
    -------
    SpectrumEstimate

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_spectrum
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((100, 400))  # identity covariance, n < d
    >>> est = estimate_spectrum(X)
    >>> bool(np.all(np.abs(np.sort(est.eigenvalues)[40:-40] - 1.0) < 0.2))
    True
    """
    return _estimate_spectrum(A, extra, n_grid, n_path)


def _estimate_spectrum(A, extra, n_grid, n_path, gram=None):
    """:func:`estimate_spectrum`; ``gram``: ``A A'`` when already computed."""
    A = np.asarray(A, dtype=float)
    d = A.shape[1]
    if extra is not None and A.shape[0] + extra.shape[0] > d:
        g, fro2, m, sq1, sq2 = _pooled(A, unlabeled_moments(extra), centre=True)
        n_null = _n_null_pooled(g, m, d)
    elif extra is None:
        g, fro2 = _gram_eigenvalues(A, gram)
        row_sq = np.einsum("ij,ij->i", A, A)
        m, sq1, sq2 = row_sq.size, float(row_sq.sum()), float(np.sum(row_sq**2))
        if m > d:
            n_null = int(np.sum(g <= 1e-10 * g.max())) if g.max() > 0 else d
        else:
            n_null = int(np.sum(np.all(A == 0.0, axis=0)))
    else:
        g, fro2, row_sq = _stats_with_extra(A, np.asarray(extra, dtype=float))
        m, sq1, sq2 = row_sq.size, float(row_sq.sum()), float(np.sum(row_sq**2))
        n_null = _n_null_pooled(g, m, d)
    return _fit_spectrum(g, fro2, m, sq1, sq2, d, n_null, n_grid, n_path)


def _fit_spectrum(g, fro2, m, sq1, sq2, d, n_null, n_grid, n_path):
    """The fit of :func:`estimate_spectrum` from the Gram eigenvalues ``g`` of ``A'A``
    (unnormalised, either side), ``||A'A||_F^2``, the number of rows ``m``, the sums of the
    rows' squared norms and of their squares, and the number ``n_null`` of directions the
    rows provably never vary along."""
    trace = float(sq1 / m)
    trace_sq = float((fro2 - sq2) / (m * (m - 1))) if m > 1 else np.nan
    if m >= 50 * d:
        eig = np.sort(g / m)[::-1]
        if eig.size < d:
            eig = np.concatenate([eig, np.zeros(d - eig.size)])
        return SpectrumEstimate(eig[:d], trace, trace_sq, m, "sample")
    g = g / m
    q = g.size
    tau = trace / d
    if tau <= 0:
        return SpectrumEstimate(np.zeros(d), trace, trace_sq, m, "resolvent-nnls")
    lam = tau * np.logspace(-3, 2, n_path)
    S = (1.0 / (g[None, :] + lam[:, None])).sum(axis=1) + (m - q) / lam
    k = m / S
    df1 = m - lam * S
    top = max(g.max() / tau, 1.0) * 1.5
    ell = np.concatenate([[0.0], tau * np.logspace(-4, np.log10(top), n_grid)])
    M = ell[None, :] / (ell[None, :] + k[:, None])
    big = 1e3  # the two moment constraints (mass 1, mean tr/d) are matched almost exactly
    rows = [M, big * np.ones(ell.size), big * ell / tau]
    rhs = [df1 / d, [big, big * trace / (d * tau)]]
    if np.isfinite(trace_sq) and trace_sq > 0:  # second moment: a softer, noisier constraint
        rows.append(10.0 * (ell / tau) ** 2)
        rhs.append([10.0 * trace_sq / (d * tau**2)])
    M = np.vstack(rows)
    b = np.concatenate(rhs)
    with small_work():  # SciPy's compiled NNLS, on a few hundred numbers
        p, _ = nnls(M, b)
    cdf = np.cumsum(p) / p.sum()
    idx = np.minimum(np.searchsorted(cdf, (np.arange(d) + 0.5) / d), ell.size - 1)
    # exact zeros only for directions the data provably never vary along (rank deficiency
    # seen when m > d, all-zero columns when m <= d). Any other mass the fit puts at 0 or at
    # the grid's floor is read as "below the resolution": the data only see eigenvalues
    # through l / (l + k) with k >= k_min, the smallest effective regularisation on the path,
    # so such mass is placed at k_min. (At the floor, a few spurious eigenvalues of 1e-4 tau
    # would make tr(Sigma^-1), hence the least-squares extrapolation past n = d, arbitrary.)
    k_min = float(k.min())
    vals = np.where(idx <= 1, max(k_min, ell[1]), ell[idx])
    eig = np.sort(vals)[::-1]
    if n_null:
        eig[d - n_null :] = 0.0
    if eig.sum() > 0:  # match the unbiased trace exactly after the quantile rounding
        eig = eig * (trace / eig.sum())
    return SpectrumEstimate(eig, trace, trace_sq, m, "resolvent-nnls")
