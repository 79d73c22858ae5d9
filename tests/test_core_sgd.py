"""skft._core._sgd and _losses: against a naive per-sample loop, the exact limit, and calculus."""

import numpy as np
import pytest
import scipy.sparse as sp

from skft._core._exact import solve_exact
from skft._core._losses import LOSSES, get_loss
from skft._core._sgd import (
    SGDConfig,
    SGDDivergenceError,
    SGDState,
    auto_step_size,
    sgd_run,
)


def _problem(n, d, seed, noise=0.3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = X @ rng.standard_normal(d) / np.sqrt(d) + 0.5 + noise * rng.standard_normal(n)
    w0 = rng.standard_normal(d) / np.sqrt(d)
    return X, y, w0, 0.2


def _rel(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(b)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_derivative_is_the_derivative(name):
    loss = get_loss(name, epsilon=0.3)
    rng = np.random.default_rng(0)
    p = rng.uniform(-3, 3, 500)
    y = rng.choice([-1.0, 1.0], 500) if name not in ("huber", "epsilon_insensitive") else \
        rng.uniform(-2, 2, 500)
    h = 1e-6
    fd = (loss.value(p + h, y) - loss.value(p - h, y)) / (2 * h)
    # away from kinks, central differences match to O(h^2)
    ok = np.abs(fd - loss.derivative(p, y)) < 1e-5
    assert ok.mean() > 0.98
    # the curvature bound holds for the second difference everywhere it is smooth
    h2 = 1e-3
    sd = (loss.value(p + h2, y) - 2 * loss.value(p, y) + loss.value(p - h2, y)) / h2**2
    smooth = ok & (np.abs(fd - loss.derivative(p + h2, y)) < 0.5)
    assert np.all(sd[smooth] <= loss.curvature + 1e-3)


# ---------------------------------------------------------------- naive reference
def naive_sgd(X, y, s, w0, b0, *, alpha, eta0, epochs, fit_intercept, loss, lr="constant",
              power_t=0.25, average=0):
    """Per-sample SGD in plain Python, no shuffling, the update of the module docstring."""
    n, d = X.shape
    s = s * n / s.sum()
    w, b = w0.astype(float).copy(), float(b0)
    wa, ba, na = None, None, 0
    t = 1
    for _ in range(epochs):
        for i in range(n):
            if lr == "constant":
                eta = eta0
            elif lr == "invscaling":
                eta = eta0 / t**power_t
            else:
                eta = eta0 / (1 + alpha * eta0 * (t - 1))
            g = s[i] * loss.derivative(np.array([X[i] @ w + b]), np.array([y[i]]))[0]
            w = w - eta * (g * X[i] + alpha * (w - w0))
            if fit_intercept:
                b = b - eta * g
            t += 1
            if average and t - 1 >= average:
                na += 1
                wa = w.copy() if na == 1 else wa + (w - wa) / na
                ba = b if na == 1 else ba + (b - ba) / na
    return (wa, ba) if na else (w, b)


@pytest.mark.parametrize("loss_name, lr, average", [
    ("squared_error", "constant", 0),
    ("huber", "invscaling", 0),
    ("log_loss", "optimal", 0),
    ("modified_huber", "constant", 7),
    ("epsilon_insensitive", "constant", 1),
])
def test_kernel_equals_naive_per_sample_loop(loss_name, lr, average):
    X, y, w0, b0 = _problem(15, 6, 1)
    if loss_name in ("log_loss", "modified_huber"):
        y = np.sign(y - np.median(y))
    s = np.random.default_rng(2).uniform(0.5, 2.0, 15)
    loss = get_loss(loss_name, 0.1)
    alpha, eta0 = 0.05, 0.03
    w_ref, b_ref = naive_sgd(X, y, s, w0, b0, alpha=alpha, eta0=eta0, epochs=3,
                             fit_intercept=True, loss=loss, lr=lr, average=average)
    cfg = SGDConfig(loss=loss_name, alpha=alpha, eta0=eta0, learning_rate=lr, max_iter=3,
                    tol=None, shuffle=False, batch_size=1, average=average)
    for Xin in (X, sp.csr_matrix(X)):
        st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
        sgd_run(Xin, y[:, None], s, w0[:, None], st, config=cfg, rng=np.random.default_rng(0))
        W, b = st.output()
        np.testing.assert_allclose(W[:, 0], w_ref, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(b[0], b_ref, rtol=1e-12, atol=1e-13)
        assert st.t == 1 + 3 * 15


# ---------------------------------------------------------------- limits
@pytest.mark.parametrize("fit_intercept", [True, False])
@pytest.mark.parametrize("weighted", [False, True])
def test_constant_step_reaches_exact_limit_when_interpolating(fit_intercept, weighted):
    X, y, w0, b0 = _problem(60, 150, 3)
    s = np.random.default_rng(4).uniform(0.5, 2.0, 60) if weighted else None
    ex = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=0.0,
                     fit_intercept=fit_intercept, sample_weight=s)
    eta = auto_step_size(X, s, fit_intercept=fit_intercept, batch_size=8, random_state=0)
    cfg = SGDConfig(eta0=eta, learning_rate="constant", batch_size=8, tol=1e-9,
                    max_iter=3000, fit_intercept=fit_intercept)
    st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
    n_iter, converged = sgd_run(X, y[:, None], s, w0[:, None], st, config=cfg,
                                rng=np.random.default_rng(5))
    assert converged
    z = np.r_[st.coef[:, 0], st.intercept]
    z_ex = np.r_[ex.coef[:, 0], ex.intercept]
    assert _rel(z, z_ex) < 1e-4


@pytest.mark.parametrize("n, d", [(40, 100), (150, 30)])
@pytest.mark.parametrize("alpha", [0.0, 0.2])
def test_full_batch_reaches_exact_limit(n, d, alpha):
    """Full-batch steps remove SGD noise, so the iteration converges in every regime."""
    X, y, w0, b0 = _problem(n, d, 6)
    ex = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=alpha,
                     fit_intercept=True)
    eta = auto_step_size(X, alpha=alpha, batch_size=n)
    cfg = SGDConfig(eta0=eta, alpha=alpha, learning_rate="constant", batch_size=n, tol=1e-9,
                    max_iter=20000)
    st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
    _, converged = sgd_run(X, y[:, None], None, w0[:, None], st, config=cfg,
                           rng=np.random.default_rng(0))
    assert converged
    assert _rel(np.r_[st.coef[:, 0], st.intercept], np.r_[ex.coef[:, 0], ex.intercept]) < 1e-4


def test_decreasing_step_approaches_ridge_toward_start():
    """alpha > 0 with minibatches: the adaptive schedule shrinks the noise ball."""
    X, y, w0, b0 = _problem(80, 200, 7)
    alpha = 0.05
    ex = solve_exact(X, y[:, None], w0[:, None], np.zeros(1), alpha=alpha,
                     fit_intercept=False)
    eta = auto_step_size(X, alpha=alpha, fit_intercept=False, batch_size=10)
    cfg = SGDConfig(eta0=eta, alpha=alpha, batch_size=10, tol=1e-6, max_iter=1000,
                    fit_intercept=False)
    st = SGDState(coef=w0[:, None].copy(), intercept=np.zeros(1))
    sgd_run(X, y[:, None], None, w0[:, None], st, config=cfg, rng=np.random.default_rng(1))
    # Non-interpolating minibatch SGD converges only as fast as its step decreases. Measured
    # over seeds 0-3: 3.8e-4 .. 4.7e-4 relative after 1000 epochs (the start is 0.86 away).
    assert _rel(st.coef[:, 0], ex.coef[:, 0]) < 1e-3


# ---------------------------------------------------------------- step size, divergence
def test_auto_step_size_formula():
    X, y, w0, b0 = _problem(50, 20, 8)
    s = np.random.default_rng(9).uniform(0.5, 2, 50)
    sn = s * 50 / s.sum()
    beta = np.max(sn * (np.einsum("ij,ij->i", X, X) + 1))
    assert auto_step_size(X, s, batch_size=1, alpha=0.1) == pytest.approx(1 / (beta + 0.1))
    Xt = np.hstack([X, np.ones((50, 1))])
    lam = np.linalg.eigvalsh(Xt.T @ (Xt * sn[:, None]) / 50)[-1]
    eta = auto_step_size(X, s, batch_size=10, loss="log_loss")
    expected = 10 / (0.25 * beta + 9 * 0.25 * lam)
    assert eta == pytest.approx(expected, rel=0.02)
    assert eta <= expected * 1.0001  # the safe side


@pytest.mark.parametrize("sparse", [False, True])
def test_divergence_raises_clear_error(sparse):
    X, y, w0, b0 = _problem(50, 20, 10)
    cfg = SGDConfig(eta0=10.0, learning_rate="constant", batch_size=5, tol=None, max_iter=200,
                    alpha=0.01)
    st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
    Xin = sp.csr_matrix(X) if sparse else X
    # caught while the loss grows epoch after epoch, before anything overflows
    with pytest.raises(SGDDivergenceError, match=r"diverging coefficients at epoch \d+; "
                                                 r"try a smaller eta0 \(the training loss grew"):
        sgd_run(Xin, y[:, None], None, w0[:, None], st, config=cfg,
                rng=np.random.default_rng(0), shift=X.mean(axis=0))
    assert issubclass(SGDDivergenceError, FloatingPointError)
    assert issubclass(SGDDivergenceError, ValueError)


def test_unscaled_data_auto_step_does_not_blow_up():
    rng = np.random.default_rng(11)
    X = 1e3 * rng.standard_normal((200, 30)) + 5e3
    y = X @ rng.standard_normal(30) + 1e4
    eta = auto_step_size(X, batch_size=32)
    cfg = SGDConfig(eta0=eta, batch_size=32, tol=None, max_iter=20)
    st = SGDState(coef=np.zeros((30, 1)), intercept=np.zeros(1))
    sgd_run(X, y[:, None], None, np.zeros((30, 1)), st, config=cfg, rng=rng)
    assert np.all(np.isfinite(st.coef))
    resid0 = np.linalg.norm(y)
    assert np.linalg.norm(X @ st.coef[:, 0] + st.intercept[0] - y) < resid0


def test_centred_parametrisation_with_batch_growth_reaches_ridge_with_intercept():
    """alpha > 0, intercept, n < d: uncentred SGD crawls along the direction trading b against
    w (curvature ~ alpha n / d); the centred run has the same minimiser and converges."""
    from skft._core._sgd import curvature_stats, step_from_stats

    X, y, w0, b0 = _problem(60, 240, 12)
    X = X + 2.0  # features with a mean: the centring matters
    alpha = 0.01
    ex = solve_exact(X, y[:, None], w0[:, None], np.array([b0]), alpha=alpha,
                     fit_intercept=True)
    mu = X.mean(axis=0)
    stats = curvature_stats(X, shift=mu, random_state=0)
    cfg = SGDConfig(eta0=step_from_stats(*stats, 8, alpha), alpha=alpha, batch_size=8,
                    tol=1e-7, max_iter=2000, grow_batch=stats)
    st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
    _, converged = sgd_run(X, y[:, None], None, w0[:, None], st, config=cfg,
                           rng=np.random.default_rng(0), shift=mu)
    assert converged
    z, z_ex = np.r_[st.coef[:, 0], st.intercept], np.r_[ex.coef[:, 0], ex.intercept]
    assert _rel(z, z_ex) < 1e-4


# ---------------------------------------------------------------- sparse kernel (lazy updates)
def naive_minibatch_sgd(X, Y, s, W0, b0, *, alpha, eta, epochs, B, loss, shift=None,
                        average=0, calls=1):
    """Minibatch SGD column by column in plain NumPy on dense X, constant step, stored order,
    centred rows ``x - shift`` when given (intercept ``c = b + shift'w`` inside); the averaged
    iterate restarts nothing across ``calls`` (as ``partial_fit``)."""
    n, d = X.shape
    s = s * n / s.sum()
    Xc = X if shift is None else X - shift[None, :]
    W = W0.astype(float).copy()
    c = b0.astype(float).copy() + (0.0 if shift is None else shift @ W)
    Wa, ca, na, t = None, None, 0, 1
    for _ in range(epochs):
        for start in range(0, n, B):
            rows = np.arange(start, min(start + B, n))
            m = len(rows)
            for j in range(Y.shape[1]):
                g = s[rows] * loss.derivative(Xc[rows] @ W[:, j] + c[j], Y[rows, j])
                W[:, j] = W[:, j] - eta * (Xc[rows].T @ g / m + alpha * (W[:, j] - W0[:, j]))
                c[j] = c[j] - eta * g.sum() / m
            t += m
            if average and t - 1 >= average:
                na += 1
                Wa = W.copy() if na == 1 else Wa + (W - Wa) / na
                ca = c.copy() if na == 1 else ca + (c - ca) / na
    W, c = (Wa, ca) if na else (W, c)
    return W, c - (0.0 if shift is None else shift @ W)


@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("loss_name, B, centred, average, alpha, eta", [
    ("squared_error", 4, True, 9, 0.05, 0.03),
    ("log_loss", 3, False, 0, 0.05, 0.03),
    ("huber", 5, True, 1, 0.0, 0.03),
    ("squared_error", 2, True, 5, 3.0, 0.3),   # pull factor 0.1 per step: scale rescaled
    ("hinge", 4, True, 3, 2.0, 0.5),           # pull factor 0: the iterate jumps onto W0
])
def test_sparse_kernel_equals_naive_minibatch_loop(loss_name, B, centred, average, alpha, eta,
                                                   fallback, monkeypatch):
    """CSR input runs lazily (scaled U, centring folded into the intercept, lazy average) and
    still equals plain minibatch SGD, over two calls; dense input too."""
    from skft._core import _sgd_sparse

    monkeypatch.setattr(_sgd_sparse, "USE_SPARSETOOLS",
                        _sgd_sparse.USE_SPARSETOOLS and not fallback)
    rng = np.random.default_rng(3)
    n, d, k = 17, 40, 3
    X = rng.standard_normal((n, d)) * (rng.random((n, d)) < 0.2) + 0.0
    X[4] = 0.0  # an empty row
    Y = rng.standard_normal((n, k))
    if loss_name in ("log_loss", "hinge"):
        Y = np.sign(Y)
    W0 = rng.standard_normal((d, k)) * 0.3
    b0 = rng.standard_normal(k)
    s = rng.uniform(0.5, 2.0, n)
    shift = X.mean(axis=0) + 0.1 if centred else None
    loss = get_loss(loss_name, 0.1)
    W_ref, b_ref = naive_minibatch_sgd(X, Y, s, W0, b0, alpha=alpha, eta=eta, epochs=3, B=B,
                                       loss=loss, shift=shift, average=average)
    for Xin in (X, sp.csr_matrix(X)):
        st = SGDState(coef=W0.copy(), intercept=b0.copy())
        for epochs in (2, 1):  # the second call continues the state (partial_fit)
            cfg = SGDConfig(loss=loss_name, alpha=alpha, eta0=eta, learning_rate="constant",
                            max_iter=epochs, tol=None, shuffle=False, batch_size=B,
                            average=average)
            sgd_run(Xin, Y, s, W0, st, config=cfg, rng=np.random.default_rng(0), shift=shift)
        W, b = st.output()
        np.testing.assert_allclose(W, W_ref, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(b, b_ref, rtol=1e-12, atol=1e-13)
        assert st.t == 1 + 3 * n


def test_sparse_and_dense_kernels_agree_with_shuffling_and_stopping():
    """Same rng, same shuffles, same stopping epoch: CSR and dense runs coincide."""
    X, y, w0, b0 = _problem(60, 150, 13)
    X = X * (np.random.default_rng(14).random(X.shape) < 0.1)
    mu = X.mean(axis=0)
    cfg = SGDConfig(eta0=0.05, alpha=0.1, batch_size=7, tol=1e-6, max_iter=300, average=50)
    out = []
    for Xin in (X, sp.csr_matrix(X)):
        st = SGDState(coef=w0[:, None].copy(), intercept=np.array([b0]))
        n_iter, conv = sgd_run(Xin, y[:, None], None, w0[:, None], st, config=cfg,
                               rng=np.random.default_rng(15), shift=mu)
        out.append((n_iter, conv, *st.output()))
    assert out[0][:2] == out[1][:2]
    np.testing.assert_allclose(out[1][2], out[0][2], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(out[1][3], out[0][3], rtol=1e-10)


def test_auto_batch_size_counts_stored_entries_for_sparse_input():
    from skft._core._sgd import auto_batch_size

    assert auto_batch_size(300, 100000) == 1  # dense rows of 800 kB
    assert auto_batch_size(300, 100000, nnz=300 * 100) == 256
    assert auto_batch_size(300, 100000, nnz=300 * 10000) == 2**20 // (12 * 10000)
