"""The theory at covariance scale c equals the rescaled theory at scale 1, for c in 1e-250..1e250.

Every formula is scale-equivariant: with ``Sigma -> c Sigma``, ``delta -> delta / sqrt(c)``
(``mu -> sqrt(c) mu``, ``w0 -> w0 / sqrt(c)`` for classification) and ``alpha -> c alpha``, the
errors are unchanged and ``kappa`` scales by ``c``. The reference is the same call at scale 1,
so an internal over- or underflow (``kappa^2``, ``l^2``) shows up as a mismatch, a NaN or a
RuntimeWarning (turned into an error here).
"""

import warnings

import numpy as np
import pytest

from skft.theory import (
    classification_error,
    classification_finetune_helps_intervals,
    classification_optimal_alpha,
    effective_regularization,
    finetune_helps_intervals,
    optimal_alpha,
    regression_risk,
)

SCALES = [1e-250, 1e-200, 1e-150, 1e-100, 1e-40, 1e-8, 1.0, 1e8, 1e40, 1e100, 1e150, 1e200, 1e250]
D = 120


def _covariances():
    rng = np.random.default_rng(0)
    diag = np.linspace(1.0, 10.0, D) ** -1.5
    Q, _ = np.linalg.qr(rng.standard_normal((D, D)))
    full = (Q * diag) @ Q.T
    return {"diag": diag, "matrix": (full + full.T) / 2}


@pytest.fixture(autouse=True)
def _no_runtime_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


@pytest.mark.parametrize("kind", ["diag", "matrix"])
@pytest.mark.parametrize("c", SCALES)
def test_regression_risk_is_scale_equivariant(kind, c):
    cov = _covariances()[kind]
    rng = np.random.default_rng(1)
    delta = rng.standard_normal(D) / np.sqrt(D)
    n = np.array([30.0, 119.0, 121.0, 400.0])
    for alpha in (0.0, 0.05):
        ref = regression_risk(cov, delta, 0.3, n, alpha)
        got = regression_risk(c * cov, delta / np.sqrt(c), 0.3, n, c * alpha)
        np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-9)
        np.testing.assert_allclose(got.bias, ref.bias, rtol=1e-9, atol=1e-300)
        np.testing.assert_allclose(got.variance, ref.variance, rtol=1e-9)
        assert got.pretrained == pytest.approx(ref.pretrained, rel=1e-12)
        np.testing.assert_allclose(got.kappa, c * ref.kappa, rtol=1e-9, atol=0.0)
        k = effective_regularization(c * cov, n, c * alpha)
        np.testing.assert_allclose(k, c * ref.kappa, rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("kind", ["diag", "matrix"])
@pytest.mark.parametrize("c", SCALES)
def test_classification_error_is_scale_equivariant(kind, c):
    cov = _covariances()[kind]
    rng = np.random.default_rng(2)
    mu = 0.15 * rng.standard_normal(D)
    w0 = mu + 0.1 * rng.standard_normal(D)
    n = np.array([30.0, 119.0, 121.0, 400.0])
    for alpha in (0.0, 0.05):
        ref = classification_error(cov, mu, w0, n, alpha)
        got = classification_error(c * cov, np.sqrt(c) * mu, w0 / np.sqrt(c), n, c * alpha)
        np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-9)
        np.testing.assert_allclose(got.t, ref.t, rtol=1e-9)
        np.testing.assert_allclose(got.q, ref.q, rtol=1e-9)
        assert got.pretrained == pytest.approx(ref.pretrained, rel=1e-12)
        np.testing.assert_allclose(got.kappa, c * ref.kappa, rtol=1e-9, atol=0.0)
        assert 0.0 < float(np.min(got.finetuned)) < 0.5


@pytest.mark.parametrize("c", [1e-150, 1e-60, 1e60, 1e150])
def test_derived_answers_are_scale_equivariant(c):
    cov = _covariances()["diag"]
    rng = np.random.default_rng(3)
    delta = rng.standard_normal(D) / np.sqrt(D)
    ref = optimal_alpha(cov, delta, 0.3, [40.0, 200.0])
    got = optimal_alpha(c * cov, delta / np.sqrt(c), 0.3, [40.0, 200.0])
    np.testing.assert_allclose(got.alpha, c * ref.alpha, rtol=1e-6)
    np.testing.assert_allclose(got.error, ref.error, rtol=1e-9)
    ref_h = finetune_helps_intervals(cov, delta, 0.3, n_max=600)
    got_h = finetune_helps_intervals(c * cov, delta / np.sqrt(c), 0.3, n_max=600)
    np.testing.assert_allclose(np.array(got_h.intervals), np.array(ref_h.intervals), rtol=1e-8)

    mu = 0.15 * rng.standard_normal(D)
    w0 = mu + 0.3 * rng.standard_normal(D)
    ref_c = classification_optimal_alpha(cov, mu, w0, [40.0, 200.0])
    got_c = classification_optimal_alpha(c * cov, np.sqrt(c) * mu, w0 / np.sqrt(c), [40.0, 200.0])
    np.testing.assert_allclose(got_c.alpha, c * ref_c.alpha, rtol=1e-6)
    np.testing.assert_allclose(got_c.error, ref_c.error, rtol=1e-9)
    ref_ch = classification_finetune_helps_intervals(cov, mu, w0, n_max=600)
    got_ch = classification_finetune_helps_intervals(c * cov, np.sqrt(c) * mu, w0 / np.sqrt(c),
                                                     n_max=600)
    assert len(got_ch.intervals) == len(ref_ch.intervals)
    np.testing.assert_allclose(np.array(got_ch.intervals), np.array(ref_ch.intervals), rtol=1e-8)
