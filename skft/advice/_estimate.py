"""Estimators of the unknowns the theory needs, from the user's own target data.

Everything here is a method of moments on quantities the pretrained model never saw, so it is
unbiased without refitting anything:

* Pretrained error: ``mean(r_i^2)`` with ``r = y - X w0 - b0`` (regression) or the error rate
  of ``sign(X w0 + b0)`` (classification), each with its standard error.
* Target covariance: :func:`~skft.advice.estimate_spectrum` on the labelled rows, together with
  ``X_unlabeled`` when given.
* Regression (Dicker-type moments). With ``delta = w0 - w_star``, ``E r^2 = delta' Sigma delta
  + s2`` and, for ``i != j``, ``E[r_i r_j x_i'x_j] = delta' Sigma^2 delta`` (any distribution of
  independent centred rows). Assuming ``delta`` is spread over the eigen-directions of ``Sigma``
  like a random direction, ``delta' Sigma^p delta = ||delta||^2 tr(Sigma^p)/d``, so
  ``||delta||^2 = d T2 / tr(Sigma^2)`` and ``s2 = mean(r^2) - T2 tr(Sigma) / tr(Sigma^2)`` with
  ``T2 = sum_{i != j} r_i r_j x_i'x_j / (n (n - 1))``.
* Classification (``x = y mu + z``, labels -1/+1): ``mu'w0 = mean(y_i x_i'w0)`` and the debiased
  ``||mu||^2 = sum_{i != j} y_i y_j x_i'x_j / (n (n - 1))``; ``Sigma`` from ``x_i - y_i mu_hat``.

Standard errors are jackknife estimates computed in closed form (one pass over the Gram matrix),
with the jackknife's known excess for degree-2 U-statistics removed (Hoeffding decomposition).
Degenerate estimates fall back, with a :class:`DegenerateEstimateWarning`, as documented on
each function.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np

from ._spectrum import SpectrumEstimate, _estimate_spectrum, estimate_spectrum

__all__ = [
    "ClassificationUnknowns",
    "DegenerateEstimateWarning",
    "RegressionUnknowns",
    "estimate_classification_unknowns",
    "estimate_regression_unknowns",
]


class DegenerateEstimateWarning(UserWarning):
    """An estimated unknown was out of its range and a documented fallback was used.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skft.advice import DegenerateEstimateWarning, estimate_regression_unknowns
    >>> X = np.random.default_rng(0).standard_normal((20, 50))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     est = estimate_regression_unknowns(X, np.zeros(20))   # w0 fits every label
    >>> caught[0].category is DegenerateEstimateWarning
    True"""


@dataclass(frozen=True)
class RegressionUnknowns:
    """Estimated unknowns of a regression transfer problem.

    Attributes
    ----------
    pretrained_error, pretrained_error_se : float
        ``mean(r^2)`` (test MSE of the pretrained model, noise included) and its standard error.
    centred_error : float
        The part of ``pretrained_error`` a fine-tuned slope sees: ``delta' Sigma delta + s2``,
        estimated by ``sum((r - mean(r))^2) / (n - 1)`` with an intercept and by
        ``mean(r^2)`` without (then a constant offset of the residuals counts as noise: the
        fine-tuned model cannot remove it).
    offset2 : float
        Squared offset of the pretrained intercept, ``(b0 - b_star)^2``, debiased:
        ``max(mean(r)^2 - centred_error / n, 0)`` with an intercept (0 without). Before the
        clipping ``centred_error (n - 1)/n + mean(r)^2 = pretrained_error`` exactly.
    noise_var, noise_var_se : float
        Noise variance ``s2`` and its jackknife standard error.
    shift_norm2 : float
        ``||w0 - w_star||^2`` under the spread assumption.
    shift_signal : float
        ``delta' Sigma delta = centred_error - noise_var``.
    spectrum : SpectrumEstimate
        Estimated eigenvalues of the target covariance.
    n_samples : int
        Effective number of samples (``n - 1`` when an intercept is fitted: one degree of
        freedom goes to the intercept).
    assumptions : tuple of str
    fallbacks : tuple of str
        Fallbacks that were applied (empty when none).
    moment_cov : ndarray of shape (2, 2)
        Estimated covariance of ``(centred_error, noise_var)`` (jackknife, with the
        U-statistic correction on the noise variance), for error propagation.
    noise_var_moments : float
        The method-of-moments noise variance (equal to ``noise_var`` unless the advice
        fitted the shift profile on the generalised cross-validation curve, see
        ``should_finetune``).
    profile : ShiftProfile or None
        The fitted noise variance and shift profile over the eigen-directions (set by
        ``should_finetune``; None for the method of moments, which spreads the shift like a
        random direction).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_regression_unknowns
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((400, 200))
    >>> est = estimate_regression_unknowns(X, -X @ np.full(200, 0.05) + rng.standard_normal(400))
    >>> cov, delta = est.theory_inputs()
    >>> cov.shape, bool(np.allclose(delta, delta[0]))
    ((200,), True)
    """

    pretrained_error: float
    pretrained_error_se: float
    noise_var: float
    noise_var_se: float
    shift_norm2: float
    shift_signal: float
    spectrum: SpectrumEstimate
    n_samples: int
    assumptions: tuple = ()
    fallbacks: tuple = field(default=())
    moment_cov: np.ndarray = field(default=None, repr=False)
    noise_var_moments: float | None = None
    centred_error: float | None = None
    offset2: float = 0.0
    profile: object = field(default=None, repr=False)

    def theory_inputs(self):
        """Covariance (diagonal) and ``delta`` in the eigenbasis.

        Returns
        -------
        covariance : ndarray of shape (n_features,)
        delta : ndarray of shape (n_features,)
            The fitted profile's ``|v_j' delta|`` when ``profile`` is set, else
            ``sqrt(||delta||^2 / d)`` in every eigen-direction (spread evenly).
        """
        if self.profile is not None:
            return self.profile.eigenvalues, np.sqrt(self.profile.delta_sq)
        ev = self.spectrum.eigenvalues
        return ev, np.full(ev.size, np.sqrt(self.shift_norm2 / ev.size))


@dataclass(frozen=True)
class ClassificationUnknowns:
    """Estimated unknowns of a two-class transfer problem ``x = y mu + z``.

    Attributes
    ----------
    pretrained_error, pretrained_error_se : float
        Error rate of ``sign(X w0 + b0)`` on the target labels and its binomial standard error.
    mean_norm2 : float
        Debiased ``||mu||^2``.
    mean_norm2_se : float
        Its standard error (jackknife with the U-statistic correction).
    mean_dot_coef : float
        ``mu' w0``.
    coef_norm2 : float
        Effective ``||w0||^2 = d (w0' Sigma w0) / tr(Sigma)``: the spread assumption made to hold
        for the measured ``w0' Sigma w0``.
    spectrum : SpectrumEstimate
        Estimated eigenvalues of the within-class covariance.
    n_samples : int
    assumptions, fallbacks : tuple of str

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_classification_unknowns
    >>> rng = np.random.default_rng(0)
    >>> y = rng.choice([-1.0, 1.0], 200)
    >>> X = y[:, None] * np.full(100, 0.2) + rng.standard_normal((200, 100))
    >>> est = estimate_classification_unknowns(X, y, np.full(100, 0.1))
    >>> 0 < est.pretrained_error < 0.5
    True
    """

    pretrained_error: float
    pretrained_error_se: float
    mean_norm2: float
    mean_norm2_se: float
    mean_dot_coef: float
    coef_norm2: float
    spectrum: SpectrumEstimate
    n_samples: int
    assumptions: tuple = ()
    fallbacks: tuple = field(default=())

    def theory_inputs(self):
        """Covariance (diagonal), class mean and start in the eigenbasis, spread evenly.

        ``mu`` has equal coordinates; ``w0 = (mu'w0 / ||mu||^2) mu + c s`` with ``s`` a sign
        pattern alternating along the sorted eigenvalues, so that ``a' f(Sigma) b`` is
        ``(a'b / d) tr f(Sigma)`` up to the gaps between neighbouring eigenvalues.

        Returns
        -------
        covariance, mean, coef_init : ndarray of shape (n_features,)
        """
        ev = self.spectrum.eigenvalues
        d = ev.size
        mu = np.full(d, np.sqrt(self.mean_norm2 / d))
        along = self.mean_dot_coef / self.mean_norm2
        rest = max(self.coef_norm2 - self.mean_dot_coef**2 / self.mean_norm2, 0.0)
        signs = np.where(np.arange(d) % 2 == 0, 1.0, -1.0)
        if d % 2:
            signs[-1] = 0.0
        signs = signs / np.sqrt(max(np.count_nonzero(signs), 1))
        return ev, mu, along * mu + np.sqrt(rest) * signs


def _jackknife_se(values):
    n = values.size
    return float(np.sqrt((n - 1) / n * np.sum((values - values.mean()) ** 2)))


class _GramMoments:
    """``x_i'x_j`` moments of the rows of X, on the smaller Gram side (``gram``: ``X X'``
    when already computed)."""

    def __init__(self, X, gram=None):
        self.X = X
        n, d = X.shape
        self.row_sq = np.einsum("ij,ij->i", X, X)
        if n <= d:
            self.gram = X @ X.T if gram is None else gram
            self.row_gram_sq = np.einsum("ij,ij->i", self.gram, self.gram)
        else:
            self.gram = None
            cov = X.T @ X
            self.row_gram_sq = np.einsum("ij,ij->i", X @ cov, X)

    def apply(self, v):
        """``G v`` with ``G = X X'`` (never formed when n > d)."""
        return self.gram @ v if self.gram is not None else self.X @ (self.X.T @ v)

    def offdiag(self, a):
        """``T = sum_{i != j} a_i a_j x_i'x_j / (n(n-1))`` and its leave-one-out values."""
        n = a.size
        Ga = self.apply(a)
        off = a @ Ga - np.sum(self.row_sq * a**2)
        off_loo = off - 2.0 * a * (Ga - self.row_sq * a)
        return off / (n * (n - 1)), off_loo / ((n - 1) * (n - 2))

    def pair_second_moment(self, r, c):
        """``mean_{i != j} g(i, j)^2`` for ``g(i,j) = (r_i^2 + r_j^2)/2 - c r_i r_j x_i'x_j``."""
        n = r.size
        r2, r4 = r**2, r**4
        a = 0.25 * (2 * (n - 1) * r4.sum() + 2 * (r2.sum() ** 2 - r4.sum()))
        Gr = self.apply(r)
        b = 2.0 * np.sum(r**3 * (Gr - self.row_sq * r))
        if self.gram is not None:
            full = r2 @ ((self.gram**2) @ r2)
        else:
            M = self.X.T @ (r2[:, None] * self.X)
            full = np.sum(M**2)
        c2 = full - np.sum(r4 * self.row_sq**2)
        return (a - c * b + c**2 * c2) / (n * (n - 1))

    def traces_loo(self):
        """Leave-one-out ``tr(Sigma)`` and ``tr(Sigma^2)`` U-statistics."""
        n = self.row_sq.size
        t1 = (self.row_sq.sum() - self.row_sq) / (n - 1)
        off = np.sum(self.row_gram_sq) - np.sum(self.row_sq**2)
        off_loo = off - 2.0 * (self.row_gram_sq - self.row_sq**2)
        return t1, off_loo / ((n - 1) * (n - 2))


def estimate_regression_unknowns(X, r, *, fit_intercept=False, X_unlabeled=None):
    """Estimate pretrained error, noise variance, shift size and spectrum (regression).

    Formulas and assumptions are in the module docstring; in short: rows of ``X`` independent
    with mean zero (centred here when ``fit_intercept``) and covariance ``Sigma``, noise
    independent of ``x`` with variance ``s2``, and ``delta = w0 - w_star`` spread over the
    eigen-directions of ``Sigma`` like a random direction.

    With ``fit_intercept`` the slope's moments use the centred residuals ``r - mean(r)``
    (their second moment ``centred_error`` estimates ``delta' Sigma delta + s2``) and the
    intercept's own offset ``(b0 - b_star)^2`` is estimated separately (``offset2``); the
    pretrained error stays the measured ``mean(r^2)``, offset included.

    Fallbacks (each with a :class:`DegenerateEstimateWarning`): when ``T2 <= 0`` no shift is
    detectable and ``||delta||^2 = 0``, ``s2 = centred_error``; when the estimated signal
    exceeds ``centred_error``, the noise variance is set to 0 and the signal to
    ``centred_error``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Labelled target features (validated by the caller, not modified).
    r : ndarray of shape (n_samples,)
        Residuals of the pretrained model ``y - X w0 - b0``.
    fit_intercept : bool, default=False
        Centre ``X`` and ``r`` first (the fine-tuned model fits an intercept).
    X_unlabeled : ndarray of shape (n_unlabeled, n_features), default=None
        Extra target features used for the spectrum and the traces.

    Returns
    -------
    RegressionUnknowns

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_regression_unknowns
    >>> rng = np.random.default_rng(0)
    >>> n, d = 1000, 500
    >>> X = rng.standard_normal((n, d))
    >>> delta = rng.standard_normal(d) / np.sqrt(d)      # ||delta||^2 close to 1
    >>> r = -X @ delta + 0.5 * rng.standard_normal(n)    # noise variance 0.25
    >>> est = estimate_regression_unknowns(X, r)
    >>> round(est.noise_var, 1), round(est.noise_var_se, 1)   # truth: 0.25
    (0.2, 0.1)
    """
    pretrained = float(np.mean(r**2))
    pre_loo = (np.sum(r**2) - r**2) / (r.size - 1)
    pre_se = _jackknife_se(pre_loo)
    n, d = X.shape
    offset2 = 0.0
    if fit_intercept:
        # the slope sees the centred residuals; the offset mean(r) is the intercept's own
        # shift (removed by the free intercept at alpha > 0, one more coordinate at alpha = 0)
        X = X - X.mean(axis=0)
        mean_r = float(r.mean())
        r = r - mean_r
        m1 = float(np.sum(r**2) / (n - 1))
        m1_loo = (np.sum(r**2) - r**2) / (n - 2) if n > 2 else np.full(n, m1)
        offset2 = max(mean_r**2 - m1 / n, 0.0)
    else:
        m1 = pretrained
        m1_loo = pre_loo
    m1_se = _jackknife_se(m1_loo)
    mom = _GramMoments(X)
    t2, t2_loo = mom.offdiag(r)
    spectrum = estimate_spectrum(X, extra=X_unlabeled)
    if X_unlabeled is None:
        tr1, tr2 = spectrum.trace, spectrum.trace_sq
        tr1_loo, tr2_loo = mom.traces_loo()
    else:
        tr1, tr2 = spectrum.trace, spectrum.trace_sq
        tr1_loo, tr2_loo = np.full(n, tr1), np.full(n, tr2)
    ratio = tr1 / tr2 if tr2 > 0 else np.inf
    signal = t2 * ratio
    noise = m1 - signal
    noise_loo = m1_loo - t2_loo * tr1_loo / np.where(tr2_loo > 0, tr2_loo, np.inf)
    noise_se = _jackknife_se(noise_loo)
    jk_se = noise_se
    if np.isfinite(ratio):
        # The jackknife of a degree-2 U-statistic counts its degenerate part twice: its
        # variance is 4 z1/n + 4 z2/n^2 against the true 4 z1/n + 2 z2/n^2 (Hoeffding), which
        # matters when d/n is large. Remove the excess, with z2 the variance over pairs of
        # g(i, j) = (r_i^2 + r_j^2)/2 - c r_i r_j x_i'x_j (noise = mean over pairs of g).
        z2 = mom.pair_second_moment(r, ratio) - noise**2
        var = noise_se**2 - 2.0 * max(z2, 0.0) / (n * (n - 1))
        noise_se = float(np.sqrt(max(var, 0.25 * noise_se**2)))
    assumptions = (
        "rows of X independent, centred, with covariance Sigma (Marchenko-Pastur model)",
        "noise independent of x, variance s2",
        "delta = w0 - w_star spread over the eigen-directions of Sigma like a random direction",
    )
    fallbacks = []
    if not pretrained > 0:
        fallbacks.append(
            "the pretrained model fits every target label exactly (r = 0): no shift and no "
            "noise are detectable, fine-tuning cannot improve on it"
        )
        signal, noise = 0.0, 0.0
    elif not m1 > 0:
        fallbacks.append(
            "the residuals y - X w0 - b0 are constant: only the pretrained intercept is off, "
            "no shift of the coefficients and no noise are detectable"
        )
        signal, noise = 0.0, 0.0
    elif not t2 > 0 or not np.isfinite(ratio):
        fallbacks.append(
            "no shift detectable (delta' Sigma^2 delta estimated <= 0): ||delta||^2 set to 0 "
            "and the noise variance to mean(r^2)"
        )
        signal, noise = 0.0, m1
    elif noise < 0:
        fallbacks.append("estimated noise variance was negative: set to 0, signal set to mean(r^2)")
        signal, noise = m1, 0.0
    for msg in fallbacks:
        warnings.warn(msg, DegenerateEstimateWarning, stacklevel=3)
    shift_norm2 = signal * d / tr1 if tr1 > 0 else 0.0
    n_eff = n - 1 if fit_intercept else n
    cov_jk = (n - 1) / n * np.cov(np.vstack([m1_loo, noise_loo]), bias=True)
    corr = cov_jk[0, 1] / max(m1_se * jk_se, np.finfo(float).tiny)
    moment_cov = np.array(
        [[m1_se**2, corr * m1_se * noise_se], [corr * m1_se * noise_se, noise_se**2]]
    )
    if not np.all(np.isfinite(moment_cov)):
        moment_cov = np.diag([m1_se**2, noise_se**2])
    return RegressionUnknowns(
        pretrained_error=pretrained,
        pretrained_error_se=pre_se,
        noise_var=float(noise),
        noise_var_se=noise_se,
        shift_norm2=float(shift_norm2),
        shift_signal=float(signal),
        spectrum=spectrum,
        n_samples=n_eff,
        assumptions=assumptions,
        fallbacks=tuple(fallbacks),
        moment_cov=moment_cov,
        noise_var_moments=float(noise),
        centred_error=float(m1),
        offset2=float(offset2),
    )


def estimate_classification_unknowns(X, y, coef, intercept=0.0, *, X_unlabeled=None):
    """Estimate the unknowns of the two-class mixture ``x = y mu + z`` from labelled data.

    Assumptions: labels -1/+1 about equally likely, ``z`` independent of ``y`` with mean zero
    and covariance ``Sigma``; ``mu`` and ``w0`` spread over the eigen-directions of ``Sigma``
    like random directions (for the quantities the theory needs beyond ``mu'w0``, ``||mu||^2``
    and ``w0' Sigma w0``). Unlabelled rows, when given, are centred and pooled with the
    within-class rows ``x_i - y_i mu_hat`` for the spectrum (their covariance also holds the
    rank-one ``mu mu'``, one direction among ``d``, ignored).

    Fallback: when the debiased ``||mu||^2`` is below ``(mu'w0)^2 / ||w0||^2`` (impossible by
    Cauchy-Schwarz; happens by chance when ``w0`` is well aligned with ``mu``) it is raised to
    that bound, or to a tiny positive value when ``mu'w0`` is 0; this is recorded in
    ``fallbacks`` and, when the debiased estimate is not positive (no class signal detectable),
    a :class:`DegenerateEstimateWarning` is issued.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels coded -1/+1.
    coef : ndarray of shape (n_features,)
        Pretrained coefficients ``w0``.
    intercept : float, default=0.0
        Pretrained intercept ``b0`` (used only for the measured pretrained error).
    X_unlabeled : ndarray of shape (n_unlabeled, n_features), default=None

    Returns
    -------
    ClassificationUnknowns

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_classification_unknowns
    >>> rng = np.random.default_rng(0)
    >>> n, d = 300, 500
    >>> mu = np.full(d, 1.5 / np.sqrt(d))                # ||mu||^2 = 2.25
    >>> y = rng.choice([-1.0, 1.0], n)
    >>> X = y[:, None] * mu + rng.standard_normal((n, d))
    >>> est = estimate_classification_unknowns(X, y, mu)
    >>> round(est.mean_norm2, 0), round(est.mean_dot_coef, 0)
    (2.0, 2.0)
    """
    return _classification_unknowns(X, y, coef, intercept, X_unlabeled)


def _classification_unknowns(X, y, coef, intercept, X_unlabeled, gram=None):
    """:func:`estimate_classification_unknowns`; ``gram``: ``X X'`` when already computed
    (``n <= d``), from which the within-class Gram ``Z Z' = P X X' P`` (``P = I - y y'/n``)
    follows in ``O(n^2)``."""
    n, d = X.shape
    margin = X @ coef + intercept
    wrong = (np.where(margin > 0, 1.0, -1.0) != y).astype(float)
    pre = float(wrong.mean())
    pre_se = float(np.sqrt(max(pre * (1 - pre), 1.0 / n) / n))
    mom = _GramMoments(X, gram)
    mean_norm2, m2_loo = mom.offdiag(y)
    m2_se = _jackknife_se(m2_loo)
    # remove the jackknife's double count of the degenerate part (see the regression case);
    # for +-1 labels g(i, j) = y_i y_j x_i'x_j and mean g^2 = sum_{i != j} G_ij^2 / (n(n-1))
    z2 = (np.sum(mom.row_gram_sq) - np.sum(mom.row_sq**2)) / (n * (n - 1)) - mean_norm2**2
    m2_se = float(np.sqrt(max(m2_se**2 - 2.0 * max(z2, 0.0) / (n * (n - 1)), 0.25 * m2_se**2)))
    proj = X @ coef
    mean_dot = float(np.mean(y * proj))
    mu_hat = X.T @ y / n
    Z = X - y[:, None] * mu_hat
    z_gram = None
    if mom.gram is not None and X_unlabeled is None:
        Gy = mom.apply(y) / n
        z_gram = mom.gram - np.outer(y, Gy) - np.outer(Gy, y) + np.outer(y, y) * (y @ Gy / n)
    spectrum = _estimate_spectrum(Z, X_unlabeled, 160, 64, gram=z_gram)
    wsw = float(np.sum((proj - y * mean_dot) ** 2) / (n - 1))
    coef_norm2 = d * wsw / spectrum.trace if spectrum.trace > 0 else float(coef @ coef)
    fallbacks = []
    floor = mean_dot**2 / coef_norm2 if coef_norm2 > 0 else 0.0
    if not mean_norm2 > floor:
        # below the Cauchy-Schwarz bound: project onto it. Recorded always; a warning only when
        # the debiased estimate is not even positive (no class signal detectable at all).
        new = max(floor, 1e-12 * max(spectrum.trace, 1e-300))
        # quoted in units of tau = tr(Sigma) / d: free of the units of X
        tau = spectrum.trace / d if spectrum.trace > 0 else 1.0
        fallbacks.append(
            f"debiased ||mu||^2 = {mean_norm2 / tau:.3g} tau below its Cauchy-Schwarz bound "
            f"(mu'w0)^2/||w0||^2 = {floor / tau:.3g} tau: raised to {new / tau:.3g} tau "
            "(tau = tr(Sigma)/d, the mean eigenvalue)"
        )
        if mean_norm2 <= 0:
            warnings.warn(fallbacks[-1], DegenerateEstimateWarning, stacklevel=3)
        mean_norm2 = new
    assumptions = (
        "x = y mu + z with labels -1/+1 about equally likely and z independent of y",
        "rows independent with within-class covariance Sigma (Marchenko-Pastur model)",
        "mu and w0 spread over the eigen-directions of Sigma like random directions",
    )
    return ClassificationUnknowns(
        pretrained_error=pre,
        pretrained_error_se=pre_se,
        mean_norm2=float(mean_norm2),
        mean_norm2_se=m2_se,
        mean_dot_coef=mean_dot,
        coef_norm2=float(coef_norm2),
        spectrum=spectrum,
        n_samples=n,
        assumptions=assumptions,
        fallbacks=tuple(fallbacks),
    )
