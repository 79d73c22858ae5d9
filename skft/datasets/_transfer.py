"""Transfer problems whose truth is known: target data for a pretrained linear model."""

import numbers

import numpy as np
from scipy.special import ndtr
from sklearn.utils import Bunch, check_random_state

from .._core._dense_linalg import eigh
from ..utils._validation import refuse_complex
from ._distributions import (
    DISTRIBUTIONS,
    _check_int,
    _covariance,
    _direction,
    _feature_mean,
    _features,
    _repeat_rows,
    _unit,
    make_spectrum,
)

__all__ = [
    "DISTRIBUTIONS",
    "exact_test_error",
    "make_spectrum",
    "make_transfer_classification",
    "make_transfer_regression",
]


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
    shift_direction="random",
    shift_fraction=0.1,
    feature_mean=0.0,
    intercept=0.0,
    intercept_init=0.0,
    repeats=1,
    jitter=0.0,
    random_state=None,
):
    """Target regression data for a pretrained linear model, with the truth.

    ``x = feature_mean + Sigma^{1/2} z`` with ``z`` i.i.d. from ``distribution``
    (standardised to mean 0, variance 1, so every distribution has the same first and second
    moments), ``y = x' w_star + intercept + noise * eps`` with ``eps ~ N(0, 1)``. ``w_star``
    is a uniformly random direction of norm ``signal``; the pretrained coefficients are
    ``coef_init = w_star + delta`` with ``delta`` of norm ``shift`` along ``shift_direction``
    (by default a uniformly random direction, so ``delta`` is spread over the
    eigen-directions like a random vector), and the pretrained intercept is
    ``intercept_init``.

    The exact test MSE of coefficients ``w`` and intercept ``b`` is
    ``(w - w_star)' Sigma (w - w_star) + (b - intercept + feature_mean'(w - w_star))^2
    + noise^2`` (see :func:`exact_test_error`).

    Parameters
    ----------
    n_samples : int, default=100
        Number of target samples (rows).
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
        ``y_test`` in the bunch) if > 0 (independent rows, never repeated).
    spectrum_params : dict, default=None
        Keyword arguments of :func:`make_spectrum` (``ratio``, ``fraction``, ``exponent``).
    shift_direction : {"random", "top", "bottom"} or array-like of shape (d,), \
default="random"
        Direction of ``delta = coef_init - w_star``: uniformly random; uniformly random in
        the span of the ``ceil(shift_fraction * d)`` eigen-directions of ``Sigma`` with the
        largest (``"top"``) or smallest (``"bottom"``) eigenvalues; or the given vector.
    shift_fraction : float in (0, 1], default=0.1
        Fraction of eigen-directions spanned by a ``"top"`` or ``"bottom"`` shift.
    feature_mean : float or array-like of shape (d,), default=0.0
        Mean of the features (uncentred features when non-zero).
    intercept : float, default=0.0
        True intercept ``b_star`` of the target.
    intercept_init : float, default=0.0
        Pretrained intercept ``b0`` (returned in the truth; the data do not depend on it).
    repeats : int, default=1
        Each independent sample appears ``repeats`` times among the ``n_samples`` rows
        (``ceil(n_samples / repeats)`` independent samples, rows shuffled): rows that are
        not independent.
    jitter : float, default=0.0
        Repeated rows after the first copy get ``jitter * Sigma^{1/2} z'`` added to their
        features (near duplicates; the label is copied).
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
    truth : Bunch
        ``w_star``, ``coef_init``, ``delta``, ``covariance`` ((d,) diagonal or (d, d)
        matrix), ``noise_var``, ``distribution``, ``feature_mean`` ((d,)), ``intercept``,
        ``intercept_init``, ``n_unique`` (independent samples), ``task="regression"``, and
        ``X_test``, ``y_test`` when ``n_test > 0``.

    Examples
    --------
    >>> from skft.datasets import make_transfer_regression
    >>> X, y, truth = make_transfer_regression(50, 100, spectrum="bilevel", random_state=0)
    >>> X.shape, truth.covariance.shape, truth.noise_var
    ((50, 100), (100,), 0.25)

    A shift along the ten directions of largest variance, uncentred features and a target
    intercept the start does not know:

    >>> X, y, truth = make_transfer_regression(
    ...     50, 100, spectrum="bilevel", shift_direction="top", feature_mean=0.5,
    ...     intercept=1.0, random_state=0)
    >>> round(float(truth.delta[10:] @ truth.delta[10:]), 12), truth.intercept
    (0.0, 1.0)
    """
    n = _check_int(n_samples, "n_samples")
    d = _check_int(n_features, "n_features")
    n_test = _check_int(n_test, "n_test", minimum=0)
    repeats = _check_int(repeats, "repeats")
    for name, val in (
        ("noise", noise),
        ("shift", shift),
        ("signal", signal),
        ("jitter", jitter),
    ):
        if not (isinstance(val, numbers.Real) and np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}.")
    for name, val in (("intercept", intercept), ("intercept_init", intercept_init)):
        if not (isinstance(val, numbers.Real) and np.isfinite(val)):
            raise ValueError(f"{name} must be a finite number, got {val!r}.")
    mean = _feature_mean(feature_mean, d)
    rng = np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))
    cov, root, sqrt_mat = _covariance(spectrum, d, rotate, rng, spectrum_params or {})
    w_star = signal * _unit(rng, d)
    delta = shift * _direction(rng, cov, shift_direction, shift_fraction, "shift_direction")
    coef_init = w_star + delta

    def draw(m):
        X = _features(rng, m, d, distribution, root, sqrt_mat)
        if np.any(mean):
            X += mean
        return X, X @ w_star + intercept + noise * rng.standard_normal(m)

    n_unique = -(-n // repeats)
    X, y = draw(n_unique)
    if repeats > 1:
        X, y, _ = _repeat_rows(rng, X, y, n, repeats, jitter, root, sqrt_mat, distribution)
    truth = Bunch(
        w_star=w_star,
        coef_init=coef_init,
        delta=delta,
        covariance=cov,
        noise_var=float(noise) ** 2,
        distribution=distribution,
        feature_mean=mean,
        intercept=float(intercept),
        intercept_init=float(intercept_init),
        n_unique=n_unique,
        task="regression",
    )
    if n_test:
        truth.X_test, truth.y_test = draw(n_test)
    return X, y, truth


def _class_weights(weights):
    """Probability of the class +1 (``weights`` = proportions of the classes -1 and +1)."""
    if weights is None:
        return None
    w = np.array(weights, dtype=np.float64).ravel()
    if w.size == 1:
        w = np.array([1.0 - w[0], w[0]])
    if w.size != 2 or not np.all(np.isfinite(w)) or np.any(w <= 0):
        raise ValueError(
            f"weights must be two positive proportions (classes -1, +1) or the proportion of "
            f"the class +1 in (0, 1), got {weights!r}."
        )
    return float(w[1] / w.sum())


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
    weights=None,
    feature_mean=0.0,
    repeats=1,
    jitter=0.0,
    random_state=None,
):
    """Two-class target data ``x = feature_mean + y * mean + z`` for a pretrained classifier.

    Labels ``y = +-1``, equally likely unless ``weights`` says otherwise;
    ``z = Sigma^{1/2} u`` with ``u`` i.i.d. from ``distribution`` (standardised, mean 0,
    variance 1; choose a symmetric one for the theory's symmetric mixture). ``mean`` is a
    uniformly random direction with ``mean' Sigma^+ mean = separation^2`` (the squared
    Mahalanobis half-distance). The reference coefficients are the population square-loss
    solution of the balanced, centred mixture ``w_star = (Sigma + mean mean')^{-1} mean`` and
    ``coef_init = w_star + delta`` with ``delta`` a random direction of norm
    ``shift * ||w_star||``.

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
    weights : float or array-like of shape (2,), default=None
        Class proportions (classes -1, +1), or the proportion of the class +1; ``None``:
        equally likely.
    feature_mean : float or array-like of shape (d,), default=0.0
        Mean shared by both classes (uncentred features when non-zero).
    repeats, jitter : int, float, default=1, 0.0
        Repeated and near-duplicate rows, as in :func:`make_transfer_regression`.
    random_state : int, RandomState instance or None, default=None
        Seed.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
    y : ndarray of shape (n_samples,)
        Labels in ``{-1, 1}``.
    truth : Bunch
        ``mean``, ``coef_init``, ``w_star``, ``covariance``, ``distribution``,
        ``prior`` (probability of the class +1), ``feature_mean``, ``n_unique``,
        ``task="classification"``, and ``X_test``, ``y_test`` when ``n_test > 0``.

    Examples
    --------
    >>> from skft.datasets import make_transfer_classification
    >>> X, y, truth = make_transfer_classification(40, 80, random_state=0)
    >>> X.shape, sorted(set(y.tolist()))
    ((40, 80), [-1, 1])
    >>> X, y, truth = make_transfer_classification(400, 80, weights=[0.7, 0.3], random_state=0)
    >>> truth.prior, bool(0.2 < (y == 1).mean() < 0.4)
    (0.3, True)
    """
    n = _check_int(n_samples, "n_samples")
    d = _check_int(n_features, "n_features")
    n_test = _check_int(n_test, "n_test", minimum=0)
    repeats = _check_int(repeats, "repeats")
    for name, val in (("separation", separation), ("shift", shift), ("jitter", jitter)):
        if not (isinstance(val, numbers.Real) and np.isfinite(val) and val >= 0):
            raise ValueError(f"{name} must be a finite number >= 0, got {val!r}.")
    prior = _class_weights(weights)
    common_mean = _feature_mean(feature_mean, d)
    rng = np.random.default_rng(check_random_state(random_state).randint(2**32 - 1))
    cov, root, sqrt_mat = _covariance(spectrum, d, rotate, rng, spectrum_params or {})
    direction = _unit(rng, d)
    if cov.ndim == 1:
        pinv_dir = np.where(cov > 0, direction / np.where(cov > 0, cov, 1.0), 0.0)
        direction = np.where(cov > 0, direction, 0.0)
    else:
        lam, vec = eigh(cov)  # one BLAS thread below 1024 rows
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
        if prior is None:
            labels = rng.integers(0, 2, size=k) * 2 - 1
        else:
            labels = np.where(rng.random(k) < prior, 1, -1)
        X = labels[:, None] * mean + _features(rng, k, d, distribution, root, sqrt_mat)
        if np.any(common_mean):
            X += common_mean
        return X, labels

    n_unique = -(-n // repeats)
    X, y = draw(n_unique)
    if repeats > 1:
        X, y, _ = _repeat_rows(rng, X, y, n, repeats, jitter, root, sqrt_mat, distribution)
    truth = Bunch(
        mean=mean,
        coef_init=coef_init,
        w_star=w_star,
        delta=delta,
        covariance=cov,
        distribution=distribution,
        prior=0.5 if prior is None else prior,
        feature_mean=common_mean,
        n_unique=n_unique,
        task="classification",
    )
    if n_test:
        truth.X_test, truth.y_test = draw(n_test)
    return X, y, truth


def exact_test_error(truth, coef, intercept=0.0):
    """Test error of a linear model ``x' coef + intercept`` on the distribution of ``truth``.

    Regression (``truth.task == "regression"``): the exact test MSE
    ``(w - w_star)' Sigma (w - w_star) + (b - b_star + m'(w - w_star))^2 + noise_var``
    (``m`` the feature mean, ``b_star`` the true intercept; both 0 unless the data were
    made with them) for any feature distribution. Classification: the error rate of
    ``sign(x' w + b)``, ``sum_y pi_y Phi(-(mean' w + y (m' w + b)) / sqrt(w' Sigma w))``
    (``pi_y`` the class proportions), exact for Gaussian features and its central-limit
    value otherwise (accurate when ``w`` is spread over many directions, the setting of the
    theory).

    Parameters
    ----------
    truth : Bunch
        As returned by :func:`make_transfer_regression` or
        :func:`make_transfer_classification`.
    coef : array-like of shape (n_features,)
        Coefficients ``w``.
    intercept : float, default=0.0
        Intercept ``b`` of the model.

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
    b = float(intercept)
    mean = truth.get("feature_mean")
    m = np.zeros(w.shape) if mean is None else mean

    def quad(v):
        return float(v @ (cov * v)) if cov.ndim == 1 else float(v @ cov @ v)

    if truth.task == "regression":
        v = w - truth.w_star
        off = b - truth.get("intercept", 0.0) + float(m @ v)
        return quad(v) + off**2 + truth.noise_var
    q = quad(w)
    t = float(truth.mean @ w)
    c = float(m @ w) + b
    prior = truth.get("prior", 0.5)
    if not q > 0:  # a constant margin per class: wrong when negative, a coin flip at 0
        def wrong(margin):
            return 1.0 if margin < 0 else (0.5 if margin == 0 else 0.0)

        return float(prior * wrong(t + c) + (1 - prior) * wrong(t - c))
    s = np.sqrt(q)
    return float(prior * ndtr(-(t + c) / s) + (1 - prior) * ndtr(-(t - c) / s))
