"""Classification: theory with estimated unknowns, calibrated on the leave-one-out margins.

The pretrained error is *measured*: the error rate of ``sign(X w0 + b0)`` counted on the
target labels (the pretrained model never saw them, so the count is unbiased), with a Wilson
score interval (it stays inside ``[0, 1]`` and keeps a positive width when no sample, or every
sample, is misclassified); its ``stderr`` is the interval's half-width over ``z``.

The decision does not always compare with that count. Under the theory's model the pretrained
margins ``m_i = y_i (x_i'w0 + b0)`` are, within each class, Gaussian with a common variance
(the central limit theorem over the ``d`` coordinates: the universality the theory rests on),
and then the *Gaussian-margin* estimate ``sum_k pi_k Phi(-mean_k / s)``
(:func:`gaussian_margin_error`) is the efficient one: it uses where every margin lies, not
only its sign, and its standard error is about 0.8, 0.7 and 0.5 times the count's at error
rates of 20%, 5% and 1%. It is biased when the margins are not Gaussian (breast cancer,
40 samples: 0.19, against 0.15 counted and 0.08 true). That assumption is testable on the
same margins, so the rule (:func:`decision_pretrained_error`) is: the Gaussian-margin
estimate when a Shapiro-Wilk test of the margins within each class does not reject
normality at level 0.01 (the two classes' p-values combined by Fisher's method), the count
otherwise, and the count when the test is impossible (a class with fewer than 3 samples, or
constant margins in a class). The chosen estimate is used for the decision, the intervals of
``n`` and the recommended ``alpha``; ``pretrained_error`` always reports the count.

For the fine-tuned model the theory is used. For the two-class mixture ``x = y mu + z`` the
margin ``y x'w`` of a fixed ``w`` is (by the central limit theorem over the ``d``
coordinates) Gaussian with mean ``t = mu'w`` and variance ``q = w' Sigma w``, so the error
rate is ``Phi(-t / sqrt(q))``. The empirical signal-to-noise ratio of the fine-tuned model at
the observed ``n`` follows without any assumption on ``mu`` or ``Sigma``: ``mean / std`` of
the leave-one-out margins ``m_i = y_i f_{-i}(x_i) = 1 - y_i e_i`` (closed form,
:func:`loo_residuals`). Its standard error is ``sqrt((1 + s^2/2) / n)`` (mean over standard
deviation of ``n`` Gaussian draws), mapped through ``phi(s)``. The theory's unknown
class-mean norm is then calibrated so that its ``t / sqrt(q)`` reproduces the leave-one-out
ratio along a grid of ``alpha`` at the observed ``n``; the calibrated theory extrapolates to
other ``n`` and ``alpha``. The counted leave-one-out error rate is reported beside it.
"""

import warnings

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.special import expit, ndtr

from ..theory._classification import _classification_error_grouped
from ..theory._derived import _optimal_alpha
from ..utils._stages import NO_LOG
from ._checks import (
    AssumptionCheck,
    check_balance,
    check_class_centring,
    check_rows,
    check_tails,
)
from ._estimate import _classification_unknowns
from ._loo import GramCache, _design, _loo_residuals
from ._margins import (
    decision_pretrained_error,
    gaussian_margin_error,
    margin_normality_pvalue,
    wilson_interval,
)
from ._regression import DependentRowsWarning, _best_curve, _z, helps_intervals
from ._rows import MAX_PAIR_FLOPS, exact_duplicates, with_near_duplicates

__all__ = [
    "classification_problem",
    "decision_pretrained_error",
    "fit_classification_model",
    "gaussian_margin_error",
    "margin_normality_pvalue",
]

def _snr(margins):
    """``mean / std`` along the last axis and its standard error."""
    m = np.asarray(margins, dtype=float)
    sd = m.std(axis=-1, ddof=1)
    s = m.mean(axis=-1) / np.where(sd > 0, sd, np.finfo(float).tiny)
    se = np.sqrt((1.0 + s**2 / 2.0) / m.shape[-1])
    return s, se


def logit_interval(rate, stderr, z):
    """``expit(logit(p) -+ z stderr / (p (1 - p)))``: the delta-method interval of an error
    rate on the logit scale (inside ``(0, 1)``, skewed away from the nearer bound).

    Examples
    --------
    >>> from skft.advice._classification import logit_interval
    >>> [round(v, 3) for v in logit_interval(0.05, 0.02, 1.96)]
    [0.023, 0.107]
    """
    p = min(max(float(rate), 1e-6), 1.0 - 1e-6)
    if not np.isfinite(stderr):
        return 0.0, 1.0
    half = z * float(stderr) / (p * (1.0 - p))
    lo = np.log(p / (1.0 - p)) - half
    hi = np.log(p / (1.0 - p)) + half
    return float(expit(lo)), float(expit(hi))  # (1 / (1 + exp(-x)) overflows far out)


def _loo(grams, r, alpha, fit_intercept):
    try:
        return _loo_residuals(grams, r, alpha, fit_intercept=fit_intercept)
    except ValueError:  # alpha = 0 on rank-deficient X: the interpolator's LOO is undefined
        return None


def _error_and_se(s, se):
    phi = np.exp(-0.5 * s**2) / np.sqrt(2 * np.pi)
    return float(ndtr(-s)), float(phi * se)


class _ClassificationModel:
    """Theory inputs as a function of the class-mean norm ``m2`` (``mu'w0`` and, when
    possible, the effective ``||w0||^2`` held at their estimates)."""

    def __init__(self, unk):
        self.unk = unk
        self.ev, self.mu, self.w = unk.theory_inputs()
        self.m2 = unk.mean_norm2
        u = self.mu / np.linalg.norm(self.mu)
        rest = self.w - (self.w @ u) * u
        norm = np.linalg.norm(rest)
        if not norm > 1e-8 * np.linalg.norm(self.w):
            # w0 along mu (||mu||^2 raised to its Cauchy-Schwarz bound): what is left is
            # rounding, whose direction is noise; the spread assumption's own direction,
            # the alternating signs along the eigenvalues (orthogonal to the flat mu)
            rest = np.where(np.arange(rest.size) % 2 == 0, 1.0, -1.0)
            if rest.size % 2:
                rest[-1] = 0.0
            rest = rest - (rest @ u) * u
            norm = np.linalg.norm(rest)
        self.rest_dir = rest / norm if norm > 0 else np.zeros_like(rest)
        self.lower = unk.mean_dot_coef**2 / unk.coef_norm2 if unk.coef_norm2 > 0 else 0.0
        # the theory needs only the sums of mu_j^2, mu_j w_j, w_j^2 over the directions that
        # share an eigenvalue (the estimated spectrum repeats a few values): grouped once
        vals, inv, counts = np.unique(self.ev, return_inverse=True, return_counts=True)
        inv = np.ravel(inv)

        def group(v):
            return np.bincount(inv, weights=v, minlength=vals.size)

        self._distinct = vals, counts.astype(float)
        self._sums = group(self.mu**2), group(self.mu * self.rest_dir), group(self.rest_dir**2)

    def _coefficients(self, m2):
        """``(c, a, b)`` with ``mu = c mu_hat`` and ``w = a mu + b rest_dir`` at ``m2``."""
        u = self.unk
        # below the Cauchy-Schwarz bound (mu'w0)^2 / ||w0||^2 the start is lengthened along mu:
        # the spread-based ||w0||^2 is only an effective value
        m2 = self.m2 if m2 is None else max(m2, 1e-12)
        rest2 = max(u.coef_norm2 - u.mean_dot_coef**2 / m2, 0.0)
        return np.sqrt(m2 / u.mean_norm2), u.mean_dot_coef / m2, np.sqrt(rest2)

    def result(self, n, alpha, m2=None):
        c, a, b = self._coefficients(m2)
        smm, smr, srr = self._sums
        mm, mr = c * c * smm, c * smr
        W = np.column_stack([mm, a * mm + b * mr, a * a * mm + 2.0 * a * b * mr + b * b * srr])
        return _classification_error_grouped(*self._distinct, W, n, alpha)

    def finetuned(self, n, alpha, m2=None):
        return self.result(n, alpha, m2).finetuned

    def calibrate(self, n_eff, grid, snr, snr_se, emphasis=None):
        """Class-mean norm combining the moment estimate with the leave-one-out curve.

        Two estimates of ``||mu||^2`` are combined by inverse variance: the debiased moment
        estimate ``m2_hat`` (standard error ``se_m``) and the value that makes the theory's
        ``t / sqrt(q)`` reproduce the leave-one-out signal-to-noise ratios on ``grid``. The
        ratios along ``grid`` come from the same samples and are strongly correlated, so the
        curve counts as one observation: the weighted mean of the squared misfits over
        ``grid`` (weights ``1/se^2``, the ``alpha`` asked for ten times) is divided by the
        squared standard error at that ``alpha``. The minimised criterion is

        ``sum_a p_a (s_th(a; m2) - s_loo(a))^2 / se_loo^2 + (m2 - m2_hat)^2 / se_m^2``.

        Where the theory's ratio hardly depends on ``m2`` (near the interpolation peak
        ``n = d`` at small ``alpha``), a noisy leave-one-out ratio then cannot drag ``m2``
        far from its moment estimate; where it is sensitive, the leave-one-out curve wins.
        """
        weight = 1.0 / snr_se**2
        if emphasis is not None and np.any(emphasis):
            weight = weight * np.where(emphasis, 10.0, 1.0)
            se_curve = float(np.min(snr_se[emphasis]))
        else:
            se_curve = float(np.min(snr_se))
        p = weight / weight.sum()
        m2_hat = self.unk.mean_norm2
        se_m = self.unk.mean_norm2_se
        prior = se_m > 0 and np.isfinite(se_m)

        # searched in log(m2 / ref): free of the units of X, so that the bounded search takes
        # the same path whatever they are (its tolerance depends on where it stands)
        ref = max(self.m2, self.lower)

        def loss(log_ratio):
            m2 = ref * np.exp(log_ratio)
            res = self.result(n_eff, grid, m2)
            with np.errstate(divide="ignore", invalid="ignore"):
                s_th = np.where(res.q > 0, res.t / np.sqrt(np.maximum(res.q, 1e-300)), 0.0)
            out = float(np.sum(p * (s_th - snr) ** 2)) / se_curve**2
            if prior:
                out += ((m2 - m2_hat) / se_m) ** 2
            return out

        if not ref > 0:
            return self.m2
        lo = np.log(max(1e-4 * ref, 1e-12) / ref)
        hi = np.log((ref * 100.0 + 1e-12) / ref)
        if not hi > lo:
            return self.m2
        best = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-4})
        self.m2 = float(ref * np.exp(best.x))
        return self.m2


def fit_classification_model(
    X, y_pm, coef, intercept, *, fit_intercept, X_unlabeled, alpha, z=1.959963984540054,
    grams=None, log=NO_LOG, intercept_scaling=1.0,
):
    """Unknowns, the calibrated model and the measured numbers (a dict).

    ``pretrained`` is the counted error rate of ``sign(X w0 + b0)`` and its standard error,
    ``pretrained_interval`` its Wilson interval at the normal quantile ``z``, ``decision``
    the pretrained error the decision compares with (:func:`decision_pretrained_error`).
    ``grams``: the :class:`GramCache` of ``X`` (a new one when None); ``log``: a
    :class:`~skft.utils._stages.StageLog` for ``verbose``; ``intercept_scaling``: the
    constant feature's value in the leave-one-out fits at ``alpha = 0`` (:class:`GramFactor`),
    used when ``grams`` is None.
    """
    grams = GramCache(X, intercept_scaling=intercept_scaling) if grams is None else grams
    n, d = X.shape
    with log.stage("moments and spectrum (within-class rows"
                   + (", unlabelled rows)" if X_unlabeled is not None else ")")):
        if fit_intercept:
            Xc, gram = X - X.mean(axis=0), None
            # a constant column centres to exactly 0 (its mean of equal values may be
            # rounded: a 1e-16 residue would count as one more direction of the spectrum)
            Xc[:, np.all(X == X[0], axis=0)] = 0.0
        else:
            Xc, gram = X, grams.kernel() if n <= d else None
        unk = _classification_unknowns(Xc, y_pm, coef, 0.0, X_unlabeled, gram)
    margin = X @ coef + intercept
    wrong = int(np.count_nonzero(np.where(margin > 0, 1.0, -1.0) != y_pm))
    pre, pre_se, pre_lo, pre_hi = wilson_interval(wrong, y_pm.size, z)
    model = _ClassificationModel(unk)
    n_eff = n - (1 if fit_intercept else 0)
    grid = (unk.spectrum.trace / unk.spectrum.eigenvalues.size) * np.logspace(-2, 1, 12)
    grid = np.unique(np.r_[grid, alpha])
    r = y_pm - margin
    with log.stage(f"factorisation and leave-one-out along {grid.size} values of alpha"):
        try:
            loo = _loo_residuals(grams, r, grid, fit_intercept=fit_intercept)
        except ValueError:  # alpha = 0 on rank-deficient X: calibrate on alpha > 0 only
            grid = grid[grid > 0]
            loo = _loo_residuals(grams, r, grid, fit_intercept=fit_intercept)
    snr, snr_se = _snr(1.0 - y_pm * loo.residuals)
    # the alpha asked for counts ten times: the decision is made there
    with log.stage("class-mean norm calibrated on the leave-one-out margins"):
        model.calibrate(n_eff, grid, snr, snr_se, emphasis=grid == alpha)
    return dict(
        unknowns=unk,
        model=model,
        n_eff=n_eff,
        pretrained=(pre, pre_se),
        pretrained_interval=(pre_lo, pre_hi),
        decision=decision_pretrained_error(margin, y_pm, (pre, pre_se)),
        residuals=r,
    )


#: Checks whose failure means the theory's model does not hold: the decision then follows
#: the leave-one-out comparison.
THEORY_CHECKS = ("class_balance", "centring")


def _checks(grams, y_pm, r, alpha, fit_intercept, rows):
    """Class balance, centring, rows and tails (see :mod:`skft.advice._checks`)."""
    X = grams.X
    checks = [check_rows(rows, exact_model=rows.uniform and not rows.label_conflict)]
    checks.append(check_balance(y_pm))
    if fit_intercept:
        checks.append(
            AssumptionCheck("centring", True, "features centred by the fitted intercept")
        )
    else:
        checks.append(check_class_centring(X, y_pm))
    checks.append(tails_check(grams, r, alpha, fit_intercept))
    return checks


def tails_check(X, r, alpha, fit_intercept):
    """:func:`check_tails` on the squared-loss fit of the residuals ``r`` (a property of the
    rows, whatever the loss) at ``max(alpha, tau / 10)``; ``X``: the features or their
    :class:`GramCache`."""
    grams = X if isinstance(X, GramCache) else GramCache(X)
    X = grams.X
    factor = grams.factor(_design(alpha, fit_intercept, *X.shape))
    ev = factor.eigenvalues
    tau = float(factor.row_sq.sum()) / (X.shape[0] * factor.n_features)
    a_ref = max(alpha, 0.1 * tau) if tau > 0 else max(alpha, 1e-3)
    try:
        e = factor.loo(r, a_ref)[0]
        g = factor.gcv_terms(r, np.array([a_ref]))[1][0]
    except ValueError:
        e = g = None
    tr1 = float(factor.row_sq.sum())
    tr2 = float(np.sum(ev**2))
    r_eff = tr1**2 / tr2 if tr2 > 0 else 0.0
    return check_tails(e, g, factor.row_sq, r_eff, a_ref)


def classification_rows(X, y_pm, stacklevel=6):
    """``(X, y_pm, rows)``: the distinct rows when exact duplicates have one multiplicity and
    one label per distinct row (the fit is the same), with a :class:`DependentRowsWarning`
    when the rows are not independent."""
    rows, X, y_pm, _ = _rows(X, y_pm)
    _warn_rows(rows, stacklevel + 1)
    return X, y_pm, rows


def _warn_rows(rows, stacklevel):
    if rows.has_duplicates or rows.near_pairs:
        exact = rows.uniform and not rows.label_conflict
        warnings.warn(
            "should_finetune: rows of X are not independent: "
            f"{check_rows(rows, exact_model=exact).detail}.",
            DependentRowsWarning,
            stacklevel=stacklevel,
        )


def classification_problem(
    X, y_pm, coef, intercept, *, alpha, fit_intercept, X_unlabeled, confidence, curve_n,
    log=NO_LOG, intercept_scaling=1.0, baseline=None,
):
    """All the numbers of the advice for one two-class problem with labels -1/+1.

    ``baseline``: when fine-tuning starts from a calibrated start ``(coef, intercept)``, the
    measured numbers of the start as given (``pretrained``, ``pretrained_interval``,
    ``decision``, ``se_diff``): the decision compares with them, and the standard error of
    the gap adds that of the paired difference of the two starts' errors.

    Rows: exact duplicates with one multiplicity and one label per distinct row are
    analysed on the distinct rows (the fit is the same); other duplicates fail the
    ``independent_rows`` check. When a check of :data:`THEORY_CHECKS` fails (imbalanced
    classes, uncentred classes without intercept) the theory's model does not hold: the
    fine-tuned error is the leave-one-out error rate and the decision compares it with the
    counted pretrained error rate. ``log``: a :class:`~skft.utils._stages.StageLog`.
    """
    with log.stage("exact and near-duplicate rows"):
        rows, X, y_pm, grams = _rows(X, y_pm, intercept_scaling)
    _warn_rows(rows, 6)
    fit = fit_classification_model(
        X,
        y_pm,
        coef,
        intercept,
        fit_intercept=fit_intercept,
        X_unlabeled=X_unlabeled,
        alpha=alpha,
        z=_z(confidence),
        grams=grams,
        log=log,
    )
    model, n_eff = fit["model"], fit["n_eff"]
    shift = 1 if fit_intercept else 0
    with log.stage("leave-one-out and the predicted error at the observed n"):
        ft, se_ft, loo = _point_estimate(model, fit, grams, y_pm, n_eff, alpha, fit_intercept)
    dec = fit["decision"] if baseline is None else baseline["decision"]
    ev = model.ev
    with log.stage("recommended alpha, intervals of n and curves"):
        best_alpha, best_error = _recommended_alpha(model, n_eff, dec["value"])
        # compared with the decision's pretrained error, as the decision is
        helps = helps_intervals(
            lambda m: model.finetuned(m, alpha),
            dec["value"],
            int(np.count_nonzero(ev > 0)),
            n_max=20 * max(ev.size, n_eff),
        )
        curve = np.asarray(model.finetuned(np.maximum(curve_n - shift, 0.5), alpha), dtype=float)
        curve_best = _best_curve(model.finetuned, curve_n - shift, best_alpha)
    with log.stage("assumption checks"):
        checks = _checks(grams, y_pm, fit["residuals"], alpha, fit_intercept, rows)
    return _result(fit, model, checks, ft, se_ft, loo, y_pm, confidence, shift,
                   best_alpha, best_error, helps, curve, curve_best, baseline)


def _rows(X, y_pm, intercept_scaling=1.0):
    """Exact and near duplicates; the distinct rows when the duplicates are uniform, and
    the :class:`GramCache` of the rows analysed."""
    rows = exact_duplicates(X, y_pm, classification=True)
    if rows.has_duplicates and rows.uniform and not rows.label_conflict:
        X, y_pm = X[rows.first], y_pm[rows.first]
    grams = GramCache(X, intercept_scaling=intercept_scaling)
    if X.shape[0] == rows.n_unique:
        n, d = X.shape
        gram, r_eff = None, None
        if n <= d:  # tr(Sigma)^2 / tr(Sigma^2) from the centred J X X' J, the pairs from X X'
            raw = grams.kernel()
            g = raw.mean(axis=1)
            gc = raw - g[:, None] - g[None, :] + g.mean()
            tr2 = float(np.sum(gc**2))
            r_eff = float(np.trace(gc)) ** 2 / tr2 if tr2 > 0 else 0.0
            gram = raw if float(n) * n * d <= MAX_PAIR_FLOPS else None
        rows = with_near_duplicates(rows, X, gram=gram, r_eff=r_eff)
    else:
        rows = with_near_duplicates(rows, X[rows.first])
    return rows, X, y_pm, grams


def _point_estimate(model, fit, grams, y_pm, n_eff, alpha, fit_intercept):
    """Predicted error at the observed data, its standard error, and the leave-one-out."""
    ft = float(model.finetuned(n_eff, alpha))
    loo = _loo(grams, fit["residuals"], alpha, fit_intercept)
    if loo is not None:
        _, se_ft = _error_and_se(*_snr(1.0 - y_pm * loo.residuals))
    else:  # the alpha = 0 interpolator's LOO is undefined: delta method on ||mu||^2
        unk = fit["unknowns"]
        h = max(unk.mean_norm2_se, 1e-6 * model.m2)
        up = float(model.finetuned(n_eff, alpha, model.m2 + h))
        down = float(model.finetuned(n_eff, alpha, max(model.m2 - h, 0.5 * model.m2)))
        se_ft = abs(up - down) / 2.0
    return ft, se_ft, loo


def _result(fit, model, checks, ft, se_ft, loo, y_pm, confidence, shift, best_alpha,
            best_error, helps, curve, curve_best, baseline):
    """The dict of :func:`classification_problem`; the leave-one-out error rate decides when
    a check of :data:`THEORY_CHECKS` failed."""
    pre, se_pre = fit["pretrained"]
    dec = fit["decision"]
    pre_interval, se_diff = fit["pretrained_interval"], 0.0
    if baseline is not None:
        (pre, se_pre), dec = baseline["pretrained"], baseline["decision"]
        pre_interval, se_diff = baseline["pretrained_interval"], baseline["se_diff"]
    failed = [c.name for c in checks if not c.passed and c.name in THEORY_CHECKS]
    out = dict(finetuned_interval=logit_interval(ft, se_ft, _z(confidence)))
    if failed and loo is not None:
        # the theory's model does not hold: the assumption-free leave-one-out error rate
        z = _z(confidence)
        wrong = int(round(loo.error_rate(y_pm) * y_pm.size))
        ft, se_ft, lo, hi = wilson_interval(wrong, y_pm.size, z)
        out["finetuned_interval"] = (lo, hi)
        dec = dict(
            value=pre,
            stderr=se_pre,
            basis="counted",
            reason=(
                f"counted error rate, against the leave-one-out error rate of the fine-tuned "
                f"model: the theory's model does not hold (failed: {', '.join(failed)}); "
                f"for the record, {dec['reason']}"
            ),
            normality_pvalue=dec["normality_pvalue"],
        )
    return dict(
        pretrained=(pre, se_pre),
        pretrained_interval=pre_interval,
        decision=dec,
        finetuned=(ft, se_ft),
        gap_se=float(np.sqrt(se_ft**2 + dec["stderr"] ** 2 + se_diff**2)),
        checks=tuple(checks),
        n_effective=int(y_pm.size),
        **out,
        recommended_alpha=best_alpha,
        recommended_error=best_error,
        intervals=tuple((lo + shift, hi + shift) for lo, hi in helps),
        unknowns=fit["unknowns"],
        calibrated_mean_norm2=model.m2,
        loo=None if loo is None else float(loo.error_rate(y_pm)),
        gcv=None,
        curve=curve,
        curve_best=curve_best,
        z=_z(confidence),
    )


def _recommended_alpha(model, n_eff, pretrained):
    """``alpha`` in ``[0, inf]`` minimising the predicted fine-tuned error, and that error.

    As :func:`~skft.theory.classification_optimal_alpha`, but ``alpha = inf`` (keep the
    start) is worth ``pretrained``, the error the decision compares with, rather than the
    theory's ``Phi(-mu'w0 / sqrt(w0' Sigma w0))``.
    """
    ev = model.ev
    scale = float(ev.sum() / ev.size) if ev.sum() > 0 else 1.0
    alphas, errors = _optimal_alpha(
        lambda nn, aa: model.finetuned(nn, aa),
        pretrained,
        np.array([float(n_eff)]),
        scale,
        161,
    )
    return float(alphas[0]), float(errors[0])
