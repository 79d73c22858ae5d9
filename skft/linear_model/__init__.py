"""Estimators that fine-tune pretrained linear models by SGD (with an exact limit solver)."""

from ._asymptotic import AsymptoticError
from ._classifier import WarmStartSGDClassifier
from ._regressor import WarmStartSGDRegressor

__all__ = ["AsymptoticError", "WarmStartSGDClassifier", "WarmStartSGDRegressor"]
