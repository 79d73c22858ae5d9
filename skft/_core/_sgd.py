"""Minibatch SGD with an L2 pull toward an anchor, for several targets at once.

NumPy/SciPy only: no validation, no scikit-learn. The objective, per target column ``j``, is

.. math::

    F_j(w, b) = \\frac{1}{n} \\sum_i s_i\\, \\ell(x_i^\\top w + b, y_{ij})
                + \\frac{\\alpha}{2} \\lVert w - w_{0j} \\rVert^2 ,

with weights ``s`` rescaled to mean one (so the data term is ``sum_i s_i l_i / sum_i s_i``).
One step on a minibatch ``I`` of size ``m`` at step size ``eta``:

.. math::

    w \\leftarrow w - \\eta \\Big( \\frac{1}{m} \\sum_{i \\in I} s_i \\ell'(p_i, y_i) x_i
                                   + \\alpha (w - w_0) \\Big), \\qquad
    b \\leftarrow b - \\eta \\frac{1}{m} \\sum_{i \\in I} s_i \\ell'(p_i, y_i).

The intercept is one more coordinate with constant feature 1, the same step size and no pull
(see :mod:`skft._core._exact` for the limit this implies). Target columns share the sample order
and the step-size schedule, so column ``j`` follows exactly the single-target SGD (one-vs-rest).

Schedules (``tau = 1 + (t - 1) / batch_size`` counts steps, ``t`` counts samples seen plus one,
as scikit-learn's ``t_``): ``constant`` ``eta0``; ``invscaling`` ``eta0 / tau^power_t``;
``optimal`` ``eta0 / (1 + alpha eta0 (tau - 1))`` (Bottou's ``1 / (alpha (t0 + t))`` with ``t0``
chosen so that the first step is ``eta0``); ``adaptive``: ``eta0`` divided by 5 at each stall
(below); with ``grow_batch = (c beta, c lambda)`` set, a stall first multiplies the batch size by
4 (up to ``n``), with the step :func:`step_from_stats` of the new size, and divides the step only
at full batch. Growing batches shrink SGD's noise without shrinking its progress, and the full
batch iteration converges linearly to the exact limit in every regime.

Stopping (``tol`` not None), checked after each epoch: converged when the estimated remaining
distance to the limit, ``c_k / (1 - rho)`` with ``c_k`` the largest coefficient change over epoch
``k`` and ``rho`` the contraction per epoch estimated from the last changes, is at most ``tol``
times the largest coefficient (a change-based rule as scikit-learn's SAG solver, corrected for
slow linear convergence, where a small change does not mean a small distance). A stall divides
the adaptive step by 5 and ends the other schedules. A stall is Pflug's stationarity test at
the epoch level: the inner products of successive epoch displacements, summed over the last
``n_iter_no_change`` epochs, are negative (the iterate oscillates in SGD's noise ball instead of
drifting toward the limit); with early stopping, the validation loss has not gone below
``best * (1 - tol)`` for ``n_iter_no_change`` epochs. (An objective-based stall test alone would
stop far from the limit: the objective flattens quadratically near it.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence, eigsh

from ._losses import get_loss
from ._sgd_sparse import SparseStepper

__all__ = ["SGDConfig", "SGDState", "SGDDivergenceError", "auto_batch_size", "auto_step_size",
           "curvature_stats", "sgd_run", "step_from_stats"]


class SGDDivergenceError(FloatingPointError, ValueError):
    """Raised when an SGD update becomes non-finite (a too large step size)."""


@dataclass(frozen=True)
class SGDConfig:
    """The options of :func:`sgd_run`, passed by keyword as one frozen object.

    Names and meanings as in scikit-learn's ``SGDRegressor``; ``average`` is the sample count
    after which averaging starts (0: never), ``grow_batch`` the curvature constants
    ``(c beta, c lambda)`` of :func:`curvature_stats` that enable batch growth on stalls
    (``adaptive`` only), or None.

    Examples
    --------
    >>> SGDConfig(loss="huber", epsilon=1.0).loss
    'huber'
    """

    loss: str = "squared_error"
    epsilon: float = 0.1
    alpha: float = 0.0
    fit_intercept: bool = True
    learning_rate: str = "adaptive"
    eta0: float = 0.01
    power_t: float = 0.25
    max_iter: int = 1000
    tol: float | None = 1e-6
    n_iter_no_change: int = 5
    shuffle: bool = True
    average: int = 0
    batch_size: int = 1
    verbose: int = 0
    grow_batch: tuple[float, float] | None = None


@dataclass
class SGDState:
    """Mutable iterate carried across calls (``partial_fit`` continues it).

    ``coef`` (n_features, n_targets) and ``intercept`` (n_targets,) are the plain iterates;
    ``avg_coef`` / ``avg_intercept`` the running averages once averaging has started
    (``n_avg`` iterates averaged); ``t`` samples seen plus one; ``eta`` the current adaptive step.
    """

    coef: np.ndarray
    intercept: np.ndarray
    t: float = 1.0
    eta: float | None = None
    avg_coef: np.ndarray | None = None
    avg_intercept: np.ndarray | None = None
    n_avg: int = 0
    losses: list = field(default_factory=list)
    loss_first: float | None = None
    loss_best: float = np.inf

    def output(self):
        """The reported coefficients: the average if averaging has started, else the iterate."""
        if self.n_avg > 0:
            return self.avg_coef, self.avg_intercept
        return self.coef, self.intercept


def _row_norms_sq(X):
    if sp.issparse(X):
        return np.asarray(X.multiply(X).sum(axis=1)).ravel()
    return np.einsum("ij,ij->i", X, X)


def auto_batch_size(n_samples, n_features, cache_bytes=2**20, *, nnz=None):
    """Minibatch size that keeps one batch of rows within ``cache_bytes``, in [1, 256].

    Larger batches amortise NumPy's per-call overhead; a batch that stays in cache keeps the
    two products per step at memory speed. A dense row takes ``8 n_features`` bytes; for sparse
    input pass ``nnz`` (stored entries of the whole matrix): a CSR row takes 12 bytes (value and
    index) per stored entry, and a sparse step costs O(nnz of the batch), not O(n_features).

    Examples
    --------
    >>> auto_batch_size(20000, 200), auto_batch_size(500, 20000)
    (256, 6)
    >>> auto_batch_size(2000, 100000, nnz=200000)
    256
    """
    if nnz is None:
        row_bytes = 8.0 * max(n_features, 1)
    else:
        row_bytes = 12.0 * max(nnz / max(n_samples, 1), 1.0)
    b = int(cache_bytes // row_bytes)
    return int(max(1, min(256, b, n_samples)))


def curvature_stats(X, sample_weight=None, *, loss="squared_error", fit_intercept=True,
                    need_lambda=True, random_state=None, max_rows=2048, shift=None):
    """Curvature constants ``(c beta, c lambda)`` of the data term, for step sizes.

    ``beta = max_i s_i ||x~_i||^2`` is the largest per-sample curvature, ``lambda`` the top
    eigenvalue of ``X~' S X~ / n`` (``x~ = (x, 1)`` with an intercept, weights of mean one) and
    ``c`` the loss curvature bound. ``lambda`` is the top eigenvalue of the Gram matrix, on its
    smaller side, of at most ``max_rows`` random rows (fewer when that Gram matrix would cost
    more than ~2^32 flops; fewer rows over-estimate ``lambda``, the safe side); it is 0 when
    ``need_lambda`` is False.
    With ``shift`` (and an intercept) the rows are ``x - shift``, as in :func:`sgd_run`.

    Examples
    --------
    >>> import numpy as np
    >>> curvature_stats(np.eye(4), fit_intercept=False)
    (1.0, 0.25)
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _curvature_stats(X, sample_weight, loss, fit_intercept, need_lambda,
                                random_state, max_rows, shift)


def _curvature_stats(X, sample_weight, loss, fit_intercept, need_lambda, random_state,
                     max_rows, shift):
    n, d = X.shape
    s = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    s = s * (n / s.sum())
    c = get_loss(loss).curvature
    mu = shift if (shift is not None and fit_intercept) else None
    norms = _row_norms_sq(X) + (1.0 if fit_intercept else 0.0)
    if mu is not None:
        norms = norms - 2.0 * np.asarray(X @ mu).ravel() + float(mu @ mu)
    beta = float(np.max(s * norms))
    if not need_lambda:
        return c * beta, 0.0
    rng = np.random.default_rng(random_state)
    p = d + (1 if fit_intercept else 0)
    # rows for lambda: the Gram matrix on the smaller side costs m^2 p (or m p^2) flops;
    # keep it under ~2^32. Fewer rows over-estimate lambda: a smaller, safe step.
    budget = int(np.sqrt(2.0**32 / p)) if p > max_rows else max_rows
    m = int(min(n, max_rows, max(budget, 64)))
    rows = np.arange(n) if m == n else np.sort(rng.choice(n, m, replace=False))
    Xs, ss = X[rows], s[rows]
    sq = np.sqrt(ss)
    if m < p:  # m x m kernel of the (centred, augmented) rows
        G = Xs @ Xs.T
        G = np.asarray(G.toarray() if sp.issparse(G) else G)
        if mu is not None:
            Xm = np.asarray(Xs @ mu).ravel()
            G = G - Xm[:, None] - Xm[None, :] + float(mu @ mu)
        if fit_intercept:
            G = G + 1.0
        G = G * np.outer(sq, sq) / m
    else:  # p x p second-moment matrix
        A = Xs.toarray() if sp.issparse(Xs) else np.asarray(Xs)
        if mu is not None:
            A = A - mu[None, :]
        if fit_intercept:
            A = np.hstack([A, np.ones((m, 1))])
        G = A.T @ (A * ss[:, None]) / m
    lam = _top_eigenvalue(G, rng)
    if not np.isfinite(lam) or lam <= 0:  # pragma: no cover - degenerate: the trace bound
        lam = float(np.mean(ss * norms[rows]))
    return c * beta, c * lam


def _top_eigenvalue(G, rng):
    k = G.shape[0]
    if k <= 256:
        return float(np.linalg.eigvalsh(G)[-1])
    try:
        v0 = np.ones(k) + 0.01 * rng.standard_normal(k)
        return 1.001 * float(eigsh(G, k=1, which="LA", tol=1e-4, v0=v0, maxiter=1000,
                                   return_eigenvectors=False)[0])
    except ArpackNoConvergence:  # pragma: no cover
        return float(np.linalg.eigvalsh(G)[-1])


def step_from_stats(beta_c, lam_c, batch_size, alpha=0.0):
    """``B / (c beta + (B - 1) c lambda + B alpha)``: see :func:`auto_step_size`.

    Examples
    --------
    >>> step_from_stats(100.0, 1.0, 1), step_from_stats(100.0, 1.0, 101)
    (0.01, 0.505)
    """
    B = int(batch_size)
    denom = beta_c + (B - 1) * lam_c + B * alpha
    return float(B / denom) if denom > 0 else 1.0


def auto_step_size(X, sample_weight=None, *, loss="squared_error", alpha=0.0,
                   fit_intercept=True, batch_size=1, random_state=None, max_rows=2048):
    """Step size of Ma, Bassily and Belkin (2018) for minibatch SGD on a smooth loss.

    ``eta = B / (c beta + (B - 1) c lambda + B alpha)`` with the constants of
    :func:`curvature_stats` and the batch size ``B``. For ``B = 1`` this is
    ``1 / (c beta + alpha)``, stable for any data scale; for larger ``B`` it grows up to
    ``~ 1 / (c lambda)`` (the full-gradient step).

    Examples
    --------
    >>> import numpy as np
    >>> round(auto_step_size(np.eye(4), fit_intercept=False, batch_size=1), 6)
    1.0
    """
    beta_c, lam_c = curvature_stats(X, sample_weight, loss=loss, fit_intercept=fit_intercept,
                                    need_lambda=batch_size > 1, random_state=random_state,
                                    max_rows=max_rows)
    return step_from_stats(beta_c, lam_c, batch_size, alpha)


def _step_size(cfg, state, eta0, batch):
    tau = 1.0 + (state.t - 1.0) / batch
    lr = cfg.learning_rate
    if lr == "constant":
        return eta0
    if lr == "invscaling":
        return eta0 / tau**cfg.power_t
    if lr == "optimal":
        return eta0 / (1.0 + cfg.alpha * eta0 * (tau - 1.0))
    return state.eta  # adaptive


def _remaining_distance(changes, window=3):
    """Estimated distance to the limit from the last per-epoch changes ``c_k``.

    With a contraction ``rho = (c_k / c_{k-window})^(1/window)`` estimated from the history,
    the remaining distance of a linearly converging sequence is ``c_k rho / (1 - rho)``; we
    return the more cautious ``c_k / (1 - rho)`` (infinite while ``rho >= 1`` or the history is
    too short). Zero change means a fixed point.
    """
    c = changes[-1]
    if c == 0.0:
        return 0.0
    if len(changes) <= window or changes[-1 - window] <= 0.0:
        return np.inf
    rho = (c / changes[-1 - window]) ** (1.0 / window)
    return c / (1.0 - rho) if rho < 1.0 else np.inf


def _column_rms(X):
    """Root mean square of each column of ``X`` (dense or CSR): the unit of its coefficient."""
    if sp.issparse(X):
        return np.sqrt(np.asarray(X.multiply(X).mean(axis=0)).ravel())
    top = np.max(np.abs(X), axis=0, initial=0.0)
    safe = np.where(top > 0, top, 1.0)  # no overflow or underflow in the squares
    return top * np.sqrt(np.mean((X / safe) ** 2, axis=0))


def _objective(loss, X, Y, s, W, b):
    P = X @ W + b[None, :]
    P = np.asarray(P)
    vals = loss.value(P, Y)
    return float((vals * s[:, None]).sum() / s.sum())


def sgd_run(X, Y, sample_weight, coef_anchor, state, *, config, rng, validation=None,
            shift=None):
    """Run epochs of minibatch SGD in place on ``state``; see the module docstring.

    Parameters
    ----------
    X : ndarray (C-contiguous float64) or CSR matrix, shape (n_samples, n_features)
        CSR input runs in O(nnz of the batch) per step (:mod:`skft._core._sgd_sparse`): the
        same iterates up to rounding.
    Y : ndarray of shape (n_samples, n_targets)
    sample_weight : ndarray of shape (n_samples,) or None
    coef_anchor : ndarray of shape (n_features, n_targets)
        ``w0`` of the pull ``alpha/2 ||w - w0||^2``.
    state : SGDState
        The start; updated in place.
    config : SGDConfig
    rng : numpy.random.Generator or RandomState
        Source of the shuffles.
    validation : tuple (X_val, Y_val, s_val) or None
        If given, the stall test uses this held-out loss (early stopping).
    shift : ndarray of shape (n_features,) or None
        Run in the centred parametrisation ``p = (x - shift)' w + c`` (``c = b + shift' w``,
        the intercept coordinate being ``c``); ``state`` is converted in and out, so callers see
        ``b``. Only the trajectory changes: with ``alpha > 0`` the minimiser is the same, and
        the direction trading ``b`` against ``w`` (curvature ~ ``alpha`` when
        ``n_samples < n_features``) becomes well conditioned. Not for ``alpha = 0``, whose
        limit depends on the parametrisation. Ignored without intercept.

    Returns
    -------
    n_iter : int
        Epochs run.
    converged : bool
        Whether the stopping rule fired (always False when ``config.tol`` is None).

    Raises
    ------
    SGDDivergenceError
        "non-finite coefficients at epoch k; try a smaller eta0" (or "diverging coefficients
        ..." when the objective grew tenfold above its best and stalled before overflowing).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 50)); Y = rng.standard_normal((20, 1))
    >>> st = SGDState(coef=np.zeros((50, 1)), intercept=np.zeros(1), eta=0.01)
    >>> cfg = SGDConfig(eta0=0.01, batch_size=4, fit_intercept=False, tol=1e-10)
    >>> n_iter, ok = sgd_run(X, Y, None, np.zeros((50, 1)), st, config=cfg, rng=rng)
    >>> ok, bool(np.allclose(X @ st.coef, Y, atol=1e-6))
    (True, True)
    """
    cfg = config
    loss = get_loss(cfg.loss, cfg.epsilon)
    n, d = X.shape
    B = int(max(1, min(cfg.batch_size, n)))
    s = (np.ones(n) if sample_weight is None
         else np.asarray(sample_weight, dtype=np.float64) * (n / np.sum(sample_weight)))
    weighted = sample_weight is not None
    W0 = coef_anchor
    alpha = float(cfg.alpha)
    eta0 = float(cfg.eta0)
    if state.eta is None:
        state.eta = eta0
    mu = shift if (shift is not None and cfg.fit_intercept) else None
    if mu is not None:
        _shift_state(state, mu, +1.0)
    try:
        if sp.issparse(X):
            stepper = SparseStepper(X, Y, s, weighted, W0, state, cfg, loss, mu, eta0,
                                    _step_size)
        else:
            stepper = _DenseStepper(X, Y, s, weighted, W0, state, cfg, loss, mu, eta0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _epochs(stepper, X, W0, state, cfg, loss, rng, validation, mu, B, alpha,
                           eta0, weighted, s)
    finally:
        if mu is not None:
            _shift_state(state, mu, -1.0)


def _shift_state(state, mu, sign):
    """``c = b + mu' w`` (sign +1) or back (sign -1), for the iterate and the average."""
    state.intercept += sign * (mu @ state.coef)
    if state.n_avg > 0:
        state.avg_intercept += sign * (mu @ state.avg_coef)


class _DenseStepper:
    """The inner loop of :func:`sgd_run` for a dense ``X``: the update of the module docstring,
    on ``state`` in place."""

    def __init__(self, X, Y, s, weighted, W0, state, cfg, loss, mu, eta0):
        self.X, self.Y, self.s, self.weighted = X, Y, s, weighted
        self.W0, self.state, self.cfg, self.loss, self.mu = W0, state, cfg, loss, mu
        self.eta0, self.alpha = eta0, float(cfg.alpha)
        self.buf = None

    def epoch(self, order, B):
        """One pass over the rows in ``order`` by batches of ``B``; returns the summed loss."""
        X, Y, s, weighted, W0, state = self.X, self.Y, self.s, self.weighted, self.W0, self.state
        cfg, loss, mu, eta0, alpha = self.cfg, self.loss, self.mu, self.eta0, self.alpha
        n, d = X.shape
        if order is None:
            order = np.arange(n)
        if self.buf is None or self.buf.shape[0] != B:
            self.buf = np.empty((B, d), dtype=np.float64)
        buf = self.buf
        W, b = state.coef, state.intercept
        epoch_loss = 0.0
        for start in range(0, n, B):
            idx = order[start:start + B]
            m = len(idx)
            Xb = np.take(X, idx, axis=0, out=buf) if m == B else X[idx]
            P = Xb @ W
            P += b if mu is None else b - mu @ W
            Yb = Y[idx]
            G = loss.derivative(P, Yb)
            lv = loss.value(P, Yb)  # the progressive loss: stopping and divergence checks
            epoch_loss += float((lv * s[idx, None]).sum() if weighted else lv.sum())
            if weighted:
                G = G * s[idx, None]
            eta = _step_size(cfg, state, eta0, B)
            gW = Xb.T @ G
            if mu is not None:
                gW -= np.outer(mu, G.sum(axis=0))
            gW *= eta / m
            if alpha > 0:
                W *= 1.0 - eta * alpha
                W += (eta * alpha) * W0
            W -= gW
            if cfg.fit_intercept:
                b -= (eta / m) * G.sum(axis=0)
            state.t += m
            if cfg.average and state.t - 1 >= cfg.average:
                if state.n_avg == 0:
                    state.avg_coef = W.copy()
                    state.avg_intercept = b.copy()
                    state.n_avg = 1
                else:
                    state.n_avg += 1
                    state.avg_coef += (W - state.avg_coef) / state.n_avg
                    state.avg_intercept += (b - state.avg_intercept) / state.n_avg
        return epoch_loss

    def sync(self):
        """Nothing to do: the dense state is always current."""

    def finite(self):
        """Whether the coefficients are finite."""
        return bool(np.all(np.isfinite(self.state.coef)))


# Divergence without overflow (also across partial_fit calls, where no stopping rule runs):
# the progressive loss rose in each of the last _GROWTH_RUNS epochs and is now more than
# _GROWTH_FACTOR times both the first and the best epoch's. A converging SGD does not rise
# epoch after epoch by that much: after a shift in the data its loss falls again.
_GROWTH_RUNS, _GROWTH_FACTOR = 4, 100.0


def _check_growth(state, mean_loss, eta, epoch):
    """Record an epoch's mean progressive loss; raise if SGD is diverging."""
    if state.loss_first is None:
        state.loss_first = mean_loss
    state.loss_best = min(state.loss_best, mean_loss)
    last = (state.losses + [mean_loss])[-_GROWTH_RUNS - 1:]
    state.losses = last
    if len(last) <= _GROWTH_RUNS:
        return
    rising = all(b > a for a, b in zip(last[:-1], last[1:], strict=True))
    if rising and mean_loss > _GROWTH_FACTOR * max(state.loss_best, state.loss_first):
        raise SGDDivergenceError(
            f"diverging coefficients at epoch {epoch}; try a smaller eta0 (the training loss "
            f"grew in each of the last {_GROWTH_RUNS} epochs or partial_fit calls, from "
            f"{state.loss_best:.3g} (best) to {mean_loss:.3g}: the step {eta:.3g} diverges)")


def _epochs(stepper, X, W0, state, cfg, loss, rng, validation, mu, B, alpha, eta0, weighted,
            s):
    n = X.shape[0]
    b = state.intercept
    best = best_ever = np.inf
    first_score = None
    no_improve = 0
    converged = False
    changes, inners, prev_step = [], [], None
    # changes and sizes in the units of the predictions (a coefficient times its column's
    # root mean square; the intercept when fitted): the stopping rule does not depend on the
    # units of X (X -> c X, w -> w / c) nor weigh a fixed intercept
    unit = _column_rms(X)[:, None] if cfg.tol is not None else None
    moving_b = 1.0 if cfg.fit_intercept else 0.0
    epoch = 0
    for epoch in range(1, cfg.max_iter + 1):
        order = rng.permutation(n) if cfg.shuffle else None
        if cfg.tol is not None:
            prev_W, prev_b = (a.copy() for a in state.output())
        epoch_loss = stepper.epoch(order, B)
        if cfg.tol is not None or epoch == cfg.max_iter:
            stepper.sync()
        if not (stepper.finite() and np.all(np.isfinite(b))):
            raise SGDDivergenceError(
                f"non-finite coefficients at epoch {epoch}; try a smaller eta0 "
                f"(current step size {_step_size(cfg, state, eta0, B):.3g})")
        _check_growth(state, epoch_loss / (n if not weighted else s.sum()),
                      _step_size(cfg, state, eta0, B), epoch)
        if cfg.tol is None:
            continue
        out_W, out_b = state.output()
        if validation is not None:
            Xv, Yv, sv = validation
            score = _objective(loss, Xv, Yv, sv, out_W,
                               out_b if mu is None else out_b - mu @ out_W)
        else:
            score = epoch_loss / (n if not weighted else s.sum())
            if alpha > 0:
                score += 0.5 * alpha * float(np.sum((out_W - W0) ** 2))
        dW, db = (out_W - prev_W) * unit, (out_b - prev_b) * moving_b
        change = max(np.max(np.abs(dW), initial=0.0), np.max(np.abs(db), initial=0.0))
        scale = max(np.max(np.abs(out_W * unit), initial=0.0),
                    np.max(np.abs(out_b * moving_b), initial=0.0))
        if prev_step is not None:
            inners.append(float(np.vdot(dW, prev_step[0]) + np.vdot(db, prev_step[1])))
        prev_step = (dW, db)
        if cfg.verbose:
            print(f"-- Epoch {epoch}: objective {score:.6g}, max change {change:.3g}, "
                  f"step {_step_size(cfg, state, eta0, B):.3g}, T {int(state.t - 1)}")
        changes.append(change)
        if _remaining_distance(changes) <= cfg.tol * max(scale, np.finfo(np.float64).tiny):
            converged = True
            break
        best_ever = min(best_ever, score)
        first_score = score if first_score is None else first_score
        if not np.isfinite(best) or score < best - cfg.tol * abs(best):
            best, no_improve = score, 0
        else:
            no_improve += 1
        stalled = no_improve >= cfg.n_iter_no_change
        if validation is None:
            window = inners[-cfg.n_iter_no_change:]
            stalled = stalled and len(window) == cfg.n_iter_no_change and sum(window) < 0.0
        if stalled and validation is None and score > max(10.0 * best_ever, first_score):
            raise SGDDivergenceError(
                f"diverging coefficients at epoch {epoch}; try a smaller eta0 (the objective "
                f"grew from {best_ever:.3g} to {score:.3g}: the step "
                f"{_step_size(cfg, state, eta0, B):.3g} diverges)")
        if stalled:
            if cfg.learning_rate == "adaptive" and cfg.grow_batch is not None and B < n:
                B = min(n, 4 * B)
                state.eta = step_from_stats(*cfg.grow_batch, B, alpha)
                no_improve, inners, changes, prev_step = 0, [], [], None
                best = best if validation is not None else np.inf
            elif cfg.learning_rate == "adaptive" and state.eta > 1e-6 * eta0:
                state.eta /= 5.0
                no_improve, inners, changes, prev_step = 0, [], [], None
                best = best if validation is not None else np.inf
            else:
                converged = True
                break
    return epoch, converged
