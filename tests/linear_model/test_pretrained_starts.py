"""Starts from other libraries: kept exactly at alpha=inf, calibrated onto the fine-tuning
loss's scale (calibrate_start), multinomial starts converted or refused, matched by name."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.linear_model import LinearRegression, LogisticRegression, RidgeClassifier
from sklearn.preprocessing import StandardScaler

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor


@pytest.fixture(scope="module")
def cancer_shift():
    """LogisticRegression trained on the small tumours; target: the large ones."""
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    small = X[:, 0] < np.median(X[:, 0])
    lr = LogisticRegression(max_iter=5000).fit(X[small], y[small])
    Xt, yt = X[~small], y[~small]
    idx = np.random.default_rng(0).permutation(len(yt))
    return lr, Xt[idx[:60]], yt[idx[:60]], Xt[idx[60:]], yt[idx[60:]]


@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "hinge", "modified_huber"])
@pytest.mark.parametrize("solver", ["auto", "sgd"])
def test_logistic_start_kept_with_alpha_inf_predicts_as_the_logistic_regression(
        cancer_shift, loss, solver):
    lr, X, y, X_test, _ = cancer_shift
    clf = WarmStartSGDClassifier(lr, alpha=np.inf, loss=loss, solver=solver).fit(X, y)
    X_all = np.vstack([X, X_test])
    np.testing.assert_array_equal(clf.decision_function(X_all), lr.decision_function(X_all))
    np.testing.assert_array_equal(clf.predict(X_all), lr.predict(X_all))
    np.testing.assert_array_equal(clf.intercept_, lr.intercept_)
    if loss == "log_loss":
        np.testing.assert_allclose(clf.predict_proba(X_all), lr.predict_proba(X_all), rtol=1e-12)


def test_kept_start_error_is_its_measured_error(cancer_shift):
    lr, X, y, _, _ = cancer_shift
    clf = WarmStartSGDClassifier(lr, alpha=np.inf).fit(X, y)
    res = clf.predict_asymptotic_error(n_samples=[30, 60, 120])
    measured = np.mean(lr.predict(X) != y)
    assert res.pretrained == measured
    np.testing.assert_array_equal(res.finetuned, measured)


def test_affine_calibration_is_least_squares_of_the_targets_on_the_scores(cancer_shift):
    # independent route: np.linalg.lstsq of the +-1 targets on [scores, 1]
    lr, X, y, _, _ = cancer_shift
    clf = WarmStartSGDClassifier(lr, alpha=np.inf, calibrate_start="affine").fit(X, y)
    z = lr.decision_function(X)
    (a, c), *_ = np.linalg.lstsq(np.column_stack([z, np.ones_like(z)]), 2.0 * y - 1.0,
                                 rcond=None)
    np.testing.assert_allclose(clf.start_scale_, [a], rtol=1e-10)
    np.testing.assert_allclose(clf.start_offset_, [c], atol=1e-10)
    np.testing.assert_allclose(clf.coef_, a * lr.coef_, rtol=1e-10)
    np.testing.assert_allclose(clf.intercept_, a * lr.intercept_ + c, rtol=1e-10)
    # the user's start itself is untouched and remembered as given
    np.testing.assert_array_equal(clf.coef_init_, lr.coef_)
    # the calibrated start is what a huge finite pull converges to as well
    big = WarmStartSGDClassifier(lr, alpha=1e9, calibrate_start="affine").fit(X, y)
    np.testing.assert_allclose(big.coef_, clf.coef_, atol=1e-6)


def test_calibration_under_log_loss_and_weights():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((120, 5))
    y = (X[:, 0] + 0.8 * rng.standard_normal(120) > 0).astype(int)
    w0 = np.array([0.3, 0.0, 0.0, 0.0, 0.0])  # right direction, too small a scale
    s = rng.uniform(0.5, 2.0, 120)
    clf = WarmStartSGDClassifier(w0, alpha=np.inf, loss="log_loss",
                                 calibrate_start="affine").fit(X, y, sample_weight=s)
    # independent: weighted logistic regression on the single score, unpenalised
    ref = LogisticRegression(C=np.inf, tol=1e-12, max_iter=10000).fit(
        (X @ w0)[:, None], y, sample_weight=s)
    np.testing.assert_allclose(clf.start_scale_, ref.coef_[0], rtol=1e-6)
    np.testing.assert_allclose(clf.start_offset_, ref.intercept_, atol=1e-6)


def test_calibration_helps_a_logistic_start_fine_tuned_with_the_squared_loss(cancer_shift):
    # a logistic start lives on the log-odds scale; the squared loss on +-1 labels pulls toward
    # it as if it were on the +-1 scale. Calibrated, the pull is toward the right scale.
    lr, X, y, X_test, y_test = cancer_shift
    raw = WarmStartSGDClassifier(lr, alpha=1.0).fit(X, y).score(X_test, y_test)
    cal = WarmStartSGDClassifier(lr, alpha=1.0, calibrate_start="affine").fit(X, y)
    assert cal.score(X_test, y_test) > raw + 0.03  # measured 0.933 vs 0.862


def test_calibration_refuses_a_start_separating_the_data_under_log_loss():
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0, 0, 1, 1])
    with pytest.raises(ValueError, match="calibrate_start='affine'.*separate"):
        WarmStartSGDClassifier(np.ones(1), loss="log_loss", alpha=1.0,
                               calibrate_start="affine").fit(X, y)


def test_regressor_calibration_matches_linear_regression_on_the_scores():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((50, 8))
    w0 = rng.standard_normal(8)
    y = 2.5 * (X @ w0) - 1.0 + 0.1 * rng.standard_normal(50)  # the start in other units
    est = WarmStartSGDRegressor(w0, 0.5, alpha=np.inf, calibrate_start="affine").fit(X, y)
    ref = LinearRegression().fit((X @ w0 + 0.5)[:, None], y)
    np.testing.assert_allclose(est.start_scale_, ref.coef_, rtol=1e-10)
    np.testing.assert_allclose(est.predict(X), ref.predict((X @ w0 + 0.5)[:, None]),
                               rtol=1e-10)


def test_multinomial_start_is_refused_unless_converted_or_kept():
    X, y = load_iris(return_X_y=True)
    lr = LogisticRegression(max_iter=1000).fit(X, y)  # multinomial: softmax logits
    with pytest.raises(ValueError, match="multinomial.*softmax logits.*calibrate_start"):
        WarmStartSGDClassifier(lr, alpha=1.0).fit(X, y)
    with pytest.raises(ValueError, match="multinomial"):
        WarmStartSGDClassifier(lr, alpha=np.inf, calibrate_start="intercept").fit(X, y)
    # kept as it is: the same argmax, so the same predictions and scores
    kept = WarmStartSGDClassifier(lr, alpha=np.inf).fit(X, y)
    np.testing.assert_array_equal(kept.predict(X), lr.predict(X))
    np.testing.assert_array_equal(kept.decision_function(X), lr.decision_function(X))
    with pytest.raises(ValueError, match="joint multiclass start"):
        kept.predict_asymptotic_error()
    # converted: each row mapped by least squares onto its one-vs-rest target
    conv = WarmStartSGDClassifier(lr, alpha=np.inf, calibrate_start="affine").fit(X, y)
    Z = lr.decision_function(X)
    for k in range(3):
        target = np.where(y == k, 1.0, -1.0)
        (a, c), *_ = np.linalg.lstsq(np.column_stack([Z[:, k], np.ones(len(y))]), target,
                                     rcond=None)
        np.testing.assert_allclose([conv.start_scale_[k], conv.start_offset_[k]], [a, c],
                                   rtol=1e-9, atol=1e-9)
    res = conv.predict_asymptotic_error()  # the argmax error, the one-vs-rest rates beside it
    assert np.ndim(res.pretrained) == 0 and np.shape(res.pretrained_per_class) == (3,)
    assert res.finetuned == res.pretrained  # alpha = inf keeps the (converted) start
    # a one-vs-rest start is taken as it is
    ovr = RidgeClassifier().fit(X, y)
    WarmStartSGDClassifier(ovr, alpha=1.0).fit(X, y)


def test_estimator_start_matched_to_columns_by_name():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(5)
    cols = ["a", "b", "c", "d"]
    X = pd.DataFrame(rng.standard_normal((40, 4)), columns=cols)
    y = X.to_numpy() @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.1 * rng.standard_normal(40)
    src = LinearRegression().fit(X, y)
    shuffled = X[["c", "a", "d", "b"]]
    est = WarmStartSGDRegressor(src, alpha=np.inf).fit(shuffled, y)
    np.testing.assert_allclose(est.predict(shuffled), src.predict(X), rtol=1e-12)
    with pytest.raises(ValueError, match="coef_init.*feature_names_in_.*differ"):
        WarmStartSGDRegressor(src).fit(X.rename(columns={"a": "z"}), y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        WarmStartSGDRegressor(src, alpha=np.inf).fit(X, y)  # same order: no warning


def test_should_finetune_refuses_a_multinomial_start():
    from skft import should_finetune

    X, y = load_iris(return_X_y=True)
    lr = LogisticRegression(max_iter=1000).fit(X, y)
    with pytest.raises(ValueError, match="coef_init: LogisticRegression with 3 classes is "
                                         "multinomial"):
        should_finetune(lr, X, y)
    should_finetune(RidgeClassifier().fit(X, y), X, y)  # one-vs-rest rows: judged


def test_moments_route_uses_the_calibrated_anchor():
    from skft.theory import regression_risk

    rng = np.random.default_rng(6)
    d = 30
    w_star = rng.standard_normal(d) / np.sqrt(d)
    w0 = 3.0 * w_star + 0.2 * rng.standard_normal(d) / np.sqrt(d)  # right direction, x3
    X = rng.standard_normal((50, d))
    y = X @ w_star + 0.3 * rng.standard_normal(50)
    est = WarmStartSGDRegressor(w0, alpha=0.5, fit_intercept=False,
                                calibrate_start="affine").fit(X, y)
    anchor = est.start_scale_[0] * w0
    ref = regression_risk(np.ones(d), anchor - w_star, 0.09, 50, 0.5)
    for kw in ({"coef_star": w_star}, {"delta": w0 - w_star}):  # delta is about coef_init_
        got = est.predict_asymptotic_error(covariance=np.ones(d), noise_var=0.09, **kw)
        np.testing.assert_allclose([got.pretrained, got.finetuned],
                                   [ref.pretrained, ref.finetuned], rtol=1e-12)
    kept = est.predict_asymptotic_error(covariance=np.ones(d), noise_var=0.09,
                                        coef_star=w_star, alpha=np.inf)
    assert kept.finetuned == kept.pretrained == ref.pretrained
