"""The theory of other losses: its ingredients, limits, thresholds and errors.

Independent routes: the proximal averages against a brute-force proximal map (scipy's scalar
minimiser, finite differences) integrated on a fine grid; the squared loss through the general
equations against the closed forms of ``regression_risk`` / ``classification_error``;
``alpha -> inf`` against the start; the separability threshold against linear-programming
feasibility of simulated data and Cover's ``2d``; the noise laws against scipy's distributions.
Theory against simulation is in ``test_theory_losses_simulation.py``.
"""

import numpy as np
import pytest
from scipy import stats
from scipy.integrate import quad
from scipy.optimize import linprog

from skft.datasets import make_spectrum
from skft.theory import (
    classification_error,
    convex_classification_error,
    multiclass_error,
    noise_law,
    regression_risk,
    robust_regression_risk,
    separability_threshold,
)
from skft.theory._proximal import get_channel

MARGIN = {
    "squared_error": lambda z: 0.5 * (1 - z) ** 2,
    "hinge": lambda z: np.maximum(0.0, 1 - z),
    "modified_huber": lambda z: np.where(z >= -1, np.maximum(0.0, 1 - z) ** 2, -4 * z),
    "log_loss": lambda z: np.logaddexp(0.0, -z),
}
E = 0.4
RESIDUAL = {
    "squared_error": lambda r: 0.5 * r * r,
    "huber": lambda r: np.where(np.abs(r) <= E, 0.5 * r * r, E * np.abs(r) - 0.5 * E * E),
    "epsilon_insensitive": lambda r: np.maximum(0.0, np.abs(r) - E),
}


def _brute_prox(loss, P, V, iters=120):
    """``argmin_p loss(p) + (p - P)^2 / (2 V)`` by golden-section search (vectorised; the
    objective is convex, the minimiser within ``P +- (4 V + 2)``, losses' slopes <= 4)."""
    lo, hi = P - 4 * V - 2.0, P + 4 * V + 2.0
    r = (np.sqrt(5.0) - 1.0) / 2.0

    def obj(p):
        return loss(p) + (p - P) ** 2 / (2 * V)

    c, d = hi - r * (hi - lo), lo + r * (hi - lo)
    fc, fd = obj(c), obj(d)
    for _ in range(iters):
        left = fc < fd
        hi = np.where(left, d, hi)
        lo = np.where(left, lo, c)
        c_new = np.where(left, hi - r * (hi - lo), d)
        d_new = np.where(left, c, lo + r * (hi - lo))
        fc_new = np.where(left, obj(c_new), fd)
        fd_new = np.where(left, fc, obj(d_new))
        c, d, fc, fd = c_new, d_new, fc_new, fd_new
    return 0.5 * (lo + hi)


def _brute_averages(loss, a, s, V, kinks=()):
    """``E[(p - P)/V], E[((p - P)/V)^2], E[1 - dp/dP]`` for ``P ~ N(a, s^2)``, brute force:
    the proximal map by golden-section search (to ~1e-8), its derivative by central
    differences, the
    Gaussian integral by 20-point Gauss-Legendre on panels of width ``s / 8`` split at the
    kinks of the proximal map."""
    lo, hi = a - 10 * s, a + 10 * s
    edges = np.unique(np.concatenate([np.linspace(lo, hi, 161),
                                      [k for k in kinks if lo < k < hi]]))
    t, wt = np.polynomial.legendre.leggauss(20)
    half = 0.5 * np.diff(edges)[:, None]
    P = ((0.5 * (edges[1:] + edges[:-1]))[:, None] + half * t).ravel()
    w = (half * wt).ravel() * np.exp(-0.5 * ((P - a) / s) ** 2) / (s * np.sqrt(2 * np.pi))
    h = 1e-6
    p, p_up, p_dn = (_brute_prox(loss, P + e, V) for e in (0.0, h, -h))
    f = (p - P) / V
    return w @ f, w @ f**2, w @ (1.0 - (p_up - p_dn) / (2 * h))


MARGIN_KINKS = {"squared_error": lambda V: (), "log_loss": lambda V: (),
                "hinge": lambda V: (1.0, 1.0 - V), "modified_huber": lambda V: (1.0, -1 - 4 * V)}
RESIDUAL_KINKS = {"squared_error": lambda V: (), "huber": lambda V: (E * (1 + V), -E * (1 + V)),
                  "epsilon_insensitive": lambda V: (E, -E, E + V, -E - V)}


@pytest.mark.parametrize("loss", sorted(MARGIN))
@pytest.mark.parametrize("a, s, V", [(0.7, 1.3, 0.8), (-0.5, 0.6, 2.5), (2.0, 3.0, 0.1)])
def test_margin_channel_matches_brute_force(loss, a, s, V):
    got = get_channel(loss, "classification").moments(np.array([a]), np.array([s]), V)
    ref = _brute_averages(MARGIN[loss], a, s, V, MARGIN_KINKS[loss](V))
    np.testing.assert_allclose([g[0] for g in got[:2]], ref[:2], rtol=1e-6, atol=1e-9)
    # the curvature share from central differences of a numerical argmin: ~1e-4 accurate
    np.testing.assert_allclose(got[2][0], ref[2], atol=5e-4)


@pytest.mark.parametrize("loss", sorted(RESIDUAL))
@pytest.mark.parametrize("a, s, V", [(0.3, 1.1, 0.7), (-0.2, 0.5, 2.0), (1.0, 0.2, 0.05)])
def test_residual_channel_matches_brute_force(loss, a, s, V):
    got = get_channel(loss, "regression", E).moments(np.array([a]), np.array([s]), V)
    ref = _brute_averages(RESIDUAL[loss], a, s, V, RESIDUAL_KINKS[loss](V))
    np.testing.assert_allclose([g[0] for g in got[:2]], ref[:2], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(got[2][0], ref[2], atol=5e-4)


def test_logistic_channel_is_accurate_for_wide_gaussians():
    # Gauss-Hermite alone is off by ~1e-4 here (s much larger than the logistic's scale)
    ch = get_channel("log_loss", "classification")
    for a, s, V in [(0.0, 17.7, 45.7), (0.0, 300.0, 1e4), (3.0, 1e-3, 1e-6)]:
        x = np.linspace(-12, 12, 200_001)
        w = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi) * (x[1] - x[0])
        z = ch.prox(a + s * x, V)
        g = 1 / (1 + np.exp(np.minimum(z, 700)))
        d = V * g * (1 - g) / (1 + V * g * (1 - g))
        got = ch.moments(np.array([a]), np.array([s]), V)
        np.testing.assert_allclose([v[0] for v in got], [w @ g, w @ g**2, w @ d], atol=1e-9)


# ----------------------------------------------------------------------------- squared loss
def _problem(d, spectrum, seed):
    rng = np.random.default_rng(seed)
    lam = make_spectrum(d, spectrum)
    mu = rng.standard_normal(d)
    mu *= 1.3 / np.sqrt(np.sum(mu**2 / lam))
    w0 = 0.4 * rng.standard_normal(d) / np.sqrt(d) + 0.3 * mu / (mu @ mu)
    delta = rng.standard_normal(d) / np.sqrt(d)
    return lam, mu, w0, delta


@pytest.mark.parametrize("spectrum", ["isotropic", "bilevel", "powerlaw"])
def test_squared_loss_reproduces_the_closed_forms(spectrum):
    lam, mu, w0, delta = _problem(300, spectrum, 0)
    n = np.array([60.0, 150.0, 280.0, 320.0, 900.0, 150.0, 900.0, 600.0])
    a = np.array([0.0, 0.0, 0.0, 0.0, 0.0, 0.3, 0.01, 2.0])
    ref = classification_error(lam, mu, w0, n, a)
    got = convex_classification_error(lam, mu, w0, n, a, loss="squared_error")
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-8)
    np.testing.assert_allclose(got.mean_score[:, 1], ref.t, rtol=1e-8)
    np.testing.assert_allclose(got.score_var, ref.q, rtol=1e-8)
    np.testing.assert_allclose(got.kappa, ref.kappa, rtol=1e-8, atol=1e-12)
    assert got.pretrained == pytest.approx(ref.pretrained, rel=1e-12)
    ref = regression_risk(lam, delta, 0.3, n, a)
    got = robust_regression_risk(lam, delta, 0.3, n, a, loss="squared_error")
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-8)
    assert got.pretrained == pytest.approx(ref.pretrained, rel=1e-12)


def test_huber_below_the_rank_at_alpha_zero_is_the_closest_interpolator():
    # its zero set is {0}, as for the squared loss: the SGD limits coincide
    lam, _, _, delta = _problem(200, "bilevel", 1)
    n = np.array([50.0, 120.0, 190.0])
    ref = regression_risk(lam, delta, 0.25, n, 0.0)
    got = robust_regression_risk(lam, delta, 0.25, n, 0.0, loss="huber", epsilon=0.2,
                                 noise="laplace")
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-8)
    assert set(got.regime) == {"closest-interpolator"}


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber", "squared_error"])
@pytest.mark.parametrize("intercept", [False, True])
def test_large_alpha_keeps_the_start(loss, intercept):
    lam, mu, w0, _ = _problem(200, "powerlaw", 2)
    res = convex_classification_error(lam, mu, w0, 100, 1e7, loss=loss,
                                      fit_intercept=intercept, intercept_init=0.2)
    if intercept:  # the free intercept still moves: compare the slope's share only
        assert res.score_var == pytest.approx(float(w0 @ (lam * w0)), rel=1e-5)
        assert res.mean_score[1] - res.intercept == pytest.approx(mu @ w0, rel=1e-5)
    else:
        assert res.finetuned == pytest.approx(res.pretrained, rel=1e-6)


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive"])
def test_large_alpha_keeps_the_start_regression(loss):
    lam, _, _, delta = _problem(200, "bilevel", 3)
    res = robust_regression_risk(lam, delta, 0.3, 100, 1e7, loss=loss, noise="student_t",
                                 intercept_offset=0.2)
    assert res.finetuned == pytest.approx(res.pretrained, rel=1e-6)


def test_symmetric_mixture_needs_no_intercept():
    lam, mu, w0, _ = _problem(200, "bilevel", 4)
    for loss in ("log_loss", "hinge", "modified_huber"):
        res = convex_classification_error(lam, mu, w0, [100, 400], 0.05, loss=loss,
                                          fit_intercept=True, intercept_init=0.7)
        np.testing.assert_allclose(res.intercept, 0.0, atol=1e-9)
        ref = convex_classification_error(lam, mu, w0, [100, 400], 0.05, loss=loss)
        np.testing.assert_allclose(res.finetuned, ref.finetuned, rtol=1e-8)


def test_swapping_the_labels_gives_the_same_error():
    lam, mu, w0, _ = _problem(200, "powerlaw", 5)
    rng = np.random.default_rng(0)
    nu = rng.standard_normal(200) * 0.05
    means = np.stack([nu - mu, nu + 0.5 * mu])
    for loss in ("log_loss", "hinge"):
        a = convex_classification_error(lam, means, w0, 150, 0.1, loss=loss, priors=[0.3, 0.7],
                                        fit_intercept=True)
        b = convex_classification_error(lam, means[::-1], -w0, 150, 0.1, loss=loss,
                                        priors=[0.7, 0.3], fit_intercept=True)
        assert a.finetuned == pytest.approx(b.finetuned, rel=1e-8)
        assert a.intercept == pytest.approx(-b.intercept, rel=1e-6, abs=1e-9)


# ----------------------------------------------------------------------------- thresholds
def test_separability_threshold_cover():
    assert separability_threshold(np.ones(50), np.zeros(50)) == pytest.approx(100.0, rel=1e-9)


def _separable(X, y, intercept):
    n, d = X.shape
    A = -y[:, None] * (np.column_stack([X, np.ones(n)]) if intercept else X)
    res = linprog(np.zeros(A.shape[1]), A_ub=A, b_ub=-np.ones(n),
                  bounds=[(None, None)] * A.shape[1], method="highs")
    return res.status == 0


@pytest.mark.parametrize("intercept", [False, True])
def test_separability_threshold_matches_linear_programming(intercept):
    d = 150
    rng = np.random.default_rng(0)
    lam = make_spectrum(d, "bilevel")
    mu = rng.standard_normal(d)
    mu *= 0.8 / np.sqrt(np.sum(mu**2 / lam))
    means = np.stack([-mu + 0.3 * mu, mu + 0.3 * mu])
    priors = np.array([0.35, 0.65])
    n_star = separability_threshold(lam, means, priors=priors, fit_intercept=intercept)
    for factor, expected in ((0.8, True), (1.25, False)):
        n = int(factor * n_star)
        for _ in range(3):
            y = np.where(rng.random(n) < priors[1], 1.0, -1.0)
            X = means[(y > 0).astype(int)] + rng.standard_normal((n, d)) * np.sqrt(lam)
            assert _separable(X, y, intercept) == expected, (factor, n_star)


def test_logistic_at_alpha_zero_joins_the_max_margin_at_the_threshold():
    lam, mu, w0, _ = _problem(200, "isotropic", 6)
    n_star = separability_threshold(lam, mu)
    below = convex_classification_error(lam, mu, w0, n_star * np.array([0.5, 0.99]), 0.0)
    above = convex_classification_error(lam, mu, w0, n_star * np.array([1.01, 1.03, 1.3]), 0.0)
    assert list(below.regime) == ["max-margin"] * 2
    assert list(above.regime) == ["unique"] * 3
    gaps = np.abs(above.finetuned - below.finetuned[1])
    assert gaps[0] < gaps[1] < gaps[2]  # the maximum-likelihood error tends to the max margin
    assert gaps[0] < 0.05 * below.finetuned[1]
    assert above.score_var[0] > 5 * above.score_var[2]  # and its norm diverges


@pytest.mark.parametrize("loss", ["hinge", "modified_huber"])
def test_alpha_zero_on_separable_data_raises(loss):
    lam, mu, w0, _ = _problem(100, "isotropic", 7)
    n_star = separability_threshold(lam, mu)
    with pytest.raises(ValueError, match="separable.*path"):
        convex_classification_error(lam, mu, w0, 0.5 * n_star, 0.0, loss=loss)
    res = convex_classification_error(lam, mu, w0, 2 * n_star, 0.0, loss=loss)
    assert res.regime == "unique" and 0 < res.finetuned < 0.5


def test_epsilon_insensitive_alpha_zero_below_its_zero_loss_threshold_raises():
    lam, _, _, delta = _problem(100, "isotropic", 8)
    res = robust_regression_risk(lam, delta, 0.25, 500, 0.0, loss="epsilon_insensitive",
                                 epsilon=0.2)
    assert 100 < res.zero_loss_threshold < 500 and res.regime == "unique"
    with pytest.raises(ValueError, match="within epsilon.*path"):
        robust_regression_risk(lam, delta, 0.25, 0.9 * res.zero_loss_threshold, 0.0,
                               loss="epsilon_insensitive", epsilon=0.2)


def test_zero_loss_threshold_of_a_bounded_noise_grows_with_epsilon():
    # with |eps| <= sqrt(3) (uniform noise) and epsilon beyond it, zero loss is always feasible
    lam, _, _, delta = _problem(100, "isotropic", 9)
    small = robust_regression_risk(lam, delta, 1.0, 1e4, 0.0, loss="epsilon_insensitive",
                                   epsilon=0.5, noise="uniform").zero_loss_threshold
    assert 100 < small < 1e4
    with pytest.raises(ValueError, match="below n = inf .*within epsilon"):
        robust_regression_risk(lam, delta, 1.0, 1e4, 0.0, loss="epsilon_insensitive",
                               epsilon=1.8, noise="uniform")


# ----------------------------------------------------------------------------- noise laws
@pytest.mark.parametrize("name, dist", [
    ("gaussian", stats.norm()),
    ("laplace", stats.laplace(scale=1 / np.sqrt(2))),
    ("student_t", stats.t(5, scale=np.sqrt(3 / 5))),
    ("uniform", stats.uniform(-np.sqrt(3), 2 * np.sqrt(3))),
])
def test_noise_laws_match_scipy(name, dist):
    law = noise_law(name, 4.0)
    assert law.mean == pytest.approx(0.0, abs=1e-12)
    assert law.variance == pytest.approx(4.0, rel=1e-10)
    # E|eps| and E(|eps| - 2)_+: what huber and epsilon-insensitive see of the law
    for h, points in ((np.abs, [0.0]), (lambda x: np.maximum(np.abs(x) - 2.0, 0.0), [-2, 2])):
        got = sum(w * _expect_normal(h, m, v, points)
                  for m, w, v in zip(law.means, law.weights, law.variances, strict=True))
        ref = quad(lambda x, h=h: h(2.0 * x) * dist.pdf(x), -np.inf, np.inf,
                   points=None, limit=200)[0]
        assert got == pytest.approx(ref, rel=2e-3)


def _expect_normal(h, m, v, points):
    if v == 0:
        return float(h(m))
    s = np.sqrt(v)
    return quad(lambda x: h(x) * np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi)),
                m - 12 * s, m + 12 * s, points=[p for p in points if abs(p - m) < 12 * s],
                limit=200)[0]


def test_noise_law_inputs():
    assert noise_law(([1.0, 3.0], [1.0, 3.0])).mean == pytest.approx(2.5)
    with pytest.raises(ValueError, match="noise must be one of"):
        noise_law("cauchy")
    with pytest.raises(ValueError, match="noise_var"):
        noise_law("gaussian", -1.0)


# ----------------------------------------------------------------------------- inputs
def test_invalid_inputs_name_the_argument():
    lam, mu, w0, delta = _problem(50, "isotropic", 10)
    with pytest.raises(ValueError, match="loss must be one of"):
        convex_classification_error(lam, mu, w0, 20, 0.1, loss="huber")
    with pytest.raises(ValueError, match="priors"):
        convex_classification_error(lam, mu, w0, 20, 0.1, priors=[0.2, 0.2])
    with pytest.raises(ValueError, match="mean must have shape"):
        convex_classification_error(lam, np.ones((3, 50)), w0, 20, 0.1)
    with pytest.raises(ValueError, match="epsilon"):
        robust_regression_risk(lam, delta, 0.1, 20, 0.1, epsilon=-1.0)
    with pytest.raises(ValueError, match="loss must be one of"):
        robust_regression_risk(lam, delta, 0.1, 20, 0.1, loss="hinge")
    with pytest.raises(ValueError, match="means must have shape"):
        multiclass_error(lam, np.ones((2, 50)), np.zeros((2, 50)), 20, 0.1)
    with pytest.raises(ValueError, match="coef_init must have shape"):
        multiclass_error(lam, np.ones((3, 50)), np.zeros((2, 50)), 20, 0.1)


def test_inputs_are_not_modified():
    lam, mu, w0, delta = _problem(60, "bilevel", 11)
    copies = [v.copy() for v in (lam, mu, w0, delta)]
    convex_classification_error(lam, mu, w0, 30, 0.1, loss="hinge", fit_intercept=True)
    robust_regression_risk(lam, delta, 0.2, 30, 0.1, loss="huber", fit_intercept=True)
    for v, c in zip((lam, mu, w0, delta), copies, strict=True):
        np.testing.assert_array_equal(v, c)


# ----------------------------------------------------------------------------- multiclass
def test_multiclass_is_equivariant_under_relabelling():
    d = 150
    rng = np.random.default_rng(12)
    lam = make_spectrum(d, "bilevel")
    means = rng.standard_normal((3, d)) * 0.12
    W0 = rng.standard_normal((3, d)) * 0.05
    priors = np.array([0.2, 0.3, 0.5])
    a = multiclass_error(lam, means, W0, 200, 0.05, loss="hinge", priors=priors,
                         fit_intercept=True)
    perm = [2, 0, 1]
    b = multiclass_error(lam, means[perm], W0[perm], 200, 0.05, loss="hinge",
                         priors=priors[perm], fit_intercept=True)
    assert a.finetuned == pytest.approx(b.finetuned, rel=1e-5)
    np.testing.assert_allclose(a.finetuned_per_class[perm], b.finetuned_per_class, rtol=1e-8)
    np.testing.assert_allclose(a.score_cov[np.ix_(perm, perm)], b.score_cov, rtol=1e-7)


def test_multiclass_large_alpha_is_the_start_and_the_scores_law_is_consistent():
    d = 120
    rng = np.random.default_rng(13)
    lam = make_spectrum(d, "powerlaw")
    means = rng.standard_normal((3, d)) * 0.2
    W0 = rng.standard_normal((3, d)) * 0.1
    res = multiclass_error(lam, means, W0, 100, 1e8, loss="log_loss")
    assert res.finetuned == pytest.approx(res.pretrained, rel=1e-4)
    np.testing.assert_allclose(res.score_cov, (W0 * lam) @ W0.T, rtol=1e-5)
    np.testing.assert_allclose(res.score_mean, means @ W0.T, rtol=1e-5, atol=1e-9)
    # the argmax error of the start by Monte Carlo of its Gaussian scores
    S = rng.multivariate_normal(np.zeros(3), (W0 * lam) @ W0.T, size=(200_000,))
    wrong = np.mean([np.mean(np.argmax(S + means[c] @ W0.T, axis=1) != c) for c in range(3)])
    assert res.pretrained == pytest.approx(wrong, abs=4 * np.sqrt(0.25 / 600_000))
