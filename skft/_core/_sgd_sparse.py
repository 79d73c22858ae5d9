"""Minibatch SGD steps on CSR input in O(nnz) per step, for :func:`skft._core._sgd.sgd_run`.

NumPy/SciPy only. The iterate is never formed densely inside an epoch (as scikit-learn's
``_sgd_fast`` does for its own weight vector):

* **Lazy pull.** ``W = W0 + scale * U + outer(mu, z)``. The pull ``W <- W0 + (1 - eta alpha)
  (W - W0)`` multiplies ``scale`` and ``z``; a gradient step adds ``-(eta/m) Xb' G / scale`` to
  ``U`` on the batch's nonzero columns only. When ``|scale|`` leaves ``[1e-9, 1e9]``, ``U`` is
  rescaled (O(d), rare). ``x.W0`` is precomputed per row.
* **Centring folded into the intercept.** The centred parametrisation of ``sgd_run`` predicts
  ``(x - mu)' W + c = x' W + (c - mu' W)``; its gradient adds the dense rank-one term
  ``(eta/m) mu sum(G)``, kept as the scalar ``z`` per target, and ``mu' W = mu' W0 + scale mu' U
  + (mu' mu) z`` with ``mu' U`` updated from the batch (``mu' (Xb' G) = (Xb mu)' G``, with
  ``x.mu`` precomputed per row).
* **Lazy averaging.** With ``s_t`` the scale after step ``t`` and ``U_t = U_{t-1} + D_t``,
  ``sum_t s_t U_t = P U - Q`` where ``P = sum_t s_t`` and ``Q = sum_t P_{t-1} D_t`` (a second
  sparse scatter); the average is materialised once per epoch. ``P U - Q`` cancels by up to
  the factor by which ``scale`` fell since the last rescale, so while averaging ``U`` is
  rescaled (and ``P U - Q`` folded into a dense sum) once ``scale`` falls below 1e-2.

The arithmetic is that of the dense update up to rounding. The batch products use SciPy's
compiled CSR kernels (``scipy.sparse._sparsetools``) when present, else NumPy scatter/gather.
"""

from __future__ import annotations

import numpy as np

try:  # SciPy's compiled CSR kernels (private, but stable since SciPy 0.x); NumPy fallback below
    from scipy.sparse import _sparsetools as _st

    _HAVE_SPARSETOOLS = all(hasattr(_st, f) for f in (
        "csr_matvec", "csr_matvecs", "csc_matvec", "csc_matvecs", "csr_row_index"))
except ImportError:  # pragma: no cover
    _st, _HAVE_SPARSETOOLS = None, False

# switch for tests: exercise the NumPy fallback
USE_SPARSETOOLS = _HAVE_SPARSETOOLS

_RESCALE_LOW, _RESCALE_HIGH = 1e-9, 1e9
# While averaging, P U - Q cancels by up to a factor (scale at the last fold) / scale: fold and
# rescale at 1e-2 so that it loses at most two digits.
_AVERAGE_RESCALE_LOW = 1e-2


def _row_ids(ip):
    return np.repeat(np.arange(len(ip) - 1), np.diff(ip))


def _rows_dot(ip, ind, data, U, use_st):
    """``Xb @ U`` for the batch ``(ip, ind, data)`` (local CSR), shape (m, k)."""
    m, k = len(ip) - 1, U.shape[1]
    if use_st:
        out = np.zeros((m, k))
        if k == 1:
            _st.csr_matvec(m, U.shape[0], ip, ind, data, U.reshape(-1), out.reshape(-1))
        else:
            _st.csr_matvecs(m, U.shape[0], k, ip, ind, data, U.reshape(-1), out.reshape(-1))
        return out
    rid = _row_ids(ip)
    vals = data[:, None] * U[ind]
    return np.column_stack([np.bincount(rid, weights=vals[:, j], minlength=m)
                            for j in range(k)])


def _scatter_add(ip, ind, data, G, U, use_st):
    """``U += Xb' G`` in place, touching only the batch's nonzero columns."""
    m, k = G.shape
    if use_st:
        G = np.ascontiguousarray(G)
        if k == 1:
            _st.csc_matvec(U.shape[0], m, ip, ind, data, G.reshape(-1), U.reshape(-1))
        else:
            _st.csc_matvecs(U.shape[0], m, k, ip, ind, data, G.reshape(-1), U.reshape(-1))
        return
    np.add.at(U, ind, data[:, None] * G[_row_ids(ip)])


class SparseStepper:
    """The inner loop of ``sgd_run`` for CSR ``X``, state kept lazily (module docstring).

    ``state`` is in the parametrisation of ``sgd_run`` (intercept ``c`` when centred); its
    ``coef`` / ``avg_coef`` are valid after :meth:`sync` only, its ``intercept``,
    ``avg_intercept``, ``t``, ``n_avg`` always.
    """

    def __init__(self, X, Y, s, weighted, W0, state, cfg, loss, mu, eta0, step_size):
        self.X, self.Y, self.s, self.weighted = X, Y, s, weighted
        self.W0, self.state, self.cfg, self.loss, self.mu = W0, state, cfg, loss, mu
        self.eta0, self.step_size = eta0, step_size
        self.alpha = float(cfg.alpha)
        self.use_st = USE_SPARSETOOLS
        itype = X.indices.dtype
        self.indptr = X.indptr.astype(itype, copy=False)
        self.indices = np.ascontiguousarray(X.indices)
        self.data = np.ascontiguousarray(X.data, dtype=np.float64)
        self.XW0 = np.asarray(X @ W0)
        self.U = state.coef - W0
        self.scale = 1.0
        if mu is not None:
            self.xmu = np.asarray(X @ mu).ravel()
            self.mm = float(mu @ mu)
            self.mW0 = mu @ W0
            self.mU = mu @ self.U
            self.z = np.zeros(W0.shape[1])
        # averaging: sum of W over the averaged steps of this call = N W0 + S + outer(mu, Zs)
        # with S = Sacc + P U - Q (module docstring)
        self.n0 = state.n_avg
        self.A0 = None if state.n_avg == 0 else state.avg_coef.copy()
        self.N, self.P, self.Q, self.Sacc, self.Zs = 0, 0.0, None, None, None

    def _permuted(self, order):
        n = self.X.shape[0]
        if order is None:
            return self.indptr, self.indices, self.data
        lens = np.diff(self.indptr)[order]
        ip = np.zeros(n + 1, dtype=self.indptr.dtype)
        np.cumsum(lens, out=ip[1:])
        if self.use_st:
            ind, data = np.empty_like(self.indices[:ip[-1]]), np.empty(ip[-1])
            _st.csr_row_index(n, order.astype(self.indptr.dtype), self.indptr, self.indices,
                              self.data, ind, data)
            return ip, ind, data
        Xp = self.X[order]
        return ip, Xp.indices, Xp.data

    def _fold_average(self):
        """Move ``P U - Q`` into the dense accumulator (before ``U`` is rescaled)."""
        if self.P != 0.0:
            S = self.P * self.U - self.Q
            self.Sacc = S if self.Sacc is None else self.Sacc + S
            self.P = 0.0
            self.Q[...] = 0.0

    def _rescale(self, new_scale):
        self._fold_average()
        self.U *= new_scale
        if self.mu is not None:
            self.mU *= new_scale
        self.scale = 1.0

    def epoch(self, order, B):
        """One pass over the rows in ``order`` (None: as stored) by batches of ``B``."""
        cfg, state, loss, mu = self.cfg, self.state, self.loss, self.mu
        n = self.X.shape[0]
        ip_all, ind_all, data_all = self._permuted(order)
        if order is None:
            XW0, Y, s = self.XW0, self.Y, self.s
            xmu = self.xmu if mu is not None else None
        else:
            XW0, Y, s = self.XW0[order], self.Y[order], self.s[order]
            xmu = self.xmu[order] if mu is not None else None
        U, b, alpha = self.U, state.intercept, self.alpha
        use_st = self.use_st
        epoch_loss = 0.0
        for start in range(0, n, B):
            stop = min(start + B, n)
            m = stop - start
            lo, hi = ip_all[start], ip_all[stop]
            ip = ip_all[start:stop + 1] - lo
            ind, data = ind_all[lo:hi], data_all[lo:hi]
            P = _rows_dot(ip, ind, data, U, use_st)
            P *= self.scale
            P += XW0[start:stop]
            if mu is None:
                P += b
            else:
                P += xmu[start:stop, None] * self.z
                P += b - (self.mW0 + self.scale * self.mU + self.mm * self.z)
            Yb = Y[start:stop]
            G = loss.derivative(P, Yb)
            lv = loss.value(P, Yb)  # the progressive loss: stopping and divergence checks
            epoch_loss += float((lv * s[start:stop, None]).sum() if self.weighted
                                else lv.sum())
            if self.weighted:
                G = G * s[start:stop, None]
            eta = self.step_size(cfg, state, self.eta0, B)
            gsum = G.sum(axis=0)
            if alpha > 0:
                decay = 1.0 - eta * alpha
                new_scale = self.scale * decay
                if mu is not None:
                    self.z *= decay
                low = _RESCALE_LOW if self.Q is None else _AVERAGE_RESCALE_LOW
                if low <= abs(new_scale) <= _RESCALE_HIGH:
                    self.scale = new_scale
                else:
                    self._rescale(new_scale)
            if mu is not None:
                self.z += (eta / m) * gsum
            coef = -(eta / m) / self.scale
            Gs = G * coef
            _scatter_add(ip, ind, data, Gs, U, use_st)
            if mu is not None:
                self.mU += xmu[start:stop] @ Gs
            if cfg.fit_intercept:
                b -= (eta / m) * gsum
            state.t += m
            if cfg.average and state.t - 1 >= cfg.average:
                if self.Q is None:
                    self.Q = np.zeros_like(U)
                    self.Zs = np.zeros_like(b)
                    if self.scale != 1.0:
                        self._rescale(self.scale)
                if self.P != 0.0:
                    _scatter_add(ip, ind, data, Gs * self.P, self.Q, use_st)
                self.P += self.scale
                self.N += 1
                if mu is not None:
                    self.Zs += self.z
                state.n_avg += 1
                if state.n_avg == 1:
                    state.avg_intercept = b.copy()
                else:
                    state.avg_intercept += (b - state.avg_intercept) / state.n_avg
        return epoch_loss

    def finite(self):
        """Whether the (lazy) coefficients are finite, without forming them."""
        ok = np.isfinite(self.scale) and bool(np.all(np.isfinite(self.U)))
        return ok and (self.mu is None or bool(np.all(np.isfinite(self.z))))

    def sync(self):
        """Write the dense ``coef`` (and ``avg_coef``) of the lazy state into ``state``."""
        state, mu = self.state, self.mu
        W = self.W0 + self.scale * self.U
        if mu is not None:
            W += np.outer(mu, self.z)
        state.coef[...] = W
        if self.N > 0:
            S = self.P * self.U - self.Q
            if self.Sacc is not None:
                S += self.Sacc
            S += self.N * self.W0
            if mu is not None:
                S += np.outer(mu, self.Zs)
            if self.n0 > 0:
                S += self.n0 * self.A0
            state.avg_coef = S / (self.n0 + self.N)
