"""Full-batch minimiser of the warm-start objective for every loss, ``alpha > 0``.

NumPy only (one BLAS pool): no validation, no scikit-learn. Arrays in, arrays out. Per target
column, with weights ``s_i >= 0`` rescaled to mean one over the rows,

.. math::

    F(w, b) = \\frac{\\sum_i s_i\\, \\ell(y_i, x_i^\\top w + b)}{\\sum_i s_i}
              + \\frac{\\alpha}{2} \\lVert w - w_0 \\rVert^2 ,

the objective :mod:`skft._core._sgd` descends, with the same intercept rule as
:mod:`skft._core._exact`: the intercept is **not pulled** toward ``b0`` (with ``fit_intercept``
it is free; without, it stays at ``b0``). For ``alpha > 0`` the coefficients ``w`` of a
minimiser are unique (``F`` is strongly convex in ``w``), and so is ``b`` for ``squared_error``
and ``log_loss``; for the losses with flat pieces (``huber``, ``modified_huber``, ``hinge``,
``epsilon_insensitive``) the set of minimising ``b`` can be an interval in degenerate cases (no
sample where the loss curves or kinks): any point of it is a minimiser; the one returned is
where the route below stops (a full-batch SGD run converges to some point of the set too).
With ``alpha = 0`` a minimiser may not exist (``log_loss`` on separable data) or not be unique
(interpolation), and the point SGD reaches then depends on its path: not this kernel's job.

Routes (each column on its own: one-vs-rest):

* smooth losses (``squared_error``, ``log_loss``, ``huber``, ``modified_huber``): Newton's
  method with the generalised Hessian (semismooth Newton for the piecewise-quadratic ones, which
  ends exactly once the pieces are identified), an Armijo line search, and a step that is
  regularised by the gradient norm in the intercept direction when the loss is flat there. The
  Newton system is solved on the smaller side: through the ``n x n`` matrix
  ``alpha I + H^1/2 X X' H^1/2 / n`` (Woodbury, ``X X'`` formed once) when ``n <= d``, else the
  ``(d + 1) x (d + 1)`` Hessian.
* piecewise-linear losses (``hinge``, ``epsilon_insensitive``): continuation on their smoothed
  versions (Moreau envelopes, quadratic within ``mu`` of a kink: piecewise quadratic, solved
  as above) for ``mu = 1, 1e-2, ..., 1e-8``, each stage followed by an active-set polish: the
  samples on a kink give linear equations ``x_i' w + b = kink_i`` and the others a fixed
  subgradient, which with the stationarity conditions form a ``(|E| + 1)``-square linear system
  (``|E|`` samples on a kink); sets are corrected until every subgradient lies in its
  subdifferential and every sample in its piece (primal-dual active set). The answer then
  satisfies the KKT conditions to rounding error. This is the exact route liblinear's dual
  coordinate ascent approaches iteratively, with the intercept left unpenalised.

``kkt_violation`` reports the largest violation of the optimality conditions of a returned
point (smooth losses: the gradient; piecewise-linear: the stationarity residual with the
subgradients the active set found), relative to the size of the terms in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

__all__ = ["ConvexSolution", "solve_convex", "calibrate_scores", "CONVEX_LOSSES"]

SMOOTH_LOSSES = ("squared_error", "log_loss", "huber", "modified_huber")
PIECEWISE_LINEAR_LOSSES = ("hinge", "epsilon_insensitive")
CONVEX_LOSSES = SMOOTH_LOSSES + PIECEWISE_LINEAR_LOSSES
_MU_STAGES = (1.0, 1e-1, 1e-2, 1e-3, 1e-4, 1e-6, 1e-8)


@dataclass(frozen=True)
class ConvexSolution:
    """Result of :func:`solve_convex`.

    Attributes
    ----------
    coef : ndarray of shape (n_features, n_targets), or (n_features,) for a 1-D ``Y``
    intercept : ndarray of shape (n_targets,), or float for a 1-D ``Y``
    n_iter : int
        Largest number of Newton / active-set iterations over the columns.
    converged : bool
        Whether every column met the stopping rule (else the last iterate is returned).
    kkt : float
        Largest relative violation of the optimality conditions over the columns.
    """

    coef: np.ndarray
    intercept: object
    n_iter: int
    converged: bool
    kkt: float


# ---------------------------------------------------------------------- losses with curvature
class _Loss:
    """Value, first and (generalised) second derivative in the prediction ``p``.

    ``mu > 0`` smooths the piecewise-linear losses into their Moreau envelopes.
    """

    def __init__(self, name, epsilon=0.1, mu=0.0):
        self.name, self.epsilon, self.mu = name, float(epsilon), float(mu)

    def __call__(self, p, y):
        name, e, mu = self.name, self.epsilon, self.mu
        if name == "squared_error":
            r = p - y
            return 0.5 * r * r, r, np.ones_like(r)
        if name == "huber":
            r = p - y
            inside = np.abs(r) <= e
            val = np.where(inside, 0.5 * r * r, e * np.abs(r) - 0.5 * e * e)
            return val, np.clip(r, -e, e), inside.astype(np.float64)
        if name == "log_loss":
            z = y * p
            return np.logaddexp(0.0, -z), -y * expit(-z), expit(z) * expit(-z)
        if name == "modified_huber":
            z = y * p
            quad = (z >= -1.0) & (z < 1.0)
            val = np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z)
            d1 = np.where(z >= 1.0, 0.0, np.where(quad, -2.0 * y * (1.0 - z), -4.0 * y))
            return val, d1, 2.0 * quad
        if name == "hinge":  # smoothed: t = 1 - y p; 0 | t^2 / (2 mu) | t - mu / 2
            t = 1.0 - y * p
            quad = (t > 0.0) & (t <= mu)
            val = np.where(t <= 0.0, 0.0, np.where(quad, 0.5 * t * t / mu, t - 0.5 * mu))
            d1 = -y * np.where(t <= 0.0, 0.0, np.where(quad, t / mu, 1.0))
            return val, d1, quad / mu
        if name == "epsilon_insensitive":  # smoothed: a = |p - y| - eps
            r = p - y
            a = np.abs(r) - e
            quad = (a > 0.0) & (a <= mu)
            val = np.where(a <= 0.0, 0.0, np.where(quad, 0.5 * a * a / mu, a - 0.5 * mu))
            d1 = np.sign(r) * np.where(a <= 0.0, 0.0, np.where(quad, a / mu, 1.0))
            return val, d1, quad / mu
        raise ValueError(f"unknown loss {name!r}")


def _kinks(name, y, epsilon):
    """Kinks ``lo <= hi`` of a piecewise-linear loss in ``p`` and its slopes left of ``lo``,
    between, right of ``hi`` (``lo == hi``: one kink, the middle slope unused)."""
    one = np.ones_like(y)
    if name == "hinge":  # max(0, 1 - y p), y = +-1: kink at p = y
        return y.copy(), y.copy(), -1.0 * (y > 0), 0.0 * one, 1.0 * (y < 0)
    return y - epsilon, y + epsilon, -one, 0.0 * one, one


# ---------------------------------------------------------------------- linear algebra helpers
def _dense(A):
    return np.asarray(A.toarray() if sp.issparse(A) else A)


def _mv(X, v):
    return np.asarray(X @ v).ravel()


def _rmv(X, u):
    return np.asarray(X.T @ u).ravel()


class _Design:
    """``X`` with the Gram matrix of the side Newton solves on, formed once."""

    def __init__(self, X):
        self.X = X
        self.n, self.d = X.shape
        self.kernel = self.n <= self.d
        self.K = _dense(X @ X.T) if self.kernel else None

    def newton_direction(self, h, gv, gb, alpha, fit_intercept, reg_b):
        """Solve ``[[alpha I + X'HX, X'h], [h'X, sum h + reg_b]] [dv; db] = -[gv; gb]``."""
        X, d = self.X, self.d
        if self.kernel:
            rh = np.sqrt(h)
            M = (rh[:, None] * self.K) * rh[None, :]
            M[np.diag_indices_from(M)] += alpha

            def a_inv(U):  # (alpha I + X' H X)^-1 U, U of shape (d, m)
                T = rh[:, None] * _dense(X @ U)
                return (U - _dense(X.T @ (rh[:, None] * np.linalg.solve(M, T)))) / alpha

            if not fit_intercept:
                return -a_inv(gv[:, None])[:, 0], 0.0
            c = _rmv(X, h)
            sol = a_inv(np.column_stack([gv, c]))
            a_gv, a_c = sol[:, 0], sol[:, 1]
            schur = h.sum() - c @ a_c + reg_b
            db = -(gb - c @ a_gv) / schur
            return -a_gv - a_c * db, db
        Xh = X.multiply(h[:, None]).tocsr() if sp.issparse(X) else X * h[:, None]
        A = _dense(X.T @ Xh)
        A[np.diag_indices_from(A)] += alpha
        if not fit_intercept:
            return -np.linalg.solve(A, gv), 0.0
        c = _rmv(X, h)
        H = np.empty((d + 1, d + 1))
        H[:d, :d] = A
        H[:d, d] = H[d, :d] = c
        H[d, d] = h.sum() + reg_b
        u = -np.linalg.solve(H, np.concatenate([gv, [gb]]))
        return u[:d], u[d]


# ---------------------------------------------------------------------- smooth route (Newton)
def _newton(design, off, y, s, alpha, loss, fit_intercept, v, b, tol, max_iter):
    """Minimise ``mean(s * l(off + X v + b, y)) + alpha/2 ||v||^2`` from ``(v, b)``."""
    X, n = design.X, design.n
    p = off + _mv(X, v) + b
    val, d1, d2 = loss(p, y)
    F = float(s @ val) / n + 0.5 * alpha * float(v @ v)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        g = s * d1 / n
        xg = _rmv(X, g)
        gv = xg + alpha * v
        gb = float(g.sum()) if fit_intercept else 0.0
        # relative stationarity: the gradient against the size of its terms
        size_v = max(float(np.max(np.abs(xg), initial=0.0)), alpha * float(
            np.max(np.abs(v), initial=0.0)), 1e-300)
        viol = max(float(np.max(np.abs(gv), initial=0.0)) / size_v,
                   abs(gb) / max(float(np.abs(g).sum()), 1e-300))
        if viol <= 1e-14:
            converged = True
            break
        h = s * d2 / n
        # flat in b (no sample where the loss curves): regularise that direction (LM-style)
        flat_b = fit_intercept and h.sum() <= 1e-12 * max(float(s.sum()) / n, 1e-300)
        reg_b = abs(gb) if flat_b else 0.0
        if flat_b and reg_b == 0.0:
            reg_b = 1.0
        # alpha = 0 (calibration only): Levenberg-Marquardt damping by the gradient norm
        ridge = alpha if alpha > 0 else max(float(np.max(np.abs(gv), initial=0.0)), 1e-300)
        dv, db = design.newton_direction(h, gv, gb, ridge, fit_intercept, reg_b)
        slope = float(gv @ dv) + gb * db
        if not slope < 0.0:  # no descent left: stationary to rounding
            converged = True
            break
        Xdv = _mv(X, dv) + db
        t, accepted = 1.0, None
        # below rounding of F the Armijo test cannot see the decrease: take the Newton step
        local = -slope <= 1e3 * np.finfo(np.float64).eps * max(abs(F), 1e-300)
        while t > 1e-20:
            vt = v + t * dv
            pt = p + t * Xdv
            val_t, d1_t, d2_t = loss(pt, y)
            Ft = float(s @ val_t) / n + 0.5 * alpha * float(vt @ vt)
            if Ft <= F + 1e-4 * t * slope or (local and not flat_b):
                accepted = (t, vt, pt, val_t, d1_t, d2_t, Ft)
                break
            t *= 0.5
        if accepted is None:  # rounding: the objective cannot decrease along dv
            converged = True
            break
        if flat_b and accepted[0] == 1.0:  # a regularised step may be too short: expand
            while True:
                t2 = accepted[0] * 2.0
                vt = v + t2 * dv
                pt = p + t2 * Xdv
                val_t, d1_t, d2_t = loss(pt, y)
                Ft = float(s @ val_t) / n + 0.5 * alpha * float(vt @ vt)
                if not Ft < accepted[6] or t2 > 1e30:
                    break
                accepted = (t2, vt, pt, val_t, d1_t, d2_t, Ft)
        t, v_new, p, val, d1, d2, F_new = accepted
        b_new = b + t * db
        step = max(float(np.max(np.abs(t * dv), initial=0.0)), abs(t * db))
        size = max(1.0, float(np.max(np.abs(v_new), initial=0.0)), abs(b_new))
        v, b = v_new, b_new
        decrease = F - F_new
        F = F_new
        if t == 1.0 and not flat_b and step <= tol * size and viol <= 1e-8:
            converged = True  # (a full Newton step this small: rounding is the limit)
            break
        if decrease <= 1e-16 * max(abs(F), 1e-300) and step <= 1e-8 * size:
            converged = True
            break
    return v, b, it, converged


# ---------------------------------------------------------------------- piecewise-linear polish
def _active_set(design, off, y, s, alpha, name, epsilon, fit_intercept, v, b, max_iter=50,
                mu=0.0):
    """Exact minimiser of a piecewise-linear loss from a smoothed solution ``(v, b)``.

    ``mu``: the smoothing of the solution ``(v, b)`` comes from; the samples within its
    quadratic zones start on their kinks. Returns ``(v, b, g, converged, n_iter)`` with ``g``
    the subgradients found.
    """
    X, n = design.X, design.n
    lo, hi, s_left, s_mid, s_right = _kinks(name, y, epsilon)
    single = lo == hi
    p = off + _mv(X, v) + b
    scale = 1.0 + np.abs(lo) + np.abs(hi)
    # state: 0 left piece, 1 on kink lo, 2 middle piece, 3 on kink hi, 4 right piece
    # on a kink: within the smoothing zone of the smoothed solution (which lies on the side
    # where the loss grows: below the hinge's kink for y = +1, outside the epsilon tube)
    width = max(mu, 1e-9) * 1.000001
    near_lo = np.abs(p - lo) <= width * scale if mu == 0 else (
        (p >= lo - width) & (p <= lo + (width if name == "hinge" else 1e-9 * scale)))
    near_hi = np.abs(p - hi) <= width * scale if mu == 0 else (
        (p <= hi + width) & (p >= hi - (width if name == "hinge" else 1e-9 * scale)))
    state = np.where(p < lo, 0, np.where(p > hi, 4, 2))
    state = np.where(near_hi & ~single, 3, state)
    state = np.where(near_lo, 1, state)
    state = np.where(single & (state == 2), 1, state)
    g = np.zeros(n)
    seen = set()
    for it in range(1, max_iter + 1):
        on = (state == 1) | (state == 3)
        fixed = np.select([state == 0, state == 2, state == 4], [s_left, s_mid, s_right], 0.0)
        u = np.where(on, 0.0, s * fixed / n)  # u_i = s_i g_i / n for the fixed pieces
        E = np.flatnonzero(on)
        kink = np.where(state == 1, lo, hi)[E]
        q = _rmv(X, u)
        if E.size:
            XE = X[E]
            KE = _dense(XE @ XE.T) if design.K is None else design.K[np.ix_(E, E)]
            rhs = kink - off[E] + _mv(XE, q) / alpha
            if fit_intercept:
                A = np.zeros((E.size + 1, E.size + 1))
                A[:-1, :-1] = -KE / alpha
                A[:-1, -1] = 1.0
                A[-1, :-1] = 1.0
                sol = np.linalg.lstsq(A, np.concatenate([rhs, [-u.sum()]]), rcond=None)[0]
                uE, b = sol[:-1], float(sol[-1])
            else:
                uE = np.linalg.lstsq(-KE / alpha, rhs - b, rcond=None)[0]
            u[E] = uE
            q = q + _rmv(XE, uE)
        v = -q / alpha
        p = off + _mv(X, v) + (b if E.size or not fit_intercept else 0.0)
        if fit_intercept and not E.size:  # b free within the pieces: their middle
            lower = np.where(state == 4, hi, np.where(state == 2, lo, -np.inf)) - p
            upper = np.where(state == 0, lo, np.where(state == 2, hi, np.inf)) - p
            blo, bhi = float(lower.max()), float(upper.min())
            b = 0.5 * (blo + bhi) if np.isfinite(blo) and np.isfinite(bhi) else (
                blo if np.isfinite(blo) else bhi if np.isfinite(bhi) else b)
            p = p + b
        g = np.where(s > 0, u * n / np.where(s > 0, s, 1.0), 0.0)
        tol_g = 1e-10
        # predictions are sums of terms: their rounding error scales with the terms' size
        Xv = _mv(X, v)
        tol_p = 1e-9 * (scale + np.abs(off) + np.abs(Xv) + abs(b))
        new = state.copy()
        # on a kink: the subgradient must lie in [left slope, right slope] of that kink
        gl = np.where(state == 1, s_left, s_mid)
        gr = np.where(state == 1, np.where(single, s_right, s_mid), s_right)
        new = np.where(on & (g < gl - tol_g), np.where(state == 1, 0, 2), new)
        new = np.where(on & (g > gr + tol_g), np.where(state == 1, np.where(single, 4, 2), 4),
                       new)
        # on a kink the equation must hold (a singular system may leave it unmet): off it,
        # the sample goes to the piece its prediction is in
        kink_all = np.where(state == 1, lo, hi)
        off_kink = on & (np.abs(p - kink_all) > tol_p)
        below = np.where(state == 1, 0, 2)
        above = np.where(state == 1, np.where(single, 4, 2), 4)
        new = np.where(off_kink, np.where(p < kink_all, below, above), new)
        # in a piece: the prediction must stay in it
        new = np.where((state == 0) & (p > lo + tol_p), 1, new)
        new = np.where((state == 4) & (p < hi - tol_p), np.where(single, 1, 3), new)
        new = np.where((state == 2) & (p < lo - tol_p), 1, new)
        new = np.where((state == 2) & (p > hi + tol_p), 3, new)
        if np.array_equal(new, state):
            return v, b, g, True, it
        key = new.tobytes()
        if key in seen:  # cycling: give up (the caller keeps the smoothed solution)
            break
        seen.add(key)
        state = new
    return v, b, g, False, it


def _kkt(design, off, y, s, alpha, loss_name, epsilon, fit_intercept, v, b, g):
    """Relative violation of stationarity (and, piecewise-linear, of the subdifferentials)."""
    X, n = design.X, design.n
    p = off + _mv(X, v) + b
    if g is None:
        g = _Loss(loss_name, epsilon)(p, y)[1]
        range_violation = 0.0
    else:
        lo, hi, s_left, s_mid, s_right = _kinks(loss_name, y, epsilon)
        tol = 1e-7 * (1.0 + np.abs(lo) + np.abs(hi))
        single = lo == hi
        at_lo, at_hi = np.abs(p - lo) <= tol, np.abs(p - hi) <= tol
        gmin = np.select([p < lo - tol, at_lo, p < hi - tol, at_hi & ~single],
                         [s_left, s_left, s_mid, s_mid], s_right)
        gmax = np.select([p < lo - tol, at_lo & single, at_lo, p < hi - tol],
                         [s_left, s_right, s_mid, s_mid], s_right)
        range_violation = float(np.max(np.maximum(gmin - g, g - gmax), initial=0.0))
    u = s * g / n
    Xu = _rmv(X, u)
    stat = np.abs(Xu + alpha * v)
    size = np.abs(Xu) + alpha * np.abs(v) + 1e-300
    viol = float(np.max(stat / np.maximum(size, np.max(size)), initial=0.0))
    if fit_intercept:
        viol = max(viol, abs(float(u.sum())) / max(float(np.abs(u).sum()), 1e-300))
    return max(viol, range_violation)


# ---------------------------------------------------------------------- public kernel
def solve_convex(X, Y, coef_anchor, intercept_anchor, alpha, loss, epsilon=0.1,
                 fit_intercept=True, sample_weight=None, *, coef_start=None,
                 intercept_start=None, tol=1e-10, max_iter=200):
    """Minimiser of the warm-start objective (module docstring) for any loss, ``alpha > 0``.

    Parameters
    ----------
    X : ndarray or sparse matrix of shape (n_samples, n_features), float64
    Y : ndarray of shape (n_samples, n_targets) or (n_samples,)
        Targets (``+-1`` for the classification losses).
    coef_anchor : ndarray of shape (n_features, n_targets) or (n_features,)
        ``w0``, the point the pull ``alpha/2 ||w - w0||^2`` is toward.
    intercept_anchor : ndarray of shape (n_targets,) or float
        ``b0``: the fixed intercept when ``fit_intercept`` is False, else only a starting point.
    alpha : float > 0
    loss : {"squared_error", "log_loss", "huber", "modified_huber", "hinge", \
"epsilon_insensitive"}
    epsilon : float, default=0.1
        Width of ``huber`` and ``epsilon_insensitive``.
    fit_intercept : bool, default=True
    sample_weight : ndarray of shape (n_samples,) or None
    coef_start, intercept_start : ndarray or None
        Where the iteration starts (default: the anchor); the minimiser does not depend on it.
    tol : float, default=1e-10
        Newton stops when a full step moves no coordinate by more than ``tol`` times
        ``max(1, max |coef - w0|, |intercept|)``.
    max_iter : int, default=200
        Newton iterations per stage.

    Returns
    -------
    ConvexSolution

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 10)); y = np.sign(X[:, 0] + 0.5 * rng.standard_normal(40))
    >>> sol = solve_convex(X, y, np.zeros(10), 0.0, alpha=0.1, loss="log_loss")
    >>> p = X @ sol.coef + sol.intercept
    >>> grad = X.T @ (-y / (1 + np.exp(y * p))) / 40 + 0.1 * sol.coef  # gradient at the answer
    >>> sol.converged, bool(np.abs(grad).max() < 1e-12)
    (True, True)
    """
    if not alpha > 0:
        raise ValueError(f"solve_convex needs alpha > 0, got {alpha!r}")
    if loss not in CONVEX_LOSSES:
        raise ValueError(f"unknown loss {loss!r}")
    one_d = np.ndim(Y) == 1
    Y = np.asarray(Y, dtype=np.float64).reshape(np.shape(Y)[0], -1)
    W0 = np.asarray(coef_anchor, dtype=np.float64).reshape(X.shape[1], -1)
    b0 = np.broadcast_to(np.asarray(intercept_anchor, dtype=np.float64).ravel(),
                         (Y.shape[1],)).copy()
    Ws = W0 if coef_start is None else np.asarray(coef_start, np.float64).reshape(W0.shape)
    bs = b0 if intercept_start is None else np.broadcast_to(
        np.asarray(intercept_start, np.float64).ravel(), b0.shape)
    if sp.issparse(X):
        X = X.tocsr()
    n = X.shape[0]
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    keep = s > 0
    if not np.all(keep):
        X, Y, s = X[keep], Y[keep], s[keep]
        n = X.shape[0]
    if n == 0:
        raise ValueError("all sample weights are zero")
    s = s * (n / float(s.sum()))
    design = _Design(X)
    coef = np.empty_like(W0)
    intercept = np.empty(Y.shape[1])
    n_iter, converged, kkt = 0, True, 0.0
    alpha = float(alpha)
    with np.errstate(over="ignore", under="ignore"):
        for j in range(Y.shape[1]):
            y = Y[:, j]
            off = _mv(X, W0[:, j]) + (0.0 if fit_intercept else b0[j])
            v = Ws[:, j] - W0[:, j]
            b = float(bs[j]) if fit_intercept else 0.0
            g = None
            if loss in SMOOTH_LOSSES:
                v, b, it, ok = _newton(design, off, y, s, alpha, _Loss(loss, epsilon),
                                       fit_intercept, v, b, tol, max_iter)
                n_iter = max(n_iter, it)
            else:
                ok, total = False, 0
                for mu in _MU_STAGES:
                    v, b, it, _ = _newton(design, off, y, s, alpha, _Loss(loss, epsilon, mu),
                                          fit_intercept, v, b, tol, max_iter)
                    total += it
                    va, ba, ga, ok, it = _active_set(design, off, y, s, alpha, loss, epsilon,
                                                     fit_intercept, v, b, max_iter=10, mu=mu)
                    total += it
                    if ok:
                        v, b, g = va, ba, ga
                        break
                if not ok:  # report the optimality of the last smoothed stage honestly
                    g = np.clip(_Loss(loss, epsilon, _MU_STAGES[-1])(
                        off + _mv(X, v) + b, y)[1], -1.0, 1.0)
                n_iter = max(n_iter, total)
            converged = converged and ok
            kkt = max(kkt, _kkt(design, off, y, s, alpha, loss, epsilon, fit_intercept, v, b,
                                g))
            coef[:, j] = W0[:, j] + v
            intercept[j] = b if fit_intercept else b0[j]
    if one_d:
        return ConvexSolution(coef[:, 0], float(intercept[0]), n_iter, converged, kkt)
    return ConvexSolution(coef, intercept, n_iter, converged, kkt)


def calibrate_scores(scores, y, loss, epsilon=0.1, sample_weight=None, *, scale=True):
    """Scale and offset ``(a, c)`` minimising ``sum_i s_i l(y_i, a z_i + c)`` (``a = 1`` when
    ``scale`` is False): the affine map of a start's scores ``z`` onto the targets ``y``.

    Unregularised, so the minimiser may not exist: raises ``ValueError`` when the scores
    separate ``y`` (``log_loss``: the scale diverges) or when ``z`` is constant (``a`` is not
    identified). Squared loss: closed form (weighted least squares); smooth losses: Newton on
    the two parameters; ``hinge`` / ``epsilon_insensitive``: a linear programme (HiGHS).

    Returns
    -------
    a, c : float

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([-2.0, -1.0, 1.0, 2.0]); y = np.array([-1.0, -0.6, 0.4, 1.0])
    >>> a, c = calibrate_scores(z, y, "squared_error")
    >>> bool(np.allclose([a, c], np.polyfit(z, y, 1)))
    True
    """
    z = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    s = np.ones(z.size) if sample_weight is None else np.asarray(sample_weight, np.float64)
    keep = s > 0
    z, y, s = z[keep], y[keep], s[keep]
    s = s / s.mean()
    n = z.size
    zbar = float(s @ z) / n
    spread = float(np.sqrt(s @ (z - zbar) ** 2 / n))
    if scale and not spread > 1e-12 * max(1.0, float(np.max(np.abs(z), initial=0.0))):
        raise ValueError("the start's scores are constant on these samples, so their scale "
                         "cannot be calibrated")
    if loss == "squared_error":
        ybar = float(s @ y) / n
        a = float(s @ ((z - zbar) * (y - ybar))) / (n * spread**2) if scale else 1.0
        return a, ybar - a * zbar
    if loss in PIECEWISE_LINEAR_LOSSES:
        return _calibrate_lp(z, y, s, loss, epsilon, scale)
    if scale and loss == "log_loss":
        pos, neg = z[y > 0], z[y <= 0]
        if pos.size and neg.size and (pos.min() > neg.max() or pos.max() < neg.min()):
            raise ValueError("calibrating the start under loss='log_loss' has no finite "
                             "solution: its scores separate the classes of y (the scale "
                             "diverges)")
    # smooth losses: Newton on (a, c) with standardised scores, without pull
    if scale:
        design = _Design(((z - zbar) / spread)[:, None])
        v, b, off = np.array([spread]), zbar, np.zeros(n)
    else:
        design = _Design(np.zeros((n, 0)))
        v, b, off = np.zeros(0), 0.0, z
    v, b, _, ok = _newton(design, off, y, s, 0.0, _Loss(loss, epsilon), True, v, b,
                          1e-12, 500)
    if not (ok and np.all(np.isfinite(v)) and np.isfinite(b)):
        raise ValueError(f"calibrating the start under loss={loss!r} did not converge "
                         "(the scores may separate y)")
    if not scale:
        return 1.0, float(b)
    a = float(v[0]) / spread
    return a, float(b - a * zbar)


def _calibrate_lp(z, y, s, loss, epsilon, scale):
    """Hinge / epsilon-insensitive calibration as a linear programme in ``(a, c, xi)``."""
    from scipy.optimize import linprog

    n = z.size
    if loss == "hinge":  # xi_i >= 1 - y_i (a z_i + c), xi >= 0
        A = np.column_stack([-(y * z), -y, -np.eye(n)])
        rhs = -np.ones(n)
    else:  # xi_i >= |a z_i + c - y_i| - eps
        A = np.vstack([np.column_stack([z, np.ones(n), -np.eye(n)]),
                       np.column_stack([-z, -np.ones(n), -np.eye(n)])])
        rhs = np.concatenate([y + epsilon, epsilon - y])
    if not scale:
        rhs = rhs - A[:, 0]
        A = A[:, 1:]
    cost = np.concatenate([np.zeros(2 if scale else 1), s / n])
    bounds = [(None, None)] * (2 if scale else 1) + [(0, None)] * n
    res = linprog(cost, A_ub=A, b_ub=rhs, bounds=bounds, method="highs")
    if res.status != 0:
        raise ValueError(f"calibrating the start under loss={loss!r} failed: {res.message}")
    return (float(res.x[0]), float(res.x[1])) if scale else (1.0, float(res.x[0]))
