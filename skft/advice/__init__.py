"""Should I fine-tune? Estimates of the unknowns, leave-one-out checks and the advice."""

from ._advice import CandidateAdvice, ErrorEstimate, FinetuneAdvice, should_finetune
from ._asymptotic import EstimatedAsymptoticError, estimate_asymptotic_error
from ._checks import AssumptionCheck
from ._estimate import (
    ClassificationUnknowns,
    DegenerateEstimateWarning,
    RegressionUnknowns,
    estimate_classification_unknowns,
    estimate_regression_unknowns,
)
from ._loo import GramFactor, LeaveOneOut, loo_residuals
from ._profile import ShiftProfile
from ._regression import DependentRowsWarning
from ._spectrum import SpectrumEstimate, estimate_spectrum

__all__ = [
    "AssumptionCheck",
    "CandidateAdvice",
    "ClassificationUnknowns",
    "DegenerateEstimateWarning",
    "DependentRowsWarning",
    "ErrorEstimate",
    "EstimatedAsymptoticError",
    "FinetuneAdvice",
    "GramFactor",
    "LeaveOneOut",
    "RegressionUnknowns",
    "ShiftProfile",
    "SpectrumEstimate",
    "estimate_asymptotic_error",
    "estimate_classification_unknowns",
    "estimate_regression_unknowns",
    "estimate_spectrum",
    "loo_residuals",
    "should_finetune",
]
