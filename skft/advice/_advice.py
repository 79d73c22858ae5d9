"""``should_finetune``: fine-tune or keep the pretrained model? Theory and LOO side by side."""

import numpy as np

from ..utils._stages import StageLog
from ._checks import AssumptionCheck
from ._classification import classification_problem
from ._regression import regression_problem
from ._report import _basis_short, _grouped
from ._result import ErrorEstimate, FinetuneAdvice, merge_intervals
from ._scaling import ProblemScale
from ._validation import (
    check_features,
    feature_names,
    resolve_coef_init,
    resolve_task_and_labels,
)

__all__ = ["ErrorEstimate", "FinetuneAdvice", "should_finetune"]


def _curve_n(n, d):
    top = max(4 * max(n, d), 2 * n)
    return np.unique(np.round(np.geomspace(2, top, 160)))


def should_finetune(
    coef_init,
    X,
    y,
    *,
    intercept_init=None,
    task="auto",
    alpha=0.0,
    X_unlabeled=None,
    fit_intercept=True,
    confidence=0.95,
    verbose=0,
):
    """Decide whether fine-tuning from ``coef_init`` on ``(X, y)`` beats the pretrained model.

    The pretrained model's error is measured on the target labels (it never saw them). The
    fine-tuned model's error is predicted by :mod:`skft.theory` (exact in the proportional
    limit) from unknowns estimated on the same data (:func:`estimate_regression_unknowns`,
    :func:`estimate_classification_unknowns`: noise variance and shift size by a method of
    moments on ``r = y - X w0``, the spectrum of the target covariance from ``X`` and
    ``X_unlabeled``). The closed-form leave-one-out error of the fine-tuned model
    (:func:`loo_residuals`, exact, no assumption on the shift) is reported beside it.
    The fine-tuned model is the limit of SGD from ``w0`` on the squared loss with the pull
    ``alpha/2 ||w - w0||^2``: ``w = w0 + X'(X X' + n alpha I)^{-1}(y - X w0)``.

    Classification: the reported ``pretrained_error`` is the counted error rate; the decision
    compares with ``decision_pretrained_error``, the Gaussian-margin estimate of the
    pretrained error (efficient when the margins are Gaussian within each class, as the
    theory predicts in high dimension) unless a normality test of the margins rejects that
    assumption (Shapiro-Wilk per class, Fisher-combined, level 0.01), in which case, or when
    the test cannot be run, the count. ``decision_basis`` says which, and why.

    Parameters
    ----------
    coef_init : array-like of shape (n_features,) or (n_classes, n_features), or estimator
        Pretrained coefficients, or a fitted linear estimator (``coef_``, optional
        ``intercept_`` and ``classes_``).
    X : array-like or scipy.sparse matrix of shape (n_samples, n_features)
        Labelled target features (at least 3 samples). Sparse input is densified (up to
        20 million entries; larger sparse input is refused with a message).
    y : array-like of shape (n_samples,)
        Target values (regression) or class labels (classification: -1/+1 coding of
        ``classes[1]`` vs the rest, one-vs-rest for multiclass).
    intercept_init : float or array-like, default=None
        Pretrained intercept(s); default the estimator's ``intercept_`` or 0.
    task : {"auto", "regression", "classification"}, default="auto"
    alpha : float, default=0.0
        Pull toward the start of the fine-tuning being considered.
    X_unlabeled : array-like or sparse matrix of shape (n_unlabeled, n_features), default=None
        Unlabelled target features: improve the covariance estimate (sparse: as ``X``).
    fit_intercept : bool, default=True
        Whether the fine-tuned model fits an intercept (features are then centred for the
        theory, which spends one sample on it).
    confidence : float, default=0.95
        Level of the intervals and of the ``confident`` flag.
    verbose : int, default=0
        Progress on stderr: with 1, one line per stage when it ends, with its duration
        (validation; per intercept design the Gram factorisation, the spectrum estimate and
        the shift profile; rows, leave-one-out, checks, curves); with 2, also a line when a
        stage starts. 0 prints nothing.

    Returns
    -------
    FinetuneAdvice

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import should_finetune
    >>> rng = np.random.default_rng(0)
    >>> n, d = 200, 500
    >>> X = rng.standard_normal((n, d))
    >>> w_star = rng.standard_normal(d) / np.sqrt(d)
    >>> w0 = w_star + 1.5 * rng.standard_normal(d) / np.sqrt(d)   # a poor start
    >>> y = X @ w_star + 0.5 * rng.standard_normal(n)
    >>> advice = should_finetune(w0, X, y, fit_intercept=False)
    >>> advice.finetune, advice.confident
    (True, True)

    Classification, Gaussian features (Gaussian margins: the efficient estimate decides):

    >>> from skft.datasets import make_transfer_classification
    >>> X, y, truth = make_transfer_classification(150, 300, random_state=0)
    >>> advice = should_finetune(truth.coef_init, X, y, alpha=0.1)
    >>> advice.decision_basis
    'gaussian_margin'
    """
    if not (isinstance(verbose, int | np.integer) and verbose >= 0):  # bool is an int
        raise ValueError(f"verbose must be an integer >= 0 (or a bool), got {verbose!r}.")
    log = StageLog(None, "should_finetune", verbose > 0, announce=verbose > 1)
    with log.stage("validation") as notes:
        names = feature_names(X)
        X = check_features(X, "X", check_scale=False)
        n, d = X.shape
        if X_unlabeled is not None:
            X_unlabeled = check_features(X_unlabeled, "X_unlabeled", n_features=d,
                                         min_samples=1, reference_names=names, allow_dask=True,
                                         keep_float32=True, check_scale=False)
        if not (isinstance(alpha, int | float | np.number) and np.isfinite(alpha)
                and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
        if not 0 < confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
        coef, intercept, classes = resolve_coef_init(coef_init, intercept_init, d, names)
        task, y, classes = resolve_task_and_labels(task, y, n, coef, classes)
        notes.append(f"{task}, n={n}, d={d}"
                     + ("" if X_unlabeled is None else f", {X_unlabeled.shape[0]} unlabelled rows"))
    alpha = float(alpha)
    # computed on X / s_x and y / s_y (powers of two: X and residuals of order 1), answered
    # in the user's units: the same advice at every scale (see _scaling.py)
    scale = ProblemScale(X, y, coef, intercept, regression=task == "regression")
    X, X_unlabeled = scale.features(X), scale.features(X_unlabeled, "X_unlabeled")
    coef, intercept = scale.coef(coef), scale.intercept(intercept)
    if task == "regression":
        y = scale.targets(y)
    curve_n = _curve_n(n, d)
    common = dict(
        alpha=scale.alpha(alpha),
        fit_intercept=bool(fit_intercept),
        X_unlabeled=X_unlabeled,
        confidence=confidence,
        curve_n=curve_n,
        intercept_scaling=scale.intercept_scaling() if fit_intercept else 1.0,
    )
    setting = dict(alpha=common["alpha"], n_samples=n, n_features=d, confidence=confidence)
    if task == "regression":
        res = regression_problem(X, y, coef[0], intercept[0], log=log, **common)
        return scale.advice(_assemble(res, "regression", setting, curve_n), alpha)
    if coef.shape[0] == 1:
        y_pm = np.where(y == classes[1], 1.0, -1.0)
        res = classification_problem(X, y_pm, coef[0], intercept[0], log=log, **common)
        return scale.advice(
            _assemble(res, "classification", setting, curve_n, classes=classes), alpha)
    per_class = []
    for k, cls in enumerate(classes):
        y_pm = np.where(y == cls, 1.0, -1.0)
        if np.all(y_pm < 0):
            raise ValueError(
                f"y has no sample of class {cls!r}: one-vs-rest advice needs every class."
            )
        label = f"class {np.asarray(cls).tolist()!r} vs rest"
        res = classification_problem(X, y_pm, coef[k], intercept[k], log=log.child(label),
                                     **common)
        per_class.append(_assemble(res, "classification", setting, curve_n, classes=classes))
    return scale.advice(_combine(per_class, setting, curve_n, classes), alpha)


def _assemble(res, task, setting, curve_n, classes=None):
    z = res["z"]
    if "pretrained_interval" in res:  # counted error rate: Wilson interval
        pre = ErrorEstimate(*map(float, res["pretrained"]), *res["pretrained_interval"])
    else:
        pre = ErrorEstimate.from_se(*res["pretrained"], z)
    if "finetuned_interval" in res:  # regression: lognormal interval of the realised error
        ft = ErrorEstimate(*map(float, res["finetuned"]), *res["finetuned_interval"])
    else:
        ft = ErrorEstimate.from_se(*res["finetuned"], z)
    basis = dict(decision_pretrained_error=pre)
    assumptions = tuple(res["unknowns"].assumptions)
    if "decision" in res:  # classification: Gaussian-margin or counted (see the attribute)
        d = res["decision"]
        if d["basis"] == "counted":
            dec = pre
        else:
            dec = ErrorEstimate.from_se(d["value"], d["stderr"], z)
        basis = dict(
            decision_pretrained_error=dec,
            decision_basis=d["basis"],
            decision_basis_reason=d["reason"],
            normality_pvalue=d["normality_pvalue"],
        )
        assumptions += (f"decision's pretrained error: {d['reason']}",)
    gap = ft.value - basis["decision_pretrained_error"].value
    unk = res["unknowns"]
    fallbacks = tuple(unk.fallbacks)
    loo_finetune = None if res["loo"] is None else bool(res["loo"] < pre.value)
    checks = tuple(res.get("checks", ()))
    # confident only when the gap is beyond z standard errors AND the assumption-free
    # leave-one-out comparison makes the same decision AND every check passed (see the
    # docstring of `confident`)
    confident = (
        bool(abs(gap) > z * res["gap_se"])
        and loo_finetune == bool(gap < 0)
        and all(c.passed for c in checks)
    )
    if res["loo"] is None:
        # no empirical check at this alpha: do not claim confidence on the theory alone
        confident = False
        fallbacks += (
            f"leave-one-out undefined at alpha={setting['alpha']:g} (a sample alone determines "
            "a direction of the fit): the prediction rests on the theory alone",
        )
    return FinetuneAdvice(
        task=task,
        finetune=bool(gap < 0),
        confident=confident,
        pretrained_error=pre,
        finetuned_error=ft,
        gap_stderr=res["gap_se"],
        recommended_alpha=res["recommended_alpha"],
        recommended_error=res["recommended_error"],
        helps_intervals=merge_intervals(res["intervals"]),
        loo_error=res["loo"],
        gcv_error=res["gcv"],
        loo_finetune=loo_finetune,
        unknowns=unk,
        assumptions=assumptions,
        fallbacks=fallbacks,
        curve_n=curve_n,
        curve_finetuned=res["curve"],
        curve_recommended=res["curve_best"],
        classes=classes,
        checks=checks,
        n_effective=res.get("n_effective"),
        realised_spread=res.get("realised_spread"),
        **basis,
        **setting,
    )


def _combine(per_class, setting, curve_n, classes):
    """Multiclass: average the one-vs-rest errors (a documented proxy of the argmax error)."""
    k = len(per_class)
    z = per_class[0]._z

    def mean_est(attr):
        vals = np.array([getattr(a, attr).value for a in per_class])
        ses = np.array([getattr(a, attr).stderr for a in per_class])
        return ErrorEstimate.from_se(vals.mean(), np.sqrt(np.sum(ses**2)) / k, z)

    pre, ft = mean_est("pretrained_error"), mean_est("finetuned_error")
    dec = mean_est("decision_pretrained_error")
    bases = {a.decision_basis for a in per_class}
    basis = bases.pop() if len(bases) == 1 else "mixed"
    reason = "; ".join(_grouped(classes, [_basis_short(a) for a in per_class]))
    gap_se = float(np.sqrt(np.sum([a.gap_stderr**2 for a in per_class])) / k)
    loos = [a.loo_error for a in per_class]
    loo = None if any(v is None for v in loos) else float(np.mean(loos))
    rec = [a.recommended_alpha for a in per_class]
    checks = _merge_checks(classes, per_class)
    assumptions = per_class[0].assumptions[:-1] + (
        "multiclass: one-vs-rest problems, decided on the mean one-vs-rest error rate",
        f"decision's pretrained error: mean over the one-vs-rest problems of the "
        f"Gaussian-margin estimate where the margins' normality is not rejected (Shapiro-Wilk "
        f"per class, Fisher-combined, p >= 0.01), else the count: {reason}",
    )
    return FinetuneAdvice(
        task="classification",
        finetune=bool(ft.value < dec.value),
        # as for one class: no confidence without the empirical check of every class, nor
        # when the leave-one-out comparison of the mean error rates decides otherwise
        confident=bool(
            abs(ft.value - dec.value) > z * gap_se
            and loo is not None
            and (loo < pre.value) == (ft.value < dec.value)
            and all(c.passed for c in checks)
        ),
        pretrained_error=pre,
        finetuned_error=ft,
        gap_stderr=gap_se,
        recommended_alpha=float(np.median(rec)),
        recommended_error=float(np.mean([a.recommended_error for a in per_class])),
        helps_intervals=(),
        loo_error=loo,
        gcv_error=None,
        loo_finetune=None if loo is None else bool(loo < pre.value),
        unknowns=tuple(a.unknowns for a in per_class),
        assumptions=assumptions,
        fallbacks=tuple(m for a in per_class for m in a.fallbacks),
        curve_n=curve_n,
        curve_finetuned=np.mean([a.curve_finetuned for a in per_class], axis=0),
        curve_recommended=None,
        per_class=tuple(per_class),
        classes=classes,
        decision_pretrained_error=dec,
        decision_basis=basis,
        decision_basis_reason=reason,
        checks=tuple(checks),
        n_effective=per_class[0].n_effective,
        **setting,
    )


def _merge_checks(classes, per_class):
    """One check per name over the one-vs-rest problems: failed when any class failed."""
    merged = []
    names = list(dict.fromkeys(c.name for a in per_class for c in a.checks))
    for name in names:
        items = [
            (lab, c)
            for lab, a in zip(classes, per_class, strict=True)
            for c in a.checks
            if c.name == name
        ]
        bad = [(lab, c) for lab, c in items if not c.passed]
        if bad:
            detail = "; ".join(_grouped([lab for lab, _ in bad], [c.detail for _, c in bad]))
            merged.append(AssumptionCheck(name, False, detail))
        else:
            merged.append(AssumptionCheck(name, True, f"passed for each of {len(items)} classes"))
    return tuple(merged)
