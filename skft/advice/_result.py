"""The answer of ``should_finetune``: :class:`FinetuneAdvice` and its parts (report, JSON)."""

import json
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

__all__ = ["ErrorEstimate", "FinetuneAdvice", "merge_intervals"]


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
    >>> from skft.advice._result import merge_intervals
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
