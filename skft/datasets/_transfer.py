"""Transfer problems whose truth is known: target data for a pretrained linear model."""

import numbers

import numpy as np
from scipy.special import ndtr
from sklearn.utils import Bunch, check_random_state

from ..utils._validation import refuse_complex

__all__ = [
    "DISTRIBUTIONS",
    "exact_test_error",
    "make_spectrum",
    "make_transfer_classification",
    "make_transfer_regression",
]


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


def _laplace(rng, shape):
    return rng.laplace(0.0, 1.0 / np.sqrt(2.0), size=shape)


#: Feature distributions, each standardised to mean 0 and variance 1:
#: ``gaussian`` N(0, 1); ``rademacher`` +-1 with probability 1/2 (a centred Bernoulli);
#: ``uniform`` U(-sqrt 3, sqrt 3); ``chi2`` (g^2 - 1)/sqrt 2 (skewed); ``student_t`` t with
#: 5 degrees of freedom times sqrt(3/5) (heavy tails); ``laplace`` scale 1/sqrt 2.
DISTRIBUTIONS = {
    "gaussian": _gaussian,
    "rademacher": _rademacher,
    "uniform": _uniform,
    "chi2": _chi2,
    "student_t": _student_t,
    "laplace": _laplace,
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
        q, r = np.linalg.qr(rng.standard_normal((d, d)))
        q *= np.sign(np.diag(r))  # Haar-distributed rotation
        cov = (q * cov) @ q.T
        cov = (cov + cov.T) / 2
    if np.abs(cov - cov.T).max() > 1e-8 * max(np.abs(cov).max(), 1e-300):
        raise ValueError("spectrum must be symmetric when given as a matrix.")
    lam, vec = np.linalg.eigh((cov + cov.T) / 2)
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


def make_transfer_regression(
    n_samples=100,
    n_features=200,
    *,
    spectrum="isotropic",
    distribution="gaussian",
    noise=0.5,
    shift=1.0,
    signal=1.0,
    rotate=False,
    n_test=0,
    spectrum_params=None,
    random_state=None,
):
    """Target regression data for a pretrained linear model, with the truth.

    ``x = Sigma^{1/2} z`` with ``z`` i.i.d. from ``distribution`` (standardised to mean 0,
    variance 1, so every distribution has the same first and second moments),
    ``y = x' w_star + noise * eps`` with ``eps ~ N(0, 1)``, no intercept. ``w_star`` is a
    uniformly random direction of norm ``signal``; the pretrained coefficients are
    ``coef_init = w_star + delta`` with ``delta`` a uniformly random direction of norm
    ``shift`` (so ``delta`` is spread over the eigen-directions like a random vector).

    The exact test MSE of any coefficients ``w`` is
    ``(w - w_star)' Sigma (w - w_star) + noise^2`` (see :func:`exact_test_error`).

    Parameters
    ----------
    n_samples : int, default=100
        Number of target samples.
    n_features : int, default=200
        Dimension ``d``.
    spectrum : {"isotropic", "bilevel", "powerlaw"} or array-like, default="isotropic"
        Covariance eigenvalues (see :func:`make_spectrum`, mean 1), or a (d,) diagonal,
        or a (d, d) symmetric PSD matrix.
    distribution : str, default="gaussian"
        One of :data:`DISTRIBUTIONS`.
    noise : float, default=0.5
        Standard deviation of the Gaussian label noise (``noise_var = noise ** 2``).
    shift : float, default=1.0
        ``||coef_init - w_star||``.
    signal : float, default=1.0
        ``||w_star||``.
    rotate : bool, default=False
        Rotate a diagonal covariance by a random orthogonal matrix (the covariance
        returned is then a (d, d) matrix).
    n_test : int, default=0
        Size of an independent test set from the same distribution (``X_test``,
        ``y_test`` in the bunch) if > 0.
    spectrum_params : dict, default=None
        Keyword arguments of :func:`make_spectrum` (``ratio``, ``fraction``, ``exponent``).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    truth : Bunch
        ``w_star``, ``coef_init``, ``delta``, ``covariance`` ((d,) diagonal or (d, d)
        matrix), ``noise_var``, ``distribution``, ``task="regression"``, and
        ``X_test``, ``y_test`` when ``n_test > 0``.

    Examples
    --------
    >>> from skft.datasets import make_transfer_regression
    >>> X, y, truth = make_transfer_regression(50, 100, spectrum="bilevel", random_state=0)
    >>> X.shape, truth.covariance.shape, truth.noise_var
    ((50, 100), (100,), 0.25)
    """
    n = _check_int(n_samples, "n_samples")
    d = _check_int(n_features, "n_features")
    n_test = _check_int(n_test, "n_test", minimum=0)
    for name, val in (("noise", noise), ("shift", shift), ("signal", signal)):
        if not (isinstance(val, numbers.Real) and np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))
    cov, root, sqrt_mat = _covariance(spectrum, d, rotate, rng, spectrum_params or {})
    w_star = signal * _unit(rng, d)
    delta = shift * _unit(rng, d)
    coef_init = w_star + delta

    def draw(m):
        X = _features(rng, m, d, distribution, root, sqrt_mat)
        return X, X @ w_star + noise * rng.standard_normal(m)

    X, y = draw(n)
    truth = Bunch(
        w_star=w_star,
        coef_init=coef_init,
        delta=delta,
        covariance=cov,
        noise_var=float(noise) ** 2,
        distribution=distribution,
        task="regression",
    )
    if n_test:
        truth.X_test, truth.y_test = draw(n_test)
    return X, y, truth


def make_transfer_classification(
    n_samples=100,
    n_features=200,
    *,
    spectrum="isotropic",
    distribution="gaussian",
    separation=1.0,
    shift=1.0,
    rotate=False,
    n_test=0,
    spectrum_params=None,
    random_state=None,
):
    """Two-class target data ``x = y * mean + z`` for a pretrained linear classifier.

    Labels ``y = +-1`` equally likely; ``z = Sigma^{1/2} u`` with ``u`` i.i.d. from
    ``distribution`` (standardised, mean 0, variance 1; choose a symmetric one for the
    theory's symmetric mixture). ``mean`` is a uniformly random direction with
    ``mean' Sigma^+ mean = separation^2`` (the squared Mahalanobis half-distance). The
    reference coefficients are the population square-loss solution
    ``w_star = (Sigma + mean mean')^{-1} mean`` and ``coef_init = w_star + delta`` with
    ``delta`` a random direction of norm ``shift * ||w_star||``.

    Parameters
    ----------
    n_samples, n_features : int, default=100, 200
        Sample size and dimension.
    spectrum : {"isotropic", "bilevel", "powerlaw"} or array-like, default="isotropic"
        Within-class covariance (see :func:`make_transfer_regression`).
    distribution : str, default="gaussian"
        One of :data:`DISTRIBUTIONS`.
    separation : float, default=1.0
        ``sqrt(mean' Sigma^+ mean)``: the Bayes error is ``Phi(-separation)``.
    shift : float, default=1.0
        ``||coef_init - w_star|| / ||w_star||``.
    rotate : bool, default=False
        Rotate a diagonal covariance by a random orthogonal matrix.
    n_test : int, default=0
        Size of an independent test set (``X_test``, ``y_test``).
    spectrum_params : dict, default=None
        Keyword arguments of :func:`make_spectrum`.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in ``{-1, 1}``.
    truth : Bunch
        ``mean``, ``coef_init``, ``w_star``, ``covariance``, ``distribution``,
        ``task="classification"``, and ``X_test``, ``y_test`` when ``n_test > 0``.

    Examples
    --------
    >>> from skft.datasets import make_transfer_classification
    >>> X, y, truth = make_transfer_classification(40, 80, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((40, 80), [-1, 1])
    """
    n = _check_int(n_samples, "n_samples")
    d = _check_int(n_features, "n_features")
    n_test = _check_int(n_test, "n_test", minimum=0)
    for name, val in (("separation", separation), ("shift", shift)):
        if not (isinstance(val, numbers.Real) and np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}.")
    rng = np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))
    cov, root, sqrt_mat = _covariance(spectrum, d, rotate, rng, spectrum_params or {})
    direction = _unit(rng, d)
    if cov.ndim == 1:
        pinv_dir = np.where(cov > 0, direction / np.where(cov > 0, cov, 1.0), 0.0)
        direction = np.where(cov > 0, direction, 0.0)
    else:
        lam, vec = np.linalg.eigh(cov)
        keep = lam > lam.max() * d * np.finfo(np.float64).eps
        c = vec.T @ direction
        direction = vec[:, keep] @ c[keep]
        pinv_dir = vec[:, keep] @ (c[keep] / lam[keep])
    m1 = float(direction @ pinv_dir)
    scale = separation / np.sqrt(m1) if m1 > 0 else 0.0
    mean = scale * direction
    m = separation**2
    w_star = scale * pinv_dir / (1.0 + m)
    delta = shift * np.linalg.norm(w_star) * _unit(rng, d)
    coef_init = w_star + delta

    def draw(k):
        labels = rng.integers(0, 2, size=k) * 2 - 1
        X = labels[:, None] * mean + _features(rng, k, d, distribution, root, sqrt_mat)
        return X, labels

    X, y = draw(n)
    truth = Bunch(
        mean=mean,
        coef_init=coef_init,
        w_star=w_star,
        delta=delta,
        covariance=cov,
        distribution=distribution,
        task="classification",
    )
    if n_test:
        truth.X_test, truth.y_test = draw(n_test)
    return X, y, truth


def exact_test_error(truth, coef):
    """Test error of linear coefficients on the distribution described by ``truth``.

    Regression (``truth.task == "regression"``): the exact test MSE
    ``(w - w_star)' Sigma (w - w_star) + noise_var`` for any feature distribution.
    Classification: ``Phi(-mean' w / sqrt(w' Sigma w))``, the error of ``sign(x' w)``,
    exact for Gaussian features and its central-limit value otherwise (accurate when
    ``w`` is spread over many directions, the setting of the theory).

    Parameters
    ----------
    truth : Bunch
        As returned by :func:`make_transfer_regression` or
        :func:`make_transfer_classification`.
    coef : array-like of shape (n_features,)
        Coefficients ``w`` (no intercept).

    Returns
    -------
    error : float

    Examples
    --------
    >>> from skft.datasets import make_transfer_regression, exact_test_error
    >>> X, y, truth = make_transfer_regression(10, 20, shift=2.0, random_state=0)
    >>> exact_test_error(truth, truth.coef_init)          # ||delta||^2 + noise^2
    4.25
    """
    refuse_complex(coef, "coef")
    w = np.asarray(coef, dtype=np.float64)
    cov = truth.covariance
    if w.shape != (cov.shape[0],):
        raise ValueError(f"coef must have shape ({cov.shape[0]},), got {w.shape}.")

    def quad(v):
        return float(v @ (cov * v)) if cov.ndim == 1 else float(v @ cov @ v)

    if truth.task == "regression":
        return quad(w - truth.w_star) + truth.noise_var
    return float(ndtr(-(truth.mean @ w) / np.sqrt(quad(w)))) if quad(w) > 0 else 0.5
