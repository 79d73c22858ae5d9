"""Should I fine-tune? Estimates of the unknowns, leave-one-out checks and the advice."""

from ._advice import ErrorEstimate, FinetuneAdvice, should_finetune
from ._asymptotic import EstimatedAsymptoticError, estimate_asymptotic_error
from ._estimate import (
    ClassificationUnknowns,
    DegenerateEstimateWarning,
    RegressionUnknowns,
    estimate_classification_unknowns,
    estimate_regression_unknowns,
)
from ._loo import LeaveOneOut, loo_residuals
from ._spectrum import SpectrumEstimate, estimate_spectrum

__all__ = [
    "ClassificationUnknowns",
    "DegenerateEstimateWarning",
    "ErrorEstimate",
    "EstimatedAsymptoticError",
    "FinetuneAdvice",
    "LeaveOneOut",
    "RegressionUnknowns",
    "SpectrumEstimate",
    "estimate_asymptotic_error",
    "estimate_classification_unknowns",
    "estimate_regression_unknowns",
    "estimate_spectrum",
    "loo_residuals",
    "should_finetune",
]
