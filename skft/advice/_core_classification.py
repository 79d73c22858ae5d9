"""Classification: theory with estimated unknowns, calibrated on the leave-one-out margins.

The pretrained error is *measured*: the error rate of ``sign(X w0 + b0)`` counted on the
target labels (the pretrained model never saw them, so the count is unbiased), with a Wilson
score interval (it stays inside ``[0, 1]`` and keeps a positive width when no sample, or every
sample, is misclassified); its ``stderr`` is the interval's half-width over ``z``.

For the fine-tuned model the theory is used. For the two-class mixture ``x = y mu + z`` the
margin ``y x'w`` of a fixed ``w`` is (by the central limit theorem over the ``d``
coordinates) Gaussian with mean ``t = mu'w`` and variance ``q = w' Sigma w``, so the error
rate is ``Phi(-t / sqrt(q))``. The empirical signal-to-noise ratio of the fine-tuned model at
the observed ``n`` follows without any assumption on ``mu`` or ``Sigma``: ``mean / std`` of
the leave-one-out margins ``m_i = y_i f_{-i}(x_i) = 1 - y_i e_i`` (closed form,
:func:`loo_residuals`). Its standard error is ``sqrt((1 + s^2/2) / n)`` (mean over standard
deviation of ``n`` Gaussian draws), mapped through ``phi(s)``. The theory's unknown
class-mean norm is then calibrated so that its ``t / sqrt(q)`` reproduces the leave-one-out
ratio along a grid of ``alpha`` at the observed ``n``; the calibrated theory extrapolates to
other ``n`` and ``alpha``. The counted leave-one-out error rate is reported beside it.
"""

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import ndtr

from ..theory import classification_optimal_alpha
from ..theory._classification import _classification_error
from ._core import _best_curve, _loo, _z, helps_intervals
from ._estimate import estimate_classification_unknowns
from ._loo import loo_residuals

__all__ = ["classification_problem", "fit_classification_model"]


def _snr(margins):
    """``mean / std`` along the last axis and its standard error."""
    m = np.asarray(margins, dtype=float)
    sd = m.std(axis=-1, ddof=1)
    s = m.mean(axis=-1) / np.where(sd > 0, sd, np.finfo(float).tiny)
    se = np.sqrt((1.0 + s**2 / 2.0) / m.shape[-1])
    return s, se


def wilson_interval(errors, n, z):
    """Counted error rate ``errors / n``, its standard error and Wilson score interval.

    The interval is ``(c -+ h)`` with ``c = (p + z^2/(2n)) / (1 + z^2/n)`` and
    ``h = z sqrt(p (1 - p)/n + z^2/(4 n^2)) / (1 + z^2/n)``; the standard error reported is
    ``h / z`` (the binomial ``sqrt(p (1 - p)/n)`` up to ``O(1/n)``, but positive at ``p = 0``).

    Parameters
    ----------
    errors : int
        Number of misclassified samples.
    n : int
        Number of samples.
    z : float
        Normal quantile of the interval's level.

    Returns
    -------
    rate, stderr, low, high : float

    Examples
    --------
    >>> from skft.advice._core_classification import wilson_interval
    >>> [round(v, 3) for v in wilson_interval(0, 40, 1.96)]
    [0.0, 0.022, 0.0, 0.088]
    """
    p = errors / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return float(p), float(half / z), float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _error_and_se(s, se):
    phi = np.exp(-0.5 * s**2) / np.sqrt(2 * np.pi)
    return float(ndtr(-s)), float(phi * se)


class _ClassificationModel:
    """Theory inputs as a function of the class-mean norm ``m2`` (``mu'w0`` and, when
    possible, the effective ``||w0||^2`` held at their estimates)."""

    def __init__(self, unk):
        self.unk = unk
        self.ev, self.mu, self.w = unk.theory_inputs()
        self.m2 = unk.mean_norm2
        u = self.mu / np.linalg.norm(self.mu)
        rest = self.w - (self.w @ u) * u
        norm = np.linalg.norm(rest)
        self.rest_dir = rest / norm if norm > 0 else np.zeros_like(rest)
        self.lower = unk.mean_dot_coef**2 / unk.coef_norm2 if unk.coef_norm2 > 0 else 0.0

    def inputs(self, m2=None):
        u = self.unk
        # below the Cauchy-Schwarz bound (mu'w0)^2 / ||w0||^2 the start is lengthened along mu:
        # the spread-based ||w0||^2 is only an effective value
        m2 = self.m2 if m2 is None else max(m2, 1e-12)
        mu = self.mu * np.sqrt(m2 / u.mean_norm2)
        rest2 = max(u.coef_norm2 - u.mean_dot_coef**2 / m2, 0.0)
        w = (u.mean_dot_coef / m2) * mu + np.sqrt(rest2) * self.rest_dir
        return self.ev, mu, w

    def result(self, n, alpha, m2=None):
        ev, mu, w = self.inputs(m2)
        return _classification_error(ev, mu, w, n, alpha)

    def finetuned(self, n, alpha, m2=None):
        return self.result(n, alpha, m2).finetuned

    def calibrate(self, n_eff, grid, snr, snr_se, emphasis=None):
        """Class-mean norm combining the moment estimate with the leave-one-out curve.

        Two estimates of ``||mu||^2`` are combined by inverse variance: the debiased moment
        estimate ``m2_hat`` (standard error ``se_m``) and the value that makes the theory's
        ``t / sqrt(q)`` reproduce the leave-one-out signal-to-noise ratios on ``grid``. The
        ratios along ``grid`` come from the same samples and are strongly correlated, so the
        curve counts as one observation: the weighted mean of the squared misfits over
        ``grid`` (weights ``1/se^2``, the ``alpha`` asked for ten times) is divided by the
        squared standard error at that ``alpha``. The minimised criterion is

        ``sum_a p_a (s_th(a; m2) - s_loo(a))^2 / se_loo^2 + (m2 - m2_hat)^2 / se_m^2``.

        Where the theory's ratio hardly depends on ``m2`` (near the interpolation peak
        ``n = d`` at small ``alpha``), a noisy leave-one-out ratio then cannot drag ``m2``
        far from its moment estimate; where it is sensitive, the leave-one-out curve wins.
        """
        weight = 1.0 / snr_se**2
        if emphasis is not None and np.any(emphasis):
            weight = weight * np.where(emphasis, 10.0, 1.0)
            se_curve = float(np.min(snr_se[emphasis]))
        else:
            se_curve = float(np.min(snr_se))
        p = weight / weight.sum()
        m2_hat = self.unk.mean_norm2
        se_m = self.unk.mean_norm2_se
        prior = se_m > 0 and np.isfinite(se_m)

        def loss(log_m2):
            m2 = np.exp(log_m2)
            res = self.result(n_eff, grid, m2)
            with np.errstate(divide="ignore", invalid="ignore"):
                s_th = np.where(res.q > 0, res.t / np.sqrt(np.maximum(res.q, 1e-300)), 0.0)
            out = float(np.sum(p * (s_th - snr) ** 2)) / se_curve**2
            if prior:
                out += ((m2 - m2_hat) / se_m) ** 2
            return out

        lo = np.log(max(1e-4 * max(self.m2, self.lower), 1e-12))
        hi = np.log(max(self.m2, self.lower) * 100.0 + 1e-12)
        if not hi > lo:
            return self.m2
        best = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        self.m2 = float(np.exp(best.x))
        return self.m2


def fit_classification_model(
    X, y_pm, coef, intercept, *, fit_intercept, X_unlabeled, alpha, z=1.959963984540054
):
    """Unknowns, the calibrated model and the measured numbers (a dict).

    ``pretrained`` is the counted error rate of ``sign(X w0 + b0)`` and its standard error,
    ``pretrained_interval`` its Wilson interval at the normal quantile ``z``.
    """
    Xc = X - X.mean(axis=0) if fit_intercept else X
    unk = estimate_classification_unknowns(Xc, y_pm, coef, 0.0, X_unlabeled=X_unlabeled)
    margin = X @ coef + intercept
    wrong = int(np.count_nonzero(np.where(margin > 0, 1.0, -1.0) != y_pm))
    pre, pre_se, pre_lo, pre_hi = wilson_interval(wrong, y_pm.size, z)
    model = _ClassificationModel(unk)
    n = X.shape[0]
    n_eff = n - (1 if fit_intercept else 0)
    grid = (unk.spectrum.trace / unk.spectrum.eigenvalues.size) * np.logspace(-2, 1, 12)
    grid = np.unique(np.r_[grid, alpha])
    r = y_pm - margin
    try:
        loo = loo_residuals(X, r, grid, fit_intercept=fit_intercept)
    except ValueError:  # alpha = 0 on rank-deficient X: calibrate on alpha > 0 only
        grid = grid[grid > 0]
        loo = loo_residuals(X, r, grid, fit_intercept=fit_intercept)
    snr, snr_se = _snr(1.0 - y_pm * loo.residuals)
    # the alpha asked for counts ten times: the decision is made there
    model.calibrate(n_eff, grid, snr, snr_se, emphasis=grid == alpha)
    return dict(
        unknowns=unk,
        model=model,
        n_eff=n_eff,
        pretrained=(pre, pre_se),
        pretrained_interval=(pre_lo, pre_hi),
        residuals=r,
    )


def classification_problem(
    X, y_pm, coef, intercept, *, alpha, fit_intercept, X_unlabeled, confidence, curve_n
):
    """All the numbers of the advice for one two-class problem with labels -1/+1."""
    fit = fit_classification_model(
        X,
        y_pm,
        coef,
        intercept,
        fit_intercept=fit_intercept,
        X_unlabeled=X_unlabeled,
        alpha=alpha,
        z=_z(confidence),
    )
    model, n_eff = fit["model"], fit["n_eff"]
    shift = 1 if fit_intercept else 0
    ft = float(model.finetuned(n_eff, alpha))
    loo = _loo(X, fit["residuals"], alpha, fit_intercept)
    if loo is not None:
        _, se_ft = _error_and_se(*_snr(1.0 - y_pm * loo.residuals))
    else:  # the alpha = 0 interpolator's LOO is undefined: delta method on ||mu||^2
        unk = fit["unknowns"]
        h = max(unk.mean_norm2_se, 1e-6 * model.m2)
        up = float(model.finetuned(n_eff, alpha, model.m2 + h))
        down = float(model.finetuned(n_eff, alpha, max(model.m2 - h, 0.5 * model.m2)))
        se_ft = abs(up - down) / 2.0
    pre, se_pre = fit["pretrained"]
    ev, mu, w = model.inputs()
    best = classification_optimal_alpha(ev, mu, w, n_eff)
    # compared with the measured pretrained error, as the decision is
    helps = helps_intervals(
        lambda m: model.finetuned(m, alpha),
        pre,
        int(np.count_nonzero(ev > 0)),
        n_max=20 * max(ev.size, n_eff),
    )
    return dict(
        pretrained=(pre, se_pre),
        pretrained_interval=fit["pretrained_interval"],
        finetuned=(ft, se_ft),
        gap_se=float(np.hypot(se_ft, se_pre)),
        recommended_alpha=float(best.alpha),
        recommended_error=float(best.error),
        intervals=tuple((lo + shift, hi + shift) for lo, hi in helps),
        unknowns=fit["unknowns"],
        calibrated_mean_norm2=model.m2,
        loo=None if loo is None else float(loo.error_rate(y_pm)),
        gcv=None,
        curve=np.asarray(model.finetuned(np.maximum(curve_n - shift, 0.5), alpha), dtype=float),
        curve_best=_best_curve(model.finetuned, curve_n - shift, best.alpha),
        z=_z(confidence),
    )
