"""Regression: the fine-tuned error from a shift profile fitted on the data, and its checks.

The public :func:`~skft.should_finetune` assembles these numbers into a
:class:`FinetuneAdvice` (classification: :mod:`skft.advice._classification`).

How the intercept is modelled follows the estimators' exact rule (``skft/_core/_exact.py``):
three *designs*, each with its own Gram factorisation, spectrum and fitted profile
(:mod:`skft.advice._profile`):

* no intercept (``"none"``): the features as they are; with uncentred features the
  covariance the theory needs is their second-moment matrix ``E x x'`` (the mean is one
  more direction, resolved like any other);
* intercept, ``alpha > 0`` (``"free"``): the intercept is unpenalised, the slope is ridge on
  the centred features, and the theory runs at ``n - 1`` (one sample spent on the
  intercept) on the centred covariance; the pretrained offset is removed;
* intercept, ``alpha = 0`` (``"augmented"``): the intercept is one more coordinate with
  constant feature 1 and *no pull*, moved with the least-norm change, so the theory runs at
  ``n`` on the second-moment matrix of ``(x, 1)``; with ``n < d`` it keeps about
  ``1 - n/d`` of the pretrained offset.

Interval of the fine-tuned error. Its standard error is ``FS_INFLATION`` times the square root
of the sum of (a) the fit's posterior variance at the point (:meth:`ShiftProfile.risk_se`, with
the statistics' covariance as Gaussian quadratic forms in the residuals' spectral energies,
:meth:`GramFactor.spectral`) and (b) the finite-size spread of the realised error around the
risk (:meth:`ShiftProfile.realised_sd`); the interval is symmetric on the log scale
(:func:`lognormal_interval`). ``FS_INFLATION`` was calibrated by simulation (320 problems:
three spectra, shifts along random / top / bottom eigen-directions, rotated covariances,
uncentred features with an intercept, n/d from 0.2 to 2 and 0.9 to 1.1, alpha 0 to 1, d = 200
and 400): at 1.0 the 95% interval covers the realised error in 94% of them (85% to 100% per
family), so no inflation is applied; ``benchmarks/bench_advice.py`` measures it on other
problems.
"""

import warnings
from dataclasses import replace

import numpy as np
from scipy.special import ndtri

from ..theory._derived import _helps_intervals, _optimal_alpha
from ..utils._stages import NO_LOG
from ._checks import check_near_d, check_profile, check_rows, check_tails
from ._regression_model import fit_regression_model, regression_unknowns
from ._rows import exact_duplicates, with_near_duplicates

__all__ = [
    "DependentRowsWarning",
    "helps_intervals",
    "regression_problem",
]


class DependentRowsWarning(UserWarning):
    """The rows of ``X`` are not independent (exact or near duplicates).

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from skft.advice import DependentRowsWarning, should_finetune
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 100))
    >>> y = X @ rng.standard_normal(100) / 10 + 0.3 * rng.standard_normal(40)
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     advice = should_finetune(np.zeros(100), np.vstack([X, X]), np.r_[y, y])
    >>> any(w.category is DependentRowsWarning for w in caught)
    True
    """


def _z(confidence):
    return float(ndtri(0.5 + confidence / 2.0))


def lognormal_interval(value, stderr, z):
    """``value * exp(-+ z s)`` with ``s^2 = log(1 + (stderr / value)^2)``.

    The interval of a positive, right-skewed quantity (a realised test error): symmetric on
    the log scale, that of the lognormal law with mean ``value`` and standard deviation
    ``stderr`` (up to the centring).

    Examples
    --------
    >>> from skft.advice._regression import lognormal_interval
    >>> [round(v, 3) for v in lognormal_interval(1.0, 0.2, 1.96)]
    [0.678, 1.474]
    """
    if not (value > 0 and np.isfinite(value) and np.isfinite(stderr)):
        return (0.0, float(value) + z * float(stderr)) if np.isfinite(stderr) else (0.0, np.inf)
    s = float(np.sqrt(np.log1p((stderr / value) ** 2)))
    return float(value * np.exp(-z * s)), float(value * np.exp(z * s))


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
    >>> from skft.advice._regression import helps_intervals
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


def _pretrained(r_all, rows):
    """Mean squared residual over all rows, with a standard error over distinct rows."""
    pre = float(np.mean(r_all**2))
    if rows.has_duplicates:
        per = np.bincount(rows.inverse, weights=r_all**2, minlength=rows.n_unique)
        m = per.size
        # ratio estimator sum(per) / sum(mult): linearised over the distinct rows
        resid = per - pre * rows.multiplicity
        se = float(np.sqrt(np.sum(resid**2) * m / (m - 1)) / rows.n_rows) if m > 1 else 0.0
        return pre, se
    n = r_all.size
    loo = (np.sum(r_all**2) - r_all**2) / (n - 1)
    return pre, float(np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2)))


def _tails(fit, r, alpha, r_eff):
    """:func:`check_tails` at ``max(alpha, tau / 10)`` (``tau = tr(Sigma) / d``), the pull of
    the curve nearest to it: away from the interpolation peak, where GCV and leave-one-out
    (whose fits have ``n`` and ``n - 1`` samples) differ for a reason of their own."""
    ev = fit.spectrum.eigenvalues
    tau = float(ev.sum() / ev.size) if ev.sum() > 0 else 1.0
    target = max(alpha, 0.1 * tau)
    pos = fit.alphas > 0
    cand = fit.alphas[pos]
    a_ref = float(cand[np.argmin(np.abs(np.log(cand / target)))]) if cand.size else alpha
    k = int(np.flatnonzero(fit.alphas == a_ref)[0]) if cand.size else 0
    e = _loo(fit, r, a_ref)
    return check_tails(
        e, fit.gcv_terms[k] if e is not None else None, fit.factor.row_sq, r_eff, a_ref
    )


def _loo(fit, r, alpha):
    try:
        return fit.factor.loo(r, alpha)[0]
    except ValueError:
        return None


def _point_estimate(model, fit, r, alpha, n_u, se_pre):
    """Fine-tuned error at the observed data, its standard error and the gap's.

    The fitted theory at ``(n, alpha)``; at the interpolation pole (``n = rank``,
    ``alpha = 0``), where the asymptotic error is infinite and the realised one is not, the
    leave-one-out error instead (a fallback, with a note).
    """
    ft = float(model.finetuned(n_u, alpha))
    se_ft, _, real_sd = (float(v) for v in model.finetuned_se(n_u, alpha))
    e = _loo(fit, r, alpha)
    loo_mse = None if e is None else float(np.mean(e**2)) + model.extra_noise
    if np.isfinite(ft) and np.isfinite(se_ft):
        return dict(
            ft=ft,
            se_ft=se_ft,
            real_sd=real_sd,
            loo=loo_mse,
            gap_se=float(model.gap_se(n_u, alpha, se_pre)),
            note=(),
        )
    if e is None:  # pragma: no cover - the pole needs an invertible square design
        return dict(ft=ft, se_ft=se_ft, real_sd=None, loo=None, gap_se=np.inf, note=())
    return dict(
        ft=loo_mse,
        se_ft=float(np.std(e**2, ddof=1) / np.sqrt(n_u)),
        real_sd=None,
        loo=loo_mse,
        gap_se=float(np.std(e**2 - r**2, ddof=1) / np.sqrt(n_u)),
        note=(
            f"n={n_u} is the interpolation threshold at alpha=0, where the asymptotic error "
            "is infinite: the predicted fine-tuned error is the leave-one-out error",
        ),
    )


def _near_duplicate_estimate(fit, r, alpha, groups, extra_noise):
    """Leave-group-out error with the near-duplicate groups left out together.

    With near duplicates, leave-one-out leaves a near copy of the row in the fit and GCV is
    fooled alike; leaving each group out is exact for the fitted model and gives an honest
    estimate of its error on independent rows. Standard errors over the groups.
    """
    try:
        e = fit.factor.group_loo(r, alpha, groups)
    except ValueError:
        return None
    G = int(np.unique(groups).size)
    per = np.bincount(groups, weights=e**2) / np.bincount(groups)
    diff = np.bincount(groups, weights=e**2 - r**2) / np.bincount(groups)
    mse = float(np.mean(e**2)) + extra_noise
    return dict(
        ft=mse,
        se_ft=float(np.std(per, ddof=1) / np.sqrt(G)),
        real_sd=None,
        loo=mse,
        gap_se=float(np.std(diff, ddof=1) / np.sqrt(G)),
        note=(
            f"near-duplicate rows: the fine-tuned error at the observed data is the "
            f"leave-group-out error ({G} groups of near duplicates left out together); the "
            "curves are for independent samples (one row per group)",
        ),
    )


def regression_problem(
    X, y, coef, intercept, *, alpha, fit_intercept, X_unlabeled, confidence, curve_n,
    log=NO_LOG, intercept_scaling=1.0, baseline=None,
):
    """All the numbers of the advice for one regression problem (a dict).

    ``baseline``: when fine-tuning starts from a calibrated start ``(coef, intercept)``, the
    measured error of the start as given and the standard error of the paired difference
    of the two starts' errors (``pretrained``, ``se_diff``): the decision and the intervals
    of ``n`` compare with it; the unknowns describe the calibrated start's residuals.
    ``log``: a :class:`~skft.utils._stages.StageLog` for ``verbose``; ``intercept_scaling``:
    the value of the ``"augmented"`` design's constant column.
    """
    opts = dict(alpha=alpha, fit_intercept=fit_intercept, X_unlabeled=X_unlabeled, log=log,
                intercept_scaling=intercept_scaling)
    with log.stage("exact duplicate rows"):
        rows = exact_duplicates(X, y)
    model, r, rows = fit_regression_model(X, y, coef, intercept, rows=rows, **opts)
    fit = model.fit_for(alpha)
    spec = fit.spectrum
    r_eff = spec.trace**2 / spec.trace_sq if spec.trace_sq > 0 else 0.0
    with log.stage("near-duplicate rows"):
        rows = with_near_duplicates(rows, X[rows.first], gram=fit.factor.gram, r_eff=r_eff)
    exact_model = rows.uniform or (
        alpha == 0 and rows.n_unique <= X.shape[1] and not rows.label_conflict
    )
    checks = [check_rows(rows, exact_model=exact_model)]
    if not checks[0].passed or rows.has_duplicates:
        warnings.warn(
            f"should_finetune: rows of X are not independent: {checks[0].detail}.",
            DependentRowsWarning,
            stacklevel=5,
        )
    pre, se_pre = _pretrained(y - X @ coef - intercept, rows)
    point = None
    if rows.near_groups is not None:
        log("near duplicates: leave-group-out, and the curves refitted on one row per group")
        point = _near_duplicate_estimate(fit, r, alpha, rows.near_groups, model.extra_noise)
        if point is not None:  # the curves: one row per near-duplicate group
            _, reps = np.unique(rows.near_groups, return_index=True)
            Xu, yu = (
                X[rows.first][reps],
                (y[rows.first] if not rows.has_duplicates else rows.mean_labels(y))[reps],
            )
            model, r, _ = fit_regression_model(Xu, yu, coef, intercept, **opts)
            fit = model.fit_for(alpha)
    n_u = r.size
    if point is None:
        with log.stage("leave-one-out and the predicted error at the observed n"):
            point = _point_estimate(model, fit, r, alpha, n_u, se_pre)
    with log.stage("assumption checks"):
        checks.append(_tails(fit, r, alpha, r_eff))
        checks.append(check_profile(fit.profile))
        checks.append(check_near_d(float(model.amplification(n_u, alpha)), n_u, fit.rank, alpha))
    with log.stage("recommended alpha, intervals of n and curves"):
        best_alpha, best_error = _recommended_alpha(model, n_u, pre, fit_intercept, r)
        view_rank = fit.rank + (1 if fit.kind == "free" else 0)
        pre_out, gap_se = (pre, se_pre), point["gap_se"]
        if baseline is not None:
            pre_out = baseline["pretrained"]
            gap_se = float(np.hypot(gap_se, baseline["se_diff"]))
        helps = helps_intervals(
            lambda m: model.finetuned(np.asarray(m, dtype=float), alpha),
            pre_out[0],
            view_rank,
            n_max=20 * max(view_rank, n_u),
        )
        curve = np.asarray(model.finetuned(curve_n, alpha), dtype=float)
        curve_best = _best_curve(model.finetuned, curve_n, best_alpha)
    # below two samples there is nothing to fine-tune on (the theory's n -> 0 limit is the
    # pretrained error itself, met only up to the fit's rounding)
    helps = tuple((lo, hi) for lo, hi in helps if hi > 2.0)
    unknowns = regression_unknowns(model, r, rows, alpha, pre, se_pre)
    if point["note"]:
        unknowns = replace(unknowns, fallbacks=unknowns.fallbacks + point["note"])
    k = int(np.argmin(np.abs(fit.alphas - alpha)))
    return dict(
        pretrained=pre_out,
        finetuned=(point["ft"], point["se_ft"]),
        finetuned_interval=lognormal_interval(point["ft"], point["se_ft"], _z(confidence)),
        gap_se=gap_se,
        recommended_alpha=best_alpha,
        recommended_error=best_error,
        intervals=helps,
        unknowns=unknowns,
        loo=point["loo"],
        gcv=float(fit.gcv[k]) if np.isfinite(fit.gcv[k]) else None,
        curve=curve,
        curve_best=curve_best,
        checks=tuple(checks),
        z=_z(confidence),
        n_effective=n_u,
        realised_spread=point["real_sd"],
    )


def _recommended_alpha(model, n, pre, fit_intercept, r):
    """``alpha`` in ``[0, inf]`` minimising the predicted fine-tuned error, and that error.

    ``alpha = inf`` keeps the start: without intercept that is the pretrained model (its
    measured error); with an intercept the start's slope with the intercept refitted, whose
    error is ``var(r) (1 + 1/n)``. The ``alpha = 0`` point and the ``alpha > 0`` family are
    different models with an intercept (``"augmented"`` and ``"free"``); both are searched.
    """
    keep = float(np.var(r, ddof=1) * (1.0 + 1.0 / n)) + model.extra_noise if fit_intercept else pre
    ev = model.fit_for(1.0).spectrum.eigenvalues
    scale = float(ev.sum() / ev.size) if ev.sum() > 0 else 1.0
    alphas, errors = _optimal_alpha(
        lambda nn, aa: model.finetuned(nn, aa), keep, np.array([float(n)]), scale, 161
    )
    return float(alphas[0]), float(errors[0])


def _best_curve(fn, n, best_alpha):
    if not np.isfinite(best_alpha):
        return None
    return np.asarray(fn(np.maximum(n, 0.5), best_alpha), dtype=float)
