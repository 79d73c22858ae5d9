"""Estimators that fine-tune pretrained linear models by SGD (with an exact limit solver)."""

from ._classifier import WarmStartSGDClassifier
from ._regressor import WarmStartSGDRegressor

__all__ = ["WarmStartSGDClassifier", "WarmStartSGDRegressor"]
