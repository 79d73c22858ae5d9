"""Regression risk: closed forms, limits, two routes to the same number, bad input."""

import warnings

import numpy as np
import pytest
from scipy.optimize import brentq

from skft.theory import Spectrum, optimal_alpha, regression_risk
from skft.theory._regression import _regression_risk

RNG = np.random.default_rng(42)
D = 300
LAM = np.where(np.arange(D) < 30, 10.0, 1.0)
DELTA = RNG.standard_normal(D) / np.sqrt(D)


def _risk_dense(cov, delta, s2, n, alpha):
    """Independent route: DESIGN.md section 4 with dense matrices (no eigen-decomposition)."""
    d = cov.shape[0]
    eye = np.eye(d)

    def df1(k):
        return np.trace(np.linalg.solve(cov + k * eye, cov))

    # Brent's method on the monotone k - alpha - k df1(k)/n, bracket [alpha, alpha + tr/n]
    k = brentq(
        lambda k: k - alpha - k * df1(k) / n,
        max(alpha, 1e-12),
        alpha + np.trace(cov) / n,
        xtol=1e-15,
        rtol=1e-13,
    )
    r = np.linalg.solve(cov + k * eye, cov)
    df2 = np.trace(r @ r)
    u = np.linalg.solve(cov + k * eye, delta)
    bias = k**2 * (u @ cov @ u) / (1 - df2 / n)
    var = s2 * df2 / (n - df2)
    return s2 + bias + var


def test_isotropic_closed_form():
    d, s2 = 400, 0.3
    delta = RNG.standard_normal(d)
    nd2 = delta @ delta
    n = np.array([10.0, 200.0, 390.0, 410.0, 1000.0])
    risk = regression_risk(np.ones(d), delta, s2, n)
    expected = np.where(n < d, s2 + (1 - n / d) * nd2 + s2 * n / (d - n), s2 + s2 * d / (n - d))
    np.testing.assert_allclose(risk.finetuned, expected, rtol=1e-9)
    assert risk.pretrained == pytest.approx(nd2 + s2, rel=1e-13)


@pytest.mark.parametrize(
    "n, alpha", [(40.0, 0.0), (250.0, 0.0), (40.0, 0.05), (700.0, 0.05), (250.0, 2.0)]
)
def test_matches_dense_reference_with_rotation(n, alpha):
    q, _ = np.linalg.qr(RNG.standard_normal((D, D)))
    cov = (q * LAM) @ q.T
    delta = q @ DELTA  # same coordinates in the rotated eigenbasis
    ref = _risk_dense(cov, delta, 0.5, n, alpha)
    by_diag = regression_risk(LAM, DELTA, 0.5, n, alpha).finetuned
    by_mat = regression_risk(cov, delta, 0.5, n, alpha).finetuned
    by_spec = regression_risk(Spectrum.from_covariance(cov), delta, 0.5, n, alpha).finetuned
    np.testing.assert_allclose(by_diag, ref, rtol=1e-8)
    np.testing.assert_allclose(by_mat, by_diag, rtol=1e-9)
    assert by_spec == by_mat


def test_least_squares_and_peak():
    s2 = 0.7
    n = np.array([D - 0.5, D, D + 1.0, 4 * D])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        risk = regression_risk(LAM, DELTA, s2, n)
    assert np.isinf(risk.finetuned[1])
    np.testing.assert_allclose(risk.finetuned[2:], s2 + s2 * D / (n[2:] - D), rtol=1e-12)
    assert risk.finetuned[0] > 100 * risk.pretrained  # diverges into the peak
    # noiseless: no peak
    assert regression_risk(LAM, DELTA, 0.0, float(D)).finetuned == 0.0


def test_rank_deficient_equals_subspace_problem():
    lam = np.concatenate([LAM[:200], np.zeros(100)])
    sub = regression_risk(LAM[:200], DELTA[:200], 0.2, [50.0, 150.0, 199.0, 260.0], [0.0])
    full = regression_risk(lam, DELTA, 0.2, [50.0, 150.0, 199.0, 260.0], [0.0])
    np.testing.assert_allclose(full.finetuned, sub.finetuned, rtol=1e-10)
    assert np.isfinite(full.finetuned[-1])  # n = 260 > rank = 200: least squares


def test_limits():
    s2 = 0.4
    res = regression_risk(LAM, DELTA, s2, [1e-6, 1e7], [[0.0], [0.3]])
    pre = res.pretrained
    np.testing.assert_allclose(res.finetuned[:, 0], pre, rtol=1e-6)  # n -> 0
    assert res.finetuned[0, 1] == pytest.approx(s2, rel=1e-4)  # n -> inf, alpha = 0
    # n -> inf, alpha > 0: bias of population ridge toward the start
    floor = s2 + 0.3**2 * np.sum(LAM * DELTA**2 / (LAM + 0.3) ** 2)
    assert res.finetuned[1, 1] == pytest.approx(floor, rel=1e-4)
    # alpha -> inf: the pretrained model
    big = regression_risk(LAM, DELTA, s2, [10.0, 1000.0], 1e10)
    np.testing.assert_allclose(big.finetuned, pre, rtol=1e-8)


def test_monotone_in_alpha_when_far_from_optimum_and_derivative_at_optimum():
    best = optimal_alpha(LAM, DELTA, 0.5, 150.0)
    a = best.alpha
    h = 1e-4 * a
    r = regression_risk(LAM, DELTA, 0.5, 150.0, [a - h, a, a + h]).finetuned
    deriv = (r[2] - r[0]) / (2 * h)
    curv = (r[2] - 2 * r[1] + r[0]) / h**2
    assert abs(deriv) * a < 1e-6 * r[1]  # stationary
    assert curv > 0  # a minimum
    alphas = np.geomspace(a, 1e6 * a, 30)
    above = regression_risk(LAM, DELTA, 0.5, 150.0, alphas).finetuned
    assert np.all(np.diff(above) > 0)  # increasing beyond the optimum


def test_isotropic_optimal_alpha_closed_form():
    # Dobriban & Wager (2018): for Sigma = I the optimal ridge is s2 d / (n ||delta||^2)
    d = 500
    delta = RNG.standard_normal(d) * 0.05
    n = np.array([100.0, 500.0, 2000.0])
    best = optimal_alpha(np.ones(d), delta, 0.3, n)
    np.testing.assert_allclose(best.alpha, 0.3 * d / (n * (delta @ delta)), rtol=1e-5)
    assert np.all(best.error <= regression_risk(np.ones(d), delta, 0.3, n).finetuned)
    assert np.all(best.error < best.pretrained)


def test_optimal_alpha_is_inf_when_pretrained_is_exact():
    best = optimal_alpha(LAM, np.zeros(D), 1.0, [10.0, 1000.0])
    assert np.all(np.isinf(best.alpha))
    np.testing.assert_array_equal(best.error, best.pretrained)


def test_vectorised_equals_looped_and_shapes():
    n = np.array([20.0, 150.0, 299.0, 301.0, 900.0])
    alpha = np.array([[0.0], [0.01], [1.0]])
    res = regression_risk(LAM, DELTA, 0.3, n, alpha)
    assert res.finetuned.shape == (3, 5) and res.kappa.shape == (3, 5)
    for i, a in enumerate(alpha[:, 0]):
        for j, nn in enumerate(n):
            one = regression_risk(LAM, DELTA, 0.3, nn, a)
            assert isinstance(one.finetuned, float)
            np.testing.assert_allclose(
                [one.finetuned, one.bias, one.variance, one.kappa],
                [res.finetuned[i, j], res.bias[i, j], res.variance[i, j], res.kappa[i, j]],
                rtol=1e-10,
            )


def test_private_layer_with_assumed_profile():
    # "delta spread like a random direction": coords^2 = ||delta||^2 / d
    dsq = np.full(D, DELTA @ DELTA / D)
    res = _regression_risk(LAM, dsq, 0.3, np.array([100.0]), np.array(0.0))
    q, _ = np.linalg.qr(RNG.standard_normal((D, D)))
    rotated = regression_risk((q * LAM) @ q.T, DELTA, 0.3, 100.0)
    # averaging a random rotation of delta gives the flat profile; a given draw is close
    assert res.finetuned[0] == pytest.approx(rotated.finetuned, rel=0.1)
    assert isinstance(res.finetuned, np.ndarray)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"noise_var": -1.0}, "noise_var"),
        ({"noise_var": np.nan}, "noise_var"),
        ({"delta": np.ones(D - 1)}, "delta"),
        ({"delta": np.full(D, np.nan)}, "delta"),
        ({"n_samples": 0}, "n_samples"),
        ({"alpha": -0.1}, "alpha"),
        ({"covariance": -LAM}, "positive semi-definite"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"covariance": LAM, "delta": DELTA, "noise_var": 1.0, "n_samples": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        regression_risk(**args)


def test_user_arrays_not_mutated():
    lam, delta = LAM.copy(), DELTA.copy()
    regression_risk(lam, delta, 1.0, [10, 20], 0.1)
    np.testing.assert_array_equal(lam, LAM)
    np.testing.assert_array_equal(delta, DELTA)


@pytest.mark.parametrize("alpha", [1e15, 1e200, 1e300])
def test_huge_alpha_is_the_pretrained_model_not_nan(alpha):
    # alpha -> inf keeps the start: finite, and equal to the pretrained error to ~1e-12
    rng = np.random.default_rng(0)
    lam = rng.uniform(0.5, 2.0, 50)
    delta = rng.standard_normal(50)
    res = regression_risk(lam, delta, 0.3, [5.0, 50.0, 500.0], alpha=alpha)
    np.testing.assert_allclose(res.finetuned, res.pretrained, rtol=1e-10)
