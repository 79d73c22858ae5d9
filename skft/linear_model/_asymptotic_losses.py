"""``predict_asymptotic_error`` for the losses other than the squared one, and for multiclass.

Dispatch target of :meth:`_AsymptoticErrorMixin.predict_asymptotic_error`: the theory of
:mod:`skft.theory` for the estimator's own ``loss`` (and ``epsilon``), from given moments or
with the unknowns estimated from data. Multiclass classifiers get the argmax error of the
one-vs-rest model, the per-class one-vs-rest rates beside it.

Estimates from data (the data route): those of :mod:`skft.advice._loss_inputs`, shared with
:func:`skft.should_finetune` (class moments under the *spread* assumption; for regression the
unknowns of the squared-loss data route, :func:`skft.advice.estimate_asymptotic_error`, from
the design without an intercept coordinate, and a noise law that is Gaussian unless the caller
names one, ``noise=``, with a warning when the start's residuals are clearly not Gaussian).
"""

from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ..advice import estimate_asymptotic_error
from ..advice._loss_inputs import (
    NORMALITY_LEVEL,
    class_moments,
    regression_loss_inputs,
    residual_normality,
    robust_risk,
)
from ..advice._loss_problem import pull_unit
from ..advice._scaling import pow2_exponent
from ..theory import convex_classification_error, multiclass_error, robust_regression_risk
from ..theory._convex_classification import _convex_classification_error
from ..theory._multiclass import _multiclass_error

__all__ = []

def uses_loss_theory(est, mean=None, priors=None):
    """True when the prediction needs the theory of other losses / of the argmax."""
    if est._asymptotic_task == "regression":
        return est.loss != "squared_error"
    multiclass = len(est.classes_) > 2
    return (est.loss != "squared_error" or multiclass or priors is not None
            or (mean is not None and np.ndim(mean) == 2))


def _anchor(est):
    """The start fine-tuning began from (calibrated when ``calibrate_start`` is set)."""
    start = est._start_for_advice()
    coef = np.atleast_2d(np.asarray(start.coef_, dtype=np.float64))
    return coef, np.atleast_1d(np.asarray(start.intercept_, dtype=np.float64))


# ----------------------------------------------------------------------------- moments route
def moments_route(est, covariance, n, alpha, *, noise_var, delta, mean, priors, noise,
                  intercept_offset=0.0):
    """``(pretrained, finetuned, details, per_class)`` from given moments."""
    coef0, b0 = _anchor(est)
    if est._asymptotic_task == "regression":
        res = robust_regression_risk(
            covariance, delta, noise_var, n, alpha, loss=est.loss, epsilon=float(est.epsilon),
            noise="gaussian" if noise is None else noise, fit_intercept=est.fit_intercept,
            intercept_offset=intercept_offset)
        return res.pretrained, res.finetuned, res, None
    if noise is not None:
        raise ValueError("noise is for regressors (the law of the label noise).")
    K = len(est.classes_)
    if K == 2:
        res = convex_classification_error(
            covariance, mean, coef0[0], n, alpha, loss=est.loss, priors=priors,
            fit_intercept=est.fit_intercept, intercept_init=float(b0[0]))
        return res.pretrained, res.finetuned, res, None
    if mean is None or np.ndim(mean) != 2 or np.shape(mean)[0] != K:
        raise ValueError(
            f"a classifier with {K} classes needs mean of shape ({K}, n_features): the mean of "
            "each class, in the order of classes_ (the one-vs-rest theory needs every class's "
            f"mean), got shape {np.shape(mean)}.")
    res = multiclass_error(covariance, mean, coef0, n, alpha, loss=est.loss, priors=priors,
                           fit_intercept=est.fit_intercept, intercept_init=b0)
    per_class = (res.pretrained_per_class, np.moveaxis(res.finetuned_per_class, -1, 0))
    return res.pretrained, res.finetuned, res, per_class


# ----------------------------------------------------------------------------- data route
def data_route(est, X, y, n, alpha, *, X_unlabeled, noise):
    """``(pretrained, finetuned, details, per_class)`` with the unknowns estimated."""
    X = np.asarray(X, dtype=np.float64)
    nn, aa = np.broadcast_arrays(np.asarray(n, dtype=np.float64), alpha)
    coef0, b0 = _anchor(est)
    if est._asymptotic_task == "regression":
        return _regression_data(est, X, np.asarray(y, dtype=np.float64), nn, aa, coef0[0],
                                float(b0[0]), X_unlabeled, noise)
    if noise is not None:
        raise ValueError("noise is for regressors (the law of the label noise).")
    classes = est.classes_
    K = len(classes)
    codes = np.searchsorted(classes, np.asarray(y))
    # estimated on X / 2^k (entries of order 1: Gram matrices of any X stay in float64),
    # coefficients * 2^k, pulls / 4^k: the same margins and error rates; the theory keeps
    # the caller's setting (the intercept's feature 1 does not scale) through unit_exponent
    k = pow2_exponent(X)
    if k:
        X, coef0, aa = np.ldexp(X, -k), np.ldexp(coef0, k), np.ldexp(aa, -2 * k)
        if X_unlabeled is not None:
            X_unlabeled = X_unlabeled * float(np.ldexp(1.0, -k))
    if K == 2:
        priors, spectrum, prods, clipped = class_moments(X, codes, 2, coef0, X_unlabeled)
        res = _convex_classification_error(spectrum.eigenvalues, prods, priors, nn, aa,
                                           loss=est.loss, fit_intercept=est.fit_intercept,
                                           intercept_init=float(b0[0]), unit_exponent=2 * k)
        margin = X @ coef0[0] + b0[0]
        pretrained = float(np.mean(np.where(margin > 0, 1, 0) != codes))
        # (the theory answers in the caller's units: kappa, the intercept at alpha = 0)
        res, spectrum = _squeeze(res), _spectrum_back(spectrum, 2 * k)
        return pretrained, res.finetuned, EstimatedTheory(res, priors, spectrum, clipped), None
    priors, spectrum, prods, clipped = class_moments(X, codes, K, coef0, X_unlabeled)
    res = _multiclass_error(spectrum.eigenvalues, prods, priors, nn, aa, loss=est.loss,
                            fit_intercept=est.fit_intercept, intercept_init=b0,
                            unit_exponent=2 * k)
    spectrum = _spectrum_back(spectrum, 2 * k)
    scores = X @ coef0.T + b0
    pretrained = float(np.mean(np.argmax(scores, axis=1) != codes))
    T = np.where(codes[:, None] == np.arange(K)[None, :], 1, 0)
    pre_ovr = np.mean((scores > 0).astype(int) != T, axis=0)
    fine = res.finetuned if np.ndim(res.finetuned) else float(res.finetuned)
    per_class = (pre_ovr, np.moveaxis(res.finetuned_per_class, -1, 0))
    return pretrained, fine, EstimatedTheory(res, priors, spectrum, clipped), per_class


def _regression_data(est, X, y, nn, aa, w0, b0, X_unlabeled, noise):
    r = y - X @ w0 - b0
    a_fit = float(getattr(est, "_fit_alpha", est.alpha))
    # the unknowns of the design without an intercept coordinate (centred features when the
    # intercept is fitted): this theory models the intercept itself, so the advice's design
    # for alpha > 0 is asked for whatever alpha was fitted (it only selects the design)
    # (the pull in the squared loss's units: epsilon_insensitive's alpha is in x^2 / y)
    a_sq = a_fit * pull_unit(est.loss, r)
    unk = estimate_asymptotic_error(w0, b0, X, y, alpha=a_sq if 0 < a_sq < np.inf else 1.0,
                                    task="regression", X_unlabeled=X_unlabeled,
                                    fit_intercept=est.fit_intercept).unknowns
    lam, dsq, law, offset = regression_loss_inputs(unk, r, noise, est.fit_intercept)
    if noise is None:
        pvalue = residual_normality(r)
        if pvalue is not None and pvalue < NORMALITY_LEVEL:
            warnings.warn(
                f"the start's residuals are not Gaussian (normality test p = {pvalue:.2g}), so "
                f"neither is the label noise: the prediction for loss={est.loss!r} assumes a "
                "Gaussian noise law and depends on the law, not only on its variance. Pass "
                "noise= (a law name, a NoiseLaw or (values, weights)).", UserWarning,
                stacklevel=4)
    res = robust_risk(lam, dsq, law, nn, aa, loss=est.loss, epsilon=float(est.epsilon),
                      fit_intercept=est.fit_intercept, offset=offset)
    res = _squeeze(res)
    return unk.pretrained_error, res.finetuned, EstimatedTheory(res, None, unk.spectrum, False,
                                                           unk), None


def _squeeze(res):
    fields = dict(vars(res))
    for name in ("finetuned", "excess", "intercept", "kappa", "score_var"):
        if name in fields and np.ndim(fields[name]) == 0:
            fields[name] = float(fields[name])
    return type(res)(**fields)


def _spectrum_back(spectrum, e):
    """The estimated spectrum of ``X / 2^(e/2)`` in the units of ``X`` (x^2; a diagnostic
    whose units leave float64, ``trace_sq`` in x^4 at features ~1e80, is inf)."""
    if not e:
        return spectrum
    with np.errstate(over="ignore", under="ignore"):
        return replace(spectrum, eigenvalues=np.ldexp(spectrum.eigenvalues, e),
                       trace=float(np.ldexp(spectrum.trace, e)),
                       trace_sq=float(np.ldexp(spectrum.trace_sq, 2 * e)))


class EstimatedTheory:
    """The theory's result with the estimated unknowns it was evaluated at."""

    def __init__(self, theory, priors, spectrum, gram_clipped, unknowns=None):
        self.theory = theory
        self.priors = priors
        self.spectrum = spectrum
        self.unknowns = unknowns
        self.assumptions = (
            "class means and starts spread over the eigen-directions of Sigma like random "
            "directions" if unknowns is None else
            "delta = w0 - w_star spread over the eigen-directions of Sigma like a random "
            "direction; the noise law as given (Gaussian unless noise= names one)",
        )
        self.fallbacks = (("the debiased Gram matrix of the means and starts was not positive "
                           "semi-definite: its negative eigenvalues were set to 0",)
                          if gram_clipped else ())

    def __repr__(self):
        return (f"EstimatedTheory({type(self.theory).__name__}, "
                f"assumptions={self.assumptions!r})")
