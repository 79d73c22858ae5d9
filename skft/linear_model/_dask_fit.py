"""``fit`` / ``partial_fit`` of the warm-start estimators on dask arrays (``skft[dask]``).

``fit``: the exact solver (squared loss) never needs the rows, only their moments
(:mod:`skft._core._exact_moments`): ``X'SX``, ``X'S r``, ``X's``, ``s'r`` and ``sum s`` of the
residuals ``r`` of one reference point, reduced block by block on the cluster
(:func:`skft.dask.cross_moments`); the ``(d + 1) x (d + 1)`` solve runs locally. The point is
the one ``fit`` returns in memory (same objective, intercept rule and start), computed on the
primal side. With fewer rows than coordinates (``n < d + fit_intercept``) the data are no
larger than that Gram matrix: they are computed and fitted in memory (the kernel route).

``partial_fit``: one pass of ``partial_fit`` over the row blocks, in order
(:func:`skft.dask.partial_fit_chunks`).
"""

from __future__ import annotations

import numpy as np

from .._core._exact_moments import residual_reference, solve_exact_from_moments
from .._core._sgd import SGDState
from ..utils._dask_compat import import_dask

__all__ = ["fit_on_dask"]


def fit_on_dask(est, X, y, *, sample_weight=None, coef_init=None, intercept_init=None,
                partial=False, classes=None):
    """Fit ``est`` (a warm-start estimator) on the dask array ``X``; returns ``est``."""
    import_dask("dask.array", feature="fitting on a dask array")
    if partial:
        from ..dask import partial_fit_chunks

        return partial_fit_chunks(est, X, y, classes=classes, sample_weight=sample_weight)
    import dask.array as da

    from ..dask._reduce import along_rows, as_row_blocks, cross_moments
    from ._base import _start_classes

    X = as_row_blocks(X, "X")
    n, d = X.shape
    p = d + int(est.fit_intercept)
    if n < p:  # no larger than the d x d Gram: fit in memory on the kernel side
        sw = None if sample_weight is None else np.asarray(sample_weight)
        return est._fit_path(X.compute(), np.asarray(y), sample_weight=sw, coef_init=coef_init,
                             intercept_init=intercept_init)
    alpha = float(est.alpha)
    if est.calibrate_start is not None:
        raise ValueError(
            f"calibrate_start={est.calibrate_start!r} is not available for fit on a dask array "
            "(the route reduces the normal equations of the uncalibrated start); calibrate on "
            "the data in memory, or pass calibrate_start=None.")
    if not np.isinf(alpha) and (est.loss != "squared_error"
                                or est._resolve_solver(n, p, partial=False) != "exact"):
        raise ValueError(
            f"fit on a dask array runs the exact squared-loss solver (its d x d normal "
            f"equations reduced on the cluster); with solver={est.solver!r}, "
            f"loss={est.loss!r}, early_stopping={est.early_stopping} and {d} features it would "
            "need the rows themselves: pass solver='exact' with loss='squared_error', or run "
            "SGD over the chunks with skft.dask.partial_fit_chunks(estimator, X, y).")
    if est.warm_start and hasattr(est, "coef_"):
        est._check_warm_start_features(X)
    y = along_rows(y, X, "y")
    encode = None
    if est._y_numeric:
        if y.dtype.kind not in "fiub":
            raise ValueError(f"y must be numeric for regression, got dtype {y.dtype}.")
        k = 1
    else:  # the classes first (a cheap pass over y), then the -1/+1 coding in each block
        labels = da.unique(y).compute()
        start_classes = _start_classes(est.coef_init if coef_init is None else coef_init)
        est._encode_targets(labels, first_call=True, start_classes=start_classes)
        k = 1 if est.classes_.size == 2 else est.classes_.size

        def encode(block, _est=est):
            return _est._encode_targets(block, first_call=False)

    W0, b0 = est._resolve_start(coef_init, intercept_init, d, k)
    est.coef_init_ = W0 if est._multi_coef else W0[0]
    est.intercept_init_ = b0
    est.start_scale_, est.start_offset_ = np.ones(k), np.zeros(k)
    est._fit_weighted = sample_weight is not None
    if np.isinf(alpha):  # keep the start exactly (as in memory): the rows are not needed
        state = SGDState(coef=W0.T.copy(), intercept=b0.copy())
    else:
        if est.warm_start and hasattr(est, "coef_"):
            Ws = np.atleast_2d(np.asarray(est.coef_, dtype=np.float64))
            bs = np.asarray(est.intercept_, dtype=np.float64)
            if Ws.shape != W0.shape:
                raise ValueError(
                    f"warm_start=True continues from coef_ of shape {Ws.shape}, but this fit "
                    f"needs shape {W0.shape}; pass warm_start=False to fit from the start")
        else:
            Ws, bs = W0, b0
        Wr, br = residual_reference(W0.T, b0, alpha=alpha, fit_intercept=est.fit_intercept,
                                    coef_start=Ws.T, intercept_start=bs)
        mom = cross_moments(X, y, Wr, br, sample_weight=sample_weight, encode=encode)
        if not mom.weight > 0:
            raise ValueError("sample_weight has no positive entry")
        sol = solve_exact_from_moments(mom, Wr, br, alpha=alpha, fit_intercept=est.fit_intercept)
        state = SGDState(coef=sol.coef, intercept=sol.intercept)
    est.solver_ = est._resolve_solver(n, p, partial=False) if np.isinf(alpha) else "exact"
    est.n_iter_, est.t_ = 1, 1.0
    est._state = state
    out_dtype = np.float32 if X.dtype == np.float32 else np.float64
    coef = np.ascontiguousarray(state.coef.T, dtype=out_dtype)
    est.coef_ = coef if est._multi_coef else coef[0]
    est.intercept_ = np.asarray(state.intercept, dtype=out_dtype).copy()
    est.n_features_in_ = d
    if hasattr(est, "feature_names_in_"):
        del est.feature_names_in_
    # the rows stay on the cluster: predict_asymptotic_error() then needs X, y passed to it
    est._remember_fit_data(None, None, partial=True)
    return est
