"""skft.datasets: moments, truth, reproducibility, bad input."""

import numpy as np
import pytest

from skft.datasets import (
    DISTRIBUTIONS,
    exact_test_error,
    make_spectrum,
    make_transfer_classification,
    make_transfer_regression,
)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
def test_distributions_are_standardised(name):
    rng = np.random.default_rng(0)
    z = DISTRIBUTIONS[name](rng, (400_000,))
    n = z.size
    # sample mean and variance within 5 standard errors (SE from the sample itself)
    assert abs(z.mean()) <= 5 * z.std() / np.sqrt(n)
    sq = z**2
    assert abs(sq.mean() - 1) <= 5 * sq.std() / np.sqrt(n)


@pytest.mark.parametrize("name", sorted(DISTRIBUTIONS))
@pytest.mark.parametrize("rotate", [False, True])
def test_regression_features_have_the_covariance(name, rotate):
    d, n = 12, 40_000
    X, y, truth = make_transfer_regression(
        n,
        d,
        spectrum="bilevel",
        distribution=name,
        rotate=rotate,
        spectrum_params={"ratio": 5.0, "fraction": 0.25},
        random_state=1,
    )
    cov = truth.covariance if rotate else np.diag(truth.covariance)
    assert truth.covariance.shape == ((d, d) if rotate else (d,))
    prods = X[:, :, None] * X[:, None, :]
    se = prods.std(axis=0) / np.sqrt(n)
    # + 1e-10: rounding, for Rademacher squares that have no sampling variance at all
    assert np.all(np.abs(prods.mean(axis=0) - cov) <= 5 * se + 1e-10)
    assert np.all(np.abs(X.mean(axis=0)) <= 5 * X.std(axis=0) / np.sqrt(n))
    # labels: y = X w_star + noise, residual variance = noise_var
    res = y - X @ truth.w_star
    assert abs(res.var() - truth.noise_var) <= 5 * (res**2).std() / np.sqrt(n)


def test_regression_truth():
    X, y, truth = make_transfer_regression(
        30, 50, noise=0.3, shift=2.0, signal=1.5, n_test=1000, random_state=0
    )
    assert np.linalg.norm(truth.w_star) == pytest.approx(1.5)
    assert np.linalg.norm(truth.coef_init - truth.w_star) == pytest.approx(2.0)
    np.testing.assert_allclose(truth.delta, truth.coef_init - truth.w_star)
    assert truth.noise_var == pytest.approx(0.09)
    assert truth.X_test.shape == (1000, 50) and truth.y_test.shape == (1000,)
    assert exact_test_error(truth, truth.w_star) == pytest.approx(0.09)


def test_classification_truth_and_moments():
    d, n = 10, 60_000
    X, y, truth = make_transfer_classification(
        n, d, spectrum="powerlaw", distribution="rademacher", separation=1.2, random_state=2
    )
    lam = truth.covariance
    assert set(np.unique(y)) == {-1, 1}
    assert abs(np.mean(y == 1) - 0.5) <= 5 * 0.5 / np.sqrt(n)
    # Mahalanobis separation and the population square-loss solution
    assert np.sum(truth.mean**2 / lam) == pytest.approx(1.2**2)
    w_pop = np.linalg.solve(np.diag(lam) + np.outer(truth.mean, truth.mean), truth.mean)
    np.testing.assert_allclose(truth.w_star, w_pop, rtol=1e-10)
    # class-conditional mean and covariance
    z = X - y[:, None] * truth.mean
    assert np.all(np.abs(z.mean(axis=0)) <= 5 * z.std(axis=0) / np.sqrt(n))
    prods = z[:, :, None] * z[:, None, :]
    se = prods.std(axis=0) / np.sqrt(n)
    assert np.all(np.abs(prods.mean(axis=0) - np.diag(lam)) <= 5 * se + 1e-10)  # + rounding
    # Bayes error of the optimal direction
    from scipy.special import ndtr

    assert exact_test_error(truth, truth.w_star) == pytest.approx(ndtr(-1.2), rel=1e-10)


def test_reproducible_and_seed_sensitive():
    a = make_transfer_regression(20, 30, distribution="chi2", random_state=5, rotate=True)
    b = make_transfer_regression(20, 30, distribution="chi2", random_state=5, rotate=True)
    c = make_transfer_regression(20, 30, distribution="chi2", random_state=6, rotate=True)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[2].coef_init, b[2].coef_init)
    assert not np.allclose(a[0], c[0])
    rs = np.random.RandomState(3)
    X1 = make_transfer_classification(20, 30, random_state=rs)[0]
    X2 = make_transfer_classification(20, 30, random_state=rs)[0]
    assert not np.allclose(X1, X2)  # a RandomState instance advances


def test_spectra():
    for kind in ("isotropic", "bilevel", "powerlaw"):
        lam = make_spectrum(100, kind)
        assert lam.mean() == pytest.approx(1.0) and np.all(lam > 0)
        assert np.all(np.diff(lam) <= 0)
    lam = make_spectrum(10, "bilevel", ratio=4.0, fraction=0.3)
    assert lam[0] / lam[-1] == pytest.approx(4.0) and np.sum(lam == lam[0]) == 3


def test_user_array_spectrum_not_mutated():
    cov = np.diag(np.arange(1.0, 6.0))
    before = cov.copy()
    X, y, truth = make_transfer_regression(10, 5, spectrum=cov, random_state=0)
    np.testing.assert_array_equal(cov, before)
    np.testing.assert_allclose(truth.covariance, cov)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples"),
        ({"n_features": 2.5}, "n_features"),
        ({"distribution": "cauchy"}, "distribution"),
        ({"spectrum": "flat"}, "spectrum"),
        ({"spectrum": np.ones(3)}, "spectrum"),
        ({"spectrum": -np.ones(5)}, "spectrum"),
        ({"spectrum": np.array([[1.0, 2.0], [2.0, 1.0]]), "n_features": 2}, "spectrum"),
        ({"noise": -1.0}, "noise"),
        ({"shift": np.nan}, "shift"),
        ({"n_test": -1}, "n_test"),
    ],
)
def test_bad_input_regression(kwargs, match):
    args = {"n_samples": 5, "n_features": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_transfer_regression(**args)


@pytest.mark.parametrize(
    "kwargs, match", [({"separation": -1.0}, "separation"), ({"shift": -0.1}, "shift")]
)
def test_bad_input_classification(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_transfer_classification(5, 5, **kwargs)


def test_exact_test_error_shape_check():
    _, _, truth = make_transfer_regression(5, 5, random_state=0)
    with pytest.raises(ValueError, match="coef"):
        exact_test_error(truth, np.ones(4))
