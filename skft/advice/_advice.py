"""``should_finetune``: fine-tune or keep the pretrained model? Theory and LOO side by side."""

import math
from dataclasses import replace

import numpy as np

from ..utils._stages import StageLog
from ._candidates import check_same_start, resolve_finetunings, resolve_task
from ._classification import classification_problem
from ._keep import keep_problem, paired_se, pretrained_measurement
from ._loss_problem import NoPrediction, classification_loss_problem, regression_loss_problem
from ._multiclass import class_codes, multiclass_problem
from ._regression import _z, regression_problem
from ._result import CandidateAdvice, ErrorEstimate, FinetuneAdvice, merge_intervals
from ._scaling import ProblemScale
from ._validation import (
    check_features,
    feature_names,
    resolve_coef_init,
    resolve_task_and_labels,
)

__all__ = ["CandidateAdvice", "ErrorEstimate", "FinetuneAdvice", "should_finetune"]


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
    loss="squared_error",
    epsilon=0.1,
    noise=None,
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
    By default the fine-tuned model is the limit of SGD from ``w0`` on the squared loss with
    the pull ``alpha/2 ||w - w0||^2``: ``w = w0 + X'(X X' + n alpha I)^{-1}(y - X w0)``.

    **Which fine-tuning.** ``loss`` names it, or several to compare: the minimiser of
    ``mean_i loss(y_i, x_i'w + b) + alpha/2 ||w - w0||^2`` (the limit of SGD; what
    ``solver="exact"`` computes) for a loss of the estimators, or an skft estimator
    (:class:`~skft.WarmStartSGDRegressor`, :class:`~skft.WarmStartSGDClassifier`) whose own
    ``loss``, ``epsilon``, ``alpha``, ``fit_intercept`` and ``calibrate_start`` say which
    fine-tuning it fits (a calibrated start judged as the estimator fits it; ``alpha=np.inf``
    keeps the start). Each is judged by its own theory against keeping the start as given
    (:func:`~skft.theory.convex_classification_error`,
    :func:`~skft.theory.robust_regression_risk`, :func:`~skft.theory.multiclass_error` for the
    other losses, their unknowns estimated as in ``predict_asymptotic_error``), with an
    assumption-free check beside it: the approximate leave-one-out of the exact fit (one
    Newton step; smooth losses) or 10-fold cross-validation (hinge, epsilon-insensitive),
    which ``confident`` requires to agree, as the closed-form leave-one-out for the squared
    loss. Where a fine-tuning's theory has no single limit (e.g. hinge at ``alpha = 0`` on
    separable data: where SGD stops depends on its path) it is reported with no prediction
    and the reason, never with another loss's number. All of them are in ``candidates``;
    the other fields are those of the best (lowest predicted error).

    Classification: the reported ``pretrained_error`` is the counted error rate; the decision
    compares with ``decision_pretrained_error``, the Gaussian-margin estimate of the
    pretrained error (efficient when the margins are Gaussian within each class, as the
    theory predicts in high dimension) unless a normality test of the margins rejects that
    assumption (Shapiro-Wilk per class, Fisher-combined, level 0.01), in which case, or when
    the test cannot be run, the count. ``decision_basis`` says which, and why. Multiclass
    (one-vs-rest): the decision compares the argmax errors, counted for the start and
    predicted by :func:`~skft.theory.multiclass_error` for the fine-tuned model, with the
    one-vs-rest rates of each class beside them.

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
        ``"auto"``: from the losses named (``huber``, ``epsilon_insensitive``: regression;
        ``log_loss``, ``hinge``, ``modified_huber``: classification), the estimators, then
        from ``coef_init`` and ``y``.
    alpha : float, default=0.0
        Pull toward the start of the fine-tunings named by a loss name.
    X_unlabeled : array-like or sparse matrix of shape (n_unlabeled, n_features), default=None
        Unlabelled target features: improve the covariance estimate (sparse: as ``X``).
    fit_intercept : bool, default=True
        Whether the fine-tunings named by a loss name fit an intercept (the squared loss's
        theory then spends one sample on it; the other losses' theory models it).
    confidence : float, default=0.95
        Level of the intervals and of the ``confident`` flag.
    loss : str, skft estimator, or list of them, default="squared_error"
        The fine-tuning(s) to judge: ``"squared_error"``, ``"log_loss"``, ``"hinge"``,
        ``"modified_huber"`` (classification), ``"huber"``, ``"epsilon_insensitive"``
        (regression), or a ``WarmStartSGDRegressor`` / ``WarmStartSGDClassifier`` (fitted or
        not; its ``coef_init`` must be None or the start given here). Each fine-tuning is
        named once (a repeat, by name or by an equivalent estimator, is refused). ``huber``
        with ``epsilon=0`` is the zero loss: it keeps the start, reported as such.
    epsilon : float, default=0.1
        ``epsilon`` of ``huber`` and ``epsilon_insensitive`` named by their names.
    noise : str, NoiseLaw or (values, weights), default=None
        Law of the label noise for ``huber`` and ``epsilon_insensitive``, whose risk depends
        on the whole law (see :func:`skft.theory.noise_law`; a named law is scaled to the
        estimated noise variance). Default Gaussian, an assumption the ``noise_law`` check
        tests on the start's residuals. A law given by its values (in the units of ``y``) is
        checked against the data: a variance above the start's mean squared residual (an
        upper bound of the noise variance) gives no prediction, one more than 2 standard
        errors from the estimated noise variance fails the ``noise_law`` check.
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

    Several fine-tunings, each by its own theory (hinge at ``alpha = 0`` on separable data
    has no single limit: no prediction, and why):

    >>> advice = should_finetune(truth.coef_init, X, y, loss=["log_loss", "hinge"])
    >>> [(c.name, c.has_prediction) for c in advice.candidates]
    [('log_loss', True), ('hinge', False)]
    >>> advice.loss
    'log_loss'
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
        specs = resolve_finetunings(loss, epsilon=epsilon, noise=noise, alpha=float(alpha),
                                    fit_intercept=bool(fit_intercept))
        task = resolve_task(specs, task)
        coef, intercept, classes = resolve_coef_init(coef_init, intercept_init, d, names)
        check_same_start(specs, coef, intercept)
        task, y, classes = resolve_task_and_labels(task, y, n, coef, classes)
        resolve_task(specs, task)  # the labels decided the task: the losses must fit it
        notes.append(f"{task}, n={n}, d={d}"
                     + ("" if X_unlabeled is None else f", {X_unlabeled.shape[0]} unlabelled rows")
                     + f", {len(specs)} fine-tuning(s)")
    # computed on X / s_x and y / s_y (powers of two: X and residuals of order 1), answered
    # in the user's units: the same advice at every scale (see _scaling.py)
    scale = ProblemScale(X, y, coef, intercept, regression=task == "regression")
    X, X_unlabeled = scale.features(X), scale.features(X_unlabeled, "X_unlabeled")
    coef, intercept = scale.coef(coef), scale.intercept(intercept)
    if task == "regression":
        y = scale.targets(y)
    problem = _Problem(X, y, coef, intercept, task, classes, X_unlabeled, confidence,
                       _curve_n(n, d), scale.intercept_scaling())
    results = []
    for spec in specs:  # a loop, not a comprehension: warnings point at the caller
        cand = _judge(scale.finetuning(spec), problem,
                      log.child(spec.name) if len(specs) > 1 else log)
        results.append(scale.candidate(cand, spec))
    return _choose(results, problem, scale)


class _Problem:
    """The validated data and start shared by the candidates."""

    def __init__(self, X, y, coef, intercept, task, classes, X_unlabeled, confidence, curve_n,
                 intercept_scaling):
        self.X, self.y, self.coef, self.intercept = X, y, coef, intercept
        self.task, self.classes, self.X_unlabeled = task, classes, X_unlabeled
        self.confidence, self.curve_n = confidence, curve_n
        self.intercept_scaling = intercept_scaling
        self.z = _z(confidence)
        if task == "regression":
            self.targets = y[:, None]
        elif coef.shape[0] == 1:
            self.targets = np.where(y == classes[1], 1.0, -1.0)[:, None]
        else:
            codes = class_codes(y, classes)
            self.targets = np.where(codes[:, None] == np.arange(len(classes)), 1.0, -1.0)

    def setting(self, alpha):
        n, d = self.X.shape
        return dict(alpha=alpha, n_samples=n, n_features=d, confidence=self.confidence)

    def baseline(self, W_a, b_a, k=0):
        """The given start's measured numbers for column ``k``, and the standard error of
        the paired difference with the calibrated start's (``baseline`` of the problems)."""
        t = self.targets[:, k : k + 1]
        given = pretrained_measurement(self.task, self.X, t, self.coef[k : k + 1],
                                       self.intercept[k : k + 1], self.z)
        cal = pretrained_measurement(self.task, self.X, t, W_a[k : k + 1], b_a[k : k + 1],
                                     self.z)
        given["se_diff"] = paired_se(cal["residual"], given["residual"])
        return given


def _judge(spec, P, log):
    """One fine-tuning against keeping the start: a :class:`CandidateAdvice`."""
    try:
        if spec.reason is not None:
            raise NoPrediction(spec.reason)
        try:
            W_a, b_a = spec.anchor(P.X, P.targets, P.coef, P.intercept)
        except ValueError as exc:
            raise NoPrediction(f"calibrate_start={spec.calibrate_start!r}: {exc}") from None
        zero_loss = (spec.loss == "huber" and spec.epsilon == 0
                     and spec.calibrate_start is None)
        if math.isinf(spec.alpha) or zero_loss:
            note = None if not zero_loss else (
                "loss='huber' with epsilon=0 is the zero loss (epsilon * (|r| - epsilon / 2) "
                "beyond |r| = epsilon): fine-tuning never moves the start, at any alpha; this "
                "candidate is the pretrained model itself (it cannot beat it)")
            res = keep_problem(spec, P.task, P.X, P.targets, P.coef, P.intercept,
                               confidence_z=P.z, curve_n=P.curve_n, note=note)
            adv = _assemble(res, P.task, P.setting(spec.alpha), P.curve_n, classes=P.classes)
        else:
            adv = _finetuned(spec, P, W_a, b_a, log)
    except NoPrediction as exc:
        return CandidateAdvice(
            name=spec.name, loss=spec.loss, alpha=spec.alpha, fit_intercept=spec.fit_intercept,
            epsilon=_epsilon(spec), calibrate_start=spec.calibrate_start, finetuned_error=None,
            loo_error=None, check_method=None, finetune=False, confident=False,
            gap_stderr=None, reason=str(exc))
    adv = replace(adv, loss=spec.loss, epsilon=_epsilon(spec), fit_intercept=spec.fit_intercept,
                  calibrate_start=spec.calibrate_start)
    return CandidateAdvice(
        name=spec.name, loss=spec.loss, alpha=spec.alpha, fit_intercept=spec.fit_intercept,
        epsilon=_epsilon(spec), calibrate_start=spec.calibrate_start,
        finetuned_error=adv.finetuned_error, loo_error=adv.loo_error,
        check_method=adv.check_method, finetune=adv.finetune, confident=adv.confident,
        gap_stderr=adv.gap_stderr, advice=adv)


def _epsilon(spec):
    return spec.epsilon if spec.loss in ("huber", "epsilon_insensitive") else None


def _finetuned(spec, P, W_a, b_a, log):
    """The advice of one fine-tuning with a finite ``alpha``, by its own theory."""
    X, y = P.X, P.y
    setting = P.setting(spec.alpha)
    common = dict(alpha=spec.alpha, fit_intercept=spec.fit_intercept,
                  X_unlabeled=P.X_unlabeled, confidence=P.confidence, curve_n=P.curve_n,
                  intercept_scaling=P.intercept_scaling if spec.fit_intercept else 1.0)
    cal = spec.calibrate_start is not None
    squared = spec.loss == "squared_error"
    if P.task == "regression":
        if squared:
            res = regression_problem(X, y, W_a[0], b_a[0], **common, log=log,
                                     baseline=P.baseline(W_a, b_a) if cal else None)
        else:
            with log.stage(f"{spec.loss}: unknowns, theory and check"):
                res = regression_loss_problem(X, y, P.coef[0], P.intercept[0],
                                              anchor=(W_a[0], b_a[0]), loss=spec.loss,
                                              epsilon=spec.epsilon, noise=spec.noise, **common)
        return _assemble(res, "regression", setting, P.curve_n)
    if P.coef.shape[0] == 1:
        y_pm = P.targets[:, 0]
        if squared:
            res = classification_problem(X, y_pm, W_a[0], b_a[0], **common, log=log,
                                         baseline=P.baseline(W_a, b_a) if cal else None)
        else:
            with log.stage(f"{spec.loss}: unknowns, theory and check"):
                res = classification_loss_problem(X, y_pm, P.coef[0], P.intercept[0],
                                                  anchor=(W_a[0], b_a[0]), loss=spec.loss,
                                                  epsilon=spec.epsilon, **common)
        return _assemble(res, "classification", setting, P.curve_n, classes=P.classes)
    with log.stage(f"{spec.loss}: multiclass unknowns, argmax theory and check"):
        res = multiclass_problem(X, y, P.classes, P.coef, P.intercept, anchor=(W_a, b_a),
                                 loss=spec.loss, epsilon=spec.epsilon, **common)
    per_class = None
    if squared:  # the one-vs-rest problems of the squared loss's own advice, beside it
        per_class = []
        for k in range(len(P.classes)):  # a loop: warnings point at the caller
            one = classification_problem(X, P.targets[:, k], W_a[k], b_a[k], **common,
                                         log=log.child(_class_label(P.classes[k])),
                                         baseline=P.baseline(W_a, b_a, k) if cal else None)
            per_class.append(_assemble(one, "classification", setting, P.curve_n,
                                       classes=P.classes))
        per_class = tuple(per_class)
    return _assemble(res, "classification", setting, P.curve_n, classes=P.classes,
                     per_class=per_class)


def _class_label(cls):
    return f"class {np.asarray(cls).tolist()!r} vs rest"


def _choose(results, P, scale):
    """The advice of the best candidate (lowest predicted error, the first on ties), with
    every candidate listed; without any prediction, the pretrained model's numbers only.
    ``results``: the candidates in the user's units; ``P``: the scaled problem."""
    ranked = [c for c in results if c.has_prediction and np.isfinite(c.finetuned_error.value)]
    if ranked:
        best = min(ranked, key=lambda c: c.finetuned_error.value)
        return replace(best.advice, candidates=tuple(results))
    base = pretrained_measurement(P.task, P.X, P.targets, P.coef, P.intercept, P.z)
    pre, basis, _ = _pretrained_fields(base, P.z)
    first = results[0]
    adv = FinetuneAdvice(
        task=P.task, finetune=False, confident=False, pretrained_error=pre,
        finetuned_error=None, gap_stderr=np.nan, recommended_alpha=np.inf,
        recommended_error=basis["decision_pretrained_error"].value, helps_intervals=(),
        loo_error=None, gcv_error=None, loo_finetune=None, unknowns=None,
        fallbacks=tuple(f"{c.name}: no prediction: {c.reason}" for c in results),
        curve_n=P.curve_n, curve_finetuned=np.full(P.curve_n.shape, np.nan),
        classes=P.classes, check_method=None, loss=first.loss,
        epsilon=first.epsilon, fit_intercept=first.fit_intercept,
        calibrate_start=first.calibrate_start, **basis, **P.setting(first.alpha))
    # the reasons are already in the user's units: only the numbers are scaled back
    return replace(scale.advice(replace(adv, fallbacks=()), first.alpha),
                   fallbacks=adv.fallbacks, candidates=tuple(results))


def _pretrained_fields(res, z):
    """``(pretrained_error, decision fields, assumption)`` of a problem's dict."""
    if "pretrained_interval" in res:  # counted error rate: Wilson interval
        pre = ErrorEstimate(*map(float, res["pretrained"]), *res["pretrained_interval"])
    else:
        pre = ErrorEstimate.from_se(*res["pretrained"], z)
    if "decision" not in res:
        return pre, dict(decision_pretrained_error=pre), None
    d = res["decision"]  # classification: Gaussian-margin or counted (see the attribute)
    dec = pre if d["basis"] == "counted" else ErrorEstimate.from_se(d["value"], d["stderr"], z)
    basis = dict(
        decision_pretrained_error=dec,
        decision_basis=d["basis"],
        decision_basis_reason=d["reason"],
        normality_pvalue=d["normality_pvalue"],
    )
    return pre, basis, f"decision's pretrained error: {d['reason']}"


def _assemble(res, task, setting, curve_n, classes=None, per_class=None):
    z = res["z"]
    pre, basis, note = _pretrained_fields(res, z)
    if "finetuned_interval" in res:  # lognormal (regression) or logit / Wilson interval
        ft = ErrorEstimate(*map(float, res["finetuned"]), *res["finetuned_interval"])
    else:
        ft = ErrorEstimate.from_se(*res["finetuned"], z)
    unk = res["unknowns"]
    assumptions = tuple(getattr(unk, "assumptions", ()))
    if note is not None:
        assumptions += (note,)
    gap = ft.value - basis["decision_pretrained_error"].value
    fallbacks = tuple(getattr(unk, "fallbacks", ()))
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
        missing = res.get("loo_missing") or (
            f"leave-one-out undefined at alpha={setting['alpha']:g} (a sample alone determines "
            "a direction of the fit): the prediction rests on the theory alone")
        if missing not in fallbacks:
            fallbacks += (missing,)
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
        check_method=res.get("check_method", "leave-one-out") if res["loo"] is not None else None,
        per_class=per_class,
        pretrained_per_class=res.get("pretrained_per_class"),
        finetuned_per_class=res.get("finetuned_per_class"),
        **basis,
        **setting,
    )
