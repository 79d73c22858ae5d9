"""Small input checks shared by the estimators, the advice, the theory and the datasets."""

from __future__ import annotations

import numpy as np

__all__ = ["joint_multiclass_start", "refuse_complex"]


def _kind(value):
    dtype = getattr(value, "dtype", None)
    if dtype is not None:
        return {getattr(dtype, "kind", "")}
    dtypes = getattr(value, "dtypes", None)  # a pandas DataFrame
    if dtypes is not None:
        return {getattr(dt, "kind", "") for dt in dtypes}
    if isinstance(value, list | tuple):
        try:
            return {np.asarray(value).dtype.kind}
        except (TypeError, ValueError):
            return set()
    if isinstance(value, complex | np.complexfloating):
        return {"c"}
    return set()


def refuse_complex(value, name):
    """Raise a ValueError naming ``name`` when ``value`` holds complex numbers.

    NumPy would otherwise drop the imaginary part with only a ComplexWarning (a silently wrong
    answer) or raise a message that does not say which argument is at fault.

    Examples
    --------
    >>> import numpy as np
    >>> refuse_complex(np.ones(3), "X")
    >>> refuse_complex(np.ones(3) + 1j, "X")
    Traceback (most recent call last):
    ...
    ValueError: Complex data not supported: X has complex values (dtype complex128); only real
    numbers are accepted.
    """
    if value is None:
        return
    if "c" in _kind(value):
        dtype = getattr(value, "dtype", None)
        what = f" (dtype {dtype})" if dtype is not None else ""
        raise ValueError(f"Complex data not supported: {name} has complex values{what}; only "
                         "real numbers are accepted.")


def joint_multiclass_start(est, n_rows):
    """Why the rows of an estimator start are not one-vs-rest scores, or None.

    A multinomial logistic regression (scikit-learn's ``LogisticRegression`` with three or
    more classes, unless ``multi_class="ovr"`` or ``solver="liblinear"`` in versions that had
    them) gives softmax logits; a Crammer-Singer ``LinearSVC`` joint scores. Their argmax is the
    prediction, but a row alone is no classifier of its class against the rest.

    Examples
    --------
    >>> joint_multiclass_start(None, 3) is None
    True
    """
    if est is None or n_rows < 3:
        return None
    from sklearn.frozen import FrozenEstimator

    while isinstance(est, FrozenEstimator):  # a frozen start is judged by what it wraps
        est = est.estimator
    if getattr(est, "multi_class", None) == "crammer_singer":
        return f"{type(est).__name__}(multi_class='crammer_singer') gives joint scores"
    from sklearn.linear_model import LogisticRegression

    if isinstance(est, LogisticRegression):
        multi = getattr(est, "multi_class", "auto")
        if multi == "ovr" or (multi != "multinomial" and est.solver == "liblinear"):
            return None
        return (f"{type(est).__name__} with {n_rows} classes is multinomial: its coef_ rows are "
                "softmax logits")
    return None
