"""The only module importing private scikit-learn names (supported: scikit-learn >= 1.6).

Everything else in skft imports these helpers from here, so a rename in scikit-learn is fixed in
one place.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Hidden, Interval, StrOptions
from sklearn.utils.validation import (
    _check_sample_weight,
    _get_feature_names,
    check_is_fitted,
    validate_data,
)

__all__ = [
    "Hidden",
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_get_feature_names",
    "_fit_context",
    "check_is_fitted",
    "validate_data",
]
