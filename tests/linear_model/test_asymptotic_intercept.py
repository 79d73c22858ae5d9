"""The moments route with uncentred features and an intercept the start does not know
(issue 8, item 2), against the real estimator (``solver="exact"``: the point SGD reaches)."""

import numpy as np
import pytest

from skft import WarmStartSGDRegressor
from skft.datasets import exact_test_error, make_transfer_regression
from skft.theory import regression_risk

N_SEEDS = 20


@pytest.fixture(scope="module")
def runs():
    out = {}
    for alpha in (0.0, 0.1):
        rows = []
        for seed in range(N_SEEDS):
            X, y, truth = make_transfer_regression(
                100, 300, feature_mean=0.5, intercept=1.0, intercept_init=0.0, random_state=seed
            )
            est = WarmStartSGDRegressor(
                truth.coef_init, intercept_init=0.0, alpha=alpha, solver="exact"
            ).fit(X, y)
            pred = est.predict_asymptotic_error(
                covariance=truth.covariance,
                noise_var=truth.noise_var,
                delta=truth.delta,
                feature_mean=truth.feature_mean,
                intercept_offset=truth.intercept_init - truth.intercept,
            )
            rows.append(
                (
                    pred.finetuned,
                    exact_test_error(truth, est.coef_, est.intercept_[0]),
                    pred.pretrained,
                    exact_test_error(truth, truth.coef_init, truth.intercept_init),
                )
            )
        out[alpha] = np.array(rows)
    return out


@pytest.mark.parametrize("alpha", [0.0, 0.1])
def test_finetuned_error_matches_the_estimator(runs, alpha):
    # the mean over seeds of (predicted - realised) is within 3 standard errors of 0 (SE of
    # the paired differences); before issue 8 the route ignored the mean and the offset
    # (-82% at alpha = 0)
    pred, true = runs[alpha][:, 0], runs[alpha][:, 1]
    diff = pred - true
    assert abs(diff.mean()) < 3 * diff.std(ddof=1) / np.sqrt(diff.size), diff.mean()


def test_pretrained_error_is_exact(runs):
    # delta' Sigma delta + (m' delta + c)^2 + s2: the exact test error of the start
    for alpha in runs:
        np.testing.assert_allclose(runs[alpha][:, 2], runs[alpha][:, 3], rtol=1e-12)


def test_alpha_zero_keeps_part_of_the_offset():
    # centred isotropic features, n < d: the augmented interpolator keeps about 1 - n/d of the
    # offset^2 (one more coordinate of eigenvalue 1 among d + 1): the closed form
    # s2 + (1 - n/(d+1)) (||delta||^2 + c^2) + s2 n / (d + 1 - n)
    d, n, s2, c = 300, 100, 0.25, 2.0
    delta = np.full(d, 1.0 / np.sqrt(d))
    est = WarmStartSGDRegressor(np.zeros(d), intercept_init=0.0).fit(np.eye(3, d), np.ones(3))
    got = est.predict_asymptotic_error(
        covariance=np.ones(d), noise_var=s2, delta=delta, n_samples=n, intercept_offset=c
    )
    expected = s2 + (1 - n / (d + 1)) * (1.0 + c**2) + s2 * n / (d + 1 - n)
    assert got.finetuned == pytest.approx(expected, rel=1e-10)
    # alpha > 0: the free intercept removes the offset (the theory at n - 1)
    got = est.predict_asymptotic_error(
        covariance=np.ones(d),
        noise_var=s2,
        delta=delta,
        n_samples=n,
        alpha=0.1,
        intercept_offset=c,
    )
    ref = regression_risk(np.ones(d), delta, s2, n - 1, 0.1).finetuned
    assert got.finetuned == pytest.approx(ref, rel=1e-12)


def test_offset_without_intercept():
    d = 50
    est = WarmStartSGDRegressor(np.zeros(d), fit_intercept=False).fit(np.eye(3, d), np.ones(3))
    kw = dict(covariance=np.ones(d), noise_var=0.25, delta=np.full(d, 0.1), n_samples=20)
    # centred features: the offset can only add to the noise
    got = est.predict_asymptotic_error(intercept_offset=1.0, **kw)
    ref = regression_risk(np.ones(d), np.full(d, 0.1), 1.25, 20).finetuned
    assert got.finetuned == pytest.approx(ref, rel=1e-12)
    with pytest.raises(ValueError, match="not covered"):
        est.predict_asymptotic_error(intercept_offset=1.0, feature_mean=0.3, **kw)
