"""The shift's profile over the eigen-directions of the covariance, read from the GCV curve.

The fine-tuned risk at ``n`` samples and pull ``alpha`` is, in the proportional limit,

.. math::

    R(n, \\alpha) = \\frac{n}{n - \\mathrm{df}_2(\\kappa)} \\Bigl(s^2 + \\sum_j
        (v_j^\\top\\delta)^2 \\frac{\\ell_j \\kappa^2}{(\\ell_j + \\kappa)^2}\\Bigr),
    \\qquad \\kappa = \\kappa(n, \\alpha),

(the bias and variance of :func:`skft.theory.regression_risk` put over one denominator): it
depends on the shift ``delta = w0 - w_star`` only through the *shift-weighted spectral
measure* ``sum_j (v_j' delta)^2 point_mass(l_j)``, and is **linear** in the noise variance
``s2`` and in that measure. Generalised cross-validation at the observed ``n`` is consistent
for the fine-tuned risk whatever the shift (Patil et al. 2021), and along a path of ``alpha``
it reads ``G(kappa) = GCV(alpha) (1 - df2/n) = s2 + F(kappa)`` at every
``kappa = kappa(n, alpha)`` from ``kappa(n, 0)`` up. So the measure is fitted, as a
non-negative level of squared shift per eigen-direction on bins of the (estimated)
eigenvalues, to that curve together with two unbiased moments of the pretrained residuals
``r``: ``mean(r^2) = s2 + delta' Sigma delta`` and the Dicker statistic
``sum_{i != j} r_i r_j x_i'x_j / (n (n - 1)) = delta' Sigma^2 delta``. The fit is generalised
least squares with the observations' covariance estimated from their per-sample terms (the
points of the curve are strongly correlated), a model-error allowance of ``MODEL_RTOL`` of
each value, non-negativity, and a weak smoothness prior across neighbouring bins (log
eigenvalue); its posterior covariance gives the standard error of every prediction.

Identifiability. The curve sees the measure only through ``l k^2 / (l + k)^2`` for
``k >= k_min = kappa(n, 0)``: eigen-directions with ``l << k_min`` contribute ``l`` whatever
``k`` and cannot be told from noise. Predictions at the observed ``n`` (any ``alpha``) and at
smaller ``n`` do not need that split; predictions at larger ``n`` with small ``alpha`` do,
and there the prior (the profile continues smoothly below ``k_min``) decides, with the
posterior standard error saying how much. ``unresolved_share`` reports how much of the signal
sits below ``k_min``. When ``n`` exceeds the rank (``k_min = 0``) everything is identified.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import lsq_linear

from .._core._dense_linalg import Cholesky, small_work
from ..theory._spectrum import _solve_kappa

__all__ = ["ShiftProfile", "fit_shift_profile", "alpha_path"]

#: Model-error allowance: each observation's standard error gets this fraction of its value
#: added in quadrature (the theory is a proportional-limit approximation).
MODEL_RTOL = 0.02
#: Weight of the smoothness prior between neighbouring bins, in units of the flat profile.
SMOOTHNESS = 1.0
#: The GCV curve counts as this many independent observations in the fit.
CURVE_WEIGHT = 4.0
#: Weight of the measured pretrained error (relative to its precision): matched almost exactly.
PRETRAINED_WEIGHT = 100.0
#: Relative weight of the pull asked for on the curve.
EMPHASIS = 10.0
#: Largest number of eigenvalue bins.
N_BINS = 24


def alpha_path(eigenvalues, alpha=None, n_points=22):
    """Pulls along which the GCV curve is read: 0 and ``tau * logspace(-3, 2.5)``.

    ``tau = tr(Sigma) / d``; the pull asked for is added when positive.

    Parameters
    ----------
    eigenvalues : ndarray
    alpha : float, default=None
    n_points : int, default=22

    Returns
    -------
    ndarray
    """
    ev = np.asarray(eigenvalues, dtype=float)
    tau = float(ev.sum() / ev.size) if ev.sum() > 0 else 1.0
    grid = np.r_[0.0, tau * np.logspace(-3, 2.5, n_points)]
    if alpha is not None and alpha > 0:
        grid = np.unique(np.r_[grid, float(alpha)])
    return grid


def _bins(ev, n_bins=N_BINS):
    """Bin index of each eigenvalue (log-spaced bins, empty ones dropped; -1 for zeros)."""
    pos = ev > 0
    out = np.full(ev.size, -1)
    if not np.any(pos):
        return out, 0
    logs = np.log(ev[pos])
    lo, hi = logs.min(), logs.max()
    if hi - lo < 1e-9:
        raw = np.zeros(logs.size, dtype=int)
    else:
        raw = np.minimum(((logs - lo) / (hi - lo) * n_bins).astype(int), n_bins - 1)
    used, idx = np.unique(raw, return_inverse=True)
    out[pos] = idx
    return out, used.size


@dataclass(frozen=True)
class ShiftProfile:
    """Noise variance and shift-weighted spectral measure of a regression transfer problem.

    Attributes
    ----------
    eigenvalues : ndarray of shape (p,)
        Estimated population eigenvalues of the design's second-moment matrix.
    bins : ndarray of shape (p,)
        Bin of each eigenvalue (``-1`` for zero eigenvalues).
    levels : ndarray of shape (n_bins,)
        Fitted squared shift ``(v_j' delta)^2`` per eigen-direction in each bin.
    noise_var : float
        Fitted noise variance ``s2``.
    n_samples : float
        Sample size the theory uses for the data the profile was fitted on.
    resolution : float
        ``k_min = kappa(n, 0)``: eigenvalues well below it are not resolved by the data.
    unresolved_share : float
        Share of the fitted signal ``delta' Sigma delta`` on eigen-directions with
        ``l < k_min / 10``.
    covariance : ndarray of shape (n_bins + 1, n_bins + 1)
        Posterior covariance of ``(noise_var, levels)`` (non-negativity ignored:
        conservative where a level sits at 0).
    lack_of_fit : float
        Weighted mean square of the fit's residuals on the observations (about 1 when the
        theory reproduces them within their standard errors).
    n_obs : int
        Number of observations fitted.
    pretrained_covariance : ndarray of shape (n_bins + 1,)
        Covariance of ``(noise_var, levels)`` with the observed pretrained error of the
        design (for the standard error of the gap).
    pretrained_variance : float
        Variance of the observed pretrained error of the design (same model).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._profile import ShiftProfile
    >>> p = ShiftProfile(np.ones(4), np.zeros(4, int), np.array([0.25]), 0.5, 2.0, 1.0, 0.0,
    ...                  np.zeros((2, 2)), 1.0, 10)
    >>> # isotropic, alpha = 0: s2 + (1 - n/d) ||delta||^2 + s2 n / (d - n) = 0.5 + 0.5 + 0.5
    >>> round(p.signal, 3), round(float(p.risk(2.0, 0.0)), 3)
    (1.0, 1.5)
    """

    eigenvalues: np.ndarray
    bins: np.ndarray
    levels: np.ndarray
    noise_var: float
    n_samples: float
    resolution: float
    unresolved_share: float
    covariance: np.ndarray = field(repr=False)
    lack_of_fit: float = 0.0
    n_obs: int = 0
    pretrained_covariance: np.ndarray = field(default=None, repr=False)
    pretrained_variance: float = 0.0

    @property
    def delta_sq(self):
        """Squared shift per eigen-direction, ``(v_j' delta)^2``."""
        return np.where(self.bins >= 0, self.levels[np.maximum(self.bins, 0)], 0.0)

    @property
    def signal(self):
        """``delta' Sigma delta`` (the pretrained error without the noise)."""
        return float(self.eigenvalues @ self.delta_sq)

    @property
    def shift_norm2(self):
        """``||delta||^2`` over the directions with a positive eigenvalue."""
        return float(np.sum(self.delta_sq))

    def design(self, n, alpha):
        """Rows ``a(n, alpha) * [1, K_1(k), ..., K_B(k)]``: the risk is ``rows @ theta``.

        ``K_b(k) = sum_{j in b} l_j k^2 / (l_j + k)^2`` and ``a = n / (n - df2(k))``.
        Returns the rows (one per broadcast point) and the broadcast shape.
        """
        rows, shape, _, _ = _risk_rows(*self._distinct, self.levels.size, n, alpha)
        return rows, shape

    @cached_property
    def _distinct(self):
        return _distinct(self.eigenvalues, self.bins)

    def _terms(self, n, alpha):
        """Risk, rows of :meth:`design`, amplification and df1 (one pass)."""
        rows, shape, amp, df1 = _risk_rows(*self._distinct, self.levels.size, n, alpha,
                                           scaled=False)
        inner = rows @ np.r_[self.noise_var, self.levels]
        with np.errstate(invalid="ignore", over="ignore"):
            risk = np.where(inner > 0, amp * inner, 0.0)  # at the pole: inf unless no error
            scaled = rows * amp[:, None]
        return risk, scaled, amp, df1, shape

    def risk(self, n, alpha):
        """Predicted fine-tuned test MSE (noise included), broadcast over ``n`` and ``alpha``."""
        risk, _, _, _, shape = self._terms(n, alpha)
        return risk.reshape(shape)

    def risk_se(self, n, alpha):
        """Standard error of :meth:`risk` from the posterior covariance of the fit."""
        _, rows, _, _, shape = self._terms(n, alpha)
        with np.errstate(invalid="ignore", over="ignore"):
            var = np.einsum("ij,jk,ik->i", rows, self.covariance, rows)
        return np.sqrt(np.where(np.isnan(var), np.inf, np.maximum(var, 0.0))).reshape(shape)

    def risk_cov_pretrained(self, n, alpha):
        """Covariance of :meth:`risk` with the observed pretrained error of the design."""
        _, rows, _, _, shape = self._terms(n, alpha)
        with np.errstate(invalid="ignore", over="ignore"):
            out = rows @ self.pretrained_covariance
        return out.reshape(shape)

    def pretrained_var(self, n, alpha):
        """``pretrained_variance``, broadcast over ``n`` and ``alpha``."""
        return np.full(np.broadcast(np.asarray(n), np.asarray(alpha)).shape,
                       self.pretrained_variance)

    def realised_sd(self, n, alpha):
        """Spread of the realised fine-tuned error around the predicted one (finite size).

        The test error of the model fitted on one sample is a random quantity around the
        risk. Its variance part ``V = s2 (a - 1)`` (a quadratic form in the noise) has, for
        Gaussian noise, relative variance ``2 a / df1``, and its bias part ``B`` (the shift
        left in the directions the fit does not reach, random through ``X``) relative
        variance ``2 (a - 1)^2 / (a df1)``; both are exact for isotropic Gaussian features at
        ``alpha = 0`` on either side of the threshold, and used as such otherwise. Near the
        threshold ``a = n / (n - df2)`` is large and so is this spread.
        """
        risk, _, amp, df1, shape = self._terms(n, alpha)
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            var_part = self.noise_var * (amp - 1.0)
            bias_part = np.maximum(risk - self.noise_var * amp, 0.0)
            df1 = np.maximum(df1, 1.0)
            var = (
                var_part**2 * 2.0 * amp / df1
                + bias_part**2 * 2.0 * (amp - 1.0) ** 2 / (amp * df1)
            )
        return np.sqrt(np.maximum(var, 0.0)).reshape(shape)

    def amplification(self, n, alpha):
        """``n / (n - df2(kappa(n, alpha)))``: how much the noise is amplified."""
        _, shape, amp, _ = _risk_rows(*self._distinct, self.levels.size, n, alpha)
        return amp.reshape(shape)

    def pretrained_rows(self):
        """Row ``[1, L_1, ..., L_B]``, ``L_b = sum_{j in b} l_j``: the pretrained error."""
        return np.r_[1.0, _bin_sums(self.eigenvalues, self.bins, self.levels.size)]


def _bin_sums(values, bins, n_bins):
    return np.bincount(bins[bins >= 0], weights=values[bins >= 0], minlength=n_bins)


def _distinct(ev, bins):
    """Distinct eigenvalues, their bins and multiplicities.

    The estimated spectra repeat a few values (quantiles of a grid,
    :mod:`skft.advice._spectrum`), so every sum over the ``d`` eigenvalues runs over far
    fewer terms: the same sums, grouped."""
    vals, first, counts = np.unique(ev, return_index=True, return_counts=True)
    return vals, bins[first], counts.astype(float)


def _risk_rows(ev, bins, weights, n_bins, n, alpha, chunk=256, scaled=True):
    """Rows ``a * [1, K_1, ..., K_B]`` (the risk is ``rows @ theta``; without the factor
    ``a`` when not ``scaled``), their shape, the amplification ``a = n / (n - df2)`` and
    ``df1`` at ``kappa(n, alpha)``. ``weights``: multiplicity of each eigenvalue
    (:func:`_distinct`)."""
    n, a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(alpha, dtype=float))
    shape = n.shape
    n, a = n.ravel(), a.ravel()
    top = float(ev.max(initial=0.0))
    a = np.minimum(a, 1e12 * (top if top > 0 else 1.0))
    k = _solve_kappa(ev, n, a, weights=weights)[0]
    pos = ev > 0
    rank = float(np.sum(weights[pos]))
    evp, binp, wp = ev[pos], bins[pos], weights[pos]
    onehot = np.zeros((evp.size, n_bins))
    onehot[np.arange(evp.size), binp] = wp
    rows = np.zeros((n.size, n_bins + 1))
    df2 = np.full(n.size, rank)
    for start in range(0, n.size, chunk):
        sl = slice(start, start + chunk)
        kk = k[sl]
        live = kk > 0
        if np.any(live):
            frac = kk[live, None] / (evp[None, :] + kk[live, None])  # k / (l + k)
            df2[sl][live] = (1.0 - frac) ** 2 @ wp
            block = rows[sl]
            block[live, 1:] = (evp[None, :] * frac**2) @ onehot
            rows[sl] = block
    with np.errstate(divide="ignore"):
        gap = n - df2
        amp = np.where(gap > 0, n / np.where(gap > 0, gap, 1.0), np.inf)
    rows[:, 0] = 1.0
    if scaled:
        with np.errstate(invalid="ignore"):
            rows = np.where(np.isfinite(amp)[:, None], rows * amp[:, None], np.inf)
    df1 = np.where(k > 0, n * (1.0 - a / np.where(k > 0, k, 1.0)), rank)
    return rows, shape, amp, df1


def fit_shift_profile(
    spectrum_ev, n_samples, alphas, observed, observed_cov, emphasis=None, use_dicker=True
):
    """Fit the noise variance and the shift-weighted spectral measure (module docstring).

    Parameters
    ----------
    spectrum_ev : ndarray of shape (p,)
        Estimated population eigenvalues of the design.
    n_samples : float
        Sample size the theory uses for this design (``n``, or ``n - 1`` with a free
        intercept).
    alphas : ndarray of shape (m,)
        Pulls of the GCV curve.
    observed : ndarray of shape (m + 2,)
        The GCV errors along ``alphas`` (``nan`` where undefined: dropped), the pretrained
        error ``s2 + delta' Sigma delta`` of the design and the Dicker statistic
        ``delta' Sigma^2 delta``.
    observed_cov : ndarray of shape (m + 2, m + 2)
        Their covariance (:meth:`SpectralTerms.covariance`).
    emphasis : ndarray of bool of shape (m,), default=None
        Points of the curve weighted ``EMPHASIS`` times (the pull asked for).
    use_dicker : bool, default=True
        Whether the Dicker statistic is fitted too.

    Returns
    -------
    ShiftProfile
    """
    ev = np.asarray(spectrum_ev, dtype=float)
    bins, nb = _bins(ev)
    m_all = alphas.size
    gcv = observed[:m_all]
    distinct = _distinct(ev, bins)
    rows, _, _, _ = _risk_rows(*distinct, nb, float(n_samples), alphas)
    keep = np.isfinite(gcv) & np.isfinite(rows[:, 0])
    idx = np.r_[np.flatnonzero(keep), m_all, m_all + 1][: keep.sum() + (2 if use_dicker else 1)]
    rows, gcv = rows[keep], gcv[keep]
    amp = rows[:, 0].copy()
    k0 = _solve_kappa(distinct[0], np.array([float(n_samples)]), np.array([0.0]),
                      weights=distinct[2])[0][0]
    L = _bin_sums(ev, bins, nb)
    m1 = float(observed[m_all])
    if not m1 > 0:
        return ShiftProfile(
            ev, bins, np.zeros(nb), 0.0, float(n_samples), float(k0), 0.0,
            np.zeros((nb + 1, nb + 1)), 0.0, 0, np.zeros(nb + 1),
        )
    # observations y = M theta + error: the curve G = GCV / amp, then m1 and t2
    M = [rows / amp[:, None], np.r_[1.0, L][None, :]]
    scale_obs = np.r_[1.0 / amp, 1.0]
    if use_dicker:
        M.append(np.r_[0.0, _bin_sums(ev**2, bins, nb)][None, :])
        scale_obs = np.r_[scale_obs, 1.0]
    M = np.vstack(M)
    y = observed[idx] * scale_obs
    cov = observed_cov[np.ix_(idx, idx)] * np.outer(scale_obs, scale_obs)
    m = int(keep.sum())
    allowance = (MODEL_RTOL * np.abs(y)) ** 2
    allowance[m] = 0.0  # the pretrained error is measured, not modelled
    cov = cov + np.diag(allowance + 1e-12 * m1**2)
    # weighted least squares (the curve's points are strongly correlated: generalised least
    # squares would trade a common offset of the whole curve for its shape), the curve
    # counting as CURVE_WEIGHT observations, the pull asked for as EMPHASIS of them; the
    # pretrained error is matched almost exactly (weight PRETRAINED_WEIGHT): the theory's
    # alpha -> inf limit is the measured error
    var = np.diag(cov)
    w = 1.0 / var
    w[m] *= PRETRAINED_WEIGHT
    wc = np.ones(m) if emphasis is None else np.where(emphasis[keep], EMPHASIS, 1.0)
    wc = CURVE_WEIGHT * wc / wc.sum()
    w[:m] = wc / var[:m]
    sw = np.sqrt(w)
    A = M * sw[:, None]
    b = y * sw
    # smoothness prior between neighbouring bins, in units of the flat profile m1 / tr
    q_ref = m1 / max(float(L.sum()), 1e-300)
    prior = np.zeros((max(nb - 1, 0), nb + 1))
    for j in range(nb - 1):
        prior[j, j + 1], prior[j, j + 2] = -1.0, 1.0
    prior *= SMOOTHNESS / q_ref
    A_all = np.vstack([A, prior])
    b_all = np.concatenate([b, np.zeros(prior.shape[0])])
    scale = np.maximum(np.abs(A_all).max(axis=0), 1e-300)
    with small_work():  # bounded least squares on NumPy's lstsq, a few dozen unknowns
        sol = lsq_linear(A_all / scale, b_all, bounds=(0.0, np.inf), method="bvls")
    theta = sol.x / scale
    resid = (M @ theta - y) / np.sqrt(var)
    lack = float(np.sum(w * var * resid**2) / np.sum(w * var))
    # sandwich covariance of the weighted fit: theta ~ L y with L = (A'WA + P'P)^-1 M'W,
    # Cov(theta) = L C L' + (A'WA + P'P)^-1 P'P (A'WA + P'P)^-1, Cov(theta, m1) = L C e_m1
    # (computed on the columns scaled as in the fit: the jitter is relative to every column,
    # not to the largest, whose units differ: noise variance against squared shifts)
    As = A_all / scale
    info_s = As.T @ As
    try:  # NumPy's LAPACK only (one BLAS pool in the advice)
        inv_s = Cholesky(info_s + 1e-12 * np.trace(info_s) * np.eye(nb + 1)).solve(np.eye(nb + 1))
    except np.linalg.LinAlgError:
        inv_s = np.linalg.pinv(info_s)
    inv = inv_s / np.outer(scale, scale)
    lin = inv @ (M * w[:, None]).T
    post = lin @ cov @ lin.T + inv @ (prior.T @ prior) @ inv
    with_m1 = lin @ cov[:, m]
    levels = theta[1:]
    dsq = np.where(bins >= 0, levels[np.maximum(bins, 0)], 0.0)
    sig = ev * dsq
    total = float(sig.sum())
    unresolved = float(sig[ev < 0.1 * k0].sum() / total) if total > 0 and k0 > 0 else 0.0
    return ShiftProfile(
        eigenvalues=ev,
        bins=bins,
        levels=levels,
        noise_var=float(theta[0]),
        n_samples=float(n_samples),
        resolution=float(k0),
        unresolved_share=unresolved,
        covariance=post,
        lack_of_fit=lack,
        n_obs=int(resid.size),
        pretrained_covariance=with_m1,
        pretrained_variance=float(cov[m, m]),
    )
