"""Theory vs simulation for every loss: the exact minimiser's realised test error.

For each case, ``N_SEEDS`` independent problems are drawn (features ``mu_y + Sigma^{1/2} z``
with ``z`` i.i.d. from a law of :data:`skft.datasets.DISTRIBUTIONS`; regression labels with a
named noise law), fine-tuned from the start by an accurate convex solver (``_accurate_solvers``:
L-BFGS on the smooth losses, an exact active-set polish for hinge and epsilon-insensitive,
linear programming at ``alpha = 0``, NNLS for the max-margin direction), and the realised test
error of the coefficients is computed exactly given them (regression: ``(w - w*)' Sigma
(w - w*) + E(eps - b)^2``; classification: ``sum_c pi_c Phi(-y_c s_c / sqrt(q))``, exact for
Gaussian features and their central-limit value otherwise; multiclass: the Gaussian orthant
probabilities of the argmax, by scipy's Genz algorithm). The theory is evaluated on each seed's
own truth; the mean gap over the seeds must lie within ``Z = 4`` standard errors of the mean,
the standard error estimated from the seeds (a false alarm has probability ~0.5% per case
under a t-distribution with 7 degrees of freedom). The estimators themselves
(``solver="exact"``) are checked the same way on a case per loss.

``python tests/theory/test_theory_losses_simulation.py`` prints the table with the relative
gaps (``--slow`` adds the heavy cases, d up to 2000; ``--sgd`` compares the estimators' SGD
with its defaults to the accurate minimiser and the theory).
"""

import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.special import ndtr
from scipy.stats import multivariate_normal

sys.path.insert(0, str(Path(__file__).parent))
from _accurate_solvers import fit_classifier, fit_regressor, max_margin  # noqa: E402

from skft.datasets import DISTRIBUTIONS, make_spectrum  # noqa: E402
from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor  # noqa: E402
from skft.theory import (  # noqa: E402
    convex_classification_error,
    multiclass_error,
    noise_law,
    robust_regression_risk,
)

# simulations: one BLAS thread (tests/conftest.py)
pytestmark = pytest.mark.usefixtures("one_blas_thread")

Z = 4.0
N_SEEDS = 8


def _covariance(rng, d, spectrum, rotate):
    lam = make_spectrum(d, spectrum)
    if not rotate:
        return lam, np.sqrt(lam), lam
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q *= np.sign(np.diag(r))
    cov = (q * lam) @ q.T
    return (cov + cov.T) / 2, (q * np.sqrt(lam)) @ q.T, lam


def _draw_features(rng, n, d, law, root):
    z = DISTRIBUTIONS[law](rng, (n, d))
    return z * root if root.ndim == 1 else z @ root


def _quad(cov, v):
    return float(v @ (cov * v)) if cov.ndim == 1 else float(v @ cov @ v)


def _band(gaps, theory):
    gaps = np.asarray(gaps)
    se = gaps.std(ddof=1) / np.sqrt(gaps.size)
    return dict(gap=gaps.mean(), se=se, rel=gaps.mean() / np.mean(theory),
                theory=float(np.mean(theory)), realised=float(np.mean(theory) + gaps.mean()))


# ----------------------------------------------------------------------------- classification
def simulate_binary(loss, spectrum, law, ratio, alpha, *, intercept=False, priors=(0.5, 0.5),
                    symmetric=True, rotate=False, separation=1.2, d=250, n_seeds=N_SEEDS,
                    estimator=False):
    n = int(round(ratio * d))
    priors = np.asarray(priors)
    gaps, theory = [], []
    for seed in range(n_seeds):
        rng = np.random.default_rng(1000 + seed)
        cov, root, lam = _covariance(rng, d, spectrum, rotate)
        cov_inv = np.linalg.pinv(cov) if cov.ndim == 2 else 1.0 / cov
        mu = rng.standard_normal(d)
        mu *= separation / np.sqrt(_quad(cov_inv, mu))
        if symmetric:
            means = np.stack([-mu, mu])
        else:
            nu = rng.standard_normal(d)
            nu *= 0.7 * separation / np.sqrt(_quad(cov_inv, nu))
            means = np.stack([nu + 0.2 * mu, mu + 0.3 * nu])
        w0 = 0.5 * mu / (mu @ mu) + 0.8 * rng.standard_normal(d) / np.sqrt(d)
        b0 = 0.1
        y = np.where(rng.random(n) < priors[1], 1.0, -1.0)
        X = means[(y > 0).astype(int)] + _draw_features(rng, n, d, law, root)
        if loss == "max_margin":
            w, b = max_margin(X, y, fit_intercept=intercept)
        elif estimator:  # the estimator itself, its deterministic solver
            est = WarmStartSGDClassifier(w0, b0, loss=loss, alpha=alpha, solver="exact",
                                         fit_intercept=intercept).fit(X, y)
            w, b = est.coef_[0], est.intercept_[0]
        else:
            w, b = fit_classifier(X, y, w0, alpha, loss, fit_intercept=intercept, b0=b0)[:2]
        q = _quad(cov, w)
        s = means @ w + b
        realised = priors[0] * ndtr(s[0] / np.sqrt(q)) + priors[1] * ndtr(-s[1] / np.sqrt(q))
        pred = convex_classification_error(
            cov, means, w0, n, alpha, loss="log_loss" if loss == "max_margin" else loss,
            priors=priors, fit_intercept=intercept, intercept_init=b0)
        if loss == "max_margin":
            assert pred.regime == "max-margin"
        gaps.append(realised - pred.finetuned)
        theory.append(pred.finetuned)
    return _band(gaps, theory)


BINARY = [
    # loss, spectrum, feature law, n/d, alpha, options
    ("log_loss", "isotropic", "gaussian", 0.5, 0.05, {}),
    ("log_loss", "bilevel", "rademacher", 1.5, 0.02, dict(intercept=True, priors=(0.3, 0.7))),
    ("hinge", "powerlaw", "uniform", 1.0, 0.05, dict(intercept=True, symmetric=False)),
    ("hinge", "bilevel", "laplace", 0.5, 0.1, dict(rotate=True)),
    ("modified_huber", "isotropic", "student_t", 2.0, 0.05,
     dict(intercept=True, priors=(0.4, 0.6))),
    ("modified_huber", "powerlaw", "gaussian", 0.7, 0.2, {}),
    ("squared_error", "bilevel", "chi2", 0.8, 0.05,
     dict(intercept=True, priors=(0.3, 0.7), symmetric=False)),
    ("max_margin", "bilevel", "gaussian", 1.0, 0.0, dict(intercept=True)),
    ("max_margin", "isotropic", "rademacher", 0.6, 0.0, {}),
    ("log_loss", "isotropic", "gaussian", 6.0, 0.0, dict(separation=0.8, intercept=True)),
]
BINARY_SLOW = [
    ("hinge", "isotropic", "gaussian", 6.0, 0.0, dict(separation=0.8, d=200)),
    ("modified_huber", "bilevel", "uniform", 6.0, 0.0, dict(separation=0.8, d=200)),
    ("log_loss", "bilevel", "rademacher", 0.5, 0.01, dict(d=2000, intercept=True)),
    ("hinge", "powerlaw", "laplace", 1.5, 0.02, dict(d=1000, symmetric=False, intercept=True)),
    ("modified_huber", "isotropic", "gaussian", 1.0, 0.05, dict(d=1000, priors=(0.2, 0.8))),
    ("max_margin", "bilevel", "uniform", 1.5, 0.0, dict(d=1000, intercept=True)),
]


@pytest.mark.parametrize("loss, spectrum, law, ratio, alpha, opts", BINARY)
def test_binary_theory_matches_simulation(loss, spectrum, law, ratio, alpha, opts):
    res = simulate_binary(loss, spectrum, law, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


@pytest.mark.slow
@pytest.mark.parametrize("loss, spectrum, law, ratio, alpha, opts", BINARY_SLOW)
def test_binary_theory_matches_simulation_slow(loss, spectrum, law, ratio, alpha, opts):
    res = simulate_binary(loss, spectrum, law, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


# ----------------------------------------------------------------------------- regression
def simulate_regression(loss, spectrum, law, noise, ratio, alpha, *, epsilon=0.3,
                        intercept=False, rotate=False, noise_sd=0.5, d=250, n_seeds=N_SEEDS,
                        estimator=False):
    n = int(round(ratio * d))
    nl = noise_law(noise, noise_sd**2)
    gaps, theory = [], []
    for seed in range(n_seeds):
        rng = np.random.default_rng(2000 + seed)
        cov, root, lam = _covariance(rng, d, spectrum, rotate)
        w_star = rng.standard_normal(d) / np.sqrt(d)
        delta = 0.8 * rng.standard_normal(d) / np.sqrt(d)
        b_star, b0 = 0.3, 0.0
        X = _draw_features(rng, n, d, law, root)
        y = X @ w_star + b_star + noise_sd * DISTRIBUTIONS[noise](rng, n)
        if estimator:
            est = WarmStartSGDRegressor(w_star + delta, b0, loss=loss, epsilon=epsilon,
                                        alpha=alpha, solver="exact",
                                        fit_intercept=intercept).fit(X, y)
            w, b = est.coef_, est.intercept_[0]
        else:
            w, b = fit_regressor(X, y, w_star + delta, alpha, loss, epsilon=epsilon,
                                 fit_intercept=intercept, b0=b0)[:2]
        realised = _quad(cov, w - w_star) + nl.variance + (b - b_star - nl.mean) ** 2
        pred = robust_regression_risk(cov, delta, noise_sd**2, n, alpha, loss=loss,
                                      epsilon=epsilon, noise=noise, fit_intercept=intercept,
                                      intercept_offset=b0 - b_star)
        gaps.append(realised - pred.finetuned)
        theory.append(pred.finetuned)
    return _band(gaps, theory)


REGRESSION = [
    # loss, spectrum, feature law, noise law, n/d, alpha, options
    ("huber", "bilevel", "gaussian", "gaussian", 0.5, 0.05, {}),
    ("huber", "powerlaw", "rademacher", "laplace", 2.0, 0.02, dict(intercept=True)),
    ("huber", "isotropic", "uniform", "student_t", 2.0, 0.0, dict(intercept=True)),
    ("huber", "bilevel", "gaussian", "chi2", 0.5, 0.0, dict(intercept=True)),
    ("epsilon_insensitive", "isotropic", "laplace", "chi2", 1.0, 0.05, dict(intercept=True)),
    ("epsilon_insensitive", "bilevel", "gaussian", "uniform", 0.5, 0.1, dict(rotate=True)),
    ("epsilon_insensitive", "powerlaw", "student_t", "rademacher", 1.5, 0.02,
     dict(epsilon=0.6)),
]
REGRESSION_SLOW = [
    ("epsilon_insensitive", "isotropic", "gaussian", "gaussian", 3.0, 0.0,
     dict(epsilon=0.2, d=150)),
    ("huber", "bilevel", "chi2", "laplace", 0.5, 0.01, dict(d=2000, intercept=True)),
    # Student t noise (5 degrees of freedom): heavy-tailed gaps, whose standard error 8 seeds
    # underestimate (measured -4.4 SE on 8 seeds, 0.0 SE on 24 others): 24 seeds
    ("epsilon_insensitive", "powerlaw", "uniform", "student_t", 1.0, 0.05,
     dict(d=1000, n_seeds=24)),
]


@pytest.mark.parametrize("loss, spectrum, law, noise, ratio, alpha, opts", REGRESSION)
def test_regression_theory_matches_simulation(loss, spectrum, law, noise, ratio, alpha, opts):
    res = simulate_regression(loss, spectrum, law, noise, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


@pytest.mark.slow
@pytest.mark.parametrize("loss, spectrum, law, noise, ratio, alpha, opts", REGRESSION_SLOW)
def test_regression_theory_matches_simulation_slow(loss, spectrum, law, noise, ratio, alpha,
                                                   opts):
    res = simulate_regression(loss, spectrum, law, noise, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


# ----------------------------------------------------------------------------- multiclass
def realised_argmax_error(means, W, b, cov, priors):
    """Exact argmax error of fixed scores for Gaussian features (scipy's Genz algorithm)."""
    K = len(priors)
    Q = np.array([[_quad_pair(cov, W[j], W[k]) for k in range(K)] for j in range(K)])
    err = 0.0
    for c in range(K):
        A = np.delete(np.eye(K), c, axis=0) * -1.0
        A[:, c] = 1.0
        m = A @ (means[c] @ W.T + b)
        C = A @ Q @ A.T
        p = multivariate_normal.cdf(m, mean=np.zeros(K - 1), cov=C, abseps=1e-7,
                                    rng=np.random.default_rng(0))
        err += priors[c] * (1.0 - p)
    return err


def _quad_pair(cov, a, b):
    return float(a @ (cov * b)) if cov.ndim == 1 else float(a @ cov @ b)


def simulate_multiclass(loss, K, spectrum, law, ratio, alpha, *, intercept=False, priors=None,
                        separation=2.0, d=300, n_seeds=N_SEEDS, estimator=False):
    n = int(round(ratio * d))
    priors = np.full(K, 1.0 / K) if priors is None else np.asarray(priors)
    gaps, theory = [], []
    for seed in range(n_seeds):
        rng = np.random.default_rng(3000 + seed)
        cov, root, lam = _covariance(rng, d, spectrum, False)
        means = rng.standard_normal((K, d))
        means *= separation / np.sqrt((means**2 / lam).sum(axis=1))[:, None]
        W0 = 0.5 * means / np.sum(means**2, axis=1)[:, None] + 0.5 * rng.standard_normal(
            (K, d)) / np.sqrt(d)
        b0 = np.zeros(K)
        cls = rng.choice(K, n, p=priors)
        X = means[cls] + _draw_features(rng, n, d, law, root)
        W, b = np.empty((K, d)), np.empty(K)
        if estimator:
            est = WarmStartSGDClassifier(W0, b0, loss=loss, alpha=alpha, solver="exact",
                                         fit_intercept=intercept).fit(X, cls)
            W, b = est.coef_, est.intercept_
        for j in range(K if not estimator else 0):
            y = np.where(cls == j, 1.0, -1.0)
            if loss == "max_margin":
                W[j], b[j] = max_margin(X, y, fit_intercept=intercept)
            else:
                W[j], b[j] = fit_classifier(X, y, W0[j], alpha, loss, fit_intercept=intercept,
                                            b0=b0[j])[:2]
        realised = realised_argmax_error(means, W, b, cov, priors)
        pred = multiclass_error(cov, means, W0, n, alpha,
                                loss="log_loss" if loss == "max_margin" else loss, priors=priors,
                                fit_intercept=intercept, intercept_init=b0)
        gaps.append(realised - pred.finetuned)
        theory.append(pred.finetuned)
    return _band(gaps, theory)


MULTICLASS = [
    ("squared_error", 3, "bilevel", "gaussian", 1.0, 0.05,
     dict(intercept=True, priors=(0.2, 0.3, 0.5))),
    ("log_loss", 3, "isotropic", "rademacher", 1.0, 0.05, dict(intercept=True)),
    ("hinge", 3, "powerlaw", "uniform", 1.0, 0.05, dict(d=250)),
    ("modified_huber", 3, "bilevel", "gaussian", 1.0, 0.1, dict(intercept=True)),
    ("max_margin", 3, "isotropic", "gaussian", 1.0, 0.0, dict(intercept=True)),
]
MULTICLASS_SLOW = [
    ("modified_huber", 4, "bilevel", "gaussian", 1.0, 0.1, dict(intercept=True, d=1000)),
    ("hinge", 3, "bilevel", "rademacher", 1.33, 0.02, dict(d=1000)),
    ("log_loss", 5, "powerlaw", "laplace", 1.0, 0.05,
     dict(d=1000, priors=(0.1, 0.15, 0.2, 0.25, 0.3))),
    ("squared_error", 4, "isotropic", "uniform", 0.5, 0.0, dict(d=2000)),
]


@pytest.mark.parametrize("loss, K, spectrum, law, ratio, alpha, opts", MULTICLASS)
def test_multiclass_theory_matches_simulation(loss, K, spectrum, law, ratio, alpha, opts):
    res = simulate_multiclass(loss, K, spectrum, law, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


@pytest.mark.slow
@pytest.mark.parametrize("loss, K, spectrum, law, ratio, alpha, opts", MULTICLASS_SLOW)
def test_multiclass_theory_matches_simulation_slow(loss, K, spectrum, law, ratio, alpha, opts):
    res = simulate_multiclass(loss, K, spectrum, law, ratio, alpha, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


# ----------------------------------------------------------------------------- the estimators
ESTIMATOR = [
    ("binary", ("log_loss", "bilevel", "uniform", 1.0, 0.05), dict(intercept=True,
                                                                    priors=(0.35, 0.65))),
    ("binary", ("hinge", "isotropic", "rademacher", 0.6, 0.1), {}),
    ("binary", ("modified_huber", "powerlaw", "laplace", 1.5, 0.05), dict(intercept=True)),
    ("regression", ("huber", "bilevel", "student_t", "laplace", 1.0, 0.05),
     dict(intercept=True)),
    ("regression", ("epsilon_insensitive", "isotropic", "gaussian", "student_t", 0.6, 0.1), {}),
    ("multiclass", ("log_loss", 3, "bilevel", "gaussian", 1.0, 0.05), dict(intercept=True)),
]


@pytest.mark.parametrize("kind, args, opts", ESTIMATOR)
def test_estimators_exact_solver_matches_the_theory(kind, args, opts):
    # the estimators' deterministic solver (solver="exact") reaches the minimiser the theory
    # describes: their realised error against the theory, as above
    simulate = dict(binary=simulate_binary, regression=simulate_regression,
                    multiclass=simulate_multiclass)[kind]
    res = simulate(*args, estimator=True, n_seeds=6, **opts)
    assert abs(res["gap"]) <= Z * res["se"], res


# ----------------------------------------------------------------------------- report
def _table(slow):
    rows = []
    for case in BINARY + (BINARY_SLOW if slow else []):
        loss, spectrum, law, ratio, alpha, opts = case
        rows.append((loss, f"binary {spectrum}/{law} n/d={ratio} a={alpha} {opts}",
                     simulate_binary(*case[:5], **opts)))
    for case in REGRESSION + (REGRESSION_SLOW if slow else []):
        loss, spectrum, law, noise, ratio, alpha, opts = case
        rows.append((loss, f"regression {spectrum}/{law}/{noise} n/d={ratio} a={alpha} {opts}",
                     simulate_regression(*case[:6], **opts)))
    for case in MULTICLASS + (MULTICLASS_SLOW if slow else []):
        loss, K, spectrum, law, ratio, alpha, opts = case
        rows.append((f"{loss} (argmax K={K})", f"{spectrum}/{law} n/d={ratio} a={alpha} {opts}",
                     simulate_multiclass(*case[:6], **opts)))
    worst = {}
    for loss, label, r in rows:
        print(f"{loss:32s} theory {r['theory']:.4f} sim {r['realised']:.4f} "
              f"gap {100 * r['rel']:+.2f}% ({r['gap'] / r['se']:+.1f} SE)  {label}", flush=True)
        worst[loss] = max(worst.get(loss, 0.0), abs(r["rel"]))
    print("\nworst relative gap per loss:")
    for loss, g in worst.items():
        print(f"  {loss:32s} {100 * g:.2f}%")


def _sgd_report():
    """The estimators' SGD with its defaults vs the accurate minimiser and the theory."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor

    d, n = 300, 300
    for loss, alpha in [("log_loss", 0.05), ("hinge", 0.05), ("modified_huber", 0.05),
                        ("log_loss", 0.005), ("hinge", 0.005)]:
        rng = np.random.default_rng(7)
        lam = make_spectrum(d, "bilevel")
        mu = rng.standard_normal(d)
        mu *= 1.2 / np.sqrt(np.sum(mu**2 / lam))
        w0 = 0.5 * mu / (mu @ mu) + 0.8 * rng.standard_normal(d) / np.sqrt(d)
        y = rng.choice([-1.0, 1.0], n)
        X = y[:, None] * mu + rng.standard_normal((n, d)) * np.sqrt(lam)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est = WarmStartSGDClassifier(w0, 0.0, alpha=alpha, loss=loss, random_state=0).fit(X, y)
        t_sgd = time.perf_counter() - t0
        w_acc, b_acc = fit_classifier(X, y, w0, alpha, loss, fit_intercept=True, b0=0.0)[:2]

        def err(w, b, lam=lam, mu=mu):
            q = float(w @ (lam * w))
            return 0.5 * ndtr(-(mu @ w + b) / np.sqrt(q)) + 0.5 * ndtr((-mu @ w + b) / np.sqrt(q))

        pred = convex_classification_error(lam, mu, w0, n, alpha, loss=loss, fit_intercept=True)
        dist = np.linalg.norm(est.coef_.ravel() - w_acc) / np.linalg.norm(w_acc - w0)
        e_sgd = err(est.coef_.ravel(), est.intercept_[0])
        print(f"{loss:15s} alpha={alpha:<6} SGD error {e_sgd:.4f}"
              f" exact {err(w_acc, b_acc):.4f} theory {pred.finetuned:.4f}  ||w_sgd - w_exact|| / "
              f"||w_exact - w0|| = {dist:.3f}  epochs {est.n_iter_} {t_sgd:.1f}s"
              f"{'  ConvergenceWarning' if caught else ''}", flush=True)
    for loss, eps in [("huber", 0.3), ("epsilon_insensitive", 0.3)]:
        rng = np.random.default_rng(8)
        lam = make_spectrum(d, "bilevel")
        w_star = rng.standard_normal(d) / np.sqrt(d)
        delta = 0.8 * rng.standard_normal(d) / np.sqrt(d)
        X = rng.standard_normal((n, d)) * np.sqrt(lam)
        y = X @ w_star + 0.5 * rng.standard_normal(n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            est = WarmStartSGDRegressor(w_star + delta, 0.0, alpha=0.05, loss=loss, epsilon=eps,
                                        random_state=0).fit(X, y)
        w_acc, b_acc = fit_regressor(X, y, w_star + delta, 0.05, loss, epsilon=eps,
                                     fit_intercept=True)[:2]

        def mse(w, b, lam=lam, w_star=w_star):
            return float((w - w_star) @ (lam * (w - w_star))) + 0.25 + b * b

        pred = robust_regression_risk(lam, delta, 0.25, n, 0.05, loss=loss, epsilon=eps,
                                      fit_intercept=True)
        dist = np.linalg.norm(est.coef_ - w_acc) / np.linalg.norm(w_acc - w_star - delta)
        print(f"{loss:20s} alpha=0.05 SGD MSE {mse(est.coef_, est.intercept_[0]):.4f} exact "
              f"{mse(w_acc, b_acc):.4f} theory {pred.finetuned:.4f}  rel. distance {dist:.3f} "
              f"epochs {est.n_iter_}{'  ConvergenceWarning' if caught else ''}", flush=True)


if __name__ == "__main__":
    if "--sgd" in sys.argv:
        _sgd_report()
    else:
        _table("--slow" in sys.argv)
