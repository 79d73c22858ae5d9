"""A fitted estimator as the start, through clone, Pipeline and GridSearchCV: FrozenEstimator.

``clone`` copies an estimator-valued parameter *unfitted* (it clones it too), so a plain fitted
``Ridge`` given as ``coef_init`` reaches every ``GridSearchCV`` fit without its ``coef_``.
``sklearn.frozen.FrozenEstimator`` (scikit-learn >= 1.6) is the scikit-learn way to keep it:
``clone`` returns a FrozenEstimator as is, and it forwards ``coef_``, ``intercept_`` and
``classes_`` to the fitted estimator inside. The reference for every fit below is the same fit
with the start passed as arrays (``coef_init=ridge.coef_``), which has no estimator to lose.
"""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.datasets import make_transfer_classification, make_transfer_regression

CV = KFold(4, shuffle=True, random_state=0)


@pytest.fixture
def problem():
    """Target data, and a Ridge fitted on source data (the pretrained model)."""
    X, y, truth = make_transfer_regression(60, 120, noise=0.3, random_state=0)
    rng = np.random.default_rng(1)
    X_src = rng.standard_normal((400, 120))
    y_src = X_src @ truth.coef_init + 0.1 * rng.standard_normal(400) + 2.0
    return X, y, Ridge(alpha=1.0).fit(X_src, y_src)


def test_plain_fitted_start_is_unfitted_by_clone_and_the_error_says_what_to_do(problem):
    X, y, ridge = problem
    est = WarmStartSGDRegressor(coef_init=ridge)
    est.fit(X, y)  # the estimator itself works: nothing was cloned
    np.testing.assert_array_equal(est.coef_init_, ridge.coef_)
    with pytest.raises(ValueError, match="FrozenEstimator") as info:
        clone(est).fit(X, y)
    assert "coef_init" in str(info.value) and "Ridge" in str(info.value)
    with pytest.raises(ValueError, match="FrozenEstimator"):
        GridSearchCV(est, {"alpha": [0.0, 1.0]}, cv=CV, error_score="raise").fit(X, y)


def test_clone_keeps_a_frozen_start(problem):
    X, y, ridge = problem
    frozen = FrozenEstimator(ridge)
    est = clone(WarmStartSGDRegressor(coef_init=frozen, alpha=0.1))
    assert est.coef_init is frozen  # not a copy, not unfitted
    est.fit(X, y)
    np.testing.assert_array_equal(est.coef_init_, ridge.coef_)
    np.testing.assert_array_equal(est.intercept_init_, [ridge.intercept_])
    ref = WarmStartSGDRegressor(ridge.coef_, ridge.intercept_, alpha=0.1).fit(X, y)
    np.testing.assert_allclose(est.coef_, ref.coef_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(est.intercept_, ref.intercept_, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("solver", ["exact", "sgd"])
def test_grid_search_with_a_frozen_start_equals_the_array_start(problem, solver):
    X, y, ridge = problem
    coef_before = ridge.coef_.copy()
    grid = {"alpha": [0.0, 0.1, 10.0]}
    kw = dict(solver=solver, random_state=0, max_iter=50, tol=None) if solver == "sgd" else {}
    gs = GridSearchCV(WarmStartSGDRegressor(FrozenEstimator(ridge), **kw), grid, cv=CV,
                      error_score="raise").fit(X, y)
    ref = GridSearchCV(WarmStartSGDRegressor(ridge.coef_, ridge.intercept_, **kw), grid, cv=CV,
                       error_score="raise").fit(X, y)
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"],
                               ref.cv_results_["mean_test_score"], rtol=1e-10)
    assert gs.best_params_ == ref.best_params_
    np.testing.assert_array_equal(gs.best_estimator_.coef_init_, ridge.coef_)
    np.testing.assert_array_equal(ridge.coef_, coef_before)  # the start is never modified


def test_frozen_start_in_a_pipeline_grid_search(problem):
    X, y, ridge = problem
    pipe = Pipeline([("ft", WarmStartSGDRegressor(FrozenEstimator(ridge)))])
    assert "ft__coef_init__estimator" in pipe.get_params(deep=True)
    gs = GridSearchCV(pipe, {"ft__alpha": [0.0, 1.0]}, cv=CV, error_score="raise").fit(X, y)
    ref = GridSearchCV(WarmStartSGDRegressor(ridge.coef_, ridge.intercept_),
                       {"alpha": [0.0, 1.0]}, cv=CV, error_score="raise").fit(X, y)
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"],
                               ref.cv_results_["mean_test_score"], rtol=1e-10)


def test_grid_search_chooses_between_pretrained_starts():
    # two candidate starts: the source model close to the target task, and one fitted on
    # unrelated labels; cross-validation at alpha = 0 must pick the close one, as the
    # theory's pretrained errors (exact_test_error of each start) say
    X, y, truth = make_transfer_regression(80, 100, noise=0.2, shift=0.3, random_state=3)
    rng = np.random.default_rng(4)
    X_src = rng.standard_normal((500, 100))
    close = Ridge(alpha=1e-3, fit_intercept=False).fit(X_src, X_src @ truth.w_star)
    far = Ridge(alpha=1e-3, fit_intercept=False).fit(X_src, rng.standard_normal(500))
    starts = [FrozenEstimator(far), FrozenEstimator(close)]
    gs = GridSearchCV(WarmStartSGDRegressor(fit_intercept=False), {"coef_init": starts},
                      cv=CV, error_score="raise").fit(X, y)
    assert gs.best_params_["coef_init"] is starts[1]
    np.testing.assert_array_equal(gs.best_estimator_.coef_init_, close.coef_)


def test_frozen_classifier_start_keeps_its_classes_through_grid_search():
    X, y, truth = make_transfer_classification(80, 60, random_state=0)
    labels = np.where(y > 0, "spam", "ham")
    rng = np.random.default_rng(2)
    X_src = rng.standard_normal((300, 60)) + np.outer(rng.choice([-1, 1], 300), truth.mean)
    y_src = np.where(X_src @ truth.mean > 0, "spam", "ham")
    logreg = LogisticRegression().fit(X_src, y_src)
    gs = GridSearchCV(WarmStartSGDClassifier(FrozenEstimator(logreg)), {"alpha": [0.0, 1.0]},
                      cv=CV, error_score="raise").fit(X, labels)
    best = gs.best_estimator_
    assert best.classes_.tolist() == logreg.classes_.tolist()
    np.testing.assert_array_equal(np.reshape(best.coef_init_, logreg.coef_.shape), logreg.coef_)
    ref = GridSearchCV(WarmStartSGDClassifier(logreg.coef_.ravel(), logreg.intercept_),
                       {"alpha": [0.0, 1.0]}, cv=CV, error_score="raise").fit(X, labels)
    np.testing.assert_allclose(gs.cv_results_["mean_test_score"],
                               ref.cv_results_["mean_test_score"], rtol=1e-10)


def test_frozen_unfitted_start_is_refused(problem):
    X, y, _ = problem
    with pytest.raises(ValueError, match="coef_init.*not fitted"):
        WarmStartSGDRegressor(FrozenEstimator(Ridge())).fit(X, y)
