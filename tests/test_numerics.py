"""Hostile scales and conditioning: the exact solver against independent references.

References (never the code's own output):
- a unique minimiser (``alpha > 0``, or more samples than coordinates): ``numpy.linalg.lstsq``
  on the explicitly stacked ridge system ``[A; sqrt(n alpha) [I 0]]`` with its columns scaled
  to unit norm (column scaling does not change a unique minimiser, and makes lstsq accurate
  whatever the feature scales); errors are measured in those scaled coordinates;
- the closest interpolator (``alpha = 0``, fewer samples than coordinates): ``lstsq`` on the
  augmented design ``[X, 1]`` itself (its minimum-norm solution is the SGD limit);
- extreme scales: the same problem at scale 1, rescaled (``X -> c X``, ``w -> w / c``).
"""

import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skft._core._exact import solve_exact
from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor


def _unique_reference(X, y, w0, b0, alpha, fit_intercept):
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    p = A.shape[1]
    rhs = y - X @ w0 - b0
    if alpha > 0:
        P = np.zeros((d, p))
        P[:, :d] = np.sqrt(n * alpha) * np.eye(d)
        A, rhs = np.vstack([A, P]), np.concatenate([rhs, np.zeros(d)])
    scale = np.linalg.norm(A, axis=0)
    u = np.linalg.lstsq(A / scale, rhs, rcond=None)[0] / scale
    return w0 + u[:d], b0 + (u[d] if fit_intercept else 0.0), scale


def _min_norm_reference(X, y, w0, b0, fit_intercept):
    n, d = X.shape
    A = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    u = np.linalg.lstsq(A, y - X @ w0 - b0, rcond=None)[0]
    return w0 + u[:d], b0 + (u[d] if fit_intercept else 0.0)


def _solve(X, y, w0, b0, alpha, fit_intercept, **kw):
    sol = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=alpha,
                      fit_intercept=fit_intercept, **kw)
    return sol, sol.coef[:, 0], sol.intercept[0]


def _designs(n, d, seed):
    """(name, X, y, tolerance): badly scaled, offset and ill-conditioned designs."""
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((n, d))
    mixed = G.copy()
    mixed[:, ::2] *= 1e8
    mixed[:, 1::2] *= 1e-8
    w_mixed = rng.standard_normal(d) / np.where(np.arange(d) % 2 == 0, 1e8, 1e-8)
    U, _, Vt = np.linalg.svd(rng.standard_normal((n, d)), full_matrices=False)
    k = min(n, d)
    ill = U @ np.diag(np.logspace(0, -7, k)) @ Vt
    years = G + 2000.0  # large offsets against the spread: centring cancels
    noise = 0.1 * rng.standard_normal(n)
    return [
        ("mixed 1e8/1e-8", mixed, mixed @ w_mixed + 3.0 + noise, 1e-9),
        ("offset 2000", years, years @ rng.standard_normal(d) + noise, 1e-9),
        ("cond 1e7", ill, rng.standard_normal(n), 1e-7),
    ]


@pytest.mark.parametrize("n, d", [(120, 16), (24, 90)])
@pytest.mark.parametrize("alpha", [0.0, 0.05])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("case", [0, 1, 2])
def test_exact_matches_lstsq_on_hostile_designs(n, d, alpha, fit_intercept, case):
    name, X, y, tol = _designs(n, d, seed=case)[case]
    rng = np.random.default_rng(10 + case)
    w0 = rng.standard_normal(d) * np.linalg.norm(y) / np.linalg.norm(X, axis=0) / d
    b0 = 0.5
    X0, y0 = X.copy(), y.copy()
    sol, w, b = _solve(X, y, w0, b0, alpha, fit_intercept)
    assert np.array_equal(X, X0) and np.array_equal(y, y0)
    unique = alpha > 0 or n >= d + fit_intercept
    if unique:
        w_ref, b_ref, scale = _unique_reference(X, y, w0, b0, alpha, fit_intercept)
        # scaled coordinates: every coefficient relative to what its column can move
        diff = np.r_[(w - w_ref) * scale[:d], (b - b_ref) * scale[d:]]
        size = np.r_[(w_ref - w0) * scale[:d], (b_ref - b0) * scale[d:]]
        kernel_ridge = alpha > 0 and n < d and name.startswith("mixed")
        # on the kernel side the ridge is solved through the n x n kernel: accurate
        # norm-wise in the original coordinates only (documented), so a looser scaled bound
        assert np.linalg.norm(diff) <= (1e-6 if kernel_ridge else tol) * np.linalg.norm(size)
    else:
        w_ref, b_ref = _min_norm_reference(X, y, w0, b0, fit_intercept)
        diff, size = np.r_[w - w_ref, b - b_ref], np.r_[w_ref - w0, b_ref - b0]
        assert np.linalg.norm(diff) <= tol * np.linalg.norm(size)
        # the SGD limit interpolates: the training residual is at rounding level
        fit = X @ w + (b if fit_intercept else b0)
        assert np.linalg.norm(fit - y) <= 1e-6 * np.linalg.norm(y - X @ w0 - b0)
    if unique and alpha == 0:  # least squares: the training error of the reference
        mse, mse_ref = np.mean((X @ w + b - y) ** 2), np.mean((X @ w_ref + b_ref - y) ** 2)
        assert mse <= mse_ref * (1 + 1e-9)


def test_issue_case_mixed_scales_with_intercept_fits_like_least_squares():
    """Features ~1e8 and ~1e-8 with an intercept (issue 11): was MSE 23 against 0.0095."""
    rng = np.random.default_rng(0)
    n, d = 300, 10
    X = rng.standard_normal((n, d)) * np.r_[np.full(5, 1e8), np.full(5, 1e-8)]
    y = X @ (rng.standard_normal(d) / np.r_[np.full(5, 1e8), np.full(5, 1e-8)]) + 5.0
    y += 0.1 * rng.standard_normal(n)
    est = WarmStartSGDRegressor(solver="exact").fit(X, y)
    A = np.hstack([X, np.ones((n, 1))])
    scale = np.linalg.norm(A, axis=0)
    z = np.linalg.lstsq(A / scale, y, rcond=None)[0] / scale
    mse_ref = np.mean((A @ z - y) ** 2)
    assert mse_ref < 0.02
    assert np.mean((est.predict(X) - y) ** 2) == pytest.approx(mse_ref, rel=1e-8)
    labels = np.where(y > np.median(y), 1, -1)
    clf = WarmStartSGDClassifier(solver="exact").fit(X, labels)
    ref_acc = np.mean(np.sign(A @ (np.linalg.lstsq(A / scale, labels, rcond=None)[0] / scale))
                      == labels)
    assert clf.score(X, labels) == pytest.approx(ref_acc)


_SHAPES = [(60, 12, 0.0, True), (60, 12, 0.1, True), (20, 50, 0.0, False), (20, 50, 0.1, True)]
_EXTREME = [1e-300, 1e-160, 1e154, 1e200, 1e300]


@pytest.mark.parametrize("c, n, d, alpha, fit_intercept", [
    (c, *shape) for c in _EXTREME for shape in _SHAPES
    if shape[2] == 0 or 1e-300 < shape[2] / c / c < 1e300])  # alpha / c^2 must be a float64
def test_extreme_scales_equal_the_rescaled_problem(c, n, d, alpha, fit_intercept):
    """X -> c X with w0 -> w0 / c and alpha -> alpha / c^2... (the same problem in other
    units): coefficients scale by 1/c, the intercept and predictions do not change. Never the
    start returned unchanged, never an overflow."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) + 1.0 + 0.1 * rng.standard_normal(n)
    w0 = rng.standard_normal(d)
    ref, w_ref, b_ref = _solve(X, y, w0, 0.3, alpha, fit_intercept)
    sol, w, b = _solve(c * X, y, w0 / c, 0.3, alpha / c / c, fit_intercept)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w * c, w_ref, rtol=1e-9, atol=1e-9 * np.abs(w_ref).max())
    assert b == pytest.approx(b_ref, rel=1e-9, abs=1e-9)
    assert np.max(np.abs(w * c - w0)) > 1e-3  # moved: the start is not returned silently


def test_intercept_only_moves_as_the_augmented_norm_says_at_huge_scale():
    """alpha = 0, n < d, intercept: the closest point in ||w - w0||^2 + (b - b0)^2. With
    X ~1e154 the features are ~1e154 times cheaper to move than b: b stays (to 1e-300) and w
    is the plain closest interpolator, rescaled."""
    rng = np.random.default_rng(5)
    X = rng.standard_normal((20, 50))
    y = rng.standard_normal(20)
    c = 1e154
    plain, w_ref, _ = _solve(X, y, np.zeros(50), 0.7, 0.0, False)
    sol, w, b = _solve(c * X, y, np.zeros(50), 0.7, 0.0, True)
    np.testing.assert_allclose(w * c, w_ref, rtol=1e-9)
    assert b == pytest.approx(0.7, abs=1e-12)


def test_huge_features_with_an_order_one_start():
    """X ~1e16 and an O(1) start. With more samples than coordinates the minimiser does not
    depend on the start and is found without cancellation; with fewer, the SGD limit keeps
    the start's O(1) coefficients, whose float64 rounding alone spoils the predictions: the
    estimator says so."""
    rng = np.random.default_rng(6)
    X = rng.standard_normal((80, 10)) * 1e16
    y = rng.standard_normal(80)
    est = WarmStartSGDRegressor(np.ones(10), solver="exact").fit(X, y)
    A = np.hstack([X / 1e16, np.ones((80, 1))])
    z = np.linalg.lstsq(A, y, rcond=None)[0]
    np.testing.assert_allclose(est.coef_ * 1e16, z[:10], rtol=1e-9)
    assert est.intercept_ == pytest.approx(z[10], rel=1e-9)
    Xw = rng.standard_normal((20, 60)) * 1e16
    with pytest.warns(UserWarning, match="rounding them to float64"):
        WarmStartSGDRegressor(np.ones(60), solver="exact").fit(Xw, rng.standard_normal(20))
    with warnings.catch_warnings():  # no warning for a start on the scale of X
        warnings.simplefilter("error")
        WarmStartSGDRegressor(np.full(60, 1e-16), solver="exact").fit(Xw, rng.standard_normal(20))


@pytest.mark.parametrize("sparse", [False, True])
def test_rank_deficient_designs_give_the_minimum_norm_point(sparse):
    """Duplicated and collinear columns, a constant column beside the intercept, duplicated
    rows: the minimiser is not unique and the SGD limit is the minimum-norm change (lstsq)."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((50, 8))
    X[:, 3] = X[:, 2]
    X[:, 5] = 1e3 * X[:, 1]
    X[:, 7] = 4.0
    X[10] = X[11]
    y = rng.standard_normal(50)
    w0 = rng.standard_normal(8)
    Xin = sp.csr_matrix(X) if sparse else X
    for fit_intercept in (True, False):
        sol, w, b = _solve(Xin, y, w0, 0.2, 0.0, fit_intercept)
        w_ref, b_ref = _min_norm_reference(X, y, w0, 0.2, fit_intercept)
        assert np.linalg.norm(np.r_[w - w_ref, b - b_ref]) <= 1e-9 * np.linalg.norm(w_ref)
        assert sol.method in ("eigh", "svd")


def test_sgd_at_extreme_scales_reaches_the_rescaled_limit():
    """SGD on c X (c = 1e154, 1e-300) runs internally on the rescaled problem: the same
    limit (the exact solver on the unscaled problem), not an overflow or the start."""
    rng = np.random.default_rng(8)
    X = rng.standard_normal((150, 10))
    y = X @ rng.standard_normal(10) + 2.0 + 0.1 * rng.standard_normal(150)
    ref = WarmStartSGDRegressor(solver="exact").fit(X, y)
    for c in (1e154, 1e-300):
        est = WarmStartSGDRegressor(solver="sgd", random_state=0).fit(c * X, y)
        # SGD stops at relative distance ~tol = 1e-6 from its limit
        np.testing.assert_allclose(est.coef_ * c, ref.coef_, rtol=1e-4, atol=1e-4)
        assert est.intercept_[0] == pytest.approx(ref.intercept_[0], abs=1e-4)


def test_sgd_refuses_extreme_scales_where_rescaling_changes_the_limit():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((20, 60)) * 1e154
    with pytest.raises(ValueError, match="solver='exact'"):
        WarmStartSGDRegressor(solver="sgd").fit(X, rng.standard_normal(20))
    with pytest.raises(ValueError, match="partial_fit"):
        WarmStartSGDRegressor().partial_fit(X[:, :10], rng.standard_normal(20))


def test_sgd_warns_on_badly_mixed_column_scales():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((100, 6)) * np.r_[np.full(3, 1e4), np.full(3, 1e-4)]
    with pytest.warns(Warning, match="differ in scale by a factor"):
        WarmStartSGDRegressor(solver="sgd", max_iter=5, tol=None).fit(X, rng.standard_normal(100))


@pytest.mark.parametrize("sparse", [False, True])
def test_partial_fit_detects_divergence(sparse):
    """A too large eta0 in partial_fit: was a silent MSE of 7e118, now the error fit raises."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((200, 20))
    y = X @ rng.standard_normal(20) + 0.1 * rng.standard_normal(200)
    Xin = sp.csr_matrix(X) if sparse else X
    est = WarmStartSGDRegressor(learning_rate="constant", eta0=2.0, random_state=0)
    with pytest.raises(ValueError, match="diverg"):
        for i in range(40):
            est.partial_fit(Xin[i % 4 * 50:(i % 4 + 1) * 50], y[i % 4 * 50:(i % 4 + 1) * 50])
    assert i < 10
    # a stable step over many calls, and a shift in the data, raise nothing
    ok = WarmStartSGDRegressor(learning_rate="constant", eta0=0.01, random_state=0)
    for i in range(60):
        shift = 0.0 if i < 30 else 50.0
        ok.partial_fit(Xin[i % 4 * 50:(i % 4 + 1) * 50], y[i % 4 * 50:(i % 4 + 1) * 50] + shift)
    assert np.mean((ok.predict(X) - y - 50.0) ** 2) < np.mean((y + 50.0) ** 2)


def _exact_rational_ridge(X, r, c):
    """``X' (X X' + c I)^-1 r`` in exact rational arithmetic on the float64 inputs."""
    from fractions import Fraction as F

    n, d = X.shape
    A = [[F(float(v)) for v in row] for row in X]
    M = [[sum(A[i][k] * A[j][k] for k in range(d)) + (F(float(c)) if i == j else 0)
          for j in range(n)] + [F(float(r[i]))] for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            f = M[j][i] / M[i][i]
            M[j] = [a - f * b for a, b in zip(M[j], M[i], strict=True)]
    v = [F(0)] * n
    for i in reversed(range(n)):
        v[i] = (M[i][n] - sum(M[i][j] * v[j] for j in range(i + 1, n))) / M[i][i]
    return np.array([float(sum(A[i][k] * v[i] for i in range(n))) for k in range(d)])


@pytest.mark.parametrize("alpha", [0.1, 1e-3])
def test_kernel_ridge_with_mixed_scales_is_exact_coefficient_by_coefficient(alpha):
    """n < d, alpha > 0, three columns ~1e8 and the rest ~1e-8 (the kernel's condition number
    ~1e17): every coefficient, the tiny ones too, against exact rational arithmetic."""
    rng = np.random.default_rng(0)
    n, d = 6, 20
    X = rng.standard_normal((n, d))
    X[:, ::2] *= 1e8
    X[:, 1::2] *= 1e-8
    X[:, 6::2] *= 1e-16  # three large columns (fewer than n): the kernel is nearly singular
    y = rng.standard_normal(n)
    sol, w, _ = _solve(X, y, np.zeros(d), 0.0, alpha, False)
    exact = _exact_rational_ridge(X, y, n * alpha)
    np.testing.assert_allclose(w, exact, rtol=1e-9)
