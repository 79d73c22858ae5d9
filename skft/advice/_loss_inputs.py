"""The unknowns of the theory of other losses, estimated from data.

Shared by :func:`~skft.should_finetune` (the candidates with a loss other than the squared
one, and multiclass argmax errors) and by the estimators' ``predict_asymptotic_error`` (data
route): one estimate of the same quantities for both.

* Classes (:func:`class_moments`): the priors are the class frequencies; the Euclidean Gram
  matrix of the class means is debiased (``xbar_a' xbar_b`` for ``a != b``,
  ``||xbar_a||^2 - tr(Sigma) / n_a``); ``mu_c' w0_j`` is the mean score of class ``c``;
  ``w0_j' Sigma w0_k`` the pooled within-class covariance of the scores, turned into an
  effective Euclidean Gram ``r w0' Sigma w0 / tr(Sigma)``; the spectrum of the within-class
  covariance by :func:`~skft.advice.estimate_spectrum`. The theory then assumes the means and
  the starts spread over the ``r`` eigen-directions of ``Sigma`` with a positive eigenvalue
  like random directions (``a' f(Sigma) b = (a'b / r) tr f(Sigma)``; a feature constant on
  the data carries none of them).
* Regression (:func:`regression_loss_inputs`): the spectrum, noise variance and shift profile
  of the squared-loss advice, from the design *without an intercept coordinate* (``"free"``
  with an intercept, ``"none"`` without): the loss theory models the intercept itself. They
  describe the data, not the loss. The noise *law* is not identified by second moments:
  Gaussian unless the caller names one; :func:`residual_normality` tests the start's
  residuals, whose law is the noise convolved with a Gaussian (a rejected normality test says
  the noise is not Gaussian either).
"""

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import normaltest

from ..theory import noise_law
from ..theory._robust_regression import _robust_regression_risk
from ._spectrum import estimate_spectrum

__all__ = [
    "NORMALITY_LEVEL",
    "LossUnknowns",
    "class_moments",
    "regression_loss_inputs",
    "residual_normality",
    "robust_risk",
]

#: Level of the normality test of the start's residuals (robust regression losses).
NORMALITY_LEVEL = 0.01


@dataclass(frozen=True)
class LossUnknowns:
    """Estimated unknowns behind the advice for a loss other than the squared one (or the
    argmax error of a multiclass model).

    Attributes
    ----------
    loss : str
    spectrum : SpectrumEstimate
        Estimated eigenvalues of the (within-class) covariance.
    n_samples : int
        Number of independent samples the prediction is for.
    priors : ndarray or None
        Class frequencies (classification).
    gram : ndarray or None
        Debiased Gram matrix of ``[class means, starts]`` (classification), the spread
        assumption's ``d`` times the per-direction products.
    noise : str or None
        The noise law (regression): its name, ``"gaussian (assumed)"`` when none was given.
    noise_var : float or None
        Estimated noise variance (regression).
    shift_signal : float or None
        ``delta' Sigma delta`` of the fitted shift profile (regression).
    intercept_offset : float or None
        The start's intercept error the theory sees (regression).
    profile : ShiftProfile or None
        The fitted shift profile (regression, the design without an intercept coordinate).
    assumptions, fallbacks : tuple of str
    """

    loss: str
    spectrum: object
    n_samples: int
    priors: np.ndarray | None = None
    gram: np.ndarray | None = None
    noise: str | None = None
    noise_var: float | None = None
    shift_signal: float | None = None
    intercept_offset: float | None = None
    profile: object = field(default=None, repr=False)
    assumptions: tuple = ()
    fallbacks: tuple = ()


def class_moments(X, codes, K, W0, X_unlabeled):
    """Priors, spectrum and the Gram profile of ``[mu_1..mu_K, w0_1..w0_J]`` (spread).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    codes : ndarray of int of shape (n_samples,)
        Class index of each sample, in ``0..K-1``.
    K : int
        Number of classes.
    W0 : ndarray of shape (J, n_features)
        Starts (one row per binary problem).
    X_unlabeled : ndarray, dask array or None

    Returns
    -------
    priors : ndarray of shape (K,)
    spectrum : SpectrumEstimate
    prods : ndarray of shape (n_features, K + J, K + J)
        ``G / r`` on each of the ``r`` eigen-directions with a positive eigenvalue, 0 on the
        others (the spread assumption).
    clipped : bool
        Whether the debiased Gram matrix had negative eigenvalues (set to 0).
    """
    n, d = X.shape
    counts = np.bincount(codes, minlength=K)
    if np.any(counts < 2):
        raise ValueError("every class needs at least 2 samples to estimate its mean.")
    means = np.stack([X[codes == c].mean(axis=0) for c in range(K)])
    Z = X - means[codes]
    spectrum = estimate_spectrum(Z, extra=X_unlabeled)
    trace = float(np.sum(Z * Z) / (n - K))  # unbiased within-class tr(Sigma)
    G_mm = means @ means.T
    G_mm[np.diag_indices(K)] -= trace / counts
    scores = X @ W0.T
    G_mw = np.stack([scores[codes == c].mean(axis=0) for c in range(K)])  # mu_c' w0_j
    S = scores - G_mw[codes]
    wsw = S.T @ S / (n - K)  # w0_j' Sigma w0_k
    # the spread is over the directions the features vary in (an exactly constant feature,
    # a null direction of the spectrum, carries no part of the means or of the scores)
    pos = spectrum.eigenvalues > 0
    r = max(int(np.count_nonzero(pos)), 1)
    G_ww = r * wsw / max(spectrum.trace, np.finfo(float).tiny)
    G = np.block([[G_mm, G_mw], [G_mw.T, G_ww]])
    # nearest PSD Gram (a debiased Gram may not be), taken in the features' own unit
    # sqrt(tau), tau = tr(Sigma) / d: the means (units of x) divided by it, the starts (1/x)
    # multiplied, so that the projection does not depend on the units of X (a matrix of mixed
    # units would); for features of order 1 (as the advice scales them) tau ~ 1
    tau = max(spectrum.trace / d, np.finfo(float).tiny)
    scale = np.r_[np.full(K, np.sqrt(tau)), np.full(W0.shape[0], 1.0 / np.sqrt(tau))]
    Gs = G / np.outer(scale, scale)
    ev, U = np.linalg.eigh((Gs + Gs.T) / 2)
    clipped = bool(ev.min() < 0)
    G = ((U * np.clip(ev, 0.0, None)) @ U.T) * np.outer(scale, scale)
    if r == d:
        prods = np.broadcast_to(G / d, (d,) + G.shape)
    else:
        prods = np.where(pos[:, None, None], G[None] / r, 0.0)
    return counts / n, spectrum, prods, clipped


def residual_normality(r):
    """p-value of D'Agostino and Pearson's normality test of the centred residuals, or None
    (fewer than 20 residuals: not run)."""
    r = np.asarray(r, dtype=float)
    if r.size < 20 or not np.ptp(r) > 0:
        return None
    return float(normaltest(r - r.mean()).pvalue)


def regression_loss_inputs(unknowns, r, noise, fit_intercept):
    """Eigenvalues, squared shift coordinates, noise law and start offset for the theory.

    Parameters
    ----------
    unknowns : RegressionUnknowns
        Of the ``"free"`` design (with an intercept) or ``"none"`` (without).
    r : ndarray of shape (n_samples,)
        Residuals ``y - X w0 - b0`` of the start.
    noise : str, NoiseLaw, (values, weights) or None
        The noise law; None: Gaussian (an assumption).
    fit_intercept : bool

    Returns
    -------
    eigenvalues, delta_coords_sq : ndarray of shape (n_features,)
    law : NoiseLaw
        Scaled to the estimated noise variance when named.
    offset : float
        ``b0 - b_star``, the start's intercept error, debiased: ``-sign(mean r)
        sqrt(offset^2)`` with ``offset^2 = max(mean(r)^2 - var(r) / n, 0)``.

    Notes
    -----
    With an intercept the design ``"free"`` is centred: its noise variance excludes the
    offset, which matters to the theory only at ``alpha = 0`` (where the intercept is one more
    coordinate, moved from the start's). Without an intercept the design ``"none"`` sees a
    constant offset of the residuals as noise (its fitted noise variance is
    ``s2 + offset^2``); the loss theory takes the offset apart (a robust loss treats a
    constant shift of every residual otherwise than noise), so the noise variance is
    ``s2 - offset^2``.
    """
    lam, dcoords = unknowns.theory_inputs()  # the fitted shift profile (or spread evenly)
    dsq = np.asarray(dcoords, dtype=np.float64) ** 2
    s2 = max(float(unknowns.noise_var), 0.0)
    r = np.asarray(r, dtype=np.float64)
    m = float(np.mean(r))
    off2 = max(m * m - float(np.var(r, ddof=1)) / r.size, 0.0) if r.size > 1 else m * m
    if not fit_intercept:
        off2 = min(off2, s2)
        s2 -= off2
    offset = -float(np.sign(m)) * float(np.sqrt(off2))
    law = noise_law("gaussian" if noise is None else noise, s2)
    return np.asarray(lam, dtype=np.float64), dsq, law, offset


def robust_risk(lam, dsq, law, n, alpha, *, loss, epsilon, fit_intercept, offset):
    """:func:`skft.theory._robust_regression._robust_regression_risk` on broadcast ``(n,
    alpha)``, the start's intercept error passed only where it matters.

    With a fitted intercept and ``alpha > 0`` the intercept is free and the start's offset
    does not enter the limit; it is passed only at ``alpha = 0`` (the intercept is then one more
    coordinate moved from the start's). Passing it elsewhere changes nothing but the solver's
    starting point, from which a large offset was seen not to converge.

    Returns
    -------
    RobustRegressionRisk
        Of the ``alpha > 0`` points when all are, else of the call that served them all
        (``finetuned`` always of the broadcast shape).
    """
    nn, aa = np.broadcast_arrays(np.asarray(n, dtype=np.float64),
                                 np.asarray(alpha, dtype=np.float64))
    opts = dict(loss=loss, epsilon=epsilon, fit_intercept=fit_intercept)
    zero = aa == 0
    if not fit_intercept or np.all(zero):
        return _robust_regression_risk(lam, dsq, law, nn, aa, intercept_offset=offset, **opts)
    if not np.any(zero) or offset == 0.0:
        return _robust_regression_risk(lam, dsq, law, nn, aa, intercept_offset=0.0, **opts)
    res = _robust_regression_risk(lam, dsq, law, nn, aa, intercept_offset=0.0, **opts)
    at0 = _robust_regression_risk(lam, dsq, law, nn[zero], aa[zero], intercept_offset=offset,
                                  **opts)
    fields = {}
    for name, value in vars(res).items():
        if isinstance(value, np.ndarray) and value.shape == nn.shape:
            value = value.copy()
            value[zero] = getattr(at0, name)
        fields[name] = value
    return type(res)(**fields)
