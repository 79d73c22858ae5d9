"""Pointwise losses for SGD: value, derivative in the prediction, and a curvature bound.

NumPy only. ``p`` is the prediction ``x.w + b``, ``y`` the target (``+-1`` for classification
losses). Each loss is a small frozen object with the protocol

- ``value(p, y)``: elementwise loss;
- ``derivative(p, y)``: elementwise ``d loss / d p``;
- ``curvature``: an upper bound on ``d^2 loss / d p^2`` (used to choose a stable step; for the
  non-smooth losses the bound of their smooth neighbour, 1).

==========================  =========================================================
``squared_error``           ``(p - y)^2 / 2``
``huber`` (``epsilon``)     ``r^2/2`` if ``|r| <= eps`` else ``eps |r| - eps^2/2``, ``r = p - y``
``epsilon_insensitive``     ``max(0, |p - y| - eps)``
``log_loss``                ``log(1 + exp(-y p))``
``hinge``                   ``max(0, 1 - y p)``
``modified_huber``          ``max(0, 1 - y p)^2`` if ``y p >= -1`` else ``-4 y p``
==========================  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

__all__ = ["LOSSES", "REGRESSION_LOSSES", "CLASSIFICATION_LOSSES", "get_loss"]


@dataclass(frozen=True)
class SquaredError:
    curvature: float = 1.0

    def value(self, p, y):
        return 0.5 * (p - y) ** 2

    def derivative(self, p, y):
        return p - y


@dataclass(frozen=True)
class Huber:
    epsilon: float = 0.1
    curvature: float = 1.0

    def value(self, p, y):
        r = np.abs(p - y)
        e = self.epsilon
        return np.where(r <= e, 0.5 * r**2, e * r - 0.5 * e**2)

    def derivative(self, p, y):
        return np.clip(p - y, -self.epsilon, self.epsilon)


@dataclass(frozen=True)
class EpsilonInsensitive:
    epsilon: float = 0.1
    curvature: float = 1.0

    def value(self, p, y):
        return np.maximum(0.0, np.abs(p - y) - self.epsilon)

    def derivative(self, p, y):
        r = p - y
        return np.sign(r) * (np.abs(r) > self.epsilon)


@dataclass(frozen=True)
class LogLoss:
    curvature: float = 0.25

    def value(self, p, y):
        return np.logaddexp(0.0, -y * p)

    def derivative(self, p, y):
        return -y * expit(-y * p)


@dataclass(frozen=True)
class Hinge:
    curvature: float = 1.0

    def value(self, p, y):
        return np.maximum(0.0, 1.0 - y * p)

    def derivative(self, p, y):
        return -y * (y * p < 1.0)


@dataclass(frozen=True)
class ModifiedHuber:
    curvature: float = 2.0

    def value(self, p, y):
        z = y * p
        return np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)

    def derivative(self, p, y):
        z = y * p
        return np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * y * (1.0 - z), -4.0 * y))


LOSSES = {
    "squared_error": SquaredError,
    "huber": Huber,
    "epsilon_insensitive": EpsilonInsensitive,
    "log_loss": LogLoss,
    "hinge": Hinge,
    "modified_huber": ModifiedHuber,
}
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")
CLASSIFICATION_LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber")


def get_loss(name, epsilon=0.1):
    """Instantiate the loss called ``name`` (``epsilon`` for huber / epsilon_insensitive).

    Examples
    --------
    >>> import numpy as np
    >>> loss = get_loss("huber", epsilon=1.0)
    >>> loss.derivative(np.array([0.0, 3.0]), np.array([0.5, 0.0])).tolist()
    [-0.5, 1.0]
    """
    cls = LOSSES[name]
    if name in ("huber", "epsilon_insensitive"):
        return cls(epsilon=epsilon)
    return cls()
