"""``predict_asymptotic_error`` of classifiers with other losses, data route, at any scale.

The unknowns are estimated on ``X / 2^k`` (entries of order 1), so the error rates of a problem
whose features are multiplied by ``c = 2^j`` (coefficients by ``1/c``, the pull by ``c^2``) are
those of the problem at scale 1: the independent route is that problem. Before, features
~1e120 overflowed the spectrum estimate (``sum(g**2)``, a RuntimeWarning) and moved the answer.
"""

import warnings

import numpy as np
import pytest

from skft import WarmStartSGDClassifier
from skft.datasets import make_transfer_classification


def _errors(X, y, coef, loss, alpha, fit_intercept):
    est = WarmStartSGDClassifier(coef, 0.0, alpha=alpha, loss=loss, solver="exact",
                                 fit_intercept=fit_intercept)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # fit's convergence notes
        est.fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning from the estimate
        res = est.predict_asymptotic_error(X, y, n_samples=[X.shape[0], 3 * X.shape[0]])
    return np.r_[res.pretrained, np.ravel(res.finetuned)]


@pytest.mark.parametrize("loss", ["log_loss", "hinge"])
@pytest.mark.parametrize("j", [-400, 400])
def test_classifier_data_route_is_scale_equivariant(loss, j):
    X, y, truth = make_transfer_classification(80, 60, random_state=2)
    c = 2.0**j
    want = _errors(X, y, truth.coef_init, loss, 0.1, True)
    got = _errors(X * c, y, truth.coef_init / c, loss, 0.1 * c * c, True)
    np.testing.assert_allclose(got, want, rtol=1e-9)


def test_multiclass_data_route_at_1e120():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 30))
    W = rng.standard_normal((3, 30))
    y = np.argmax(X @ W.T + rng.standard_normal((120, 3)), axis=1)
    want = _errors(X, y, W, "log_loss", 0.5, False)
    got = _errors(X * 2.0**400, y, W * 2.0**-400, "log_loss", 0.5 * 2.0**800, False)
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("loss", ["huber", "epsilon_insensitive"])
@pytest.mark.parametrize(("c", "cy"), [(1e100, 1.0), (1e-100, 1e50), (3.7, 1e-30)])
def test_robust_regressor_data_route_is_scale_equivariant(loss, c, cy):
    """X * c, y * cy (coefficients * cy / c, epsilon * cy; the pull * c^2, and / cy for
    epsilon_insensitive, whose loss is linear in the residual): MSEs * cy^2. Was: the
    epsilon_insensitive unknowns estimated at its pull taken in the squared loss's units, 2 %
    off at cy = 1e50."""
    from skft import WarmStartSGDRegressor
    from skft.datasets import make_transfer_regression

    X, y, truth = make_transfer_regression(120, 80, random_state=0)

    def mse(c, cy):
        alpha = 0.1 * c * c / (cy if loss == "epsilon_insensitive" else 1.0)
        est = WarmStartSGDRegressor(truth.coef_init * cy / c, alpha=alpha, loss=loss,
                                    epsilon=0.3 * cy, solver="exact")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=UserWarning)
            est.fit(X * c, y * cy)
            res = est.predict_asymptotic_error(X * c, y * cy, n_samples=[120, 360])
        return np.r_[res.pretrained, np.ravel(res.finetuned)] / cy**2

    np.testing.assert_allclose(mse(c, cy), mse(1.0, 1.0), rtol=1e-9)
