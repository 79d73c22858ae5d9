"""The start's measured error, and the candidates that keep a start (``alpha = inf``).

:func:`pretrained_measurement`: the error of the start *as given* on the target labels, the
baseline every candidate is compared with (regression: mean squared residual, jackknife
standard error; two classes: counted rate with its Wilson interval, and the Gaussian-margin
estimate for the decision when the margins' normality is not rejected; multiclass: the
counted argmax error).

:func:`keep_problem`: a fine-tuning with ``alpha = inf`` keeps its start. Uncalibrated, it *is*
the pretrained model (its error is the baseline's, exactly: it cannot beat it). Calibrated
(``calibrate_start``), it is the start mapped by the 1 or 2 parameters fitted on the data,
whose error measured on those same data is optimistic; its error is estimated by
``N_FOLDS``-fold cross-validation of the calibration (fitted on the other folds, counted or
squared on the held-out one), which is also its check.
"""

import numpy as np

from ._classification import logit_interval
from ._margins import decision_pretrained_error, wilson_interval
from ._regression import _pretrained, lognormal_interval
from ._rows import exact_duplicates

__all__ = ["N_FOLDS", "keep_problem", "pretrained_measurement"]

N_FOLDS = 10


def _wrong(scores, target):
    """Misclassification indicator: argmax for several columns, the sign for one."""
    if scores.shape[1] == 1:
        return (np.where(scores[:, 0] > 0, 1.0, -1.0) != target[:, 0]).astype(float)
    return (np.argmax(scores, axis=1) != np.argmax(target, axis=1)).astype(float)


def pretrained_measurement(task, X, targets, coef, intercept, z):
    """The start's measured error (a dict: ``pretrained``, and for classification
    ``pretrained_interval`` and ``decision``; ``residual``: squared residuals or
    misclassification indicators per row, for paired standard errors)."""
    scores = X @ coef.T + intercept
    if task == "regression":
        r = targets[:, 0] - scores[:, 0]
        rows = exact_duplicates(X, targets[:, 0])
        return dict(pretrained=_pretrained(r, rows), residual=r**2)
    wrong = _wrong(scores, targets)
    pre, se, lo, hi = wilson_interval(int(wrong.sum()), wrong.size, z)
    if scores.shape[1] == 1:
        dec = decision_pretrained_error(scores[:, 0], targets[:, 0], (pre, se))
    else:
        dec = dict(value=pre, stderr=se, basis="counted",
                   reason="counted argmax error rate of the start", normality_pvalue=None)
    return dict(pretrained=(pre, se), pretrained_interval=(lo, hi), decision=dec,
                residual=wrong)


def paired_se(a, b):
    """Standard error of ``mean(a - b)`` over the rows."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    return float(np.std(diff, ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else np.inf


def _cv_scores(spec, X, targets, coef, intercept):
    """Held-out scores of the calibrated start (the calibration fitted on the other folds)."""
    n = X.shape[0]
    order = np.random.default_rng(0).permutation(n)
    out = np.empty((n, coef.shape[0]))
    for fold in np.array_split(order, min(N_FOLDS, n)):
        train = np.ones(n, dtype=bool)
        train[fold] = False
        W, b = spec.anchor(X[train], targets[train], coef, intercept)
        out[fold] = X[fold] @ W.T + b
    return out


def keep_problem(spec, task, X, targets, coef, intercept, *, confidence_z, curve_n, note=None):
    """The numbers of a candidate with ``alpha = inf`` (a dict for ``_assemble``), or of
    another fine-tuning that keeps its start (``note`` says why; uncalibrated)."""
    z = confidence_z
    base = pretrained_measurement(task, X, targets, coef, intercept, z)
    pre, se_pre = base["pretrained"]
    dec = base.get("decision", dict(value=pre, stderr=se_pre))
    n = X.shape[0]
    out = dict(pretrained=(pre, se_pre), gcv=None, z=z, n_effective=n, unknowns=None,
               recommended_alpha=np.inf, recommended_error=float(dec["value"]),
               curve_best=None)
    if "decision" in base:
        out.update(pretrained_interval=base["pretrained_interval"], decision=base["decision"])
    if spec.calibrate_start is None:
        note = note or ("alpha = inf keeps the start as given: this candidate is the "
                        "pretrained model itself (it cannot beat it)")
        out.update(finetuned=(dec["value"], dec["stderr"]), gap_se=0.0, checks=(), loo=None,
                   check_method=None, loo_missing=note, intervals=(),
                   curve=np.full(np.shape(curve_n), float(dec["value"])))
        if "decision" in base:  # the decision's estimate (Gaussian-margin or counted)
            out["finetuned_interval"] = (base["pretrained_interval"]
                                         if dec["basis"] == "counted" else
                                         (max(dec["value"] - z * dec["stderr"], 0.0),
                                          min(dec["value"] + z * dec["stderr"], 1.0)))
        else:
            out["finetuned_interval"] = lognormal_interval(pre, se_pre, z)
        return out
    held = _cv_scores(spec, X, targets, coef, intercept)
    method = f"{min(N_FOLDS, n)}-fold cross-validation of the calibration"
    if task == "regression":
        loss_i = (targets[:, 0] - held[:, 0]) ** 2
        ft = float(loss_i.mean())
        se_ft = float(np.std(loss_i, ddof=1) / np.sqrt(n))
        interval = lognormal_interval(ft, se_ft, z)
    else:
        loss_i = _wrong(held, targets)
        ft, se_ft, lo, hi = wilson_interval(int(loss_i.sum()), n, z)
        interval = (lo, hi) if targets.shape[1] > 1 else logit_interval(ft, se_ft, z)
    gap_se = paired_se(loss_i, base["residual"])
    out.update(
        finetuned=(ft, se_ft), finetuned_interval=interval, gap_se=gap_se,
        checks=(), loo=ft, check_method=method,
        loo_missing=None, intervals=(), curve=np.full(np.shape(curve_n), ft))
    return out
