"""predict_asymptotic_error: both routes, against independent computations and simulation."""

import pickle

import numpy as np
import pytest
from scipy.stats import norm

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.advice import estimate_asymptotic_error
from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression


def test_regressor_moments_match_isotropic_closed_form():
    # Sigma = I, alpha = 0, n < d: s2 + (1 - n/d)||delta||^2 + s2 n / (d - n) (DESIGN.md 4)
    X, y, truth = make_transfer_regression(150, 500, noise=0.7, shift=1.3, random_state=1)
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    n, d, s2 = 150, 500, truth.noise_var
    dd = float(truth.delta @ truth.delta)
    res = est.predict_asymptotic_error(covariance=truth.covariance, noise_var=s2,
                                       coef_star=truth.w_star)
    assert res.source == "moments"
    np.testing.assert_allclose(res.pretrained, dd + s2, rtol=1e-12)
    np.testing.assert_allclose(res.finetuned, s2 + (1 - n / d) * dd + s2 * n / (d - n),
                               rtol=1e-10)
    # delta and coef_star are two routes to the same number
    res2 = est.predict_asymptotic_error(covariance=truth.covariance, noise_var=s2,
                                        delta=truth.delta)
    np.testing.assert_allclose(res2.finetuned, res.finetuned, rtol=1e-14)


def test_regressor_uses_its_own_alpha_and_curves():
    X, y, truth = make_transfer_regression(100, 300, spectrum="bilevel", random_state=2)
    est = WarmStartSGDRegressor(truth.coef_init, alpha=0.3, fit_intercept=False).fit(X, y)
    kw = dict(covariance=truth.covariance, noise_var=truth.noise_var, delta=truth.delta)
    at_fit = est.predict_asymptotic_error(**kw)
    curve = est.predict_asymptotic_error(n_samples=[50, 100, 400], **kw)
    assert curve.finetuned.shape == (3,)
    np.testing.assert_allclose(curve.finetuned[1], at_fit.finetuned, rtol=1e-12)
    assert np.all(curve.alpha == 0.3)
    other = est.predict_asymptotic_error(alpha=0.0, **kw)
    assert not np.isclose(other.finetuned, at_fit.finetuned)


def test_regressor_moments_against_simulation():
    # Monte-Carlo of the real estimator: mean realised error over seeds within 4 standard
    # errors (estimated from the seeds) of the prediction.
    n, d, seeds = 200, 400, 12
    realised = []
    for seed in range(seeds):
        X, y, truth = make_transfer_regression(n, d, spectrum="powerlaw", distribution="uniform",
                                               noise=0.5, shift=1.0, random_state=seed)
        est = WarmStartSGDRegressor(truth.coef_init, alpha=0.05, fit_intercept=False,
                                    solver="exact").fit(X, y)
        realised.append(exact_test_error(truth, est.coef_))
    pred = est.predict_asymptotic_error(covariance=truth.covariance, noise_var=truth.noise_var,
                                        delta=truth.delta).finetuned
    se = np.std(realised, ddof=1) / np.sqrt(seeds)
    assert abs(np.mean(realised) - pred) < 4 * se


def test_classifier_moments_match_formula_and_simulation():
    n, d, seeds = 200, 400, 12
    errors = []
    for seed in range(seeds):
        X, y, truth = make_transfer_classification(n, d, separation=2.0, shift=1.0,
                                                   random_state=seed)
        clf = WarmStartSGDClassifier(truth.coef_init, fit_intercept=False,
                                     solver="exact").fit(X, y)
        errors.append(exact_test_error(truth, clf.coef_[0]))
    res = clf.predict_asymptotic_error(covariance=truth.covariance, mean=truth.mean)
    w0, mu, cov = truth.coef_init, truth.mean, truth.covariance
    cov_w0 = w0 @ (cov * w0) if cov.ndim == 1 else w0 @ cov @ w0
    np.testing.assert_allclose(res.pretrained, norm.cdf(-(mu @ w0) / np.sqrt(cov_w0)),
                               rtol=1e-12)
    se = np.std(errors, ddof=1) / np.sqrt(seeds)
    assert abs(np.mean(errors) - res.finetuned) < 4 * se


def test_data_route_defaults_to_fitted_data():
    X, y, truth = make_transfer_regression(120, 300, random_state=3)
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    res = est.predict_asymptotic_error(n_samples=[60, 120, 600])
    ref = estimate_asymptotic_error(truth.coef_init, 0.0, X, y, alpha=0.0,
                                    n_samples=[60, 120, 600], fit_intercept=False)
    assert res.source == "data"
    np.testing.assert_allclose(res.finetuned, ref.finetuned, rtol=1e-12)
    # the pretrained error is measured on the target labels
    np.testing.assert_allclose(res.pretrained, np.mean((y - X @ truth.coef_init) ** 2))


def test_pickled_estimator_drops_the_data_but_accepts_it_again():
    X, y, truth = make_transfer_regression(80, 200, random_state=4)
    est = WarmStartSGDRegressor(truth.coef_init).fit(X, y)
    before = est.predict_asymptotic_error()
    back = pickle.loads(pickle.dumps(est))
    assert not hasattr(back, "_fit_data")
    with pytest.raises(ValueError, match="pass X and y"):
        back.predict_asymptotic_error()
    np.testing.assert_allclose(back.predict_asymptotic_error(X, y).finetuned, before.finetuned)


def test_classifier_data_route_binary_and_multiclass():
    X, y, truth = make_transfer_classification(150, 300, separation=2.0, random_state=5)
    clf = WarmStartSGDClassifier(truth.coef_init, fit_intercept=False).fit(X, y)
    res = clf.predict_asymptotic_error()
    assert 0 <= res.finetuned <= 1 and 0 <= res.pretrained <= 1
    rng = np.random.default_rng(0)
    Xm = rng.standard_normal((90, 40))
    ym = np.array(["a", "b", "c"])[np.argmax(Xm[:, :3], axis=1)]
    W0 = rng.standard_normal((3, 40)) * 0.1
    clf3 = WarmStartSGDClassifier(W0).fit(Xm, ym)
    res3 = clf3.predict_asymptotic_error(n_samples=[45, 90])
    # the argmax error of the model, the one-vs-rest rates beside it
    assert res3.finetuned.shape == (2,) and res3.finetuned_per_class.shape == (3, 2)
    assert res3.pretrained_per_class.shape == (3,)
    with pytest.raises(ValueError, match=r"mean of shape \(3, n_features\)"):
        clf3.predict_asymptotic_error(covariance=np.ones(40), mean=np.ones(40))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(noise_var=1.0), "without covariance"),
        (dict(covariance=np.ones(30), delta=np.zeros(30)), "noise_var"),
        (dict(covariance=np.ones(30), noise_var=1.0), "exactly one"),
        (dict(covariance=np.ones(30), noise_var=1.0, coef_star=np.zeros(3)), "coef_star"),
        (dict(covariance=np.ones(30), noise_var=-1.0, delta=np.zeros(30)), "noise_var"),
        (dict(covariance=np.ones(30), noise_var=1.0, delta=np.zeros(30), mean=np.ones(30)),
         "mean"),
    ],
)
def test_bad_arguments_name_the_parameter(kwargs, match):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 30)), rng.standard_normal(20)
    est = WarmStartSGDRegressor(np.zeros(30)).fit(X, y)
    with pytest.raises(ValueError, match=match):
        est.predict_asymptotic_error(**kwargs)


def test_unfitted_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        WarmStartSGDRegressor().predict_asymptotic_error()


def test_moments_route_spends_one_sample_on_the_intercept():
    # alpha > 0: the intercept is free, one sample is spent on it (theory at n - 1); at
    # alpha = 0 it is one more coordinate (x, 1) with no pull (issue 8): the theory at n on
    # the covariance with one more eigenvalue 1 (centred features) and no shift there
    X, y, truth = make_transfer_regression(100, 300, random_state=6)
    kw = dict(covariance=truth.covariance, noise_var=truth.noise_var, delta=truth.delta)
    with_b = WarmStartSGDRegressor(truth.coef_init, alpha=0.1).fit(X, y)
    without = WarmStartSGDRegressor(truth.coef_init, alpha=0.1, fit_intercept=False).fit(X, y)
    ref = without.predict_asymptotic_error(n_samples=99, **kw)
    got = with_b.predict_asymptotic_error(**kw)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-14)
    assert got.n_samples == 100
    from skft.theory import regression_risk

    at_zero = WarmStartSGDRegressor(truth.coef_init).fit(X, y).predict_asymptotic_error(**kw)
    aug = regression_risk(np.r_[truth.covariance, 1.0], np.r_[truth.delta, 0.0],
                          truth.noise_var, 100)
    np.testing.assert_allclose(at_zero.finetuned, aug.finetuned, rtol=1e-12)


def test_partial_fit_keeps_no_data_and_fit_alpha_is_used():
    X, y, truth = make_transfer_regression(60, 100, random_state=7)
    est = WarmStartSGDRegressor(truth.coef_init, random_state=0).partial_fit(X[:30], y[:30])
    with pytest.raises(ValueError, match="partial_fit"):
        est.predict_asymptotic_error()
    est = WarmStartSGDRegressor(truth.coef_init, alpha=0.5).fit(X, y)
    before = est.predict_asymptotic_error().finetuned
    est.set_params(alpha=0.0)  # not refitted: the prediction is still for the fitted alpha
    np.testing.assert_allclose(est.predict_asymptotic_error().finetuned, before)


def test_optimal_schedule_with_alpha_zero_is_fine_for_the_exact_solver():
    X, y, truth = make_transfer_regression(40, 80, random_state=8)
    WarmStartSGDRegressor(truth.coef_init, learning_rate="optimal", solver="exact").fit(X, y)


def test_alpha_inf_keeps_the_start():
    X, y, truth = make_transfer_regression(80, 200, random_state=9)
    est = WarmStartSGDRegressor(truth.coef_init, alpha=np.inf, fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(est.coef_, truth.coef_init)
    res = est.predict_asymptotic_error(covariance=truth.covariance, noise_var=truth.noise_var,
                                       delta=truth.delta)
    np.testing.assert_allclose(res.finetuned, res.pretrained, rtol=1e-9)
    assert res.alpha == np.inf
    data = est.predict_asymptotic_error()
    assert data.alpha == np.inf and np.isfinite(data.finetuned)


def test_alpha_curve_with_inf_entries_from_data():
    X, y, truth = make_transfer_regression(80, 200, random_state=10)
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    res = est.predict_asymptotic_error(alpha=[0.0, 1.0, np.inf])
    assert res.finetuned.shape == (3,)
    assert res.finetuned[2] == res.pretrained
    ref = est.predict_asymptotic_error(alpha=[0.0, 1.0])
    np.testing.assert_allclose(res.finetuned[:2], ref.finetuned)


def test_alpha_inf_with_calibrated_intercept():
    # the start with a refitted intercept (calibrate_start="intercept"): its realised test MSE
    # (exact, from the truth) against the prediction var(r) (1 + 1/n), over seeds; tolerance
    # 4 standard errors of the mean difference
    realised, predicted = [], []
    for seed in range(60):  # var(r) from 100 samples has sd ~0.2: enough seeds for power
        X, y, truth = make_transfer_regression(100, 300, noise=0.7, random_state=seed)
        y = y + 2.0  # the target has an offset the start does not know
        est = WarmStartSGDRegressor(truth.coef_init, 0.0, alpha=np.inf,
                                    calibrate_start="intercept").fit(X, y)
        offset_left = float(est.intercept_[0] - 2.0)
        realised.append(exact_test_error(truth, truth.coef_init) + offset_left**2)
        predicted.append(est.predict_asymptotic_error().finetuned)
    diff = np.array(predicted) - np.array(realised)
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / np.sqrt(diff.size)
    # kept: the start's error; without the calibration the start keeps its offset (~4 more)
    assert est.predict_asymptotic_error().pretrained == predicted[-1]
    raw = WarmStartSGDRegressor(truth.coef_init, 0.0, alpha=np.inf).fit(X, y)
    assert raw.predict_asymptotic_error().finetuned > 4.0 > max(predicted)


def test_classifier_alpha_inf_is_the_start_error_rate():
    X, y, truth = make_transfer_classification(120, 200, separation=2.0, random_state=11)
    clf = WarmStartSGDClassifier(truth.coef_init, -1.0, alpha=np.inf).fit(X, y)
    res = clf.predict_asymptotic_error(n_samples=[60, 120])
    # alpha = inf keeps the start: its counted error rate, the model's own
    assert res.pretrained == np.mean(np.sign(X @ truth.coef_init - 1.0) != y)
    np.testing.assert_array_equal(res.finetuned, res.pretrained)
    np.testing.assert_allclose(res.pretrained, np.mean(clf.predict(X) != y))
    # calibrated intercept: the start with that intercept, counted on the data
    cal = WarmStartSGDClassifier(truth.coef_init, -1.0, alpha=np.inf,
                                 calibrate_start="intercept").fit(X, y)
    res = cal.predict_asymptotic_error(n_samples=[60, 120])
    np.testing.assert_allclose(res.finetuned, np.mean(cal.predict(X) != y))
