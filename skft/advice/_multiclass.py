"""Multiclass advice: the argmax error of the one-vs-rest model, for every loss.

A one-vs-rest classifier predicts the class with the largest of its ``K`` scores; its error
is not the mean of the ``K`` one-vs-rest error rates (each binary problem can be right while
the argmax is wrong). The decision compares:

* the pretrained argmax error, counted on the target labels (Wilson interval), with
* the fine-tuned argmax error of :func:`skft.theory.multiclass_error` (the ``K`` binary
  problems' fixed points and the covariances of their scores), the class moments estimated
  as in :mod:`skft.advice._loss_inputs` (priors the class frequencies; means and starts
  spread over the eigen-directions like random directions).

The empirical check is the argmax error of the ``K`` leave-one-out scores of each sample:
closed-form leave-one-out residuals of each column for the squared loss
(``score = y_pm - e``, :func:`~skft.advice.loo_residuals`), the approximate leave-one-out or
cross-validation of the exact fit for the other losses (:mod:`skft.advice._alo`). The
one-vs-rest rates of each class (pretrained: counted; fine-tuned: the theory) are reported
beside it. Standard error of the prediction: that of an error rate counted on ``n`` samples.
"""


import numpy as np

from ..theory._multiclass import _multiclass_error
from ._alo import loss_loo_scores
from ._checks import check_rows
from ._classification import classification_rows, tails_check
from ._loo import loo_residuals
from ._loss_curves import TheoryCurve, curves
from ._loss_inputs import LossUnknowns, class_moments
from ._loss_problem import NoPrediction, _no_check_note, counted_agreement, disagreement_note
from ._margins import wilson_interval
from ._regression import _z

__all__ = ["class_codes", "multiclass_problem"]

ASSUMPTIONS = (
    "K-class mixture x = mu_c + z, z with mean 0 and a covariance common to the classes (only "
    "its first two moments matter in the proportional limit); priors the class frequencies",
    "the class means and the starts spread over the eigen-directions of Sigma like random "
    "directions (checked: theory_vs_empirical)",
    "multiclass: decided on the argmax error of the one-vs-rest model (the K scores jointly "
    "Gaussian within a class, their means and covariances from the theory); the one-vs-rest "
    "rates per class are reported beside it",
)


def class_codes(y, classes):
    """Index of each label of ``y`` in ``classes``."""
    lookup = {c.item() if isinstance(c, np.generic) else c: i for i, c in enumerate(classes)}
    return np.array([lookup[v.item() if isinstance(v, np.generic) else v] for v in y])


def _loo_scores(X, Y_pm, W, b, loss, epsilon, alpha, fit_intercept, intercept_scaling=1.0):
    """``(scores, method)`` of the leave-one-out check, or ``(None, None)`` without one."""
    if loss == "squared_error":
        cols = []
        for j in range(W.shape[0]):
            try:
                e = loo_residuals(X, Y_pm[:, j] - X @ W[j] - b[j], alpha,
                                  fit_intercept=fit_intercept,
                                  intercept_scaling=intercept_scaling).residuals
            except ValueError:  # alpha = 0 on rank-deficient X: undefined
                return None, None
            cols.append(Y_pm[:, j] - e)
        return np.column_stack(cols), "leave-one-out"
    if alpha > 0:
        sc = loss_loo_scores(X, Y_pm, W, b, alpha, loss, epsilon, fit_intercept)
        return sc.scores, sc.method
    return None, None


def multiclass_problem(X, y, classes, coef, intercept, *, anchor, loss, epsilon, alpha,
                       fit_intercept, X_unlabeled, confidence, curve_n, intercept_scaling=1.0):
    """All the numbers of the advice for a multiclass fine-tuning (a dict).

    ``(coef, intercept)``: the start as given, ``(K, d)`` and ``(K,)``; ``anchor``: the start
    fine-tuning begins at.
    """
    z = _z(confidence)
    K = len(classes)
    codes = class_codes(y, classes)
    if np.any(np.bincount(codes, minlength=K) == 0):
        missing = [classes[k] for k in np.flatnonzero(np.bincount(codes, minlength=K) == 0)]
        raise ValueError(f"y has no sample of class {missing[0]!r}: the multiclass advice "
                         "needs every class.")
    scores = X @ coef.T + intercept
    wrong = int(np.count_nonzero(np.argmax(scores, axis=1) != codes))
    pre, se_pre, pre_lo, pre_hi = wilson_interval(wrong, codes.size, z)
    Y_all = np.where(codes[:, None] == np.arange(K)[None, :], 1.0, -1.0)
    pre_ovr = np.mean(np.where(scores > 0, 1.0, -1.0) != Y_all, axis=0)
    Xu, cu, rows = classification_rows(X, codes.astype(float), stacklevel=6)
    cu = cu.astype(int)
    W, b = np.atleast_2d(anchor[0]), np.atleast_1d(anchor[1]).astype(float)
    n_u, d = Xu.shape
    try:
        priors, spectrum, prods, clipped = class_moments(Xu, cu, K, W, X_unlabeled)
    except ValueError as exc:
        raise NoPrediction(str(exc)) from None
    ev = spectrum.eigenvalues

    def theory_full(nn, aa):
        return _multiclass_error(ev, prods, priors, nn, aa, loss=loss,
                                 fit_intercept=fit_intercept, intercept_init=b)

    curve = TheoryCurve(lambda nn, aa: theory_full(nn, aa).finetuned)
    try:
        res = theory_full(np.array([float(n_u)]), np.array([float(alpha)]))
    except ValueError as exc:
        raise NoPrediction(str(exc).splitlines()[0]) from None
    except RuntimeError as exc:  # the solver of the theory's equations failed here
        raise NoPrediction(f"the theory's equations could not be solved at n_samples={n_u}, "
                           f"alpha={alpha:g}: {str(exc).splitlines()[0]}") from None
    ft = float(res.finetuned[0])
    ft_ovr = np.asarray(res.finetuned_per_class[0], dtype=float)
    se_ft = float(np.sqrt(ft * (1.0 - ft) / n_u))
    interval = (max(ft - z * se_ft, 0.0), min(ft + z * se_ft, 1.0))
    Y_pm = np.where(cu[:, None] == np.arange(K)[None, :], 1.0, -1.0)
    checks = [check_rows(rows, exact_model=rows.uniform and not rows.label_conflict),
              tails_check(Xu, Y_pm[:, 0] - Xu @ W[0] - b[0], alpha, fit_intercept)]
    loo_scores, method = _loo_scores(Xu, Y_pm, W, b, loss, epsilon, alpha, fit_intercept,
                                     intercept_scaling)
    fallbacks = []
    loo = missing = None
    if loo_scores is not None:
        wrong = int(np.count_nonzero(np.argmax(loo_scores, axis=1) != cu))
        loo = wrong / n_u
        check, empirical = counted_agreement(ft, se_ft, wrong, n_u,
                                             f"the argmax error of the {method} scores", z)
        checks.append(check)
        if not check.passed:
            ft, se_ft, interval = empirical
            fallbacks.append(disagreement_note(f"argmax {method}"))
    else:
        missing = (f"leave-one-out undefined at alpha={alpha:g} (a sample alone determines a "
                   "direction of the fit): the prediction rests on the theory alone"
                   if loss == "squared_error" else _no_check_note(loss, alpha))
        fallbacks.append(missing)
    if clipped:
        fallbacks.append("the debiased Gram matrix of the class means and the starts was not "
                         "positive semi-definite: its negative eigenvalues were set to 0")
    tau = float(spectrum.trace / d) if spectrum.trace > 0 else 1.0
    shapes = curves(curve, alpha, n_u, d, pre, pre, tau, curve_n, multiclass=True,
                    n_classes=K)
    unknowns = LossUnknowns(
        loss=loss, spectrum=spectrum, n_samples=n_u, priors=priors, gram=prods[0] * d,
        assumptions=ASSUMPTIONS, fallbacks=tuple(fallbacks))
    return dict(
        pretrained=(pre, se_pre),
        pretrained_interval=(pre_lo, pre_hi),
        decision=dict(value=pre, stderr=se_pre, basis="counted",
                      reason="counted argmax error rate of the start", normality_pvalue=None),
        finetuned=(ft, se_ft),
        finetuned_interval=interval,
        gap_se=float(np.hypot(se_ft, se_pre)),
        checks=tuple(checks),
        n_effective=n_u,
        unknowns=unknowns,
        loo=loo,
        check_method=method,
        loo_missing=missing,
        gcv=None,
        z=z,
        pretrained_per_class=pre_ovr,
        finetuned_per_class=ft_ovr,
        **shapes,
    )
