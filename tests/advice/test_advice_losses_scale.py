"""``should_finetune`` for other losses answers in the user's units at any scale.

The advice divides ``X`` and ``y`` by powers of two (``skft.advice._scaling``). A fine-tuning
with another loss is the same fine-tuning in new units when its pull, ``epsilon`` and noise
law follow the units: with ``X -> c X`` and ``y -> c_y y``, ``alpha -> c^2 alpha`` for the
losses quadratic in the residual near 0 (huber, and every classification loss: functions of
the margin) and ``alpha -> c^2 alpha / c_y`` for ``epsilon_insensitive`` (its mean loss scales
as ``c_y``, the penalty as ``c_y^2 / c^2``), ``epsilon -> c_y epsilon``. The independent
route: the same problem at scale 1, its numbers multiplied by the powers of two (exact).
"""

import warnings

import numpy as np
import pytest

from skft import should_finetune
from skft.datasets import make_transfer_classification, make_transfer_regression
from skft.theory import NoiseLaw

KX, KY = 40, -30  # X * 2^40, y * 2^-30: beyond float64's range in X'X without scaling


def _quiet(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


def _same_estimate(got, want, factor):
    np.testing.assert_allclose([got.value, got.stderr, got.low, got.high],
                               np.array([want.value, want.stderr, want.low, want.high]) * factor,
                               rtol=1e-9)


@pytest.mark.parametrize(("loss", "alpha_power"), [("huber", 2 * KX),
                                                   ("epsilon_insensitive", 2 * KX - KY)])
def test_robust_regression_advice_is_scale_equivariant(loss, alpha_power):
    X, y, truth = make_transfer_regression(80, 120, random_state=3)
    law = NoiseLaw([-0.3, 0.3], [0.5, 0.5], [0.01, 0.01], name="two-point")
    c, cy = 2.0**KX, 2.0**KY
    scaled_law = NoiseLaw(law.means * cy, law.weights, law.variances * cy**2, name="two-point")
    want = _quiet(lambda: should_finetune(truth.coef_init, X, y, alpha=0.05, loss=loss,
                                          epsilon=0.3, noise=law))
    got = _quiet(lambda: should_finetune(truth.coef_init * cy / c, X * c, y * cy,
                                         alpha=0.05 * 2.0**alpha_power, loss=loss,
                                         epsilon=0.3 * cy, noise=scaled_law))
    assert want.finetuned_error is not None
    for name in ("pretrained_error", "finetuned_error", "decision_pretrained_error"):
        _same_estimate(getattr(got, name), getattr(want, name), cy**2)
    assert (got.finetune, got.confident) == (want.finetune, want.confident)
    assert got.alpha == 0.05 * 2.0**alpha_power and got.epsilon == 0.3 * cy
    cand, = got.candidates
    assert cand.alpha == got.alpha and cand.epsilon == got.epsilon
    np.testing.assert_allclose(cand.loo_error, want.candidates[0].loo_error * cy**2, rtol=1e-9)
    if np.isfinite(want.recommended_alpha) and want.recommended_alpha > 0:
        np.testing.assert_allclose(got.recommended_alpha,
                                   want.recommended_alpha * 2.0**alpha_power, rtol=1e-9)
    np.testing.assert_allclose(got.unknowns.noise_var, want.unknowns.noise_var * cy**2,
                               rtol=1e-9)


@pytest.mark.parametrize("loss", ["log_loss", "hinge", "modified_huber"])
def test_classification_loss_advice_is_scale_equivariant(loss):
    X, y, truth = make_transfer_classification(90, 150, random_state=4)
    c = 2.0**-KX
    want = _quiet(lambda: should_finetune(truth.coef_init, X, y, alpha=0.1, loss=loss))
    got = _quiet(lambda: should_finetune(truth.coef_init / c, X * c, y, alpha=0.1 * c * c,
                                         loss=loss))
    assert want.finetuned_error is not None
    for name in ("pretrained_error", "finetuned_error", "decision_pretrained_error"):
        _same_estimate(getattr(got, name), getattr(want, name), 1.0)
    assert (got.finetune, got.confident) == (want.finetune, want.confident)
    assert got.candidates[0].alpha == 0.1 * c * c
    np.testing.assert_allclose(got.unknowns.gram[0, 0], want.unknowns.gram[0, 0] * c * c,
                               rtol=1e-9)  # a squared class mean: units of x^2
