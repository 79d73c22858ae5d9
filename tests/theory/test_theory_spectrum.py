"""Spectrum and effective regularisation: identities, two routes, bad input."""

import numpy as np
import pytest
from scipy.optimize import brentq

from skft.theory import Spectrum, effective_regularization
from skft.theory._spectrum import _solve_kappa


def _kappa_reference(lam, n, alpha):
    """Independent route: scipy's brentq on k - alpha - k df1(k) / n, one point at a time."""
    rank = np.count_nonzero(lam)
    if alpha == 0 and n >= rank:
        return 0.0

    def f(k):
        return k - alpha - k * np.sum(lam / (lam + k)) / n

    return brentq(
        f, 1e-300 if alpha == 0 else alpha, alpha + lam.sum() / n + 1, xtol=1e-300, rtol=1e-14
    )


SPECTRA = {
    "isotropic": np.ones(300),
    "bilevel": np.where(np.arange(300) < 30, 10.0, 1.0),
    "powerlaw": np.arange(1, 301.0) ** -1.5,
    "rank_deficient": np.concatenate([np.linspace(0.1, 3, 200), np.zeros(100)]),
}


@pytest.mark.parametrize("name", sorted(SPECTRA))
@pytest.mark.parametrize("alpha", [0.0, 1e-4, 0.3, 50.0])
def test_kappa_matches_scalar_brentq_and_residual_is_zero(name, alpha):
    lam = SPECTRA[name]
    n = np.array([1.0, 17.0, 150.0, 199.0, 299.0, 301.0, 900.0])
    k = effective_regularization(lam, n, alpha)
    ref = np.array([_kappa_reference(lam, nn, alpha) for nn in n])
    np.testing.assert_allclose(k, ref, rtol=1e-9, atol=1e-300)
    pos = k > 0
    df1 = np.array([np.sum(lam / (lam + kk)) for kk in k[pos]])
    resid = (k[pos] - alpha - k[pos] * df1 / n[pos]) / k[pos]
    assert np.max(np.abs(resid)) < 1e-10


def test_kappa_isotropic_closed_form():
    d = 400
    n = np.array([20.0, 100.0, 399.0, 401.0, 2000.0])
    alpha = np.array([[0.0], [0.5]])
    k = effective_regularization(np.ones(d), n, alpha)
    # alpha = 0: k = d/n - 1 (n < d), 0 (n > d); alpha > 0: root of
    # n k^2 + (n - n alpha - d) k - n alpha = 0.
    expected0 = np.where(n < d, d / n - 1, 0.0)
    b = n - n * 0.5 - d
    expected1 = (-b + np.sqrt(b**2 + 4 * n * n * 0.5)) / (2 * n)
    np.testing.assert_allclose(k[0], expected0, rtol=1e-10)  # solver rtol 1e-12 on log k
    np.testing.assert_allclose(k[1], expected1, rtol=1e-12)


def test_kappa_monotone_in_n_and_alpha():
    lam = SPECTRA["powerlaw"]
    n = np.geomspace(1, 1000, 60)
    alpha = np.geomspace(1e-6, 10, 30)[:, None]
    k = effective_regularization(lam, n, alpha)
    assert np.all(np.diff(k, axis=1) < 0)  # decreasing in n
    assert np.all(np.diff(k, axis=0) > 0)  # increasing in alpha
    assert np.all(k >= alpha)


def test_vectorised_equals_looped():
    lam = SPECTRA["bilevel"]
    n = np.geomspace(3, 1000, 50)
    alpha = np.linspace(0, 2, 50)
    vec = effective_regularization(lam, n, alpha)
    loop = [
        effective_regularization(lam, float(nn), float(aa)) for nn, aa in zip(n, alpha, strict=True)
    ]
    assert all(isinstance(x, float) for x in loop)
    np.testing.assert_allclose(vec, loop, rtol=1e-11)
    # the shared grid start is used only for >= 8 points: both paths give the same root
    k_many = _solve_kappa(lam, n, alpha)[0]
    np.testing.assert_allclose(k_many, loop, rtol=1e-11)


def test_matrix_diagonal_rotated_and_spectrum_agree():
    rng = np.random.default_rng(0)
    lam = SPECTRA["rank_deficient"]
    q, _ = np.linalg.qr(rng.standard_normal((300, 300)))
    mat = (q * lam) @ q.T
    n = np.array([50.0, 250.0])
    a = effective_regularization(lam, n, 0.1)
    b = effective_regularization(np.diag(lam), n, 0.1)
    c = effective_regularization(mat, n, 0.1)
    d = effective_regularization(Spectrum.from_covariance(mat), n, 0.1)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    np.testing.assert_allclose(a, c, rtol=1e-9)
    np.testing.assert_allclose(c, d, rtol=1e-14)


def test_spectrum_coords_and_rank():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 4))
    cov = a @ a.T  # rank 4
    spec = Spectrum.from_covariance(cov)
    assert spec.rank == 4 and spec.n_features == 6
    v = rng.standard_normal(6)
    c = spec.coords(v)
    # v' Sigma v computed in the eigenbasis
    np.testing.assert_allclose(np.sum(spec.eigenvalues * c**2), v @ cov @ v, rtol=1e-10)
    assert not spec.eigenvalues.flags.writeable


def test_user_arrays_not_mutated():
    cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    before = cov.copy()
    Spectrum.from_covariance(cov)
    np.testing.assert_array_equal(cov, before)


@pytest.mark.parametrize(
    "cov, match",
    [
        (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "positive semi-definite"),
        (np.array([1.0, -1.0]), "positive semi-definite"),
        (np.array([1.0, np.nan]), "covariance"),
        (np.ones((2, 3)), "covariance"),
        (np.ones((2, 2, 2)), "covariance"),
        ("abc", "covariance"),
    ],
)
def test_bad_covariance(cov, match):
    with pytest.raises(ValueError, match=match):
        effective_regularization(cov, 10)


@pytest.mark.parametrize(
    "n, alpha, match",
    [
        (0, 0.0, "n_samples"),
        (-3, 0.0, "n_samples"),
        (np.nan, 0.0, "n_samples"),
        (10, -1.0, "alpha"),
        (10, np.nan, "alpha"),
        (10, np.inf, "alpha"),
        ([1, 2, 3], [0.0, 1.0], "broadcast"),
    ],
)
def test_bad_n_alpha(n, alpha, match):
    with pytest.raises(ValueError, match=match):
        effective_regularization(np.ones(5), n, alpha)


@pytest.mark.parametrize("kind", ["powerlaw", "bilevel", "mixed"])
def test_binned_sums_equal_direct_sums(kind):
    """The binned route (large d) and the direct route agree to rounding."""
    from skft.theory._sums import _SpectralSums

    rng = np.random.default_rng(5)
    d = 5000
    if kind == "powerlaw":
        lam = np.arange(1, d + 1.0) ** -2.0
    elif kind == "bilevel":
        lam = np.where(np.arange(d) < 500, 7.0, 0.3)
    else:  # spread over 12 decades, with exact zeros
        lam = np.concatenate([10 ** rng.uniform(-6, 6, d - 50), np.zeros(50)])
    cols1 = np.column_stack([lam, rng.standard_normal(d)])
    cols2 = np.column_stack([lam, lam**2, rng.standard_normal(d) ** 2 * lam])
    k = np.geomspace(1e-10, 1e8, 40)
    binned = _SpectralSums(lam, cols1, cols2, binned=True)
    assert binned.binned and binned.center.size < d
    for x, y in zip(binned(k), _SpectralSums(lam, cols1, cols2, binned=False)(k), strict=True):
        # relative to the largest term of each column (signed numerators may cancel)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13 * np.abs(y).max())


def test_binned_route_gives_same_risk_at_large_d():
    from skft.theory import regression_risk
    from skft.theory._sums import _MIN_BINNED

    rng = np.random.default_rng(6)
    d = _MIN_BINNED + 10
    lam = np.arange(1, d + 1.0) ** -1.0
    delta = rng.standard_normal(d) / np.sqrt(d)
    n = np.array([0.1 * d, 0.9 * d, 2.0 * d])
    big = regression_risk(lam, delta, 0.3, n, [[0.0], [0.1]])  # binned route
    # brute-force evaluation of the formulas at the returned kappa
    for i, a in enumerate([0.0, 0.1]):
        for j, nn in enumerate(n):
            k = big.kappa[i, j]
            if k == 0:
                continue
            df1 = np.sum(lam / (lam + k))
            df2 = np.sum(lam**2 / (lam + k) ** 2)
            assert abs(k - a - k * df1 / nn) <= 1e-11 * k
            bias = k**2 * np.sum(lam * delta**2 / (lam + k) ** 2) / (1 - df2 / nn)
            var = 0.3 * df2 / (nn - df2)
            assert big.finetuned[i, j] == pytest.approx(0.3 + bias + var, rel=1e-10)
