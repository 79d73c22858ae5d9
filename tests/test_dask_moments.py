"""Mergeable row moments and the exact solver from them (NumPy only: no dask needed).

References: the moments against direct NumPy sums over all rows at once; the solve against the
in-memory :func:`solve_exact` and against ``numpy.linalg.lstsq`` / a ridge closed form.
"""

import numpy as np
import pytest

from skft._core._exact import solve_exact
from skft._core._exact_moments import residual_reference, solve_exact_from_moments
from skft._core._moments import cross_moments, merge_moments, row_moments


def _blocks(n, sizes):
    edges = np.cumsum([0, *sizes])
    assert edges[-1] == n
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]


def test_row_moments_match_direct_sums_far_from_the_origin():
    rng = np.random.default_rng(0)
    U = rng.standard_normal((500, 7)) * [0.1, 1, 2, 3, 4, 5, 6] + 1e3  # large common offset
    parts = [row_moments(U[s]) for s in _blocks(500, [1, 37, 200, 0, 262])]
    mom = merge_moments(parts)
    Z = U - U.mean(axis=0)
    e = np.sum(Z**2, axis=1)
    assert mom.n_rows == 500
    np.testing.assert_allclose(mom.mean, U.mean(axis=0), rtol=1e-14)
    np.testing.assert_allclose(mom.scatter, Z.T @ Z, rtol=1e-9, atol=1e-9 * np.abs(Z.T @ Z).max())
    np.testing.assert_allclose(mom.third, Z.T @ e, rtol=1e-7, atol=1e-8 * np.abs(Z.T @ e).max())
    np.testing.assert_allclose(mom.norm2, e.sum(), rtol=1e-10)
    np.testing.assert_allclose(mom.norm4, np.sum(e**2), rtol=1e-9)


def test_cross_moments_weighted_match_direct_sums():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4)) + 50.0
    R = rng.standard_normal((300, 2)) - 20.0
    s = rng.uniform(0, 3, 300) * (rng.random(300) > 0.3)
    mom = merge_moments([cross_moments(X[b], R[b], s[b]) for b in _blocks(300, [100, 150, 50])])
    w = s.sum()
    m, r = s @ X / w, s @ R / w
    assert mom.n_rows == np.count_nonzero(s) and np.isclose(mom.weight, w)
    np.testing.assert_allclose(mom.scatter_xx, (X - m).T @ ((X - m) * s[:, None]), rtol=1e-9)
    np.testing.assert_allclose(mom.scatter_xr, (X - m).T @ ((R - r) * s[:, None]), rtol=1e-9,
                               atol=1e-9 * w)
    # a block with only zero weights merges as nothing
    empty = cross_moments(X[:5], R[:5], np.zeros(5))
    assert empty.weight == 0 and mom.merge(empty).weight == mom.weight


@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("alpha", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
def test_solve_from_moments_is_the_in_memory_exact_point(fit_intercept, alpha, weighted):
    rng = np.random.default_rng(2)
    n, d, k = 800, 12, 2
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2, d) + 0.5
    Y = X @ rng.standard_normal((d, k)) + 0.3 * rng.standard_normal((n, k)) + 1.0
    W0, b0 = rng.standard_normal((d, k)), rng.standard_normal(k)
    Ws, bs = rng.standard_normal((d, k)), rng.standard_normal(k)  # a warm start
    s = rng.uniform(0, 2, n) if weighted else None
    ref = solve_exact(X, Y, W0, b0, alpha=alpha, fit_intercept=fit_intercept, sample_weight=s,
                      coef_start=Ws, intercept_start=bs)
    Wr, br = residual_reference(W0, b0, alpha=alpha, fit_intercept=fit_intercept,
                                coef_start=Ws, intercept_start=bs)
    R = Y - X @ Wr - br
    parts = [cross_moments(X[b], R[b], None if s is None else s[b])
             for b in _blocks(n, [300, 300, 200])]
    sol = solve_exact_from_moments(merge_moments(parts), Wr, br, alpha=alpha,
                                   fit_intercept=fit_intercept)
    np.testing.assert_allclose(sol.coef, ref.coef, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(sol.intercept, ref.intercept, rtol=1e-10, atol=1e-10)
    # independent closed forms (sqrt-weighted least squares / ridge toward w0)
    sw = np.ones(n) if s is None else s
    q = np.sqrt(sw)[:, None]
    if fit_intercept and alpha == 0:
        A = np.hstack([X, np.ones((n, 1))])
        full = np.linalg.lstsq(A * q, Y * q, rcond=None)[0]
        np.testing.assert_allclose(sol.coef, full[:d], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(sol.intercept, full[d], rtol=1e-9, atol=1e-9)
    elif not fit_intercept:
        G = X.T @ (X * sw[:, None]) + alpha * sw.sum() * np.eye(d)
        W = W0 if alpha > 0 else Ws
        expect = W + np.linalg.solve(G, X.T @ ((Y - X @ W - b0) * sw[:, None]))
        np.testing.assert_allclose(sol.coef, expect, rtol=1e-9, atol=1e-9)


def test_merge_needs_parts():
    with pytest.raises(ValueError, match="no moments"):
        merge_moments([])
