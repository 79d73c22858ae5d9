"""The answer of ``should_finetune``: :class:`FinetuneAdvice` and its parts (report, JSON)."""

from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri

from ._report import advice_dict, advice_summary, candidate_dict

__all__ = ["CandidateAdvice", "ErrorEstimate", "FinetuneAdvice", "merge_intervals"]


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
        at 0); for a counted error rate the Wilson score interval and for a predicted
        regression error ``value * exp(-+ z s)`` with ``s^2 = log(1 + (stderr/value)^2)``
        (the realised error is positive and right-skewed); neither is centred on ``value``
        (for a Wilson interval ``stderr`` is its half-width over ``z``).

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
        True only when the predicted gap is beyond ``z`` standard errors of the gap, the
        leave-one-out comparison (``loo_finetune``) makes the same decision, *and* every
        check of ``checks`` passed. The standard error covers the sampling error and the
        finite-size spread of the realised error; it does not cover what a broken
        assumption gets wrong, which the checks and the leave-one-out comparison (no
        assumption on the shift) guard against: when the two decide differently the data
        cannot tell which is right, so the advice does not claim confidence.
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
    finetuned_error : ErrorEstimate or None
        Predicted by the theory (of ``loss``) with the estimated unknowns, for the fine-tuned
        model on the ``n_samples`` given; the empirical check's estimate instead when the
        check ``theory_vs_empirical`` failed. None when no fine-tuning named has a prediction
        (see ``candidates``).
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
        when undefined (``alpha = 0`` on rank-deficient ``X``). For the other losses, the
        approximate leave-one-out or cross-validated error (``check_method``), None at
        ``alpha = 0``.
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
    checks : tuple of skft.advice.AssumptionCheck
        The assumptions checked on the data, each with its statistic and whether it passed
        (:class:`~skft.advice.AssumptionCheck`); a failed one removes ``confident`` and is named in
        :meth:`summary`.
    n_effective : int or None
        Number of independent samples the prediction is for (the distinct rows when ``X``
        has exact duplicates).
    realised_spread : float or None
        Regression: the finite-size standard deviation of the realised fine-tuned error
        around the predicted risk (largest near ``n = d``); part of the interval of
        ``finetuned_error`` and of ``gap_stderr`` (see ``skft/advice/_regression.py``).
    loss : str
        Loss of the fine-tuning these fields describe (``"squared_error"`` by default).
    epsilon : float or None
        Its ``epsilon`` (huber, epsilon-insensitive; None otherwise).
    fit_intercept : bool or None
        Whether it fits an intercept.
    calibrate_start : {"intercept", "affine"} or None
        Whether it starts from the calibrated start (as the estimators' ``calibrate_start``).
    check_method : str or None
        How ``loo_error`` was computed: ``"leave-one-out"`` (closed form, squared loss),
        ``"approximate leave-one-out"`` (one Newton step from the exact fit: smooth losses),
        ``"10-fold cross-validation"`` (hinge, epsilon-insensitive), or None without a check.
    candidates : tuple of CandidateAdvice
        Every fine-tuning named by ``loss`` of :func:`should_finetune`, each judged by its own
        theory against keeping the start; the fields above are those of ``best`` (the first
        with the lowest predicted error), or describe only the pretrained model when no
        candidate has a prediction (``finetuned_error`` is then None and ``finetune`` False).
    pretrained_per_class, finetuned_per_class : ndarray of shape (n_classes,) or None
        Multiclass: the one-vs-rest error rate of each class's binary problem (counted for
        the start, predicted for the fine-tuned model), beside the argmax errors
        ``pretrained_error`` / ``finetuned_error`` that the decision compares.

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
    checks: tuple = ()
    n_effective: int | None = None
    realised_spread: float | None = None
    loss: str = "squared_error"
    epsilon: float | None = None
    fit_intercept: bool | None = None
    calibrate_start: str | None = None
    check_method: str | None = "leave-one-out"
    candidates: tuple = field(repr=False, default=())
    pretrained_per_class: np.ndarray | None = field(repr=False, default=None)
    finetuned_per_class: np.ndarray | None = field(repr=False, default=None)

    def __post_init__(self):
        if self.decision_pretrained_error is None:  # regression: the measured error
            object.__setattr__(self, "decision_pretrained_error", self.pretrained_error)

    @property
    def best(self):
        """The :class:`~skft.advice.CandidateAdvice` whose numbers fill these fields (None when no
        candidate has a prediction)."""
        for cand in self.candidates:
            if cand.advice is not None and cand.advice.finetuned_error is self.finetuned_error:
                return cand
        return None

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
        return advice_summary(self)

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
        ['alpha', 'assumptions', 'calibrate_start', 'candidates']
        >>> isinstance(json.dumps(d), str)
        True
        """
        return advice_dict(self)

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


@dataclass(frozen=True)
class CandidateAdvice:
    """One fine-tuning judged by :func:`should_finetune`, against keeping the start.

    Attributes
    ----------
    name : str
        The fine-tuning: a loss name, or the estimator it came from with its parameters.
    loss : str
    alpha : float
        Its pull toward the start (``inf``: it keeps the start, calibrated or not).
    fit_intercept : bool
    epsilon : float or None
        For ``huber`` and ``epsilon_insensitive``.
    calibrate_start : {"intercept", "affine"} or None
    finetuned_error : ErrorEstimate or None
        The error its own theory predicts (with the interval at the advice's level), or None
        when there is no prediction (see ``reason``).
    loo_error : float or None
        The assumption-free check: leave-one-out (squared loss), approximate leave-one-out
        (smooth losses) or cross-validation (hinge, epsilon-insensitive) error of this
        fine-tuning on the data (``check_method`` says which).
    check_method : str or None
    finetune : bool
        Whether it is predicted to beat keeping the start (False without a prediction).
    confident : bool
        As ``confident`` of :class:`~skft.FinetuneAdvice`, for this fine-tuning.
    gap_stderr : float or None
        Standard error of its predicted error minus the start's.
    reason : str or None
        Why there is no prediction (the theory has no single limit here, the calibration has
        no solution, ...), else None.
    advice : FinetuneAdvice or None
        The full advice for this fine-tuning alone.

    Examples
    --------
    >>> from skft import should_finetune
    >>> from skft.datasets import make_transfer_classification
    >>> X, y, truth = make_transfer_classification(120, 240, random_state=0)
    >>> advice = should_finetune(truth.coef_init, X, y, alpha=0.5,
    ...                          loss=["squared_error", "hinge"])
    >>> [c.name for c in advice.candidates]
    ['squared_error', 'hinge']
    >>> all(c.finetuned_error is not None for c in advice.candidates)
    True
    """

    name: str
    loss: str
    alpha: float
    fit_intercept: bool
    epsilon: float | None
    calibrate_start: str | None
    finetuned_error: ErrorEstimate | None
    loo_error: float | None
    check_method: str | None
    finetune: bool
    confident: bool
    gap_stderr: float | None
    reason: str | None = None
    advice: object = field(repr=False, default=None)

    @property
    def has_prediction(self):
        """Whether the theory of this fine-tuning gave a number."""
        return self.finetuned_error is not None

    def to_dict(self):
        """JSON-serialisable dictionary without the full ``advice`` (infinities written as
        the string ``"inf"``, as :meth:`skft.FinetuneAdvice.to_dict` does)."""
        ft = self.finetuned_error
        return candidate_dict(dict(
            name=self.name, loss=self.loss, alpha=self.alpha, fit_intercept=self.fit_intercept,
            epsilon=self.epsilon, calibrate_start=self.calibrate_start,
            finetuned_error=None if ft is None else vars(ft), loo_error=self.loo_error,
            check_method=self.check_method, finetune=self.finetune, confident=self.confident,
            gap_stderr=self.gap_stderr, reason=self.reason))
