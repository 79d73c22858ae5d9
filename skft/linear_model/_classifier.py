"""WarmStartSGDClassifier: SGD fine-tuning of a pretrained linear classifier (one-vs-rest)."""

from __future__ import annotations

import numpy as np
from scipy.special import expit
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from .._core._losses import CLASSIFICATION_LOSSES
from ..utils._sklearn_compat import StrOptions, _fit_context, check_is_fitted, validate_data
from ..utils._validation import refuse_complex
from ._base import _BaseWarmStartSGD, _start_classes

__all__ = ["WarmStartSGDClassifier"]


def _has_proba(est):
    if est.loss not in ("log_loss", "modified_huber"):
        raise AttributeError(f"probability estimates are not available for loss={est.loss!r}")
    return True


def _check_labels_in_start(labels, start_classes, what):
    """Raise unless every label is one of the start estimator's ``classes_``."""
    known = set(np.asarray(start_classes).tolist())
    extra = [lab for lab in np.asarray(labels).tolist() if lab not in known]
    if extra:
        raise ValueError(
            f"{what} {np.asarray(labels).tolist()} are not all among coef_init.classes_ "
            f"{np.asarray(start_classes).tolist()} (not there: {extra}): the rows of "
            "coef_init follow the classes it was fitted on, so the labels must be a subset of "
            "them. Relabel y, or pass coef_init=estimator.coef_ with rows in the order of the "
            "sorted labels of y.")


class WarmStartSGDClassifier(ClassifierMixin, _BaseWarmStartSGD):
    """Linear classifier fine-tuned by SGD from pretrained coefficients, one-vs-rest.

    Labels are mapped to ``-1/+1`` (binary: ``+1`` for ``classes_[1]``; multiclass: one column
    per class, ``+1`` for that class). Each column ``j`` minimises

    .. math::

        \\frac{1}{n} \\sum_i s_i\\, \\ell(y_{ij}, x_i^\\top w_j + b_j)
        + \\frac{\\alpha}{2} \\lVert w_j - w_{0j} \\rVert^2

    from ``(w_{0j}, b_{0j})``. The default ``squared_error`` (``(y - p)^2 / 2`` on the
    ``+-1`` labels) is the setting of the theory in :mod:`skft.theory`; its SGD limit has the
    closed form of :class:`WarmStartSGDRegressor` (same intercept rule), used by
    ``solver="exact"``, one factorisation for all classes, with the same numerics (accurate
    for any feature scaling and conditioning; see **Numerics** there), the same scale guards
    of the SGD solver and the same divergence checks in ``fit`` and ``partial_fit``.

    Parameters
    ----------
    coef_init : array-like of shape (n_features,) or (n_classes, n_features), estimator, or None
        The pretrained coefficients: ``(n_features,)`` or ``(1, n_features)`` for two classes,
        ``(n_classes, n_features)`` otherwise (rows in the order of ``classes_``); a fitted
        linear classifier (its ``coef_`` and ``intercept_``; rows must be one-vs-rest scores: a
        multinomial ``LogisticRegression``, whose rows are softmax logits, is refused unless
        ``calibrate_start="affine"`` converts it or ``alpha=np.inf`` keeps it as it is); or None
        (zeros). Never modified;
        the resolved copy is ``coef_init_`` (2-D, like ``coef_``). A fitted classifier with
        ``classes_`` fixes the classes: ``classes_`` is its ``classes_`` (in its order, which
        its rows follow), the labels of ``y`` (and ``partial_fit``'s ``classes``) must be a
        subset of them (a ValueError otherwise), and ``partial_fit`` needs no ``classes``.
    intercept_init : float, array-like of shape (1,) or (n_classes,), or None
    loss : {"squared_error", "log_loss", "hinge", "modified_huber"}, default="squared_error"
    **other parameters :
        As :class:`WarmStartSGDRegressor` (``alpha``, ``solver``, ``calibrate_start``,
        ``learning_rate``, ``eta0``, ``tol``, ...). ``solver="exact"`` serves every loss
        (``alpha > 0`` for the losses other than the squared one). ``alpha=np.inf`` keeps the
        start exactly: a fitted ``LogisticRegression`` kept so predicts as it does.
        ``calibrate_start`` fits the scale and offset of each class's start on the data first
        (for a logistic start fine-tuned with the squared loss: see the user guide).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    coef_init_, intercept_init_ : ndarray
        The resolved start, shaped as ``coef_`` and ``intercept_``.
    start_scale_, start_offset_ : ndarray of shape (n_classes or 1,)
        The calibration of the start (1 and 0 without ``calibrate_start``).
    solver_, n_iter_, t_, eta0_, batch_size_, n_features_in_ :
        As :class:`WarmStartSGDRegressor`.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.linear_model import WarmStartSGDClassifier
    >>> rng = np.random.default_rng(0)
    >>> y = rng.choice(["cat", "dog"], 40)
    >>> X = rng.standard_normal((40, 100)) + 0.5 * np.where(y == "dog", 1, -1)[:, None]
    >>> clf = WarmStartSGDClassifier(np.full(100, 0.01)).fit(X, y)
    >>> clf.classes_.tolist(), clf.coef_.shape, clf.score(X, y)
    (['cat', 'dog'], (1, 100), 1.0)
    """

    _asymptotic_task = "classification"

    _parameter_constraints: dict = {
        **_BaseWarmStartSGD._parameter_constraints,
        "loss": [StrOptions(set(CLASSIFICATION_LOSSES))],
    }
    _y_numeric = False
    _multi_coef = True

    def _encode_targets(self, y, *, first_call, classes=None, start_classes=None):
        check_classification_targets(y)
        if first_call:
            if start_classes is not None:
                # the rows of an estimator start follow its classes_: keep them, in its order
                cls = start_classes
                _check_labels_in_start(np.unique(y), cls, "the labels of y")
                if classes is not None:
                    _check_labels_in_start(np.unique(np.asarray(classes)), cls,
                                           "partial_fit(classes=...)")
                    if not set(np.unique(y).tolist()) <= set(np.asarray(classes).tolist()):
                        raise ValueError("y contains labels not in classes")
            elif classes is not None:
                cls = np.unique(np.asarray(classes))
                if not np.all(np.isin(np.unique(y), cls)):
                    raise ValueError("y contains labels not in classes")
            else:
                cls = np.unique(y)
            if cls.size < 2:
                raise ValueError(
                    f"The number of classes has to be at least 2; got {cls.size} class")
            self.classes_ = cls
            # whether classes_ came from an estimator start (given to __init__ or to fit)
            self._classes_from_start = start_classes is not None
        else:
            known = set(self.classes_.tolist())
            given = None if classes is None else set(np.asarray(classes).tolist())
            # with an estimator start, classes_ is its classes_ and classes may be a subset
            from_start = getattr(self, "_classes_from_start", False)
            if given is not None and not (given == known or (given <= known and from_start)):
                raise ValueError(f"classes={classes!r} differs from classes_={self.classes_!r} "
                                 "set by the first fit/partial_fit call")
            if not np.all(np.isin(np.unique(y), self.classes_)):
                raise ValueError(f"y contains labels not in classes_ {self.classes_!r}")
        cls = self.classes_
        if cls.size == 2:
            return np.where(y == cls[1], 1.0, -1.0)[:, None]
        return np.where(y[:, None] == cls[None, :], 1.0, -1.0)

    def _start_shape_message(self):
        n_classes = len(self.classes_)
        if n_classes == 2:
            return " (2 classes: one row, or a 1-D coef_init)"
        return f" (one row per class: y has {n_classes} classes)"

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fine-tune from the start on ``(X, y)``; resets ``t_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        coef_init, intercept_init : optional
            Override the constructor's start for this call.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit_path(X, y, sample_weight=sample_weight, coef_init=coef_init,
                              intercept_init=intercept_init)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One SGD epoch over ``(X, y)``; ``classes`` is required on the first call.

        Returns
        -------
        self
        """
        if not hasattr(self, "coef_") and classes is None and (
                _start_classes(self.coef_init) is None):
            raise ValueError("classes must be passed on the first call to partial_fit "
                             "(unless coef_init is a fitted estimator with classes_)")
        return self._fit_path(X, y, sample_weight=sample_weight, partial=True, classes=classes)

    def decision_function(self, X):
        """Signed scores ``X @ coef_.T + intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,) for two classes, else (n_samples, n_classes)
        """
        check_is_fitted(self)
        refuse_complex(X, "X")
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        scores = np.asarray(X @ self.coef_.T) + self.intercept_
        return scores.ravel() if scores.shape[1] == 1 else scores

    def predict(self, X):
        """Class with the largest score (binary: ``classes_[1]`` where the score is > 0).

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    @available_if(_has_proba)
    def predict_proba(self, X):
        """Class probabilities for ``log_loss`` (sigmoid of the scores) or ``modified_huber``
        (``(clip(score, -1, 1) + 1) / 2``); multiclass: one-vs-rest values normalised to sum 1
        (uniform where all are zero).

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        scores = self.decision_function(X)
        if self.loss == "log_loss":
            p = expit(scores)
        else:
            p = (np.clip(scores, -1.0, 1.0) + 1.0) / 2.0
        if p.ndim == 1:
            return np.column_stack([1.0 - p, p])
        total = p.sum(axis=1, keepdims=True)
        zero = total[:, 0] == 0
        p[zero] = 1.0
        total[zero] = p.shape[1]
        return p / total

    @available_if(_has_proba)
    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))
