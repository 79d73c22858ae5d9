"""Machinery shared by the warm-start SGD estimators: parameters, start resolution, solvers."""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_array, check_random_state

from .._core._convex import calibrate_scores, solve_convex
from .._core._exact import solve_exact
from .._core._sgd import (
    SGDConfig,
    SGDState,
    auto_batch_size,
    curvature_stats,
    sgd_run,
    step_from_stats,
)
from ..utils._dask_compat import is_dask_array
from ..utils._doc_link import DocLinkMixin
from ..utils._feature_names import name_order
from ..utils._sklearn_compat import Interval, StrOptions, _check_sample_weight, validate_data
from ..utils._validation import joint_multiclass_start, refuse_complex
from ._asymptotic import _AsymptoticErrorMixin
from ._scale import intercept_fit_is_unique, sgd_scale, warn_offsets, warn_rounding

# solver="auto" uses the closed form when the smaller Gram side is at most this large
# (a 5000 x 5000 float64 matrix is 200 MB).
EXACT_MAX_SIDE = 5000
# ... and the full-batch Newton route of the other losses (one factorisation per Newton step)
CONVEX_MAX_SIDE = 2000


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
        "calibrate_start": [StrOptions({"intercept", "affine"}), None],
    }

    def __init__(self, coef_init=None, intercept_init=None, *, alpha=0.0, solver="auto",
                 calibrate_start=None, loss="squared_error", fit_intercept=True,
                 learning_rate="adaptive", eta0="auto",
                 power_t=0.25, max_iter=1000, tol=1e-6, n_iter_no_change=5, shuffle=True,
                 random_state=None, average=False, early_stopping=False,
                 validation_fraction=0.1, batch_size="auto", warm_start=False, verbose=0,
                 epsilon=0.1):
        self.coef_init = coef_init
        self.intercept_init = intercept_init
        self.alpha = alpha
        self.solver = solver
        self.calibrate_start = calibrate_start
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
        refuse_complex(coef, "coef_init")
        refuse_complex(intercept, "intercept_init")
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
            est = coef
            coef = self._align_start_columns(est, np.asarray(est.coef_))
            reason = joint_multiclass_start(est, np.atleast_2d(coef).shape[0])
            self._start_joint = reason
            if reason is not None and self.calibrate_start != "affine" and not (
                    np.isinf(self.alpha) and self.calibrate_start is None):
                raise ValueError(
                    f"coef_init: {reason}, not one-vs-rest scores, which is what this "
                    "one-vs-rest classifier fine-tunes (the sign of each row against 0). Pass "
                    "calibrate_start='affine' to map each row onto its one-vs-rest target on "
                    "the data before fine-tuning, or alpha=np.inf to keep the start as it is "
                    "(same predictions), or a one-vs-rest start (e.g. "
                    "OneVsRestClassifier(LogisticRegression()) -> stack its estimators' "
                    "coef_).")
        else:
            self._start_joint = None
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

    def _align_start_columns(self, est, coef):
        """``coef`` (of the estimator start ``est``) with its columns in the order of the
        features of ``X`` when both have feature names (matched by name)."""
        start_names = getattr(est, "feature_names_in_", None)
        names = getattr(self, "feature_names_in_", None)
        if start_names is None or names is None:
            return coef
        order = name_order(start_names, names, "coef_init (its feature_names_in_)", "X")
        return coef if order is None else np.atleast_2d(coef)[:, order]

    def _calibrate(self, Xf, Y, sw, W0, b0):
        """``calibrate_start``: per column, the scale ``a`` and offset ``c`` minimising the
        fine-tuning loss of ``a (X w0 + b0) + c`` on the data (``a = 1`` for "intercept")."""
        k = W0.shape[0]
        scale, offset = np.ones(k), np.zeros(k)
        if self.calibrate_start is None:
            return scale, offset
        Z = np.asarray(Xf @ W0.T) + b0[None, :]
        for j in range(k):
            try:
                scale[j], offset[j] = calibrate_scores(
                    Z[:, j], Y[:, j], self.loss, float(self.epsilon), sw,
                    scale=self.calibrate_start == "affine")
            except ValueError as exc:
                raise ValueError(f"calibrate_start={self.calibrate_start!r}: {exc}") from exc
        return scale, offset

    # ------------------------------------------------------------------ the one fit path
    def _resolve_solver(self, n_samples, n_coords, partial):
        if partial:
            return "sgd"
        squared = self.loss == "squared_error"
        if self.solver == "exact":
            if not squared and self.alpha == 0:
                raise ValueError(
                    f"solver='exact' with loss={self.loss!r} needs alpha > 0: with alpha = 0 "
                    "the minimiser of this loss may not exist (log_loss on separable data: the "
                    "coefficients grow without bound) or not be unique, and the point SGD "
                    "reaches then depends on its path. Pass alpha > 0, or solver='sgd'.")
            return "exact"
        if self.solver == "sgd":
            return "sgd"
        side = min(n_samples, n_coords)
        if squared and not self.early_stopping and side <= EXACT_MAX_SIDE:
            return "exact"
        if (not squared and self.alpha > 0 and not self.early_stopping
                and side <= CONVEX_MAX_SIDE):
            return "exact"
        return "sgd"

    def _fit_path(self, X, y, *, sample_weight=None, coef_init=None, intercept_init=None,
                  partial=False, classes=None):
        if is_dask_array(X):  # skft[dask]: moments reduced on the cluster, see _dask_fit.py
            from ._dask_fit import fit_on_dask

            return fit_on_dask(self, X, y, sample_weight=sample_weight, coef_init=coef_init,
                               intercept_init=intercept_init, partial=partial, classes=classes)
        first_call = not (partial and hasattr(self, "coef_"))
        for value, name in ((X, "X"), (y, "y"), (sample_weight, "sample_weight"),
                            (coef_init, "coef_init"), (intercept_init, "intercept_init")):
            refuse_complex(value, name)
        if not partial and self.warm_start and hasattr(self, "coef_"):
            self._check_warm_start_features(X)
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

        self._fit_weighted = sw is not None
        if first_call:
            W0, b0 = self._resolve_start(coef_init, intercept_init, d, k)
            self.coef_init_ = W0 if self._multi_coef else W0[0]
            self.intercept_init_ = b0
            self.start_scale_, self.start_offset_ = self._calibrate(Xf, Y, sw, W0, b0)
        # the anchor of the pull and the start: (a w0, a b0 + c), calibrated or not
        W0 = np.atleast_2d(self.coef_init_) * self.start_scale_[:, None]
        b0 = self.intercept_init_ * self.start_scale_ + self.start_offset_
        solver = self._resolve_solver(n, d + int(self.fit_intercept), partial)
        self._say(f"solver={self.solver!r}: {solver!r} (n_samples={n}, n_features={d}, "
                  f"loss={self.loss!r}, alpha={float(self.alpha):g})")
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
                if Ws.shape != W0.shape:
                    raise ValueError(
                        f"warm_start=True continues from coef_ of shape {Ws.shape}, but this "
                        f"fit needs shape {W0.shape} (another number of classes?); pass "
                        "warm_start=False to fit from the start")
            else:
                Ws, bs = W0.copy(), b0.copy()
            state = SGDState(coef=Ws.T.copy(), intercept=bs.copy())

        if np.isinf(self.alpha):
            # keep the (calibrated) start exactly, whatever the loss and the solver
            t = state.t + (Xf.shape[0] if partial else 0.0)
            state = SGDState(coef=W0.T.copy(), intercept=b0.copy(), t=t, eta=state.eta)
            self.n_iter_ = 1
            self.t_ = float(state.t)
            self._say("alpha=inf: the start is kept as it is")
        elif solver == "exact" and self.loss == "squared_error":
            start = time.perf_counter()
            sol = solve_exact(Xf, Y, W0.T, b0, alpha=float(self.alpha),
                              fit_intercept=self.fit_intercept, sample_weight=sw,
                              coef_start=state.coef, intercept_start=state.intercept,
                              log=self._say if self.verbose else None)
            self._say(f"exact solver done ({sol.method} on the {sol.side} side, "
                      f"{sol.refinements} refinement steps): "
                      f"{time.perf_counter() - start:.3f} s")
            warn_rounding(sol.rounding)
            state = SGDState(coef=sol.coef, intercept=sol.intercept)
            self.n_iter_ = 1
            self.t_ = 1.0
        elif solver == "exact":
            start = time.perf_counter()
            sol = solve_convex(Xf, Y, W0.T, b0, float(self.alpha), self.loss,
                               float(self.epsilon), self.fit_intercept, sw,
                               coef_start=state.coef, intercept_start=state.intercept)
            self._say(f"exact solver done (Newton / active set for loss={self.loss!r}: "
                      f"{sol.n_iter} iterations, largest relative violation of the optimality "
                      f"conditions {sol.kkt:.2g}): {time.perf_counter() - start:.3f} s")
            if not sol.converged:
                warnings.warn(
                    f"solver='exact' (Newton / active set for loss={self.loss!r}) stopped "
                    f"before convergence: largest relative violation of the optimality "
                    f"conditions {sol.kkt:.2g}", ConvergenceWarning, stacklevel=4)
            state = SGDState(coef=sol.coef, intercept=sol.intercept)
            self.n_iter_ = sol.n_iter
            self.t_ = 1.0
        else:
            start = time.perf_counter()
            state, n_iter = self._run_sgd(Xf, Y, y, sw, W0, state, partial, first_call)
            self.n_iter_ = n_iter
            self.t_ = float(state.t)
            self._say(f"SGD done ({n_iter} epochs, batch size {self.batch_size_}, "
                      f"eta0 {self.eta0_:.3g}): {time.perf_counter() - start:.3f} s")
        self._state = state
        W, b = state.output()
        coef = np.ascontiguousarray(W.T, dtype=out_dtype)
        self.coef_ = coef if self._multi_coef else coef[0]
        self.intercept_ = np.asarray(b, dtype=out_dtype).copy()
        self._remember_fit_data(X, y, partial=partial)
        return self

    def _say(self, message):
        """With ``verbose``: one line ``-- message`` on stdout (as the SGD epochs and
        scikit-learn's ``SGDRegressor`` print)."""
        if self.verbose:
            print(f"-- {message}", flush=True)

    def _check_warm_start_features(self, X):
        """``warm_start`` continues from ``coef_``: X must have its number of features."""
        try:
            n_features = X.shape[1]
        except (AttributeError, IndexError, TypeError):
            return  # validate_data reports what is wrong with X
        expected = getattr(self, "n_features_in_", None)
        if expected is not None and n_features != expected:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{expected} features as input (warm_start=True continues from coef_ "
                "fitted on them); pass warm_start=False to fit on new features")

    def _run_sgd(self, Xf, Y, y, sw, W0, state, partial, first_call, alpha=None):
        alpha = float(self.alpha) if alpha is None else alpha
        # extreme entries: SGD on (X / g, y / g) with alpha / g^2 and b / g, same minimiser
        # (partial_fit: checked on its first batch only, to keep later calls one pass)
        # a unique minimiser (alpha > 0, or unique least squares with the squared loss): SGD
        # in the centred parametrisation (same minimiser, better conditioned)
        centre = self.fit_intercept and not partial and (
            alpha > 0 or (self.loss == "squared_error" and intercept_fit_is_unique(Xf)))
        g = 1.0
        if first_call or not partial:
            g = sgd_scale(Xf, loss=self.loss, alpha=alpha, fit_intercept=self.fit_intercept,
                          partial=partial, auto_step=self.eta0 == "auto", centred=centre)
        if g != 1.0:
            with np.errstate(over="ignore"):
                y_top = float(np.max(np.abs(Y), initial=0.0))
                scaled = np.float64(y_top) / np.float64(g)
            if not np.isfinite(scaled):
                raise ValueError(
                    f"X has entries of size {g:.1e} against targets y up to {y_top:.1e}: "
                    f"SGD on X / {g:.1e} would need y / {g:.1e}, beyond float64's range (and "
                    "coefficients of that size). Rescale X (e.g. StandardScaler) or y.")
            state.intercept = state.intercept / g
            # (a pull beyond 1e250 times the data's curvature is infinite: w = w0)
            state, n_iter = self._run_sgd_scaled(Xf / g, Y / g, y, sw, W0, state, partial,
                                                 first_call, min(alpha / g / g, 1e250), centre)
            state.intercept = state.intercept * g
            if state.n_avg > 0:
                state.avg_intercept = state.avg_intercept * g
            return state, n_iter
        return self._run_sgd_scaled(Xf, Y, y, sw, W0, state, partial, first_call, alpha,
                                    centre)

    def _run_sgd_scaled(self, Xf, Y, y, sw, W0, state, partial, first_call, alpha, centre):
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
        shift = None
        if centre and alpha == 0 and validation is not None:  # unique on the training part?
            centre = intercept_fit_is_unique(Xt)
        if self.fit_intercept and not partial and not centre and alpha == 0:
            warn_offsets(Xt)
        if centre:
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
        ybar = None
        if shift is not None and self.loss == "squared_error":
            # centred at the weighted mean of X, the intercept coordinate c = b + shift'w has
            # its optimum at the weighted mean of Y whatever w: start and end there (under a
            # pull far above the features' curvature the shared step would need ~alpha
            # epochs to carry the intercept alone there)
            ybar = (Yt.T @ wts) / wts.sum()
            state.intercept = ybar - shift @ state.coef
        n_iter, converged = sgd_run(Xt, Yt, swt, W0.T, state, config=config, rng=rng,
                                    validation=validation, shift=shift)
        if ybar is not None:
            state.intercept = ybar - shift @ state.coef
            if state.n_avg > 0:
                state.avg_intercept = ybar - shift @ state.avg_coef
        if not partial and self.tol is not None and not converged:
            warnings.warn(
                f"Maximum number of iteration reached before convergence ({n_iter} epochs). "
                "Consider increasing max_iter, or solver='exact' (squared loss, or any "
                "loss with alpha > 0).",
                ConvergenceWarning, stacklevel=5)
        return state, n_iter
