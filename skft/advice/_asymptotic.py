"""Predicted test errors from the user's data, for ``predict_asymptotic_error``."""

from dataclasses import dataclass

import numpy as np

from ._classification import fit_classification_model
from ._regression import _pretrained
from ._regression_model import fit_regression_model, regression_unknowns
from ._scaling import ProblemScale
from ._validation import (
    check_features,
    feature_names,
    resolve_coef_init,
    resolve_task_and_labels,
)

__all__ = ["EstimatedAsymptoticError", "estimate_asymptotic_error"]


@dataclass(frozen=True)
class EstimatedAsymptoticError:
    """Test errors predicted by the theory with unknowns estimated from data.

    Attributes
    ----------
    pretrained : float or ndarray of shape (n_classes,)
        Measured error of the pretrained model on the data (MSE, or misclassification rate;
        one-vs-rest rates per class for multiclass).
    finetuned : float or ndarray
        Predicted error of the fine-tuned model, of shape ``broadcast(n_samples, alpha)``
        (with a leading ``n_classes`` axis for multiclass).
    n_samples, alpha : ndarray
        The broadcast inputs.
    task : str
    unknowns : object or tuple
        The estimated unknowns (see :func:`estimate_regression_unknowns`).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_asymptotic_error
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((50, 100))
    >>> y = X @ np.full(100, 0.1) + 0.5 * rng.standard_normal(50)
    >>> est = estimate_asymptotic_error(np.zeros(100), None, X, y, n_samples=[25, 50])
    >>> est.task, est.finetuned.shape
    ('regression', (2,))
    """

    pretrained: object
    finetuned: object
    n_samples: np.ndarray
    alpha: np.ndarray
    task: str
    unknowns: object


def estimate_asymptotic_error(
    coef_init,
    intercept_init,
    X,
    y,
    alpha=0.0,
    n_samples=None,
    task="auto",
    *,
    X_unlabeled=None,
    fit_intercept=True,
):
    """Predicted test error of the fine-tuned model at other ``n`` and ``alpha``, from data.

    The unknowns are estimated exactly as in :func:`should_finetune` (regression: spectrum,
    noise variance and the shift's profile over the eigen-directions fitted to the GCV
    curve of ``(X, y)`` and the moments of the residuals; classification: debiased class
    mean and spread assumption), then the exact asymptotic formulas of :mod:`skft.theory`
    are evaluated at ``n_samples`` and ``alpha``. With ``fit_intercept`` the intercept is
    modelled as the estimators treat it: at ``alpha > 0`` it is free (one sample spent on
    it, centred features), at ``alpha = 0`` it is one more coordinate ``(x, 1)`` with no
    pull. Meant for the estimators' ``predict_asymptotic_error``.

    Parameters
    ----------
    coef_init : array-like of shape (n_features,) or (n_classes, n_features), or estimator
        Pretrained coefficients (or a fitted linear estimator).
    intercept_init : float, array-like or None
        Pretrained intercept(s).
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Labelled target data the unknowns are estimated from (sparse: densified, as in
        :func:`should_finetune`).
    y : array-like of shape (n_samples,)
    alpha : float or array-like, default=0.0
        Pull toward the start; broadcast with ``n_samples``.
    n_samples : float or array-like, default=None
        Sample sizes to predict at (default: ``len(X)``).
    task : {"auto", "regression", "classification"}, default="auto"
    X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
    fit_intercept : bool, default=True

    Returns
    -------
    EstimatedAsymptoticError

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import estimate_asymptotic_error
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((150, 300))
    >>> y = X @ (rng.standard_normal(300) / np.sqrt(300)) + 0.3 * rng.standard_normal(150)
    >>> est = estimate_asymptotic_error(np.zeros(300), 0.0, X, y, n_samples=[50, 150, 600])
    >>> est.finetuned.shape
    (3,)
    >>> bool(est.finetuned[2] < est.finetuned[0] < est.pretrained)
    True
    """
    names = feature_names(X)
    X = check_features(X, "X", check_scale=False)
    n, d = X.shape
    if X_unlabeled is not None:
        X_unlabeled = check_features(X_unlabeled, "X_unlabeled", n_features=d, min_samples=1,
                                     reference_names=names, allow_dask=True, check_scale=False)
    nn = np.asarray(n if n_samples is None else n_samples, dtype=np.float64)
    aa = np.asarray(alpha, dtype=np.float64)
    if not np.all(np.isfinite(nn)) or np.any(nn <= 1):
        raise ValueError("n_samples must be finite and > 1.")
    if not np.all(np.isfinite(aa)) or np.any(aa < 0):
        raise ValueError("alpha must be finite and >= 0.")
    nn, aa = np.broadcast_arrays(nn, aa)
    coef, intercept, classes = resolve_coef_init(coef_init, intercept_init, d, names)
    task, y, classes = resolve_task_and_labels(task, y, n, coef, classes)
    # computed on X / s_x and y / s_y, answered in the user's units (see _scaling.py)
    scale = ProblemScale(X, y, coef, intercept, regression=task == "regression")
    X, X_unlabeled = scale.features(X), scale.features(X_unlabeled, "X_unlabeled")
    coef, intercept = scale.coef(coef), scale.intercept(intercept)
    if task == "regression":
        y = scale.targets(y)
    alpha_user, aa = aa, np.asarray(scale.alpha(aa), dtype=np.float64)
    a_fit = float(np.ravel(aa)[0]) if aa.size == 1 else 0.0
    shift = 1.0 if fit_intercept else 0.0
    n_eff = np.maximum(nn - shift, 0.5)
    opts = dict(fit_intercept=bool(fit_intercept), X_unlabeled=X_unlabeled,
                intercept_scaling=scale.intercept_scaling() if fit_intercept else 1.0)

    def squeeze(v):
        v = np.asarray(v, dtype=float)
        return float(v) if v.ndim == 0 else v

    if task == "regression":
        model, r, rows = fit_regression_model(X, y, coef[0], intercept[0], alpha=a_fit, **opts)
        pre, se_pre = _pretrained(y - X @ coef[0] - intercept[0], rows)
        unk = scale.unknowns(regression_unknowns(model, r, rows, a_fit, pre, se_pre))
        # the regression model takes the number of samples itself (it spends one on the
        # intercept at alpha > 0 and treats it as one more coordinate at alpha = 0)
        finetuned = squeeze(scale.errors(model.finetuned(nn, aa)))
        return EstimatedAsymptoticError(unk.pretrained_error, finetuned, nn, alpha_user, task,
                                        unk)
    if coef.shape[0] == 1:
        targets = [(np.where(y == classes[1], 1.0, -1.0), 0)]
    else:
        targets = [(np.where(y == c, 1.0, -1.0), k) for k, c in enumerate(classes)]
    pres, fines, unks = [], [], []
    for y_pm, k in targets:
        fit = fit_classification_model(X, y_pm, coef[k], intercept[k], alpha=a_fit, **opts)
        pres.append(fit["pretrained"][0])
        fines.append(np.asarray(fit["model"].finetuned(n_eff, aa), dtype=float))
        unks.append(scale.unknowns(fit["unknowns"]))
    if len(targets) == 1:
        return EstimatedAsymptoticError(pres[0], squeeze(fines[0]), nn, alpha_user, task, unks[0])
    return EstimatedAsymptoticError(np.array(pres), np.stack(fines), nn, alpha_user, task,
                                    tuple(unks))
