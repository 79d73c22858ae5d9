"""Asymptotic test error of the pretrained and of the fine-tuned linear regressor."""

from dataclasses import dataclass

import numpy as np

from ._spectrum import (
    Spectrum,
    _as_float_array,
    _check_n_alpha,
    _clip_alpha,
    _normalise,
    _solve_kappa,
)

__all__ = ["RegressionRisk", "regression_risk"]


@dataclass(frozen=True)
class RegressionRisk:
    """Expected test MSE (noise included) of the pretrained and fine-tuned regressors.

    Arrays have the shape of ``broadcast(n_samples, alpha)``; floats for scalar inputs.

    Attributes
    ----------
    pretrained : float
        ``delta' Sigma delta + noise_var``: test MSE of the start ``w0``.
    finetuned : float or ndarray
        ``noise_var + bias + variance``: test MSE of the fine-tuned model (``inf`` at
        ``n = rank`` with ``alpha = 0``, the interpolation peak).
    bias : float or ndarray
        ``kappa^2 delta' Sigma (Sigma + kappa)^-2 delta / (1 - df2/n)``.
    variance : float or ndarray
        ``noise_var * df2 / (n - df2)``.
    kappa : float or ndarray
        Effective regularisation (see :func:`effective_regularization`).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import regression_risk
    >>> res = regression_risk(np.ones(100), np.full(100, 0.1), 0.25, n_samples=50)
    >>> res.pretrained, round(res.bias + res.variance + 0.25, 6) == round(res.finetuned, 6)
    (1.25, True)
    """

    pretrained: float
    finetuned: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    kappa: np.ndarray


def _regression_risk(eigenvalues, delta_coords_sq, noise_var, n_samples, alpha=0.0):
    """Pure regression risk on eigen-coordinates (no validation).

    This is the layer to call with an *assumed* spread of ``delta`` over the
    eigen-directions (contract used by ``should_finetune``).

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues ``l_j >= 0`` of ``Sigma`` (exact zeros for null directions).
    delta_coords_sq : ndarray of shape (d,)
        Squared eigen-coordinates ``(V' delta)_j^2`` of ``delta = w0 - w_star``, or any
        assumed non-negative profile, e.g. ``np.full(d, ||delta||^2 / d)`` ("delta
        spread like a random direction") or ``c * profile`` with
        ``c = (delta' Sigma delta) / sum_j l_j profile_j`` to match a known
        ``delta' Sigma delta``.
    noise_var : float
        Noise variance ``s2 >= 0``.
    n_samples, alpha : ndarray
        Broadcastable arrays (``n > 0``, ``alpha >= 0``).

    Returns
    -------
    RegressionRisk
        With array fields of shape ``broadcast(n_samples, alpha)`` (always arrays).
    """
    # unit scale (see _normalise): kappa and the bias scale with t, the variance not at all
    lam, t = _normalise(eigenvalues)
    dsq = np.asarray(delta_coords_sq, dtype=np.float64)
    n, a = np.broadcast_arrays(
        np.asarray(n_samples, dtype=np.float64), np.asarray(alpha, dtype=np.float64)
    )
    shape = n.shape
    n, a = n.ravel(), a.ravel() / t
    a = _clip_alpha(lam, a)
    rank = int(np.count_nonzero(lam))
    k, s1, s2 = _solve_kappa(lam, n, a, extra2=np.column_stack([lam * lam, dsq * lam]))
    pos = k > 0
    bias = np.zeros(n.size)
    var = np.zeros(n.size)
    # k > 0: with h(k) = 0, n - df2 = n alpha / k + k g is a sum of positive terms.
    kp, np_ = k[pos], n[pos]
    g, df2, r2 = s2[pos, 0], s2[pos, 1], s2[pos, 2]
    denom = np_ * a[pos] / kp + kp * g  # n - df2
    bias[pos] = kp**2 * r2 * np_ / denom
    var[pos] = noise_var * df2 / denom
    # k = 0 (alpha = 0, n >= rank): least squares on the span of Sigma.
    ls = ~pos
    if np.any(ls):
        with np.errstate(divide="ignore", invalid="ignore"):
            gap = n[ls] - rank
            v = np.where(gap > 0, noise_var * rank / np.where(gap > 0, gap, 1.0), np.inf)
        var[ls] = np.where((noise_var == 0) & (gap <= 0), 0.0, v) if rank else 0.0
    bias, k = t * bias, t * k
    pretrained = float(t * (lam @ dsq) + noise_var)
    fine = noise_var + bias + var
    return RegressionRisk(
        pretrained=pretrained,
        finetuned=fine.reshape(shape),
        bias=bias.reshape(shape),
        variance=var.reshape(shape),
        kappa=k.reshape(shape),
    )


def _check_noise(noise_var):
    s2 = _as_float_array(noise_var, "noise_var")
    if s2.ndim != 0:
        raise ValueError(f"noise_var must be a scalar, got shape {s2.shape}.")
    if s2 < 0:
        raise ValueError(f"noise_var must be >= 0, got {float(s2)!r}.")
    return float(s2)


def _squeeze(res):
    """Floats instead of 0-d arrays."""
    fields = {name: (float(val) if np.ndim(val) == 0 else val) for name, val in vars(res).items()}
    return type(res)(**fields)


def regression_risk(covariance, delta, noise_var, n_samples, alpha=0.0):
    r"""Asymptotic test MSE of the pretrained and of the fine-tuned regressor.

    Setting: target data ``y = x' w_star + eps`` with ``E x = 0``, ``Cov x = Sigma``,
    ``E eps = 0``, ``Var eps = noise_var``, ``n`` samples. The start is ``w0`` and
    ``delta = w0 - w_star``. Fine-tuning is ridge toward the start (the limit of SGD on the
    squared loss started at ``w0``, with the pull ``alpha/2 ||w - w0||^2``, no intercept):
    ``w = w0 + X'(X X' + n alpha I)^{-1} (y - X w0)``; for ``alpha = 0`` this is the closest
    interpolator to ``w0`` when ``n < d`` and least squares when ``n > d``.

    In the proportional limit (``n, d -> inf``, ``n / d`` fixed; only first and second
    moments of the features matter), with ``df1(k) = sum_j l_j/(l_j + k)``,
    ``df2(k) = sum_j l_j^2/(l_j + k)^2`` and ``kappa`` solving
    ``kappa - alpha = kappa df1(kappa) / n``:

    .. math::

        R_{pre} = \delta'\Sigma\delta + s^2, \qquad
        R_{ft} = s^2 + \frac{\kappa^2 \delta'\Sigma(\Sigma+\kappa)^{-2}\delta}
        {1 - \mathrm{df}_2/n} + s^2 \frac{\mathrm{df}_2}{n - \mathrm{df}_2}.

    For ``alpha = 0`` and ``n > r`` (``r`` the rank of ``Sigma``): ``kappa = 0``, bias 0
    and variance ``s2 r / (n - r)``; at ``n = r`` the fine-tuned risk is infinite
    (unless ``noise_var = 0``).

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Target feature covariance ``Sigma`` (symmetric PSD matrix, its diagonal, or a
        precomputed :class:`Spectrum` to avoid re-diagonalising).
    delta : array-like of shape (d,)
        ``w0 - w_star``: error of the pretrained coefficients on the target task.
    noise_var : float
        Target noise variance ``s2 >= 0``.
    n_samples : float or array-like
        Number of target samples ``n > 0``.
    alpha : float or array-like, default=0.0
        Pull toward the start ``alpha >= 0``; broadcast with ``n_samples``.

    Returns
    -------
    RegressionRisk
        ``.pretrained``, ``.finetuned``, ``.bias``, ``.variance``, ``.kappa``.

    Examples
    --------
    Isotropic case, ``alpha = 0``, ``n < d``: ``R_ft = s2 + (1 - n/d)||delta||^2 +
    s2 n / (d - n)``.

    >>> import numpy as np
    >>> from skft.theory import regression_risk
    >>> d = 400
    >>> delta = np.full(d, 1.0 / np.sqrt(d))          # ||delta||^2 = 1
    >>> risk = regression_risk(np.ones(d), delta, noise_var=0.25, n_samples=[100, 800])
    >>> risk.pretrained
    1.25
    >>> risk.finetuned                  # [0.25 + 0.75 + 0.25/3, 0.25 + 0.25 * 400/400]
    array([1.0833..., 0.5       ])
    """
    spec = Spectrum.from_covariance(covariance)
    dsq = spec.coords(delta, "delta") ** 2
    s2 = _check_noise(noise_var)
    n, a = _check_n_alpha(n_samples, alpha)
    return _squeeze(_regression_risk(spec.eigenvalues, dsq, s2, n, a))
