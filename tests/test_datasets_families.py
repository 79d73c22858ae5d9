"""skft.datasets: the options of the issue-8 families (shift direction, uncentred features,
intercepts, repeated rows, class weights), each against an independent route."""

import numpy as np
import pytest

from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression


@pytest.mark.parametrize("rotate", [False, True])
@pytest.mark.parametrize("where", ["top", "bottom"])
def test_shift_direction_spans_the_chosen_eigen_directions(where, rotate):
    d = 40
    X, y, truth = make_transfer_regression(
        10, d, spectrum="powerlaw", shift=2.0, shift_direction=where, shift_fraction=0.1,
        rotate=rotate, random_state=0,
    )
    cov = truth.covariance if rotate else np.diag(truth.covariance)
    lam, vec = np.linalg.eigh(cov)
    order = np.argsort(-lam if where == "top" else lam)[:4]
    coords = vec.T @ truth.delta
    np.testing.assert_allclose(np.linalg.norm(coords[order]), 2.0, rtol=1e-10)
    assert np.linalg.norm(truth.delta) == pytest.approx(2.0)


def test_shift_direction_array_and_bad_values():
    v = np.arange(1.0, 11.0)
    _, _, truth = make_transfer_regression(5, 10, shift=3.0, shift_direction=v, random_state=0)
    np.testing.assert_allclose(truth.delta, 3.0 * v / np.linalg.norm(v))
    with pytest.raises(ValueError, match="shift_direction"):
        make_transfer_regression(5, 10, shift_direction="middle")
    with pytest.raises(ValueError, match="shift_fraction"):
        make_transfer_regression(5, 10, shift_direction="top", shift_fraction=0.0)
    with pytest.raises(ValueError, match="feature_mean"):
        make_transfer_regression(5, 10, feature_mean=np.ones(3))


def test_uncentred_features_and_intercept_exact_error_against_monte_carlo():
    d, m = 8, 60_000
    X, y, truth = make_transfer_regression(
        m, d, spectrum="bilevel", feature_mean=0.7, intercept=1.5, intercept_init=-0.5,
        noise=0.3, random_state=1,
    )
    np.testing.assert_allclose(X.mean(0), 0.7, atol=5 * X.std(0).max() / np.sqrt(m))
    w, b = truth.coef_init, truth.intercept_init
    mse = (y - X @ w - b) ** 2
    # Monte-Carlo mean of the squared error within 5 standard errors of the exact value
    assert abs(mse.mean() - exact_test_error(truth, w, b)) < 5 * mse.std() / np.sqrt(m)


def test_repeated_and_jittered_rows():
    X, y, truth = make_transfer_regression(40, 30, repeats=2, random_state=2)
    assert truth.n_unique == 20
    assert np.unique(X, axis=0).shape[0] == 20
    for row in np.unique(X, axis=0):  # a repeated row keeps its label
        same = np.all(X == row, axis=1)
        assert same.sum() == 2 and np.ptp(y[same]) == 0
    Xj, _, _ = make_transfer_regression(40, 30, repeats=2, jitter=0.01, random_state=2)
    assert np.unique(Xj, axis=0).shape[0] == 40
    D = ((Xj[:, None] - Xj[None]) ** 2).sum(-1)
    np.fill_diagonal(D, np.inf)
    assert np.sum(D.min(1) < 0.01 * np.median(D[np.isfinite(D)])) == 40  # everyone has a twin


def test_class_weights_and_exact_error_with_intercept():
    m = 80_000
    X, y, truth = make_transfer_classification(
        m, 6, weights=[0.8, 0.2], feature_mean=0.4, separation=1.5, random_state=3
    )
    assert truth.prior == pytest.approx(0.2)
    assert abs((y == 1).mean() - 0.2) < 5 * np.sqrt(0.16 / m)
    w, b = truth.coef_init, 0.3
    wrong = np.sign(X @ w + b) != y
    assert abs(wrong.mean() - exact_test_error(truth, w, b)) < 5 * wrong.std() / np.sqrt(m)
    with pytest.raises(ValueError, match="weights"):
        make_transfer_classification(5, 5, weights=[0.5, -0.5])
