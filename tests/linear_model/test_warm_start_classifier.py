"""WarmStartSGDClassifier: +-1 targets, one-vs-rest, labels, probabilities, partial_fit."""

import warnings

import numpy as np
import pytest
from scipy.special import expit
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeClassifier

from skft.linear_model import WarmStartSGDClassifier


def _data(n, d, n_classes, seed=0, labels=None):
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((n_classes, d)) * 1.5 / np.sqrt(d) * 3
    k = rng.integers(0, n_classes, n)
    X = rng.standard_normal((n, d)) + means[k]
    y = np.asarray(labels)[k] if labels is not None else k
    return X, y


def _pinv_fit(X, t, w0, b0):
    """Closest augmented least-squares solution to (w0, b0), by SVD."""
    A = np.hstack([X, np.ones((len(X), 1))])
    u = np.linalg.pinv(A) @ (t - X @ w0 - b0)
    return w0 + u[:-1], b0 + u[-1]


def test_binary_string_labels_exact_is_pm1_closed_form():
    X, y = _data(30, 80, 2, labels=["no", "yes"])
    w0 = np.random.default_rng(1).standard_normal(80) * 0.05
    clf = WarmStartSGDClassifier(w0, 0.1).fit(X, y)
    assert clf.classes_.tolist() == ["no", "yes"] and clf.coef_.shape == (1, 80)
    w, b = _pinv_fit(X, np.where(y == "yes", 1.0, -1.0), w0, 0.1)
    np.testing.assert_allclose(clf.coef_[0], w, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, [b], rtol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), y)  # interpolation of +-1 targets


def test_multiclass_is_one_vs_rest_and_sgd_matches_exact():
    X, y = _data(45, 120, 3, seed=2, labels=[3, 7, 11])
    W0 = np.random.default_rng(3).standard_normal((3, 120)) * 0.05
    clf = WarmStartSGDClassifier(W0).fit(X, y)
    assert clf.coef_.shape == (3, 120) and clf.classes_.tolist() == [3, 7, 11]
    for j, c in enumerate(clf.classes_):
        w, b = _pinv_fit(X, np.where(y == c, 1.0, -1.0), W0[j], 0.0)
        np.testing.assert_allclose(clf.coef_[j], w, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(clf.intercept_[j], b, atol=1e-10)
    sgd = WarmStartSGDClassifier(W0, solver="sgd", random_state=0).fit(X, y)
    num = np.linalg.norm(np.c_[sgd.coef_, sgd.intercept_] - np.c_[clf.coef_, clf.intercept_])
    den = np.linalg.norm(np.c_[clf.coef_, clf.intercept_] - np.c_[W0, np.zeros(3)])
    assert num / den < 1e-4


def test_pm1_labels_and_one_dimensional_start():
    X, y = _data(40, 20, 2, seed=4, labels=[-1, 1])
    w0 = np.full(20, 0.01)
    a = WarmStartSGDClassifier(w0).fit(X, y)
    b = WarmStartSGDClassifier(w0[None, :]).fit(X, y)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.classes_.tolist() == [-1, 1]
    assert a.coef_init_.shape == (1, 20)


def test_start_from_fitted_classifier():
    X, y = _data(60, 10, 3, seed=5)
    src = RidgeClassifier().fit(X[:30], y[:30])  # one-vs-rest rows
    clf = WarmStartSGDClassifier(src, alpha=1e6).fit(X, y)
    np.testing.assert_allclose(clf.coef_, src.coef_, atol=1e-5)  # huge pull: stays


# Convergence is not the point here (the unpenalised intercept of a well-separated log-loss
# problem has curvature ~ mean(p (1 - p)), small, so the last digits take long).
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("loss", ["log_loss", "modified_huber"])
def test_predict_proba(loss):
    X, y = _data(100, 5, 2, seed=6, labels=["a", "b"])
    clf = WarmStartSGDClassifier(loss=loss, alpha=0.2, random_state=0).fit(X, y)
    P = clf.predict_proba(X)
    assert P.shape == (100, 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    d = clf.decision_function(X)
    expected = expit(d) if loss == "log_loss" else (np.clip(d, -1, 1) + 1) / 2
    np.testing.assert_allclose(P[:, 1], expected)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), P)
    Xm, ym = _data(90, 5, 3, seed=7)
    Pm = WarmStartSGDClassifier(loss=loss, alpha=0.2, random_state=0).fit(Xm, ym)
    np.testing.assert_allclose(Pm.predict_proba(Xm).sum(axis=1), 1.0)


def test_no_proba_for_other_losses():
    X, y = _data(40, 5, 2, seed=8)
    clf = WarmStartSGDClassifier(loss="hinge", alpha=0.01, random_state=0).fit(X, y)
    assert not hasattr(clf, "predict_proba")
    assert not hasattr(WarmStartSGDClassifier(), "predict_proba")


def test_log_loss_alpha_matches_logistic_regression():
    """L2-penalised log-loss from a zero start: the minimiser is scikit-learn's
    LogisticRegression with C = 1 / (n alpha) (intercept unpenalised in both)."""
    X, y = _data(200, 5, 2, seed=9)
    alpha = 0.2  # strong convexity alpha sets the (full-batch) rate: ~ eta alpha per epoch
    ref = LogisticRegression(C=1 / (200 * alpha), tol=1e-10, max_iter=10000).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = WarmStartSGDClassifier(loss="log_loss", alpha=alpha, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.coef_, ref.coef_, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(clf.intercept_, ref.intercept_, rtol=1e-4, atol=1e-5)


def test_partial_fit_classes():
    X, y = _data(60, 8, 3, seed=10, labels=["x", "y", "z"])
    clf = WarmStartSGDClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:10], y[:10], classes=["x", "y", "z"])
    assert clf.coef_.shape == (3, 8)
    for _ in range(5):
        clf.partial_fit(X, y)
    assert clf.t_ == 1 + 10 + 5 * 60
    with pytest.raises(ValueError, match="not in classes_"):
        clf.partial_fit(X[:3], np.array(["x", "q", "z"]))


def test_hinge_separable_data_is_separated():
    rng = np.random.default_rng(11)
    X = rng.standard_normal((400, 4))
    margin = X @ np.array([1.0, -2.0, 0.5, 1.0]) + 0.3
    keep = np.abs(margin) > 0.5  # a margin of at least 0.5 / ||w||: linearly separable
    X, y = X[keep], (margin[keep] > 0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = WarmStartSGDClassifier(loss="hinge", alpha=1e-4, random_state=0).fit(X, y)
    assert clf.score(X, y) == 1.0
