"""Feature distributions, covariance spectra and directions of the synthetic transfer problems."""

import numbers

import numpy as np

from .._core._dense_linalg import EIG_SINGLE_THREAD_BELOW, blas_threads_for, eigh
from ..utils._validation import refuse_complex

__all__ = ["DISTRIBUTIONS", "make_spectrum"]


def _gaussian(rng, shape):
    return rng.standard_normal(shape)


def _rademacher(rng, shape):
    return rng.integers(0, 2, size=shape).astype(np.float64) * 2.0 - 1.0


def _uniform(rng, shape):
    return rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), size=shape)


def _chi2(rng, shape):
    return (rng.standard_normal(shape) ** 2 - 1.0) / np.sqrt(2.0)


def _student_t(rng, shape, df=5.0):
    return rng.standard_t(df, size=shape) * np.sqrt((df - 2.0) / df)


def _student_t3(rng, shape):
    return _student_t(rng, shape, df=3.0)


def _laplace(rng, shape):
    return rng.laplace(0.0, 1.0 / np.sqrt(2.0), size=shape)


def _multivariate_t(rng, shape, df=5.0):
    # elliptical: one chi-square scale per row (the last axis is a row's coordinates)
    g = rng.standard_normal(shape)
    rows = shape[:-1] if len(shape) > 1 else shape
    scale = np.sqrt(rng.chisquare(df, size=rows) / (df - 2.0))
    return g / (scale[..., None] if len(shape) > 1 else scale)


#: Feature distributions, each standardised to mean 0 and variance 1:
#: ``gaussian`` N(0, 1); ``rademacher`` +-1 with probability 1/2 (a centred Bernoulli);
#: ``uniform`` U(-sqrt 3, sqrt 3); ``chi2`` (g^2 - 1)/sqrt 2 (skewed); ``student_t`` t with
#: 5 degrees of freedom times sqrt(3/5) (heavy tails, finite fourth moment); ``student_t3``
#: t with 3 degrees of freedom times sqrt(1/3) (infinite fourth moment); ``laplace`` scale
#: 1/sqrt 2; ``multivariate_t`` a Gaussian row divided by one ``sqrt(chi2_5 / 3)`` per row
#: (elliptical, heavy-tailed rows: the coordinates are uncorrelated but not independent, so
#: the Marchenko-Pastur model behind the theory does not hold).
DISTRIBUTIONS = {
    "gaussian": _gaussian,
    "rademacher": _rademacher,
    "uniform": _uniform,
    "chi2": _chi2,
    "student_t": _student_t,
    "student_t3": _student_t3,
    "laplace": _laplace,
    "multivariate_t": _multivariate_t,
}


def make_spectrum(n_features, kind="isotropic", *, ratio=10.0, fraction=0.1, exponent=1.0):
    """Eigenvalues of a target covariance, normalised to mean 1 (``tr Sigma = d``).

    Parameters
    ----------
    n_features : int
        Dimension ``d``.
    kind : {"isotropic", "bilevel", "powerlaw"}, default="isotropic"
        ``isotropic``: all ones. ``bilevel``: the first ``ceil(fraction * d)``
        eigenvalues are ``ratio`` times the others. ``powerlaw``: ``l_j ~ j^-exponent``.
    ratio : float, default=10.0
        Ratio of the two levels of ``bilevel``.
    fraction : float, default=0.1
        Fraction of directions at the upper level of ``bilevel``.
    exponent : float, default=1.0
        Decay exponent of ``powerlaw``.

    Returns
    -------
    eigenvalues : ndarray of shape (n_features,)
        Positive, mean 1, non-increasing.

    Examples
    --------
    >>> from skft.datasets import make_spectrum
    >>> make_spectrum(10, "bilevel", ratio=10, fraction=0.2)
    array([3.5714..., 3.5714..., 0.3571..., ..., 0.3571...])
    """
    d = _check_int(n_features, "n_features")
    if kind == "isotropic":
        lam = np.ones(d)
    elif kind == "bilevel":
        if not ratio > 0:
            raise ValueError(f"ratio must be > 0, got {ratio!r}.")
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], got {fraction!r}.")
        top = int(np.ceil(fraction * d))
        lam = np.where(np.arange(d) < top, float(ratio), 1.0)
    elif kind == "powerlaw":
        if not exponent >= 0:
            raise ValueError(f"exponent must be >= 0, got {exponent!r}.")
        lam = np.arange(1, d + 1, dtype=np.float64) ** (-float(exponent))
    else:
        raise ValueError(
            f"spectrum must be 'isotropic', 'bilevel', 'powerlaw' or an array, got {kind!r}."
        )
    return lam * (d / lam.sum())


def _check_int(value, name, minimum=1):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _covariance(spectrum, d, rotate, rng, spectrum_params):
    """Return (covariance, sqrt_apply) with covariance a (d,) diagonal or (d, d) matrix."""
    if isinstance(spectrum, str):
        cov = make_spectrum(d, spectrum, **spectrum_params)
    else:
        refuse_complex(spectrum, "spectrum")
        cov = np.array(spectrum, dtype=np.float64)  # a copy: never mutate the user's array
        if not np.all(np.isfinite(cov)):
            raise ValueError("spectrum must be finite.")
        if cov.shape not in ((d,), (d, d)):
            raise ValueError(
                f"spectrum must have shape ({d},) or ({d}, {d}) to match n_features, "
                f"got {cov.shape}."
            )
    if cov.ndim == 1:
        if np.any(cov < 0):
            raise ValueError("spectrum must be non-negative (a covariance diagonal).")
        if not rotate:
            root = np.sqrt(cov)
            return cov, root, None
        with blas_threads_for(d, EIG_SINGLE_THREAD_BELOW):  # a small factorisation
            q, r = np.linalg.qr(rng.standard_normal((d, d)))
        q *= np.sign(np.diag(r))  # Haar-distributed rotation
        sqrt_mat = (q * np.sqrt(cov)) @ q.T  # the eigenpairs are known: no eigh
        cov = (q * cov) @ q.T
        return (cov + cov.T) / 2, None, (sqrt_mat + sqrt_mat.T) / 2
    if np.abs(cov - cov.T).max() > 1e-8 * max(np.abs(cov).max(), 1e-300):
        raise ValueError("spectrum must be symmetric when given as a matrix.")
    lam, vec = eigh((cov + cov.T) / 2)
    if lam[0] < -1e-8 * max(np.abs(lam).max(), 1e-300):
        raise ValueError("spectrum must be positive semi-definite.")
    sqrt_mat = (vec * np.sqrt(np.clip(lam, 0, None))) @ vec.T
    return cov, None, sqrt_mat


def _features(rng, n, d, distribution, root, sqrt_mat):
    if distribution not in DISTRIBUTIONS:
        raise ValueError(
            f"distribution must be one of {sorted(DISTRIBUTIONS)}, got {distribution!r}."
        )
    z = DISTRIBUTIONS[distribution](rng, (n, d))
    return z * root if sqrt_mat is None else z @ sqrt_mat


def _unit(rng, d):
    u = rng.standard_normal(d)
    return u / np.linalg.norm(u)


def _direction(rng, cov, kind, fraction, name):
    """A unit vector: uniformly random, or uniformly random in the span of the top or bottom
    ``ceil(fraction * d)`` eigen-directions of ``cov`` (ties broken by index), or the
    normalised array given."""
    d = cov.shape[0]
    if isinstance(kind, str) and kind == "random":
        return _unit(rng, d)
    if isinstance(kind, str):
        if kind not in ("top", "bottom"):
            raise ValueError(
                f"{name} must be 'random', 'top', 'bottom' or an array of shape ({d},), "
                f"got {kind!r}."
            )
        if not (isinstance(fraction, numbers.Real) and 0 < fraction <= 1):
            raise ValueError(f"shift_fraction must be in (0, 1], got {fraction!r}.")
        m = max(1, int(np.ceil(fraction * d)))
        if cov.ndim == 1:
            lam, vec = cov, None
        else:
            lam, vec = eigh(cov)
        order = np.argsort(-lam if kind == "top" else lam, kind="stable")[:m]
        coords = np.zeros(d)
        coords[order] = _unit(rng, m)
        return coords if vec is None else vec @ coords
    arr = np.array(kind, dtype=np.float64)
    if arr.shape != (d,) or not np.all(np.isfinite(arr)) or not np.any(arr):
        raise ValueError(
            f"{name} given as an array must be finite, non-zero, of shape ({d},); got shape "
            f"{arr.shape}."
        )
    return arr / np.linalg.norm(arr)


def _feature_mean(feature_mean, d):
    mean = np.array(feature_mean, dtype=np.float64)
    if mean.ndim == 0:
        mean = np.full(d, float(mean))
    if mean.shape != (d,) or not np.all(np.isfinite(mean)):
        raise ValueError(
            f"feature_mean must be a finite number or an array of shape ({d},), got "
            f"{np.shape(feature_mean)}."
        )
    return mean


def _repeat_rows(rng, X, y, n, repeats, jitter, root, sqrt_mat, distribution):
    """``n`` rows made of ``ceil(n / repeats)`` independent rows, each repeated (shuffled);
    copies beyond the first get ``jitter * Sigma^{1/2} z`` added to their features."""
    idx = rng.permutation(np.repeat(np.arange(X.shape[0]), repeats)[:n])
    Xr, yr = X[idx], y[idx]
    if jitter > 0:
        first = np.zeros(n, dtype=bool)
        first[np.unique(idx, return_index=True)[1]] = True
        copies = ~first
        k = int(copies.sum())
        if k:
            Xr[copies] += jitter * _features(rng, k, X.shape[1], distribution, root, sqrt_mat)
    return Xr, yr, idx
