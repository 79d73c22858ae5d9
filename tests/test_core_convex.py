"""skft._core._convex against independent routes: scipy.optimize on the same objective (smooth
losses: L-BFGS; piecewise-linear: SLSQP on the slack-variable QP), an independent KKT check
(bounded least squares over the subdifferentials) and long full-batch SGD runs."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import lsq_linear, minimize
from scipy.special import expit

from skft._core._convex import calibrate_scores, solve_convex
from skft._core._sgd import SGDConfig, SGDState, sgd_run

SMOOTH = ["squared_error", "log_loss", "huber", "modified_huber"]
PIECEWISE = ["hinge", "epsilon_insensitive"]
REGRESSION = {"squared_error", "huber", "epsilon_insensitive"}


def _problem(n, d, loss, seed=0, weights=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) + 0.3
    if loss in REGRESSION:
        y = 2.0 * X[:, 0] + rng.standard_normal(n) + 1.5
    else:
        y = np.sign(X[:, 0] - 0.3 + 0.7 * rng.standard_normal(n))
    w0 = 0.3 * rng.standard_normal(d)
    s = rng.uniform(0.3, 2.0, n) if weights else np.ones(n)
    return X, y, w0, s


def _loss_grad(loss, p, y, eps):
    """Value and derivative in p, written out again here (not the package's loss objects)."""
    if loss == "squared_error":
        return 0.5 * (p - y) ** 2, p - y
    if loss == "huber":
        r = p - y
        a = np.abs(r)
        return np.where(a <= eps, 0.5 * r**2, eps * a - 0.5 * eps**2), np.clip(r, -eps, eps)
    if loss == "log_loss":
        return np.logaddexp(0, -y * p), -y * expit(-y * p)
    z = y * p  # modified_huber
    val = np.where(z >= -1, np.maximum(0, 1 - z) ** 2, -4 * z)
    der = np.where(z >= 1, 0.0, np.where(z >= -1, -2 * y * (1 - z), -4 * y))
    return val, der


def _objective(loss, X, y, w0, s, alpha, eps, fit_intercept, b0):
    sw = s / s.sum()

    def f(u):
        w, b = u[:-1], (u[-1] if fit_intercept else b0)
        val, der = _loss_grad(loss, X @ w + b, y, eps)
        g = sw * der
        grad = np.concatenate([X.T @ g + alpha * (w - w0), [g.sum() if fit_intercept else 0]])
        return sw @ val + 0.5 * alpha * (w - w0) @ (w - w0), grad

    return f


@pytest.mark.parametrize("loss", SMOOTH)
@pytest.mark.parametrize("n, d", [(60, 15), (25, 50)])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_smooth_losses_match_scipy_lbfgs(loss, n, d, fit_intercept, weights):
    X, y, w0, s = _problem(n, d, loss, seed=n + d, weights=weights)
    alpha, eps, b0 = 0.05, 0.7, 0.4
    sol = solve_convex(X, y, w0, b0, alpha, loss, eps, fit_intercept, s if weights else None)
    assert sol.converged and sol.kkt < 1e-9
    f = _objective(loss, X, y, w0, s, alpha, eps, fit_intercept, b0)
    ref = minimize(f, np.concatenate([w0, [b0]]), jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000, "maxcor": 30})
    u = np.concatenate([sol.coef, [sol.intercept]])
    assert f(u)[0] <= ref.fun + 1e-12  # ours is at least as low as scipy's
    # gradient at our answer: ~0 (relative to the size of its terms)
    assert np.abs(f(u)[1]).max() < 1e-9 * max(1.0, np.abs(X.T @ (s / s.sum())).max())
    np.testing.assert_allclose(sol.coef, ref.x[:-1], atol=2e-5)
    if fit_intercept:
        assert abs(sol.intercept - ref.x[-1]) < 2e-5
    else:
        assert sol.intercept == b0


def _slsqp_piecewise(loss, X, y, w0, s, alpha, eps, fit_intercept, b0):
    """min alpha/2 ||w - w0||^2 + sum s_i xi_i / sum s over (w, b, xi), xi >= loss pieces."""
    n, d = X.shape
    sw = s / s.sum()
    nb = 1 if fit_intercept else 0

    def split(z):
        return z[:d], (z[d] if fit_intercept else b0), z[d + nb:]

    def f(z):
        w, _, xi = split(z)
        return 0.5 * alpha * (w - w0) @ (w - w0) + sw @ xi

    def jac(z):
        w, _, _ = split(z)
        return np.concatenate([alpha * (w - w0), np.zeros(nb), sw])

    ones = np.ones((n, nb))
    if loss == "hinge":  # xi >= 1 - y (x'w + b)
        cons = [{"type": "ineq", "fun": lambda z: split(z)[2] - 1 + y * (X @ split(z)[0]
                                                                        + split(z)[1]),
                 "jac": lambda z: np.hstack([y[:, None] * X, y[:, None] * ones, np.eye(n)])}]
    else:  # xi >= +-(x'w + b - y) - eps
        cons = [{"type": "ineq", "fun": lambda z, sg=sg: split(z)[2] + eps
                 - sg * (X @ split(z)[0] + split(z)[1] - y),
                 "jac": lambda z, sg=sg: np.hstack([-sg * X, -sg * ones, np.eye(n)])}
                for sg in (1.0, -1.0)]
    z0 = np.concatenate([w0, [b0] * nb, np.ones(n) * 2])
    bounds = [(None, None)] * (d + nb) + [(0, None)] * n
    res = minimize(f, z0, jac=jac, constraints=cons, bounds=bounds, method="SLSQP",
                   options={"ftol": 1e-15, "maxiter": 3000})
    w, b, _ = split(res.x)
    return w, b, res


def _kkt_by_bounded_least_squares(loss, X, y, w0, s, alpha, eps, fit_intercept, w, b):
    """Smallest stationarity residual over subgradients in the subdifferentials (an
    independent check: bounded least squares over the samples on a kink)."""
    n = X.shape[0]
    sw = s / s.sum()
    p = X @ w + b
    if loss == "hinge":
        kinks = [y]
        slopes = [(-1.0 * (y > 0), 1.0 * (y < 0))]
    else:
        kinks = [y - eps, y + eps]
        slopes = [(-np.ones(n), np.zeros(n)), (np.zeros(n), np.ones(n))]
    g = np.zeros(n)
    lo, hi = np.zeros(n), np.zeros(n)
    free = np.zeros(n, bool)
    for kink, (left, right) in zip(kinks, slopes, strict=True):
        at = np.abs(p - kink) <= 1e-7 * (1 + np.abs(kink))
        free |= at
        lo, hi = np.where(at, left, lo), np.where(at, right, hi)
    if loss == "hinge":
        g = np.where(y * p < 1, -y, 0.0)
    else:
        r = p - y
        g = np.where(r > eps, 1.0, np.where(r < -eps, -1.0, 0.0))
    g = np.where(free, 0.0, g)
    # residual(gF) = A gF + c: rows d (w) and 1 (b)
    A = X[free].T * sw[free]
    c = X.T @ (sw * g) + alpha * (w - w0)
    if fit_intercept:
        A = np.vstack([A, sw[free]])
        c = np.concatenate([c, [sw @ g]])
    if not free.any():
        return np.abs(c).max()
    res = lsq_linear(A, -c, bounds=(lo[free], hi[free] + 1e-300), lsmr_tol="auto", tol=1e-14,
                     method="bvls")
    return np.abs(A @ res.x + c).max()


@pytest.mark.parametrize("loss", PIECEWISE)
@pytest.mark.parametrize("n, d", [(40, 10), (20, 35)])
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weights", [False, True])
def test_piecewise_linear_losses_match_a_qp_and_satisfy_kkt(loss, n, d, fit_intercept, weights):
    X, y, w0, s = _problem(n, d, loss, seed=3 * n + d, weights=weights)
    alpha, eps, b0 = 0.05, 0.5, 0.2
    sol = solve_convex(X, y, w0, b0, alpha, loss, eps, fit_intercept, s if weights else None)
    assert sol.converged and sol.kkt < 1e-9
    w_ref, b_ref, res = _slsqp_piecewise(loss, X, y, w0, s, alpha, eps, fit_intercept, b0)
    assert res.success, res.message
    np.testing.assert_allclose(sol.coef, w_ref, atol=1e-6)  # w is unique (alpha > 0)
    # the independent KKT check at our answer: ~0 (terms are O(1))
    kkt = _kkt_by_bounded_least_squares(loss, X, y, w0, s, alpha, eps, fit_intercept,
                                        sol.coef, sol.intercept)
    assert kkt < 1e-9
    # our objective is not above the QP's
    sw = s / s.sum()
    p, p_ref = X @ sol.coef + sol.intercept, X @ w_ref + b_ref
    if loss == "hinge":
        val, val_ref = np.maximum(0, 1 - y * p), np.maximum(0, 1 - y * p_ref)
    else:
        val, val_ref = np.maximum(0, np.abs(p - y) - eps), np.maximum(0, np.abs(p_ref - y) - eps)
    F = sw @ val + 0.5 * alpha * (sol.coef - w0) @ (sol.coef - w0)
    F_ref = sw @ val_ref + 0.5 * alpha * (w_ref - w0) @ (w_ref - w0)
    assert F <= F_ref + 1e-10


@pytest.mark.parametrize("loss", SMOOTH + PIECEWISE)
def test_several_targets_sparse_and_zero_weights(loss):
    X, y, w0, s = _problem(30, 12, loss, seed=7, weights=True)
    s[0] = 0.0
    rng = np.random.default_rng(1)
    Y = np.column_stack([y, y[rng.permutation(30)]])
    W0 = np.column_stack([w0, -w0])
    both = solve_convex(sp.csr_matrix(X), Y, W0, np.array([0.1, -0.1]), 0.2, loss, 0.5, True,
                        s)
    for j in range(2):
        one = solve_convex(X[1:], Y[1:, j], W0[:, j], 0.0, 0.2, loss, 0.5, True, s[1:])
        np.testing.assert_allclose(both.coef[:, j], one.coef, atol=1e-9)
        np.testing.assert_allclose(both.intercept[j], one.intercept, atol=1e-9)


@pytest.mark.parametrize("loss", ["log_loss", "huber", "hinge"])
def test_long_full_batch_sgd_run_reaches_the_same_point(loss):
    # SGD (the package's kernel, full batch, constant step, many epochs) converges linearly to
    # the minimiser when alpha > 0: it must land on the Newton / active-set answer
    X, y, w0, _ = _problem(40, 8, loss, seed=11)
    alpha = 0.5
    sol = solve_convex(X, y[:, None], w0[:, None], np.zeros(1), alpha, loss, 1.0, True)
    state = SGDState(coef=w0[:, None].copy(), intercept=np.zeros(1))
    cfg = SGDConfig(loss=loss, epsilon=1.0, alpha=alpha, learning_rate="constant", eta0=0.05,
                    max_iter=4000, tol=None, batch_size=40, shuffle=False)
    sgd_run(X, y[:, None], None, w0[:, None], state, config=cfg, rng=np.random.RandomState(0))
    # smooth losses: linear convergence to the point; hinge: a constant full-batch
    # subgradient step ends in an O(eta) band around it
    atol = 1e-8 if loss != "hinge" else 0.05
    np.testing.assert_allclose(state.coef, sol.coef, atol=atol)
    np.testing.assert_allclose(state.intercept, sol.intercept, atol=atol * 4)


def test_alpha_must_be_positive():
    X, y, w0, _ = _problem(10, 3, "log_loss")
    with pytest.raises(ValueError, match="alpha > 0"):
        solve_convex(X, y, w0, 0.0, 0.0, "log_loss")


@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "modified_huber", "hinge",
                                  "huber", "epsilon_insensitive"])
@pytest.mark.parametrize("scale", [True, False])
def test_calibrate_scores_minimises_the_loss(loss, scale):
    rng = np.random.default_rng(5)
    z = 3.0 * rng.standard_normal(80)
    if loss in REGRESSION:
        y = 0.4 * z + 1.0 + rng.standard_normal(80)
    else:
        y = np.where(0.4 * z + 0.5 + rng.standard_normal(80) > 0, 1.0, -1.0)
    a, c = calibrate_scores(z, y, loss, 0.5, scale=scale)
    if not scale:
        assert a == 1.0

    def value(u):
        p = (u[0] if scale else 1.0) * z + u[-1]
        if loss == "hinge":
            return np.maximum(0, 1 - y * p).mean()
        if loss == "epsilon_insensitive":
            return np.maximum(0, np.abs(p - y) - 0.5).mean()
        return _loss_grad(loss, p, y, 0.5)[0].mean()

    ours = value([a, c])
    grid = [minimize(value, x0, method="Nelder-Mead",
                     options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 20000}).fun
            for x0 in ([1.0, 0.0], [0.1, 1.0], [-0.5, -1.0])]
    assert ours <= min(grid) + 1e-9


def test_calibrate_scores_refuses_separating_scores_under_log_loss():
    z = np.array([-2.0, -1.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="separate"):
        calibrate_scores(z, np.array([-1.0, -1, 1, 1]), "log_loss")
    with pytest.raises(ValueError, match="constant"):
        calibrate_scores(np.ones(4), np.array([-1.0, -1, 1, 1]), "squared_error")
