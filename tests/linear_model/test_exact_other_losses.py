"""solver="exact" for the losses other than squared_error (alpha > 0): the point SGD converges
to, computed deterministically (skft._core._convex), checked against scikit-learn and SGD."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor


def _classification(n, d, seed, k=2):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    means = rng.standard_normal((k, d))
    X = means[y] + 1.2 * rng.standard_normal((n, d))
    return X, y


# (sgd at n = 40 < d = 80 stops at max_iter with a ConvergenceWarning: measured, not tested)
@pytest.mark.parametrize("solver, n, d", [("exact", 200, 5), ("exact", 40, 80), ("sgd", 200, 5)])
def test_log_loss_matches_logistic_regression(solver, n, d):
    """From a zero start the objective is LogisticRegression's with C = 1 / (n alpha)."""
    X, y = _classification(n, d, seed=n + d)
    alpha = 0.2
    ref = LogisticRegression(C=1 / (n * alpha), tol=1e-12, max_iter=100000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = WarmStartSGDClassifier(loss="log_loss", alpha=alpha, solver=solver,
                                     random_state=0).fit(X, y)
    # lbfgs stops at tol 1e-12 on the gradient; the SGD solver at its own tol (1e-6)
    tol = 1e-7 if solver == "exact" else 1e-4
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=tol, atol=tol)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, rtol=tol, atol=tol)


def test_huber_exact_is_the_sgd_limit():
    """(scikit-learn's HuberRegressor also fits a scale, so it is not the same objective: the
    independent route here is SGD run to a tight tolerance.)"""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((150, 6))
    y = X @ rng.standard_normal(6) + rng.standard_t(2, 150)
    exact = WarmStartSGDRegressor(loss="huber", epsilon=1.0, alpha=0.05,
                                  solver="exact").fit(X, y)
    sgd = WarmStartSGDRegressor(loss="huber", epsilon=1.0, alpha=0.05, solver="sgd",
                                tol=1e-9, max_iter=5000, random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.coef_, exact.coef_, atol=1e-4)
    np.testing.assert_allclose(sgd.intercept_, exact.intercept_, atol=1e-4)


@pytest.mark.parametrize("loss", ["hinge", "modified_huber", "log_loss"])
def test_multiclass_exact_is_one_binary_fit_per_class(loss):
    X, y = _classification(90, 12, seed=3, k=3)
    W0 = np.random.default_rng(4).standard_normal((3, 12)) * 0.1
    clf = WarmStartSGDClassifier(W0, alpha=0.1, loss=loss, solver="exact").fit(X, y)
    for k in range(3):
        one = WarmStartSGDClassifier(W0[k], alpha=0.1, loss=loss, solver="exact").fit(
            X, (y == k).astype(int))
        np.testing.assert_allclose(clf.coef_[k], one.coef_[0], atol=1e-9)
        np.testing.assert_allclose(clf.intercept_[k], one.intercept_[0], atol=1e-9)


def test_auto_picks_exact_for_other_losses_when_alpha_positive():
    X, y = _classification(60, 10, seed=5)
    assert WarmStartSGDClassifier(loss="hinge", alpha=0.1).fit(X, y).solver_ == "exact"
    assert WarmStartSGDClassifier(loss="hinge", alpha=0.0).fit(X, y).solver_ == "sgd"
    assert WarmStartSGDClassifier(loss="hinge", alpha=0.1, early_stopping=True,
                                  random_state=0).fit(X, y).solver_ == "sgd"
    Xr, yr = X, X[:, 0] + 0.1 * np.arange(60)
    assert WarmStartSGDRegressor(loss="epsilon_insensitive", alpha=0.1).fit(
        Xr, yr).solver_ == "exact"


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_exact_with_alpha_zero_is_refused_for_other_losses(loss):
    X, y = _classification(20, 40, seed=6)  # n < d: separable, no log-loss minimiser
    with pytest.raises(ValueError, match="needs alpha > 0.*may not exist"):
        WarmStartSGDClassifier(loss=loss, solver="exact").fit(X, y)


def test_exact_minimiser_is_what_long_sgd_reaches_from_the_start():
    X, y = _classification(120, 8, seed=7)
    w0 = np.linspace(-1, 1, 8)
    exact = WarmStartSGDClassifier(w0, 0.3, loss="modified_huber", alpha=0.5,
                                   solver="exact").fit(X, y)
    sgd = WarmStartSGDClassifier(w0, 0.3, loss="modified_huber", alpha=0.5, solver="sgd",
                                 tol=1e-10, max_iter=5000, random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.coef_, exact.coef_, atol=1e-5)
    np.testing.assert_allclose(sgd.intercept_, exact.intercept_, atol=1e-5)
