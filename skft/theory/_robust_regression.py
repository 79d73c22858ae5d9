"""Asymptotic test MSE of a linear regressor fine-tuned with a robust (or the squared) loss."""

from dataclasses import dataclass, replace

import numpy as np

from ._convex_classification import (
    _augment,
    _check_intercept,
    _check_loss,
    _points,
    _squeeze_result,
)
from ._fixed_point import _Mixture, _solve_hard, _solve_regular
from ._noise import NoiseLaw, noise_law
from ._proximal import get_channel
from ._separability import _zero_loss_n_regression
from ._spectrum import Spectrum, _as_float_array, _check_n_alpha
from ._units import (
    _intercept_feature_error,
    _norm,
    _power_of_two,
    _rescaled,
    _scaled,
    _unit_alpha,
    _unit_covariance,
)

__all__ = ["RobustRegressionRisk", "robust_regression_risk"]

REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")


@dataclass(frozen=True)
class RobustRegressionRisk:
    """Expected test MSE (noise included) of the pretrained and fine-tuned regressors.

    Arrays have the shape of ``broadcast(n_samples, alpha)``; floats for scalar inputs.

    Attributes
    ----------
    pretrained : float
        ``delta' Sigma delta + E(eps - b0)^2`` (``b0 = intercept_offset``).
    finetuned : float or ndarray
        ``q + E(eps - b)^2``: test MSE of the fine-tuned model.
    excess : float or ndarray
        ``q = (w - w_star)' Sigma (w - w_star)``.
    intercept : float or ndarray
        Limit of the fitted intercept minus the true one, ``b``.
    kappa : float or ndarray
        Effective regularisation ``k = alpha / theta``.
    regime : str or ndarray of str
        ``"ridge"`` (``alpha > 0``), ``"unique"`` (``alpha = 0``, unique minimiser) or
        ``"closest-interpolator"`` (``alpha = 0``, ``n < rank``, squared or huber loss).
    zero_loss_threshold : float
        Number of samples below which some coefficients give zero loss on every sample
        (``rank`` for the squared and huber losses; for epsilon-insensitive it depends on the
        noise law and ``epsilon``, and is ``nan`` unless ``alpha = 0`` was asked for).
    loss : str
    noise : NoiseLaw

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import robust_regression_risk
    >>> res = robust_regression_risk(np.ones(100), np.full(100, 0.1), 0.25, 50, 0.1,
    ...                              loss="huber", epsilon=0.5)
    >>> res.pretrained, res.regime, bool(res.finetuned < res.pretrained)
    (1.25, 'ridge', True)
    """

    pretrained: float
    finetuned: np.ndarray
    excess: np.ndarray
    intercept: np.ndarray
    kappa: np.ndarray
    regime: np.ndarray
    zero_loss_threshold: float
    loss: str
    noise: object


def _robust_regression_risk(eigenvalues, delta_coords_sq, law, n_samples, alpha=0.0, *,
                            loss="huber", epsilon=0.1, fit_intercept=False,
                            intercept_offset=0.0):
    """Pure risk on eigen-coordinates (no validation).

    Parameters
    ----------
    eigenvalues : ndarray of shape (d,)
    delta_coords_sq : ndarray of shape (d,)
        ``(V' delta)_j^2`` or an assumed non-negative profile (as for
        :func:`skft.theory._regression._regression_risk`).
    law : NoiseLaw
    n_samples, alpha : ndarray
        Broadcastable.

    Solved at unit scale (module ``skft.theory._units``), answered in the caller's units.
    """
    lam, ex = _unit_covariance(eigenvalues)
    with np.errstate(over="ignore"):
        delta_y = _scaled(np.sqrt(np.asarray(delta_coords_sq, dtype=np.float64)), ex // 2)
    return _risk_in_units(lam, ex, delta_y, law, n_samples, alpha, loss=loss, epsilon=epsilon,
                          fit_intercept=fit_intercept, intercept_offset=intercept_offset)


def _risk_in_units(lam, ex, delta_y, law, n_samples, alpha, *, loss, epsilon, fit_intercept,
                   intercept_offset):
    """The risk of ``Sigma = 2^ex diag(lam)`` (``lam`` at unit scale, ``ex`` even) with
    ``|V' delta| = 2^(-ex/2) delta_y`` (``delta_y`` in the units of ``y``), solved with the
    ``y``-quantities at unit scale too, and answered in the caller's units."""
    if not np.all(np.isfinite(delta_y)):
        raise ValueError("delta is too large for the scale of covariance: delta' Sigma delta "
                         "overflows float64. Rescale delta (or y).")
    # y in units of 2^ey: the largest of sqrt(delta' Sigma delta), the noise's root mean
    # square, epsilon and the intercept's offset
    root_w = np.sqrt(law.weights)
    rms = _norm(np.r_[root_w * np.sqrt(law.variances), root_w * np.abs(law.means)])
    sizes = {"delta": _norm(delta_y), "noise_var (or noise)": rms,
             "epsilon": abs(epsilon) if loss != "squared_error" else 0.0,  # unused there
             "intercept_offset": abs(intercept_offset)}
    ey = _power_of_two(*sizes.values())
    culprit = f"y ({max(sizes, key=sizes.get)} sets its scale here)"
    unit_law = NoiseLaw(_scaled(law.means, -ey), law.weights, _scaled(law.variances, -2 * ey),
                        law.name)
    # alpha is in x^2 (squared, huber: a loss in y^2) or x^2 / y (epsilon-insensitive)
    a = _unit_alpha(alpha, ex - ey if loss == "epsilon_insensitive" else ex)
    res = _unit_risk(lam, _scaled(delta_y, -ey) ** 2, unit_law, n_samples, a, loss=loss,
                     epsilon=float(_scaled(epsilon, -ey)), fit_intercept=fit_intercept,
                     intercept_offset=float(_scaled(intercept_offset, -ey)),
                     feature_one=float(np.ldexp(1.0, -ex // 2)))
    mse = "test MSE (in the units of y^2)"
    return replace(
        res,
        pretrained=_rescaled(res.pretrained, 2 * ey, "pretrained " + mse, culprit),
        finetuned=_rescaled(res.finetuned, 2 * ey, "fine-tuned " + mse, culprit),
        excess=_rescaled(res.excess, 2 * ey, "excess " + mse, culprit),
        intercept=_rescaled(res.intercept, ey, "intercept", culprit),
        kappa=_rescaled(res.kappa, ex, "effective regularisation kappa", "alpha or covariance"),
        noise=law,
    )


def _unit_risk(lam, dsq, law, n_samples, alpha, *, loss, epsilon, fit_intercept,
               intercept_offset, feature_one=1.0):
    """The risk from the fixed points, in the units of its inputs (the constant feature of
    the intercept is ``feature_one`` in the units of the features: ``2^(-ex/2)`` at
    ``Sigma / 2^ex``).
    """
    n, a, shape = _points(lam, n_samples, alpha)
    channel = get_channel(loss, "regression", epsilon)
    b0 = float(intercept_offset)
    prods = dsq[:, None, None]
    one = np.ones(1)

    def mixture(lam_, prods_, with_mean):
        idx = np.array([1 if with_mean else -1])
        return _Mixture(lam_, prods_, one, idx, one, one, 0, law)

    rank = int(np.count_nonzero(lam))
    if loss != "epsilon_insensitive":
        n_zero = float(rank)
    elif np.any(a == 0):
        n_zero = float(_zero_loss_n_regression(channel, law, rank, fit_intercept, b0))
    else:
        n_zero = np.nan  # only alpha = 0 needs it

    def mse(q, b):
        return float(q + law.weights @ (law.variances + (law.means - b) ** 2))

    pretrained = mse(float(lam @ dsq), b0)
    out = {k: np.empty(n.size) for k in ("finetuned", "excess", "intercept", "kappa")}
    regime = np.empty(n.size, dtype=object)
    prev = {}
    for i in np.lexsort((-n, a)):
        ni, ai = n[i], a[i]
        if ai > 0 or ni > n_zero:  # (nan only when alpha > 0)
            name = "ridge" if ai > 0 else "unique"
            system = mixture(lam, prods, False)
            try:
                sol, x = _solve_regular(system, channel, ni, ai, free_b=fit_intercept,
                                        b_fixed=b0, init=prev.get(name))
            except RuntimeError:
                sol, x = _solve_regular(system, channel, ni, ai, free_b=fit_intercept,
                                        b_fixed=b0)
            b = sol.b
        elif ni == n_zero and loss != "epsilon_insensitive":
            name, sol, x = "unique", None, None
        elif loss == "epsilon_insensitive":
            raise ValueError(
                f"loss='epsilon_insensitive' with alpha=0 has no single limit at "
                f"n_samples={ni:g}: below n = {n_zero:.4g} some coefficients fit every "
                "sample within epsilon (zero loss), and where SGD stops among them depends "
                "on its path. Use alpha > 0, more samples, or a smaller epsilon.")
        else:
            # squared / huber below the rank: the interpolator closest to the start (the loss
            # is zero only at zero residual, where both are quadratic)
            name = "closest-interpolator"
            if fit_intercept:  # the intercept is one more coordinate (feature 1) for SGD;
                # its norm mixes units: at unit scale the feature is `feature_one`, the coordinate
                # b / feature_one
                lam_a, prods_a = _augment(lam, np.pad(prods, ((0, 0), (0, 1), (0, 1))),
                                          np.array([b0 / feature_one, feature_one]))
                system = mixture(lam_a, prods_a, True)
                try:
                    sol, x = _solve_hard(system, channel, ni, start_coef=1.0, b_fixed=0.0,
                                         init=prev.get(name))
                except RuntimeError as exc:
                    error = _intercept_feature_error(feature_one)
                    if error is None:
                        raise
                    raise error from exc
                b = float(sol.m[0])  # the mean's overlap is the intercept coordinate
            else:
                sol, x = _solve_hard(mixture(lam, prods, False), channel, ni, start_coef=1.0,
                                     b_fixed=b0, init=prev.get(name))
                b = b0
        regime[i] = name
        if sol is None:  # the interpolation peak of least squares
            out["finetuned"][i] = out["excess"][i] = np.inf
            out["intercept"][i], out["kappa"][i] = np.nan, 0.0
            continue
        prev[name] = x
        q = sol.q  # the intercept coordinate has eigenvalue 0: q = u' Sigma u
        out["finetuned"][i] = mse(q, b)
        out["excess"][i] = q
        out["intercept"][i] = b
        out["kappa"][i] = sol.k
    return RobustRegressionRisk(
        pretrained=pretrained,
        finetuned=out["finetuned"].reshape(shape),
        excess=out["excess"].reshape(shape),
        intercept=out["intercept"].reshape(shape),
        kappa=out["kappa"].reshape(shape),
        regime=regime.reshape(shape),
        zero_loss_threshold=n_zero,
        loss=loss,
        noise=law,
    )


def robust_regression_risk(covariance, delta, noise_var, n_samples, alpha=0.0, *,
                           loss="huber", epsilon=0.1, noise="gaussian", fit_intercept=False,
                           intercept_offset=0.0):
    r"""Asymptotic test MSE of a linear regressor fine-tuned with a (robust) convex loss.

    Setting: ``y = x'w_star + b_star + eps`` with ``E x = 0``, ``Cov x = Sigma`` (only the
    first two moments of ``x`` matter in the proportional limit ``n, d -> inf``), ``eps``
    independent of ``x`` with the law ``noise`` (its whole law matters: huber clips and
    epsilon-insensitive ignores residuals by their size). Fine-tuning minimises, from the start
    ``w0`` (``delta = w0 - w_star``),

    .. math:: \frac1n \sum_i \rho(x_i^\top w + b - y_i) + \frac{\alpha}{2}\lVert w - w_0\rVert^2

    with ``rho`` the ``loss`` (``"huber"``: ``r^2/2`` for ``|r| <= epsilon``, else
    ``epsilon |r| - epsilon^2/2``; ``"epsilon_insensitive"``: ``max(0, |r| - epsilon)``;
    ``"squared_error"``: ``r^2/2``); ``b`` is free when ``fit_intercept`` (the intercept is not
    pulled), else ``b - b_star = intercept_offset``. The test MSE is

    .. math:: R_{ft} = q + \mathbb{E}(\varepsilon - b)^2, \qquad
              q = (w - w_\star)^\top \Sigma (w - w_\star),

    where, with ``r0 ~ P - eps``, ``P ~ N(b, q)`` (the leave-one-out residual before the noise),
    ``f = (prox_{V rho}(r0) - r0) / V``, ``theta = E[1 - prox'] / V``, ``beta^2 = E f^2``,
    ``k = alpha / theta``:

    .. math:: V = \frac{\mathrm{df}_1(k)}{n \theta}, \qquad
              q = k^2 \delta^\top \Sigma (\Sigma + k)^{-2} \delta
              + \frac{\beta^2}{\theta^2} \frac{\mathrm{df}_2(k)}{n},

    and ``E f = 0`` when the intercept is fitted (Thrampoulidis, Abbasi, Hassibi 2018; El
    Karoui 2013 for ``alpha = 0``). For the squared loss this is :func:`regression_risk`.
    ``alpha = 0``: below ``n = rank`` the squared and huber losses give the interpolator
    closest to the start (the SGD limit; with an intercept counted as one more coordinate,
    as SGD treats it), above it the unique minimiser (El Karoui's robust regression); the
    epsilon-insensitive loss raises a ``ValueError`` below its zero-loss threshold (where SGD
    stops among the zero-loss fits depends on its path).

    Units: with features in ``x`` and labels in ``y``, ``covariance`` is in ``x^2``, ``delta`` in
    ``y/x``, the noise, ``epsilon`` and ``intercept_offset`` in ``y`` (``noise_var`` in ``y^2``),
    ``alpha`` in ``x^2`` for the squared and huber losses (a loss in ``y^2``) and in ``x^2 / y``
    for epsilon-insensitive (a loss in ``y``); the MSEs are in ``y^2``, the intercept in ``y``,
    ``kappa`` in ``x^2``. The equations are solved at unit scale (divisions by exact powers of
    two), so any scaling float64 holds gives the rescaled answer; a ``ValueError`` names the
    argument setting the scale when an answer (an MSE, the intercept, ``kappa``) leaves
    float64's normal range.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Feature covariance ``Sigma``.
    delta : array-like of shape (d,)
        ``w0 - w_star``.
    noise_var : float
        Variance of a named noise law (ignored for a :class:`NoiseLaw` or a discrete law).
    n_samples : float or array-like
        Number of target samples ``n > 0``.
    alpha : float or array-like, default=0.0
        Pull toward the start; broadcast with ``n_samples``.
    loss : {"huber", "epsilon_insensitive", "squared_error"}, default="huber"
    epsilon : float, default=0.1
        The loss's ``epsilon`` (as in the estimators).
    noise : str, NoiseLaw or (values, weights), default="gaussian"
        Law of ``eps``: a name (``"gaussian"``, ``"laplace"``, ``"student_t"``, ``"uniform"``,
        ``"rademacher"``, ``"chi2"``, standardised and scaled to ``noise_var``), a
        :class:`NoiseLaw`, or a discrete law (see :func:`noise_law`).
    fit_intercept : bool, default=False
    intercept_offset : float, default=0.0
        ``b0 - b_star`` of the start (the intercept's error when it is not fitted).

    Returns
    -------
    RobustRegressionRisk

    See Also
    --------
    regression_risk : the squared loss in closed form.
    noise_law : the noise laws.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import regression_risk, robust_regression_risk
    >>> d = 200
    >>> delta = np.full(d, 1.0 / np.sqrt(d))
    >>> sq = robust_regression_risk(np.ones(d), delta, 0.25, 100, 0.2, loss="squared_error")
    >>> ref = regression_risk(np.ones(d), delta, 0.25, 100, 0.2)
    >>> bool(np.isclose(sq.finetuned, ref.finetuned, rtol=1e-10))
    True
    >>> for law in ("gaussian", "laplace"):   # same variance, other law: another risk
    ...     res = robust_regression_risk(np.ones(d), delta, 0.25, 400, 0.05, loss="huber",
    ...                                  epsilon=0.3, noise=law)
    ...     print(law, round(res.finetuned, 4))
    gaussian 0.4506
    laplace 0.4129
    """
    _check_loss(loss, REGRESSION_LOSSES)
    spec = Spectrum.from_covariance(covariance)
    coords = spec.coords(delta, "delta")
    eps = _as_float_array(epsilon, "epsilon")
    if eps.ndim != 0 or eps < 0:
        raise ValueError(f"epsilon must be a scalar >= 0, got {epsilon!r}.")
    if loss == "huber" and eps == 0:
        raise ValueError("epsilon must be > 0 for loss='huber'.")
    law = noise_law(noise, noise_var)
    offset = _check_intercept(intercept_offset, "intercept_offset")
    n, a = _check_n_alpha(n_samples, alpha)
    lam, ex = _unit_covariance(spec.eigenvalues)
    res = _risk_in_units(lam, ex, _scaled(np.abs(coords), ex // 2), law, n, a, loss=loss,
                         epsilon=float(eps), fit_intercept=bool(fit_intercept),
                         intercept_offset=offset)
    return _squeeze_result(res)
