"""Laws of the label noise of a regression target, as finite mixtures of Gaussians.

The asymptotic risk of a robust regressor (huber, epsilon-insensitive) depends on the whole
law of the noise ``eps``, not only on its variance: the loss clips or ignores residuals by
their size. Every quantity the theory needs is an expectation over the residual
``r0 = P - eps`` with ``P ~ N(b, q)`` independent of ``eps``. Writing the law of ``eps`` as a
mixture ``sum_k w_k N(e_k, v_k)`` (atoms are ``v_k = 0``) makes ``r0`` a Gaussian mixture,
``r0 | k ~ N(b - e_k, q + v_k)``, so that each expectation is a weighted sum of Gaussian
integrals that have closed forms for the piecewise-linear proximal maps of these losses.

A Gaussian law is one component; the scale mixtures (Laplace, Student t) are exact mixtures
over their mixing variance, discretised by Gauss quadrature of the mixing law; laws without a
Gaussian part (uniform, Rademacher, centred chi-square) are discretised directly. The named
laws are those of :data:`skft.datasets.DISTRIBUTIONS`, standardised to mean 0 and variance 1
and scaled by ``sqrt(noise_var)``.
"""

from dataclasses import dataclass

import numpy as np
from scipy.special import roots_genlaguerre, roots_hermitenorm, roots_legendre

from ._spectrum import _as_float_array

__all__ = ["NoiseLaw", "noise_law"]

#: Quadrature sizes of the discretised laws (their integrands are smooth once convolved with
#: the Gaussian part of the residual; 64 nodes give ~1e-10 on the moments used).
_N_MIX = 64
#: Student t degrees of freedom of the named law (as in skft.datasets).
_T_DF = 5.0


@dataclass(frozen=True, eq=False)
class NoiseLaw:
    """A noise law as a finite mixture of Gaussians ``sum_k w_k N(e_k, v_k)``.

    Parameters
    ----------
    means : ndarray of shape (n_components,)
        Component means ``e_k``.
    weights : ndarray of shape (n_components,)
        Non-negative weights ``w_k`` (normalised to sum 1).
    variances : ndarray of shape (n_components,)
        Component variances ``v_k >= 0`` (0 for atoms).
    name : str, default="custom"

    Attributes
    ----------
    mean, variance : float
        Mean and variance of the law.

    Examples
    --------
    >>> from skft.theory import NoiseLaw
    >>> law = NoiseLaw([-1.0, 1.0], [0.5, 0.5], [0.0, 0.0], name="rademacher")
    >>> law.mean, law.variance
    (0.0, 1.0)
    """

    means: np.ndarray
    weights: np.ndarray
    variances: np.ndarray
    name: str = "custom"

    def __post_init__(self):
        e = _as_float_array(self.means, "noise means").ravel()
        w = _as_float_array(self.weights, "noise weights").ravel()
        v = _as_float_array(self.variances, "noise variances").ravel()
        if not (e.size == w.size == v.size) or e.size == 0:
            raise ValueError(
                "noise means, weights and variances must be non-empty and of equal length, "
                f"got {e.size}, {w.size}, {v.size}."
            )
        if np.any(w < 0) or not w.sum() > 0:
            raise ValueError("noise weights must be non-negative with a positive sum.")
        if np.any(v < 0):
            raise ValueError("noise variances must be >= 0.")
        keep = w > 0
        e, w, v = e[keep], w[keep] / w[keep].sum(), v[keep]
        for name, arr in (("means", e), ("weights", w), ("variances", v)):
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def mean(self):
        return float(self.weights @ self.means)

    @property
    def variance(self):
        m = self.mean
        return float(self.weights @ (self.variances + (self.means - m) ** 2))

    def scaled(self, scale, shift=0.0):
        """The law of ``shift + scale * eps``.

        Examples
        --------
        >>> from skft.theory import noise_law
        >>> noise_law("gaussian").scaled(2.0).variance
        4.0
        """
        return NoiseLaw(
            shift + scale * self.means, self.weights, scale**2 * self.variances, self.name
        )


def _gaussian():
    return NoiseLaw([0.0], [1.0], [1.0], "gaussian")


def _laplace():
    # Laplace(0, 1/sqrt 2) = N(0, W) with W ~ Exponential(mean 1): Gauss-Laguerre in W.
    t, w = roots_genlaguerre(_N_MIX, 0.0)
    return NoiseLaw(np.zeros(t.size), w, t, "laplace")


def _student_t():
    # t_nu sqrt((nu-2)/nu) = N(0, W), W = (nu - 2) / (2 T), T ~ Gamma(nu/2). The averages
    # needed grow like W = c / T as T -> 0, so the quadrature is generalised Gauss-Laguerre for
    # t^(nu/2 - 2) e^-t applied to T h(c / T) (bounded): node weights w_i T_i. It integrates
    # the law's mass and variance exactly.
    a = _T_DF / 2.0
    t, w = roots_genlaguerre(_N_MIX, a - 2.0)
    return NoiseLaw(np.zeros(t.size), w * t, (_T_DF - 2.0) / (2.0 * t), "student_t")


def _uniform():
    x, w = roots_legendre(_N_MIX)
    return NoiseLaw(np.sqrt(3.0) * x, w, np.zeros(x.size), "uniform")


def _rademacher():
    return NoiseLaw([-1.0, 1.0], [0.5, 0.5], [0.0, 0.0], "rademacher")


def _chi2():
    x, w = roots_hermitenorm(_N_MIX)
    return NoiseLaw((x**2 - 1.0) / np.sqrt(2.0), w, np.zeros(x.size), "chi2")


_LAWS = {
    "gaussian": _gaussian,
    "laplace": _laplace,
    "student_t": _student_t,
    "uniform": _uniform,
    "rademacher": _rademacher,
    "chi2": _chi2,
}


def noise_law(noise="gaussian", noise_var=1.0):
    """The law of the regression noise, as a :class:`NoiseLaw` of variance ``noise_var``.

    Parameters
    ----------
    noise : str, NoiseLaw or tuple, default="gaussian"
        A name of :data:`skft.datasets.DISTRIBUTIONS` (``"gaussian"``, ``"laplace"``,
        ``"student_t"`` (5 degrees of freedom), ``"uniform"``, ``"rademacher"``, ``"chi2"``),
        each standardised to mean 0 and variance 1 and scaled to ``noise_var``; a
        :class:`NoiseLaw` (taken as given, ``noise_var`` ignored); or ``(values, weights)``, a
        discrete law (e.g. the empirical law of a sample: ``(sample, None)`` for equal
        weights), taken as given.
    noise_var : float, default=1.0
        Variance of a named law.

    Returns
    -------
    NoiseLaw

    Examples
    --------
    >>> from skft.theory import noise_law
    >>> law = noise_law("laplace", 0.25)
    >>> round(law.variance, 12), law.name
    (0.25, 'laplace')
    >>> noise_law(([0.0, 3.0], None)).mean
    1.5
    """
    if isinstance(noise, NoiseLaw):
        return noise
    if isinstance(noise, tuple):
        if len(noise) != 2:
            raise ValueError("noise given as a tuple must be (values, weights).")
        values = _as_float_array(noise[0], "noise values").ravel()
        weights = np.ones(values.size) if noise[1] is None else noise[1]
        return NoiseLaw(values, weights, np.zeros(values.size), "discrete")
    if not isinstance(noise, str) or noise not in _LAWS:
        raise ValueError(
            f"noise must be one of {sorted(_LAWS)}, a NoiseLaw or (values, weights), "
            f"got {noise!r}."
        )
    s2 = _as_float_array(noise_var, "noise_var")
    if s2.ndim != 0 or s2 < 0:
        raise ValueError(f"noise_var must be a scalar >= 0, got {noise_var!r}.")
    return _LAWS[noise]().scaled(float(np.sqrt(s2)))
