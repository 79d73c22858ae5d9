"""``should_finetune``: fine-tune or keep the pretrained model? Theory and LOO side by side."""

import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from ._core import regression_problem
from ._core_classification import classification_problem
from ._validation import check_features, resolve_coef_init, resolve_task_and_labels

__all__ = ["ErrorEstimate", "FinetuneAdvice", "should_finetune"]


@dataclass(frozen=True)
class ErrorEstimate:
    """A predicted or measured test error with its uncertainty.

    Attributes
    ----------
    value : float
        Point estimate (test MSE for regression, misclassification rate for classification).
    stderr : float
        Standard error.
    low, high : float
        Interval at the advice's confidence level: ``value -+ z * stderr`` (``low`` clipped
        at 0), or for a counted error rate the Wilson score interval (not centred on
        ``value``; ``stderr`` is its half-width over ``z``).

    Examples
    --------
    >>> from skft.advice import ErrorEstimate
    >>> e = ErrorEstimate.from_se(0.5, 0.1, z=1.96)
    >>> f"{e:.3g}"
    '0.5 [0.304, 0.696]'
    """

    value: float
    stderr: float
    low: float
    high: float

    @classmethod
    def from_se(cls, value, stderr, z):
        return cls(float(value), float(stderr), max(value - z * stderr, 0.0), value + z * stderr)

    def __format__(self, spec):
        spec = spec or ".4g"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"


def merge_intervals(intervals, rtol=1e-6):
    """Merge intervals of ``n`` that overlap or share an endpoint.

    The theory's search for the sample sizes at which fine-tuning helps splits its range at
    the interpolation threshold ``n = d`` (where the ``alpha = 0`` formulas are singular).
    When fine-tuning helps on both sides, the threshold does not hurt (a peak that hurts
    leaves a gap of positive width), so ``(389, 400) U (400, inf)`` is one interval.

    Parameters
    ----------
    intervals : sequence of (float, float)
        Increasing, non-overlapping ``(low, high)`` pairs.
    rtol : float, default=1e-6
        Two intervals are adjacent when ``next_low - high <= rtol * max(1, next_low)``.

    Returns
    -------
    tuple of (float, float)

    Examples
    --------
    >>> from skft.advice._advice import merge_intervals
    >>> merge_intervals([(389.0, 400.0), (400.0, float("inf"))])
    ((389.0, inf),)
    >>> merge_intervals([(1.0, 90.0), (700.0, float("inf"))])
    ((1.0, 90.0), (700.0, inf))
    """
    out = []
    for lo, hi in sorted((float(a), float(b)) for a, b in intervals):
        if out and lo - out[-1][1] <= rtol * max(1.0, abs(lo)):
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _intervals_text(intervals):
    if not intervals:
        return "no n"
    parts = ["n in"]
    for lo, hi in intervals:
        hi_s = "inf" if math.isinf(hi) else f"{hi:.0f}"
        parts.append(f"({lo:.0f}, {hi_s})")
    return parts[0] + " " + " U ".join(parts[1:])


def _grouped(labels, texts):
    """``"class a: text; classes b, c: text"``, grouping the classes with the same text."""
    groups = {}
    for lab, txt in zip(labels, texts, strict=True):
        groups.setdefault(txt, []).append(str(lab))
    return [
        f"{'class' if len(labs) == 1 else 'classes'} {', '.join(labs)}: {txt}"
        for txt, labs in groups.items()
    ]


def _basis_short(advice):
    """``"Gaussian-margin (p = 0.43)"``: one class's basis in a multiclass reason."""
    words = {"gaussian_margin": "Gaussian-margin", "counted": "counted"}[advice.decision_basis]
    p = advice.normality_pvalue
    return words + (" (normality untestable)" if p is None else f" (normality p = {p:.2g})")


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return x


@dataclass(frozen=True)
class FinetuneAdvice:
    """Answer of :func:`should_finetune`: the theory's prediction next to the empirical check.

    Attributes
    ----------
    task : {"regression", "classification"}
    finetune : bool
        True when the predicted fine-tuned error (at ``alpha``) is below
        ``decision_pretrained_error``.
    confident : bool
        True only when the predicted gap is beyond ``z`` standard errors of the gap *and* the
        leave-one-out comparison (``loo_finetune``) makes the same decision. The standard
        error is a sampling error: it does not cover what the theory's assumptions get wrong
        (the spread of the shift, Gaussian margins, the interpolation peak near ``n = d``),
        while the leave-one-out check needs none of them; when the two decide differently
        the data cannot tell which is right, so the advice does not claim confidence.
    pretrained_error : ErrorEstimate
        Measured on the target labels (the pretrained model never saw them): the mean squared
        residual (regression; jackknife standard error), or the counted error rate of
        ``sign(X w0 + b0)`` with its Wilson score interval (classification).
    decision_pretrained_error : ErrorEstimate
        The pretrained error the decision, ``helps_intervals`` and ``recommended_alpha``
        compare with. Regression: ``pretrained_error``. Classification: the Gaussian-margin
        estimate ``sum_k pi_k Phi(-mean_k / s)`` of the margins ``y_i (x_i'w0 + b0)`` (class
        means, pooled within-class standard deviation ``s``) when a Shapiro-Wilk test of the
        margins within each class does not reject normality (the two classes' p-values
        combined by Fisher's method, level 0.01), else the count ``pretrained_error``. Why:
        under the theory's model the margins are Gaussian within each class (the
        universality the theory itself relies on), and the parametric estimate is then less
        noisy than the count (it uses every margin's value, not only its sign: standard error
        about 0.8, 0.7, 0.5 times the count's at error rates 20%, 5%, 1%); it is biased when
        they are not Gaussian, which the test detects. When the test cannot be run (a class
        with fewer than 3 samples) the count is used.
    decision_basis : {"measured", "gaussian_margin", "counted", "mixed"}
        Which estimate ``decision_pretrained_error`` is (``"measured"``: regression;
        ``"mixed"``: multiclass with different bases per class).
    decision_basis_reason : str
        Why (with the normality test's p-value); also the last of ``assumptions``.
    normality_pvalue : float or None
        Fisher-combined per-class Shapiro-Wilk p-value of the pretrained margins (binary
        classification; None otherwise or when the test cannot be run).
    finetuned_error : ErrorEstimate
        Predicted by the theory with the estimated unknowns, for the fine-tuned model on the
        ``n_samples`` given.
    gap_stderr : float
        Standard error of ``finetuned_error - decision_pretrained_error``.
    recommended_alpha : float
        The ``alpha`` minimising the predicted fine-tuned error (``inf``: keep the start).
    recommended_error : float
        Its predicted error.
    helps_intervals : tuple of (float, float)
        Sample sizes at which fine-tuning with ``alpha`` is predicted to beat the pretrained
        model (adjacent intervals merged). Multiclass: empty; the intervals are per class,
        in ``per_class[k].helps_intervals`` (shown per class by :meth:`summary`).
    loo_error : float or None
        Closed-form leave-one-out error of the fine-tuned model (MSE or error rate), or None
        when undefined (``alpha = 0`` on rank-deficient ``X``).
    gcv_error : float or None
        Generalised cross-validation (regression).
    loo_finetune : bool or None
        The decision the leave-one-out comparison alone would make (the leave-one-out error
        against the measured ``pretrained_error``: no assumption on either side).
    alpha : float
        Pull toward the start of the fine-tuning considered.
    n_samples : int
        Number of labelled target samples given.
    n_features : int
        Number of features.
    confidence : float
        Level of the intervals and of ``confident``.
    unknowns : object or tuple
        The estimated unknowns (``RegressionUnknowns`` / ``ClassificationUnknowns``, one per
        class for multiclass).
    assumptions, fallbacks : tuple of str
    curve_n, curve_finetuned, curve_recommended : ndarray
        Predicted fine-tuned error against ``n`` at ``alpha`` and at ``recommended_alpha``.
    per_class : tuple of FinetuneAdvice or None
        One-vs-rest advice per class (multiclass only).
    classes : ndarray or None

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import should_finetune
    >>> rng = np.random.default_rng(1)
    >>> X = rng.standard_normal((80, 200))
    >>> w_star = rng.standard_normal(200) / np.sqrt(200)
    >>> y = X @ w_star + 0.3 * rng.standard_normal(80)
    >>> advice = should_finetune(w_star, X, y, fit_intercept=False)  # the start is the truth
    >>> advice.finetune
    False
    """

    task: str
    finetune: bool
    confident: bool
    pretrained_error: ErrorEstimate
    finetuned_error: ErrorEstimate
    gap_stderr: float
    recommended_alpha: float
    recommended_error: float
    helps_intervals: tuple
    loo_error: float | None
    gcv_error: float | None
    loo_finetune: bool | None
    alpha: float
    n_samples: int
    n_features: int
    confidence: float
    unknowns: object = field(repr=False)
    assumptions: tuple = field(repr=False, default=())
    fallbacks: tuple = field(repr=False, default=())
    curve_n: np.ndarray = field(repr=False, default=None)
    curve_finetuned: np.ndarray = field(repr=False, default=None)
    curve_recommended: np.ndarray | None = field(repr=False, default=None)
    per_class: tuple | None = field(repr=False, default=None)
    classes: np.ndarray | None = field(repr=False, default=None)
    decision_pretrained_error: ErrorEstimate | None = None
    decision_basis: str = "measured"
    decision_basis_reason: str = "the measured pretrained error"
    normality_pvalue: float | None = None

    def __post_init__(self):
        if self.decision_pretrained_error is None:  # regression: the measured error
            object.__setattr__(self, "decision_pretrained_error", self.pretrained_error)

    @property
    def metric(self):
        """Name of the error: ``"MSE"`` or ``"error rate"``."""
        return "MSE" if self.task == "regression" else "error rate"

    def summary(self):
        """A short readable table of the advice.

        Returns
        -------
        str

        Examples
        --------
        >>> import numpy as np
        >>> from skft.advice import should_finetune
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((100, 300))
        >>> w_star = rng.standard_normal(300) / np.sqrt(300)
        >>> y = X @ w_star + 0.3 * rng.standard_normal(100)
        >>> print(should_finetune(np.zeros(300), X, y, fit_intercept=False).summary())
        should_finetune: regression, n_samples=100, n_features=300, alpha=0
        ...
        Decision: fine-tune...
        """
        pct = f"{100 * self.confidence:.0f}%"
        gap = self.finetuned_error.value - self.decision_pretrained_error.value
        lines = [
            f"should_finetune: {self.task}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, alpha={self.alpha:g}",
            f"{'':22}{'estimate':>10}  {pct + ' interval':>22}  {'leave-one-out':>14}",
            f"{'pretrained ' + self.metric:22}{self.pretrained_error.value:>10.4g}  "
            f"{self._iv(self.pretrained_error):>22}  {'(measured)':>14}",
            f"{'fine-tuned ' + self.metric:22}{self.finetuned_error.value:>10.4g}  "
            f"{self._iv(self.finetuned_error):>22}  "
            f"{('n/a' if self.loo_error is None else f'{self.loo_error:.4g}'):>14}",
        ]
        if self.decision_basis in ("gaussian_margin", "mixed"):
            dec = self.decision_pretrained_error
            tag = "(Gaussian)" if self.decision_basis == "gaussian_margin" else "(mixed)"
            lines.append(
                f"{'pretrained, decision':22}{dec.value:>10.4g}  {self._iv(dec):>22}  {tag:>14}"
            )
        if self.decision_basis != "measured":
            lines.append(f"decision's pretrained error: {self.decision_basis_reason}")
        lines += [
            f"recommended alpha: {self.recommended_alpha:.3g} "
            f"(predicted {self.metric} {self.recommended_error:.4g})",
        ]
        if self.per_class is None:
            lines.append(
                f"fine-tuning at alpha={self.alpha:g} helps for "
                f"{_intervals_text(self.helps_intervals)}"
            )
        else:
            lines.append(
                f"fine-tuning at alpha={self.alpha:g} helps, per class (one-vs-rest), for:"
            )
            texts = [_intervals_text(a.helps_intervals) for a in self.per_class]
            lines.extend("  " + t for t in _grouped(self.classes, texts))
        verdict = "fine-tune" if self.finetune else "keep the pretrained model"
        if self.confident:
            lines.append(
                f"Decision: {verdict} (predicted gap {gap:+.3g}, beyond {pct} uncertainty "
                f"+-{self._z * self.gap_stderr:.2g})."
            )
        elif abs(gap) > self._z * self.gap_stderr and self.loo_finetune is not None:
            lines.append(
                f"Decision: {verdict}, but NOT confident: the predicted gap {gap:+.3g} is beyond "
                f"the {pct} uncertainty +-{self._z * self.gap_stderr:.2g}, but the "
                "leave-one-out check decides otherwise."
            )
        elif abs(gap) > self._z * self.gap_stderr:  # not confident: no empirical check
            lines.append(
                f"Decision: {verdict}, but NOT confident: the predicted gap {gap:+.3g} is beyond "
                f"the {pct} uncertainty +-{self._z * self.gap_stderr:.2g}, but there is no "
                "leave-one-out check at this alpha (see Fallback): it rests on the theory alone."
            )
        else:
            lines.append(
                f"Decision: {verdict}, but NOT confident: the predicted gap {gap:+.3g} is inside "
                f"the {pct} uncertainty +-{self._z * self.gap_stderr:.2g}; the two are too close "
                "to call with these samples."
            )
        if self.loo_finetune is not None and self.loo_finetune != self.finetune:
            lines.append("Note: the leave-one-out check disagrees with the theory.")
        if self.per_class is None:
            lines.extend(f"Fallback: {msg}" for msg in self.fallbacks)
        else:
            msgs = {}
            for lab, a in zip(self.classes, self.per_class, strict=True):
                for msg in a.fallbacks:
                    msgs.setdefault(msg, []).append(str(lab))
            for msg, labs in msgs.items():
                which = "class" if len(labs) == 1 else "classes"
                lines.append(f"Fallback ({which} {', '.join(labs)}): {msg}")
        return "\n".join(lines)

    @property
    def _z(self):
        return float(ndtri(0.5 + self.confidence / 2.0))

    @staticmethod
    def _iv(est):
        return f"[{est.low:.4g}, {est.high:.4g}]"

    def to_dict(self):
        """JSON-serialisable dictionary (infinities written as the string ``"inf"``).

        Returns
        -------
        dict

        Examples
        --------
        >>> import json
        >>> import numpy as np
        >>> from skft.advice import should_finetune
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((50, 80))
        >>> y = X @ rng.standard_normal(80) / 9 + 0.1 * rng.standard_normal(50)
        >>> d = should_finetune(np.zeros(80), X, y).to_dict()
        >>> sorted(d)[:4]
        ['alpha', 'assumptions', 'classes', 'confidence']
        >>> isinstance(json.dumps(d), str)
        True
        """
        out = {
            "task": self.task,
            "finetune": bool(self.finetune),
            "confident": bool(self.confident),
            "pretrained_error": vars(self.pretrained_error),
            "decision_pretrained_error": vars(self.decision_pretrained_error),
            "decision_basis": self.decision_basis,
            "decision_basis_reason": self.decision_basis_reason,
            "normality_pvalue": self.normality_pvalue,
            "finetuned_error": vars(self.finetuned_error),
            "gap_stderr": self.gap_stderr,
            "recommended_alpha": self.recommended_alpha,
            "recommended_error": self.recommended_error,
            "helps_intervals": self.helps_intervals,
            "loo_error": self.loo_error,
            "gcv_error": self.gcv_error,
            "loo_finetune": self.loo_finetune,
            "alpha": self.alpha,
            "n_samples": self.n_samples,
            "n_features": self.n_features,
            "confidence": self.confidence,
            "assumptions": self.assumptions,
            "fallbacks": self.fallbacks,
            "unknowns": _unknowns_dict(self.unknowns),
            "classes": None if self.classes is None else self.classes.tolist(),
            "per_class": None if self.per_class is None else [a.to_dict() for a in self.per_class],
        }
        out = _jsonable(out)
        json.dumps(out)  # fail here, not in the user's code
        return out

    def plot(self, ax=None):
        """Plot the predicted error against the number of samples.

        The pretrained error (measured, with its band), the predicted fine-tuned error at
        ``alpha`` and at ``recommended_alpha``, and at the observed ``n`` the prediction's
        interval and the leave-one-out check. Needs matplotlib (imported here, lazily).

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.

        Returns
        -------
        ax : matplotlib Axes

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skft.advice import should_finetune
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((60, 120))
        >>> y = X @ rng.standard_normal(120) / 11 + 0.2 * rng.standard_normal(60)
        >>> ax = should_finetune(np.zeros(120), X, y).plot()
        >>> ax.get_xscale()
        'log'
        """
        from ._plot import plot_advice

        return plot_advice(self, ax=ax)


def _unknowns_dict(unk):
    if isinstance(unk, tuple):
        return [_unknowns_dict(u) for u in unk]
    out = {}
    for name, value in vars(unk).items():
        if name == "spectrum":
            ev = value.eigenvalues
            out["spectrum"] = {
                "trace": value.trace,
                "trace_sq": value.trace_sq,
                "min": float(ev.min()),
                "max": float(ev.max()),
                "n_rows": value.n_rows,
                "method": value.method,
            }
        elif name != "moment_cov":
            out[name] = value
    return out


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
    X = check_features(X, "X")
    n, d = X.shape
    if X_unlabeled is not None:
        X_unlabeled = check_features(X_unlabeled, "X_unlabeled", n_features=d, min_samples=1)
    if not (isinstance(alpha, int | float | np.number) and np.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}.")
    coef, intercept, classes = resolve_coef_init(coef_init, intercept_init, d)
    task, y, classes = resolve_task_and_labels(task, y, n, coef, classes)
    alpha = float(alpha)
    curve_n = _curve_n(n, d)
    common = dict(
        alpha=alpha,
        fit_intercept=bool(fit_intercept),
        X_unlabeled=X_unlabeled,
        confidence=confidence,
        curve_n=curve_n,
    )
    setting = dict(alpha=alpha, n_samples=n, n_features=d, confidence=confidence)
    if task == "regression":
        res = regression_problem(X, y, coef[0], intercept[0], **common)
        return _assemble(res, "regression", setting, curve_n)
    if coef.shape[0] == 1:
        y_pm = np.where(y == classes[1], 1.0, -1.0)
        res = classification_problem(X, y_pm, coef[0], intercept[0], **common)
        return _assemble(res, "classification", setting, curve_n, classes=classes)
    per_class = []
    for k, cls in enumerate(classes):
        y_pm = np.where(y == cls, 1.0, -1.0)
        if np.all(y_pm < 0):
            raise ValueError(
                f"y has no sample of class {cls!r}: one-vs-rest advice needs every class."
            )
        res = classification_problem(X, y_pm, coef[k], intercept[k], **common)
        per_class.append(_assemble(res, "classification", setting, curve_n, classes=classes))
    return _combine(per_class, setting, curve_n, classes)


def _assemble(res, task, setting, curve_n, classes=None):
    z = res["z"]
    if "pretrained_interval" in res:  # counted error rate: Wilson interval
        pre = ErrorEstimate(*map(float, res["pretrained"]), *res["pretrained_interval"])
    else:
        pre = ErrorEstimate.from_se(*res["pretrained"], z)
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
    # confident only when the gap is beyond z standard errors AND the assumption-free
    # leave-one-out comparison makes the same decision (see the docstring of `confident`)
    confident = bool(abs(gap) > z * res["gap_se"]) and loo_finetune == bool(gap < 0)
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
        **setting,
    )
