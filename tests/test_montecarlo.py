"""Proof by simulation: the real estimators against the exact asymptotic theory.

``WarmStartSGDRegressor`` / ``WarmStartSGDClassifier`` (``solver="exact"``,
``fit_intercept=False``) are fitted from the pretrained ``coef_init`` on data from
``skft.datasets`` with several feature distributions that share their first two moments,
isotropic and non-isotropic (also rotated) spectra, ``n/d`` from 0.2 to 2.5, ``alpha = 0``
and ``alpha > 0``. The realised test error of each fit is exact given the coefficients
(``skft.datasets.exact_test_error``). For each case the theory is evaluated on every
seed's own truth; the mean gap over the seeds must lie within ``Z`` standard errors of the
mean, the standard error estimated from the seeds themselves (Z = 4: a false alarm has
probability ~0.3% per case under a t-distribution with 9 degrees of freedom).

Run ``python tests/test_montecarlo.py`` to print the table and the worst relative gap
(``--slow`` for d = 2000).
"""

import sys

import numpy as np
import pytest

from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression
from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.theory import classification_error, regression_risk

# simulations: one BLAS thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_blas_thread")

Z = 4.0
N_SEEDS = 10
D = 400

# (task, spectrum, distribution, n/d, alpha, rotate): every n/d with alpha = 0 and > 0,
# distributions and spectra cycled so that each appears with several ratios.
CASES = [
    ("regression", "isotropic", "gaussian", 0.2, 0.0, False),
    ("regression", "bilevel", "rademacher", 0.2, 0.3, False),
    ("regression", "powerlaw", "chi2", 0.5, 0.0, True),
    ("regression", "isotropic", "uniform", 0.5, 0.1, False),
    ("regression", "bilevel", "student_t", 0.8, 0.0, False),
    ("regression", "powerlaw", "rademacher", 0.8, 0.05, False),
    ("regression", "bilevel", "chi2", 1.5, 0.0, True),
    ("regression", "isotropic", "laplace", 1.5, 0.2, False),
    ("regression", "powerlaw", "uniform", 2.5, 0.0, False),
    ("regression", "bilevel", "gaussian", 2.5, 0.5, False),
    ("classification", "bilevel", "gaussian", 0.2, 0.0, False),
    ("classification", "isotropic", "rademacher", 0.2, 0.2, False),
    ("classification", "powerlaw", "uniform", 0.5, 0.0, True),
    ("classification", "bilevel", "laplace", 0.5, 0.1, False),
    ("classification", "isotropic", "student_t", 0.8, 0.0, False),
    ("classification", "bilevel", "rademacher", 0.8, 0.05, True),
    ("classification", "powerlaw", "gaussian", 1.5, 0.0, False),
    ("classification", "isotropic", "uniform", 1.5, 0.3, False),
    ("classification", "bilevel", "student_t", 2.5, 0.0, False),
    ("classification", "powerlaw", "rademacher", 2.5, 0.1, False),
]


def simulate_seed(task, spectrum, distribution, ratio, alpha, rotate, seed, d=D):
    """One replicate: ``(realised, theory)`` test error of the estimator fitted on seed ``seed``."""
    n = int(round(ratio * d))
    if task == "regression":
        X, y, truth = make_transfer_regression(
            n,
            d,
            spectrum=spectrum,
            distribution=distribution,
            noise=0.5,
            shift=1.0,
            rotate=rotate,
            random_state=seed,
        )
        est = WarmStartSGDRegressor(
            coef_init=truth.coef_init, alpha=alpha, solver="exact", fit_intercept=False
        ).fit(X, y)
        pred = regression_risk(truth.covariance, truth.delta, truth.noise_var, n, alpha)
    else:
        X, y, truth = make_transfer_classification(
            n,
            d,
            spectrum=spectrum,
            distribution=distribution,
            separation=1.5,
            shift=1.0,
            rotate=rotate,
            random_state=seed,
        )
        est = WarmStartSGDClassifier(
            coef_init=truth.coef_init, alpha=alpha, solver="exact", fit_intercept=False
        ).fit(X, y)
        pred = classification_error(truth.covariance, truth.mean, truth.coef_init, n, alpha)
    return exact_test_error(truth, np.ravel(est.coef_)), float(pred.finetuned)


def summarise(realised, theory):
    """Mean realised and predicted errors, their gap and its standard error over the seeds."""
    realised, theory = np.asarray(realised), np.asarray(theory)
    gaps = realised - theory
    se = gaps.std(ddof=1) / np.sqrt(gaps.size)
    return {
        "realised": realised.mean(),
        "theory": theory.mean(),
        "gap": gaps.mean(),
        "se": se,
        "rel_gap": abs(gaps.mean()) / theory.mean(),
    }


def simulate(task, spectrum, distribution, ratio, alpha, rotate, d=D, n_seeds=N_SEEDS):
    """Fit the estimator on ``n_seeds`` independent problems; return gaps and theory."""
    case = (task, spectrum, distribution, ratio, alpha, rotate)
    pairs = [simulate_seed(*case, seed, d=d) for seed in range(n_seeds)]
    return summarise(*zip(*pairs, strict=True))


def _ids(case):
    return "-".join(str(c) for c in case)


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_estimator_matches_theory(case):
    res = simulate(*case)
    band = Z * res["se"] / res["theory"]
    print(f"{_ids(case)}: relative gap {res['rel_gap']:.4f} (band {band:.4f})")
    assert abs(res["gap"]) <= Z * res["se"], res


SLOW_CASES = [
    ("regression", "bilevel", "chi2", 0.5, 0.0, False),
    ("regression", "powerlaw", "rademacher", 1.5, 0.0, False),
    ("regression", "isotropic", "student_t", 2.5, 0.1, False),
    ("classification", "bilevel", "rademacher", 0.5, 0.0, False),
    ("classification", "powerlaw", "uniform", 1.5, 0.1, False),
    ("classification", "isotropic", "chi2", 2.5, 0.0, False),
]


@pytest.mark.slow
@pytest.mark.parametrize("case", SLOW_CASES, ids=_ids)
def test_estimator_matches_theory_large_d(case):
    res = simulate(*case, d=2000, n_seeds=5)
    assert abs(res["gap"]) <= 5.6 * res["se"], res  # t with 4 dof: P(|t| > 5.6) ~ 0.5%


def main(argv):  # pragma: no cover - reporting script
    slow = "--slow" in argv
    cases, d, seeds = (SLOW_CASES, 2000, 5) if slow else (CASES, D, N_SEEDS)
    worst = 0.0
    print(f"d = {d}, {seeds} seeds per case")
    from skft.utils._progress import progress_bar

    bar = progress_bar(len(cases), "cases", enable="--no-progress" not in argv)
    for case in cases:
        res = simulate(*case, d=d, n_seeds=seeds)
        bar.update()
        worst = max(worst, res["rel_gap"])
        print(
            f"{_ids(case):55s} theory {res['theory']:.4f} sim {res['realised']:.4f} "
            f"rel gap {res['rel_gap']:.4f} gap/se {abs(res['gap']) / res['se']:.2f}"
        )
    bar.close()
    print(f"worst relative gap: {worst:.4f}")


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
