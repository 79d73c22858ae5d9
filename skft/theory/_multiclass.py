"""Argmax error of a one-vs-rest linear classifier fine-tuned with a convex loss.

One-vs-rest fits ``K`` binary problems on the same samples: problem ``j`` labels class ``j``
``+1`` and every other class ``-1``. Each is the convex classification problem of
:mod:`skft.theory._fixed_point` for the ``K``-component mixture (component ``c``: prior
``pi_c``, mean ``mu_c``, label ``+1`` if ``c = j``). The prediction is the argmax of the ``K``
scores ``S_j = x'w_j + b_j``; for a test point of class ``c`` they are jointly Gaussian with
means ``mu_c'w_j + b_j`` and covariances ``Q_jk = w_j' Sigma w_k``. The diagonal comes from each
problem's fixed point; the cross terms from the joint law of the two estimators, which share
the data: with ``w_j = (Sigma + k_j)^{-1} g_j - s_j (Sigma + k_j)^{-1} Sigma^{1/2} h_j /
sqrt(n)`` (``g_j`` the combination of means and start, ``s_j`` the scale ``1/theta_j``), the
noise vectors of two problems are correlated through the samples' gradients,
``E[h_j h_k'] = E[f_j f_k] I / (beta_j beta_k)``, so

.. math:: Q_{jk} = g_j^\\top \\Sigma (\\Sigma + k_j)^{-1} (\\Sigma + k_k)^{-1} g_k
          + \\frac{s_j s_k \\mathbb{E}[f_j f_k]}{n}
          \\operatorname{tr}\\big(\\Sigma^2 (\\Sigma + k_j)^{-1} (\\Sigma + k_k)^{-1}\\big),

where ``E[f_j f_k]`` averages over the classes the product of the two problems' gradients
at the leave-one-out scores ``(P_j, P_k)``, jointly Gaussian with covariance ``Q_jk``: a scalar
fixed point per pair. For the squared loss this is the exact bilinear form of the two ridge
solutions. The argmax error is ``1 - sum_c pi_c P(S_c > S_j for all j != c)``, a
``(K - 1)``-dimensional Gaussian orthant probability (Genz's algorithm, fixed seed).
"""

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from ._convex_classification import (
    CLASSIFICATION_LOSSES,
    _as_float_array,
    _binary_error,
    _check_intercept,
    _check_loss,
    _check_priors,
    _points,
    _solve_point,
)
from ._fixed_point import _Mixture
from ._proximal import _normal_nodes, get_channel
from ._separability import _separability_n
from ._spectrum import Spectrum, _check_n_alpha
from ._units import _unit_alpha, _unit_mixture, _unit_products

__all__ = ["MulticlassError", "multiclass_error"]


@dataclass(frozen=True)
class MulticlassError:
    """Argmax and one-vs-rest error rates of the pretrained and fine-tuned classifiers.

    Arrays have the shape of ``broadcast(n_samples, alpha)`` (per-class arrays one more
    trailing axis of length ``K``, score laws two or three); floats for scalar inputs.

    Attributes
    ----------
    pretrained : float
        Argmax error of the start.
    finetuned : float or ndarray
        Argmax error of the fine-tuned one-vs-rest model.
    pretrained_per_class : ndarray of shape (K,)
        One-vs-rest error rate of each class's start (binary problem ``j``: class ``j``
        against the rest).
    finetuned_per_class : ndarray of shape (..., K)
        One-vs-rest error rate of each fine-tuned binary problem.
    score_mean : ndarray of shape (..., K, K)
        ``score_mean[..., c, j]``: mean of the score ``x'w_j + b_j`` over class ``c``.
    score_cov : ndarray of shape (..., K, K)
        ``w_j' Sigma w_k``: covariance of the scores within a class.
    regime : ndarray of str, shape (..., K)
        Regime of each binary problem (see :class:`ConvexClassificationError`).
    loss : str

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import multiclass_error
    >>> d = 120
    >>> means = 1.5 * np.eye(3, d)
    >>> res = multiclass_error(np.ones(d), means, np.zeros((3, d)), 240, 0.1)
    >>> res.pretrained                  # w0 = 0: every score ties, argmax picks class 0
    0.6666666666666667
    >>> bool(res.finetuned > res.finetuned_per_class.max())   # argmax error > one-vs-rest
    True
    """

    pretrained: float
    finetuned: np.ndarray
    pretrained_per_class: np.ndarray
    finetuned_per_class: np.ndarray
    score_mean: np.ndarray
    score_cov: np.ndarray
    regime: np.ndarray
    loss: str


def _argmax_error(prior, score_mean, score_cov, rng_seed=0):
    """``1 - sum_c pi_c P(S_c > S_j, j != c)`` for ``S ~ N(score_mean[c], score_cov)``."""
    K = prior.size
    correct = 0.0
    for c in range(K):
        others = [j for j in range(K) if j != c]
        A = -np.eye(K)[others]
        A[:, c] = 1.0  # rows e_c - e_j
        mean = A @ score_mean[c]
        cov = A @ score_cov @ A.T
        sd = np.sqrt(np.clip(np.diag(cov), 0.0, None))
        if np.all(sd > 1e-14 * (1.0 + np.abs(mean))):
            corr = cov / np.outer(sd, sd)
            upper = mean / sd  # P(D > 0) = P(-Z < mean/sd) with Z standardised
            if K == 2:
                p = float(ndtr(upper[0]))
            else:
                p = float(multivariate_normal.cdf(
                    upper, mean=np.zeros(K - 1), cov=corr, allow_singular=True,
                    abseps=1e-7, releps=1e-6, maxpts=200_000 * K,
                    rng=np.random.default_rng(rng_seed)))
        else:  # no spread: ties go to the first class, as numpy's argmax (and predict) does
            p = float(np.all((mean > 0) | ((mean == 0) & (np.array(others) > c))))
        correct += prior[c] * p
    return float(min(max(1.0 - correct, 0.0), 1.0))


def _phi_nodes(channel, sol, label, a, q):
    """Nodes ``P`` and weights for ``P ~ N(a, q)`` with the gradient ``phi(P)`` there."""
    s = np.sqrt(max(q, 0.0))
    hard = sol.regime == "hard"
    if channel.kind == "margin" and not hard and hasattr(channel, "nodes"):  # logistic
        z, Z, w = channel.nodes(label * a, s, sol.V)
        return label * Z, w, label * (z - Z) / sol.V
    if hard:
        breaks = (label * sol.margin,)
    elif isinstance(channel, type(get_channel("hinge", "classification"))):
        breaks = (label * 1.0, label * (1.0 - sol.V))
    elif isinstance(channel, type(get_channel("modified_huber", "classification"))):
        breaks = (label * 1.0, label * (-1.0 - 4.0 * sol.V))
    else:
        breaks = ()
    P, w = _normal_nodes(a, s, breaks=breaks)
    Zm = label * P
    g = channel.hard_g(Zm + 1.0 - sol.margin) if hard else channel.g(Zm, sol.V)
    return P, w, label * g


def _cross_moment(channels, sols, labels, prior, scores, q, Q):
    """``E[phi_j phi_k]`` averaged over the components, at score covariance ``Q``.

    Outer quadrature over ``P_j``; the conditional mean of ``phi_k`` given ``P_j`` (Gaussian,
    with a variance that does not depend on ``P_j``) in closed form, or for the logistic loss
    by its Gaussian average on a grid (at most 129 points) and a cubic spline in the
    conditional mean.
    """
    (cj, ck), (sj, sk) = channels, sols
    qj, qk = q
    rho = Q / np.sqrt(qj * qk) if qj > 0 and qk > 0 else 0.0
    rho = float(np.clip(rho, -1.0, 1.0))
    cond_sd = np.sqrt(max(qk * (1.0 - rho * rho), 0.0))
    total = 0.0
    for c in range(prior.size):
        yj, yk = labels[0][c], labels[1][c]
        P, w, phi_j = _phi_nodes(cj, sj, yj, scores[0][c], qj)
        cond_mean = scores[1][c] + rho * np.sqrt(qk / qj) * (P - scores[0][c])
        if sk.regime == "hard":
            g1 = ck.hard(yk * cond_mean + 1.0 - sk.margin, cond_sd)[0]
        elif hasattr(ck, "nodes") and cond_mean.size > 129 and np.ptp(cond_mean) > 0:
            # the Gaussian average is smooth on the scale max(sd, 1): a spline on a grid
            # of a quarter of that step (9 to 129 points) is within ~3e-6 of it
            step = 0.25 * max(cond_sd, 1.0)
            size = int(np.clip(np.ceil(np.ptp(cond_mean) / step), 8, 128)) + 1
            grid = np.linspace(cond_mean.min(), cond_mean.max(), size)
            spline = CubicSpline(grid, ck.moments(yk * grid, cond_sd, sk.V)[0])
            g1 = spline(cond_mean)
        else:
            g1 = ck.moments(yk * cond_mean, np.full_like(cond_mean, cond_sd), sk.V)[0]
        total += prior[c] * float(w @ (phi_j * yk * g1))
    return total


def _scalar_fixed_point(fun, x0, bound, tol=1e-12):
    """``x = fun(x)`` on ``[-bound, bound]``: iteration with Steffensen acceleration."""
    x = float(np.clip(x0, -bound, bound))
    for _ in range(100):
        x1 = float(np.clip(fun(x), -bound, bound))
        if abs(x1 - x) <= tol * bound:
            return x1
        x2 = float(np.clip(fun(x1), -bound, bound))
        denom = x2 - 2.0 * x1 + x
        acc = x - (x1 - x) ** 2 / denom if denom != 0 else x2
        x = float(np.clip(acc, -bound, bound)) if np.isfinite(acc) else x2
        if abs(x - x2) <= tol * bound:
            return x
    raise RuntimeError("the cross-covariance of two one-vs-rest problems did not converge.")


def _pair_sums(lam, prods, kj, kk, n):
    """``X_ab = sum l P_ab r_j r_k`` and ``sum l^2 r_j r_k / n`` with ``r = 1/(l + k)``
    (``k = 0``: the pseudo-inverse, zero on null directions)."""
    pos = lam > 0
    rj = np.where(pos | (kj > 0), 1.0 / np.where(pos | (kj > 0), lam + kj, 1.0), 0.0)
    rk = np.where(pos | (kk > 0), 1.0 / np.where(pos | (kk > 0), lam + kk, 1.0), 0.0)
    weight = lam * rj * rk
    X = np.tensordot(weight, prods, axes=(0, 0))
    return X, float(weight @ lam) / n


def _multiclass_point(lam, prods, prior, K, n, alpha, loss, channel, fit_intercept, b0, n_seps,
                      inits, one=1.0):
    """Solve the ``K`` problems and the cross terms at one ``(n, alpha)``."""
    idx_means = np.arange(K)
    sols, b, regimes, labels, gammas = [], [], [], [], []
    for j in range(K):
        label = np.where(idx_means == j, 1.0, -1.0)
        sub = np.concatenate([idx_means, [K + j]])
        p_j = prods[:, sub][:, :, sub]
        sol, regime, x, bj = _solve_point(lam, p_j, prior, label, K, n, alpha, channel, loss,
                                          fit_intercept, b0[j], n_seps[j],
                                          inits.setdefault(j, {}), one=one)
        if sol is None:
            raise ValueError(
                f"n_samples={n:g} is the interpolation threshold of least squares (the rank of "
                "the covariance): the scores' variance is infinite there.")
        inits[j][regime] = x
        g = np.zeros(2 * K)
        g[sub] = sol.gamma[: K + 1]  # the augmented intercept coordinate has eigenvalue 0
        sols.append(sol)
        b.append(bj)
        regimes.append(regime)
        labels.append(label)
        gammas.append(g)
    scores = np.array([[sols[j].m[c] + sols[j].b for c in range(K)] for j in range(K)])
    q = np.array([s.q for s in sols])
    Q = np.diag(q)
    chans = [channel if s.regime != "hard" or loss == "squared_error"
             else get_channel("hinge", "classification") for s in sols]
    for j in range(K):
        for k in range(j + 1, K):
            X, Y = _pair_sums(lam, prods, sols[j].k, sols[k].k, n)
            det = float(gammas[j] @ X @ gammas[k])
            scale = sols[j].scale * sols[k].scale * Y
            bound = np.sqrt(q[j] * q[k])

            def cross(Qjk, j=j, k=k, scale=scale):
                return scale * _cross_moment((chans[j], chans[k]), (sols[j], sols[k]),
                                             (labels[j], labels[k]), prior,
                                             (scores[j], scores[k]), (q[j], q[k]), Qjk)

            val = _scalar_fixed_point(lambda v, c=cross, d0=det: d0 + c(v), det, bound)
            Q[j, k] = Q[k, j] = val
    return scores.T, Q, regimes


def multiclass_error(covariance, means, coef_init, n_samples, alpha=0.0, *,
                     loss="squared_error", priors=None, fit_intercept=False,
                     intercept_init=0.0):
    r"""Asymptotic argmax error of the one-vs-rest classifier, fine-tuned with a convex loss.

    Setting: ``K >= 3`` classes with probabilities ``priors``, features ``x = mu_c + z`` with
    ``E z = 0``, ``Cov z = Sigma`` common to the classes (only the first two moments of
    ``z`` matter in the proportional limit). One-vs-rest fine-tuning fits, for each class
    ``j``, labels ``+1`` (class ``j``) / ``-1`` (the rest) with ``loss`` from the start
    ``coef_init[j]`` (as ``WarmStartSGDClassifier``): each binary problem is the setting of
    :func:`convex_classification_error` with a ``K``-component mixture. The prediction is
    the class with the largest score ``x'w_j + b_j``; its error is

    .. math:: E = 1 - \sum_c \pi_c\, \mathbb{P}\big(S_c > S_j\ \forall j \ne c\big),
              \qquad S \sim \mathcal N(M_c, Q),

    with ``M_c[j] = mu_c'w_j + b_j`` and ``Q_jk = w_j' Sigma w_k``, the cross-covariances
    coming from the joint law of the ``K`` estimators fitted on the same samples (module
    docstring of ``skft.theory._multiclass``). The per-class one-vs-rest rates are
    reported beside it; they are not the model's error.

    Units: with features in units ``x``, the covariance is in ``x^2``, ``means`` in ``x``,
    ``coef_init`` in ``1/x`` and ``alpha`` in ``x^2``; the error rates and the scores' law do
    not depend on the scale. The equations are solved at unit scale (divisions by exact powers
    of two), so the answer is the same at any covariance scale float64 holds.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance ``Sigma``.
    means : array-like of shape (K, d)
        Class means, in the order of the classes (``classes_``).
    coef_init : array-like of shape (K, d)
        Starts ``w0_j``, one row per class.
    n_samples : float or array-like
        Number of target samples.
    alpha : float or array-like, default=0.0
        Pull toward the start; broadcast with ``n_samples``.
    loss : {"squared_error", "log_loss", "hinge", "modified_huber"}, default="squared_error"
    priors : array-like of shape (K,), default=None
        Class probabilities (default equal).
    fit_intercept : bool, default=False
    intercept_init : float or array-like of shape (K,), default=0.0
        Starts' intercepts ``b0_j``.

    Returns
    -------
    MulticlassError

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import multiclass_error
    >>> d = 300
    >>> means = 2.0 * np.eye(3, d)                 # three classes on orthogonal axes
    >>> res = multiclass_error(np.ones(d), means, np.zeros((3, d)), 600, 0.05)
    >>> round(res.finetuned, 3), res.finetuned_per_class.round(3)
    (0.284, array([0.226, 0.226, 0.226]))
    """
    _check_loss(loss, CLASSIFICATION_LOSSES)
    spec = Spectrum.from_covariance(covariance)
    mu = _as_float_array(means, "means")
    d = spec.n_features
    if mu.ndim != 2 or mu.shape[1] != d or mu.shape[0] < 3:
        raise ValueError(f"means must have shape (K, {d}) with K >= 3 classes, got {mu.shape}.")
    K = mu.shape[0]
    W0 = _as_float_array(coef_init, "coef_init")
    if W0.shape != (K, d):
        raise ValueError(f"coef_init must have shape ({K}, {d}), got {W0.shape}.")
    prior = _check_priors(priors, K)
    b0 = np.broadcast_to(_as_float_array(intercept_init, "intercept_init"), (K,)).astype(float)
    for v in b0:
        _check_intercept(v)
    n, a = _check_n_alpha(n_samples, alpha)
    vec = np.vstack([spec.coords(row, "means") for row in mu]
                    + [spec.coords(row, "coef_init") for row in W0])
    lam, prods, e = _unit_products(spec.eigenvalues, vec, K, "means and coef_init")
    res = _multiclass_error(lam, prods, prior, n, _unit_alpha(a, e), loss=loss, unit_exponent=e,
                            fit_intercept=bool(fit_intercept), intercept_init=b0)
    return _squeeze_multiclass(res)


def _multiclass_error(eigenvalues, prods, priors, n_samples, alpha=0.0, *, loss="squared_error",
                      fit_intercept=False, intercept_init=None, unit_exponent=0):
    """Pure multiclass error on eigen-coordinate products ``(d, 2K, 2K)`` of
    ``[mu_1..mu_K, w0_1..w0_K]`` (no validation); ``unit_exponent`` as for
    :func:`skft.theory._convex_classification._convex_classification_error`."""
    prior = np.asarray(priors, dtype=np.float64)
    K = prior.size
    # unit scale (module skft.theory._units): the scores' law is scale-free
    lam, prods, alpha, e = _unit_mixture(eigenvalues, prods, K, alpha)
    one = float(np.ldexp(1.0, -(e + unit_exponent) // 2))  # the intercept's feature 1
    b0 = np.zeros(K) if intercept_init is None else np.asarray(intercept_init, dtype=float)
    n, a, shape = _points(lam, n_samples, alpha)
    channel = get_channel(loss, "classification")
    mix = _Mixture(lam, prods[:, :K, :K], prior, np.arange(K), np.ones(K), np.ones(K), -1)
    if not np.any(a == 0) or loss == "squared_error":  # the squared loss needs the rank only
        n_seps = [np.nan] * K  # only alpha = 0 needs them
    elif mix.means_outside_range():
        n_seps = [np.inf] * K
    else:
        n_seps = [_separability_n(mix._pinv, prior, np.where(np.arange(K) == j, 1.0, -1.0),
                                  mix.rank, fit_intercept) for j in range(K)]
    # the start: score means and covariance
    M0 = prods[:, :K, K:].sum(axis=0) + b0[None, :]  # [c, j] = mu_c'w0_j + b0_j
    Q0 = np.tensordot(lam, prods[:, K:, K:], axes=(0, 0))
    pre = _argmax_error(prior, M0, Q0)
    pre_ovr = np.array([_ovr_rate(prior, j, M0[:, j], Q0[j, j]) for j in range(K)])
    fine = np.empty(n.size)
    fine_ovr = np.empty((n.size, K))
    smean = np.empty((n.size, K, K))
    scov = np.empty((n.size, K, K))
    regime = np.empty((n.size, K), dtype=object)
    inits = {}
    for i in np.lexsort((-n, a)):
        M, Q, regs = _multiclass_point(lam, prods, prior, K, n[i], a[i], loss, channel,
                                       fit_intercept, b0, n_seps, inits, one)
        smean[i], scov[i] = M, Q
        regime[i] = regs
        fine_ovr[i] = [_ovr_rate(prior, j, M[:, j], Q[j, j]) for j in range(K)]
        fine[i] = _argmax_error(prior, M, Q)
    return MulticlassError(
        pretrained=pre,
        finetuned=fine.reshape(shape),
        pretrained_per_class=pre_ovr,
        finetuned_per_class=fine_ovr.reshape(shape + (K,)),
        score_mean=smean.reshape(shape + (K, K)),
        score_cov=scov.reshape(shape + (K, K)),
        regime=regime.reshape(shape + (K,)),
        loss=loss,
    )


def _ovr_rate(prior, j, means_j, q):
    """Binary error of problem ``j``: ``sum_c pi_c Phi(-y_c m_c / sqrt q)``."""
    return _binary_error(prior, np.where(np.arange(prior.size) == j, 1.0, -1.0), means_j, q)


def _squeeze_multiclass(res):
    fields = dict(vars(res))
    if np.ndim(res.finetuned) == 0:
        fields["finetuned"] = float(res.finetuned)
    return MulticlassError(**fields)
