"""Which fine-tunings :func:`~skft.should_finetune` judges: the ``loss`` argument resolved.

``loss`` names one fine-tuning or several: a loss name (with the function's ``alpha``,
``fit_intercept``, ``epsilon`` and ``noise``), or an skft estimator
(``WarmStartSGDRegressor`` / ``WarmStartSGDClassifier``, fitted or not), whose own ``loss``,
``epsilon``, ``alpha``, ``fit_intercept`` and ``calibrate_start`` say which fine-tuning it
fits; or a list of these. Each becomes a :class:`FineTuning`, judged by its own theory
against keeping the start as given.

Calibrated starts (``calibrate_start``) are judged as the estimator fits them: the start's
scores ``z = X w0 + b0`` are mapped by the ``(a, c)`` minimising the fine-tuning loss of
``a z + c`` on the data (:func:`skft._core._convex.calibrate_scores`, the estimators' own
routine), and fine-tuning starts at and is pulled toward ``(a w0, a b0 + c)``. The two
calibrated parameters are fitted on the same samples the advice uses: they are treated as
fixed (optimistic by about ``p / n`` in the error of the calibrated start itself).
"""

import math
from dataclasses import dataclass

import numpy as np

from .._core._convex import calibrate_scores
from ..theory import NoiseLaw, noise_law

__all__ = ["FineTuning", "check_noise", "resolve_finetunings"]

CLASSIFICATION_LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber")
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")
ALL_LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber", "huber",
              "epsilon_insensitive")
_ESTIMATOR_PARAMS = ("loss", "alpha", "fit_intercept", "epsilon", "calibrate_start")


@dataclass(frozen=True)
class FineTuning:
    """One fine-tuning to judge (internal).

    ``task``: ``"regression"`` / ``"classification"`` when it can only be one (an estimator,
    or a loss of one task), else None. ``reason``: why no prediction can be made, known before
    any computation (e.g. early stopping), else None. ``estimator``: the estimator it came
    from, or None.
    """

    name: str
    loss: str
    alpha: float
    fit_intercept: bool
    epsilon: float
    calibrate_start: str | None
    noise: object
    task: str | None
    reason: str | None = None
    estimator: object = None

    def anchor(self, X, targets, coef, intercept):
        """The start fine-tuning begins at: ``(a w0, a b0 + c)`` per row (calibrated), or the
        start itself. ``targets``: ``(n, K)``, the values the loss fits (``+-1`` per
        one-vs-rest column for classification). Raises ValueError when the calibration has
        no solution (the estimator's fit would raise the same)."""
        if self.calibrate_start is None:
            return coef, intercept
        scale, offset = np.ones(coef.shape[0]), np.zeros(coef.shape[0])
        Z = X @ coef.T + intercept
        for j in range(coef.shape[0]):
            scale[j], offset[j] = calibrate_scores(
                Z[:, j], targets[:, j], self.loss, self.epsilon, None,
                scale=self.calibrate_start == "affine")
        return coef * scale[:, None], intercept * scale + offset


def _task_of_loss(loss):
    if loss in REGRESSION_LOSSES and loss not in CLASSIFICATION_LOSSES:
        return "regression"
    if loss in CLASSIFICATION_LOSSES and loss not in REGRESSION_LOSSES:
        return "classification"
    return None


def _is_skft_estimator(obj):
    get = getattr(obj, "get_params", None)
    if get is None or not hasattr(type(obj), "_asymptotic_task"):
        return False
    try:
        params = get(deep=False)
    except TypeError:
        return False
    return all(p in params for p in _ESTIMATOR_PARAMS)


def _check_epsilon(epsilon, name):
    if not (isinstance(epsilon, int | float | np.number) and math.isfinite(epsilon)
            and epsilon >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {epsilon!r}.")
    return float(epsilon)


def _name(loss, epsilon):
    return f"{loss}(epsilon={epsilon:g})" if loss in ("huber", "epsilon_insensitive") else loss


def _from_estimator(est, noise, position):
    p = est.get_params(deep=False)
    task = type(est)._asymptotic_task
    where = f"loss[{position}] ({type(est).__name__})"
    loss = p["loss"]
    allowed = REGRESSION_LOSSES if task == "regression" else CLASSIFICATION_LOSSES
    if loss not in allowed:
        raise ValueError(f"{where}: loss={loss!r} is not one of {list(allowed)}.")
    alpha = p["alpha"]
    if not (isinstance(alpha, int | float | np.number) and not math.isnan(alpha) and alpha >= 0):
        raise ValueError(f"{where}: alpha must be a number >= 0 (inf keeps the start), got "
                         f"{alpha!r}.")
    epsilon = _check_epsilon(p["epsilon"], f"{where}: epsilon")
    cal = p["calibrate_start"]
    if cal not in (None, "intercept", "affine"):
        raise ValueError(f"{where}: calibrate_start must be None, 'intercept' or 'affine', "
                         f"got {cal!r}.")
    reason = None
    if p.get("early_stopping", False):
        reason = ("early_stopping=True stops SGD at a held-out criterion, not at the minimiser "
                  "of the objective the theory describes")
    parts = [_name(loss, epsilon)]
    if not p["fit_intercept"]:
        parts.append("fit_intercept=False")
    if cal is not None:
        parts.append(f"calibrate_start={cal!r}")
    return FineTuning(
        name=f"{type(est).__name__}: {', '.join(parts)}", loss=loss, alpha=float(alpha),
        fit_intercept=bool(p["fit_intercept"]), epsilon=epsilon, calibrate_start=cal,
        noise=noise if task == "regression" else None, task=task, reason=reason,
        estimator=est)


def resolve_finetunings(loss, *, epsilon, noise, alpha, fit_intercept):
    """The fine-tunings named by ``loss`` (a list of :class:`FineTuning`).

    Raises ValueError naming the argument for anything that is not a loss name of the
    estimators or an skft estimator, and for ``noise`` given with no robust regression loss
    to use it.
    """
    items = list(loss) if isinstance(loss, list | tuple) else [loss]
    if not items:
        raise ValueError("loss must name at least one fine-tuning (a loss name or an skft "
                         "estimator), got an empty list.")
    epsilon = _check_epsilon(epsilon, "epsilon")
    specs = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            if item not in ALL_LOSSES:
                raise ValueError(f"loss must be one of {list(ALL_LOSSES)} or an skft estimator "
                                 f"(WarmStartSGDRegressor / WarmStartSGDClassifier), got "
                                 f"{item!r}.")
            specs.append(FineTuning(
                name=_name(item, epsilon), loss=item, alpha=alpha,
                fit_intercept=fit_intercept, epsilon=epsilon, calibrate_start=None,
                noise=noise, task=_task_of_loss(item)))
        elif _is_skft_estimator(item):
            specs.append(_from_estimator(item, noise, i))
        else:
            raise ValueError(
                f"loss[{i}] must be a loss name ({', '.join(ALL_LOSSES)}) or an skft estimator "
                f"(WarmStartSGDRegressor / WarmStartSGDClassifier), got {type(item).__name__}."
                if isinstance(loss, list | tuple) else
                f"loss must be a loss name ({', '.join(ALL_LOSSES)}), an skft estimator "
                f"(WarmStartSGDRegressor / WarmStartSGDClassifier) or a list of them, got "
                f"{type(item).__name__}.")
    if noise is not None and not any(s.loss in ("huber", "epsilon_insensitive") for s in specs):
        raise ValueError("noise is the law of the label noise for the robust regression losses "
                         "('huber', 'epsilon_insensitive'), whose risk depends on it; none of "
                         "the fine-tunings named by loss uses it.")
    seen = {}
    for i, spec in enumerate(specs):
        eps = spec.epsilon if spec.loss in ("huber", "epsilon_insensitive") else None
        key = (spec.loss, spec.alpha, spec.fit_intercept, eps, spec.calibrate_start,
               spec.reason)
        if key in seen:
            raise ValueError(f"loss[{i}] names the same fine-tuning as loss[{seen[key]}] "
                             f"({spec.name}, alpha={spec.alpha:g}, fit_intercept="
                             f"{spec.fit_intercept}): name each once.")
        seen[key] = i
    if noise is not None:
        check_noise(noise)
    return specs


def check_noise(noise):
    """``noise`` validated in the user's units: a law name, a :class:`~skft.theory.NoiseLaw`
    or ``(values, weights)`` with ``values`` a non-empty 1-D array of finite real numbers
    (the law's atoms) and ``weights`` None or non-negative, of the same length. Raises
    ValueError naming ``noise``."""
    if isinstance(noise, NoiseLaw):
        law = noise
    elif isinstance(noise, str):
        law = _noise_law(noise)
    elif isinstance(noise, tuple) and len(noise) == 2:
        values, weights = noise
        for part, arr in (("values", values), ("weights", weights)):
            if arr is None and part == "weights":
                continue
            a = np.asarray(arr)
            if a.dtype.kind not in "biuf" or a.ndim != 1 or a.size == 0:
                raise ValueError(
                    f"noise=(values, weights): {part} must be a non-empty 1-D array of real "
                    f"numbers, got {'dtype ' + str(a.dtype) if a.dtype.kind not in 'biuf' else ''}"
                    f"{'' if a.dtype.kind not in 'biuf' else 'shape ' + str(a.shape)}.")
        if weights is not None and np.shape(weights) != np.shape(values):
            raise ValueError(f"noise=(values, weights): weights must have the shape of values "
                             f"{np.shape(values)}, got {np.shape(weights)}.")
        law = _noise_law(noise)
    else:
        raise ValueError(f"noise must be a law name, a NoiseLaw or (values, weights), got "
                         f"{type(noise).__name__}.")
    if not (np.all(np.isfinite(law.means)) and np.all(np.isfinite(law.variances))
            and np.isfinite(law.variance)):
        raise ValueError(f"noise: the law's variance is not a finite float64 number "
                         f"({law.variance!r}).")
    return law


def _noise_law(noise):
    try:
        return noise_law(noise)
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        raise ValueError(msg if msg.startswith("noise") else f"noise: {msg}") from None


def resolve_task(specs, task):
    """The task the fine-tunings imply (``task`` when given; checked against them)."""
    implied = {s.task for s in specs if s.task is not None}
    if len(implied) > 1:
        raise ValueError("loss names fine-tunings of both tasks (regression and "
                         "classification); judge one task at a time.")
    if task == "auto":
        return implied.pop() if implied else "auto"
    if implied and implied != {task}:
        bad = [s.name for s in specs if s.task not in (None, task)]
        raise ValueError(f"task={task!r}, but loss names {', '.join(bad)}, a fine-tuning for "
                         f"{implied.pop()}.")
    return task


def check_same_start(specs, coef, intercept):
    """An estimator candidate whose own ``coef_init`` / ``intercept_init`` differ from the
    start given to ``should_finetune`` would describe another fine-tuning: refused."""
    for i, spec in enumerate(specs):
        est = spec.estimator
        if est is None:
            continue
        own = getattr(est, "coef_init", None)
        if own is not None and not _same(own, coef):
            raise ValueError(
                f"loss[{i}] ({type(est).__name__}) has its own coef_init, which differs from "
                "the start given to should_finetune: pass the estimator with coef_init=None "
                "or the same start.")
        own_b = getattr(est, "intercept_init", None)
        if own_b is not None and not np.allclose(np.ravel(np.asarray(own_b, dtype=float)) *
                                                 np.ones(intercept.size), intercept):
            raise ValueError(
                f"loss[{i}] ({type(est).__name__}) has its own intercept_init, which differs "
                "from the start's intercept given to should_finetune.")


def _same(own, coef):
    if hasattr(own, "coef_"):
        own = own.coef_
    try:
        arr = np.atleast_2d(np.asarray(own, dtype=float))
    except (TypeError, ValueError):
        return False
    return arr.shape == coef.shape and bool(np.allclose(arr, coef))
