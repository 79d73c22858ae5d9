"""``predict_asymptotic_error``: the theory's test error for a fitted warm-start estimator."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

from ..advice import estimate_asymptotic_error
from ..theory import classification_error, regression_risk
from ..utils._feature_names import align_columns
from ..utils._sklearn_compat import check_is_fitted
from ..utils._validation import refuse_complex
from . import _asymptotic_losses
from ._asymptotic_intercept import _ALPHA_INF, _regression_with_intercept

__all__ = ["AsymptoticError"]



def _short(value):
    """A number to 4 significant digits, an array as a short list (long ones summarised)."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return f"{float(arr):.4g}"
    text = np.array2string(arr, separator=", ", threshold=8, edgeitems=3,
                           formatter={"float_kind": lambda v: f"{v:.4g}"})
    return " ".join(line.strip() for line in text.splitlines())  # one line, also per class


@dataclass(frozen=True, repr=False)
class AsymptoticError:
    """Predicted test error of the pretrained and of the fine-tuned model.

    Attributes
    ----------
    pretrained : float
        Test error of the start (MSE with noise for a regressor, misclassification rate for a
        classifier: for a multiclass classifier the error of its argmax). From moments: the
        theory; from data: measured on the target labels.
    finetuned : float or ndarray of shape ``broadcast(n_samples, alpha)``
        Predicted test error of the fine-tuned model (multiclass: of its argmax).
    n_samples, alpha : ndarray
        The broadcast sample sizes and pulls the prediction is for.
    source : {"moments", "data"}
        Whether the unknowns were given (``"moments"``) or estimated from data (``"data"``).
    details : object
        The full result: :class:`skft.theory.RegressionRisk`,
        :class:`skft.theory.ClassificationError`, :class:`skft.theory.RobustRegressionRisk`,
        :class:`skft.theory.ConvexClassificationError`, :class:`skft.theory.MulticlassError`,
        :class:`skft.advice.EstimatedAsymptoticError` or, from data for the other losses and
        multiclass, the theory's result with the estimated unknowns.
    pretrained_per_class, finetuned_per_class : ndarray or None
        Multiclass only: the one-vs-rest error rate of each class's binary problem (class
        ``j`` against the rest), shapes ``(n_classes,)`` and ``(n_classes,) + shape``; they
        are not the model's error (``pretrained`` / ``finetuned`` are).

    Examples
    --------
    >>> import numpy as np
    >>> from skft import WarmStartSGDRegressor
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.standard_normal((30, 60)), rng.standard_normal(30)
    >>> est = WarmStartSGDRegressor(np.zeros(60), fit_intercept=False).fit(X, y)
    >>> err = est.predict_asymptotic_error(covariance=np.ones(60), noise_var=1.0,
    ...                                    delta=np.zeros(60))
    >>> err.source, err.pretrained
    ('moments', 1.0)
    >>> err          # s2 + s2 n / (d - n) = 2; the repr rounds, the attributes hold full values
    AsymptoticError(pretrained=1, finetuned=2, n_samples=30, alpha=0, source='moments', \
details=<RegressionRisk>)
    >>> est.predict_asymptotic_error(covariance=np.ones(60), noise_var=1.0, delta=np.zeros(60),
    ...                              n_samples=[10, 20, 40], alpha=[0.0, 0.0, 0.0])
    AsymptoticError(pretrained=1, finetuned=[1.2, 1.5, 3], n_samples=[10, 20, 40], \
alpha=[0, 0, 0], source='moments', details=<RegressionRisk>)
    """

    pretrained: object
    finetuned: object
    n_samples: np.ndarray
    alpha: np.ndarray
    source: str
    details: object
    pretrained_per_class: object = None
    finetuned_per_class: object = None

    def __repr__(self):
        # the dataclass repr nests the full details (per-class unknowns, spectra): a wall of
        # text for a multiclass result; the details stay one attribute away
        fields = ("pretrained", "finetuned", "n_samples", "alpha")
        parts = [f"{name}={_short(getattr(self, name))}" for name in fields]
        parts += [f"source={self.source!r}", f"details=<{type(self.details).__name__}>"]
        return f"{type(self).__name__}({', '.join(parts)})"


class _AsymptoticErrorMixin:
    """Adds ``predict_asymptotic_error`` and keeps a reference to the last fitted data."""

    def _remember_fit_data(self, X, y, *, partial=False):
        # A reference (not a copy) to the validated training data of ``fit``, so that
        # ``predict_asymptotic_error()`` works without arguments; dropped when pickling. After
        # ``partial_fit`` one minibatch is not the data fine-tuned on: nothing is kept.
        self._fit_data = None if partial else (X, y)
        self._fit_alpha = float(self.alpha)
        # whether that fit used non-uniform sample weights (set by _fit_path)
        self._fit_data_weighted = bool(getattr(self, "_fit_weighted", False))

    def __getstate__(self):
        state = super().__getstate__()
        state = dict(state)
        state.pop("_fit_data", None)
        return state

    def predict_asymptotic_error(
        self,
        X=None,
        y=None,
        *,
        n_samples=None,
        alpha=None,
        covariance=None,
        noise_var=None,
        delta=None,
        coef_star=None,
        mean=None,
        X_unlabeled=None,
        feature_mean=None,
        intercept_offset=None,
        priors=None,
        noise=None,
    ):
        """Test error the theory predicts for the start and for this fine-tuning.

        Two routes, chosen by the arguments:

        - **From moments** (``covariance`` given): the exact asymptotic formulas of
          :mod:`skft.theory` for this estimator's ``coef_init_`` and ``alpha``. A regressor
          needs ``noise_var`` and ``delta = coef_init_ - w_star`` (or ``coef_star = w_star``):
          :func:`skft.theory.regression_risk`. A binary classifier needs ``mean``, the mean of
          the features of class ``classes_[1]`` in the symmetric mixture ``x = y mean + z``:
          :func:`skft.theory.classification_error`. A regressor's intercept is modelled as
          the estimator treats it (``skft/_core/_exact.py``): with ``fit_intercept=True`` and
          ``alpha > 0`` it is free, so the theory runs at ``n - 1`` (one sample spent on it)
          on the centred covariance and the intercept's offset is removed; at ``alpha = 0``
          it is one more coordinate with constant feature 1 and no pull, so the theory runs
          at ``n`` on the second moments of ``(x, 1)`` with the shift
          ``(delta, intercept_offset)`` (with ``n < d`` about ``1 - n/d`` of the offset
          stays). Uncentred features enter through ``feature_mean``.
        - **From data** (otherwise): the unknowns are estimated from ``(X, y)`` (default: the
          data of the last ``fit``, to which the estimator keeps a reference, not a copy, that
          is not pickled and not kept by ``partial_fit``) exactly as in
          :func:`skft.should_finetune`: the pretrained error is measured on the target labels,
          the fine-tuned error predicted by the theory
          (:func:`skft.advice.estimate_asymptotic_error`).

        The theory is that of this estimator's ``loss`` (and ``epsilon``), without sample
        weights, in the proportional limit ``n, d -> inf``, for the minimiser of the objective
        (the limit of SGD, what ``solver="exact"`` computes). For ``loss="squared_error"``
        (binary or regression) it is the closed form above. For the other losses, and for
        multiclass classifiers, it is the fixed point of
        :func:`skft.theory.convex_classification_error`,
        :func:`skft.theory.robust_regression_risk` and :func:`skft.theory.multiclass_error` (the
        intercept one free parameter at ``alpha > 0``, one more coordinate at ``alpha = 0``; the
        two classes' means may differ and the classes may be unbalanced: ``mean`` with one row
        per class, ``priors``); from data, with the class moments estimated under the spread
        assumption (user guide, *Other losses*). A multiclass classifier gets the error of its
        argmax, with the one-vs-rest rates of its classes beside it. At ``alpha = 0`` a limit
        that depends on the path of SGD (hinge or modified huber on separable data,
        epsilon-insensitive below its zero-loss threshold) raises a ``ValueError`` saying why;
        the logistic loss on separable data has the error of the max-margin direction. After a
        fit with non-uniform ``sample_weight``
        the data route refuses to use the data fitted on (the theory has no weights): pass
        ``X`` and ``y`` to predict the unweighted fine-tuning on them.

        **The start** is the one fine-tuning began from: ``coef_init_`` and
        ``intercept_init_``, calibrated when ``calibrate_start`` is set (``start_scale_``,
        ``start_offset_``; a regressor's measured MSE of it, ``RSS / n`` on the data it was
        calibrated on, is reported as ``RSS / (n - p) (1 + p / n)``, the least-squares test
        error with ``p`` = 1 or 2 calibrated parameters; a classifier's counted error rate is
        optimistic by about ``p / n``). ``alpha = np.inf`` keeps it, so ``.finetuned`` is
        ``.pretrained`` there. A multinomial start (softmax logits) kept with ``alpha=np.inf``
        is refused: its rows are not one-vs-rest scores, whose errors this reports.
        Feature names: ``X`` and ``X_unlabeled`` given as DataFrames are matched to the
        features fitted on by name (reordered; a ValueError if the names differ).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features), default=None
            Labelled target data to estimate the unknowns from (data route only).
        y : array-like of shape (n_samples,), default=None
        n_samples : float or array-like, default=None
            Sample sizes to predict at; default the number of samples fitted on (or in ``X``).
            An array gives a curve.
        alpha : float or array-like, default=None
            Pull toward the start; default the ``alpha`` of the last fit. Broadcast with
            ``n_samples``.
        covariance : array-like of shape (n_features, n_features) or (n_features,), \
or Spectrum, default=None
            Target feature covariance (moments route).
        noise_var : float, default=None
            Noise variance of the target (regressor, moments route).
        delta : array-like of shape (n_features,), default=None
            ``coef_init_ - w_star`` (regressor, moments route).
        coef_star : array-like of shape (n_features,), default=None
            The true target coefficients ``w_star``, instead of ``delta``.
        mean : array-like of shape (n_features,) or (n_classes, n_features), default=None
            Classifier, moments route: the mean of class ``classes_[1]`` with the classes at
            ``+-mean`` (binary), or the mean of every class, one row per class in the order of
            ``classes_`` (needed for multiclass).
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Unlabelled target features improving the covariance estimate (data route).
        feature_mean : float or array-like of shape (n_features,), default=None
            Mean ``m`` of the target features (regressor, moments route; default 0):
            ``covariance`` is then their covariance around it. The pretrained error is
            ``delta' Sigma delta + (m' delta + intercept_offset)^2 + noise_var``.
        intercept_offset : float, default=None
            ``intercept_init_ - b_star``, the start's intercept minus the target's
            (regressor, moments route; default 0). Without an intercept and with centred
            features it adds to the noise (nothing can remove it); without an intercept and
            with uncentred features the theory does not cover it (an error is raised).
        priors : array-like of shape (n_classes,), default=None
            Class probabilities in the order of ``classes_`` (classifier, moments route;
            default equal). From data they are the class frequencies.
        noise : str, NoiseLaw or (values, weights), default=None
            Law of the label noise (regressor with ``loss="huber"`` or
            ``"epsilon_insensitive"``, whose risk depends on the whole law): see
            :func:`skft.theory.noise_law`; a named law is scaled to ``noise_var`` (moments) or
            to the estimated noise variance (data). Default Gaussian.

        Returns
        -------
        AsymptoticError
            With ``.pretrained``, ``.finetuned``, ``.n_samples``, ``.alpha``, ``.source``.

        Examples
        --------
        >>> import numpy as np
        >>> from skft import WarmStartSGDRegressor
        >>> from skft.datasets import make_transfer_regression
        >>> X, y, truth = make_transfer_regression(200, 400, noise=0.5, shift=1.0,
        ...                                        random_state=0)
        >>> est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
        >>> given = est.predict_asymptotic_error(covariance=truth.covariance,
        ...                                      noise_var=truth.noise_var, delta=truth.delta)
        >>> # isotropic closed form: s2 + (1 - n/d) ||delta||^2 + s2 n / (d - n) = 1.0
        >>> round(given.pretrained, 3), round(given.finetuned, 3)
        (1.25, 1.0)
        >>> estimated = est.predict_asymptotic_error()        # from the fitted data
        >>> estimated.source, estimated.finetuned < estimated.pretrained
        ('data', True)
        >>> est.predict_asymptotic_error(n_samples=[100, 200, 800]).finetuned.shape
        (3,)
        """
        check_is_fitted(self)
        for value, name in ((X, "X"), (y, "y"), (X_unlabeled, "X_unlabeled"),
                            (covariance, "covariance"), (noise_var, "noise_var"),
                            (delta, "delta"), (coef_star, "coef_star"), (mean, "mean"),
                            (n_samples, "n_samples"), (alpha, "alpha"), (priors, "priors")):
            refuse_complex(value, name)
        joint = getattr(self, "_start_joint", None)
        if joint is not None and self.calibrate_start is None:
            raise ValueError(
                f"predict_asymptotic_error: coef_init was a joint multiclass start ({joint}), "
                "kept as it is; the theory reports one-vs-rest errors per class, which do not "
                "describe it. Refit with calibrate_start='affine' (one-vs-rest scores).")
        if alpha is None:
            alpha = getattr(self, "_fit_alpha", self.alpha)
        try:
            alpha = np.asarray(alpha, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"alpha must be numbers >= 0 (inf keeps the start), got "
                             f"{alpha!r}.") from exc
        if np.any(np.isnan(alpha)) or np.any(alpha < 0):
            raise ValueError(f"alpha must be >= 0 (inf keeps the start), got {alpha!r}.")
        # alpha = inf keeps the start: its error is the start's (set exactly below); the theory
        # is evaluated at a finite stand-in only to keep the arrays' shapes.
        alpha = np.where(np.isinf(alpha), _ALPHA_INF, alpha)
        moments = dict(noise_var=noise_var, delta=delta, coef_star=coef_star, mean=mean,
                       feature_mean=feature_mean, intercept_offset=intercept_offset)
        if noise is not None and self._asymptotic_task != "regression":
            raise ValueError("noise is for regressors (the law of the label noise).")
        if priors is not None and self._asymptotic_task == "regression":
            raise ValueError("priors is for classifiers (the class probabilities).")
        if _asymptotic_losses.uses_loss_theory(self, mean, priors):
            return self._from_loss_theory(X, y, covariance, n_samples, alpha, moments, priors,
                                          noise, X_unlabeled)
        if covariance is not None:
            return self._from_moments(covariance, n_samples, alpha, **moments)
        given = [name for name, value in moments.items() if value is not None]
        if given:
            raise ValueError(
                f"{', '.join(given)} given without covariance: pass covariance to predict from "
                "moments, or none of them to estimate the unknowns from data."
            )
        X, y, X_unlabeled = self._data_for_estimates(X, y, X_unlabeled)
        if n_samples is None:
            n_samples = np.shape(X)[0]
        keep = alpha >= _ALPHA_INF  # alpha = inf: the fine-tuned model is the start
        est = estimate_asymptotic_error(
            self._start_for_advice(),
            None,
            X,
            y,
            alpha=np.where(keep, 0.0, alpha),
            n_samples=n_samples,
            task=self._asymptotic_task,
            X_unlabeled=X_unlabeled,
            fit_intercept=self.fit_intercept,
        )
        pretrained = est.pretrained
        n_cal = {None: 0, "intercept": 1, "affine": 2}[self.calibrate_start]
        if n_cal and self._asymptotic_task == "regression" and self.loss == "squared_error":
            # the calibrated start was fitted (least squares, n_cal parameters) on X: its
            # measured MSE RSS / n becomes the expected test MSE RSS / (n - p) (1 + p / n)
            n_fit = np.shape(X)[0]
            pretrained = float(pretrained) * n_fit / (n_fit - n_cal) * (1.0 + n_cal / n_fit)
        finetuned = _keep_where(keep, pretrained, est.finetuned, est.alpha)
        alphas = np.where(np.broadcast_to(keep, np.shape(est.alpha)), np.inf, est.alpha)
        return AsymptoticError(pretrained, finetuned, est.n_samples, alphas, "data", est)

    def _data_for_estimates(self, X, y, X_unlabeled):
        """The labelled data (default: that of the last fit) and ``X_unlabeled``, validated."""
        if (X is None) != (y is None):
            raise ValueError("pass both X and y, or neither (to use the data fitted on).")
        if X is None and getattr(self, "_fit_data_weighted", False):
            raise ValueError(
                "the last fit used non-uniform sample_weight, and the theory describes the "
                "unweighted fine-tuning: the error of this fit is not predicted. Pass X and y "
                "to predict the unweighted fine-tuning on them, or the moments (covariance, "
                "...), or refit without sample_weight.")
        names = getattr(self, "feature_names_in_", None)
        fitted_on = f"the data {type(self).__name__} was fitted on"
        if X_unlabeled is not None:  # matched here by name, then plain numbers
            X_unlabeled = _numbers(align_columns(X_unlabeled, names, "X_unlabeled", fitted_on),
                                   "X_unlabeled")
        if X is not None:
            X = _numbers(align_columns(X, names, "X", fitted_on), "X")
            if X.ndim == 2 and X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                    f"{self.n_features_in_} features as input.")
        if X is None:
            if getattr(self, "_fit_data", None) is None:
                raise ValueError(
                    "no data to estimate the unknowns from: the estimator keeps the data of "
                    "fit, but not of partial_fit nor after pickling; pass X and y, or the "
                    "moments (covariance, ...)."
                )
            X, y = self._fit_data
        if sp.issparse(X):
            X = X.toarray()
        return X, y, X_unlabeled

    def _from_loss_theory(self, X, y, covariance, n_samples, alpha, moments, priors, noise,
                          X_unlabeled):
        """The theory of this estimator's loss (and of the argmax), both routes."""
        feature_mean = moments.pop("feature_mean")
        intercept_offset = moments.pop("intercept_offset")
        if self._asymptotic_task != "regression" and (
            feature_mean is not None or intercept_offset is not None
        ):
            raise ValueError("feature_mean and intercept_offset are for regressors.")
        if covariance is not None:
            if n_samples is None:
                n_samples = self._n_samples_fitted()
            nn, aa = np.broadcast_arrays(np.asarray(n_samples, float), np.asarray(alpha, float))
            if self._asymptotic_task == "regression":
                delta = self._regression_delta(**moments)
                offset = self._loss_offset(delta, feature_mean, intercept_offset, aa)
                kind = dict(noise_var=moments["noise_var"], delta=delta, mean=None, priors=None,
                            intercept_offset=offset)
            else:
                if any(moments[k] is not None for k in ("noise_var", "delta", "coef_star")):
                    raise ValueError("a classifier needs covariance and mean (and priors) only.")
                if moments["mean"] is None:
                    raise ValueError("mean is required with covariance for a classifier.")
                kind = dict(noise_var=None, delta=None, mean=moments["mean"], priors=priors)
            pre, fine, res, per_class = _asymptotic_losses.moments_route(
                self, covariance, nn, aa, noise=noise, **kind)
            source = "moments"
        else:
            given = [k for k, v in {**moments, "feature_mean": feature_mean,
                                    "intercept_offset": intercept_offset,
                                    "priors": priors}.items() if v is not None]
            if given:
                raise ValueError(
                    f"{', '.join(given)} given without covariance: pass covariance to predict "
                    "from moments, or none of them to estimate the unknowns from data.")
            X, y, X_unlabeled = self._data_for_estimates(X, y, X_unlabeled)
            if n_samples is None:
                n_samples = np.shape(X)[0]
            nn, aa = np.broadcast_arrays(np.asarray(n_samples, float), np.asarray(alpha, float))
            pre, fine, res, per_class = _asymptotic_losses.data_route(
                self, X, y, nn, aa, X_unlabeled=X_unlabeled, noise=noise)
            source = "data"
        keep = aa >= _ALPHA_INF  # alpha = inf keeps the start: its error, exactly
        fine = _keep_where(keep, pre, fine, aa)
        pre_c = fine_c = None
        if per_class is not None:
            pre_c = per_class[0]
            fine_c = np.asarray(per_class[1], dtype=np.float64)
            fine_c = np.where(np.broadcast_to(keep, fine_c.shape[1:]),
                              np.reshape(pre_c, pre_c.shape + (1,) * (fine_c.ndim - 1)), fine_c)
        return AsymptoticError(pre, fine, nn, np.where(keep, np.inf, aa), source, res, pre_c,
                               fine_c)

    def _loss_offset(self, delta, feature_mean, intercept_offset, alpha):
        """The start's intercept error ``b0 - b_star`` as the loss theory sees it.

        With a free intercept (``alpha > 0``) a features' mean ``m`` is absorbed exactly (the
        intercept becomes ``b + m'w``) and only the start's error ``m'delta + offset`` moves
        (into the pretrained error). At ``alpha = 0`` (the intercept one more coordinate) or
        without an intercept an uncentred design is not covered.
        """
        c = 0.0 if intercept_offset is None else float(intercept_offset)
        if feature_mean is None or not np.any(feature_mean):
            return c
        m = np.broadcast_to(np.asarray(feature_mean, dtype=np.float64), np.shape(delta))
        if not self.fit_intercept or np.any(np.asarray(alpha) == 0):
            raise ValueError(
                f"feature_mean with loss={self.loss!r} is covered with fit_intercept=True and "
                "alpha > 0 only (a free intercept absorbs the features' mean); centre the "
                "features, or pass feature_mean=None.")
        return float(m @ delta) + c

    def _n_samples_fitted(self):
        data = getattr(self, "_fit_data", None)
        if data is None:
            raise ValueError("pass n_samples: the number of samples fitted on is not known here.")
        return np.shape(data[0])[0]

    def _from_moments(
        self, covariance, n_samples, alpha, *, noise_var, delta, coef_star, mean,
        feature_mean=None, intercept_offset=None,
    ):
        if n_samples is None:
            n_samples = self._n_samples_fitted()
        nn, aa = np.broadcast_arrays(np.asarray(n_samples, float), np.asarray(alpha, float))
        if np.any(nn <= int(self.fit_intercept)):
            raise ValueError(f"n_samples must be > {int(self.fit_intercept)}, got {n_samples!r}.")
        # With fit_intercept one sample is spent on the intercept (centred data, n - 1).
        n_theory = nn - int(self.fit_intercept)
        coef0 = self._start_for_advice().coef_  # the anchor: calibrated when asked
        if self._asymptotic_task != "regression" and (
            feature_mean is not None or intercept_offset is not None
        ):
            raise ValueError("feature_mean and intercept_offset are for regressors.")
        if self._asymptotic_task == "regression":
            delta = self._regression_delta(noise_var=noise_var, delta=delta,
                                           coef_star=coef_star, mean=mean)
            if feature_mean is not None or intercept_offset is not None or self.fit_intercept:
                # the intercept as the estimator treats it (alpha = inf handled there)
                res = _regression_with_intercept(
                    covariance, delta, noise_var, nn, aa, self.fit_intercept,
                    feature_mean, intercept_offset,
                )
                aa = np.where(aa >= _ALPHA_INF, np.inf, aa)
                return AsymptoticError(res.pretrained, res.finetuned, nn, aa, "moments", res)
            res = regression_risk(covariance, delta, noise_var, n_theory, aa)
        else:
            if noise_var is not None or delta is not None or coef_star is not None:
                raise ValueError("a classifier needs covariance and mean only.")
            if mean is None:
                raise ValueError("mean is required with covariance for a classifier.")
            if coef0.shape[0] != 1:
                raise ValueError(
                    "predicting from moments covers binary classification (the symmetric "
                    f"two-class mixture); this classifier has {len(self.classes_)} classes. "
                    "Estimate from data instead (no covariance)."
                )
            res = classification_error(covariance, mean, coef0[0], n_theory, aa)
        finetuned = _keep_where(aa >= _ALPHA_INF, res.pretrained, res.finetuned, aa)
        aa = np.where(aa >= _ALPHA_INF, np.inf, aa)
        return AsymptoticError(res.pretrained, finetuned, nn, aa, "moments", res)

    def _regression_delta(self, *, noise_var, delta, coef_star, mean):
        """``delta`` of the anchor (the calibrated start) from ``delta`` or ``coef_star``."""
        coef_given = np.asarray(self.coef_init_, dtype=np.float64)
        coef0 = self._start_for_advice().coef_  # the anchor: calibrated when asked
        if mean is not None:
            raise ValueError("mean is for classifiers; a regressor needs noise_var and delta.")
        if noise_var is None:
            raise ValueError("noise_var is required with covariance for a regressor.")
        if (delta is None) == (coef_star is None):
            raise ValueError("pass exactly one of delta (= coef_init_ - w_star) and coef_star.")
        if delta is None:
            coef_star = np.asarray(coef_star, dtype=np.float64)
            if coef_star.shape != coef0.shape:
                raise ValueError(
                    f"coef_star must have shape {coef0.shape} like coef_init_, "
                    f"got {coef_star.shape}."
                )
            if not np.all(np.isfinite(coef_star)):
                raise ValueError("coef_star must be finite (no NaN or inf).")
            delta = coef0 - coef_star
        else:  # delta = coef_init_ - w_star; the anchor is the calibrated start
            delta = np.asarray(delta, dtype=np.float64) + (coef0 - coef_given)
        return delta

    def _start_for_advice(self):
        """The start fine-tuning began from: ``(a w0, a b0 + c)`` with the calibration."""
        scale = getattr(self, "start_scale_", np.ones(np.size(self.intercept_init_)))
        offset = getattr(self, "start_offset_", np.zeros(np.size(self.intercept_init_)))
        coef = np.asarray(self.coef_init_, dtype=np.float64)
        coef = coef * (scale[:, None] if coef.ndim == 2 else scale[0])
        intercept = np.asarray(self.intercept_init_, dtype=np.float64) * scale + offset
        start = SimpleNamespace(coef_=coef, intercept_=intercept)
        if hasattr(self, "classes_"):
            start.classes_ = self.classes_
        return start


def _keep_where(keep, pretrained, finetuned, like):
    """``finetuned`` with the start's error ``pretrained`` where ``keep`` (alpha = inf)."""
    finetuned = np.asarray(finetuned, dtype=np.float64)
    keep = np.broadcast_to(keep, np.shape(like))
    if np.any(keep):
        pre = np.asarray(pretrained, dtype=np.float64)
        pre = pre.reshape(pre.shape + (1,) * (finetuned.ndim - pre.ndim))
        finetuned = np.where(keep, pre, finetuned)
    return float(finetuned) if finetuned.ndim == 0 else finetuned


def _numbers(X, name):
    """``X`` as a float array or sparse matrix (DataFrames, pandas nullable dtypes: as
    scikit-learn converts them); finiteness is checked later, by the advice."""
    with np.errstate(invalid="ignore", over="ignore"):
        return check_array(X, accept_sparse=True, dtype=np.float64, ensure_all_finite=False,
                           ensure_2d=False, ensure_min_samples=0, input_name=name)
