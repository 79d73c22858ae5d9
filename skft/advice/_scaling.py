"""Scale normalisation of the advice: the numbers are computed on ``X / s_x`` and ``y / s_y``.

The fine-tuned model of the advice is equivariant under a change of units: with
``X -> c X`` and ``y -> c_y y`` (``coef_init -> (c_y / c) coef_init``,
``intercept_init -> c_y intercept_init``, ``alpha -> c^2 alpha``: ``alpha`` has the units of
the loss per squared coefficient, those of ``x^2``) the fit is the same model in the new
units, its predictions are multiplied by ``c_y`` and its squared errors by ``c_y^2``. A
classifier's labels carry no unit (``c_y = 1``) and its error rates do not change. The one
exception is the estimators' intercept at ``alpha = 0`` with fewer samples than coordinates
(the ``"augmented"`` design of :mod:`skft.advice._loo`): the intercept is then one more
coordinate of constant feature 1, which does not scale with ``X``, so the setting itself
depends on the scale of ``X`` (with features ~1e8 the intercept hardly moves, with features
~1e-8 it moves freely).

:func:`should_finetune` and :func:`estimate_asymptotic_error` therefore work on the problem
divided by powers of two, ``s_x`` (the root mean square entry of ``X``, rounded to the nearest
power of two: standardised features are used as they are, without a copy) and ``s_y`` (that of
the pretrained residuals ``y - X w0 - b0``): the division is exact, so problems that differ by
a power-of-two scale give bit-identical internal numbers, and every internal threshold sees
data of order 1 whatever the user's units. The augmented design keeps its meaning: its constant
column becomes ``1 / s_x`` (the user's design ``[X, 1]`` divided by ``s_x`` as a whole;
:class:`GramFactor`'s ``intercept_scaling``). Beyond ``2^13`` that column is held at ``2^13``:
the intercept then moves freely to within ``d / 2^26`` of its move (``||X||^2`` against ``t^2
||1||^2``), far inside the advice's standard errors, while a larger value would cost the
eigen-decomposition its accuracy on the features' directions (``eps n t^2``).

The results are scaled back: errors by ``s_y^2``, pulls and eigenvalues by ``s_x^2``,
squared coefficients by ``s_y^2 / s_x^2``; numbers quoted inside the advice's sentences
(the pull and the resolution of a check, a squared norm of features) likewise.
"""

import copy
import math
import re
from dataclasses import fields, replace

import numpy as np

from ..theory import NoiseLaw
from ..utils._dask_compat import is_dask_array
from ._checks import AssumptionCheck
from ._estimate import ClassificationUnknowns, RegressionUnknowns
from ._loss_inputs import LossUnknowns
from ._profile import ShiftProfile
from ._result import CandidateAdvice, ErrorEstimate, FinetuneAdvice
from ._spectrum import SpectrumEstimate
from ._validation import InputScaleError, check_gram_range

__all__ = ["ProblemScale", "pow2_exponent", "rescale_text"]

#: Largest value of the augmented design's constant column (module docstring).
MAX_INTERCEPT_SCALING = 2.0**13
#: Range of the exponents of ``s_x`` and ``s_y``: the answers carry ``s_x^2`` (pulls,
#: eigenvalues) and ``s_y^2`` (errors), which must stay normal float64 numbers (1e-301 to 1e301).
SCALE_EXPONENT = 500


def _rms(a):
    """Root mean square of the entries of ``a`` without overflow or underflow (0 if empty)."""
    a = np.asarray(a, dtype=np.float64)
    top = float(np.max(np.abs(a), initial=0.0))
    if top == 0.0:
        return 0.0
    return top * float(np.sqrt(np.mean((a / top) ** 2)))


def pow2_exponent(a):
    """The ``k`` with ``2^k`` nearest to ``rms(a)`` in ratio (``2^(k - 1/2) <= rms(a) <
    2^(k + 1/2)``), or 0 when ``a`` is zero: standardised data (``rms`` about 1) get
    ``k = 0``, so that they are used as they are, never copied.

    Examples
    --------
    >>> import numpy as np
    >>> pow2_exponent(np.array([3.0, -3.0])), pow2_exponent(np.zeros(2)), pow2_exponent([1e300])
    (2, 0, 997)
    >>> pow2_exponent(np.array([0.9, -1.1]))
    0
    """
    rms = _rms(a)
    if not rms > 0:
        return 0
    mantissa, k = math.frexp(rms)  # rms = mantissa 2^k, mantissa in [1/2, 1)
    return k if mantissa >= math.sqrt(0.5) else k - 1


def _pow2(v, k):
    """``v * 2^k``, exact (inf beyond float64, 0 below it, never 0 * inf); None stays."""
    if v is None:
        return None
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(v, k)
    return float(out) if np.ndim(out) == 0 else out


class ProblemScale:
    """The powers of two the advice divides the user's problem by, and the way back.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Validated features (finite).
    y : ndarray of shape (n_samples,)
        Validated targets (regression) or labels.
    coef : ndarray of shape (n_targets, n_features)
    intercept : ndarray of shape (n_targets,)
    regression : bool
        Whether ``y`` carries units (regression) or labels (classification).

    Attributes
    ----------
    kx, ky : int
        ``s_x = 2^kx`` and ``s_y = 2^ky`` (``ky = 0`` for classification).
    """

    def __init__(self, X, y, coef, intercept, *, regression):
        self.kx = pow2_exponent(X)
        if not -SCALE_EXPONENT <= self.kx <= SCALE_EXPONENT:
            rms = _rms(X)
            raise InputScaleError(
                f"X has entries of magnitude up to {np.max(np.abs(X)):.3g} (root mean square "
                f"{rms:.3g}): the advice's pulls alpha and eigenvalues, in units of x^2 "
                f"(~1e{2 * math.log10(rms):.0f}), {'over' if rms > 1 else 'under'}flow "
                "float64; rescale X (e.g. with StandardScaler) and coef_init accordingly.")
        self.ky = 0
        self._alpha_k = None  # alpha' = alpha 2^k of one fine-tuning (None: -2 kx)
        coef_x = _pow2(coef, self.kx)
        if not np.all(np.isfinite(coef_x)):
            raise InputScaleError(
                f"coef_init has entries up to {np.max(np.abs(coef)):.3g} against features of "
                f"root mean square {_rms(X):.3g}: the pretrained predictions X @ coef_init "
                "exceed float64's range; coef_init is not on the scale of X.")
        if regression:
            with np.errstate(over="ignore", invalid="ignore"):
                pred = _pow2(X, -self.kx) @ coef_x[0]
            if not np.all(np.isfinite(pred)):
                raise InputScaleError(
                    "the pretrained predictions X @ coef_init exceed float64's range: "
                    "coef_init is not on the scale of X.")
            k0 = max(pow2_exponent(y), pow2_exponent(pred), pow2_exponent(intercept))
            r0 = _pow2(y, -k0) - _pow2(pred, -k0) - _pow2(intercept[0], -k0)
            self.ky = k0 + pow2_exponent(r0)
            if not -SCALE_EXPONENT <= self.ky <= SCALE_EXPONENT:
                big = self.ky > 0
                raise InputScaleError(
                    f"y: the pretrained residuals y - X @ coef_init - intercept_init have a "
                    f"root mean square of ~2^{self.ky}: their squares, the advice's errors "
                    f"(~1e{2 * self.ky * math.log10(2):.0f}), {'over' if big else 'under'}flow "
                    "float64; rescale y (and coef_init, intercept_init alike).")

    # ------------------------------------------------------------------ into the scaled units
    def features(self, X, name="X"):
        """``X / s_x`` (a dask array stays lazy); unlabelled rows far off the scale of ``X``
        are refused by name (their Gram matrices would leave float64's range)."""
        if X is None:
            return None
        out = X if self.kx == 0 else X * math.ldexp(1.0, -self.kx)
        if name != "X" and not is_dask_array(out):
            check_gram_range(out, name, math.ldexp(1.0, self.kx))
        return out

    def coef(self, coef):
        """Coefficients in the scaled units, ``coef s_x / s_y``."""
        return _pow2(coef, self.kx - self.ky)

    def intercept(self, intercept):
        return _pow2(intercept, -self.ky)

    def targets(self, y):
        return _pow2(y, -self.ky)

    def alpha(self, alpha):
        return _pow2(alpha, -2 * self.kx)

    def intercept_scaling(self):
        """Value of the augmented design's constant column on ``X / s_x`` (module docstring)."""
        return min(math.ldexp(1.0, -self.kx), MAX_INTERCEPT_SCALING)

    # ------------------------------------------------------------------ back to the user's
    # exponents of two: errors (units of y^2), pulls and eigenvalues (x^2), squared
    # coefficients (y^2 / x^2)
    @property
    def _err(self):
        return 2 * self.ky

    @property
    def _feat(self):
        return 2 * self.kx

    def _text(self, text):
        return rescale_text(text, self._feat, alpha_exponent=-self._alpha_exponent,
                            y_exponent=self.ky)

    @property
    def _alpha_exponent(self):
        return -self._feat if self._alpha_k is None else self._alpha_k

    # ------------------------------------------------------------------ one fine-tuning
    def alpha_exponent(self, loss):
        """The ``k`` of ``alpha' = alpha 2^k`` for a fine-tuning with ``loss``: ``-2 kx``,
        and ``ky - 2 kx`` for ``epsilon_insensitive``, whose loss is linear in the residual
        (its mean scales as ``s_y``, the penalty as ``s_y^2 / s_x^2``)."""
        return -self._feat + (self.ky if loss == "epsilon_insensitive" else 0)

    def finetuning(self, spec):
        """A fine-tuning to judge (``_candidates.FineTuning``) in the scaled units: its pull,
        ``epsilon`` (units of ``y`` for the robust regression losses) and a noise law given
        by values (a named law is scaled to the estimated variance: free of units)."""
        out = replace(spec, alpha=_pow2(spec.alpha, self.alpha_exponent(spec.loss)))
        if spec.loss in ("huber", "epsilon_insensitive") and self.ky != 0:
            out = replace(out, epsilon=_pow2(spec.epsilon, -self.ky),
                          noise=self._noise(spec.noise))
        return out

    def _noise(self, noise):
        if isinstance(noise, NoiseLaw):
            return NoiseLaw(_pow2(noise.means, -self.ky), noise.weights,
                            _pow2(noise.variances, -2 * self.ky), name=noise.name)
        if isinstance(noise, tuple) and len(noise) == 2:
            return (_pow2(np.asarray(noise[0], dtype=float), -self.ky), noise[1])
        return noise

    def candidate(self, cand, spec):
        """A :class:`CandidateAdvice` judged on the scaled problem, in the user's units
        (``spec``: the fine-tuning as the user named it)."""
        sc = copy.copy(self)
        sc._alpha_k = self.alpha_exponent(spec.loss)
        e = self._err
        eps = spec.epsilon if cand.epsilon is not None else None
        adv = cand.advice
        if adv is not None:
            adv = sc.advice(replace(adv, epsilon=eps), spec.alpha)
        return replace(
            cand, alpha=spec.alpha, epsilon=eps,
            finetuned_error=(None if cand.finetuned_error is None
                             else self.error_estimate(cand.finetuned_error)),
            loo_error=_pow2(cand.loo_error, e), gap_stderr=_pow2(cand.gap_stderr, e),
            reason=None if cand.reason is None else sc._text(cand.reason), advice=adv)

    def errors(self, v):
        """Errors (MSE) in the user's units."""
        return _pow2(v, self._err)

    def error_estimate(self, est):
        if est is None:
            return None
        e = self._err
        return ErrorEstimate(*(_pow2(v, e) for v in (est.value, est.stderr, est.low, est.high)))

    def spectrum(self, spec):
        a = self._feat
        return replace(spec, eigenvalues=_pow2(spec.eigenvalues, a), trace=_pow2(spec.trace, a),
                       trace_sq=_pow2(spec.trace_sq, 2 * a))

    def profile(self, prof):
        if prof is None:
            return None
        e, a = self._err, self._feat
        u = np.r_[e, np.full(prof.levels.size, e - a)]
        return replace(
            prof,
            eigenvalues=_pow2(prof.eigenvalues, a),
            levels=_pow2(prof.levels, e - a),
            noise_var=_pow2(prof.noise_var, e),
            resolution=_pow2(prof.resolution, a),
            covariance=_pow2(prof.covariance, u[:, None] + u[None, :]),
            pretrained_covariance=(None if prof.pretrained_covariance is None
                                   else _pow2(prof.pretrained_covariance, u + e)),
            pretrained_variance=_pow2(prof.pretrained_variance, 2 * e),
        )

    def unknowns(self, unk):
        """The estimated unknowns in the user's units (a tuple: each of them); diagnostics
        whose units leave float64 (a squared shift with X ~1e-150 and y ~1e150) are inf."""
        if unk is None:
            return None
        if isinstance(unk, tuple):
            return tuple(self.unknowns(u) for u in unk)
        e, a = self._err, self._feat
        texts = dict(assumptions=tuple(map(self._text, unk.assumptions)),
                     fallbacks=tuple(map(self._text, unk.fallbacks)))
        if isinstance(unk, LossUnknowns):
            gram = unk.gram
            if gram is not None:  # [class means (x), starts (1/x)]: 2^(u_i + u_j)
                k = 0 if unk.priors is None else len(unk.priors)
                u = np.r_[np.full(k, self.kx), np.full(gram.shape[0] - k, -self.kx)]
                gram = _pow2(gram, u[:, None] + u[None, :])
            return replace(
                unk, spectrum=self.spectrum(unk.spectrum), gram=gram,
                noise_var=_pow2(unk.noise_var, e), shift_signal=_pow2(unk.shift_signal, e),
                intercept_offset=_pow2(unk.intercept_offset, self.ky),
                profile=self.profile(unk.profile), **texts)
        if isinstance(unk, ClassificationUnknowns):
            return replace(
                unk, mean_norm2=_pow2(unk.mean_norm2, a),
                mean_norm2_se=_pow2(unk.mean_norm2_se, a), coef_norm2=_pow2(unk.coef_norm2, -a),
                spectrum=self.spectrum(unk.spectrum), **texts)
        return replace(
            unk,
            pretrained_error=_pow2(unk.pretrained_error, e),
            pretrained_error_se=_pow2(unk.pretrained_error_se, e),
            noise_var=_pow2(unk.noise_var, e),
            noise_var_se=_pow2(unk.noise_var_se, e),
            shift_norm2=_pow2(unk.shift_norm2, e - a),
            shift_signal=_pow2(unk.shift_signal, e),
            spectrum=self.spectrum(unk.spectrum),
            moment_cov=_pow2(unk.moment_cov, 2 * e),
            noise_var_moments=_pow2(unk.noise_var_moments, e),
            centred_error=_pow2(unk.centred_error, e),
            offset2=_pow2(unk.offset2, e),
            profile=self.profile(unk.profile),
            **texts,
        )

    def check(self, check):
        stat = check.statistic
        if check.name == "centring" and stat is not None:  # a squared norm of features
            stat = _pow2(stat, self._feat)
        return replace(check, detail=self._text(check.detail), statistic=stat)

    def advice(self, adv, alpha):
        """:class:`FinetuneAdvice` in the user's units; ``alpha`` the user's pull."""
        e = self._err
        return replace(
            adv,
            pretrained_error=self.error_estimate(adv.pretrained_error),
            finetuned_error=self.error_estimate(adv.finetuned_error),
            decision_pretrained_error=self.error_estimate(adv.decision_pretrained_error),
            gap_stderr=_pow2(adv.gap_stderr, e),
            recommended_alpha=_pow2(adv.recommended_alpha, -self._alpha_exponent),
            recommended_error=_pow2(adv.recommended_error, e),
            loo_error=_pow2(adv.loo_error, e),
            gcv_error=_pow2(adv.gcv_error, e),
            alpha=alpha,
            unknowns=self.unknowns(adv.unknowns),
            assumptions=tuple(map(self._text, adv.assumptions)),
            fallbacks=tuple(map(self._text, adv.fallbacks)),
            curve_finetuned=_pow2(adv.curve_finetuned, e),
            curve_recommended=_pow2(adv.curve_recommended, e),
            per_class=(None if adv.per_class is None
                       else tuple(self.advice(a, alpha) for a in adv.per_class)),
            checks=tuple(self.check(c) for c in adv.checks),
            realised_spread=_pow2(adv.realised_spread, e),
        )


# ---------------------------------------------------------------------- the sentences
# Numbers with the units of x^2 quoted in the advice's sentences: the pull of a check
# ("alpha=0.1"), the profile's resolution ("kappa=0.3") and a squared norm of features
# ("debiased squared norm 0.02"). Every other number in them is free of units (counts,
# shares, p-values, standard errors, ratios), which tests/test_properties.py checks.
_FEATURE_UNITS = re.compile(
    r"(?P<label>\balpha=|\bkappa=|debiased squared norm |\bepsilon=|noise variance )"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf)"
)


def _significant(token):
    mantissa = token.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0")
    return max(len(mantissa), 1)


def rescale_text(text, exponent, *, alpha_exponent=None, y_exponent=0):
    """``text`` with the numbers of :data:`_FEATURE_UNITS` multiplied by ``2^exponent``,
    printed with as many significant digits as they had; ``alpha=`` by
    ``2^alpha_exponent`` when given (a loss linear in the residual), ``epsilon=`` by
    ``2^y_exponent`` and ``noise variance`` by its square (units of ``y``).

    Examples
    --------
    >>> rescale_text("n=30 against 12 directions at alpha=0.025: amplification 1.5", 2)
    'n=30 against 12 directions at alpha=0.1: amplification 1.5'
    """
    k_alpha = exponent if alpha_exponent is None else alpha_exponent
    exps = {"alpha=": k_alpha, "kappa=": exponent, "debiased squared norm ": exponent,
            "epsilon=": y_exponent, "noise variance ": 2 * y_exponent}
    if not any(exps.values()):
        return text

    def scaled(match):
        token = match.group("value")
        k = exps[match.group("label")]
        if token == "inf" or k == 0:
            return match.group(0)
        value = _pow2(float(token), k)
        return f"{match.group('label')}{value:.{_significant(token)}g}"

    return _FEATURE_UNITS.sub(scaled, text)


# the fields each rescaling covers, checked against the dataclasses by the tests: a new
# field must be classified here (in the user's units, or free of units)
RESCALED_FIELDS = {
    FinetuneAdvice: {
        "pretrained_error", "finetuned_error", "decision_pretrained_error", "gap_stderr",
        "recommended_alpha", "recommended_error", "loo_error", "gcv_error", "alpha",
        "unknowns", "assumptions", "fallbacks", "curve_finetuned", "curve_recommended",
        "per_class", "checks", "realised_spread",
        # set in the user's units by ProblemScale.candidate / should_finetune
        "epsilon", "candidates",
    },
    CandidateAdvice: {
        "alpha", "epsilon", "finetuned_error", "loo_error", "gap_stderr", "reason", "advice",
    },
    LossUnknowns: {
        "spectrum", "gram", "noise_var", "shift_signal", "intercept_offset", "profile",
        "assumptions", "fallbacks",
    },
    RegressionUnknowns: {
        "pretrained_error", "pretrained_error_se", "noise_var", "noise_var_se", "shift_norm2",
        "shift_signal", "spectrum", "moment_cov", "noise_var_moments", "centred_error",
        "offset2", "profile", "assumptions", "fallbacks",
    },
    ClassificationUnknowns: {
        "mean_norm2", "mean_norm2_se", "coef_norm2", "spectrum", "assumptions", "fallbacks",
    },
    ShiftProfile: {
        "eigenvalues", "levels", "noise_var", "resolution", "covariance",
        "pretrained_covariance", "pretrained_variance",
    },
    SpectrumEstimate: {"eigenvalues", "trace", "trace_sq"},
    AssumptionCheck: {"detail", "statistic"},
}
UNITLESS_FIELDS = {
    FinetuneAdvice: {
        "task", "finetune", "confident", "helps_intervals", "loo_finetune", "n_samples",
        "n_features", "confidence", "curve_n", "classes", "decision_basis",
        "decision_basis_reason", "normality_pvalue", "n_effective",
        "loss", "fit_intercept", "calibrate_start", "check_method",
        "pretrained_per_class", "finetuned_per_class",  # error rates (classification)
    },
    CandidateAdvice: {
        "name", "loss", "fit_intercept", "calibrate_start", "check_method", "finetune",
        "confident",
    },
    LossUnknowns: {"loss", "n_samples", "priors", "noise"},
    RegressionUnknowns: {"n_samples"},
    ClassificationUnknowns: {
        "pretrained_error", "pretrained_error_se", "mean_dot_coef", "n_samples",
    },
    ShiftProfile: {"bins", "n_samples", "unresolved_share", "lack_of_fit", "n_obs"},
    SpectrumEstimate: {"n_rows", "method"},
    AssumptionCheck: {"name", "passed"},
}


def unclassified_fields():
    """Fields of the rescaled dataclasses that neither table names (should be empty)."""
    out = {}
    for cls in RESCALED_FIELDS:
        names = {f.name for f in fields(cls)}
        left = names - RESCALED_FIELDS[cls] - UNITLESS_FIELDS[cls]
        if left:
            out[cls.__name__] = sorted(left)
    return out
