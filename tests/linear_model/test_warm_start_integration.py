"""clone, pickle, Pipeline and GridSearchCV with a constructor coef_init."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor


def _square_problem(n=40, seed=0):
    """n_samples == n_features == len(coef_init): the case where a fit-param would be sliced."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, n))
    w0 = rng.standard_normal(n) / np.sqrt(n)
    y = X @ (w0 + 0.3 * rng.standard_normal(n) / np.sqrt(n)) + 0.1 * rng.standard_normal(n)
    return X, y, w0


def test_clone_and_pickle_keep_the_start():
    X, y, w0 = _square_problem()
    est = WarmStartSGDRegressor(w0, 0.5, alpha=0.1)
    c = clone(est)
    np.testing.assert_array_equal(c.coef_init, w0)
    assert c.intercept_init == 0.5
    est.fit(X, y)
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    np.testing.assert_array_equal(back.coef_init_, w0)


def test_pipeline():
    rng = np.random.default_rng(1)
    X = 3.0 * rng.standard_normal((30, 80)) + 5.0
    w0 = rng.standard_normal(80) / 9
    y = X @ w0 + rng.standard_normal(30)
    pipe = make_pipeline(StandardScaler(), WarmStartSGDRegressor(w0, solver="sgd",
                                                                 random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        pipe.fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), y, atol=1e-3)  # n < d: SGD interpolates


@pytest.mark.parametrize("param_grid", [
    {"alpha": [0.0, 0.01, 1.0]},
    {"eta0": [0.001, "auto"], "max_iter": [5, 50], "solver": ["sgd"]},
])
def test_grid_search_with_constructor_coef_init_of_length_n_samples(param_grid):
    X, y, w0 = _square_problem(seed=2)
    assert len(w0) == X.shape[0]
    gs = GridSearchCV(WarmStartSGDRegressor(w0, random_state=0), param_grid,
                      cv=KFold(4, shuffle=True, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gs.fit(X, y)
    np.testing.assert_array_equal(gs.best_estimator_.coef_init_, w0)  # never sliced
    assert np.isfinite(gs.best_score_)


def test_grid_search_alpha_picks_a_sensible_pull():
    """Start at the truth: the strongest pull must win cross-validation."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((60, 100))
    w_star = rng.standard_normal(100) / 10
    y = X @ w_star + 1.0 * rng.standard_normal(60)
    gs = GridSearchCV(WarmStartSGDRegressor(w_star), {"alpha": [0.0, 0.1, 100.0]},
                      cv=KFold(3, shuffle=True, random_state=0)).fit(X, y)
    assert gs.best_params_["alpha"] == 100.0


def test_classifier_in_grid_search():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 60)
    X = rng.standard_normal((60, 60)) + np.eye(3)[y] @ rng.standard_normal((3, 60))
    W0 = rng.standard_normal((3, 60)) * 0.01
    gs = GridSearchCV(WarmStartSGDClassifier(W0), {"alpha": [0.0, 1.0]}, cv=3).fit(X, y)
    assert gs.best_estimator_.coef_.shape == (3, 60)
    np.testing.assert_array_equal(gs.best_estimator_.coef_init_, W0)
