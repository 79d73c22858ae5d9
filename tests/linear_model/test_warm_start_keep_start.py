"""alpha=np.inf keeps the start: the limit of the alpha > 0 fits, for both solvers."""

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
def test_regressor_alpha_inf_is_the_start_with_mean_residual_intercept(solver, sparse):
    X, y, w0, s = _data()
    w_user = w0.copy()
    Xin = sp.csr_matrix(X) if sparse else X
    est = WarmStartSGDRegressor(w_user, 0.7, alpha=np.inf, solver=solver, random_state=0)
    est.fit(Xin, y, sample_weight=s)
    np.testing.assert_array_equal(est.coef_, w0)
    np.testing.assert_allclose(est.intercept_, [np.average(y - X @ w0, weights=s)], rtol=1e-12)
    np.testing.assert_array_equal(w_user, w0)
    # the limit of the alpha > 0 minimiser (exact ridge toward the start): distance ~ 1/alpha
    big = WarmStartSGDRegressor(w0, alpha=1e8, solver="exact").fit(X, y, sample_weight=s)
    np.testing.assert_allclose(big.coef_, est.coef_, atol=1e-6)
    np.testing.assert_allclose(big.intercept_, est.intercept_, rtol=1e-6)
    # without intercept the intercept stays at the start's
    no_b = WarmStartSGDRegressor(w0, 0.7, alpha=np.inf, fit_intercept=False, solver=solver)
    no_b.fit(Xin, y)
    np.testing.assert_array_equal(no_b.coef_, w0)
    np.testing.assert_array_equal(no_b.intercept_, [0.7])


def test_regressor_alpha_inf_partial_fit_moves_only_the_intercept():
    X, y, w0, s = _data(seed=1)
    est = WarmStartSGDRegressor(w0, alpha=np.inf, random_state=0)
    for _ in range(30):
        est.partial_fit(X, y, sample_weight=s)
    np.testing.assert_array_equal(est.coef_, w0)
    assert est.t_ == 1 + 30 * len(y)
    np.testing.assert_allclose(est.intercept_, [np.average(y - X @ w0, weights=s)], rtol=1e-6)


@pytest.mark.parametrize("solver", ["exact", "sgd"])
def test_classifier_alpha_inf_per_class_intercepts(solver):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((45, 30))
    y = rng.choice(["a", "b", "c"], 45)
    W0 = rng.standard_normal((3, 30)) * 0.1
    clf = WarmStartSGDClassifier(W0, alpha=np.inf, solver=solver, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, W0)
    T = np.where(y[:, None] == np.array(["a", "b", "c"])[None, :], 1.0, -1.0)
    np.testing.assert_allclose(clf.intercept_, (T - X @ W0.T).mean(axis=0), rtol=1e-12)
    big = WarmStartSGDClassifier(W0, alpha=1e8, solver="exact").fit(X, y)
    np.testing.assert_allclose(big.intercept_, clf.intercept_, rtol=1e-6)


def test_classifier_alpha_inf_other_losses():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 5)), rng.integers(0, 2, 30)
    w0 = rng.standard_normal(5)
    with pytest.raises(ValueError, match=r"alpha=inf .*fit_intercept=True needs "
                                         r"loss='squared_error'.*log_loss"):
        WarmStartSGDClassifier(w0, alpha=np.inf, loss="log_loss").fit(X, y)
    clf = WarmStartSGDClassifier(w0, 0.2, alpha=np.inf, loss="log_loss",
                                 fit_intercept=False).fit(X, y)
    np.testing.assert_array_equal(clf.coef_, w0[None, :])
    np.testing.assert_array_equal(clf.intercept_, [0.2])


def test_negative_alpha_still_rejected():
    X, y, w0, _ = _data()
    with pytest.raises(ValueError, match="alpha"):
        WarmStartSGDRegressor(w0, alpha=-1.0).fit(X, y)


def test_regressor_alpha_inf_partial_fit_on_distinct_batches_equals_fit_on_their_union():
    # the running weighted mean over batches, not the last batch's mean
    X, y, w0, s = _data(seed=3)
    est = WarmStartSGDRegressor(w0, alpha=np.inf, random_state=0)
    for batch in np.array_split(np.arange(len(y)), 5):
        est.partial_fit(X[batch], y[batch], sample_weight=s[batch])
    full = WarmStartSGDRegressor(w0, alpha=np.inf).fit(X, y, sample_weight=s)
    np.testing.assert_allclose(est.intercept_, full.intercept_, rtol=1e-12)
    np.testing.assert_array_equal(est.coef_, w0)
