"""Regression: theory with estimated unknowns, uncertainty, intervals, LOO cross-check.

The public :func:`~skft.should_finetune` assembles these numbers into a
:class:`FinetuneAdvice` (classification: :mod:`skft.advice._core_classification`).
"""

import warnings
from dataclasses import replace

import numpy as np
from scipy.special import ndtri

from ..theory import optimal_alpha
from ..theory._derived import _helps_intervals
from ..theory._regression import _regression_risk
from ._estimate import DegenerateEstimateWarning, estimate_regression_unknowns
from ._loo import loo_residuals

__all__ = ["fit_regression_model", "helps_intervals", "regression_problem"]


def _z(confidence):
    return float(ndtri(0.5 + confidence / 2.0))


def helps_intervals(finetuned, pretrained, rank, n_max, n_grid=400):
    """Intervals of ``n`` in ``(0, n_max]`` where ``finetuned(n) < pretrained``.

    ``finetuned`` is evaluated on a logarithmic grid refined on both sides of the
    interpolation threshold ``n = rank`` (never at it); every sign change between neighbours
    is a boundary, found by Brent's method, or is ``rank`` itself when the two neighbours
    straddle it (the ``alpha = 0`` risk has a pole there). Each boundary is counted once, so a
    threshold that does not hurt does not split an interval, and one that hurts leaves a gap
    of positive width. ``pretrained`` is the error the decision compares with.

    Parameters
    ----------
    finetuned : callable
        Vectorised ``n -> predicted fine-tuned error``.
    pretrained : float
        Error of the pretrained model.
    rank : int
        Number of directions the features span (the interpolation threshold).
    n_max : float
        Largest ``n`` searched.
    n_grid : int, default=400
        Number of points of the logarithmic grid.

    Returns
    -------
    tuple of (float, float)

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._core import helps_intervals
    >>> d, s2, dsq = 100, 1.0, 1.5   # isotropic, alpha = 0: helps iff dsq > s2 / (1 - n/d)
    >>> def risk(n):
    ...     n = np.asarray(n, dtype=float)
    ...     under = s2 + (1 - n / d) * dsq + s2 * n / np.maximum(d - n, 1e-300)
    ...     return np.where(n < d, under, s2 + s2 * d / np.maximum(n - d, 1e-300))
    >>> [tuple(round(v) if np.isfinite(v) else v for v in iv)
    ...  for iv in helps_intervals(risk, s2 + dsq, d, n_max=2000)]
    [(0, 33), (167, inf)]
    """
    return _helps_intervals(finetuned, pretrained, rank, 0.0, n_max, n_grid).intervals


class _RegressionModel:
    """``R_ft(n, alpha)`` as a function of the two estimated moments ``(m1, s2)``.

    ``n`` is the number of labelled samples and ``m1`` the slope's part of the pretrained
    error, ``delta' Sigma delta + s2`` (``unknowns.centred_error``); its signal ``m1 - s2`` is
    spread over the eigen-directions like a random direction. The intercept is modelled as the
    estimators treat it (``skft/_core/_exact.py``):

    * without intercept: the theory at ``n`` on the features as they are;
    * with an intercept and ``alpha > 0`` it is unpenalised: the theory at ``n - 1`` (one
      sample spent on the intercept) on the centred features; the offset ``(b0 - b_star)^2``
      is removed by the free intercept;
    * with an intercept and ``alpha = 0`` it is one more coordinate with constant feature 1,
      moved with the least-norm change (kernel ``X X' + 1 1'``): the theory at ``n`` on the
      augmented problem, with one more eigen-direction of eigenvalue 1 (the second moment of
      the constant; the features are assumed centred in the population) and squared shift
      ``offset2``.
    """

    def __init__(self, unknowns, fit_intercept=False):
        self.u = unknowns
        self.ev = unknowns.spectrum.eigenvalues
        self.fit_intercept = bool(fit_intercept)
        self.m1 = (
            unknowns.pretrained_error
            if unknowns.centred_error is None
            else (unknowns.centred_error)
        )

    @property
    def shift(self):
        """Samples spent on the intercept at ``alpha > 0`` (1 with an intercept, else 0)."""
        return 1 if self.fit_intercept else 0

    def dsq(self, m1, s2):
        signal = max(m1 - s2, 0.0)
        return np.full(self.ev.size, signal / self.ev.sum())

    def finetuned(self, n, alpha, m1=None, s2=None):
        """Predicted fine-tuned error at ``n`` labelled samples (broadcast with ``alpha``)."""
        m1 = self.m1 if m1 is None else m1
        s2 = max(self.u.noise_var if s2 is None else s2, 0.0)
        dsq = self.dsq(m1, s2)
        if not self.fit_intercept:
            return _regression_risk(self.ev, dsq, s2, n, alpha).finetuned
        n, a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(alpha, dtype=float))
        out = np.empty(n.shape)
        pos = a > 0
        if np.any(pos):
            out[pos] = _regression_risk(
                self.ev, dsq, s2, np.maximum(n[pos] - 1.0, 0.5), a[pos]
            ).finetuned
        if not np.all(pos):
            ev = np.r_[self.ev, 1.0]
            out[~pos] = _regression_risk(ev, np.r_[dsq, self.u.offset2], s2, n[~pos], 0.0).finetuned
        return out

    def finetuned_se(self, n, alpha):
        """Delta method on ``(m1, s2)`` with their estimated covariance; also the gap's SE."""
        m1, s2 = self.m1, self.u.noise_var
        h1 = 1e-4 * max(m1, 1e-12)
        base = self.finetuned(n, alpha)
        g1 = float((self.finetuned(n, alpha, m1 + h1, s2) - base) / h1)
        g2 = float((self.finetuned(n, alpha, m1, s2 + h1) - base) / h1)
        cov = self.u.moment_cov
        grad_ft = np.array([g1, g2])
        grad_gap = np.array([g1 - 1.0, g2])
        se_ft = float(np.sqrt(max(grad_ft @ cov @ grad_ft, 0.0)))
        se_gap = float(np.sqrt(max(grad_gap @ cov @ grad_gap, 0.0)))
        return se_ft, se_gap


def calibrate_noise(unk, X, r, fit_intercept, alpha):
    """Noise variance that makes the theory reproduce the GCV curve at the observed n.

    With the slope's part of the pretrained error ``m1`` (``centred_error``) held fixed, the
    predicted fine-tuned risk at ``alpha > 0`` is affine in
    the noise variance: ``R(a; s2) = A(a) + s2 B(a)`` (the signal ``m1 - s2`` spread as
    assumed). GCV is a consistent, assumption-free estimate of the fine-tuned risk at the
    observed n (Patil et al. 2021, valid down to ``alpha = 0``), so ``s2`` is fitted by
    weighted least squares ``min sum_a (GCV(a) - A(a) - s2 B(a))^2 / GCV(a)^2`` over a
    logarithmic grid of ``alpha`` (``tr(Sigma)/d`` times 1e-2 .. 10, plus the ``alpha``
    asked for when positive) and clipped to ``[0, m1]``. This absorbs what the spread
    assumption gets wrong at the observed n (the theory then agrees with the empirical
    check there) and is much less noisy than the method of moments when ``d >> n``.

    Returns the updated unknowns (unchanged when the fit is not possible).
    """
    ev = unk.spectrum.eigenvalues
    model = _RegressionModel(unk, fit_intercept)
    n, m1 = X.shape[0], model.m1
    if not m1 > 0:  # the pretrained slope fits every target label: nothing to calibrate
        return unk
    grid = (ev.sum() / ev.size) * np.logspace(-2, 1, 16)
    if alpha > 0:
        grid = np.unique(np.r_[grid, alpha])
    gcv = loo_residuals(X, r, grid, fit_intercept=fit_intercept).gcv
    A = model.finetuned(n, grid, m1, 0.0)
    B = (model.finetuned(n, grid, m1, m1) - A) / m1
    if not (np.all(np.isfinite(gcv)) and np.all(gcv > 0)):
        return unk
    w = 1.0 / gcv**2
    denom = np.sum(w * B * B)
    if not denom > 0:
        return unk
    s2 = float(np.clip(np.sum(w * B * (gcv - A)) / denom, 0.0, m1))
    d = ev.size
    note = (
        "noise variance calibrated on the GCV curve at the observed n "
        f"({s2:.4g}; method of moments gave {unk.noise_var_moments:.4g})"
    )
    return replace(
        unk,
        fallbacks=(),  # the moment fallbacks no longer apply: s2 comes from the GCV fit
        noise_var=s2,
        shift_signal=m1 - s2,
        shift_norm2=(m1 - s2) * d / ev.sum(),
        assumptions=unk.assumptions + (note,),
    )


def fit_regression_model(X, y, coef, intercept, *, alpha, fit_intercept, X_unlabeled):
    """Estimated unknowns (noise calibrated on GCV), the risk model and the residuals."""
    r = y - X @ coef - intercept
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateEstimateWarning)
        raw = estimate_regression_unknowns(
            X, r, fit_intercept=fit_intercept, X_unlabeled=X_unlabeled
        )
    unk = calibrate_noise(raw, X, r, fit_intercept, alpha)
    if unk is raw:  # not calibrated: the moment fallbacks stand, say so
        for w in caught:
            warnings.warn(w.message, w.category, stacklevel=4)
    return unk, _RegressionModel(unk, fit_intercept), r


def regression_problem(
    X, y, coef, intercept, *, alpha, fit_intercept, X_unlabeled, confidence, curve_n
):
    """All the numbers of the advice for one regression problem (a dict)."""
    unk, model, r = fit_regression_model(
        X, y, coef, intercept, alpha=alpha, fit_intercept=fit_intercept, X_unlabeled=X_unlabeled
    )
    n = X.shape[0]
    shift = model.shift
    ft = float(model.finetuned(n, alpha))
    pre, se_pre = unk.pretrained_error, unk.pretrained_error_se
    loo = _loo(X, r, alpha, fit_intercept)
    se_ft, se_gap = _paired_se(loo, r, model, n, alpha)
    ev = model.ev
    best_alpha, best_error = _recommended_alpha(model, n)
    # the theory runs on n - shift samples at alpha > 0: search there, report in n
    helps = helps_intervals(
        lambda m: model.finetuned(np.asarray(m) + shift, alpha),
        pre,
        int(np.count_nonzero(ev > 0)),
        n_max=20 * max(ev.size, n),
    )
    return dict(
        pretrained=(pre, se_pre),
        finetuned=(ft, se_ft),
        gap_se=se_gap,
        recommended_alpha=best_alpha,
        recommended_error=best_error,
        intervals=tuple((lo + shift, hi + shift) for lo, hi in helps),
        unknowns=unk,
        loo=None if loo is None else float(loo.mse),
        gcv=None if loo is None else float(loo.gcv),
        curve=np.asarray(model.finetuned(curve_n, alpha), dtype=float),
        curve_best=_best_curve(model.finetuned, curve_n, best_alpha),
        z=_z(confidence),
    )


def _recommended_alpha(model, n):
    """``alpha`` in ``[0, inf]`` minimising the predicted fine-tuned error, and that error.

    Without intercept: :func:`~skft.theory.optimal_alpha` (``inf`` keeps the start). With an
    intercept the ``alpha > 0`` family (free intercept, theory at ``n - 1``; ``inf`` keeps the
    start's slope and refits the intercept) is searched the same way, its ``alpha -> 0+``
    limit standing for the smallest grid value ``1e-8 tr(Sigma)/d``, and compared with the
    ``alpha = 0`` point, which is a different model (the augmented problem).
    """
    u, ev = model.u, model.ev
    s2 = max(u.noise_var, 0.0)
    delta = np.sqrt(model.dsq(model.m1, s2))
    best = optimal_alpha(ev, delta, s2, n - model.shift)
    a_best, e_best = float(best.alpha), float(best.error)
    if not model.fit_intercept:
        return a_best, e_best
    if a_best == 0.0:
        a_best = 1e-8 * float(ev.sum() / ev.size)
        e_best = float(model.finetuned(n, a_best))
    e_zero = float(model.finetuned(n, 0.0))
    if e_zero < e_best:
        return 0.0, e_zero
    return a_best, e_best


def _paired_se(loo, r, model, n, alpha):
    """Standard errors of the fine-tuned error and of the gap at the observed n.

    From the leave-one-out losses: ``std(e_i^2)/sqrt(n)`` and the paired
    ``std(e_i^2 - r_i^2)/sqrt(n)`` with the raw residuals ``r = y - X w0 - b0`` whose mean
    square is the pretrained error (the usual cross-validation standard error, which ignores
    the weak dependence between the ``e_i``); when the LOO is undefined, the delta method on
    the method-of-moments estimates.
    """
    if loo is None:
        return model.finetuned_se(n, alpha)
    e2 = loo.residuals**2
    m = e2.size
    # the same raw residuals as the pretrained error mean(r^2): the gap is paired sample by
    # sample (centring r here, as before, dropped the offset's share of the loss difference)
    return float(np.std(e2, ddof=1) / np.sqrt(m)), float(np.std(e2 - r**2, ddof=1) / np.sqrt(m))


def _best_curve(fn, n, best_alpha):
    if not np.isfinite(best_alpha):
        return None
    return np.asarray(fn(np.maximum(n, 0.5), best_alpha), dtype=float)


def _loo(X, r, alpha, fit_intercept):
    try:
        return loo_residuals(X, r, alpha, fit_intercept=fit_intercept)
    except ValueError:  # alpha = 0 on rank-deficient X: the interpolator's LOO is undefined
        return None
