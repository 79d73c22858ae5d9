"""Accurate minimisers for the simulation tests (independent of skft's SGD).

``(1/n) sum_i loss(y_i, x_i'w + b) + alpha/2 ||w - w0||^2`` is minimised by L-BFGS on
``(w, b)`` for the smooth losses (logistic, modified huber, squared, huber: their gradients
are continuous). For the non-smooth hinge and epsilon-insensitive losses the loss is replaced
by its Moreau envelope of width ``h`` (a C1 function whose minimiser converges to the exact one
as ``h -> 0``), solved for ``h = 1e-1, 1e-2, 1e-3``, each from the previous solution; then
the exact minimiser is found by an active-set polish of the KKT conditions (every sample is
either strictly inside a linear piece of its loss, with a known derivative, or at a kink, with
its prediction fixed and its subgradient solved for), iterated until every sample's piece and
every kink's subgradient are consistent: exact up to rounding. At ``alpha = 0`` these losses
are linear programs (HiGHS). The
max-margin direction (the ``alpha = 0`` limit of the logistic loss on separable data) is the
point of the convex hull of ``{y_i x_i}`` nearest the origin, found by non-negative least
squares (Lawson-Hanson with the simplex constraint weighted in).
"""

import numpy as np
from scipy.optimize import minimize, nnls
from scipy.special import expit
from threadpoolctl import threadpool_limits

SMOOTH_WIDTHS = (1e-1, 1e-2, 1e-3)


def _margin_loss(name, h=None):
    """``(value, derivative)`` of a margin loss ``l(z)``."""
    if name == "log_loss":
        return (lambda z: np.logaddexp(0.0, -z)), (lambda z: -expit(-z))
    if name == "squared_error":
        return (lambda z: 0.5 * (1.0 - z) ** 2), (lambda z: z - 1.0)
    if name == "modified_huber":
        return (
            lambda z: np.where(z >= -1.0, np.maximum(0.0, 1.0 - z) ** 2, -4.0 * z),
            lambda z: np.where(z >= 1.0, 0.0, np.where(z >= -1.0, -2.0 * (1.0 - z), -4.0)),
        )
    if name == "hinge":  # Moreau envelope of width h
        return (
            lambda z: np.where(z >= 1.0, 0.0, np.where(z >= 1.0 - h, (1.0 - z) ** 2 / (2 * h),
                                                       1.0 - z - h / 2)),
            lambda z: np.where(z >= 1.0, 0.0, np.where(z >= 1.0 - h, -(1.0 - z) / h, -1.0)),
        )
    raise ValueError(name)


def _residual_loss(name, epsilon, h=None):
    """``(value, derivative)`` of a residual loss ``rho(r)``, ``r = p - y``."""
    e = epsilon
    if name == "squared_error":
        return (lambda r: 0.5 * r * r), (lambda r: r)
    if name == "huber":
        return (
            lambda r: np.where(np.abs(r) <= e, 0.5 * r * r, e * np.abs(r) - 0.5 * e * e),
            lambda r: np.clip(r, -e, e),
        )
    if name == "epsilon_insensitive":  # Moreau envelope of width h
        def value(r):
            a = np.abs(r) - e
            return np.where(a <= 0, 0.0, np.where(a <= h, a * a / (2 * h), a - h / 2))

        def deriv(r):
            a = np.abs(r) - e
            return np.sign(r) * np.where(a <= 0, 0.0, np.where(a <= h, a / h, 1.0))

        return value, deriv
    raise ValueError(name)


def _lbfgs(fun_grad, x0):
    # one BLAS thread: fun_grad runs on NumPy's BLAS, L-BFGS-B's Fortran on SciPy's, and two
    # multithreaded pools alternating thousands of times were measured ~100x slower
    # (1.9 ms per L-BFGS-B step of a 251-dimensional problem on a loaded 2-core machine)
    with threadpool_limits(1):
        res = minimize(fun_grad, x0, jac=True, method="L-BFGS-B",
                       options=dict(maxiter=50000, maxcor=30, gtol=1e-11, ftol=1e-16))
    return res.x


def _fit(X, w0, alpha, fit_intercept, b0, pointwise, start=None):
    """Minimise ``mean(value(p)) + alpha/2 ||w - w0||^2`` with ``pointwise(p) = (v, dv)``."""
    n, d = X.shape

    def fun_grad(x):
        w = x[:d]
        b = x[d] if fit_intercept else b0
        p = X @ w + b
        v, dv = pointwise(p)
        g = np.empty_like(x)
        g[:d] = X.T @ dv / n + alpha * (w - w0)
        if fit_intercept:
            g[d] = dv.mean()
        return v.mean() + 0.5 * alpha * np.sum((w - w0) ** 2), g

    if start is None:
        start = np.concatenate([w0, [b0]]) if fit_intercept else w0.copy()
    x = _lbfgs(fun_grad, start)
    return (x[:d], x[d] if fit_intercept else b0), x


def fit_classifier(X, y, w0, alpha, loss, *, fit_intercept=False, b0=0.0):
    """Accurate ``(w, b)``; for the hinge also the solution at the previous width."""
    if loss != "hinge":
        value, deriv = _margin_loss(loss)
        return _fit(X, w0, alpha, fit_intercept, b0,
                    lambda p: (value(y * p), y * deriv(y * p)))[0]
    if alpha == 0:
        return _lp(X, y, np.array([1.0]), np.array([[-1.0, 0.0]]), "margin", fit_intercept, b0)
    x = None
    for h in SMOOTH_WIDTHS:
        value, deriv = _margin_loss("hinge", h)
        _, x = _fit(X, w0, alpha, fit_intercept, b0,
                    lambda p, v=value, dv=deriv: (v(y * p), y * dv(y * p)), start=x)
    # kink at p = y (margin 1); derivative in p: -y below (margin < 1), 0 above
    return _polish(X, w0, alpha, fit_intercept, b0, x, kinks=y[:, None],
                   slopes=np.column_stack([-y, np.zeros_like(y)]) * (y[:, None] > 0)
                   + np.column_stack([np.zeros_like(y), -y]) * (y[:, None] < 0))


def fit_regressor(X, y, w0, alpha, loss, *, epsilon=0.1, fit_intercept=False, b0=0.0):
    """Accurate ``(w, b)`` (``epsilon_insensitive``: plus the solution at the previous width)."""
    if loss != "epsilon_insensitive":
        value, deriv = _residual_loss(loss, epsilon)
        return _fit(X, w0, alpha, fit_intercept, b0,
                    lambda p: (value(p - y), deriv(p - y)))[0]
    if alpha == 0:
        return _lp(X, y, np.array([-epsilon, epsilon]), np.array([[-1.0, 0.0, 1.0]]), "residual",
                   fit_intercept, b0)
    x = None
    for h in SMOOTH_WIDTHS:
        value, deriv = _residual_loss(loss, epsilon, h)
        _, x = _fit(X, w0, alpha, fit_intercept, b0,
                    lambda p, v=value, dv=deriv: (v(p - y), dv(p - y)), start=x)
    ones = np.ones_like(y)
    return _polish(X, w0, alpha, fit_intercept, b0, x,
                   kinks=np.column_stack([y - epsilon, y + epsilon]),
                   slopes=np.column_stack([-ones, 0 * ones, ones]))


def max_margin(X, y, *, fit_intercept=False):
    """Direction ``(w, b)`` of the max-margin separator (intercept in the norm, as for GD).

    The nearest point to the origin of the convex hull of ``z_i = y_i (x_i, 1)``:
    ``min ||Z'a||^2`` over the simplex, as NNLS ``min ||[Z'; s 1'] a - [0; s]||`` with a
    large ``s``. Returns ``(w, b)`` scaled to margin 1, or raises when not separable.
    """
    Z = y[:, None] * (np.column_stack([X, np.ones(len(y))]) if fit_intercept else X)
    s = 1e3 * np.sqrt(np.max(np.sum(Z * Z, axis=1)))
    A = np.vstack([Z.T, s * np.ones((1, Z.shape[0]))])
    rhs = np.concatenate([np.zeros(Z.shape[1]), [s]])
    a, _ = nnls(A, rhs, maxiter=50 * Z.shape[0])
    a = a / a.sum()
    v = Z.T @ a
    margins = Z @ v
    if not margins.min() > 0:
        raise ValueError("not separable")
    v = v / margins.min()
    return (v[:-1], v[-1]) if fit_intercept else (v, 0.0)


def _polish(X, w0, alpha, fit_intercept, b0, x, kinks, slopes, max_rounds=200):
    """Exact minimiser of a piecewise-linear loss + ridge toward ``w0`` (``alpha > 0``).

    ``kinks`` (n, m): increasing kink locations of each sample's loss in the prediction ``p``;
    ``slopes`` (n, m + 1): its derivative on the pieces between them. KKT:
    ``w = w0 - X'g / (n alpha)``, ``sum g = 0`` (intercept), ``g_i`` the slope of the piece of
    ``p_i`` or, at a kink, any value between the neighbouring slopes.
    """
    n, d = X.shape
    w = x[:d]
    b = x[d] if fit_intercept else b0
    p = X @ w + b
    tol = 1e-7 * (1.0 + np.abs(kinks))
    # state: piece index j in 0..m (strictly inside), or kink index -(j+1)
    at = np.abs(p[:, None] - kinks) <= 2 * SMOOTH_WIDTHS[-1] * (1.0 + np.abs(kinks))
    piece = (p[:, None] > kinks).sum(axis=1)
    kink = np.where(at.any(axis=1), at.argmax(axis=1), -1)
    for _ in range(max_rounds):
        K = np.flatnonzero(kink >= 0)
        N = np.flatnonzero(kink < 0)
        gN = slopes[N, piece[N]]
        t = kinks[K, kink[K]]
        XK = X[K]
        base = XK @ w0 - XK @ (X[N].T @ gN) / (n * alpha)
        A = -(XK @ XK.T) / (n * alpha)
        if fit_intercept:
            A = np.block([[A, np.ones((K.size, 1))], [np.ones((1, K.size)), np.zeros((1, 1))]])
            rhs = np.concatenate([t - base, [-gN.sum()]])
        else:
            rhs = t - base - b0
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0] if A.size else np.zeros(rhs.size)
        gK = sol[: K.size]
        b = sol[K.size] if fit_intercept else b0
        g = np.zeros(n)
        g[N], g[K] = gN, gK
        w = w0 - X.T @ g / (n * alpha)
        p = X @ w + b
        changed = False
        # kinks whose subgradient left its interval: move to the piece on that side
        lo = slopes[K, kink[K]]
        hi = slopes[K, kink[K] + 1]
        below, above = gK < lo - 1e-12, gK > hi + 1e-12
        # samples whose prediction left their piece: put them at the crossed kink
        m = kinks.shape[1]
        left = np.where(piece[N] > 0, kinks[N, np.maximum(piece[N] - 1, 0)], -np.inf)
        right = np.where(piece[N] < m, kinks[N, np.minimum(piece[N], m - 1)], np.inf)
        out_l = p[N] < left - tol[N, 0]
        out_r = p[N] > right + tol[N, 0]
        if np.any(below | above) or np.any(out_l | out_r):
            changed = True
            move = K[below | above]
            piece[move] = kink[move] + above[below | above].astype(int)
            kink[move] = -1
            iN = N[out_l | out_r]
            kink[iN] = np.where(out_l[out_l | out_r], piece[iN] - 1, piece[iN])
        if not changed:
            return w, b
    raise RuntimeError("active-set polish did not converge")


def _lp(X, y, kink_offsets, slopes, kind, fit_intercept, b0):
    """``alpha = 0``: minimise the piecewise-linear loss exactly by linear programming."""
    from scipy.optimize import linprog

    n, d = X.shape
    # variables: w (d), b (1 if fitted), slacks s (n) >= 0 with loss_i = s_i
    P = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    off = 0.0 if fit_intercept else b0
    eye = np.eye(n)
    if kind == "margin":  # hinge: s_i >= 1 - y_i p_i
        A = np.hstack([-y[:, None] * P, -eye])
        rhs = -1.0 + y * off
    else:  # epsilon-insensitive: s_i >= p_i - y_i - e and s_i >= y_i - p_i - e
        e = kink_offsets[1]
        A = np.vstack([np.hstack([P, -eye]), np.hstack([-P, -eye])])
        rhs = np.concatenate([y + e - off, -y + e + off])
    c = np.concatenate([np.zeros(P.shape[1]), np.ones(n) / n])
    bounds = [(None, None)] * P.shape[1] + [(0, None)] * n
    res = linprog(c, A_ub=A, b_ub=rhs, bounds=bounds, method="highs")
    if res.status != 0:
        raise RuntimeError(res.message)
    return res.x[:d], (res.x[d] if fit_intercept else b0)
