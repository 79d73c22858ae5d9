"""Model selection under joblib's dask backend, and one task per seed, on a LocalCluster.

Reference: the same search / sweep run locally in this process (``n_jobs=1``, a plain loop).
"""

import functools

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.model_selection import GridSearchCV, KFold, cross_validate  # noqa: E402

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor  # noqa: E402
from skft.dask import map_tasks  # noqa: E402
from skft.datasets import exact_test_error, make_transfer_regression  # noqa: E402


def _transitions(client):
    """Task state transitions seen by the scheduler so far (grows when tasks run there)."""
    return client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.transition_counter)


def _search(est, grid, X, y, backend):
    gs = GridSearchCV(est, grid, cv=KFold(4, shuffle=True, random_state=0))
    if backend is None:
        return gs.fit(X, y)
    with joblib.parallel_backend(backend):
        return gs.fit(X, y)


@pytest.mark.parametrize("solver", ["exact", "sgd"])
def test_grid_search_under_dask_backend_is_identical(client, solver):
    X, y, truth = make_transfer_regression(120, 40, random_state=0)
    est = WarmStartSGDRegressor(truth.coef_init, solver=solver, random_state=0, max_iter=50,
                                tol=None)
    grid = {"alpha": [0.0, 0.1, 1.0], "fit_intercept": [True, False]}
    local = _search(est, grid, X, y, None)
    before = _transitions(client)
    dist = _search(est, grid, X, y, "dask")
    assert _transitions(client) > before  # the fits ran on the cluster
    np.testing.assert_array_equal(dist.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])
    for k in range(4):
        key = f"split{k}_test_score"
        np.testing.assert_array_equal(dist.cv_results_[key], local.cv_results_[key])
    assert dist.best_params_ == local.best_params_
    np.testing.assert_array_equal(dist.best_estimator_.coef_, local.best_estimator_.coef_)


def test_cross_validate_classifier_under_dask_backend_is_identical(client):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 30))
    y = np.where(X[:, 0] + 0.5 * rng.standard_normal(150) > 0, "yes", "no")
    est = WarmStartSGDClassifier(np.zeros(30), alpha=0.1)
    local = cross_validate(est, X, y, cv=5, return_estimator=True)
    with joblib.parallel_backend("dask"):
        dist = cross_validate(est, X, y, cv=5, return_estimator=True)
    np.testing.assert_array_equal(dist["test_score"], local["test_score"])
    for a, b in zip(dist["estimator"], local["estimator"], strict=True):
        np.testing.assert_array_equal(a.coef_, b.coef_)


def _one_seed(seed, alpha):
    """One Monte-Carlo replicate: the exact test error of a fine-tuned fit, seeded by ``seed``."""
    X, y, truth = make_transfer_regression(60, 80, spectrum="powerlaw", random_state=seed)
    est = WarmStartSGDRegressor(truth.coef_init, alpha=alpha, fit_intercept=False).fit(X, y)
    return seed, exact_test_error(truth, est.coef_)


def test_map_tasks_one_task_per_seed_matches_a_local_loop(client, capsys):
    func = functools.partial(_one_seed, alpha=0.05)
    on_cluster = map_tasks(func, range(8), desc="seeds")
    assert "seeds" in capsys.readouterr().err  # the progress bar, on stderr
    local = [func(s) for s in range(8)]
    assert on_cluster == local  # same order, same numbers
    with distributed.Client(client.cluster, set_as_default=False) as other:  # explicit client
        assert map_tasks(func, range(8), client=other, progress=False) == local


def _fail_on_three(seed):
    if seed == 3:
        raise ValueError("seed 3 failed")
    return seed


def test_map_tasks_raises_the_first_failure(client):
    with pytest.raises(ValueError, match="seed 3 failed"):
        map_tasks(_fail_on_three, range(6), progress=False)


def test_map_tasks_runs_locally_without_a_client(capsys):
    # an explicit in-process run (no cluster) keeps the bar and the order
    out = map_tasks(functools.partial(_one_seed, alpha=0.0), [4, 2], client=False)
    assert [s for s, _ in out] == [4, 2]
    assert "2/2" in capsys.readouterr().err
