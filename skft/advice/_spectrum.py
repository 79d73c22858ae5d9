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


def _gram_eigenvalues(A):
    """Eigenvalues of ``A'A`` computed on the smaller Gram side, plus ``||A'A||_F^2``."""
    m, d = A.shape
    gram = A @ A.T if m <= d else A.T @ A
    g = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    return g, float(np.sum(g**2))


def _stats_with_extra(A, U, *, centre=True, augment=False, t=1.0):
    """Gram eigenvalues, Frobenius norm and row norms of ``[A; U - mean(U)]`` (``U`` as it is
    when ``centre`` is False; a constant column ``t`` appended to both when ``augment``)
    without forming the stacked or the centred copy when the feature side is the smaller
    one."""
    m = A.shape[0] + U.shape[0]
    d = A.shape[1] + int(augment)
    t2 = t * t if augment else 0.0
    mean = U.mean(axis=0) if centre else np.zeros(U.shape[1])
    u_sq = np.einsum("ij,ij->i", U, U) - 2.0 * (U @ mean) + mean @ mean + t2
    row_sq = np.r_[np.einsum("ij,ij->i", A, A) + t2, u_sq]
    if m <= d:
        stacked = np.vstack([A, U - mean])
        gram = stacked @ stacked.T + t2
        g = np.maximum(np.linalg.eigvalsh(gram), 0.0)
        return g, float(np.sum(g**2)), row_sq
    gram = A.T @ A + U.T @ U - U.shape[0] * np.outer(mean, mean)
    if augment:
        col = t * (A.sum(axis=0) + U.sum(axis=0))
        gram = np.block([[gram, col[:, None]], [col[None, :], np.array([[t2 * m]])]])
    g = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    return g, float(np.sum(g**2)), row_sq


def _pooled_feature_side(X, U, kind, cache, t=1.0):
    """Gram eigenvalues, ``||.||_F^2`` and row norms of the pooled rows on the feature side,
    from ``X'X`` and ``U'U`` computed once per call of the advice (``cache``) for every
    design: as they are (``"none"``), each block centred by its own mean (``"free"``), or
    with a constant column ``t`` appended (``"augmented"``)."""
    if "XtX" not in cache:
        cache["XtX"], cache["UtU"] = X.T @ X, U.T @ U
        cache["sx"], cache["su"] = X.sum(axis=0), U.sum(axis=0)
        cache["rx"], cache["ru"] = np.einsum("ij,ij->i", X, X), np.einsum("ij,ij->i", U, U)
    n, m = X.shape[0], U.shape[0]
    XtX, UtU, sx, su = cache["XtX"], cache["UtU"], cache["sx"], cache["su"]
    if kind == "free":
        mx, mu = sx / n, su / m
        gram = XtX - n * np.outer(mx, mx) + UtU - m * np.outer(mu, mu)
        row_sq = np.r_[cache["rx"] - 2.0 * (X @ mx) + mx @ mx,
                       cache["ru"] - 2.0 * (U @ mu) + mu @ mu]
    elif kind == "augmented":
        col = t * (sx + su)
        gram = np.block([[XtX + UtU, col[:, None]], [col[None, :], np.array([[t * t * (n + m)]])]])
        row_sq = np.r_[cache["rx"] + t * t, cache["ru"] + t * t]
    else:
        gram = XtX + UtU
        row_sq = np.r_[cache["rx"], cache["ru"]]
    g = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    return g, float(np.sum(g**2)), row_sq


def _dask_pooled(X, U, kind, cache, t=1.0):
    """:func:`_pooled_feature_side` for dask unlabelled rows: their moments reduced on the
    cluster once (``cache``), then taken about their mean (``"free"``), about 0 (``"none"``),
    or about 0 with the column ``t`` (``"augmented"``). Returns ``g, fro2, m, sq1, sq2``."""
    cache = {} if cache is None else cache
    if "dask" not in cache:
        from ..dask import row_moments

        cache["dask"] = row_moments(U, name="X_unlabeled")
    mom = cache["dask"]
    N = mom.n_rows
    if kind == "free":
        A = X - X.mean(axis=0)
        S, q2, q4 = mom.scatter, mom.norm2, mom.norm4
    else:
        A = X
        S, _, q2, q4 = mom._shifted(-mom.mean)
    gram = A.T @ A + S
    a_sq = np.einsum("ij,ij->i", A, A)
    if kind == "augmented":
        t2 = t * t
        col = t * (A.sum(axis=0) + N * mom.mean)
        m_all = float(A.shape[0] + N)
        gram = np.block([[gram, col[:, None]], [col[None, :], np.array([[t2 * m_all]])]])
        q4, q2, a_sq = q4 + 2.0 * t2 * q2 + N * t2 * t2, q2 + N * t2, a_sq + t2
    g = np.maximum(np.linalg.eigvalsh(gram), 0.0)
    return (g, float(np.sum(g**2)), A.shape[0] + N, float(a_sq.sum() + q2),
            float(np.sum(a_sq**2) + q4))


def spectrum_for_design(factor, extra=None, n_grid=160, n_path=64, cache=None):
    """:func:`estimate_spectrum` of the design a :class:`GramFactor` factorised.

    Without ``extra`` the factor's Gram eigenvalues are reused (no new factorisation). With
    ``extra`` (unlabelled rows) they are pooled as the design treats the labelled ones:
    as they are (``"none"``), centred by their own mean (``"free"``), or with a constant
    column ``t`` appended (``"augmented"``: the second moments of ``(x, t)``, ``t`` the
    factor's ``intercept_scaling``); on the feature side
    the products ``X'X`` and ``U'U`` are shared by the designs through ``cache``.

    Parameters
    ----------
    factor : GramFactor
    extra : ndarray of shape (n_extra, n_features), default=None
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
    t = getattr(factor, "intercept_scaling", 1.0)  # value of the augmented design's column
    if is_dask_array(extra) and X.shape[0] + extra.shape[0] > d:
        g, fro2, m, sq1, sq2 = _dask_pooled(X, extra, factor.intercept, cache, t)
        n_null = int(np.sum(g <= 1e-10 * g.max())) if m > d and g.max() > 0 else 0
        return _fit_spectrum(g, fro2, m, sq1, sq2, d, n_null, n_grid, n_path)
    if extra is not None:
        U = np.asarray(extra, dtype=float)
        if X.shape[0] + U.shape[0] > d:
            g, fro2, row_sq = _pooled_feature_side(
                X, U, factor.intercept, {} if cache is None else cache, t
            )
        else:
            A = X - X.mean(axis=0) if factor.intercept == "free" else X
            g, fro2, row_sq = _stats_with_extra(
                A,
                U,
                centre=factor.intercept == "free",
                augment=factor.intercept == "augmented",
                t=t,
            )
        m = row_sq.size
        n_null = int(np.sum(g <= 1e-10 * g.max())) if m > d and g.max() > 0 else 0
        return _fit_spectrum(
            g, fro2, m, float(row_sq.sum()), float(np.sum(row_sq**2)), d, n_null, n_grid, n_path
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
        own mean, pooled with ``A`` without copying them when ``n_rows + n_extra > d``.
        A dask array (``skft[dask]``) is reduced blockwise on the cluster to its mean, its
        ``d x d`` scatter and the sums of its rows' squared norms and their squares
        (:func:`skft.dask.row_moments`): the same estimate, in memory ``O(d^2)``.
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
    A = np.asarray(A, dtype=float)
    d = A.shape[1]
    if is_dask_array(extra) and A.shape[0] + extra.shape[0] > d:
        # skft[dask]: the unlabelled rows' moments reduced blockwise on the cluster
        from ..dask import row_moments

        g, fro2, m, sq1, sq2 = row_moments(extra, name="X_unlabeled").spectrum_stats(A)
        n_null = int(np.sum(g <= 1e-10 * g.max())) if m > d and g.max() > 0 else 0
    elif extra is None:
        g, fro2 = _gram_eigenvalues(A)
        row_sq = np.einsum("ij,ij->i", A, A)
        m, sq1, sq2 = row_sq.size, float(row_sq.sum()), float(np.sum(row_sq**2))
        if m > d:
            n_null = int(np.sum(g <= 1e-10 * g.max())) if g.max() > 0 else d
        else:
            n_null = int(np.sum(np.all(A == 0.0, axis=0)))
    else:
        g, fro2, row_sq = _stats_with_extra(A, np.asarray(extra, dtype=float))
        m, sq1, sq2 = row_sq.size, float(row_sq.sum()), float(np.sum(row_sq**2))
        n_null = int(np.sum(g <= 1e-10 * g.max())) if m > d and g.max() > 0 else 0
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
