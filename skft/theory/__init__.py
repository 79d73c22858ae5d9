"""Exact high-dimensional test error of pretrained and fine-tuned linear models.

The formulas hold in the proportional limit (``n, d -> inf`` with ``n / d`` fixed) and
depend on the target data only through its first and second moments (Ghane, Akhtiamov,
Hassibi, "Universality in Transfer Learning for Linear Models", NeurIPS 2024). All
functions are pure, vectorised over ``n_samples`` and ``alpha``, and accept the covariance
as a (d, d) matrix, a (d,) diagonal, or a precomputed :class:`Spectrum`.
"""

from ._classification import ClassificationError, classification_error
from ._convex_classification import (
    ConvexClassificationError,
    convex_classification_error,
    separability_threshold,
)
from ._derived import (
    HelpIntervals,
    OptimalAlpha,
    classification_finetune_helps_intervals,
    classification_optimal_alpha,
    finetune_helps_intervals,
    isotropic_threshold,
    optimal_alpha,
)
from ._multiclass import MulticlassError, multiclass_error
from ._noise import NoiseLaw, noise_law
from ._regression import RegressionRisk, regression_risk
from ._robust_regression import RobustRegressionRisk, robust_regression_risk
from ._spectrum import Spectrum, effective_regularization

__all__ = [
    "ClassificationError",
    "ConvexClassificationError",
    "HelpIntervals",
    "MulticlassError",
    "NoiseLaw",
    "OptimalAlpha",
    "RegressionRisk",
    "RobustRegressionRisk",
    "Spectrum",
    "classification_error",
    "classification_finetune_helps_intervals",
    "classification_optimal_alpha",
    "convex_classification_error",
    "effective_regularization",
    "finetune_helps_intervals",
    "isotropic_threshold",
    "multiclass_error",
    "noise_law",
    "optimal_alpha",
    "regression_risk",
    "robust_regression_risk",
    "separability_threshold",
]
