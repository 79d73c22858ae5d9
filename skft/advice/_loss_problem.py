"""The advice's numbers for a fine-tuning with a loss other than the squared one.

Two-class classification (``log_loss``, ``hinge``, ``modified_huber``) and regression
(``huber``, ``epsilon_insensitive``). Each returns the dictionary that
:func:`skft.advice._advice._assemble` turns into a :class:`FinetuneAdvice`, like
:func:`~skft.advice._classification.classification_problem` and
:func:`~skft.advice._regression.regression_problem` do for the squared loss.

* The pretrained error is measured on the target labels, for the start *as given* (the
  baseline of the decision): the mean squared residual (regression), the counted error rate
  with the Gaussian-margin estimate for the decision when the margins' normality is not
  rejected (classification, as for the squared loss).
* The fine-tuned error is the theory of this loss (:mod:`skft.theory`) at the observed ``n``
  and ``alpha``, from the start fine-tuning begins at (``anchor``: the calibrated start when
  asked), with the unknowns of :mod:`skft.advice._loss_inputs`. Where the theory has no
  single limit (``alpha = 0`` below the separability threshold of the hinge-type losses, or
  below the zero-loss threshold of ``epsilon_insensitive``) :class:`NoPrediction` is raised
  with the theory's reason: the candidate is reported without a number.
* The empirical check is the approximate leave-one-out or cross-validation of the exact fit
  (:mod:`skft.advice._alo`): its error is ``loo_error`` and its decision ``loo_finetune``.
* Standard errors. Classification: the prediction's is that of an error rate estimated from
  ``n`` Gaussian margins at the predicted signal-to-noise ratio ``s = Phi^-1(1 - err)``,
  ``phi(s) sqrt((1 + s^2/2) / n)`` (the unknowns are estimated from the same ``n``
  samples); the gap's adds the decision's pretrained error's. Regression: the squared-loss
  model's relative standard error at the same ``(n, alpha)`` (the fit of the shift profile
  and the finite-size spread of the realised error: the same unknowns drive both risks);
  the gap's is the larger of that model's (rescaled) and the paired standard error of the
  empirical gap ``mean(e_i^2 - r_i^2)``.
"""

import numpy as np
from scipy.special import ndtri

from ..theory._convex_classification import _convex_classification_error
from ._alo import loss_loo_scores
from ._checks import (
    AGREEMENT_Z,
    check_agreement,
    check_noise_law,
    check_profile,
    check_rows,
)
from ._classification import classification_rows, logit_interval, tails_check
from ._loss_curves import TheoryCurve, curves
from ._loss_inputs import (
    NORMALITY_LEVEL,
    LossUnknowns,
    class_moments,
    regression_loss_inputs,
    residual_normality,
    robust_risk,
)
from ._margins import decision_pretrained_error, wilson_interval
from ._regression import _pretrained, _tails, _z, lognormal_interval
from ._regression_model import fit_regression_model, regression_unknowns

__all__ = ["NoPrediction", "classification_loss_problem", "regression_loss_problem"]


class NoPrediction(ValueError):
    """The theory of a fine-tuning gives no number here; the message says why."""


CLASSIFICATION_ASSUMPTIONS = (
    "two-class mixture x = mu_y + z, z with mean 0 and a covariance common to the classes "
    "(only its first two moments matter in the proportional limit); priors the class "
    "frequencies",
    "the class means and the start spread over the eigen-directions of Sigma like random "
    "directions (checked: theory_vs_empirical)",
)
REGRESSION_ASSUMPTIONS = (
    "rows of X independent, with the second moments of Sigma^{1/2} z (checked: heavy_tails, "
    "independent_rows); noise independent of x",
    "spectrum, noise variance and shift profile those the squared-loss advice fits on the GCV "
    "curve of the design without an intercept coordinate (checked: shift_profile, "
    "theory_vs_empirical)",
)


def _model_note(loss, alpha):
    return (
        f"fine-tuned model: the minimiser of the mean {loss} loss plus "
        f"alpha/2 ||w - w0||^2 at alpha={alpha:g} (the limit of SGD; solver='exact'), "
        "predicted by its proportional-limit theory (skft.theory)"
    )


def _theory_point(curve_fn, n, alpha):
    """The theory at the observed point, or :class:`NoPrediction` with its reason."""
    try:
        value = float(np.ravel(curve_fn(np.array([float(n)]), np.array([float(alpha)])))[0])
    except ValueError as exc:
        raise NoPrediction(str(exc).splitlines()[0]) from None
    except RuntimeError as exc:  # the solver of the theory's equations failed here
        raise NoPrediction(f"the theory's equations could not be solved at "
                           f"n_samples={n}, alpha={alpha:g}: {str(exc).splitlines()[0]}") from None
    if not np.isfinite(value):
        raise NoPrediction(
            f"the theory's error at n_samples={n}, alpha={alpha:g} is not finite (the "
            "interpolation threshold of the alpha = 0 fit)")
    return value


def _no_check_note(loss, alpha):
    return (
        f"no leave-one-out check for loss={loss!r} at alpha={alpha:g}: the exact fit needs "
        "alpha > 0 (at alpha = 0 the minimiser may not exist or not be unique): the "
        "prediction rests on the theory alone"
    )


def counted_agreement(ft, se_ft, wrong, n, method, z):
    """``(check, empirical)`` for a counted error rate: the agreement check of the theory's
    ``ft`` with ``wrong`` errors in ``n`` held-out predictions, and the empirical estimate
    ``(rate, stderr, Wilson interval at z)`` that replaces the prediction when it fails."""
    rate, se, lo, hi = wilson_interval(int(wrong), int(n), z)
    _, _, lo3, hi3 = wilson_interval(int(wrong), int(n), AGREEMENT_Z)
    return check_agreement(ft, se_ft, rate, (lo3, hi3), method), (rate, se, (lo, hi))


def margin_agreement(ft, se_ft, scores, y_pm, method, z):
    """As :func:`counted_agreement` for two classes, with the held-out scores' error
    estimated as the pretrained error is (:func:`decision_pretrained_error`): the
    Gaussian-margin estimate when the margins' normality within each class is not rejected
    (efficient: it reads every margin, not only its sign), else the count."""
    wrong = int(np.count_nonzero(np.where(scores > 0, 1.0, -1.0) != y_pm))
    check, empirical = counted_agreement(ft, se_ft, wrong, y_pm.size, method, z)
    est = decision_pretrained_error(scores, y_pm, empirical[:2])
    if est["basis"] == "counted":
        return check, empirical
    value, se = float(est["value"]), float(est["stderr"])
    method = f"{method} (Gaussian-margin estimate)"
    check = check_agreement(ft, se_ft, value, (value - AGREEMENT_Z * se, value + AGREEMENT_Z * se),
                            method)
    return check, (value, se, logit_interval(value, se, z))


def disagreement_note(method):
    return (f"the theory's prediction at the observed n disagrees with the {method} estimate "
            "(check theory_vs_empirical): the fine-tuned error at the observed n is that "
            "estimate; the curves and the recommended alpha remain the theory's")


def _common(checks, n_u, unknowns, loo, method, loss, alpha, z, shapes):
    """The fields of a problem's dictionary the two losses' problems share."""
    return dict(checks=tuple(checks), n_effective=n_u, unknowns=unknowns, loo=loo,
                check_method=method,
                loo_missing=None if loo is not None else _no_check_note(loss, alpha),
                gcv=None, z=z, **shapes)


def _error_se(err, n):
    """Standard error of an error rate from ``n`` Gaussian margins at ``Phi(-s) = err``."""
    p = min(max(float(err), 1e-9), 1.0 - 1e-9)
    s = float(ndtri(1.0 - p))
    return float(np.exp(-0.5 * s * s) / np.sqrt(2 * np.pi) * np.sqrt((1 + s * s / 2) / n))


def classification_loss_problem(X, y_pm, coef, intercept, *, anchor, loss, epsilon, alpha,
                                fit_intercept, X_unlabeled, confidence, curve_n,
                                intercept_scaling=1.0):
    """All the numbers of the advice for a two-class fine-tuning with ``loss`` (a dict).

    ``(coef, intercept)`` is the start as given (the baseline), ``anchor = (w_a, b_a)`` the
    start fine-tuning begins at.
    """
    z = _z(confidence)
    margin = X @ coef + intercept
    wrong = int(np.count_nonzero(np.where(margin > 0, 1.0, -1.0) != y_pm))
    pre, se_pre, pre_lo, pre_hi = wilson_interval(wrong, y_pm.size, z)
    dec = decision_pretrained_error(margin, y_pm, (pre, se_pre))
    Xu, yu, rows = classification_rows(X, y_pm, stacklevel=6)
    w_a, b_a = np.asarray(anchor[0], dtype=float), float(anchor[1])
    n_u, d = Xu.shape
    codes = (yu > 0).astype(int)  # class 0: label -1, class 1: label +1 (the theory's order)
    try:
        priors, spectrum, prods, clipped = class_moments(Xu, codes, 2, w_a[None, :], X_unlabeled)
    except ValueError as exc:
        raise NoPrediction(str(exc)) from None
    ev = spectrum.eigenvalues

    def theory(nn, aa):
        return _convex_classification_error(ev, prods, priors, nn, aa, loss=loss,
                                            fit_intercept=fit_intercept,
                                            intercept_init=b_a).finetuned

    curve = TheoryCurve(theory)
    ft = _theory_point(theory, n_u, alpha)
    se_ft = _error_se(ft, n_u)
    checks = [check_rows(rows, exact_model=rows.uniform and not rows.label_conflict),
              tails_check(Xu, yu - Xu @ w_a - b_a, alpha, fit_intercept)]
    loo = method = None
    fallbacks = []
    interval = logit_interval(ft, se_ft, z)
    if alpha > 0:
        sc = loss_loo_scores(Xu, yu[:, None], w_a[None, :], np.array([b_a]), alpha, loss,
                             epsilon, fit_intercept)
        method = sc.method
        loo = float(np.mean(np.where(sc.scores[:, 0] > 0, 1.0, -1.0) != yu))
        check, empirical = margin_agreement(ft, se_ft, sc.scores[:, 0], yu, method, z)
        checks.append(check)
        if not check.passed:
            ft, se_ft, interval = empirical
            fallbacks.append(disagreement_note(method))
    else:
        fallbacks.append(_no_check_note(loss, alpha))
    if clipped:
        fallbacks.append("the debiased Gram matrix of the class means and the start was not "
                         "positive semi-definite: its negative eigenvalues were set to 0")
    tau = float(spectrum.trace / d) if spectrum.trace > 0 else 1.0
    shapes = curves(curve, alpha, n_u, d, dec["value"], dec["value"], tau, curve_n)
    unknowns = LossUnknowns(
        loss=loss, spectrum=spectrum, n_samples=n_u, priors=priors, gram=prods[0] * d,
        assumptions=CLASSIFICATION_ASSUMPTIONS + (_model_note(loss, alpha),),
        fallbacks=tuple(fallbacks))
    return dict(
        pretrained=(pre, se_pre),
        pretrained_interval=(pre_lo, pre_hi),
        decision=dec,
        finetuned=(ft, se_ft),
        finetuned_interval=interval,
        gap_se=float(np.hypot(se_ft, dec["stderr"])),
        **_common(checks, n_u, unknowns, loo, method, loss, alpha, z, shapes),
    )


def pull_unit(loss, r):
    """The factor that turns ``loss``'s pull ``alpha`` into the squared loss's of the same
    strength: the point of the squared-loss designs (their GCV path and standard errors) that
    serves it, and the scale of the grid of pulls the recommended alpha is searched on.

    ``huber``'s loss has the units of the squared loss (``epsilon |r|``, ``epsilon`` in units
    of ``y``): 1. ``epsilon_insensitive``'s is linear in the residual, its ``alpha`` in units
    of ``x^2 / y``: its stationarity ``X' sign(r) / n = alpha v`` is the squared loss's
    ``X' r / n = alpha v`` with residuals of size ``sigma``, so the factor is ``sigma``, the
    root mean square of the centred residuals ``r`` of the start (1 when ``r`` is constant).
    Taking ``alpha`` as it is would make the unknowns depend on the units of ``y``.
    """
    if loss != "epsilon_insensitive":
        return 1.0
    r = np.asarray(r, dtype=np.float64)
    sigma = float(np.sqrt(np.mean((r - r.mean()) ** 2)))
    return sigma if sigma > 0 and np.isfinite(sigma) else 1.0


def _check_given_noise(law, r, fit_intercept):
    """A noise law given by the user whose variance exceeds the start's mean squared
    residual (centred with an intercept), an upper bound of the noise variance (the start's
    error is the shift's plus the noise's), by more than ``AGREEMENT_Z`` standard errors
    cannot be the law of these labels' noise: :class:`NoPrediction` (the risk would be
    computed for another setting)."""
    r = np.asarray(r, dtype=np.float64)
    sq = (r - r.mean()) ** 2 if fit_intercept else r**2
    m2 = float(np.mean(sq))
    se = float(np.std(sq, ddof=1) / np.sqrt(sq.size)) if sq.size > 1 else 0.0
    if law.variance > m2 + AGREEMENT_Z * se:
        raise NoPrediction(
            f"noise: the law given has noise variance {law.variance:.4g}, but the start's "
            f"residuals bound the noise variance {m2 + AGREEMENT_Z * se:.4g} (their mean "
            f"square plus {AGREEMENT_Z:g} standard errors; the start's error is the shift's "
            "plus the noise's): it is not the law of these labels' noise (in the units of y?)")


def regression_loss_problem(X, y, coef, intercept, *, anchor, loss, epsilon, noise, alpha,
                            fit_intercept, X_unlabeled, confidence, curve_n,
                            intercept_scaling=1.0):
    """All the numbers of the advice for a regression fine-tuning with ``loss`` (a dict)."""
    z = _z(confidence)
    w_a, b_a = np.asarray(anchor[0], dtype=float), float(anchor[1])
    unit = pull_unit(loss, y - X @ w_a - b_a)
    a_sq = alpha * unit
    # the designs of the squared-loss advice, at the anchor (the unknowns describe the data)
    model, r, rows = fit_regression_model(X, y, w_a, b_a, alpha=a_sq, fit_intercept=fit_intercept,
                                          X_unlabeled=X_unlabeled,
                                          intercept_scaling=intercept_scaling)
    n_u = r.size
    pre, se_pre = _pretrained(y - X @ coef - intercept, rows)
    a_design = a_sq if a_sq > 0 else 1.0  # any alpha > 0 selects the design "free" / "none"
    unk = regression_unknowns(model, r, rows, a_design, *_pretrained(y - X @ w_a - b_a, rows))
    lam, dsq, law, offset = regression_loss_inputs(unk, r, noise, fit_intercept)
    if noise is not None:
        _check_given_noise(law, r, fit_intercept)
    extra = model.extra_noise  # repeated rows: the test noise the averaged labels lack

    def theory(nn, aa):
        return robust_risk(lam, dsq, law, nn, aa, loss=loss, epsilon=epsilon,
                           fit_intercept=fit_intercept, offset=offset).finetuned + extra

    curve = TheoryCurve(theory)
    ft = _theory_point(theory, n_u, alpha)
    sq = float(model.finetuned(n_u, a_sq))
    sq_se = float(model.finetuned_se(n_u, a_sq)[0])
    rel = sq_se / sq if sq > 0 and np.isfinite(sq_se) else 0.0
    se_ft = ft * rel
    gap_se = ft * float(model.gap_se(n_u, a_sq, se_pre)) / sq if sq > 0 else np.inf
    fit = model.fit_for(a_design)
    spec = fit.spectrum
    r_eff = spec.trace**2 / spec.trace_sq if spec.trace_sq > 0 else 0.0
    pvalue = residual_normality(r) if noise is None else None
    checks = [check_rows(rows, exact_model=rows.uniform), _tails(fit, r, a_design, r_eff),
              check_profile(fit.profile),
              check_noise_law(pvalue, None if noise is None else law.name, NORMALITY_LEVEL,
                              given_variance=None if noise is None else law.variance,
                              estimate=(unk.noise_var, unk.noise_var_se))]
    loo = method = None
    fallbacks = list(unk.fallbacks)
    if alpha > 0:
        Xu = X[rows.first] if rows.has_duplicates else X
        yu = r + Xu @ w_a + b_a
        sc = loss_loo_scores(Xu, yu[:, None], w_a[None, :], np.array([b_a]), alpha, loss,
                             epsilon, fit_intercept)
        method = sc.method
        e = yu - sc.scores[:, 0]
        loo = float(np.mean(e**2)) + model.extra_noise
        r_g = yu - Xu @ coef - intercept  # the given start's residuals on the same rows
        paired = float(np.std(e**2 - r_g**2, ddof=1) / np.sqrt(n_u))
        gap_se = max(gap_se, paired)
        se_loo = float(np.std(e**2, ddof=1) / np.sqrt(n_u))
        check = check_agreement(ft, se_ft, loo, (loo - AGREEMENT_Z * se_loo,
                                                 loo + AGREEMENT_Z * se_loo), method)
        checks.append(check)
        if not check.passed:
            ft, se_ft, gap_se = loo, se_loo, paired
            fallbacks.append(disagreement_note(method))
    else:
        fallbacks.append(_no_check_note(loss, alpha))
    keep = float(np.var(r, ddof=1) * (1.0 + 1.0 / n_u)) if fit_intercept else pre
    tau = float(spec.trace / lam.size) if spec.trace > 0 else 1.0
    shapes = curves(curve, alpha, n_u, lam.size, pre, keep, tau / unit, curve_n)
    unknowns = LossUnknowns(
        loss=loss, spectrum=spec, n_samples=n_u,
        noise=f"{law.name}" + (" (assumed)" if noise is None else ""),
        noise_var=float(law.variance), shift_signal=float(lam @ dsq), intercept_offset=offset,
        profile=fit.profile,
        assumptions=REGRESSION_ASSUMPTIONS + (
            "noise law: " + ("Gaussian, assumed (checked: noise_law)" if noise is None
                             else f"{law.name}, as given") + f", variance {law.variance:.4g}",
            _model_note(loss, alpha) + (f" with epsilon={epsilon:g}" if epsilon else "")),
        fallbacks=tuple(fallbacks))
    return dict(
        pretrained=(pre, se_pre),
        finetuned=(ft, se_ft),
        finetuned_interval=lognormal_interval(ft, se_ft, z),
        gap_se=float(gap_se),
        realised_spread=None,
        **_common(checks, n_u, unknowns, loo, method, loss, alpha, z, shapes),
    )
