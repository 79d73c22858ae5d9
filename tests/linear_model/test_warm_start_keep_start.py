"""alpha=np.inf keeps the start exactly; calibrate_start="intercept" refits its intercept."""

import numpy as np
import pytest
import scipy.sparse as sp

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor


def _data(n=40, d=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.5
    w0 = rng.standard_normal(d) / np.sqrt(d)
    y = X @ (w0 + 0.3 * rng.standard_normal(d) / np.sqrt(d)) + 1.5 + rng.standard_normal(n)
    s = rng.uniform(0.5, 2.0, n)
    return X, y, w0, s


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("solver", ["exact", "sgd"])
def test_regressor_alpha_inf_keeps_the_start_exactly(solver, sparse):
    X, y, w0, s = _data()
    w_user = w0.copy()
    Xin = sp.csr_matrix(X) if sparse else X
    est = WarmStartSGDRegressor(w_user, 0.7, alpha=np.inf, solver=solver, random_state=0)
    est.fit(Xin, y, sample_weight=s)
    np.testing.assert_array_equal(est.coef_, w0)
    np.testing.assert_array_equal(est.intercept_, [0.7])
    np.testing.assert_array_equal(w_user, w0)
    np.testing.assert_array_equal(est.predict(X), X @ w0 + 0.7)


@pytest.mark.parametrize("sparse", [False, True])
def test_regressor_alpha_inf_calibrated_intercept_is_the_limit_of_large_alpha(sparse):
    # calibrate_start="intercept": b = weighted mean of the start's residuals, which is the
    # limit of the alpha > 0 minimiser (the intercept is never pulled): distance ~ 1/alpha
    X, y, w0, s = _data()
    Xin = sp.csr_matrix(X) if sparse else X
    est = WarmStartSGDRegressor(w0, 0.7, alpha=np.inf, calibrate_start="intercept")
    est.fit(Xin, y, sample_weight=s)
    np.testing.assert_array_equal(est.coef_, w0)
    np.testing.assert_allclose(est.intercept_, [np.average(y - X @ w0, weights=s)], rtol=1e-12)
    big = WarmStartSGDRegressor(w0, alpha=1e8, solver="exact").fit(X, y, sample_weight=s)
    np.testing.assert_allclose(big.coef_, est.coef_, atol=1e-6)
    np.testing.assert_allclose(big.intercept_, est.intercept_, rtol=1e-6)


def test_regressor_alpha_inf_partial_fit_keeps_the_start():
    X, y, w0, s = _data(seed=1)
    est = WarmStartSGDRegressor(w0, 0.3, alpha=np.inf, random_state=0)
    for _ in range(30):
        est.partial_fit(X, y, sample_weight=s)
    np.testing.assert_array_equal(est.coef_, w0)
    np.testing.assert_array_equal(est.intercept_, [0.3])
    assert est.t_ == 1 + 30 * len(y)


@pytest.mark.parametrize("solver", ["exact", "sgd"])
def test_classifier_alpha_inf_keeps_per_class_starts(solver):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((45, 30))
    y = rng.choice(["a", "b", "c"], 45)
    W0 = rng.standard_normal((3, 30)) * 0.1
    b0 = np.array([0.1, -0.2, 0.3])
    clf = WarmStartSGDClassifier(W0, b0, alpha=np.inf, solver=solver, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, W0)
    np.testing.assert_array_equal(clf.intercept_, b0)
    cal = WarmStartSGDClassifier(W0, b0, alpha=np.inf, calibrate_start="intercept").fit(X, y)
    T = np.where(y[:, None] == np.array(["a", "b", "c"])[None, :], 1.0, -1.0)
    np.testing.assert_allclose(cal.intercept_, (T - X @ W0.T).mean(axis=0), rtol=1e-12)
    big = WarmStartSGDClassifier(W0, alpha=1e8, solver="exact").fit(X, y)
    np.testing.assert_allclose(big.intercept_, cal.intercept_, rtol=1e-6)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_classifier_alpha_inf_other_losses(loss):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 5)), rng.integers(0, 2, 30)
    w0 = rng.standard_normal(5)
    for fit_intercept in (True, False):
        clf = WarmStartSGDClassifier(w0, 0.2, alpha=np.inf, loss=loss,
                                     fit_intercept=fit_intercept).fit(X, y)
        np.testing.assert_array_equal(clf.coef_, w0[None, :])
        np.testing.assert_array_equal(clf.intercept_, [0.2])


def test_negative_alpha_still_rejected():
    X, y, w0, _ = _data()
    with pytest.raises(ValueError, match="alpha"):
        WarmStartSGDRegressor(w0, alpha=-1.0).fit(X, y)
