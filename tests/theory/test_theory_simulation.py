"""Theory vs Monte-Carlo of the NumPy closed-form fine-tuned solution.

The fine-tuned coefficients are ``w0 + X'(X X' + n alpha I)^{-1} (y - X w0)`` (n < d) or
``w0 + (X'X + n alpha I)^{-1} X'(y - X w0)`` (n > d), no intercept; the realised test error
is exact given ``w`` (``skft.datasets.exact_test_error``). For every seed the theory is
evaluated on that seed's truth; the mean gap over seeds must lie within 4 standard errors
of the mean (the standard error estimated from the seeds themselves). The real estimators
are checked the same way in ``tests/test_montecarlo.py``.
"""

import numpy as np
import pytest

from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression
from skft.theory import classification_error, regression_risk

# simulations: one BLAS thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_blas_thread")

D = 300
N_SEEDS = 10


def _finetune(X, y, w0, alpha):
    n, d = X.shape
    r = y - X @ w0
    if n < d:  # Gram matrix on the small side
        return w0 + X.T @ np.linalg.solve(X @ X.T + n * alpha * np.eye(n), r)
    return w0 + np.linalg.solve(X.T @ X + n * alpha * np.eye(d), X.T @ r)


def _gap_in_band(gaps):
    gaps = np.asarray(gaps)
    se = gaps.std(ddof=1) / np.sqrt(gaps.size)
    return abs(gaps.mean()), se


REG_CASES = [
    # (spectrum, distribution, n/d, alpha, rotate)
    ("isotropic", "gaussian", 0.2, 0.0, False),
    ("isotropic", "rademacher", 0.5, 0.0, False),
    ("bilevel", "chi2", 0.5, 0.0, False),
    ("bilevel", "uniform", 2.5, 0.0, False),
    ("powerlaw", "student_t", 0.5, 0.1, False),
    ("powerlaw", "gaussian", 1.5, 0.0, True),
    ("bilevel", "rademacher", 1.5, 0.05, True),
    ("isotropic", "laplace", 2.5, 0.5, False),
]


@pytest.mark.parametrize("spectrum, distribution, ratio, alpha, rotate", REG_CASES)
def test_regression_theory_matches_simulation(spectrum, distribution, ratio, alpha, rotate):
    n = int(ratio * D)
    gaps, theory = [], []
    for seed in range(N_SEEDS):
        X, y, truth = make_transfer_regression(
            n,
            D,
            spectrum=spectrum,
            distribution=distribution,
            noise=0.5,
            shift=1.0,
            rotate=rotate,
            random_state=seed,
        )
        w = _finetune(X, y, truth.coef_init, alpha)
        pred = regression_risk(truth.covariance, truth.delta, truth.noise_var, n, alpha)
        gaps.append(exact_test_error(truth, w) - pred.finetuned)
        theory.append(pred.finetuned)
    gap, se = _gap_in_band(gaps)
    assert gap <= 4 * se, (gap, se, np.mean(theory))


CLF_CASES = [
    ("isotropic", "gaussian", 0.2, 0.0),
    ("bilevel", "rademacher", 0.5, 0.0),
    ("bilevel", "uniform", 0.5, 0.2),
    ("powerlaw", "laplace", 1.5, 0.0),
    ("isotropic", "student_t", 2.5, 0.0),
    ("bilevel", "gaussian", 2.5, 0.1),
]


@pytest.mark.parametrize("spectrum, distribution, ratio, alpha", CLF_CASES)
def test_classification_theory_matches_simulation(spectrum, distribution, ratio, alpha):
    n = int(ratio * D)
    gaps = []
    for seed in range(N_SEEDS):
        X, y, truth = make_transfer_classification(
            n,
            D,
            spectrum=spectrum,
            distribution=distribution,
            separation=1.5,
            shift=1.0,
            random_state=100 + seed,
        )
        w = _finetune(X, y.astype(float), truth.coef_init, alpha)
        pred = classification_error(truth.covariance, truth.mean, truth.coef_init, n, alpha)
        gaps.append(exact_test_error(truth, w) - pred.finetuned)
    gap, se = _gap_in_band(gaps)
    assert gap <= 4 * se, (gap, se)


def test_exact_error_matches_a_large_test_set():
    # the exact error used above agrees with an empirical test set (non-Gaussian features)
    X, y, truth = make_transfer_regression(
        150, D, spectrum="bilevel", distribution="chi2", n_test=20000, random_state=0
    )
    w = _finetune(X, y, truth.coef_init, 0.0)
    sq = (truth.y_test - truth.X_test @ w) ** 2
    assert abs(sq.mean() - exact_test_error(truth, w)) <= 4 * sq.std() / np.sqrt(sq.size)
    X, y, truth = make_transfer_classification(
        150, D, spectrum="bilevel", distribution="rademacher", n_test=20000, random_state=0
    )
    w = _finetune(X, y.astype(float), truth.coef_init, 0.0)
    miss = (np.sign(truth.X_test @ w) != truth.y_test).astype(float)
    p = exact_test_error(truth, w)
    assert abs(miss.mean() - p) <= 4 * np.sqrt(p * (1 - p) / miss.size)
