"""The arrays a :class:`skft.plotting.FinetuneCurveDisplay` draws, computed without plotting.

Computing lives here and drawing in ``FinetuneCurveDisplay.plot``, as scikit-learn splits its
Displays: each ``*_curves`` function returns the keyword arguments of the Display's constructor
for one source (the exact theory, a fitted estimator or pipeline, a ``FinetuneAdvice``).
"""

import numbers

import numpy as np

from .advice._advice import _curve_n
from .theory import (
    Spectrum,
    classification_error,
    classification_finetune_helps_intervals,
    classification_optimal_alpha,
    finetune_helps_intervals,
    optimal_alpha,
    regression_risk,
)
from .utils._sklearn_compat import check_is_fitted

__all__ = ["advice_curves", "estimator_curves", "theory_curves"]


def as_curve(values, name, size):
    """``values`` as a float array of shape ``(size,)`` (a scalar is repeated)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    if arr.shape != (size,):
        raise ValueError(f"{name} must be a scalar or have shape ({size},), got {arr.shape}.")
    return arr


def finite_or_nan(values):
    return np.where(np.isfinite(values), values, np.nan)


def crossings_from_curve(n, finetuned, pretrained):
    """Sample sizes where ``finetuned - pretrained`` changes sign (linear interpolation).

    A step to or from an infinite value (the interpolation peak) is placed at the grid
    point where the curve is infinite.
    """
    gap = finetuned - pretrained
    out = []
    for i in range(n.size - 1):
        a, b = gap[i], gap[i + 1]
        if np.isnan(a) or np.isnan(b) or (a < 0) == (b < 0):
            continue
        if np.isinf(a) or np.isinf(b):
            out.append(float(n[i] if np.isinf(a) else n[i + 1]))
        else:
            out.append(float(n[i] + (n[i + 1] - n[i]) * a / (a - b)))
    return np.asarray(out)


def crossings_from_intervals(intervals, n):
    """Finite interval ends inside the plotted range of ``n``."""
    ends = {float(e) for iv in intervals for e in iv if 0 < e < np.inf}
    return np.asarray(sorted(e for e in ends if n.min() <= e <= n.max()))


def check_n_grid(n_samples):
    n = np.asarray(n_samples, dtype=np.float64)
    if n.ndim != 1 or n.size < 2:
        raise ValueError(f"n_samples must be a 1-d array of at least 2 sizes, got shape {n.shape}.")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("n_samples must hold finite numbers > 0.")
    if np.any(np.diff(n) <= 0):
        raise ValueError("n_samples must be strictly increasing.")
    return n


def title(name, details):
    """The figures' title: what is drawn (the data, the model), then the setting."""
    return f"{name}\n{details}"


def theory_curves(covariance, *, n_samples, delta, noise_var, mean, coef_init, alpha, task,
                  recommended_at):
    """Constructor arguments for the exact asymptotic errors of a known problem."""
    if task == "auto":
        if (delta is None) == (mean is None):
            raise ValueError(
                "pass either delta and noise_var (regression) or mean and coef_init "
                "(classification), or set task."
            )
        task = "regression" if delta is not None else "classification"
    if task not in ("regression", "classification"):
        raise ValueError(f"task must be 'auto', 'regression' or 'classification', got {task!r}.")
    if not (isinstance(alpha, numbers.Real) and np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    n = check_n_grid(n_samples)
    spec = covariance if isinstance(covariance, Spectrum) else Spectrum.from_covariance(covariance)
    best = None
    if task == "regression":
        if delta is None or noise_var is None:
            raise ValueError("task='regression' needs delta and noise_var.")
        risk = regression_risk(spec, delta, noise_var, n, alpha)
        helps = finetune_helps_intervals(spec, delta, noise_var, alpha, n_max=n.max())
        if recommended_at is not None:
            best = optimal_alpha(spec, delta, noise_var, recommended_at)
            curve = regression_risk(spec, delta, noise_var, n, best.alpha)
        metric = "MSE"
    else:
        if mean is None or coef_init is None:
            raise ValueError("task='classification' needs mean and coef_init.")
        risk = classification_error(spec, mean, coef_init, n, alpha)
        helps = classification_finetune_helps_intervals(spec, mean, coef_init, alpha,
                                                        n_max=n.max())
        if recommended_at is not None:
            best = classification_optimal_alpha(spec, mean, coef_init, recommended_at)
            curve = classification_error(spec, mean, coef_init, n, best.alpha)
        metric = "error rate"
    rec_err = rec_alpha = None
    if best is not None:
        rec_alpha = float(best.alpha)
        rec_err = np.full(n.size, risk.pretrained) if np.isinf(rec_alpha) else curve.finetuned
    rank = int(np.count_nonzero(spec.eigenvalues > 0))
    return dict(
        n_samples=n,
        pretrained_error=risk.pretrained,
        finetuned_error=np.asarray(risk.finetuned),
        alpha=float(alpha),
        recommended_error=rec_err,
        recommended_alpha=rec_alpha,
        crossings=crossings_from_intervals(helps.intervals, n),
        metric=metric,
        n_features=rank,
        task=task,
    )


def _split_pipeline(estimator):
    """``(transform steps or None, final estimator)`` of a Pipeline; ``(None, estimator)``."""
    steps = getattr(estimator, "steps", None)
    if steps is None or not hasattr(estimator, "__getitem__"):
        return None, estimator
    head = estimator[:-1] if len(steps) > 1 else None
    return head, estimator[-1]


def estimator_curves(estimator, X, y, *, n_samples, X_unlabeled):
    """Constructor arguments for a fitted warm-start estimator, or a Pipeline ending in one."""
    head, final = _split_pipeline(estimator)
    if not hasattr(final, "predict_asymptotic_error"):
        what = "a Pipeline whose last step is " if head is not None else ""
        raise TypeError(
            "estimator must be a WarmStartSGDRegressor or WarmStartSGDClassifier, or a Pipeline "
            f"ending in one; got {what}{type(final).__name__}."
        )
    check_is_fitted(final)  # NotFittedError, as scikit-learn's Displays raise
    if head is not None:
        check_is_fitted(estimator)
        X = head.transform(X)
        if X_unlabeled is not None:
            X_unlabeled = head.transform(X_unlabeled)
    X_arr = np.asarray(X) if not hasattr(X, "toarray") else X
    if X_arr.ndim != 2:
        raise ValueError(f"X must be a 2-d array, got shape {np.shape(X_arr)}.")
    n_obs, d = X_arr.shape
    n = check_n_grid(_curve_n(n_obs, d) if n_samples is None else n_samples)
    alpha = float(final.alpha)
    kwargs = {} if X_unlabeled is None else {"X_unlabeled": X_unlabeled}
    res = final.predict_asymptotic_error(X, y, n_samples=n, **kwargs)
    pre = np.asarray(res.pretrained, dtype=np.float64)
    ft = np.asarray(res.finetuned, dtype=np.float64)
    if ft.ndim == 2:  # multiclass: one row per class
        pre, ft = pre.mean(), ft.mean(axis=0)
    is_classifier = hasattr(final, "classes_")
    return dict(
        n_samples=n,
        pretrained_error=float(pre),
        finetuned_error=ft,
        alpha=alpha,
        metric="error rate" if is_classifier else "MSE",
        observed_n=n_obs,
        n_features=d,
        details=f"n = {n_obs}, d = {d}, alpha = {alpha:g}",
    )


def advice_curves(advice):
    """Constructor arguments for a :class:`~skft.FinetuneAdvice`."""
    for attr in ("curve_n", "curve_finetuned", "pretrained_error", "helps_intervals"):
        if not hasattr(advice, attr):
            raise TypeError(
                f"advice must be a FinetuneAdvice (from should_finetune), got "
                f"{type(advice).__name__}."
            )
    if advice.finetuned_error is None:
        reasons = "; ".join(f"{c.name}: {c.reason}" for c in advice.candidates)
        raise ValueError(f"no fine-tuning named has a prediction, nothing to plot ({reasons}).")
    n = np.asarray(advice.curve_n, dtype=np.float64)
    pre = advice.pretrained_error
    rec = advice.curve_recommended
    rec_alpha = advice.recommended_alpha
    if rec is not None and rec_alpha == advice.alpha:
        rec = None  # the same curve twice
    crossings = (
        crossings_from_intervals(advice.helps_intervals, n)
        if advice.per_class is None
        else None  # multiclass: no intervals; interpolate the mean curve
    )
    dec = advice.decision_pretrained_error
    show_decision = dec is not None and advice.decision_basis in ("gaussian_margin", "mixed")
    ft = advice.finetuned_error
    verdict = "fine-tune" if advice.finetune else "keep the pretrained model"
    return dict(
        n_samples=n,
        pretrained_error=pre.value,
        finetuned_error=np.asarray(advice.curve_finetuned, dtype=np.float64),
        alpha=advice.alpha,
        recommended_error=rec,
        recommended_alpha=None if rec is None else rec_alpha,
        crossings=crossings,
        pretrained_band=(pre.low, pre.high),
        metric=advice.metric,
        observed_n=advice.n_samples,
        observed_error=(ft.value, ft.low, ft.high),
        loo_error=advice.loo_error,
        decision_pretrained_error=dec.value if show_decision else None,
        confidence=advice.confidence,
        n_features=advice.n_features,
        verdict=verdict + ("" if advice.confident else " (not confident)"),
        details=f"n = {advice.n_samples}, d = {advice.n_features}, alpha = {advice.alpha:g}",
    )
