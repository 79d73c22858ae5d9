"""The convex-loss theory at extreme scales equals the rescaled theory at scale 1 (issue 11.1).

Units (``skft.theory._units``): features in ``x`` (covariance ``x^2``), labels in ``y``.

- classification (the loss sees the margin ``y (x'w + b)``): ``covariance -> c^2 Sigma``,
  ``mean -> c mean``, ``coef_init -> coef_init / c``, ``alpha -> c^2 alpha``; error rates,
  mean scores, ``score_var``, intercepts, regimes and the separability threshold unchanged,
  ``kappa -> c^2 kappa``;
- robust regression: also ``delta -> (c_y / c) delta``, ``noise_var -> c_y^2 noise_var`` (a
  ``NoiseLaw`` or discrete law scaled by ``c_y``), ``epsilon``, ``intercept_offset -> c_y``;
  ``alpha -> c^2 alpha`` for the squared and huber losses (a loss in ``y^2``) and
  ``c^2 alpha / c_y`` for epsilon-insensitive (a loss in ``y``); MSEs ``-> c_y^2``, the
  intercept ``-> c_y``, ``kappa -> c^2``, the zero-loss threshold unchanged.

The reference is an independent route to the same numbers: the function at scale 1, its
answers multiplied by the known powers. With ``c``, ``c_y`` powers of two and a diagonal
covariance the scaled problem is the well-scaled one exactly, so the tolerance is rounding
(``rtol = 1e-12``). A covariance matrix goes through LAPACK's ``eigh``, which rescales a matrix
of norm beyond ``~1e+-146`` by a factor that is not a power of two (eigenvalues measured to move
by 1.3e-15, eigenvectors by 7e-15), and scales that are not powers of two give a unit problem
that differs by a factor in ``[1, 4)``: both are then solved afresh, and agree to the fixed
point's accuracy (MINPACK ``xtol = 1e-11`` on its unknowns, conditioning O(10) here, measured
agreement <= 1e-12): ``rtol = 1e-9``. An intercept whose value is 0 by symmetry is round-off
(measured ~1e-13): it is compared with ``atol = 1e-10``. Every RuntimeWarning is an error.

One setting is not equivariant, by design: at ``alpha = 0`` below the rank (separability) with
``fit_intercept=True`` SGD's limit counts the intercept as one more coordinate of the feature
1, which does not scale with ``x``; it is checked against its limits and against an explicit
constant feature instead (``test_intercept_at_alpha_zero_*``).
"""

import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.theory import (
    convex_classification_error,
    multiclass_error,
    noise_law,
    robust_regression_risk,
    separability_threshold,
)

D = 40
EXACT = dict(rtol=1e-12, atol=0.0)
SOLVED = dict(rtol=1e-9, atol=0.0)  # see the module docstring
POWERS = [-400, -300, -150, -37, 37, 150, 300, 400]  # x scaled by 2^k: covariance by 2^2k
NON_POWERS = [1e-150, 3.7e-61, 1e-100, 1e100, 3.7e61, 1e150]  # x scales (covariance squared)


@pytest.fixture(autouse=True)
def _no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


def _problem():
    rng = np.random.default_rng(0)
    lam = np.linspace(1.0, 10.0, D) ** -1.5
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    full = (Q * lam) @ Q.T
    mu = 0.1 * rng.standard_normal(D)
    return dict(diag=lam, matrix=(full + full.T) / 2, mu=mu, w0=mu + 0.3 * rng.standard_normal(D),
                delta=rng.standard_normal(D) / np.sqrt(D),
                means=3.6 * rng.standard_normal((3, D)) / np.sqrt(D))


P = _problem()


def _classification(c, loss, *, alpha=0.05, n=(30.0, 80.0), kind="diag", **kw):
    cov = P[kind]
    return convex_classification_error(c * c * cov, c * P["mu"], P["w0"] / c, np.array(n),
                                       c * c * alpha, loss=loss, **kw)


def _assert_classification(got, ref, c, tol):
    np.testing.assert_allclose(got.finetuned, ref.finetuned, **tol)
    np.testing.assert_allclose(got.pretrained, ref.pretrained, **tol)
    np.testing.assert_allclose(got.mean_score, ref.mean_score, **tol)
    np.testing.assert_allclose(got.score_var, ref.score_var, **tol)
    np.testing.assert_allclose(got.intercept, ref.intercept, rtol=tol["rtol"], atol=1e-10)
    np.testing.assert_allclose(got.kappa, c * c * ref.kappa, **tol)
    np.testing.assert_array_equal(got.regime, ref.regime)
    np.testing.assert_allclose(got.separability, ref.separability, **tol)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber", "squared_error"])
def test_convex_classification_error_powers_of_two(loss):
    opts = dict(fit_intercept=True, intercept_init=0.1, priors=[0.4, 0.6])
    ref = _classification(1.0, loss, **opts)
    for k in POWERS:
        c = 2.0**k
        _assert_classification(_classification(c, loss, **opts), ref, c, EXACT)


@pytest.mark.parametrize("loss, n", [("log_loss", (20.0, 200.0)),  # max-margin, then unique
                                     ("squared_error", (20.0, 200.0)),  # closest interpolator
                                     ("hinge", (3000.0,))])
def test_convex_classification_alpha_zero_powers_of_two(loss, n):
    ref = _classification(1.0, loss, alpha=0.0, n=n)
    assert ref.finetuned.max() < 0.5
    for k in (-400, -150, 150, 400):
        c = 2.0**k
        _assert_classification(_classification(c, loss, alpha=0.0, n=n), ref, c, EXACT)


@pytest.mark.parametrize("c", NON_POWERS)
def test_convex_classification_error_other_scales(c):
    ref = _classification(1.0, "log_loss", fit_intercept=True)
    _assert_classification(_classification(c, "log_loss", fit_intercept=True), ref, c, SOLVED)
    ref = _classification(1.0, "hinge", kind="matrix")
    _assert_classification(_classification(c, "hinge", kind="matrix"), ref, c, SOLVED)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_separability_threshold_scale_free(fit_intercept):
    ref = separability_threshold(P["diag"], P["mu"], fit_intercept=fit_intercept)
    assert np.isfinite(ref)
    for k in POWERS:
        c = 2.0**k
        got = separability_threshold(c * c * P["diag"], c * P["mu"], priors=[0.5, 0.5],
                                     fit_intercept=fit_intercept)
        np.testing.assert_allclose(got, ref, **EXACT)
    ref = separability_threshold(P["matrix"], P["mu"], fit_intercept=fit_intercept)
    for c in NON_POWERS:
        got = separability_threshold(c * c * P["matrix"], c * P["mu"],
                                     fit_intercept=fit_intercept)
        np.testing.assert_allclose(got, ref, **SOLVED)


@pytest.mark.parametrize("loss", ["log_loss", "squared_error", "hinge"])
def test_multiclass_error_powers_of_two(loss):
    W0 = P["means"] + 0.5 * np.random.default_rng(1).standard_normal((3, D))

    def call(c, kind="diag", alpha=0.05):
        return multiclass_error(c * c * P[kind], c * P["means"], W0 / c, 60.0, c * c * alpha,
                                loss=loss, fit_intercept=True, intercept_init=[0.1, 0.0, -0.1])

    ref = call(1.0)
    assert 0 < ref.finetuned < 0.1
    scales = [(2.0**k, EXACT) for k in (-400, -150, 150, 400)]
    if loss == "log_loss":
        scales += [(c, SOLVED) for c in (1e-150, 3.7e61)]
    for c, tol in scales:
        got = call(c)
        for name in ("finetuned", "pretrained", "finetuned_per_class", "pretrained_per_class",
                     "score_mean", "score_cov"):
            np.testing.assert_allclose(getattr(got, name), getattr(ref, name), err_msg=name,
                                       rtol=tol["rtol"], atol=1e-10 * (name == "score_mean"))
        np.testing.assert_array_equal(got.regime, ref.regime)


def _regression(cx, cy, loss, *, alpha=0.05, n=(30.0, 80.0), kind="diag", noise="gaussian",
                fit_intercept=True, offset=0.2):
    a = cx * cx * alpha / (cy if loss == "epsilon_insensitive" else 1.0)
    if isinstance(noise, tuple):
        noise = (cy * np.asarray(noise[0]), noise[1])
    return robust_regression_risk(cx * cx * P[kind], P["delta"] * cy / cx, 0.3 * cy * cy,
                                  np.array(n), a, loss=loss, epsilon=0.4 * cy, noise=noise,
                                  fit_intercept=fit_intercept, intercept_offset=offset * cy)


def _assert_regression(got, ref, cx, cy, tol):
    for name in ("pretrained", "finetuned", "excess"):
        np.testing.assert_allclose(getattr(got, name), cy * cy * getattr(ref, name), **tol,
                                   err_msg=name)
    np.testing.assert_allclose(got.intercept, cy * ref.intercept, rtol=tol["rtol"],
                               atol=1e-10 * cy)
    np.testing.assert_allclose(got.kappa, cx * cx * ref.kappa, **tol)
    np.testing.assert_array_equal(got.regime, ref.regime)
    np.testing.assert_allclose(got.zero_loss_threshold, ref.zero_loss_threshold, **tol)


# (x exponent, y exponent): x alone, y alone, both ways, and the MSE near float64's ends
XY_POWERS = [(-400, 0), (400, 0), (0, -400), (0, 400), (-300, 300), (300, -300), (150, 150),
             (-150, -150), (37, -500), (-37, 500)]


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive", "squared_error"])
@pytest.mark.parametrize("noise", ["gaussian", "laplace", ([-1.0, 0.0, 2.5], None)])
def test_robust_regression_risk_powers_of_two(loss, noise):
    ref = _regression(1.0, 1.0, loss, noise=noise)
    for kx, ky in XY_POWERS:
        cx, cy = 2.0**kx, 2.0**ky
        _assert_regression(_regression(cx, cy, loss, noise=noise), ref, cx, cy, EXACT)


@pytest.mark.parametrize("loss, n", [("huber", (20.0, 80.0)),  # closest interpolator, unique
                                     ("squared_error", (20.0, 80.0)),
                                     ("epsilon_insensitive", (80.0, 200.0))])
@pytest.mark.parametrize("fit_intercept", [False, True])
def test_robust_regression_alpha_zero_powers_of_two(loss, n, fit_intercept):
    if fit_intercept and loss != "epsilon_insensitive":
        n = (80.0,)  # below the rank: not equivariant (test_intercept_at_alpha_zero_...)
    ref = _regression(1.0, 1.0, loss, alpha=0.0, n=n, fit_intercept=fit_intercept)
    for kx, ky in [(-400, 0), (0, 400), (300, -300), (-150, -150)]:
        cx, cy = 2.0**kx, 2.0**ky
        got = _regression(cx, cy, loss, alpha=0.0, n=n, fit_intercept=fit_intercept)
        _assert_regression(got, ref, cx, cy, EXACT)


def test_intercept_at_alpha_zero_keeps_the_callers_units_regression():
    """At alpha = 0 below the rank, SGD's limit is the interpolator closest to the start in
    ``||w - w0||^2 + (b - b0)^2``: the intercept's feature is the number 1, which does not scale
    with x, so the answer is not equivariant. With x large the intercept is the costly
    coordinate and stays at the start's (the answer without a fitted intercept); with x small
    it is free and goes to the noise's mean (the answer with the intercept at the truth)."""
    def call(kx, ky, fit_intercept, offset=0.2):
        return _regression(2.0**kx, 2.0**ky, "huber", alpha=0.0, n=(20.0,),
                           fit_intercept=fit_intercept, offset=offset)

    # the limits are approached like (feature scale)^-3: measured 1.8e-10 at x = 2^-6 and
    # 2^6, within the fixed point's accuracy at 2^-10 and beyond 2^40: rtol 1e-8
    for kx, ky in [(40, 0), (300, 0), (400, -200), (200, 300)]:
        free, fixed = call(kx, ky, True), call(kx, ky, False)
        assert free.regime == fixed.regime == "closest-interpolator"
        np.testing.assert_allclose(free.finetuned, fixed.finetuned, rtol=1e-8)
        np.testing.assert_allclose(free.intercept, 0.2 * 2.0**ky, rtol=1e-8)
    for ky in (0, 300, -300):
        free, truth = call(-10, ky, True), call(-10, ky, False, offset=0.0)
        np.testing.assert_allclose(free.finetuned, truth.finetuned, rtol=1e-8)
        assert abs(free.intercept) < 1e-6 * 2.0**ky
    # in between the intercept moves part of the way, and the answer depends on the scale
    mid = [call(kx, 0, True) for kx in (-2, 0, 2)]
    assert 0 < mid[0].intercept < mid[1].intercept < mid[2].intercept < 0.2
    assert mid[0].finetuned < mid[1].finetuned < mid[2].finetuned
    # beyond 2^8 the equations are not solved: a clear error, not "please report"
    with pytest.raises(ValueError, match="intercept as one more coordinate of feature 1"):
        call(-20, 0, True)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
@pytest.mark.parametrize("k", [-10, -2, 0, 5, 37, 300])
def test_intercept_at_alpha_zero_keeps_the_callers_units_classification(loss, k):
    """The closest interpolator (squared) and the max-margin direction (logistic) at
    alpha = 0 count the intercept in the norm as one more coordinate of feature 1: the same
    as no intercept with an explicit feature 1 (a coordinate of variance 0 and mean 1 in both
    classes), an independent route through the public API, at every scale (another system
    of equations, solved afresh: measured agreement <= 4e-10, rtol 1e-8)."""
    c, b0 = 2.0**k, 0.3
    fitted = convex_classification_error(c * c * P["diag"], c * P["mu"], P["w0"] / c, 20.0, 0.0,
                                         loss=loss, fit_intercept=True, intercept_init=b0)
    means = np.array([np.r_[-c * P["mu"], 1.0], np.r_[c * P["mu"], 1.0]])
    explicit = convex_classification_error(np.r_[c * c * P["diag"], 0.0], means,
                                           np.r_[P["w0"] / c, b0], 20.0, 0.0, loss=loss)
    assert fitted.regime == explicit.regime != "unique"
    for name in ("finetuned", "mean_score", "score_var"):
        np.testing.assert_allclose(getattr(fitted, name), getattr(explicit, name), rtol=1e-8,
                                   atol=1e-12, err_msg=name)


@pytest.mark.parametrize("loss", ["squared_error", "log_loss"])
def test_intercept_feature_far_beyond_the_features_is_a_clear_error(loss):
    # the feature 1 is 2^20 times the features: the equations are not solved there
    with pytest.raises(ValueError, match="intercept as one more coordinate of feature 1"):
        convex_classification_error(2.0**-40 * P["diag"], 2.0**-20 * P["mu"], P["w0"] * 2.0**20,
                                    20.0, 0.0, loss=loss, fit_intercept=True, intercept_init=0.3)


@pytest.mark.parametrize("cx, cy", [(1e-150, 1.0), (1.0, 1e-150), (3.7e61, 1e-100),
                                    (1e-100, 3.7e61), (1e150, 1e150)])
def test_robust_regression_risk_other_scales(cx, cy):
    for loss, kind in (("huber", "matrix"), ("epsilon_insensitive", "diag")):
        ref = _regression(1.0, 1.0, loss, kind=kind)
        _assert_regression(_regression(cx, cy, loss, kind=kind), ref, cx, cy, SOLVED)


def test_noise_law_object_scales_with_y():
    law = noise_law("student_t", 0.3)
    ref = robust_regression_risk(P["diag"], P["delta"], None, 50.0, 0.05, noise=law, epsilon=0.4)
    cy = 2.0**-300
    scaled = law.scaled(cy)
    got = robust_regression_risk(P["diag"], P["delta"] * cy, None, 50.0, 0.05, noise=scaled,
                                 epsilon=0.4 * cy)
    np.testing.assert_allclose(got.finetuned, cy * cy * ref.finetuned, **EXACT)
    assert got.noise is scaled  # the caller's law, not the unit one


# ---------------------------------------------------------------------- refusals
def test_regression_mse_beyond_float64_is_refused():
    # the MSE of a noise of variance 1.7e308 (representable) overflows: named
    with pytest.raises(ValueError, match=r"fine-tuned test MSE .* overflows float64 .*Rescale "
                                         r"y \(noise_var \(or noise\) sets its scale"):
        robust_regression_risk(P["diag"], P["delta"], 1.7e308, 30.0, 0.05,
                               loss="squared_error")
    # delta' Sigma delta alone overflows, or underflows: named
    for cov, size, side in ((1e200, 1e60, "overflows"), (1.0, 1e-160, "underflows")):
        with pytest.raises(ValueError, match=f"pretrained test MSE .* {side} float64.*Rescale "
                                             r"y \(delta sets its scale"):
            robust_regression_risk(cov * P["diag"], size * P["delta"], 0.0, 30.0, 0.05 * cov,
                                   loss="huber", epsilon=1e-170)
    # just inside float64 at both ends: answered, the well-scaled answer rescaled
    ref = _regression(1.0, 1.0, "huber")
    for ky in (-505, 508):
        cy = 2.0**ky
        _assert_regression(_regression(1.0, cy, "huber"), ref, 1.0, cy, EXACT)


def test_answers_that_leave_float64_are_refused_for_classification():
    # the start so large that w0' Sigma w0 overflows: named
    with pytest.raises(ValueError, match="mean and coef_init are too large"):
        convex_classification_error(P["diag"], P["mu"], 1e300 * P["w0"], 30.0, 0.1,
                                    loss="hinge")
    # kappa ~ alpha beyond float64 (the pull itself is representable)
    with pytest.raises(ValueError, match="kappa overflows float64.*alpha"):
        convex_classification_error(1e300 * P["diag"], 1e150 * P["mu"], 1e-150 * P["w0"], 30.0,
                                    1.5e308, loss="log_loss")
    # a positive alpha 1e-308 times the covariance's scale cannot be told from alpha = 0
    for call in (
        lambda: convex_classification_error(1e100 * P["diag"], 1e50 * P["mu"], P["w0"], 30.0,
                                            1e-300, loss="hinge"),
        lambda: robust_regression_risk(P["diag"], P["delta"], 0.3, 30.0, 1e-320, loss="huber"),
        lambda: multiclass_error(1e100 * P["diag"], 1e50 * P["means"], P["means"] * 1e-50,
                                 60.0, 1e-300),
    ):
        with pytest.raises(ValueError, match="alpha=1e-3.. is below float64's range"):
            call()


# ---------------------------------------------------------------------- estimators
def _fitted(est, X, y):
    with warnings.catch_warnings():  # the fit's own accuracy at these scales is not under test
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.mark.parametrize("loss", ["hinge", "log_loss", "modified_huber"])
def test_classifier_predict_asymptotic_error_at_extreme_scales(loss):
    rng = np.random.default_rng(3)
    n = 60
    y = np.where(rng.random(n) < 0.5, 0, 1)
    X = (2 * y[:, None] - 1) * P["mu"] + rng.standard_normal((n, D)) * np.sqrt(P["diag"])

    def predict(c):
        est = WarmStartSGDClassifier(P["w0"] / c, alpha=0.05 * c * c, loss=loss, max_iter=3,
                                     tol=None, solver="sgd", random_state=0)
        return _fitted(est, c * X, y).predict_asymptotic_error(
            covariance=c * c * P["diag"], mean=c * P["mu"], n_samples=[40, 120])

    ref = predict(1.0)
    direct = convex_classification_error(P["diag"], P["mu"], P["w0"], [40, 120], 0.05, loss=loss)
    np.testing.assert_allclose(ref.finetuned, direct.finetuned, **EXACT)
    for k in (-400, -150, 150, 400):
        got = predict(2.0**k)
        np.testing.assert_allclose(got.finetuned, ref.finetuned, **EXACT)
        np.testing.assert_allclose(got.pretrained, ref.pretrained, **EXACT)


def test_multiclass_classifier_predict_asymptotic_error_at_extreme_scales():
    rng = np.random.default_rng(4)
    n = 90
    y = rng.integers(0, 3, n)
    X = P["means"][y] + rng.standard_normal((n, D)) * np.sqrt(P["diag"])
    W0 = P["means"] + 0.5 * rng.standard_normal((3, D))

    def predict(c):
        est = WarmStartSGDClassifier(W0 / c, alpha=0.05 * c * c, loss="modified_huber",
                                     max_iter=3, tol=None, solver="sgd", random_state=0)
        return _fitted(est, c * X, y).predict_asymptotic_error(
            covariance=c * c * P["diag"], mean=c * P["means"])

    ref = predict(1.0)
    for k in (-300, 300):
        got = predict(2.0**k)
        np.testing.assert_allclose(got.finetuned, ref.finetuned, **EXACT)
        np.testing.assert_allclose(got.finetuned_per_class, ref.finetuned_per_class, **EXACT)


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive"])
def test_regressor_predict_asymptotic_error_at_extreme_scales(loss):
    rng = np.random.default_rng(5)
    n = 60
    X = rng.standard_normal((n, D)) * np.sqrt(P["diag"])
    w_star = P["w0"] - P["delta"]
    y = X @ w_star + np.sqrt(0.3) * rng.standard_normal(n)

    def predict(cx, cy):
        a = 0.05 * cx * cx / (cy if loss == "epsilon_insensitive" else 1.0)
        est = WarmStartSGDRegressor(P["w0"] * cy / cx, alpha=a, loss=loss, epsilon=0.4 * cy,
                                    max_iter=3, tol=None, solver="sgd", random_state=0)
        return _fitted(est, cx * X, cy * y).predict_asymptotic_error(
            covariance=cx * cx * P["diag"], coef_star=w_star * cy / cx, noise_var=0.3 * cy * cy,
            n_samples=[30, 90])

    ref = predict(1.0, 1.0)
    for kx, ky in [(-400, 0), (400, 0), (0, -400), (300, -300), (-150, 450)]:
        cx, cy = 2.0**kx, 2.0**ky
        got = predict(cx, cy)
        np.testing.assert_allclose(got.finetuned, cy * cy * ref.finetuned, **EXACT)
        np.testing.assert_allclose(got.pretrained, cy * cy * ref.pretrained, **EXACT)


# ---------------------------------------------------------------------- properties
# SKFT_PROPERTY_SCALE=20 runs twenty times as many examples (as tests/test_properties.py)
PROPERTY = dict(deadline=None, max_examples=12 * int(os.environ.get("SKFT_PROPERTY_SCALE", "1")),
                suppress_health_check=[HealthCheck.too_slow])


@settings(**PROPERTY)
@given(kx=st.integers(-450, 450), ky=st.integers(-450, 450),
       loss=st.sampled_from(["huber", "epsilon_insensitive"]),
       top=st.floats(0.5, 8.0), n=st.sampled_from([25.0, 70.0]))
def test_property_robust_regression_powers_of_two(kx, ky, loss, top, n):
    """Any spectrum's largest eigenvalue (ties at powers of two included), any x and y scale
    whose inputs stay normal floats (epsilon-insensitive's alpha is in x^2 / y)."""
    assume(loss == "huber" or abs(2 * kx - ky) < 1010)
    lam = top * np.linspace(0.1, 1.0, 12)
    delta = np.linspace(-1.0, 1.0, 12) / 3.0

    def call(cx, cy):
        a = 0.1 * cx * cx / (cy if loss == "epsilon_insensitive" else 1.0)
        return robust_regression_risk(cx * cx * lam, delta * cy / cx, 0.2 * cy * cy, n, a,
                                      loss=loss, epsilon=0.3 * cy)

    ref = call(1.0, 1.0)
    cx, cy = 2.0**kx, 2.0**ky
    got = call(cx, cy)
    np.testing.assert_allclose(got.finetuned, cy * cy * ref.finetuned, **EXACT)
    np.testing.assert_allclose(got.kappa, cx * cx * ref.kappa, **EXACT)


@settings(**PROPERTY)
@given(k=st.integers(-450, 450), loss=st.sampled_from(["log_loss", "hinge", "modified_huber"]),
       top=st.floats(0.5, 8.0), alpha=st.sampled_from([0.01, 0.3]))
def test_property_classification_powers_of_two(k, loss, top, alpha):
    lam = top * np.linspace(0.1, 1.0, 12)
    mu = np.linspace(0.5, -0.2, 12)
    w0 = np.linspace(-0.3, 0.6, 12)
    ref = convex_classification_error(lam, mu, w0, 30.0, alpha, loss=loss)
    c = 2.0**k
    got = convex_classification_error(c * c * lam, c * mu, w0 / c, 30.0, c * c * alpha, loss=loss)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, **EXACT)
    np.testing.assert_allclose(got.kappa, c * c * ref.kappa, **EXACT)


def test_squared_loss_ignores_the_default_epsilon():
    # epsilon (default 0.1) is not a scale of the squared loss's problem
    ref = robust_regression_risk(P["diag"], P["delta"], 0.3, 30.0, 0.05, loss="squared_error",
                                 fit_intercept=True)
    for ky in (-450, 450):
        cy = 2.0**ky
        got = robust_regression_risk(P["diag"], cy * P["delta"], 0.3 * cy * cy, 30.0, 0.05,
                                     loss="squared_error", fit_intercept=True)
        np.testing.assert_allclose(got.finetuned, cy * cy * ref.finetuned, **EXACT)
