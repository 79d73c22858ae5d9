"""Curves of the theory of other losses: error against ``n``, the best ``alpha``, where it helps.

The fixed point of a loss other than the squared one costs milliseconds to tens of
milliseconds per ``(n, alpha)`` (the logistic loss the most; multiclass problems ``K`` times
that and the cross terms), against microseconds for the squared loss's closed form. The
curves of the advice are therefore evaluated on coarse grids and interpolated (linearly in
``log n`` and the error: the curves are smooth away from the separability threshold of
``alpha = 0``), the recommended ``alpha`` is a coarse grid refined by a bounded search, and
the ends of the intervals where fine-tuning helps are polished by Brent's method on the
theory itself. Where the theory raises (no single limit: ``alpha = 0`` below the
separability threshold of hinge-type losses, or too close to it), the point is ``nan``.
"""

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from ..theory._derived import _sign_change_intervals

__all__ = [
    "TheoryCurve",
    "coarse_curve",
    "curves",
    "interpolate_curve",
    "recommended_alpha",
    "theory_helps_intervals",
]

#: Points of the coarse grids in ``n`` (binary problems and regression; multiclass).
N_CURVE = 16
N_CURVE_MULTICLASS = 8
#: Points of the coarse grid in ``alpha`` (binary problems and regression; multiclass).
N_ALPHA = 9
N_ALPHA_MULTICLASS = 5
#: Points of the multiclass grids in ``n`` and ``alpha`` by number of classes (a point costs
#: ``K`` problems and a ``(K - 1)``-dimensional Gaussian integral): fixed numbers, never a
#: measured time, so that the same inputs give the same advice on every machine.
MULTICLASS_GRIDS = {3: (N_CURVE_MULTICLASS, N_ALPHA_MULTICLASS), 4: (6, 3)}
MULTICLASS_GRID_LARGE_K = (4, 2)


class TheoryCurve:
    """``error(n, alpha)`` of one loss's theory, ``nan`` where it has no single limit.

    ``fn(n, alpha)`` takes broadcastable arrays and returns the fine-tuned error; it may
    raise ``ValueError`` (no limit) for the whole call, in which case the points are
    evaluated one by one.
    """

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, n, alpha):
        n, a = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(alpha, dtype=float))
        try:
            return np.asarray(self.fn(n, a), dtype=float).reshape(n.shape)
        except (ValueError, RuntimeError):
            if n.size == 1:
                return np.full(n.shape, np.nan)
        out = np.empty(n.size)
        for i, (ni, ai) in enumerate(zip(n.ravel(), a.ravel(), strict=True)):
            try:
                out[i] = float(np.ravel(self.fn(np.array([ni]), np.array([ai])))[0])
            except (ValueError, RuntimeError):
                out[i] = np.nan
        out = out.reshape(n.shape)
        return out


def coarse_curve(curve, alpha, n_max, n_points=N_CURVE, n_min=2.0):
    """``(grid, values)``: the theory at ``alpha`` on ``n_points`` log-spaced ``n`` in
    ``[n_min, n_max]`` (``nan`` where it has no limit)."""
    grid = np.unique(np.geomspace(n_min, max(float(n_max), 2 * n_min), n_points))
    return grid, curve(grid, alpha)


def interpolate_curve(grid, values, curve_n):
    """``values`` on ``grid`` carried to ``curve_n``, linearly in ``log n``; ``nan`` outside
    the grid and next to a point where the theory has no limit."""
    curve_n = np.asarray(curve_n, dtype=float)
    ok = np.isfinite(values)
    if ok.sum() < 2:
        return np.full(curve_n.shape, np.nan)
    out = np.interp(np.log(curve_n), np.log(grid[ok]), values[ok], left=np.nan, right=np.nan)
    if not np.all(ok):  # no interpolation across a stretch without a limit
        near = np.searchsorted(grid, curve_n).clip(1, grid.size - 1)
        out[~ok[near] | ~ok[near - 1]] = np.nan
    return out


def recommended_alpha(curve, n, keep, scale, n_grid=N_ALPHA, refine=True):
    """``alpha`` in ``[0, inf]`` minimising ``curve(n, alpha)``, and that error.

    A log grid of ``n_grid`` values over ``scale * [1e-3, 1e3]`` plus ``alpha = 0``, then a
    bounded search between the neighbours of the best grid point (``refine``). ``alpha = inf``
    (keep the start) is worth ``keep``.
    """
    pos = scale * np.geomspace(1e-3, 1e3, n_grid)
    grid = np.r_[0.0, pos]
    # alpha = 0 apart: it is the point where the theory may have no limit (one failing point
    # would send the whole vectorised call to the point-by-point fallback)
    vals = np.r_[curve(np.array([float(n)]), np.array([0.0])), curve(np.full(pos.size, float(n)),
                                                                   pos)]
    vals = np.where(np.isfinite(vals), vals, np.inf)
    j = int(np.argmin(vals))
    best_a, best_e = float(grid[j]), float(vals[j])
    if refine and np.isfinite(best_e) and 0 < j < grid.size - 1:
        lo, hi = np.log(grid[max(j - 1, 1)]), np.log(grid[j + 1])

        def f(u):
            v = float(curve(np.array([float(n)]), np.exp([u]))[0])
            return v if np.isfinite(v) else np.inf

        res = minimize_scalar(f, bounds=(lo, hi), method="bounded",
                              options={"xatol": 0.1, "maxiter": 8})
        if res.fun < best_e:
            best_a, best_e = float(np.exp(res.x)), float(res.fun)
    if not best_e < keep:
        return np.inf, float(keep)
    return best_a, best_e


def theory_helps_intervals(grid, values, pretrained, curve=None, alpha=None):
    """Intervals of ``n`` where the theory's error (``values`` on ``grid``) is below
    ``pretrained``.

    Every sign change between neighbours of the grid is one boundary, polished by Brent's
    method on ``curve(n, alpha)`` when given, else interpolated linearly in ``log n``. A
    stretch without a limit (``nan``) does not count as helping; sign changes between two grid
    points may be missed. An interval still open at the end of the grid reaches ``inf``.
    """
    gain_grid = values - pretrained
    helps = np.isfinite(gain_grid) & (gain_grid < 0)

    def gain(m):
        v = float(curve(np.array([m]), np.array([alpha]))[0]) - pretrained
        return v if np.isfinite(v) else np.inf

    def boundary(i):
        a, b = grid[i], grid[i + 1]
        ga, gb = gain_grid[i], gain_grid[i + 1]
        root = float(np.sqrt(a * b))
        if np.isfinite(ga) and np.isfinite(gb):
            t = ga / (ga - gb) if ga != gb else 0.5
            root = float(np.exp(np.log(a) + t * (np.log(b) - np.log(a))))
            if curve is not None:
                try:
                    root = float(brentq(gain, a, b, xtol=1e-2 * a, maxiter=20))
                except (ValueError, RuntimeError):
                    pass
        return root

    return _sign_change_intervals(helps, boundary)


def curves(curve, alpha, n, d, pretrained, keep, scale, curve_n, *, multiclass=False,
           n_classes=None):
    """The curve fields of the advice (a dict): ``curve``, ``curve_best``,
    ``recommended_alpha``, ``recommended_error`` and ``intervals`` (of ``n`` where
    fine-tuning at ``alpha`` beats ``pretrained``; ``keep`` is what ``alpha = inf`` is
    worth). One coarse grid in ``n`` up to ``20 max(n, d)`` serves the curve and the
    intervals (polished on the theory for two-class problems and regression). Multiclass
    points cost ``K`` problems, their cross terms and a ``(K - 1)``-dimensional Gaussian
    integral each (seconds for ``K = 5``): the grids have :data:`MULTICLASS_GRIDS` points for
    ``n_classes`` classes (from ``N_CURVE_MULTICLASS`` values of ``n`` and
    ``N_ALPHA_MULTICLASS`` of ``alpha`` at ``K = 3`` down to 4 and 2), and the curve at the
    recommended alpha is not drawn."""
    n_points, n_alpha = N_CURVE, N_ALPHA
    if multiclass:
        n_points, n_alpha = MULTICLASS_GRIDS.get(max(int(n_classes or 3), 3),
                                                 MULTICLASS_GRID_LARGE_K)
    grid, values = coarse_curve(curve, alpha, 20 * max(n, d), n_points)
    best_alpha, best_error = recommended_alpha(curve, n, keep, scale, n_grid=n_alpha,
                                               refine=not multiclass)
    best = None  # multiclass: the curve at the recommended alpha is not drawn (its cost)
    if np.isfinite(best_alpha) and not multiclass:
        best = interpolate_curve(*coarse_curve(curve, best_alpha, 20 * max(n, d), n_points),
                                 curve_n)
    polish = {} if multiclass else dict(curve=curve, alpha=alpha)
    return dict(
        curve=interpolate_curve(grid, values, curve_n),
        curve_best=best,
        recommended_alpha=best_alpha,
        recommended_error=best_error,
        intervals=theory_helps_intervals(grid, values, pretrained, **polish),
    )
