"""The moments route of ``predict_asymptotic_error`` for a regressor with an intercept.

Uncentred features (mean ``m``) and a start whose intercept is off by ``c``: the free
intercept at ``alpha > 0`` (the theory on the centred covariance at ``n - 1``), the augmented
design ``(x, 1)`` at ``alpha = 0``, or the offset counted as noise without an intercept.
"""

import numpy as np

from ..theory import regression_risk

__all__ = []

#: A pull at least this large keeps the start (``alpha = inf``).
_ALPHA_INF = 1e300

#: Largest dimension for which the second moments of ``(x, 1)`` are formed as a matrix
#: (uncentred features with an intercept at ``alpha = 0``).
MAX_AUGMENTED_DIM = 6000


def _regression_with_intercept(
    covariance, delta, noise_var, n, alpha, fit_intercept, feature_mean, intercept_offset
):
    """The regression risk with an intercept and uncentred features (moments route).

    ``alpha > 0`` with an intercept: the free intercept, the theory at ``n - 1`` on the
    centred covariance. ``alpha = 0`` with an intercept: the augmented design ``(x, 1)``
    with second moments ``[[Sigma + m m', m], [m', 1]]`` and shift ``(delta, c)``, at
    ``n``. Without intercept: the features' second moments ``Sigma + m m'`` with the offset
    counted as noise (only when ``m = 0``). The pretrained error is always
    ``delta' Sigma delta + (m' delta + c)^2 + s2``.
    """
    from dataclasses import replace

    from ..theory import Spectrum
    from ..theory._regression import RegressionRisk

    spec = Spectrum.from_covariance(covariance)
    d = spec.n_features
    delta = np.asarray(delta, dtype=np.float64)
    if delta.shape != (d,):
        raise ValueError(f"delta must have shape ({d},) to match covariance, got {delta.shape}.")
    m = np.zeros(d) if feature_mean is None else np.asarray(feature_mean, dtype=np.float64)
    if m.ndim == 0:
        m = np.full(d, float(m))
    if m.shape != (d,) or not np.all(np.isfinite(m)):
        raise ValueError(f"feature_mean must be a number or an array of shape ({d},).")
    c = 0.0 if intercept_offset is None else float(intercept_offset)
    if not np.isfinite(c):
        raise ValueError("intercept_offset must be finite.")
    s2 = float(noise_var)
    coords = spec.coords(delta, "delta")
    quad = float(spec.eigenvalues @ coords**2)
    pretrained = quad + (float(m @ delta) + c) ** 2 + s2
    centred = not np.any(m)
    nn, aa = np.broadcast_arrays(np.asarray(n, float), np.asarray(alpha, float))
    out = np.empty(nn.shape)
    if not fit_intercept:
        if not centred and c != 0.0:
            raise ValueError(
                "an intercept_offset with uncentred features and fit_intercept=False is not "
                "covered by the theory (the offset is partly explained by the features' mean); "
                "fit an intercept or centre the features."
            )
        cov = _second_moments(spec, m)
        res = regression_risk(cov, delta, s2 + c**2, nn, aa)
        fine = np.where(aa >= _ALPHA_INF, pretrained, res.finetuned)  # alpha = inf: the start
        fine = float(fine) if fine.ndim == 0 else fine
        return replace(res, pretrained=pretrained, finetuned=fine)
    keep = aa >= _ALPHA_INF  # alpha = inf: the start's slope, the intercept refitted
    out[keep] = (quad + s2) * (1.0 + 1.0 / nn[keep])
    pos = (aa > 0) & ~keep
    if np.any(pos):
        out[pos] = regression_risk(spec, delta, s2, nn[pos] - 1.0, aa[pos]).finetuned
    if not np.all(pos):
        aug_cov = _augmented_moments(spec, m)
        aug_delta = np.r_[delta, c]
        out[~pos] = regression_risk(aug_cov, aug_delta, s2, nn[~pos], 0.0).finetuned
    nan = np.full(nn.shape, np.nan)  # the two intercept models split differently
    out_s = float(out) if out.ndim == 0 else out
    return RegressionRisk(
        pretrained=pretrained, finetuned=out_s, bias=nan, variance=nan, kappa=nan
    )


def _dense_covariance(spec):
    lam = spec.eigenvalues
    if spec.eigenvectors is None:
        return np.diag(lam)
    V = spec.eigenvectors
    return (V * lam) @ V.T


def _second_moments(spec, m):
    """``Sigma + m m'`` (a Spectrum unchanged when ``m = 0``)."""
    if not np.any(m):
        return spec
    if spec.n_features > MAX_AUGMENTED_DIM:
        raise ValueError(
            f"uncentred features with n_features={spec.n_features} > {MAX_AUGMENTED_DIM}: the "
            "second-moment matrix is not formed; centre the features (pass feature_mean=None)."
        )
    return _dense_covariance(spec) + np.outer(m, m)


def _augmented_moments(spec, m):
    """Second moments of ``(x, 1)``: ``[[Sigma + m m', m], [m', 1]]``."""
    d = spec.n_features
    if not np.any(m):
        if spec.eigenvectors is None:
            return np.r_[spec.eigenvalues, 1.0]
    if d + 1 > MAX_AUGMENTED_DIM:
        raise ValueError(
            f"the intercept at alpha = 0 with n_features={d} needs the (d + 1) x (d + 1) second "
            f"moments of (x, 1), formed only up to {MAX_AUGMENTED_DIM}; pass a diagonal "
            "covariance with centred features, or alpha > 0."
        )
    top = _dense_covariance(spec) + np.outer(m, m)
    return np.block([[top, m[:, None]], [m[None, :], np.ones((1, 1))]])
