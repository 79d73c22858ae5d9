"""Input checks for :func:`should_finetune`: clear errors that name the parameter."""

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array
from sklearn.utils.multiclass import type_of_target

from ..utils._dask_compat import is_dask_array
from ..utils._feature_names import align_columns, feature_names, name_order
from ..utils._validation import joint_multiclass_start, refuse_complex

__all__ = ["resolve_coef_init", "check_features", "resolve_task_and_labels", "feature_names"]


# Sparse features are densified up to this many entries (160 MB of float64): the advice
# works on n x n and d x d Gram matrices, dense in any case.
MAX_DENSE_ENTRIES = 20_000_000
# the Gram matrices of X (sums of n or d squared entries) must stay well inside float64
_GRAM_HUGE = 1e300
_GRAM_TINY = 1e-290


_UNSET = object()


class InputScaleError(FloatingPointError, ValueError):
    """Entries of an input array too large or too small for float64 Gram matrices (a
    ValueError naming the argument, and a FloatingPointError: a numerical limit)."""


def check_features(X, name, n_features=None, min_samples=3, reference_names=_UNSET,
                   allow_dask=False, keep_float32=False, check_scale=True):
    """2-d finite float array (a copy is never made unless needed; never modified).

    A scipy.sparse matrix or array is densified when it has at most ``MAX_DENSE_ENTRIES``
    entries (``n_samples * n_features``); a larger one is refused with a message naming it.
    Converted as scikit-learn's ``check_array`` does (pandas nullable dtypes such as
    ``Float64`` / ``Int64`` accepted, ``pd.NA`` refused as missing); complex values refused.
    ``reference_names``: when given (even None), this is another array of the features of
    ``X`` (``X_unlabeled``) and these are the names of ``X``: the columns of a DataFrame are
    then matched by name (a warning when only one of them has names, as scikit-learn does).
    ``allow_dask``: a dask array stays lazy (shape and real numeric dtype checked here,
    finiteness and scale where its blocks are reduced, see :mod:`skft.dask`).
    ``keep_float32``: a float32 array is kept as it is (its users convert it block by block,
    never whole); other dtypes become float64.
    ``check_scale``: refuse entries whose squares leave float64's range (the advice, which
    divides its inputs by their scale first, checks them after, see ``_scaling.py``).
    """
    if allow_dask and is_dask_array(X):  # skft[dask]
        from ..dask._reduce import as_row_blocks

        X = as_row_blocks(X, name)
        _check_shape(X.shape, name, n_features, min_samples)
        return X
    refuse_complex(X, name)
    if reference_names is not _UNSET:
        X = align_columns(X, reference_names, name, "X")
    if sp.issparse(X):
        n_rows, n_cols = X.shape
        if n_rows * n_cols > MAX_DENSE_ENTRIES:
            raise ValueError(
                f"{name} is a sparse matrix of shape {X.shape} ({n_rows * n_cols:.3g} entries): "
                f"the advice works on dense Gram matrices and densifies sparse input only up to "
                f"{MAX_DENSE_ENTRIES:.3g} entries; pass fewer rows of {name} (a random subset) "
                "or fewer features."
            )
        X = X.toarray()
    if np.ndim(X) != 2 and not hasattr(X, "iloc"):
        raise ValueError(f"{name} must be a 2-d array (n_samples, n_features), got "
                         f"{np.ndim(X)}-d.")
    try:
        with np.errstate(invalid="ignore", over="ignore"):
            dtype = (np.float64, np.float32) if keep_float32 else np.float64
            arr = check_array(X, dtype=dtype, ensure_all_finite=False, ensure_2d=True,
                              ensure_min_samples=0, ensure_min_features=0, input_name=name)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(X).__name__}: {exc}") from exc
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_samples, n_features), got {arr.ndim}-d.")
    _check_shape(arr.shape, name, n_features, min_samples)
    finite, top = _finite_and_top(arr)
    if not finite:
        raise ValueError(f"{name} contains NaN or inf.")
    if reference_names is _UNSET and not _distinct_rows(arr, min_samples):
        raise ValueError(
            f"{name} has fewer than {min_samples} distinct rows (its {arr.shape[0]} rows repeat "
            f"each other): repeated rows tell nothing new about the features; the advice "
            f"needs at least {min_samples} distinct samples.")
    if check_scale:
        check_gram_range(arr, name, top=top)
    return arr


def check_gram_range(arr, name, scale=None, *, top=None):
    """Refuse entries whose sums of squares leave float64's range; ``arr`` is the user's
    ``name``, or that divided by ``scale`` (the root mean square of ``X`` to a factor 2).
    ``top``: ``max |arr|`` when already known."""
    if top is None:
        top = _finite_and_top(arr)[1]
    size = max(arr.shape)
    if top > 0 and not _GRAM_TINY <= top * top * size <= _GRAM_HUGE:
        where, hint = "", f"rescale {name} (e.g. with StandardScaler) and coef_init accordingly"
        if scale is not None:
            where = f" against features X of root mean square ~{scale:.3g}"
            hint = f"{name} must hold the features of X, in the same units"
        raise InputScaleError(
            f"{name} has entries of magnitude up to {top * (scale or 1.0):.3g}{where}: the sums "
            f"of their squares ({'over' if top > 1 else 'under'}flow) are outside what float64 "
            f"Gram matrices hold; {hint}.")


def _distinct_rows(arr, k):
    """Whether ``arr`` has at least ``k`` distinct rows (stops as soon as it has seen them)."""
    seen = set()
    for row in arr:
        seen.add((row + 0.0).tobytes())  # + 0.0: -0.0 and 0.0 are the same value
        if len(seen) >= k:
            return True
    return k <= 0


def _finite_and_top(arr, chunk_entries=1 << 22):
    """Whether every entry is finite, and the largest ``|entry|``: row blocks of at most
    ``chunk_entries`` entries, two reductions each (a NaN or inf shows in the block's max or
    min), so no temporary of the array's size is made."""
    step = max(1, chunk_entries // max(arr.shape[1], 1))
    top = 0.0
    for lo in range(0, arr.shape[0], step):
        block = arr[lo:lo + step]
        if block.size == 0:
            continue
        hi_, lo_ = float(block.max()), float(block.min())
        if not (np.isfinite(hi_) and np.isfinite(lo_)):
            return False, np.nan
        top = max(top, hi_, -lo_)
    return True, top


def _check_shape(shape, name, n_features, min_samples):
    if shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples (rows), got {shape[0]}.")
    if shape[1] == 0:
        raise ValueError(f"{name} must have at least one feature (column).")
    if n_features is not None and shape[1] != n_features:
        raise ValueError(f"{name} has {shape[1]} features but X has {n_features}; they must match.")


def resolve_coef_init(coef_init, intercept_init, n_features, feature_names_X=None):
    """Coefficients ``(n_targets, d)``, intercepts ``(n_targets,)``, classes or None.

    ``coef_init`` may be an array or a fitted linear estimator (duck typing: ``coef_`` and
    optional ``intercept_``, ``classes_``). An explicit ``intercept_init`` wins over the
    estimator's ``intercept_``. An estimator fitted with ``feature_names_in_`` has its
    coefficients matched by name to ``feature_names_X`` (the columns of ``X``) when given. A
    multinomial start (softmax logits: not one-vs-rest scores) is refused.
    """
    classes = None
    refuse_complex(coef_init, "coef_init")
    refuse_complex(intercept_init, "intercept_init")
    if hasattr(coef_init, "coef_"):
        est = coef_init
        coef = est.coef_
        start_names = getattr(est, "feature_names_in_", None)
        if start_names is not None and feature_names_X is not None:
            order = name_order(start_names, feature_names_X, "coef_init (its feature_names_in_)",
                               "X")
            if order is not None:
                coef = np.atleast_2d(np.asarray(coef))[:, order]
        reason = joint_multiclass_start(est, np.atleast_2d(np.asarray(coef)).shape[0])
        if reason is not None:
            raise ValueError(
                f"coef_init: {reason}, not one-vs-rest scores, which is what the advice "
                "judges (squared-loss one-vs-rest fine-tuning of each row); pass a "
                "one-vs-rest start (e.g. the stacked coef_ of "
                "OneVsRestClassifier(LogisticRegression()).estimators_).")
        if intercept_init is None:
            intercept_init = getattr(est, "intercept_", None)
        classes = getattr(est, "classes_", None)
    elif hasattr(coef_init, "fit") or hasattr(coef_init, "predict"):
        raise ValueError(
            "coef_init looks like an estimator but has no coef_: fit it first, or pass an "
            "array of coefficients."
        )
    else:
        coef = coef_init
    try:
        coef = np.asarray(coef, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError("coef_init must be numeric coefficients or a fitted estimator.") from exc
    if coef.ndim == 1:
        coef = coef[None, :]
    if coef.ndim != 2 or coef.shape[1] != n_features:
        raise ValueError(
            f"coef_init must have shape ({n_features},) or (n_classes, {n_features}) to match X, "
            f"got {np.shape(coef)}."
        )
    if not np.all(np.isfinite(coef)):
        raise ValueError("coef_init contains NaN or inf.")
    if intercept_init is None:
        intercept = np.zeros(coef.shape[0])
    else:
        try:
            intercept = np.atleast_1d(np.asarray(intercept_init, dtype=np.float64)).ravel()
        except (TypeError, ValueError) as exc:
            raise ValueError("intercept_init must be numeric.") from exc
        if intercept.size == 1:
            intercept = np.full(coef.shape[0], intercept[0])
        if intercept.size != coef.shape[0] or not np.all(np.isfinite(intercept)):
            raise ValueError(
                f"intercept_init must be finite with {coef.shape[0]} value(s), got "
                f"{np.shape(intercept_init)}."
            )
    if classes is not None:
        classes = np.asarray(classes)
    return coef, intercept, classes


def resolve_task_and_labels(task, y, n_samples, coef, classes):
    """Decide the task and return ``(task, y_float_or_labels, classes)``.

    ``task="auto"``: classification when ``coef_init`` is a classifier (has ``classes_``) or
    has several rows, or when ``y`` is binary; regression when ``y`` is continuous.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"y must have shape ({n_samples},) to match X, got {y.shape}.")
    if task not in ("auto", "regression", "classification"):
        raise ValueError(f"task must be 'auto', 'regression' or 'classification', got {task!r}.")
    if y.dtype.kind in "fc" and not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf.")
    if np.all(y == y[0]):
        first = y[0].item() if isinstance(y[0], np.generic) else y[0]
        raise ValueError(
            f"y is constant (every sample has the value {first!r}: a single class or value), "
            "so there is nothing to fine-tune on; y needs at least two distinct values."
        )
    if task == "auto":
        if classes is not None or coef.shape[0] > 1:
            task = "classification"
        else:
            with np.errstate(invalid="ignore", over="ignore"):  # its int cast of huge y
                kind = type_of_target(y)
            if kind == "binary":
                task = "classification"
            elif kind in ("continuous", "multiclass") and coef.shape[0] == 1:
                task = "regression" if kind == "continuous" or y.dtype.kind in "fiu" else None
            else:
                task = None
            if task is None:
                raise ValueError(
                    f"cannot tell the task from y (type {kind!r}); pass task='regression' "
                    "or task='classification'."
                )
    if task == "regression":
        if coef.shape[0] != 1:
            raise ValueError("regression needs a single vector coef_init of shape (n_features,).")
        try:
            yf = y.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError("y must be numeric for regression.") from exc
        if not np.all(np.isfinite(yf)):
            raise ValueError("y contains NaN or inf.")
        return task, yf, None
    try:
        present = np.unique(y)
    except TypeError:  # labels of several types (e.g. str and int) cannot be sorted
        kinds = sorted({type(v).__name__ for v in y.ravel().tolist()})
        raise ValueError(f"y mixes label types ({', '.join(kinds)}); class labels must be all "
                         "numbers or all strings.") from None
    if classes is None and y.dtype.kind == "f":
        with np.errstate(invalid="ignore", over="ignore"):
            kind = type_of_target(y)
        if kind == "continuous":
            raise ValueError(
                f"the task is classification (from task or loss), but y is continuous "
                f"({present.size} distinct non-integer values): class labels are expected; "
                "for regression pass a regression loss or task='regression'.")
    if classes is None:
        classes = present
        expected = 2 if coef.shape[0] == 1 else coef.shape[0]
        if classes.size != expected:
            raise ValueError(
                f"y has {classes.size} classes but coef_init has {coef.shape[0]} row(s) "
                f"(expects {expected} classes); pass a fitted classifier with classes_ to fix "
                "the label order."
            )
    else:
        unknown = np.setdiff1d(present, classes)
        if unknown.size:
            raise ValueError(
                f"y contains labels {unknown.tolist()} that are not among the classes of "
                f"coef_init {classes.tolist()}."
            )
        expected_rows = 1 if classes.size == 2 else classes.size
        if coef.shape[0] != expected_rows:
            raise ValueError(f"coef_init has {coef.shape[0]} row(s) but {classes.size} classes.")
    return "classification", y, classes

