"""The regression model behind the advice: per intercept design a Gram factorisation, a
spectrum and a shift profile fitted on the GCV curve (:mod:`skft.advice._regression` has the
designs, the intervals and the assembly of the advice).
"""

import warnings
from dataclasses import dataclass

import numpy as np

from ..utils._stages import NO_LOG
from ._estimate import DegenerateEstimateWarning, RegressionUnknowns
from ._loo import GramCache, GramFactor
from ._profile import alpha_path, fit_shift_profile
from ._rows import exact_duplicates
from ._spectrum import spectrum_for_design, unlabeled_moments

__all__ = ["DesignFit", "RegressionModel", "fit_regression_model", "regression_unknowns"]

#: Calibrated inflation of the standard error of the predicted fine-tuned error (the docstring
#: of :mod:`skft.advice._regression`).
FS_INFLATION = 1.0


@dataclass(frozen=True)
class DesignFit:
    """One design's factorisation, spectrum and fitted shift profile (internal)."""

    kind: str
    factor: GramFactor
    spectrum: object
    profile: object
    alphas: np.ndarray
    gcv: np.ndarray
    gcv_terms: np.ndarray
    target: np.ndarray
    dicker: float

    @property
    def rank(self):
        return int(np.count_nonzero(self.spectrum.eigenvalues > 0))


def _dicker(factor, rt):
    """``T2 = sum_{i != j} r_i r_j z_i'z_j / (n (n - 1))``, an unbiased ``delta' Sigma^2 delta``."""
    n = rt.size
    Gr = factor.apply_gram(rt)
    return float(rt @ Gr - np.sum(factor.row_sq * rt**2)) / (n * (n - 1))


def fit_design(X, r, kind, *, alpha=None, X_unlabeled=None, cache=None, intercept_scaling=1.0,
               log=NO_LOG):
    """Factorise a design, estimate its spectrum, fit the shift profile on its GCV curve.

    The observations are the GCV errors along :func:`alpha_path`, the design's pretrained
    error (``mean(r^2)``; with a free intercept the centred ``sum((r - mean r)^2) / (n - 1)``)
    and the Dicker statistic; their covariance is that of quadratic forms in ``r``
    (:meth:`GramFactor.spectral`). ``intercept_scaling``: the value of the ``"augmented"``
    design's constant column (:class:`GramFactor`); ``log``: a
    :class:`~skft.utils._stages.StageLog`.
    """
    n, d = X.shape
    cache = {} if cache is None else cache
    if "grams" not in cache:
        cache["grams"] = GramCache(X, intercept_scaling=intercept_scaling)
    with log.stage(f"factorisation of the {kind!r} design") as notes:
        factor = cache["grams"].factor(kind)
        size = n if factor.side == "kernel" else factor.n_features
        notes.append(f"eigh of the {factor.side}-side Gram matrix, {size} x {size}")
    if X_unlabeled is not None and "moments" not in cache and n + X_unlabeled.shape[0] > d + 1:
        with log.stage(f"moments of the unlabelled rows ({X_unlabeled.shape[0]} x {d})"):
            unlabeled_moments(X_unlabeled, cache)
    with log.stage(f"spectrum of the {kind!r} design"):
        spectrum = spectrum_for_design(factor, X_unlabeled, cache=cache)
    with log.stage(f"shift profile of the {kind!r} design"):
        return _fit_profile(X, r, kind, factor, spectrum, alpha)


def _fit_profile(X, r, kind, factor, spectrum, alpha):
    n = X.shape[0]
    alphas = alpha_path(spectrum.eigenvalues, alpha)
    gcv, terms = factor.gcv_terms(r, alphas)
    rt = r - r.mean() if kind == "free" else r
    n_m1 = n - 1 if kind == "free" else n
    st = factor.spectral(r)
    rows, perp = st.gcv_weights(alphas)
    rows = np.vstack([rows, np.full(st.energy.size, 1.0 / n_m1), st.eigenvalues / (n * (n - 1))])
    perp = np.r_[perp, 1.0 / n_m1, 0.0]
    ok = np.all(np.isfinite(rows), axis=1)
    cov = np.full((rows.shape[0], rows.shape[0]), np.nan)
    cov[np.ix_(ok, ok)] = st.covariance(rows[ok], perp[ok])
    observed = np.r_[gcv, float(rt @ rt) / n_m1, _dicker(factor, rt)]
    emphasis = alphas == alpha if alpha is not None else None
    profile = fit_shift_profile(
        spectrum.eigenvalues, n_m1, alphas, observed, cov, emphasis=emphasis
    )
    return DesignFit(kind, factor, spectrum, profile, alphas, gcv, terms, rt, observed[-1])


class RegressionModel:
    """``R_ft(n, alpha)`` for the estimators' fine-tuning, from the fitted designs.

    ``n`` counts independent samples. Without intercept the ``"none"`` design serves every
    ``(n, alpha)``; with an intercept ``alpha > 0`` is served by ``"free"`` at ``n - 1`` and
    ``alpha = 0`` by ``"augmented"`` at ``n``. ``extra_noise`` is added to every prediction
    (the part of the test noise the training labels do not carry: averaged repeated rows).
    """

    def __init__(self, fits, fit_intercept, extra_noise=0.0):
        self.fits = fits
        self.fit_intercept = bool(fit_intercept)
        self.extra_noise = float(extra_noise)

    def fit_for(self, alpha):
        if not self.fit_intercept:
            return self.fits["none"]
        return self.fits["augmented" if alpha == 0 else "free"]

    def _map(self, method, n, alpha):
        n, a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(alpha, dtype=float))
        out = np.empty(n.shape)
        if not self.fit_intercept:
            out[...] = getattr(self.fits["none"].profile, method)(n, a)
            return out
        pos = a > 0
        if np.any(pos):
            free = getattr(self.fits["free"].profile, method)
            out[pos] = free(np.maximum(n[pos] - 1, 0.5), a[pos])
        if not np.all(pos):
            out[~pos] = getattr(self.fits["augmented"].profile, method)(n[~pos], 0.0)
        return out

    def finetuned(self, n, alpha):
        """Predicted fine-tuned test MSE, broadcast over ``n`` and ``alpha``."""
        return self._map("risk", n, alpha) + self.extra_noise

    def finetuned_se(self, n, alpha):
        """Standard error of the prediction of the realised error (module docstring), the
        fit's part and the finite-size spread."""
        fit = self._map("risk_se", n, alpha)
        real = self._map("realised_sd", n, alpha)
        return FS_INFLATION * np.sqrt(fit**2 + real**2), fit, real

    def gap_se(self, n, alpha, pretrained_se):
        """Standard error of ``finetuned - pretrained``: the prediction is correlated with
        the measured pretrained error (both read the same residuals). Within the fit's model
        ``Var(pred - m1) = Var(pred) + Var(m1) - 2 Cov(pred, m1)``; a larger (robust,
        jackknife) variance of the measured pretrained error is added on top, then the
        finite-size spread."""
        _, fit, real = self.finetuned_se(n, alpha)
        cov = self._map("risk_cov_pretrained", n, alpha)
        pre_var = self._map("pretrained_var", n, alpha)
        var = np.maximum(fit**2 + pre_var - 2.0 * cov, 0.0)
        var = var + np.maximum(pretrained_se**2 - pre_var, 0.0) + real**2
        return FS_INFLATION * np.sqrt(var)

    def amplification(self, n, alpha):
        return self._map("amplification", n, alpha)


ASSUMPTIONS = (
    "rows of X independent, with the second moments of Sigma^{1/2} z for z of independent "
    "standardised coordinates (the Marchenko-Pastur model; checked: heavy_tails, "
    "independent_rows)",
    "noise independent of x with variance s2 (the pretrained error measures s2 plus the "
    "shift's signal whatever the noise's law)",
    "the shift's profile over the eigen-directions is fitted to the GCV curve and the "
    "moments of the residuals (checked: shift_profile); below the resolution it continues "
    "smoothly",
    "proportional limit: finite-size spread carried by the interval (checked: n_close_to_d)",
)


def regression_unknowns(model, r, rows, alpha, pre, pre_se):
    """:class:`RegressionUnknowns` of the design serving ``alpha`` (its fitted profile)."""
    fit = model.fit_for(alpha)
    n_u = r.size
    n_eff = n_u - 1 if fit.kind == "free" else n_u
    if model.fit_intercept:
        m1c = float(np.sum((r - r.mean()) ** 2) / (n_u - 1))
        offset2 = max(float(r.mean()) ** 2 - m1c / n_u, 0.0)
    else:
        m1c, offset2 = float(np.mean(r**2)), 0.0
    notes = ASSUMPTIONS + (
        f"the prediction at alpha={alpha:g} uses the {fit.kind!r} design "
        + {
            "none": "(no intercept: the features' second moments as they are)",
            "free": "(free intercept: centred features, n - 1 samples)",
            "augmented": "(alpha = 0 with an intercept: one more coordinate (x, 1) with no pull)",
        }[fit.kind],
    )
    if rows.has_duplicates:
        notes += (f"{rows.n_rows} rows, {n_u} distinct: predictions are for {n_u} samples",)
    fallbacks = []
    if not pre > 0:
        fallbacks.append(
            "the pretrained model fits every target label exactly (r = 0): no shift and no "
            "noise are detectable, fine-tuning cannot improve on it"
        )
    elif not np.ptp(r) > 0:
        fallbacks.append(
            "the residuals y - X w0 - b0 are constant: only the pretrained intercept is off, "
            "no shift of the coefficients and no noise are detectable"
        )
    for msg in fallbacks:
        warnings.warn(msg, DegenerateEstimateWarning, stacklevel=4)
    prof = fit.profile
    spec = fit.spectrum
    s2 = prof.noise_var + model.extra_noise
    s2_se = float(np.sqrt(max(prof.covariance[0, 0], 0.0)))
    ratio = spec.trace / spec.trace_sq if spec.trace_sq > 0 else np.inf
    mom = float(np.mean(fit.target**2) - fit.dicker * ratio) if np.isfinite(ratio) else np.nan
    return RegressionUnknowns(
        pretrained_error=pre,
        pretrained_error_se=pre_se,
        noise_var=float(s2),
        noise_var_se=s2_se,
        shift_norm2=prof.shift_norm2,
        shift_signal=prof.signal,
        spectrum=spec,
        n_samples=n_eff,
        assumptions=notes,
        fallbacks=tuple(fallbacks),
        moment_cov=np.diag([pre_se**2, s2_se**2]),
        noise_var_moments=mom,
        centred_error=float(m1c),
        offset2=float(offset2),
        profile=prof,
    )


def fit_regression_model(X, y, coef, intercept, *, alpha, fit_intercept, X_unlabeled, rows=None,
                         intercept_scaling=1.0, log=NO_LOG):
    """Designs, model, residuals and row structure for one regression problem.

    ``rows`` (a :class:`RowStructure`) is computed when not given; with exact duplicates the
    designs are fitted on the distinct rows (module docstring of :mod:`skft.advice._rows`).
    ``intercept_scaling``: the value of the ``"augmented"`` design's constant column.

    Returns
    -------
    model : RegressionModel
    r : ndarray
        Residuals ``y - X w0 - b0`` of the distinct rows (mean label per distinct row).
    rows : RowStructure
    """
    if rows is None:
        rows = exact_duplicates(X, y)
    extra_noise = 0.0
    if rows.has_duplicates:
        Xu = X[rows.first]
        yu = rows.mean_labels(y)
        if rows.label_conflict and rows.uniform and rows.pure_error_var is not None:
            c = float(rows.multiplicity[0])
            extra_noise = rows.pure_error_var * (1.0 - 1.0 / c)
    else:
        Xu, yu = X, y
    r = yu - Xu @ coef - intercept
    n = Xu.shape[0]
    fits = {}
    # X X' (or X'X and U'U) shared by the designs
    opts = dict(X_unlabeled=X_unlabeled, cache={}, log=log, intercept_scaling=intercept_scaling)
    if not fit_intercept:
        fits["none"] = fit_design(Xu, r, "none", alpha=alpha, **opts)
    else:
        fits["free"] = fit_design(Xu, r, "free", alpha=alpha if alpha > 0 else None, **opts)
        if n >= 3:
            fits["augmented"] = fit_design(
                Xu, r, "augmented", alpha=0.0 if alpha == 0 else None, **opts
            )
    return RegressionModel(fits, fit_intercept, extra_noise), r, rows
