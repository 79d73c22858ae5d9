"""Classification error: limits, continuity, two routes, bad input."""

import warnings

import numpy as np
import pytest
from scipy.special import ndtr

from skft.theory import classification_error, classification_optimal_alpha

RNG = np.random.default_rng(7)
D = 300
LAM = np.where(np.arange(D) < 60, 4.0, 0.5)
MEAN = RNG.standard_normal(D) * 0.1
W0 = MEAN + RNG.standard_normal(D) * 0.08


def _dense(cov, mu, w0, n, alpha):
    """Independent route: the formulas of DESIGN.md section 4 with dense matrices."""
    from scipy.optimize import brentq

    eye = np.eye(cov.shape[0])

    def df1(k):
        return np.trace(np.linalg.solve(cov + k * eye, cov))

    k = brentq(
        lambda k: k - alpha - k * df1(k) / n,
        max(alpha, 1e-12),
        alpha + np.trace(cov) / n,
        xtol=1e-15,
        rtol=1e-13,
    )
    res = np.linalg.inv(cov + k * eye)
    df2 = np.trace(cov @ res @ cov @ res)

    def L(a, b):
        return k * a @ res @ b

    def Bq(a, b):
        return k**2 * a @ cov @ res @ res @ b / (1 - df2 / n)

    c0, A = L(mu, w0), L(mu, mu)
    t = (A + k * c0) / (A + k)
    s = (t - c0) / A
    q = Bq(w0, w0) + 2 * s * Bq(w0, mu) + s**2 * Bq(mu, mu) + (1 - t) ** 2 * df2 / (n - df2)
    return ndtr(-t / np.sqrt(q))


@pytest.mark.parametrize("n, alpha", [(60.0, 0.0), (200.0, 0.0), (60.0, 0.1), (900.0, 1.0)])
def test_matches_dense_reference_rotated(n, alpha):
    q, _ = np.linalg.qr(RNG.standard_normal((D, D)))
    cov = (q * LAM) @ q.T
    ref = _dense(cov, q @ MEAN, q @ W0, n, alpha)
    np.testing.assert_allclose(
        classification_error(LAM, MEAN, W0, n, alpha).finetuned, ref, rtol=1e-8
    )
    np.testing.assert_allclose(
        classification_error(cov, q @ MEAN, q @ W0, n, alpha).finetuned, ref, rtol=1e-8
    )


def test_pretrained_formula_and_alpha_to_inf():
    err = classification_error(LAM, MEAN, W0, [30.0, 3000.0], 1e10)
    pre = ndtr(-(MEAN @ W0) / np.sqrt(np.sum(LAM * W0**2)))
    assert err.pretrained == pytest.approx(pre, rel=1e-13)
    np.testing.assert_allclose(err.finetuned, pre, rtol=1e-7)


def test_n_to_zero_gives_pretrained():
    err = classification_error(LAM, MEAN, W0, 1e-7, [0.0, 0.5])
    np.testing.assert_allclose(err.finetuned, err.pretrained, rtol=1e-6)


def test_least_squares_closed_form_and_continuity_in_alpha():
    n = np.array([D + 30.0, 2.0 * D, 10.0 * D])
    m = np.sum(MEAN**2 / LAM)
    expected = ndtr(-m * np.sqrt((n - D) / (m * n + D)))
    err = classification_error(LAM, MEAN, W0, n)
    np.testing.assert_allclose(err.finetuned, expected, rtol=1e-12)
    # the general formula with alpha -> 0+ tends to the least-squares limit
    tiny = classification_error(LAM, MEAN, W0, n, 1e-9)
    np.testing.assert_allclose(tiny.finetuned, expected, rtol=1e-5)
    # and for n < d, alpha -> 0+ tends to the alpha = 0 value
    below = classification_error(LAM, MEAN, W0, 150.0, [0.0, 1e-10])
    assert below.finetuned[1] == pytest.approx(below.finetuned[0], rel=1e-7)


def test_peak_and_large_n():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        err = classification_error(LAM, MEAN, W0, [float(D), 1e9])
    assert err.finetuned[0] == 0.5  # least squares at n = d: no signal left
    m = np.sum(MEAN**2 / LAM)
    assert err.finetuned[1] == pytest.approx(ndtr(-np.sqrt(m)), rel=1e-4)  # Bayes error


def test_zero_mean_is_a_coin_flip():
    err = classification_error(LAM, np.zeros(D), W0, [50.0, 500.0], 0.1)
    np.testing.assert_allclose(err.finetuned, 0.5)
    assert err.pretrained == 0.5


def test_vectorised_equals_looped():
    n = np.array([30.0, 150.0, 310.0, 900.0])
    alpha = np.array([[0.0], [0.2]])
    res = classification_error(LAM, MEAN, W0, n, alpha)
    for i, a in enumerate(alpha[:, 0]):
        for j, nn in enumerate(n):
            one = classification_error(LAM, MEAN, W0, nn, a)
            assert isinstance(one.finetuned, float)
            np.testing.assert_allclose(
                [one.finetuned, one.t, one.q],
                [res.finetuned[i, j], res.t[i, j], res.q[i, j]],
                rtol=1e-10,
            )


def test_optimal_alpha_never_worse():
    n = np.array([40.0, 200.0, 310.0, 900.0])
    best = classification_optimal_alpha(LAM, MEAN, W0, n)
    grid = classification_error(LAM, MEAN, W0, n[:, None], np.geomspace(1e-6, 1e4, 50)).finetuned
    assert np.all(best.error <= grid.min(axis=1) + 1e-12)
    assert np.all(best.error <= best.pretrained)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"mean": np.ones(D + 1)}, "mean"),
        ({"coef_init": np.ones(3)}, "coef_init"),
        ({"coef_init": np.full(D, np.inf)}, "coef_init"),
        ({"n_samples": -1}, "n_samples"),
        ({"alpha": -2.0}, "alpha"),
        ({"covariance": np.ones((D, D - 1))}, "covariance"),
    ],
)
def test_bad_input(kwargs, match):
    args = {"covariance": LAM, "mean": MEAN, "coef_init": W0, "n_samples": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        classification_error(**args)


@pytest.mark.parametrize("alpha", [1e15, 1e160, 1e300])
def test_huge_alpha_is_the_pretrained_classifier(alpha):
    rng = np.random.default_rng(1)
    lam = rng.uniform(0.5, 2.0, 40)
    mean, w0 = rng.standard_normal(40) * 0.3, rng.standard_normal(40)
    res = classification_error(lam, mean, w0, [4.0, 40.0, 400.0], alpha=alpha)
    np.testing.assert_allclose(res.finetuned, res.pretrained, rtol=1e-9)
