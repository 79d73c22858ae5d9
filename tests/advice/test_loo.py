"""Closed-form leave-one-out against brute-force refitting."""

import numpy as np
import pytest

from skft.advice import loo_residuals


def _fit(X, r, b0, alpha, fit_intercept, n_pen):
    """Reference fine-tuned fit on (X, r = y - X w0): returns (v, b) with w = w0 + v."""
    n, d = X.shape
    if alpha == 0.0:
        Z = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
        target = r - b0 if fit_intercept else r
        coef = np.linalg.pinv(Z) @ target  # least-norm change (interpolation) or least squares
        return (coef[:d], b0 + coef[d]) if fit_intercept else (coef, 0.0)
    if fit_intercept:  # unpenalised intercept: solve the full normal equations
        Z = np.hstack([X, np.ones((n, 1))])
        D = np.eye(d + 1)
        D[d, d] = 0.0
        coef = np.linalg.solve(Z.T @ Z + n_pen * alpha * D, Z.T @ r)
        return coef[:d], coef[d]
    return np.linalg.solve(X.T @ X + n_pen * alpha * np.eye(d), X.T @ r), 0.0


def _brute_loo(X, r, b0, alpha, fit_intercept):
    n = X.shape[0]
    e = np.empty(n)
    for i in range(n):
        keep = np.arange(n) != i
        # the total penalty n * alpha is held fixed when a row is left out
        v, b = _fit(X[keep], r[keep], b0, alpha, fit_intercept, n_pen=n)
        e[i] = r[i] - X[i] @ v - b
    return e


@pytest.mark.parametrize("fit_intercept", [False, True])
@pytest.mark.parametrize("alpha", [0.0, 0.03, 2.0])
@pytest.mark.parametrize("shape", [(15, 40), (40, 15), (16, 15), (15, 15)])
def test_loo_matches_brute_force(shape, alpha, fit_intercept):
    rng = np.random.default_rng(hash((shape, alpha, fit_intercept)) % 2**32)
    n, d = shape
    X = rng.standard_normal((n, d)) + 0.5  # non-centred features exercise the intercept
    w0, w_star = rng.standard_normal(d), rng.standard_normal(d)
    b0, b_star = 0.3, -0.7
    y = X @ w_star + b_star + 0.5 * rng.standard_normal(n)
    r = y - X @ w0
    if not fit_intercept:
        b0 = 0.0
    # the closed form receives r - b0; brute force handles the start b0 itself
    loo = loo_residuals(X, r - b0, alpha, fit_intercept=fit_intercept)
    expected = _brute_loo(X, r, b0, alpha, fit_intercept)
    np.testing.assert_allclose(loo.residuals, expected, rtol=1e-8, atol=1e-10)
    assert loo.mse == pytest.approx(np.mean(expected**2), rel=1e-8)


def test_loo_vectorised_over_alpha():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((20, 60))
    r = rng.standard_normal(20)
    alphas = [0.0, 0.1, 1.0]
    many = loo_residuals(X, r, alphas, fit_intercept=True)
    for j, a in enumerate(alphas):
        one = loo_residuals(X, r, a, fit_intercept=True)
        np.testing.assert_allclose(many.residuals[j], one.residuals, rtol=1e-10)
        assert many.gcv[j] == pytest.approx(one.gcv, rel=1e-10)


@pytest.mark.parametrize("shape", [(20, 60), (60, 20)])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_gcv_is_the_limit_of_the_hat_matrix_formula(shape, fit_intercept):
    # GCV = mean((r - Hr)^2) / (1 - tr H / n)^2 with the hat matrix built by brute force;
    # at alpha = 0 and n < d both numerator and denominator vanish, so use a tiny alpha.
    rng = np.random.default_rng(2)
    n, d = shape
    X = rng.standard_normal((n, d))
    r = rng.standard_normal(n)
    for alpha in [1e-7, 0.5]:
        if fit_intercept:
            Xc = X - X.mean(0)
            H = np.ones((n, n)) / n + Xc @ np.linalg.solve(Xc.T @ Xc + n * alpha * np.eye(d), Xc.T)
        else:
            H = X @ np.linalg.solve(X.T @ X + n * alpha * np.eye(d), X.T)
        res = r - H @ r
        gcv = np.mean(res**2) / (1 - np.trace(H) / n) ** 2
        assert loo_residuals(X, r, alpha, fit_intercept=fit_intercept).gcv == pytest.approx(
            gcv, rel=1e-5
        )
    # alpha = 0 is the continuous limit
    g0 = loo_residuals(X, r, 0.0).gcv
    assert g0 == pytest.approx(loo_residuals(X, r, 1e-9).gcv, rel=1e-5)


def test_loo_error_rate_brute_force():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((25, 50))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(25) > 0, 1.0, -1.0)
    w0 = 0.5 * rng.standard_normal(50)
    r = y - X @ w0
    loo = loo_residuals(X, r, 0.2)
    # prediction of the left-out fine-tuned model: x_i w0 + x_i v_{-i} = y_i - e_i
    pred = y - _brute_loo(X, r, 0.0, 0.2, False)
    wrong = np.sign(pred) != y
    assert 0 < wrong.mean() < 1
    assert loo.error_rate(y) == pytest.approx(wrong.mean())


def test_loo_rank_deficient_alpha0_raises():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((10, 30))
    X[1] = X[0]
    with pytest.raises(ValueError, match="rank deficient"):
        loo_residuals(X, rng.standard_normal(10), 0.0)
    loo_residuals(X, rng.standard_normal(10), 0.1)  # fine with a pull


def test_loo_bad_alpha_and_too_few_samples():
    X = np.ones((5, 3))
    with pytest.raises(ValueError, match="alpha"):
        loo_residuals(X, np.ones(5), -1.0)
    with pytest.raises(ValueError, match="n_samples"):
        loo_residuals(np.eye(2), np.ones(2), 1.0)


def test_loo_does_not_mutate():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((10, 20))
    r = rng.standard_normal(10)
    X0, r0 = X.copy(), r.copy()
    loo_residuals(X, r, 0.5, fit_intercept=True)
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(r, r0)
