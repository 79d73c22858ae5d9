"""Machinery shared by the warm-start SGD estimators: parameters, start resolution, solvers."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state

from .._core._exact import solve_exact
from .._core._sgd import (
    SGDConfig,
    SGDState,
    auto_batch_size,
    curvature_stats,
    sgd_run,
    step_from_stats,
)
from ..utils._doc_link import DocLinkMixin
from ..utils._sklearn_compat import Interval, StrOptions, _check_sample_weight, validate_data
from ._asymptotic import _AsymptoticErrorMixin
from ._scale import sgd_scale, warn_rounding

# solver="auto" uses the closed form when the smaller Gram side is at most this large
# (a 5000 x 5000 float64 matrix is 200 MB).
EXACT_MAX_SIDE = 5000


def _start_estimator(coef):
    """``coef`` when it is an estimator-like start (not an array, has ``coef_`` or ``fit``)."""
    if coef is not None and not hasattr(coef, "__array__") and (
            hasattr(coef, "coef_") or hasattr(coef, "fit")):
        return coef
    return None


def _start_classes(coef):
    """The ``classes_`` of an estimator start, as an array, or None."""
    est = _start_estimator(coef)
    classes = getattr(est, "classes_", None) if est is not None else None
    return None if classes is None else np.asarray(classes).copy()


class _BaseWarmStartSGD(DocLinkMixin, _AsymptoticErrorMixin, BaseEstimator):
    """Common machinery; see WarmStartSGDRegressor for the parameters."""

    _parameter_constraints: dict = {
        "coef_init": "no_validation",
        "intercept_init": "no_validation",
        "alpha": [Interval(Real, 0, np.inf, closed="both")],  # np.inf: keep the start
        "solver": [StrOptions({"auto", "sgd", "exact"})],
        "fit_intercept": ["boolean"],
        "learning_rate": [StrOptions({"constant", "optimal", "invscaling", "adaptive"})],
        "eta0": [Interval(Real, 0, None, closed="neither"), StrOptions({"auto"})],
        "power_t": [Interval(Real, None, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left"), None],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "average": [Interval(Integral, 0, None, closed="left"), "boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "epsilon": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, coef_init=None, intercept_init=None, *, alpha=0.0, solver="auto",
                 loss="squared_error", fit_intercept=True, learning_rate="adaptive", eta0="auto",
                 power_t=0.25, max_iter=1000, tol=1e-6, n_iter_no_change=5, shuffle=True,
                 random_state=None, average=False, early_stopping=False,
                 validation_fraction=0.1, batch_size="auto", warm_start=False, verbose=0,
                 epsilon=0.1):
        self.coef_init = coef_init
        self.intercept_init = intercept_init
        self.alpha = alpha
        self.solver = solver
        self.loss = loss
        self.fit_intercept = fit_intercept
        self.learning_rate = learning_rate
        self.eta0 = eta0
        self.power_t = power_t
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.average = average
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.batch_size = batch_size
        self.warm_start = warm_start
        self.verbose = verbose
        self.epsilon = epsilon

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    # ------------------------------------------------------------------ hooks (subclasses)
    def _encode_targets(self, y, *, first_call, classes=None, start_classes=None):
        """Return ``Y`` of shape (n_samples, n_targets) as float64; ``start_classes``: the
        ``classes_`` of an estimator start (first call only), or None."""
        raise NotImplementedError

    def _start_shape_message(self):
        return ""

    # ------------------------------------------------------------------ start resolution
    def _resolve_start(self, coef_init, intercept_init, n_features, n_targets):
        """Resolved copies of the start: ``W0`` (n_targets, n_features), ``b0`` (n_targets,)."""
        coef = self.coef_init if coef_init is None else coef_init
        intercept = self.intercept_init if intercept_init is None else intercept_init
        if _start_estimator(coef) is not None:
            if not hasattr(coef, "coef_"):
                raise ValueError(
                    f"coef_init is an estimator without coef_ ({type(coef).__name__} is not "
                    "fitted; clone(), and so GridSearchCV and cross_val_score, copy an estimator "
                    "parameter unfitted): pass coef_init=sklearn.frozen.FrozenEstimator("
                    "fitted_estimator), which clone() keeps fitted, or coef_init="
                    "fitted_estimator.coef_.")
            if intercept is None:
                intercept = getattr(coef, "intercept_", None)
            coef = coef.coef_
        if coef is None:
            W0 = np.zeros((n_targets, n_features))
        else:
            if np.ndim(coef) not in (1, 2):
                raise ValueError(f"coef_init must be 1-D or 2-D, got shape {np.shape(coef)}")
            try:
                W0 = check_array(coef, ensure_2d=False, dtype=np.float64, copy=True,
                                 input_name="coef_init", ensure_min_samples=0)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"coef_init must be a finite numeric array: {exc}") from exc
            if sp.issparse(W0):  # pragma: no cover - check_array rejects sparse by default
                W0 = W0.toarray()
            if W0.ndim == 1:
                W0 = W0[None, :]
            if W0.shape[1] != n_features:
                raise ValueError(
                    f"coef_init has {W0.shape[1]} features, but X has {n_features} features")
            if W0.shape[0] != n_targets:
                raise ValueError(
                    f"coef_init has {W0.shape[0]} rows, expected {n_targets}"
                    f"{self._start_shape_message()}")
        if intercept is None:
            b0 = np.zeros(n_targets)
        else:
            try:
                b0 = check_array(np.atleast_1d(np.asarray(intercept, dtype=object)),
                                 ensure_2d=False, dtype=np.float64, copy=True,
                                 input_name="intercept_init", ensure_min_samples=0).ravel()
            except (TypeError, ValueError) as exc:
                raise ValueError(f"intercept_init must be finite and numeric: {exc}") from exc
            if b0.size == 1 and n_targets > 1:
                b0 = np.full(n_targets, b0[0])
            if b0.shape != (n_targets,):
                raise ValueError(
                    f"intercept_init has {b0.size} values, expected {n_targets}"
                    f"{self._start_shape_message()}")
        return W0, b0

    # ------------------------------------------------------------------ the one fit path
    def _resolve_solver(self, n_samples, n_coords, partial):
        if partial:
            return "sgd"
        if self.solver == "exact":
            if self.loss != "squared_error":
                raise ValueError(
                    f"solver='exact' needs loss='squared_error', got loss={self.loss!r}")
            return "exact"
        if self.solver == "sgd":
            return "sgd"
        small = min(n_samples, n_coords) <= EXACT_MAX_SIDE
        if self.loss == "squared_error" and not self.early_stopping and small:
            return "exact"
        return "sgd"

    def _fit_path(self, X, y, *, sample_weight=None, coef_init=None, intercept_init=None,
                  partial=False, classes=None):
        first_call = not (partial and hasattr(self, "coef_"))
        with np.errstate(invalid="ignore", over="ignore"):  # sklearn sums X to detect inf
            X, y = validate_data(self, X, y, accept_sparse="csr",
                                 dtype=[np.float64, np.float32], reset=first_call,
                                 y_numeric=self._y_numeric)
        out_dtype = X.dtype
        Xf = X.astype(np.float64) if X.dtype != np.float64 else X
        if sp.issparse(Xf):
            Xf = Xf.tocsr()
        start_classes = None
        if first_call:
            start_classes = _start_classes(self.coef_init if coef_init is None else coef_init)
        Y = self._encode_targets(y, first_call=first_call, classes=classes,
                                 start_classes=start_classes)
        n, d = Xf.shape
        k = Y.shape[1]
        sw = None
        if sample_weight is not None:
            sw = _check_sample_weight(sample_weight, Xf, dtype=np.float64)
            if np.any(sw < 0) or not np.all(np.isfinite(sw)):
                raise ValueError("sample_weight must be finite and non-negative")
            if not np.any(sw > 0):
                raise ValueError("sample_weight has no positive entry")
            if np.all(sw == sw[0]):
                sw = None

        if first_call:
            W0, b0 = self._resolve_start(coef_init, intercept_init, d, k)
            self.coef_init_ = W0 if self._multi_coef else W0[0]
            self.intercept_init_ = b0
        else:
            W0 = np.atleast_2d(self.coef_init_)
        b0 = self.intercept_init_
        solver = self._resolve_solver(n, d + int(self.fit_intercept), partial)
        if solver == "sgd" and self.learning_rate == "optimal" and self.alpha == 0:
            raise ValueError("learning_rate='optimal' needs alpha > 0 (its step is "
                             "1 / (alpha (t0 + t)))")
        self.solver_ = solver

        warm = (not partial) and self.warm_start and hasattr(self, "coef_")
        if partial and not first_call:
            state = self._state
        else:
            if warm:
                Ws = np.atleast_2d(np.asarray(self.coef_, dtype=np.float64)).copy()
                bs = np.asarray(self.intercept_, dtype=np.float64).copy()
            else:
                Ws, bs = W0.copy(), b0.copy()
            state = SGDState(coef=Ws.T.copy(), intercept=bs.copy())

        if np.isinf(self.alpha):
            state = self._keep_start(Xf, Y, y, sw, W0, b0, state, partial, first_call)
            self.n_iter_ = 1
            self.t_ = float(state.t)
        elif solver == "exact":
            sol = solve_exact(Xf, Y, W0.T, b0, alpha=float(self.alpha),
                              fit_intercept=self.fit_intercept, sample_weight=sw,
                              coef_start=state.coef, intercept_start=state.intercept)
            warn_rounding(sol.rounding)
            state = SGDState(coef=sol.coef, intercept=sol.intercept)
            self.n_iter_ = 1
            self.t_ = 1.0
        else:
            state, n_iter = self._run_sgd(Xf, Y, y, sw, W0, state, partial, first_call)
            self.n_iter_ = n_iter
            self.t_ = float(state.t)
        self._state = state
        W, b = state.output()
        coef = np.ascontiguousarray(W.T, dtype=out_dtype)
        self.coef_ = coef if self._multi_coef else coef[0]
        self.intercept_ = np.asarray(b, dtype=out_dtype).copy()
        self._remember_fit_data(X, y, partial=partial)
        return self

    def _keep_start(self, Xf, Y, y, sw, W0, b0, state, partial, first_call):
        """``alpha = inf``: ``w = w0``; the intercept is the limit of the ``alpha > 0``
        minimiser, the weighted mean of the start's residuals ``y - X w0`` (per column), for
        ``fit`` with either solver; ``partial_fit`` keeps the running weighted mean over all
        the batches seen, so that it ends where ``fit`` on their union does."""
        if self.fit_intercept and self.loss != "squared_error":
            raise ValueError(
                f"alpha=inf (keep the start) with fit_intercept=True needs "
                f"loss='squared_error' (its intercept has a closed form), got "
                f"loss={self.loss!r}; pass fit_intercept=False or a finite alpha")
        if not self.fit_intercept:
            t = state.t + (Xf.shape[0] if partial else 0.0)
            return SGDState(coef=W0.T.copy(), intercept=state.intercept.copy(), t=t,
                            eta=state.eta)
        R = Y - np.asarray(Xf @ W0.T)
        wts = np.ones(R.shape[0]) if sw is None else sw
        total = float(wts.sum())
        if not partial:
            self._keep_weight = total
            return SGDState(coef=W0.T.copy(), intercept=(wts @ R) / total)
        # partial_fit: the exact running weighted mean of the residuals over all batches seen
        # (what fit on their union returns), not an SGD step on the last batch
        seen = 0.0 if first_call else float(getattr(self, "_keep_weight", 0.0))
        intercept = (seen * state.intercept + wts @ R) / (seen + total)
        self._keep_weight = seen + total
        return SGDState(coef=W0.T.copy(), intercept=intercept, t=state.t + R.shape[0],
                        eta=state.eta)

    def _run_sgd(self, Xf, Y, y, sw, W0, state, partial, first_call, alpha=None):
        alpha = float(self.alpha) if alpha is None else alpha
        # extreme entries: SGD on (X / g, y / g) with alpha / g^2 and b / g, same minimiser
        # (partial_fit: checked on its first batch only, to keep later calls one pass)
        g = 1.0
        if first_call or not partial:
            g = sgd_scale(Xf, loss=self.loss, alpha=alpha, fit_intercept=self.fit_intercept,
                          partial=partial, auto_step=self.eta0 == "auto")
        if g != 1.0:
            state.intercept = state.intercept / g
            # (a pull beyond 1e250 times the data's curvature is infinite: w = w0)
            state, n_iter = self._run_sgd_scaled(Xf / g, Y / g, y, sw, W0, state, partial,
                                                 first_call, min(alpha / g / g, 1e250))
            state.intercept = state.intercept * g
            if state.n_avg > 0:
                state.avg_intercept = state.avg_intercept * g
            return state, n_iter
        return self._run_sgd_scaled(Xf, Y, y, sw, W0, state, partial, first_call, alpha)

    def _run_sgd_scaled(self, Xf, Y, y, sw, W0, state, partial, first_call, alpha):
        n, d = Xf.shape
        if first_call or not hasattr(self, "_rng"):
            self._rng = check_random_state(self.random_state)
        rng = self._rng
        validation = None
        Xt, Yt, swt = Xf, Y, sw
        if self.early_stopping and not partial:
            stratify = y if not self._y_numeric else None
            idx_tr, idx_val = train_test_split(
                np.arange(n), test_size=self.validation_fraction, stratify=stratify,
                random_state=rng.randint(np.iinfo(np.int32).max))
            Xt, Yt = Xf[idx_tr], Y[idx_tr]
            swt = None if sw is None else sw[idx_tr]
            sv = np.ones(len(idx_val)) if sw is None else sw[idx_val]
            validation = (Xf[idx_val], Y[idx_val], sv)
        if first_call or not hasattr(self, "batch_size_"):
            nnz = Xt.nnz if sp.issparse(Xt) else None
            self.batch_size_ = (auto_batch_size(*Xt.shape, nnz=nnz) if self.batch_size == "auto"
                                else int(min(self.batch_size, Xt.shape[0])))
        # alpha > 0: SGD in the centred parametrisation (same minimiser, better conditioned)
        shift = None
        if alpha > 0 and self.fit_intercept and not partial:
            wts = np.ones(Xt.shape[0]) if swt is None else swt
            shift = np.asarray(Xt.T @ wts).ravel() / wts.sum()
        grow = None
        if self.eta0 == "auto":
            if first_call or not hasattr(self, "eta0_"):
                stats = curvature_stats(
                    Xt, swt, loss=self.loss, fit_intercept=self.fit_intercept,
                    random_state=rng.randint(np.iinfo(np.int32).max), shift=shift)
                self.eta0_ = step_from_stats(*stats, self.batch_size_, alpha)
                self._curvature = stats
            if self.batch_size == "auto" and self.learning_rate == "adaptive":
                grow = self._curvature
            if not (np.isfinite(self.eta0_) and self.eta0_ > 0):
                raise ValueError(
                    "eta0='auto' found no finite step: the entries of X are too large "
                    "(their squared norms overflow); rescale X or pass eta0")
        else:
            self.eta0_ = float(self.eta0)
        average = int(self.average) if not isinstance(self.average, bool) else int(self.average)
        config = SGDConfig(
            loss=self.loss, epsilon=float(self.epsilon), alpha=alpha,
            fit_intercept=self.fit_intercept, learning_rate=self.learning_rate,
            eta0=self.eta0_, power_t=float(self.power_t),
            max_iter=1 if partial else int(self.max_iter),
            tol=None if partial else self.tol, n_iter_no_change=int(self.n_iter_no_change),
            shuffle=self.shuffle, average=average, batch_size=self.batch_size_,
            verbose=int(self.verbose), grow_batch=grow)
        if not partial:
            state.t, state.eta = 1.0, None
            state.avg_coef = state.avg_intercept = None
            state.n_avg = 0
        n_iter, converged = sgd_run(Xt, Yt, swt, W0.T, state, config=config, rng=rng,
                                    validation=validation, shift=shift)
        if not partial and self.tol is not None and not converged:
            warnings.warn(
                f"Maximum number of iteration reached before convergence ({n_iter} epochs). "
                "Consider increasing max_iter, or solver='exact' for squared loss.",
                ConvergenceWarning, stacklevel=5)
        return state, n_iter
