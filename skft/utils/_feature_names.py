"""Matching the columns of a second array to reference feature names (pandas DataFrames)."""

from __future__ import annotations

import warnings

import numpy as np

from ._sklearn_compat import _get_feature_names

__all__ = ["align_columns", "feature_names", "name_order"]


def feature_names(X):
    """The column names of ``X`` (an ndarray of str) when it has string column names, else None.

    Examples
    --------
    >>> import numpy as np
    >>> feature_names(np.zeros((2, 3))) is None
    True
    """
    return _get_feature_names(X)


def align_columns(X, reference, name, reference_name="the data fitted on"):
    """``X`` with its columns in the order of the ``reference`` names.

    Both named: columns matched by name (reordered when needed; a ValueError naming ``name``
    when the sets of names differ). One side named only: positional, with a UserWarning as
    scikit-learn gives. Neither: ``X`` unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> align_columns(np.zeros((2, 3)), None, "X_unlabeled").shape
    (2, 3)
    """
    names = feature_names(X)
    if reference is None:
        if names is not None:
            warnings.warn(f"{name} has feature names, but {reference_name} had none: its "
                          "columns are taken by position", UserWarning, stacklevel=3)
        return X
    if names is None:
        warnings.warn(f"{name} does not have valid feature names, but {reference_name} had "
                      "feature names: its columns are taken by position", UserWarning,
                      stacklevel=3)
        return X
    order = name_order(names, reference, name, reference_name)
    return X if order is None else X[list(np.asarray(reference, dtype=object))]


def name_order(names, reference, name, reference_name):
    """Positions in ``names`` of the ``reference`` names (None when already in order).

    Raises a ValueError naming ``name`` when the two sets of names differ.

    Examples
    --------
    >>> name_order(["b", "a"], ["a", "b"], "X_unlabeled", "X").tolist()
    [1, 0]
    """
    names = np.asarray(names, dtype=object)
    reference = np.asarray(reference, dtype=object)
    if len(names) == len(reference) and np.array_equal(names, reference):
        return None
    known = set(names.tolist())
    wanted = set(reference.tolist())
    missing = [c for c in reference.tolist() if c not in known]
    extra = [c for c in names.tolist() if c not in wanted]
    if missing or extra or len(names) != len(reference):
        raise ValueError(
            f"the feature names of {name} differ from those of {reference_name}: missing "
            f"{missing[:10]}, unexpected {extra[:10]}; pass {name} with the same features")
    position = {c: i for i, c in enumerate(names.tolist())}
    return np.array([position[c] for c in reference.tolist()])
