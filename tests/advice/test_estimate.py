"""Estimators of the unknowns on synthetic data whose truth is known."""

import warnings

import numpy as np
import pytest

from skft.advice import (
    DegenerateEstimateWarning,
    estimate_classification_unknowns,
    estimate_regression_unknowns,
    estimate_spectrum,
)


def _spectrum(kind, d):
    if kind == "isotropic":
        return np.ones(d)
    if kind == "bilevel":
        return np.r_[np.full(d // 10, 8.0), np.ones(d - d // 10)]
    return 20.0 / np.arange(1, d + 1) ** 0.8  # power law


def _features(rng, n, lam, dist):
    if dist == "gaussian":
        Z = rng.standard_normal((n, lam.size))
    else:  # rademacher: same first two moments, other fourth moments
        Z = rng.choice([-1.0, 1.0], size=(n, lam.size))
    return Z * np.sqrt(lam)


@pytest.mark.parametrize("kind", ["isotropic", "bilevel", "power"])
def test_spectrum_recovers_df1_and_df2(kind):
    # what the theory needs from the spectrum: df1(k), df2(k), for k down to well below the
    # alpha = 0 value at the observed n (so that larger n can be extrapolated)
    rng = np.random.default_rng(0)
    n, d = 200, 800
    lam = _spectrum(kind, d)
    est = estimate_spectrum(_features(rng, n, lam, "gaussian")).eigenvalues
    for k in lam.mean() * np.array([0.02, 0.2, 2.0]):
        for p in (1, 2):
            true = np.sum((lam / (lam + k)) ** p)
            got = np.sum((est / (est + k)) ** p)
            assert abs(got - true) < 0.03 * d, (k, p, got, true)
    assert est.sum() == pytest.approx(np.sum(lam), rel=0.05)  # unbiased trace, SE ~1%


def test_spectrum_sample_side_when_many_rows():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2000, 20)) * np.sqrt(np.arange(1, 21))
    est = estimate_spectrum(X)
    assert est.method == "sample"
    np.testing.assert_allclose(np.sort(est.eigenvalues), np.arange(1, 21), rtol=0.15)


@pytest.mark.parametrize("dist", ["gaussian", "rademacher"])
@pytest.mark.parametrize("kind", ["isotropic", "power"])
def test_regression_unknowns_unbiased_within_standard_error(kind, dist):
    # 40 seeds; the mean estimate must sit within 3 standard errors of the mean (the SE of the
    # mean is the across-seed SD / sqrt(40)) of the truth; the jackknife SE must match the
    # across-seed SD within 35% (the SD of an SD estimate from 40 draws is ~11%).
    # n, s2 chosen so that the noise estimate is many SEs above 0 (no clipping fallback).
    n, d, s2 = 300, 400, 1.0
    lam = _spectrum(kind, d)
    noise, shift, pre, jk = [], [], [], []
    rng = np.random.default_rng(7)
    # exactly spread: equal magnitudes in the eigenbasis (Sigma is diagonal), random signs
    delta = rng.choice([-1.0, 1.0], d) / np.sqrt(d)
    for seed in range(40):
        rng = np.random.default_rng(seed)
        X = _features(rng, n, lam, dist)
        r = -X @ delta + np.sqrt(s2) * rng.standard_normal(n)
        est = estimate_regression_unknowns(X, r)
        noise.append(est.noise_var)
        shift.append(est.shift_signal)
        pre.append(est.pretrained_error)
        jk.append(est.noise_var_se)
    noise, shift, pre = map(np.asarray, (noise, shift, pre))
    signal = delta @ (lam * delta)
    for values, truth in [(noise, s2), (shift, signal), (pre, signal + s2)]:
        assert abs(values.mean() - truth) < 3 * values.std(ddof=1) / np.sqrt(values.size)
    assert np.mean(jk) == pytest.approx(noise.std(ddof=1), rel=0.35)


@pytest.mark.parametrize("where", ["top", "bottom"])
def test_regression_unknowns_false_spread_assumption_is_biased_predictably(where):
    # delta only on the top (eigenvalue 8) or bottom (eigenvalue 1) eigen-directions of a
    # bilevel Sigma. The moments give T2 = delta' Sigma^2 delta exactly in expectation, and the
    # spread assumption turns it into a signal T2 tr(Sigma)/tr(Sigma^2) (ratio ~0.23):
    # bottom: signal 1 read as 0.23, noise biased high to ~1.77;
    # top: signal 8 read as ~14.9 > mean(r^2) = 9: the negative-noise fallback fires.
    n, d, s2 = 300, 400, 1.0
    lam = _spectrum("bilevel", d)
    top = lam == lam.max()
    delta = np.zeros(d)
    sel = top if where == "top" else ~top
    delta[sel] = 1.0 / np.sqrt(sel.sum())
    ratio = np.sum(lam) / np.sum(lam**2)
    l_sel = lam[sel][0]
    expected_noise = s2 + l_sel - l_sel**2 * ratio
    noise, fell_back = [], []
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = _features(rng, n, lam, "gaussian")
        r = -X @ delta + rng.standard_normal(n)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateEstimateWarning)
            est = estimate_regression_unknowns(X, r)
        noise.append(est.noise_var)
        fell_back.append(bool(est.fallbacks))
    if where == "top":
        assert expected_noise < 0 and all(fell_back) and np.all(np.asarray(noise) == 0.0)
    else:
        # mean of 10 within 3 SE (SE from the spread of the 10 values)
        noise = np.asarray(noise)
        assert expected_noise > 1.5 * s2
        assert abs(noise.mean() - expected_noise) < 3 * noise.std(ddof=1) / np.sqrt(10)


def test_regression_unknowns_with_unlabeled_and_intercept():
    rng = np.random.default_rng(3)
    n, d = 200, 300
    lam = _spectrum("bilevel", d)
    delta = rng.standard_normal(d) / np.sqrt(d)
    X = _features(rng, n, lam, "gaussian") + 3.0  # shifted features, intercept fitted
    r = -(X - 3.0) @ delta + 0.7 + 0.5 * rng.standard_normal(n)
    XU = _features(rng, 3000, lam, "gaussian") + 3.0
    Xc, rc = X.copy(), r.copy()
    est = estimate_regression_unknowns(X, r, fit_intercept=True, X_unlabeled=XU)
    np.testing.assert_array_equal(X, Xc)
    np.testing.assert_array_equal(r, rc)
    assert est.n_samples == n - 1
    assert est.pretrained_error == pytest.approx(np.mean(r**2))
    assert est.spectrum.n_rows == n + 3000
    assert est.noise_var == pytest.approx(0.25, abs=4 * est.noise_var_se)


def test_regression_fallback_no_shift():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 200))
    found = False
    for seed in range(20):  # pure noise: T2 <= 0 about half the time
        r = np.random.default_rng(seed).standard_normal(50)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            est = estimate_regression_unknowns(X, r)
        if est.fallbacks:
            found = True
            assert any(issubclass(w.category, DegenerateEstimateWarning) for w in rec)
            assert est.shift_norm2 == 0.0
            assert est.noise_var == pytest.approx(np.mean(r**2))
    assert found


def test_regression_fallback_negative_noise():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 400))
    delta = rng.standard_normal(400) / 20
    hit = False
    for seed in range(20):  # noiseless: the noise estimate is negative about half the time
        Xs = np.random.default_rng(seed).standard_normal((100, 400))
        with warnings.catch_warnings(record=True):
            warnings.simplefilter("always")
            est = estimate_regression_unknowns(Xs, -Xs @ delta)
        if est.fallbacks:
            hit = True
            assert est.noise_var == 0.0
            assert est.shift_signal == pytest.approx(est.pretrained_error)
    assert hit and X.shape == (100, 400)


def test_classification_unknowns_unbiased():
    # 40 seeds; means within 3 standard errors of the mean; the binomial SE of the pretrained
    # error rate matches the across-seed SD within 35%.
    n, d = 200, 400
    lam = _spectrum("power", d) / _spectrum("power", d).mean()
    rng = np.random.default_rng(11)
    mu = rng.standard_normal(d) * 1.3 / np.sqrt(d)
    w0 = mu + rng.standard_normal(d) * 1.5 / np.sqrt(d)
    m2, dot, pre, se = [], [], [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        y = rng.choice([-1.0, 1.0], n)
        X = y[:, None] * mu + _features(rng, n, lam, "gaussian")
        est = estimate_classification_unknowns(X, y, w0)
        m2.append(est.mean_norm2)
        dot.append(est.mean_dot_coef)
        pre.append(est.pretrained_error)
        se.append(est.pretrained_error_se)
    from scipy.stats import norm

    truth_pre = norm.cdf(-(mu @ w0) / np.sqrt(w0 @ (lam * w0)))
    for values, truth in [(m2, mu @ mu), (dot, mu @ w0), (pre, truth_pre)]:
        values = np.asarray(values)
        assert abs(values.mean() - truth) < 3 * values.std(ddof=1) / np.sqrt(values.size)
    assert np.mean(se) == pytest.approx(np.std(pre, ddof=1), rel=0.35)


def test_classification_theory_inputs_reproduce_the_moments():
    rng = np.random.default_rng(0)
    n, d = 100, 301
    y = rng.choice([-1.0, 1.0], n)
    mu = np.full(d, 0.1)
    X = y[:, None] * mu + rng.standard_normal((n, d))
    est = estimate_classification_unknowns(X, y, 2 * mu + 0.05)
    cov, m, w = est.theory_inputs()
    assert m @ m == pytest.approx(est.mean_norm2)
    assert m @ w == pytest.approx(est.mean_dot_coef)
    assert w @ w == pytest.approx(est.coef_norm2)
    assert cov.shape == (d,)


@pytest.mark.parametrize("shape", [(50, 40), (20, 400)])
def test_spectrum_extra_rows_equal_stacking(shape):
    # the pooled statistics computed without copies equal those of the stacked, centred rows
    rng = np.random.default_rng(0)
    m, d = shape
    A = rng.standard_normal((m, d))
    U = rng.standard_normal((4 * m, d)) * 2 + 3
    pooled = estimate_spectrum(A, extra=U)
    stacked = estimate_spectrum(np.vstack([A, U - U.mean(axis=0)]))
    np.testing.assert_allclose(pooled.eigenvalues, stacked.eigenvalues, rtol=1e-8)
    assert pooled.trace == pytest.approx(stacked.trace, rel=1e-12)
    assert pooled.trace_sq == pytest.approx(stacked.trace_sq, rel=1e-10)
    assert pooled.n_rows == 5 * m


@pytest.mark.parametrize("kind", ["isotropic", "bilevel", "power"])
def test_spectrum_has_no_spurious_tiny_eigenvalues(kind):
    # n close to d: what the data cannot resolve must not become eigenvalues at the grid's
    # floor, which would make tr(Sigma^-1) (the least-squares limit of the theory) arbitrary.
    # tr(Sigma^-1) is not identified below the resolution, so only its order of magnitude is
    # checked: within a factor 2 of the truth (it used to be 15 to 30 times too large).
    d = 400
    lam = _spectrum(kind, d)
    for seed in range(3):
        X = _features(np.random.default_rng(seed), 380, lam, "gaussian")
        est = estimate_spectrum(X).eigenvalues
        ratio = np.sum(1.0 / est) / np.sum(1.0 / lam)
        assert 0.5 < ratio < 2.0, (seed, ratio)
