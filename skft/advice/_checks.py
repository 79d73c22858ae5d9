"""Checks of the assumptions behind the advice; a failed check removes the confidence.

Each check returns an :class:`AssumptionCheck` saying what was tested, on which statistic,
and whether it passed. ``should_finetune`` reports all of them (``FinetuneAdvice.checks``,
``summary()``, ``to_dict()``) and is never ``confident`` when one fails. What each guards:

* ``independent_rows``: exact and near duplicate rows (:mod:`skft.advice._rows`).
* ``heavy_tails``: the theory (and GCV) need rows that behave like ``Sigma^{1/2} z`` with
  independent standardised coordinates; heavy-tailed or elliptical rows (a random scale per
  row) break it, and then generalised cross-validation, which leans on it, drifts away from
  the exact leave-one-out error, which does not. The check compares the two at the pull
  asked for (or the nearest pull where both exist) and fails when they differ by more than
  ``GCV_LOO_RTOL`` and more than ``GCV_LOO_Z`` standard errors of the paired difference.
  The spread of the row norms against independent Gaussian coordinates is reported.
* ``centring``: features with a non-zero mean. Regression models it (see
  ``_regression.py``); classification without an intercept assumes the two class means are
  symmetric about 0, tested on the midpoint of the class means.
* ``class_balance``: the classification theory assumes labels -1/+1 equally likely; an exact
  binomial test at level ``BALANCE_LEVEL`` and an imbalance of at least
  ``BALANCE_MIN_EFFECT``.
* ``shift_profile``: the fitted profile reproduces the GCV curve and the moments
  (``lack_of_fit`` below ``LACK_OF_FIT_MAX``); how much of the signal lies below the
  resolution is reported (it matters only for predictions at larger ``n``).
* ``theory_vs_empirical`` (losses other than the squared one, and multiclass argmax errors):
  the theory's prediction at the observed ``n`` against the assumption-free estimate
  (approximate leave-one-out or cross-validation, :mod:`skft.advice._alo`); fails when they
  are more than ``AGREEMENT_Z`` standard errors of their difference apart (the estimate's
  standard error read off its interval: Wilson's for a counted error rate); the error at the
  observed ``n`` is then the empirical estimate (the curves stay the theory's). It guards the
  assumptions these predictions rest on and nothing else tests (the class means and the start
  spread over the eigen-directions like random directions; the shift profile fitted on the
  squared loss's curve).
* ``noise_law`` (robust regression losses): their risk depends on the noise's law, Gaussian
  unless named; a normality test of the start's residuals (D'Agostino-Pearson, level 0.01)
  that rejects says the assumed law is wrong.
* ``n_close_to_d``: near the interpolation threshold the fine-tuned error is a heavy-tailed
  random quantity: the check fails when the amplification ``n / (n - df2)`` exceeds
  ``AMPLIFICATION_MAX`` (the interval carries the finite-size term in any case).
"""

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest

__all__ = ["AssumptionCheck"]

GCV_LOO_RTOL = 0.10
GCV_LOO_Z = 1.0
BALANCE_LEVEL = 0.05
BALANCE_MIN_EFFECT = 0.05
LACK_OF_FIT_MAX = 4.0
AMPLIFICATION_MAX = 10.0
AGREEMENT_Z = 2.0


@dataclass(frozen=True)
class AssumptionCheck:
    """One checked assumption of the advice.

    Attributes
    ----------
    name : str
        ``"independent_rows"``, ``"heavy_tails"``, ``"centring"``, ``"class_balance"``,
        ``"shift_profile"``, ``"n_close_to_d"``, ``"theory_vs_empirical"`` or
        ``"noise_law"``.
    passed : bool
        False when the assumption is rejected by the data: the advice is then not
        confident.
    detail : str
        What was measured, and what it means.
    statistic : float or None
        The tested statistic.

    Examples
    --------
    >>> from skft.advice import AssumptionCheck
    >>> str(AssumptionCheck("class_balance", False, "27 of 40 labels in one class", 0.04))
    'class_balance: FAILED (27 of 40 labels in one class)'
    """

    name: str
    passed: bool
    detail: str
    statistic: float | None = None

    def __str__(self):
        return f"{self.name}: {'ok' if self.passed else 'FAILED'} ({self.detail})"

    def to_dict(self):
        """JSON-friendly dictionary."""
        return dict(
            name=self.name, passed=bool(self.passed), detail=self.detail, statistic=self.statistic
        )


def check_rows(rows, *, exact_model):
    """Independent rows: exact duplicates handled when ``exact_model``, else failed."""
    parts, passed = [], True
    if rows.has_duplicates:
        mult = rows.multiplicity
        desc = (
            f"{rows.n_rows - rows.n_unique} of {rows.n_rows} rows repeat another exactly "
            f"({rows.n_unique} distinct rows, multiplicity {int(mult.min())}"
            + (f" to {int(mult.max())})" if mult.max() != mult.min() else ")")
        )
        if exact_model:
            parts.append(
                desc
                + ": the fine-tuned model is the one on the distinct rows, analysed there"
                + (
                    " with the pure-error noise of the repeated labels"
                    if rows.label_conflict
                    else ""
                )
            )
        else:
            passed = False
            parts.append(
                desc + ": unequal multiplicities make the fit a weighted one that the theory "
                "does not cover (analysed on the distinct rows as an approximation)"
            )
    if rows.near_pairs:
        passed = False
        parts.append(
            f"{rows.near_pairs} near-duplicate pair(s) among {rows.near_rows_tested} rows tested "
            f"(squared distance below {rows.near_threshold:.2g} of the median: impossible for "
            "independent rows of this covariance); leave-one-out and the error estimates "
            "assume independent rows"
        )
    if not parts:
        parts.append("no exact or near duplicate rows")
    return AssumptionCheck("independent_rows", passed, "; ".join(parts), float(rows.near_pairs))


def check_tails(loo_e, gcv_g, row_sq, r_eff, alpha):
    """GCV against LOO (elliptical / heavy-tailed rows), and the spread of the row norms."""
    cv2 = float(np.var(row_sq) / np.mean(row_sq) ** 2) if np.mean(row_sq) > 0 else 0.0
    gauss = 2.0 / r_eff if r_eff > 0 else np.inf
    spread = f"row norms: squared CV {cv2:.2g} ({cv2 / gauss:.2g} x independent Gaussian)"
    if loo_e is None or gcv_g is None or not np.all(np.isfinite(gcv_g)):
        return AssumptionCheck("heavy_tails", True, spread + "; GCV vs leave-one-out not run")
    diff = loo_e**2 - gcv_g**2
    loo = float(np.mean(loo_e**2))
    rel = float(diff.mean() / loo) if loo > 0 else 0.0
    se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else np.inf
    z = abs(diff.mean()) / se if se > 0 else np.inf
    passed = not (abs(rel) > GCV_LOO_RTOL and z > GCV_LOO_Z)
    detail = (
        f"leave-one-out and GCV errors at alpha={alpha:g} differ by {100 * rel:+.0f}% "
        f"({z:.1f} standard errors); {spread}"
    )
    if not passed:
        detail += (
            ": the rows are not independent-coordinate copies of one covariance (heavy-tailed "
            "or elliptical rows), which the theory and GCV assume"
        )
    return AssumptionCheck("heavy_tails", passed, detail, rel)


def check_balance(y_pm):
    """Exact binomial test of equally likely labels (classification)."""
    n = y_pm.size
    k = int(np.count_nonzero(y_pm > 0))
    p = float(binomtest(k, n, 0.5).pvalue)
    share = k / n
    passed = not (p < BALANCE_LEVEL and abs(share - 0.5) >= BALANCE_MIN_EFFECT)
    detail = f"{k} of {n} labels in the class +1 (binomial test of 1/2: p = {p:.2g})"
    if not passed:
        detail += ": the theory assumes the two classes equally likely"
    return AssumptionCheck("class_balance", passed, detail, p)


def check_class_centring(X, y_pm):
    """Midpoint of the class means against 0 (classification without intercept)."""
    n = X.shape[0]
    pos, neg = X[y_pm > 0], X[y_pm < 0]
    if pos.shape[0] < 2 or neg.shape[0] < 2:
        return AssumptionCheck("centring", True, "a class has fewer than 2 samples: not tested")
    mid = 0.5 * (pos.mean(axis=0) + neg.mean(axis=0))
    # debiased ||mid||^2 against its standard error under a zero midpoint
    var = 0.25 * (
        pos.var(axis=0, ddof=1).sum() / pos.shape[0] + neg.var(axis=0, ddof=1).sum() / neg.shape[0]
    )
    stat = float(mid @ mid - var)
    scale = float(np.sqrt(2.0) * var / np.sqrt(max(X.shape[1], 1))) + 1e-300
    z = stat / max(scale, 1e-300)
    spread = float(np.mean(np.einsum("ij,ij->i", X, X))) / max(n, 1)
    passed = not (z > 4.0 and stat > 0.01 * spread * n)
    detail = (
        f"midpoint of the class means: debiased squared norm {stat:.3g} ({z:.1f} standard errors)"
    )
    if not passed:
        detail += (
            ": without an intercept the theory assumes x = y mu + z with E z = 0; pass "
            "fit_intercept=True or centre the features"
        )
    return AssumptionCheck("centring", passed, detail, stat)


def check_profile(profile):
    """The fitted shift profile reproduces the curve; its resolution is reported."""
    lack = profile.lack_of_fit
    passed = lack <= LACK_OF_FIT_MAX
    detail = (
        f"fit to the GCV curve and moments: weighted mean square residual {lack:.2g}; "
        f"{100 * profile.unresolved_share:.0f}% of the shift's signal lies on eigenvalues "
        f"below the resolution kappa={profile.resolution:.3g} (there the profile is "
        "extrapolated smoothly: it matters only for predictions at larger n)"
    )
    if not passed:
        detail += ": the theory does not reproduce the leave-one-out curve"
    return AssumptionCheck("shift_profile", passed, detail, lack)


def check_near_d(amplification, n, rank, alpha):
    """Distance to the interpolation threshold, through ``n / (n - df2)``."""
    passed = bool(np.isfinite(amplification) and amplification <= AMPLIFICATION_MAX)
    detail = (
        f"n={n} against {rank} directions at alpha={alpha:g}: variance amplification "
        f"n / (n - df2) = {amplification:.3g}"
    )
    if not passed:
        detail += (
            f" > {AMPLIFICATION_MAX:g}: near the interpolation threshold the fine-tuned error "
            "is heavy-tailed from one sample to the next; the interval carries a finite-size "
            "term but the decision is not confident"
        )
    return AssumptionCheck("n_close_to_d", passed, detail, float(amplification))


def check_agreement(predicted, predicted_se, empirical, interval, method):
    """The theory's prediction against the assumption-free estimate at the observed ``n``.

    ``interval``: the empirical estimate's interval at ``AGREEMENT_Z`` standard errors (a
    Wilson interval for a counted error rate: it stays honest near 0), read as a standard
    error on each side, ``(empirical - low) / AGREEMENT_Z`` and ``(high - empirical) /
    AGREEMENT_Z``. The check fails when the prediction is more than ``AGREEMENT_Z`` standard
    errors of the difference (the two combined in quadrature) away from the estimate.
    """
    lo, hi = interval
    side = (empirical - lo) if predicted < empirical else (hi - empirical)
    se = float(np.hypot(side / AGREEMENT_Z, predicted_se))
    k = abs(predicted - empirical) / se if se > 0 else (0.0 if predicted == empirical else np.inf)
    passed = bool(k <= AGREEMENT_Z)
    detail = (
        f"predicted {predicted:.4g} against {method} {empirical:.4g}: {k:.1f} standard errors "
        "of the difference apart"
    )
    if not passed:
        detail += (
            f" (> {AGREEMENT_Z:g}): they disagree; the assumptions of the theory (the class "
            "means and the start, or the shift, spread over the eigen-directions as estimated) "
            "do not describe these data, and the error at the observed n is the empirical "
            "estimate"
        )
    return AssumptionCheck("theory_vs_empirical", passed, detail, float(k))


def check_noise_law(pvalue, given, level, *, given_variance=None, estimate=None):
    """Normality of the start's residuals when the noise law is assumed Gaussian; when it is
    given, its variance against the estimated noise variance ``estimate = (value, stderr)``
    (passed within ``AGREEMENT_Z`` standard errors)."""
    if given is not None:
        if given_variance is None or estimate is None:
            return AssumptionCheck("noise_law", True, f"noise law given: {given}")
        s2, se = (float(v) for v in estimate)
        dev = abs(float(given_variance) - s2)
        zval = dev / se if se > 0 else (0.0 if dev == 0 else np.inf)
        passed = bool(zval <= AGREEMENT_Z) if np.isfinite(se) else True
        detail = (f"noise law given: {given}, noise variance {given_variance:.4g}; the data "
                  f"estimate the noise variance {s2:.4g}, {zval:.2g} standard errors away")
        if not passed:
            detail += (f" (> {AGREEMENT_Z:g}): the law given is not that of these labels' "
                       "noise, and the risk of this loss depends on it")
        return AssumptionCheck("noise_law", passed, detail, zval)
    if pvalue is None:
        return AssumptionCheck(
            "noise_law", True, "Gaussian noise assumed; fewer than 20 residuals: not tested")
    passed = bool(pvalue >= level)
    detail = (
        f"Gaussian noise assumed; normality test of the start's residuals "
        f"(D'Agostino-Pearson): p = {pvalue:.2g}"
    )
    if not passed:
        detail += (
            f" < {level:g}: the noise is not Gaussian, and the risk of this loss depends on "
            "the noise's law; pass noise= (a law name, a NoiseLaw or (values, weights))"
        )
    return AssumptionCheck("noise_law", passed, detail, pvalue)
