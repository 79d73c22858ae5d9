"""skft._core._exact against an independent NumPy route (lstsq / pinv on the stacked design)."""

import numpy as np
import pytest
import scipy.sparse as sp

from skft._core._exact import solve_exact, solve_psd


def reference(X, y, w0, b0, alpha, fit_intercept, s, ws=None, bs=None):
    """Minimiser by SVD-based least squares on an explicitly stacked design (no kernels)."""
    ws = w0 if ws is None else ws
    bs = b0 if bs is None else bs
    keep = s > 0
    X, y, s = X[keep], y[keep], s[keep]
    n, d = X.shape
    s = s / s.mean()
    r = np.sqrt(s)
    if fit_intercept:
        A = np.hstack([X, np.ones((n, 1))]) * r[:, None]
        if alpha > 0:  # ridge on w only: rows sqrt(n alpha) [I 0], target 0, around w0
            rhs = (y - X @ w0 - b0) * r
            M = np.vstack([A, np.hstack([np.sqrt(n * alpha) * np.eye(d), np.zeros((d, 1))])])
            u = np.linalg.lstsq(M, np.concatenate([rhs, np.zeros(d)]), rcond=None)[0]
            return w0 + u[:d], b0 + u[d]
        u = np.linalg.pinv(A) @ ((y - X @ ws - bs) * r)  # min-norm: closest to the start
        return ws + u[:d], bs + u[d]
    A = X * r[:, None]
    if alpha > 0:
        M = np.vstack([A, np.sqrt(n * alpha) * np.eye(d)])
        rhs = np.concatenate([(y - X @ w0 - b0) * r, np.zeros(d)])
        return w0 + np.linalg.lstsq(M, rhs, rcond=None)[0], b0
    return ws + np.linalg.pinv(A) @ ((y - X @ ws - b0) * r), b0


def _problem(n, d, seed, duplicates=False, weights=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    if duplicates:
        X[3] = X[1]
        X[7] = X[1]
    y = X @ rng.standard_normal(d) / np.sqrt(d) + 0.5 + 0.3 * rng.standard_normal(n)
    w0 = rng.standard_normal(d) / np.sqrt(d)
    s = rng.uniform(0.2, 3.0, n) if weights else np.ones(n)
    if weights:
        s[0] = 0.0  # zero weight drops the row
    return X, y, w0, 0.7, s


def _rel(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("n, d", [(30, 80), (90, 25)])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
@pytest.mark.parametrize("duplicates", [False, True])
def test_exact_matches_independent_reference(n, d, alpha, fit_intercept, weights, duplicates):
    X, y, w0, b0, s = _problem(n, d, 0, duplicates, weights)
    sol = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=alpha,
                      fit_intercept=fit_intercept, sample_weight=s if weights else None)
    w_ref, b_ref = reference(X, y, w0, b0, alpha, fit_intercept, s)
    assert sol.side == ("kernel" if n < d else "primal")
    assert _rel(sol.coef[:, 0], w_ref) < 1e-10
    assert abs(sol.intercept[0] - b_ref) <= 1e-10 * max(1.0, abs(b_ref))


def test_duplicate_rows_use_pseudo_inverse_and_interpolate():
    X, y, w0, b0, _ = _problem(20, 60, 1, duplicates=True)
    y[3] = y[1]
    y[7] = y[1]  # consistent duplicates: an interpolator exists
    sol = solve_exact(X, y[:, None], w0[:, None], np.zeros(1), alpha=0.0, fit_intercept=False)
    assert sol.method == "eigh"
    np.testing.assert_allclose(X @ sol.coef[:, 0], y, atol=1e-10)


def test_several_targets_equal_separate_solves():
    X, y, w0, b0, s = _problem(25, 70, 2, weights=True)
    rng = np.random.default_rng(3)
    Y = np.column_stack([y, rng.standard_normal(25), -y])
    W0 = rng.standard_normal((70, 3))
    B0 = rng.standard_normal(3)
    joint = solve_exact(X, Y, W0, B0, alpha=0.0, fit_intercept=True, sample_weight=s)
    for j in range(3):
        one = solve_exact(X, Y[:, [j]], W0[:, [j]], B0[[j]], alpha=0.0, fit_intercept=True,
                          sample_weight=s)
        assert _rel(joint.coef[:, j], one.coef[:, 0]) < 1e-12
        assert abs(joint.intercept[j] - one.intercept[0]) < 1e-12


@pytest.mark.parametrize("n, d", [(30, 80), (90, 25)])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_sparse_equals_dense(n, d, alpha):
    X, y, w0, b0, s = _problem(n, d, 4, weights=True)
    X[np.abs(X) < 0.8] = 0.0
    args = (y[:, None], w0[:, None], np.array([b0]))
    kw = dict(alpha=alpha, fit_intercept=True, sample_weight=s)
    dense = solve_exact(X, *args, **kw)
    sparse = solve_exact(sp.csr_matrix(X), *args, **kw)
    assert _rel(sparse.coef, dense.coef) < 1e-12
    np.testing.assert_allclose(sparse.intercept, dense.intercept, rtol=1e-12)


def test_alpha_zero_limit_is_closest_to_the_start():
    X, y, w0, b0, s = _problem(30, 80, 5)
    rng = np.random.default_rng(6)
    ws, bs = rng.standard_normal(80), -1.0
    sol = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=0.0,
                      fit_intercept=True, coef_start=ws[:, None], intercept_start=np.array([bs]))
    w_ref, b_ref = reference(X, y, w0, b0, 0.0, True, s, ws=ws, bs=bs)
    assert _rel(sol.coef[:, 0], w_ref) < 1e-10
    # with alpha > 0 the minimiser is unique: the start does not matter
    a = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=0.2, fit_intercept=True)
    b = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=0.2, fit_intercept=True,
                    coef_start=ws[:, None], intercept_start=np.array([bs]))
    assert _rel(a.coef, b.coef) < 1e-12


def test_small_alpha_tends_to_interpolator_with_free_intercept():
    """The documented discontinuity at alpha = 0 (n < d, intercept fitted)."""
    X, y, w0, b0, s = _problem(30, 80, 7)
    W0, B0 = w0[:, None], np.array([b0])
    small = solve_exact(X, y[:, None], W0, B0, alpha=1e-10, fit_intercept=True)
    zero = solve_exact(X, y[:, None], W0, B0, alpha=0.0, fit_intercept=True)
    # b free: minimise ||w - w0|| subject to X w + b = y  <=>  centred min-norm interpolation
    m, ybar = X.mean(0), y.mean()
    Xc = X - m
    w_free = w0 + np.linalg.pinv(Xc) @ (y - ybar - Xc @ w0)
    b_free = ybar - m @ w_free
    assert _rel(small.coef[:, 0], w_free) < 1e-6
    assert abs(small.intercept[0] - b_free) < 1e-6
    assert abs(zero.intercept[0] - b_free) > 1e-3  # the alpha = 0 point is a different one
    np.testing.assert_allclose(X @ zero.coef[:, 0] + zero.intercept[0], y, atol=1e-9)


def test_solve_psd_singular_gives_minimum_norm():
    rng = np.random.default_rng(8)
    A = rng.standard_normal((6, 3))
    M = A @ A.T  # rank 3
    B = M @ rng.standard_normal((6, 2))  # consistent right-hand sides
    X, method = solve_psd(M, B)
    assert method == "eigh"
    np.testing.assert_allclose(X, np.linalg.pinv(M) @ B, atol=1e-10)


def test_inputs_not_modified():
    X, y, w0, b0, s = _problem(30, 80, 9, weights=True)
    copies = [a.copy() for a in (X, y, w0, s)]
    solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=0.1, fit_intercept=True,
                sample_weight=s)
    for a, c in zip((X, y, w0, s), copies, strict=True):
        assert a.tobytes() == c.tobytes()


# ----------------------------------------------------------------- NumPy-only dense kernels
@pytest.mark.parametrize("m", [1, 7, 128, 129, 300])
def test_cholesky_solve_and_condition_estimate_match_numpy(m):
    from skft._core._dense_linalg import Cholesky

    rng = np.random.default_rng(m)
    A = rng.standard_normal((m, m + 3)) * np.logspace(0, 3, m + 3)
    M = A @ A.T * np.outer(np.logspace(0, 4, m), np.logspace(0, 4, m))  # badly row-scaled
    B = rng.standard_normal((m, 3))
    chol = Cholesky(M)
    X = chol.solve(B)
    e = 1.0 / np.sqrt(np.diag(M))
    # backward stable on the equilibrated system (what Cholesky guarantees): a small residual
    # relative to |Ms| |x|
    Ms_x = (M * np.outer(e, e)) @ (X / e[:, None])
    res = Ms_x - B * e[:, None]
    assert np.abs(res).max() <= 1e3 * m * np.finfo(float).eps * np.abs(X / e[:, None]).max()
    Ms = M * np.outer(e, e)
    exact = 1.0 / np.linalg.cond(Ms, 1)
    # Hager's estimate is a lower bound of ||Ms^-1||_1: rcond at least the true one, and
    # (LAPACK's experience, kept wide here) within a factor 10
    assert exact * (1 - 1e-6) <= chol.rcond() <= 10 * exact  # numpy.cond: an inverse, ~1e-6


def test_cholesky_refuses_numerically_singular_matrices():
    from skft._core._dense_linalg import Cholesky

    A = np.random.default_rng(1).standard_normal((5, 3))
    with pytest.raises(np.linalg.LinAlgError):
        Cholesky(A @ A.T, pivot_tol=1e-10)


def test_small_factorisations_run_on_one_blas_thread_and_restore():
    from threadpoolctl import threadpool_info

    from skft._core._dense_linalg import blas_threads_for

    before = [d["num_threads"] for d in threadpool_info()]
    with blas_threads_for(10):
        inside = [d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"]
        with blas_threads_for(10):  # nested: no change
            pass
    assert all(t == 1 for t in inside)
    assert [d["num_threads"] for d in threadpool_info()] == before


def test_pinv_eigh_matches_numpy_pinv():
    from skft._core._dense_linalg import pinv_eigh

    rng = np.random.default_rng(2)
    A = rng.standard_normal((8, 3))
    M = A @ A.T
    Q, inv, Q0, top = pinv_eigh(M)
    assert Q.shape[1] == 3 and Q0.shape[1] == 5
    np.testing.assert_allclose(Q @ np.diag(inv) @ Q.T, np.linalg.pinv(M, hermitian=True),
                               atol=1e-10)
