"""Asymptotic misclassification rate of the pretrained and of the fine-tuned classifier."""

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ._regression import _squeeze
from ._spectrum import Spectrum, _check_n_alpha, _clip_alpha, _normalise, _solve_kappa

__all__ = ["ClassificationError", "classification_error"]


@dataclass(frozen=True)
class ClassificationError:
    """Misclassification rates of the pretrained and fine-tuned linear classifiers.

    Arrays have the shape of ``broadcast(n_samples, alpha)``; floats for scalar inputs.

    Attributes
    ----------
    pretrained : float
        ``Phi(-mu' w0 / sqrt(w0' Sigma w0))``.
    finetuned : float or ndarray
        ``Phi(-t / sqrt(q))``.
    t : float or ndarray
        Limit of ``mu' w`` for the fine-tuned ``w`` (the signal).
    q : float or ndarray
        Limit of ``w' Sigma w`` (the noise).
    kappa : float or ndarray
        Effective regularisation (0 for least squares).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import classification_error
    >>> res = classification_error(np.ones(200), np.full(200, 0.1), np.zeros(200), 100)
    >>> res.pretrained, bool(res.finetuned < 0.5)
    (0.5, True)
    """

    pretrained: float
    finetuned: np.ndarray
    t: np.ndarray
    q: np.ndarray
    kappa: np.ndarray


def _margin_error(t, q):
    """``Phi(-t / sqrt(q))`` with the conventions 0/0 -> 1/2 and t/0 -> 0 or 1."""
    t = np.asarray(t, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        edge = np.where(t > 0, np.inf, np.where(t < 0, -np.inf, 0.0))
        z = np.where(q > 0, t / np.sqrt(np.where(q > 0, q, 1.0)), edge)
    return ndtr(-z)


def _classification_error(eigenvalues, mu_coords, w0_coords, n_samples, alpha=0.0):
    """Pure classification error on eigen-coordinates (no validation).

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
        Eigenvalues of ``Sigma = Cov z``.
    mu_coords, w0_coords : ndarray of shape (d,)
        Eigen-coordinates ``V' mu`` and ``V' w0``. Only the products
        ``mu_j^2, mu_j w0_j, w0_j^2`` enter, so assumed profiles may be used.
    n_samples, alpha : ndarray
        Broadcastable arrays (``n > 0``, ``alpha >= 0``).

    Returns
    -------
    ClassificationError
        Array fields of shape ``broadcast(n_samples, alpha)``.
    """
    mu = np.asarray(mu_coords, dtype=np.float64)
    w0 = np.asarray(w0_coords, dtype=np.float64)
    W = np.stack([mu * mu, mu * w0, w0 * w0], axis=1)
    return _classification_error_grouped(eigenvalues, None, W, n_samples, alpha)


def _classification_error_grouped(eigenvalues, weights, products, n_samples, alpha=0.0):
    """:func:`_classification_error` from the products ``mu_j^2, mu_j w0_j, w0_j^2``
    (columns of ``products``), summed over groups of eigen-directions sharing an eigenvalue:
    ``weights`` (None: all 1) counts the directions of each group. Only such sums enter the
    formulas, so a spectrum with repeated values costs its number of distinct values."""
    # unit scale (see _normalise): the problem (Sigma / t, mu / sqrt(t), w0 sqrt(t), alpha / t)
    # has the same margins mu'w, w'Sigma w and error rates; kappa scales with t
    lam, tsc = _normalise(eigenvalues)
    W = np.asarray(products, dtype=np.float64) * np.array([1.0 / tsc, 1.0, tsc])
    n, a = np.broadcast_arrays(
        np.asarray(n_samples, dtype=np.float64), np.asarray(alpha, dtype=np.float64)
    )
    shape = n.shape
    n, a = n.ravel(), a.ravel() / tsc
    a = _clip_alpha(lam, a)
    rank = int(np.count_nonzero(lam)) if weights is None else float(np.sum(weights[lam > 0]))
    lw = lam if weights is None else lam * weights
    k, s1, s2 = _solve_kappa(
        lam, n, a, extra1=W, extra2=np.column_stack([lw * lam, W * lam[:, None]]),
        weights=weights,
    )
    t = np.empty(n.size)
    q = np.empty(n.size)
    pos = k > 0
    if np.any(pos):
        kp, np_, ap = k[pos], n[pos], a[pos]
        g, df2 = s2[pos, 0], s2[pos, 1]
        r1, r2 = s1[pos, 1:], s2[pos, 2:]
        denom = np_ * ap / kp + kp * g  # n - df2 (> 0, no cancellation)
        big_a = kp * r1[:, 0]  # L(mu, mu) = k mu'(Sigma + k)^-1 mu
        c0 = kp * r1[:, 1]  # L(mu, w0)
        bq = kp[:, None] ** 2 * r2 * (np_ / denom)[:, None]  # Bq(., .)
        v1 = df2 / denom
        tt = (big_a + kp * c0) / (big_a + kp)
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(big_a > 0, (tt - c0) / np.where(big_a > 0, big_a, 1.0), 1.0)
        t[pos] = tt
        q[pos] = bq[:, 2] + 2 * s * bq[:, 1] + s**2 * bq[:, 0] + (1 - tt) ** 2 * v1
    ls = ~pos
    if np.any(ls):
        # alpha = 0, n >= rank: least squares, w -> Sigma^+ mu / (1 + m) with noise.
        nz = lam > 0
        m = float(np.sum(W[nz, 0] / lam[nz]))
        nl = n[ls]
        with np.errstate(divide="ignore", invalid="ignore"):
            t[ls] = m / (1.0 + m)
            gap = nl - rank
            # Phi(-t/sqrt(q)) = Phi(-m sqrt((n - r)/(m n + r))) (DESIGN.md section 4).
            q[ls] = np.where(
                gap > 0,
                (m * nl + rank) / ((1.0 + m) ** 2 * np.where(gap > 0, gap, 1.0)),
                np.inf,
            )
    pre = float(_margin_error(np.sum(W[:, 1]), np.sum(lam * W[:, 2])))
    return ClassificationError(
        pretrained=pre,
        finetuned=_margin_error(t, q).reshape(shape),
        t=t.reshape(shape),
        q=q.reshape(shape),
        kappa=(tsc * k).reshape(shape),
    )


def classification_error(covariance, mean, coef_init, n_samples, alpha=0.0):
    r"""Asymptotic misclassification rates of the pretrained and fine-tuned classifiers.

    Setting: labels ``y = +-1`` equally likely, features ``x = y * mean + z`` with
    ``E z = 0``, ``Cov z = Sigma`` (symmetric distribution of ``z``; only its first two
    moments matter in the proportional limit ``n, d -> inf``). The classifier is
    ``sign(x' w)`` without intercept. Fine-tuning fits the +-1 labels with the squared loss
    from ``w0 = coef_init`` with the pull ``alpha/2 ||w - w0||^2``:
    ``w = w0 + X'(X X' + n alpha I)^{-1} (y - X w0)``.

    With ``kappa`` as in :func:`effective_regularization`, ``L(a, b) = k a'(Sigma + k)^{-1} b``,
    ``Bq(a, b) = k^2 a' Sigma (Sigma + k)^{-2} b / (1 - df2/n)``,
    ``V1 = df2 / (n - df2)``, ``c0 = L(mu, w0)``, ``A = L(mu, mu)``:

    .. math::

        t = \frac{A + \kappa c_0}{A + \kappa},\quad s = \frac{t - c_0}{A},\quad
        q = B_q(w_0, w_0) + 2 s B_q(w_0, \mu) + s^2 B_q(\mu, \mu) + (1 - t)^2 V_1,

    ``t`` and ``q`` being the limits of ``mu' w`` and ``w' Sigma w``, and

    .. math::

        E_{ft} = \Phi(-t / \sqrt{q}), \qquad
        E_{pre} = \Phi(-\mu' w_0 / \sqrt{w_0' \Sigma w_0}).

    For ``alpha = 0`` and ``n > r`` (``r`` the rank of ``Sigma``) least squares forgets the
    start: ``E_ft = Phi(-m sqrt((n - r)/(m n + r)))`` with ``m = mu' Sigma^+ mu``
    (``mean`` is assumed to lie in the range of ``Sigma``); it is ``1/2`` at ``n = r``.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance ``Sigma`` (matrix, diagonal or :class:`Spectrum`).
    mean : array-like of shape (d,)
        Class mean ``mu`` (the classes are centred at ``+mu`` and ``-mu``).
    coef_init : array-like of shape (d,)
        Pretrained coefficients ``w0``.
    n_samples : float or array-like
        Number of target samples ``n > 0``.
    alpha : float or array-like, default=0.0
        Pull toward the start ``alpha >= 0``; broadcast with ``n_samples``.

    Returns
    -------
    ClassificationError
        ``.pretrained``, ``.finetuned``, ``.t``, ``.q``, ``.kappa``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import classification_error
    >>> d = 200
    >>> mean = np.full(d, 1.0 / np.sqrt(d))               # m = ||mu||^2 = 1
    >>> err = classification_error(np.ones(d), mean, np.zeros(d), [100, 1000])
    >>> err.pretrained                                    # w0 = 0: a coin flip
    0.5
    >>> float(err.finetuned[1])                           # Phi(-sqrt(800 / 1200))
    0.2071...
    """
    spec = Spectrum.from_covariance(covariance)
    mu = spec.coords(mean, "mean")
    w0 = spec.coords(coef_init, "coef_init")
    n, a = _check_n_alpha(n_samples, alpha)
    return _squeeze(_classification_error(spec.eigenvalues, mu, w0, n, a))
