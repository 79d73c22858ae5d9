"""Derived answers: when does fine-tuning pay, and with which alpha."""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ._classification import _classification_error
from ._regression import _check_noise, _regression_risk
from ._spectrum import Spectrum, _as_float_array, _check_n_alpha

__all__ = [
    "HelpIntervals",
    "OptimalAlpha",
    "classification_finetune_helps_intervals",
    "classification_optimal_alpha",
    "finetune_helps_intervals",
    "isotropic_threshold",
    "optimal_alpha",
]


@dataclass(frozen=True)
class HelpIntervals:
    """Ranges of sample sizes where the fine-tuned model beats the pretrained one.

    Attributes
    ----------
    intervals : tuple of (float, float)
        Disjoint open intervals ``(n_a, n_b)`` of ``n`` (a real number, as in the
        asymptotic formulas) where the predicted fine-tuned error is strictly below the
        pretrained error. ``n_b = inf`` means "for every larger n searched".
    pretrained : float
        Pretrained error (the bar to beat).
    n_max : float
        Largest ``n`` examined; beyond it the last answer is extrapolated.

    Examples
    --------
    >>> from skft.theory import HelpIntervals
    >>> h = HelpIntervals(((0.0, 50.0), (150.0, float("inf"))), 1.0, 2000.0)
    >>> h.helps(20), h.helps(100)
    (True, False)
    """

    intervals: tuple
    pretrained: float
    n_max: float

    def helps(self, n_samples):
        """True where fine-tuning with ``n_samples`` samples is predicted to help."""
        n = np.asarray(n_samples, dtype=np.float64)
        out = np.zeros(n.shape, dtype=bool)
        for lo, hi in self.intervals:
            out |= (n > lo) & (n < hi)
        return bool(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class OptimalAlpha:
    """The pull toward the start that minimises the predicted fine-tuned error.

    Attributes
    ----------
    alpha : float or ndarray
        Minimiser (``inf`` when no finite alpha beats the pretrained model).
    error : float or ndarray
        Predicted fine-tuned error at ``alpha`` (never above ``pretrained``).
    pretrained : float
        Pretrained error (``alpha = inf``).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import optimal_alpha
    >>> best = optimal_alpha(np.ones(200), np.full(200, 0.1), 0.5, n_samples=100)
    >>> bool(best.error <= best.pretrained), round(best.alpha, 3)   # s2 d / (n ||delta||^2)
    (True, 0.5)
    """

    alpha: np.ndarray
    error: np.ndarray
    pretrained: float


def _boundary(gain, a, b, rank):
    """The point in ``(a, b)`` where ``gain`` changes sign (``rank`` when it lies between)."""
    if a < rank < b:
        return float(rank)  # the alpha = 0 risk has a pole at n = rank
    ga, gb = gain(a), gain(b)
    if np.isfinite(ga) and np.isfinite(gb):
        try:
            return float(brentq(gain, a, b, xtol=1e-12, rtol=1e-12))
        except ValueError:
            pass
    lo, hi = a, b  # not a continuous change of sign: bisect on the sign only
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if (gain(mid) < 0) == (ga < 0):
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _helps_intervals(finetuned, pretrained, rank, alpha, n_max, n_grid):
    """Intervals where ``finetuned(n) < pretrained`` on ``(0, n_max]``.

    ``finetuned`` is evaluated on a logarithmic grid refined on both sides of the
    interpolation threshold ``n = rank`` (never at it). Every change of sign between
    neighbours is one boundary: a root polished by Brent's method, or ``rank`` itself when the
    neighbours straddle it. Each boundary is counted once, so a threshold that does not hurt
    does not split an interval, and one that hurts leaves a gap of positive width.
    """
    if n_max is None:
        n_max = 20.0 * max(rank, 1)
    n_max = float(n_max)
    if not n_max > 0:
        raise ValueError(f"n_max must be > 0, got {n_max!r}.")
    if n_grid < 10:
        raise ValueError(f"n_grid must be >= 10, got {n_grid!r}.")
    lo = 1e-6 * max(rank, 1)
    grid = np.geomspace(min(lo, n_max / 10), n_max, n_grid)
    if 0 < rank < n_max:
        eps = np.geomspace(1e-9, 0.5, 40)
        grid = np.concatenate([grid, rank * (1 - eps), rank * (1 + eps)])
    grid = np.unique(grid[(grid > 0) & (grid <= n_max) & (grid != rank)])

    def gain(n):
        v = float(np.asarray(finetuned(np.asarray([n], dtype=float)), dtype=float)[0])
        return v - pretrained if np.isfinite(v) else np.inf

    with np.errstate(all="ignore"):
        values = np.asarray(finetuned(grid), dtype=float) - pretrained
    values = np.where(np.isfinite(values), values, np.inf)
    edges = _sign_change_intervals(values < 0,
                                   lambda i: _boundary(gain, grid[i], grid[i + 1], rank))
    return HelpIntervals(edges, pretrained, n_max)


def _sign_change_intervals(helps, boundary):
    """The intervals where ``helps`` (booleans on an increasing grid) holds, as
    ``(start, end)`` pairs: from 0 when it holds at the first point, to ``inf`` when at the
    last; ``boundary(i)`` gives the edge between grid points ``i`` and ``i + 1``."""
    edges, start = [], (0.0 if helps[0] else None)
    for i in np.flatnonzero(helps[1:] != helps[:-1]):
        root = boundary(i)
        if helps[i]:
            edges.append((start, root))
            start = None
        else:
            start = root
    if start is not None:
        edges.append((start, np.inf))
    return tuple((float(lo), float(hi)) for lo, hi in edges if hi > lo)


def finetune_helps_intervals(covariance, delta, noise_var, alpha=0.0, *, n_max=None, n_grid=400):
    """Sample sizes at which fine-tuning a regressor beats the pretrained model.

    Returns the set ``{n : R_ft(n, alpha) < R_pre}`` of :func:`regression_risk` as
    disjoint intervals. It is found on a log-grid of ``n`` in ``(0, n_max]`` (refined
    around the interpolation peak ``n = rank`` when ``alpha = 0``, where ``R_ft = inf``)
    and every sign change of ``R_ft - R_pre`` is polished by Brent's method. In the
    isotropic case with ``alpha = 0`` the answer is
    ``(0, d (1 - s2/||delta||^2))`` and ``(d (1 + s2/||delta||^2), inf)``
    (see :func:`isotropic_threshold`): not a single threshold.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Target covariance ``Sigma``.
    delta : array-like of shape (d,)
        ``w0 - w_star``.
    noise_var : float
        Target noise variance ``s2 >= 0``.
    alpha : float, default=0.0
        Pull toward the start.
    n_max : float, default=None
        Largest ``n`` searched (default ``20 * rank``). Sign changes beyond it are not
        seen: an interval still open at ``n_max`` is reported as reaching ``inf``.
    n_grid : int, default=400
        Number of grid points (sign changes closer than the grid spacing may be missed).

    Returns
    -------
    HelpIntervals

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import finetune_helps_intervals
    >>> d = 1000
    >>> delta = np.full(d, 1 / np.sqrt(d))             # ||delta||^2 = 1
    >>> res = finetune_helps_intervals(np.ones(d), delta, noise_var=0.2)
    >>> res.intervals                                  # d (1 -+ 0.2)
    ((0.0, 800.0...), (1200.0..., inf))
    """
    spec = Spectrum.from_covariance(covariance)
    dsq = spec.coords(delta, "delta") ** 2
    s2 = _check_noise(noise_var)
    _, a = _check_n_alpha(1.0, alpha)
    a = float(a)
    lam = spec.eigenvalues
    pre = float(lam @ dsq + s2)
    return _helps_intervals(
        lambda n: _regression_risk(lam, dsq, s2, n, a).finetuned,
        pre,
        spec.rank,
        a,
        n_max,
        n_grid,
    )


def classification_finetune_helps_intervals(
    covariance, mean, coef_init, alpha=0.0, *, n_max=None, n_grid=400
):
    """Sample sizes at which fine-tuning a classifier beats the pretrained model.

    The set ``{n : E_ft(n, alpha) < E_pre}`` of :func:`classification_error`, found as in
    :func:`finetune_helps_intervals` (log-grid of ``n``, refined around ``n = rank`` for
    ``alpha = 0``, Brent's method at each sign change).

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance ``Sigma``.
    mean : array-like of shape (d,)
        Class mean ``mu``.
    coef_init : array-like of shape (d,)
        Pretrained coefficients ``w0``.
    alpha : float, default=0.0
        Pull toward the start.
    n_max : float, default=None
        Largest ``n`` searched (default ``20 * rank``).
    n_grid : int, default=400
        Number of grid points.

    Returns
    -------
    HelpIntervals

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import classification_finetune_helps_intervals
    >>> d = 200
    >>> mean = np.full(d, 1 / np.sqrt(d))
    >>> res = classification_finetune_helps_intervals(np.ones(d), mean, np.zeros(d))
    >>> res.intervals[-1][1]                           # from w0 = 0 any n > d helps
    inf
    """
    spec = Spectrum.from_covariance(covariance)
    mu = spec.coords(mean, "mean")
    w0 = spec.coords(coef_init, "coef_init")
    _, a = _check_n_alpha(1.0, alpha)
    a = float(a)
    lam = spec.eigenvalues
    pre = _classification_error(lam, mu, w0, np.ones(1), np.zeros(1)).pretrained
    return _helps_intervals(
        lambda n: _classification_error(lam, mu, w0, n, a).finetuned,
        pre,
        spec.rank,
        a,
        n_max,
        n_grid,
    )


def _optimal_alpha(finetuned, pretrained, n, scale, n_grid):
    """Grid in log alpha (plus alpha = 0) then bounded refinement, for each n."""
    if isinstance(n_grid, bool) or not isinstance(n_grid, int | np.integer) or n_grid < 2:
        raise ValueError(f"n_grid must be an integer >= 2, got {n_grid!r}.")
    grid = np.concatenate([[0.0], scale * np.geomspace(1e-8, 1e8, n_grid)])
    values = finetuned(n[:, None], grid[None, :])
    alphas = np.empty(n.size)
    errors = np.empty(n.size)
    for i in range(n.size):
        vals = np.where(np.isfinite(values[i]), values[i], np.inf)
        j = int(np.argmin(vals))
        best_a, best_e = grid[j], vals[j]
        if 0 < j < grid.size - 1 or (j == 0 and grid.size > 1):
            # searched in log(alpha / ref), free of the covariance's units: the same path
            # at every scale (the bounded search's tolerance depends on where it stands)
            ref = grid[max(j, 1)]
            lo = np.log(grid[max(j - 1, 1)] / ref)
            hi = np.log(grid[min(j + 1, grid.size - 1)] / ref)

            def f(u, i=i, ref=ref):
                return float(finetuned(n[i : i + 1, None], ref * np.exp([[u]]))[0, 0])

            res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
            if res.fun < best_e:
                best_a, best_e = float(ref * np.exp(res.x)), float(res.fun)
        if not best_e < pretrained:
            best_a, best_e = np.inf, pretrained
        alphas[i], errors[i] = best_a, best_e
    return alphas, errors


def _pack_optimal(alphas, errors, shape, pretrained):
    if shape == ():
        return OptimalAlpha(float(alphas[0]), float(errors[0]), pretrained)
    return OptimalAlpha(alphas.reshape(shape), errors.reshape(shape), pretrained)


def optimal_alpha(covariance, delta, noise_var, n_samples, *, n_grid=161):
    """The alpha minimising the predicted fine-tuned regression risk, and that risk.

    Minimises ``R_ft(n, alpha)`` of :func:`regression_risk` over ``alpha in [0, inf]``
    (``alpha = inf`` is the pretrained model, so the returned error is never above
    ``R_pre``): a log-grid over ``alpha / (tr(Sigma)/d)`` in ``[1e-8, 1e8]`` plus
    ``alpha = 0``, then a bounded scalar minimisation around the best grid point.
    In the isotropic case ``Sigma = I`` the minimiser is ``alpha* = s2 d / (n ||delta||^2)``.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Target covariance.
    delta : array-like of shape (d,)
        ``w0 - w_star``.
    noise_var : float
        Noise variance ``s2 >= 0``.
    n_samples : float or array-like
        Sample sizes.
    n_grid : int, default=161
        Number of grid values of alpha.

    Returns
    -------
    OptimalAlpha
        ``.alpha``, ``.error`` (shape of ``n_samples``) and ``.pretrained``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import optimal_alpha
    >>> d = 500
    >>> delta = np.full(d, 1 / np.sqrt(d))
    >>> best = optimal_alpha(np.ones(d), delta, noise_var=0.5, n_samples=250)
    >>> round(best.alpha, 6)                           # 0.5 * 500 / 250
    1.0
    """
    spec = Spectrum.from_covariance(covariance)
    dsq = spec.coords(delta, "delta") ** 2
    s2 = _check_noise(noise_var)
    n, _ = _check_n_alpha(n_samples, 0.0)
    lam = spec.eigenvalues
    pre = float(lam @ dsq + s2)
    scale = spec.trace / spec.n_features if spec.trace > 0 else 1.0
    alphas, errors = _optimal_alpha(
        lambda nn, aa: _regression_risk(lam, dsq, s2, nn, aa).finetuned,
        pre,
        n.ravel(),
        scale,
        n_grid,
    )
    return _pack_optimal(alphas, errors, n.shape, pre)


def classification_optimal_alpha(covariance, mean, coef_init, n_samples, *, n_grid=161):
    """The alpha minimising the predicted fine-tuned misclassification rate.

    Minimises ``E_ft(n, alpha)`` of :func:`classification_error` over ``alpha in [0, inf]``
    as in :func:`optimal_alpha` (grid then bounded refinement; ``alpha = inf`` is the
    pretrained model, so the returned error never exceeds ``E_pre``). The error need not
    be unimodal in ``alpha``: the grid search finds the best basin on the grid.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Within-class covariance.
    mean : array-like of shape (d,)
        Class mean ``mu``.
    coef_init : array-like of shape (d,)
        Pretrained coefficients ``w0``.
    n_samples : float or array-like
        Sample sizes.
    n_grid : int, default=161
        Number of grid values of alpha.

    Returns
    -------
    OptimalAlpha

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import classification_optimal_alpha
    >>> d = 200
    >>> mean = np.full(d, 1 / np.sqrt(d))
    >>> best = classification_optimal_alpha(np.ones(d), mean, mean, 100)
    >>> bool(best.error <= best.pretrained)
    True
    """
    spec = Spectrum.from_covariance(covariance)
    mu = spec.coords(mean, "mean")
    w0 = spec.coords(coef_init, "coef_init")
    n, _ = _check_n_alpha(n_samples, 0.0)
    lam = spec.eigenvalues
    pre = _classification_error(lam, mu, w0, np.ones(1), np.zeros(1)).pretrained
    scale = spec.trace / spec.n_features if spec.trace > 0 else 1.0
    alphas, errors = _optimal_alpha(
        lambda nn, aa: _classification_error(lam, mu, w0, nn, aa).finetuned,
        pre,
        n.ravel(),
        scale,
        n_grid,
    )
    return _pack_optimal(alphas, errors, n.shape, pre)


def isotropic_threshold(n_features, excess_risk, noise_var):
    """Closed-form answer for a scalar covariance ``Sigma = c I`` and ``alpha = 0``.

    With ``e = delta' Sigma delta = c ||delta||^2`` (the pretrained excess risk) and
    ``s2`` the noise variance, ``R_ft = s2 + (1 - n/d) e + s2 n/(d - n)`` for ``n < d``
    and ``s2 + s2 d/(n - d)`` for ``n > d``. Fine-tuning beats the pretrained model iff

    .. math:: n < d (1 - s^2/e) \\quad\\text{or}\\quad n > d (1 + s^2/e).

    Parameters
    ----------
    n_features : float
        Dimension ``d`` (the rank of ``Sigma``).
    excess_risk : float
        ``delta' Sigma delta >= 0``.
    noise_var : float
        ``s2 >= 0``.

    Returns
    -------
    HelpIntervals
        ``((0, d (1 - s2/e)), (d (1 + s2/e), inf))``, the first omitted when
        ``s2 >= e``; empty when ``e = 0``; ``((0, inf),)`` when ``s2 = 0``.

    Examples
    --------
    >>> from skft.theory import isotropic_threshold
    >>> isotropic_threshold(1000, 1.0, 0.2).intervals
    ((0.0, 800.0), (1200.0, inf))
    """
    d = float(_as_float_array(n_features, "n_features"))
    if not d > 0:
        raise ValueError(f"n_features must be > 0, got {d!r}.")
    e = float(_as_float_array(excess_risk, "excess_risk"))
    if e < 0:
        raise ValueError(f"excess_risk must be >= 0, got {e!r}.")
    s2 = _check_noise(noise_var)
    pre = e + s2
    if e == 0:
        return HelpIntervals((), pre, np.inf)
    ratio = s2 / e
    if ratio == 0:  # noiseless: no interpolation peak, fine-tuning always helps
        return HelpIntervals(((0.0, np.inf),), pre, np.inf)
    out = []
    if ratio < 1:
        out.append((0.0, d * (1 - ratio)))
    out.append((d * (1 + ratio), np.inf))
    return HelpIntervals(tuple(out), pre, np.inf)
