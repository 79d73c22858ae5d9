"""Asymptotic misclassification rate of a linear classifier fine-tuned with any convex loss."""

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ._fixed_point import _Mixture, _solve_hard, _solve_regular
from ._proximal import get_channel
from ._separability import _separability_n
from ._spectrum import Spectrum, _as_float_array, _check_n_alpha, _clip_alpha
from ._units import (
    _intercept_feature_error,
    _rescaled,
    _unit_alpha,
    _unit_mixture,
    _unit_products,
)

__all__ = ["ConvexClassificationError", "convex_classification_error", "separability_threshold"]

CLASSIFICATION_LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber")
_LABELS = np.array([-1.0, 1.0])


@dataclass(frozen=True)
class ConvexClassificationError:
    """Misclassification rates of the pretrained and of the fine-tuned linear classifier.

    Arrays have the shape of ``broadcast(n_samples, alpha)`` (``mean_score`` one more axis of
    length 2); floats for scalar inputs.

    Attributes
    ----------
    pretrained : float
        ``sum_c pi_c Phi(-y_c (mu_c'w0 + b0) / sqrt(w0' Sigma w0))``.
    finetuned : float or ndarray
        ``sum_c pi_c Phi(-y_c s_c / sqrt(q))``.
    mean_score : ndarray of shape (..., 2)
        Limits of the mean score ``s_c = mu_c'w + b`` in the classes ``-1`` and ``+1``.
    score_var : float or ndarray
        Limit ``q`` of ``w' Sigma w`` (the variance of the score within a class); for the
        max-margin limit the scale of ``w`` is arbitrary and ``q`` is that of the margin-1
        solution.
    intercept : float or ndarray
        Limit of the fitted intercept (``intercept_init`` when it is not fitted).
    kappa : float or ndarray
        Effective regularisation ``k = alpha / theta`` (0 where ``alpha = 0`` and the
        minimiser is unique).
    regime : str or ndarray of str
        ``"ridge"`` (``alpha > 0``), ``"unique"`` (``alpha = 0``, unique minimiser),
        ``"closest-interpolator"`` (squared loss, ``alpha = 0``, ``n < rank``: the SGD limit
        from the start) or ``"max-margin"`` (logistic loss, ``alpha = 0``, separable data).
    separability : float
        Number of samples below which the mixture is linearly separable (see
        :func:`separability_threshold`); ``nan`` unless ``alpha = 0`` was asked for with a loss
        other than the squared one (only that limit depends on it).
    loss : str

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import convex_classification_error
    >>> res = convex_classification_error(np.ones(200), np.full(200, 0.1), np.zeros(200),
    ...                                   100, alpha=0.1, loss="hinge")
    >>> res.pretrained, res.regime, bool(res.finetuned < 0.5)
    (0.5, 'ridge', True)
    """

    pretrained: float
    finetuned: np.ndarray
    mean_score: np.ndarray
    score_var: np.ndarray
    intercept: np.ndarray
    kappa: np.ndarray
    regime: np.ndarray
    separability: float
    loss: str


def _points(lam, n_samples, alpha):
    """``(n, alpha, shape)``: the broadcast points, flattened, alpha capped as elsewhere."""
    n, a = np.broadcast_arrays(np.asarray(n_samples, dtype=np.float64),
                               np.asarray(alpha, dtype=np.float64))
    return n.ravel(), _clip_alpha(lam, a.ravel()), n.shape


def _augment(lam, prods, coords):
    """Append one coordinate of eigenvalue 0 (the intercept as a feature equal to 1)."""
    d, M, _ = prods.shape
    out = np.empty((d + 1, M, M))
    out[:d] = prods
    out[d] = np.outer(coords, coords)
    return np.append(lam, 0.0), out


def _binary_error(prior, label, mean_score, q):
    """``sum_c pi_c Phi(-y_c s_c / sqrt(q))``; at ``q = 0`` a score of exactly 0 predicts the
    class ``-1``, as the estimators' ``predict`` does."""
    mean_score = np.asarray(mean_score, dtype=np.float64)
    if not q > 0:
        wrong = (label * mean_score < 0) | ((mean_score == 0) & (label > 0))
        return float(prior @ wrong)
    return float(prior @ ndtr(-label * mean_score / np.sqrt(q)))


def _check_loss(loss, allowed, name="loss"):
    if loss not in allowed:
        raise ValueError(f"{name} must be one of {list(allowed)}, got {loss!r}.")


def _solve_point(lam, prods, prior, label, start, n, alpha, channel, loss, fit_intercept, b0,
                 n_sep, inits, mean_index=None, one=1.0):
    """One point: ``(solution, regime, x, intercept)``; raises where the limit depends on
    the path of SGD. ``one``: the constant feature 1 in the units of the features passed
    (``2^(-e/2)`` at the unit scale ``Sigma / 2^e``)."""
    C = prior.size
    mean_index = np.arange(C) if mean_index is None else mean_index
    rank = int(np.count_nonzero(lam))

    def mixture(lam_, prods_):
        return _Mixture(lam_, prods_, prior, mean_index, np.ones(C), label, start)

    if alpha > 0:
        sol, x = _solve_regular(mixture(lam, prods), channel, n, alpha,
                                free_b=fit_intercept, b_fixed=b0, init=inits.get("ridge"))
        return sol, "ridge", x, sol.b
    if loss == "squared_error":
        hard = n < rank
    else:
        hard = n < n_sep
        if hard and loss != "log_loss":
            raise ValueError(
                f"loss={loss!r} with alpha=0 has no single limit at n_samples={n:g}: below "
                f"n = {n_sep:.4g} the data are linearly separable, every separating "
                "coefficient vector with margins >= 1 has zero loss, and where SGD stops "
                "depends on its path. Use alpha > 0 (any small pull has a unique limit), "
                "more samples, or loss='log_loss' (its alpha = 0 limit is the max-margin "
                "direction).")
    if not hard:
        if loss == "squared_error" and n == rank:
            return None, "unique", None, np.nan  # the interpolation peak: error 1/2
        sol, x = _solve_regular(mixture(lam, prods), channel, n, 0.0, free_b=fit_intercept,
                                b_fixed=b0, init=inits.get("unique"))
        return sol, "unique", x, sol.b
    # at alpha = 0 SGD treats the intercept as one more coordinate (constant feature 1): the
    # means get a coordinate 1 of eigenvalue 0, the start its intercept there. The norm of
    # (w, b) mixes units (w in 1/x, b in 1): at unit scale the feature 1 is `one` and the
    # intercept's coordinate b / one, so that the minimiser is that of the caller's units
    coords = np.full(prods.shape[1], one)
    if start >= 0:
        coords[start] = b0 / one
    if fit_intercept:
        lam, prods = _augment(lam, prods, coords)
    try:
        sol, regime, x = _solve_interpolating(lam, prods, mixture, channel, n, loss,
                                              fit_intercept, b0, inits)
    except RuntimeError as exc:
        error = _intercept_feature_error(one) if fit_intercept else None
        if error is None:
            raise
        raise error from exc
    # the intercept is `one` times the augmented coordinate of w: (sum_a gamma_a coords_a) / k
    intercept = one * float(sol.gamma @ coords) / sol.k if fit_intercept else sol.b
    return sol, regime, x, intercept


def _solve_interpolating(lam, prods, mixture, channel, n, loss, fit_intercept, b0, inits):
    """The hard (``alpha -> 0+``) regime of :func:`_solve_point`: ``(solution, regime, x)``."""
    if loss == "squared_error":
        sol, x = _solve_hard(mixture(lam, prods), channel, n, start_coef=1.0,
                             b_fixed=0.0 if fit_intercept else b0,
                             init=inits.get("closest-interpolator"))
        regime = "closest-interpolator"
    else:
        # logistic on separable data: the direction of the max-margin separator (hinge zero
        # set, no pull toward the start: the norm diverges and forgets it)
        sol, x = _solve_hard(mixture(lam, prods), get_channel("hinge", "classification"), n,
                             start_coef=0.0, b_fixed=0.0, init=inits.get("max-margin"))
        regime = "max-margin"
    return sol, regime, x


def _convex_classification_error(eigenvalues, prods, priors, n_samples, alpha=0.0, *,
                                 loss="log_loss", fit_intercept=False, intercept_init=0.0,
                                 unit_exponent=0):
    """Pure error on eigen-coordinate products (no validation).

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
    prods : ndarray of shape (d, 3, 3)
        Products ``a_j b_j`` of the eigen-coordinates of ``[mu_-, mu_+, w0]`` (or an assumed
        profile, e.g. ``G_ab / d`` for vectors spread like random directions).
    priors : ndarray of shape (2,)
        Class probabilities of the labels ``-1`` and ``+1``.
    n_samples, alpha : ndarray
        Broadcastable.
    unit_exponent : int, default=0
        The inputs are those of the caller's problem at the scale ``Sigma / 2^unit_exponent``
        (an even number; ``alpha`` divided the same way): the constant feature of the
        intercept at ``alpha = 0`` and ``kappa`` are then taken back to the caller's units.

    Returns
    -------
    ConvexClassificationError
        With array fields.
    """
    # unit scale (module skft.theory._units): Sigma / t, means / sqrt(t), start * sqrt(t),
    # alpha / t (t = 2^e) give the same rates, scores and intercept; kappa scales with t
    lam, prods, alpha, e = _unit_mixture(eigenvalues, prods, 2, alpha)
    e += unit_exponent
    one = float(np.ldexp(1.0, -e // 2))
    prior = np.asarray(priors, dtype=np.float64)
    n, a, shape = _points(lam, n_samples, alpha)
    channel = get_channel(loss, "classification")
    b0 = float(intercept_init)
    mix = _Mixture(lam, prods, prior, np.arange(2), np.ones(2), _LABELS, 2)
    n_sep = np.nan  # only alpha = 0 needs it, and not for the squared loss (its rank is)
    if np.any(a == 0) and loss != "squared_error":
        n_sep = np.inf if mix.means_outside_range() else _separability_n(
            mix._pinv[:2, :2], prior, _LABELS, mix.rank, fit_intercept)
    q0 = float(lam @ prods[:, 2, 2])
    pre_scores = prods[:, :2, 2].sum(axis=0) + b0
    pretrained = _binary_error(prior, _LABELS, pre_scores, q0)
    out = dict(finetuned=np.empty(n.size), mean_score=np.empty((n.size, 2)),
               score_var=np.empty(n.size), intercept=np.empty(n.size), kappa=np.empty(n.size))
    regimes = []
    prev = {}
    for i in np.lexsort((-n, a)):
        args = (lam, prods, prior, _LABELS, 2, n[i], a[i], channel, loss, fit_intercept, b0,
                n_sep)
        try:
            sol, regime, x, b = _solve_point(*args, inits=prev, one=one)
        except RuntimeError:
            try:
                sol, regime, x, b = _solve_point(*args, inits={}, one=one)
            except RuntimeError as exc:
                if a[i] == 0 and n_sep < n[i] < 1.01 * n_sep:
                    raise ValueError(
                        f"n_samples={n[i]:g} is within 1% above the separability threshold "
                        f"n = {n_sep:.5g}: the alpha = 0 minimiser's norm diverges there and "
                        "its equations could not be solved accurately. Use alpha > 0 or a "
                        "sample size further from the threshold.") from exc
                raise
        if x is not None:
            prev[regime] = x
        regimes.append((i, regime))
        if sol is None:
            out["finetuned"][i], out["score_var"][i] = 0.5, np.inf
            out["mean_score"][i], out["intercept"][i], out["kappa"][i] = np.nan, np.nan, 0.0
            continue
        scores = sol.m[:2] + sol.b
        out["finetuned"][i] = _binary_error(prior, _LABELS, scores, sol.q)
        out["mean_score"][i] = scores
        out["score_var"][i] = sol.q
        out["intercept"][i] = b
        out["kappa"][i] = sol.k
    reg = np.empty(n.size, dtype=object)
    for i, r in regimes:
        reg[i] = r
    return ConvexClassificationError(
        pretrained=pretrained,
        finetuned=out["finetuned"].reshape(shape),
        mean_score=out["mean_score"].reshape(shape + (2,)),
        score_var=out["score_var"].reshape(shape),
        intercept=out["intercept"].reshape(shape),
        kappa=_rescaled(out["kappa"], e, "effective regularisation kappa",
                        "alpha or covariance").reshape(shape),
        regime=reg.reshape(shape),
        separability=float(n_sep),
        loss=loss,
    )


def _check_priors(priors, n_classes):
    if priors is None:
        return np.full(n_classes, 1.0 / n_classes)
    p = _as_float_array(priors, "priors").ravel()
    if p.shape != (n_classes,):
        raise ValueError(f"priors must have shape ({n_classes},), got {np.shape(priors)}.")
    if np.any(p < 0) or abs(p.sum() - 1.0) > 1e-8:
        raise ValueError(f"priors must be non-negative and sum to 1, got {p.tolist()}.")
    if np.any(p == 0):
        raise ValueError("every class needs a positive prior.")
    return p


def _class_means(spec, mean, n_classes=2):
    """Eigen-coordinates of the class means: ``(n_classes, d)``."""
    mu = _as_float_array(mean, "mean")
    d = spec.n_features
    if n_classes == 2 and mu.shape == (d,):
        c = spec.coords(mu, "mean")
        return np.stack([-c, c])
    if mu.shape != (n_classes, d):
        expect = f"({d},) (symmetric classes) or " if n_classes == 2 else ""
        raise ValueError(f"mean must have shape {expect}({n_classes}, {d}), got {mu.shape}.")
    return np.stack([spec.coords(row, "mean") for row in mu])


def _check_intercept(value, name="intercept_init"):
    b = _as_float_array(value, name)
    if b.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {b.shape}.")
    return float(b)


def separability_threshold(covariance, mean, *, priors=None, fit_intercept=False):
    r"""Number of samples below which the two-class mixture is linearly separable.

    Setting of :func:`convex_classification_error`. In the proportional limit, ``n``
    samples of the mixture are separable by a hyperplane (through the origin, or with an
    intercept when ``fit_intercept``) iff ``n < n*`` with (Gordon's comparison; Candes and
    Sur 2020, Deng, Kammoun and Thrampoulidis 2022)

    .. math:: n^* = \frac{r}{\min_{o, b, \lVert t \rVert < 1}
              \sum_c \pi_c\, h(-y_c (o_c + b)) / (1 - \lVert t \rVert^2)},
              \qquad h(c) = \mathbb{E}(c - G)_+^2 = (1 + c^2)\Phi(c) + c\,\varphi(c),

    ``r = rank(Sigma)``, ``o = M^{1/2} t`` the projections of the whitened means
    (``M_ab = mu_a' Sigma^+ mu_b``) on a unit direction. It is where the logistic loss at
    ``alpha = 0`` switches from the max-margin direction to a finite minimiser, and below
    which hinge and modified huber at ``alpha = 0`` have no single limit. ``inf`` when a class
    mean has a component outside the range of ``Sigma`` (always separable). With no signal
    it is ``2 r`` (Cover, 1965).

    The threshold is scale-free (computed at unit scale): any common scaling of the features
    (``covariance`` by ``c^2``, ``mean`` by ``c``) gives the same ``n*``.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance.
    mean : array-like of shape (d,) or (2, d)
        Class mean of ``+1`` (classes at ``+-mean``), or the means of the classes ``-1``
        and ``+1`` (rows).
    priors : array-like of shape (2,), default=None
        Probabilities of the classes ``-1`` and ``+1`` (default equal).
    fit_intercept : bool, default=False

    Returns
    -------
    n_star : float

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import separability_threshold
    >>> separability_threshold(np.ones(100), np.zeros(100))   # Cover: 2 d
    200.0
    >>> round(separability_threshold(np.ones(100), np.full(100, 0.2)), 1)  # strong signal
    2072.3
    """
    spec = Spectrum.from_covariance(covariance)
    means = _class_means(spec, mean)
    prior = _check_priors(priors, 2)
    lam, prods, _ = _unit_products(spec.eigenvalues, means, 2, "mean")  # n* is scale-free
    mix = _Mixture(lam, prods, prior, np.arange(2), np.ones(2), _LABELS, -1)
    if mix.means_outside_range():
        return np.inf
    return float(_separability_n(mix._pinv, prior, _LABELS, mix.rank, bool(fit_intercept)))


def convex_classification_error(covariance, mean, coef_init, n_samples, alpha=0.0, *,
                                loss="log_loss", priors=None, fit_intercept=False,
                                intercept_init=0.0):
    r"""Asymptotic misclassification rate of a linear classifier fine-tuned with a convex loss.

    Setting: labels ``y = +-1`` with probabilities ``priors``, features ``x = mu_y + z`` with
    ``E z = 0``, ``Cov z = Sigma`` (only the first two moments of ``z`` matter in the
    proportional limit ``n, d -> inf``, ``n/d`` fixed; Gaussian universality of the mixture).
    Fine-tuning minimises, from the start ``w0 = coef_init`` (intercept ``b0``),

    .. math:: \frac1n \sum_i \ell(y_i (x_i^\top w + b)) + \frac{\alpha}{2}\lVert w - w_0\rVert^2

    with ``loss`` one of ``"log_loss"``, ``"hinge"``, ``"modified_huber"``,
    ``"squared_error"`` (``(1 - z)^2/2``, the estimators' conventions); ``b`` is free when
    ``fit_intercept``, else ``b = b0``. The score ``x'w + b`` of a test point of class ``c``
    is Gaussian with mean ``s_c = mu_c'w + b`` and variance ``q = w' Sigma w``, so

    .. math:: E_{ft} = \sum_c \pi_c \Phi(-y_c s_c / \sqrt q),

    and ``(s_c, q)`` solve the fixed-point equations written with the proximal map of the
    loss (``f = (prox_{V ell}(P) - P)/V`` at the leave-one-out score ``P ~ N(s_c, q)``):
    ``theta = E[1 - prox'] / V``, ``nu_c = pi_c E[f | c]``, ``beta^2 = E f^2``,
    ``k = alpha / theta``,

    .. math:: V = \frac{\mathrm{df}_1(k)}{n\theta},\quad
              w = (\Sigma + k)^{-1}\frac{\alpha w_0 + \sum_c \nu_c \mu_c}{\theta}
              - \text{noise},\quad
              q = c^\top \Sigma (\Sigma+k)^{-2} c + \frac{\beta^2 \mathrm{df}_2(k)}{n\theta^2},

    (``c = (alpha w0 + sum nu_c mu_c)/theta``) and ``E f = 0`` when the intercept is fitted
    (derivation, symbols and references in the user guide, *Other losses*). For the squared
    loss this is :func:`classification_error`.

    ``alpha = 0``: the squared loss gives the closest interpolator to the start
    (``n < rank``) or least squares; the logistic loss the max-margin direction when the data
    are separable (``n < separability``, the intercept counted in the margin's norm as SGD
    treats it, one more coordinate) and the maximum-likelihood estimate otherwise; hinge and
    modified huber a unique minimiser above the separability threshold, and below it a
    ``ValueError`` (every separator with margins >= 1 has zero loss: the SGD limit depends
    on its path).

    Units: with features in units ``x``, the covariance is in ``x^2``, the means in ``x``,
    ``coef_init`` in ``1/x`` and ``alpha`` in ``x^2``; the error rates do not depend on the
    scale, ``kappa`` is in ``x^2``. The equations are solved at unit scale (divisions by exact
    powers of two), so the answer is the same at any covariance scale float64 holds; a
    ``ValueError`` names the argument when an answer (``kappa``) leaves float64.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance ``Sigma``.
    mean : array-like of shape (d,) or (2, d)
        Mean of class ``+1`` with the classes at ``+-mean``, or the means of the classes
        ``-1`` and ``+1`` as rows.
    coef_init : array-like of shape (d,)
        Start ``w0``.
    n_samples : float or array-like
        Number of target samples ``n > 0``.
    alpha : float or array-like, default=0.0
        Pull toward the start; broadcast with ``n_samples``.
    loss : {"log_loss", "hinge", "modified_huber", "squared_error"}, default="log_loss"
    priors : array-like of shape (2,), default=None
        Probabilities of the classes ``-1`` and ``+1`` (default equal).
    fit_intercept : bool, default=False
        Whether the intercept is fitted (free, not pulled).
    intercept_init : float, default=0.0
        Start's intercept ``b0`` (the intercept used when it is not fitted).

    Returns
    -------
    ConvexClassificationError

    See Also
    --------
    classification_error : the squared loss, symmetric classes, in closed form.
    separability_threshold : where the data stop being separable.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import classification_error, convex_classification_error
    >>> d = 200
    >>> mean = np.full(d, 1.0 / np.sqrt(d))
    >>> w0 = np.full(d, 0.02)
    >>> sq = convex_classification_error(np.ones(d), mean, w0, 100, 0.5, loss="squared_error")
    >>> ref = classification_error(np.ones(d), mean, w0, 100, 0.5)
    >>> bool(np.isclose(sq.finetuned, ref.finetuned, rtol=1e-10))
    True
    >>> res = convex_classification_error(np.ones(d), mean, w0, [100, 400], 0.05, loss="log_loss")
    >>> res.finetuned.round(4)
    array([0.2757, 0.2257])
    """
    _check_loss(loss, CLASSIFICATION_LOSSES)
    spec = Spectrum.from_covariance(covariance)
    means = _class_means(spec, mean)
    w0 = spec.coords(coef_init, "coef_init")
    prior = _check_priors(priors, 2)
    b0 = _check_intercept(intercept_init)
    n, a = _check_n_alpha(n_samples, alpha)
    lam, prods, e = _unit_products(spec.eigenvalues, np.vstack([means, w0[None, :]]), 2,
                                   "mean and coef_init")
    res = _convex_classification_error(lam, prods, prior, n, _unit_alpha(a, e), loss=loss,
                                       fit_intercept=bool(fit_intercept), intercept_init=b0,
                                       unit_exponent=e)
    return _squeeze_result(res)


def _squeeze_result(res):
    fields = {}
    for name, val in vars(res).items():
        if isinstance(val, np.ndarray) and val.dtype == object:
            fields[name] = val.item() if val.ndim == 0 else val
        elif isinstance(val, np.ndarray) and val.ndim == 0:
            fields[name] = float(val)
        else:
            fields[name] = val
    return type(res)(**fields)
