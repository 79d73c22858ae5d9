"""predict_asymptotic_error for the other losses and for multiclass: dispatch and accuracy.

The moments route must evaluate the theory of the estimator's own ``loss`` / ``epsilon`` /
``fit_intercept`` / start (checked against the theory functions called by hand, and by the
realised argmax error of the fitted multiclass estimator); the data route must estimate the
unknowns well enough that, over seeds, its prediction is unbiased for the realised error or
for the prediction from the true moments (mean paired difference within 4 standard errors,
estimated from the seeds).
"""

import warnings

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.datasets import make_transfer_classification, make_transfer_regression
from skft.theory import (
    classification_error,
    convex_classification_error,
    multiclass_error,
    regression_risk,
    robust_regression_risk,
)

Z = 4.0


@pytest.mark.parametrize("loss, epsilon", [("huber", 0.2), ("epsilon_insensitive", 0.4)])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_regressor_dispatches_on_its_loss(loss, epsilon, fit_intercept):
    X, y, truth = make_transfer_regression(80, 120, spectrum="bilevel", random_state=0)
    est = WarmStartSGDRegressor(truth.coef_init, 0.3, loss=loss, epsilon=epsilon, alpha=0.1,
                                fit_intercept=fit_intercept, max_iter=3, tol=None).fit(X, y)
    kw = dict(covariance=truth.covariance, noise_var=truth.noise_var, delta=truth.delta,
              n_samples=[40, 80, 300])
    got = est.predict_asymptotic_error(**kw, noise="laplace", intercept_offset=0.3)
    ref = robust_regression_risk(truth.covariance, truth.delta, truth.noise_var, [40, 80, 300],
                                 0.1, loss=loss, epsilon=epsilon, noise="laplace",
                                 fit_intercept=fit_intercept, intercept_offset=0.3)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-12)
    assert got.pretrained == ref.pretrained and got.details.loss == loss
    # never the squared-loss number
    squared = regression_risk(truth.covariance, truth.delta, truth.noise_var, [40, 80, 300], 0.1)
    assert not np.allclose(got.finetuned, squared.finetuned, rtol=1e-3)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_binary_classifier_dispatches_on_its_loss(loss):
    X, y, truth = make_transfer_classification(100, 150, separation=1.5, random_state=1)
    clf = WarmStartSGDClassifier(truth.coef_init, 0.2, loss=loss, alpha=0.05, max_iter=3,
                                 tol=None).fit(X, y)
    got = clf.predict_asymptotic_error(covariance=truth.covariance, mean=truth.mean,
                                       n_samples=[50, 100, 400])
    ref = convex_classification_error(truth.covariance, truth.mean, truth.coef_init,
                                      [50, 100, 400], 0.05, loss=loss, fit_intercept=True,
                                      intercept_init=0.2)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-12)
    assert got.details.loss == loss
    squared = classification_error(truth.covariance, truth.mean, truth.coef_init,
                                   [50, 100, 400], 0.05)
    assert not np.allclose(got.finetuned, squared.finetuned, rtol=1e-3)


def test_binary_squared_loss_with_class_means_and_priors():
    rng = np.random.default_rng(2)
    d = 100
    means = rng.standard_normal((2, d)) * 0.15
    X = rng.standard_normal((60, d)) + means[rng.integers(0, 2, 60)]
    y = np.array(["no", "yes"])[rng.integers(0, 2, 60)]
    w0 = rng.standard_normal(d) * 0.05
    clf = WarmStartSGDClassifier(w0, 0.1, alpha=0.2).fit(X, y)
    got = clf.predict_asymptotic_error(covariance=np.ones(d), mean=means, priors=[0.3, 0.7])
    ref = convex_classification_error(np.ones(d), means, w0, 60, 0.2, loss="squared_error",
                                      priors=[0.3, 0.7], fit_intercept=True, intercept_init=0.1)
    assert got.finetuned == pytest.approx(ref.finetuned, rel=1e-12)


def test_alpha_zero_path_dependent_limit_raises():
    X, y, truth = make_transfer_classification(60, 200, random_state=3)
    clf = WarmStartSGDClassifier(truth.coef_init, loss="hinge", alpha=0.0, max_iter=2,
                                 tol=None).fit(X, y)
    with pytest.raises(ValueError, match="separable"):
        clf.predict_asymptotic_error(covariance=truth.covariance, mean=truth.mean)
    # a pull gives a unique limit
    assert 0 < clf.predict_asymptotic_error(covariance=truth.covariance, mean=truth.mean,
                                            alpha=0.01).finetuned < 0.5


def _mixture(rng, n, d, K, priors):
    means = rng.standard_normal((K, d)) * 2.0 / np.sqrt(d)
    W0 = 0.3 * means + 0.3 * rng.standard_normal((K, d)) / np.sqrt(d)
    cls = rng.choice(K, n, p=priors)
    X = means[cls] + rng.standard_normal((n, d))
    return X, cls, means, W0


def _argmax_error(means, W, b, priors):
    """Exact argmax error of fixed scores for identity-covariance Gaussian features."""
    K = len(priors)
    Q = W @ W.T
    err = 0.0
    for c in range(K):
        A = -np.delete(np.eye(K), c, axis=0)
        A[:, c] = 1.0
        p = multivariate_normal.cdf(A @ (means[c] @ W.T + b), mean=np.zeros(K - 1),
                                    cov=A @ Q @ A.T, abseps=1e-7, rng=np.random.default_rng(0))
        err += priors[c] * (1 - p)
    return err


def test_multiclass_is_the_argmax_error_of_the_fitted_model():
    # squared loss, solver="exact": the realised argmax error of the estimator itself
    d, n, K, seeds = 250, 250, 3, 8
    priors = np.array([0.25, 0.35, 0.4])
    gaps, ovr_gaps = [], []
    for seed in range(seeds):
        rng = np.random.default_rng(10 + seed)
        X, cls, means, W0 = _mixture(rng, n, d, K, priors)
        clf = WarmStartSGDClassifier(W0, alpha=0.1, solver="exact", fit_intercept=True).fit(
            X, np.array(["a", "b", "c"])[cls])
        pred = clf.predict_asymptotic_error(covariance=np.ones(d), mean=means, priors=priors)
        realised = _argmax_error(means, clf.coef_, clf.intercept_, priors)
        gaps.append(realised - pred.finetuned)
        ovr_gaps.append(realised - pred.finetuned_per_class.mean())
    gaps = np.array(gaps)
    assert abs(gaps.mean()) <= Z * gaps.std(ddof=1) / np.sqrt(seeds)
    # the one-vs-rest rates are not the model's error (the 0.344 against 0.450)
    assert np.mean(ovr_gaps) > 5 * np.std(ovr_gaps, ddof=1) / np.sqrt(seeds)
    assert pred.details.loss == "squared_error" and pred.finetuned_per_class.shape == (3,)


def test_multiclass_data_route_predicts_the_realised_argmax_error():
    d, n, K, seeds = 200, 400, 3, 6
    priors = np.full(K, 1 / 3)
    gaps = []
    for seed in range(seeds):
        rng = np.random.default_rng(30 + seed)
        X, cls, means, W0 = _mixture(rng, n, d, K, priors)
        clf = WarmStartSGDClassifier(W0, alpha=0.1, solver="exact", fit_intercept=False).fit(
            X, cls)
        pred = clf.predict_asymptotic_error()
        assert pred.source == "data"
        gaps.append(_argmax_error(means, clf.coef_, clf.intercept_, priors) - pred.finetuned)
    gaps = np.array(gaps)
    assert abs(gaps.mean()) <= Z * gaps.std(ddof=1) / np.sqrt(seeds)


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
def test_binary_data_route_against_the_true_moments(loss):
    diffs = []
    for seed in range(5):
        X, y, truth = make_transfer_classification(400, 200, separation=1.5, shift=1.0,
                                                   random_state=40 + seed)
        clf = WarmStartSGDClassifier(truth.coef_init, loss=loss, alpha=0.05, max_iter=2,
                                     tol=None).fit(X, y)
        data = clf.predict_asymptotic_error(n_samples=[200, 400, 800])
        moments = clf.predict_asymptotic_error(covariance=truth.covariance, mean=truth.mean,
                                               n_samples=[200, 400, 800])
        diffs.append((data.finetuned - moments.finetuned) / moments.finetuned)
    diffs = np.array(diffs)
    # the spread assumption is off for this generator's start (aligned with Sigma^-1 mu): a
    # documented bias; measured within 10% here
    assert np.all(np.abs(diffs.mean(axis=0)) < 0.10), diffs.mean(axis=0)


def test_regression_data_route_and_the_noise_law():
    diffs = []
    for seed in range(5):
        X, y, truth = make_transfer_regression(300, 150, spectrum="powerlaw", noise=0.5,
                                               random_state=50 + seed)
        est = WarmStartSGDRegressor(truth.coef_init, loss="huber", epsilon=0.3, alpha=0.05,
                                    max_iter=2, tol=None).fit(X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Gaussian noise: no warning about the law
            data = est.predict_asymptotic_error(n_samples=[150, 300, 600])
        moments = est.predict_asymptotic_error(covariance=truth.covariance,
                                               noise_var=truth.noise_var, delta=truth.delta,
                                               n_samples=[150, 300, 600])
        diffs.append(data.finetuned - moments.finetuned)
    diffs = np.array(diffs)
    assert np.all(np.abs(diffs.mean(axis=0)) <= Z * diffs.std(axis=0, ddof=1) / np.sqrt(5))
    # heavy-tailed noise: the residuals say so, and a named law is taken at its word
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, 100))
    y = X @ (rng.standard_normal(100) / 10) + rng.standard_t(2.5, 400)
    est = WarmStartSGDRegressor(np.zeros(100), loss="huber", epsilon=0.5, alpha=0.1,
                                max_iter=2, tol=None).fit(X, y)
    with pytest.warns(UserWarning, match="not Gaussian"):
        gaussian = est.predict_asymptotic_error()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        named = est.predict_asymptotic_error(noise="student_t")
    assert named.finetuned != gaussian.finetuned


def test_bad_arguments_for_the_new_routes():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 20)), rng.standard_normal(30)
    reg = WarmStartSGDRegressor(np.zeros(20), loss="huber", max_iter=2, tol=None).fit(X, y)
    with pytest.raises(ValueError, match="priors is for classifiers"):
        reg.predict_asymptotic_error(priors=[0.5, 0.5])
    with pytest.raises(ValueError, match="noise must be one of"):
        reg.predict_asymptotic_error(covariance=np.ones(20), noise_var=1.0,
                                     delta=np.zeros(20), noise="cauchy")
    clf = WarmStartSGDClassifier(np.zeros(20), loss="log_loss", max_iter=2, tol=None).fit(
        X, y > 0)
    with pytest.raises(ValueError, match="noise is for regressors"):
        clf.predict_asymptotic_error(noise="gaussian")
    with pytest.raises(ValueError, match="priors given without covariance"):
        clf.predict_asymptotic_error(priors=[0.5, 0.5])
    with pytest.raises(ValueError, match="mean is required"):
        clf.predict_asymptotic_error(covariance=np.ones(20))


def test_multiclass_moments_match_the_theory_function():
    rng = np.random.default_rng(5)
    d = 60
    X, cls, means, W0 = _mixture(rng, 90, d, 4, np.full(4, 0.25))
    clf = WarmStartSGDClassifier(W0, 0.0, loss="hinge", alpha=0.05, max_iter=2,
                                 tol=None).fit(X, cls)
    got = clf.predict_asymptotic_error(covariance=np.ones(d), mean=means, n_samples=[45, 90])
    ref = multiclass_error(np.ones(d), means, W0, [45, 90], 0.05, loss="hinge",
                           fit_intercept=True)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-12)
    np.testing.assert_allclose(got.finetuned_per_class, ref.finetuned_per_class.T, rtol=1e-12)
    np.testing.assert_allclose(got.pretrained_per_class, ref.pretrained_per_class)


def test_feature_mean_is_absorbed_by_a_free_intercept():
    X, y, truth = make_transfer_regression(80, 120, random_state=6)
    m = np.full(120, 0.3)
    kw = dict(covariance=truth.covariance, noise_var=truth.noise_var, delta=truth.delta,
              intercept_offset=0.2)
    est = WarmStartSGDRegressor(truth.coef_init, loss="huber", epsilon=0.3, alpha=0.1,
                                max_iter=2, tol=None).fit(X, y)
    centred = est.predict_asymptotic_error(**kw)
    moved = est.predict_asymptotic_error(**kw, feature_mean=m)
    assert moved.finetuned == pytest.approx(centred.finetuned, rel=1e-10)
    # the start's error: delta' Sigma delta + s2 + (m' delta + offset)^2
    extra = (m @ truth.delta + 0.2) ** 2 - 0.2**2
    assert moved.pretrained == pytest.approx(centred.pretrained + extra, rel=1e-10)
    with pytest.raises(ValueError, match="feature_mean.*fit_intercept=True and alpha > 0"):
        est.predict_asymptotic_error(**kw, feature_mean=m, alpha=0.0)
    with pytest.raises(ValueError, match="for regressors"):
        WarmStartSGDClassifier(np.zeros(120), loss="hinge", max_iter=2, tol=None).fit(
            X, y > 0).predict_asymptotic_error(covariance=np.ones(120), mean=np.ones(120),
                                               feature_mean=m)
