"""Transfer problems whose truth is known, to check the theory and the estimators."""

from ._transfer import (
    DISTRIBUTIONS,
    exact_test_error,
    make_spectrum,
    make_transfer_classification,
    make_transfer_regression,
)

__all__ = [
    "DISTRIBUTIONS",
    "exact_test_error",
    "make_spectrum",
    "make_transfer_classification",
    "make_transfer_regression",
]
