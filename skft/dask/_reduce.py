"""Row moments of dask arrays, reduced block by block on the cluster.

Each row block of the array becomes one task computing its moments about its own mean
(:mod:`skft._core._moments`); the moments are merged pairwise in a tree of tasks, so the
client receives one ``d x d`` result and no worker ever holds more than a block plus a few
``d x d`` matrices. The computation runs on dask's current scheduler: the distributed client
when one is active, else the local threads.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np

from .._core._moments import cross_moments as _block_cross_moments
from .._core._moments import row_moments as _block_row_moments

__all__ = ["as_row_blocks", "cross_moments", "row_moments"]


def as_row_blocks(X, name="X"):
    """``X`` (2-d dask array) with one chunk along the columns and known row chunks; an array
    in memory becomes one block."""
    if not isinstance(X, da.Array):
        X = np.asarray(X)
        X = da.from_array(X, chunks=X.shape if X.ndim == 2 else -1)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-d array (n_samples, n_features), got {X.ndim}-d.")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes (e.g. from a dask DataFrame): call "
            f"{name}.compute_chunk_sizes() or to_dask_array(lengths=True) first.")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be numeric, got dtype {X.dtype}.")
    return X.rechunk({1: -1}) if X.numblocks[1] > 1 else X


def along_rows(v, X, name):
    """1-d ``v`` (dask or in memory) as a dask array chunked like the rows of ``X``."""
    if v is None:
        return None
    if not isinstance(v, da.Array):
        v = np.asarray(v)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1 or v.shape[0] != X.shape[0]:
        raise ValueError(f"{name} must have shape ({X.shape[0]},) to match X, got {v.shape}.")
    if not isinstance(v, da.Array):
        return da.from_array(v, chunks=(X.chunks[0],))
    return v.rechunk((X.chunks[0],))


def _merge(a, b):
    with np.errstate(over="ignore", invalid="ignore"):  # errstate is per thread: set here
        return a.merge(b)


def _tree(parts):
    """Pairwise merge of delayed moments (depth log2 of the number of blocks)."""
    merge = dask.delayed(_merge, pure=True)
    while len(parts) > 1:
        nxt = [merge(a, b) for a, b in zip(parts[::2], parts[1::2], strict=False)]
        if len(parts) % 2:
            nxt.append(parts[-1])
        parts = nxt
    return parts[0]


def _finite(block, name):
    arr = np.asarray(block, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf.")
    return arr


def _row_block(U, name):
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: checked after the merge
        return _block_row_moments(_finite(U, name))


def row_moments(X, *, name="X"):
    """Moments of the rows of a dask array about their mean, reduced on the cluster.

    What :func:`skft.advice.estimate_spectrum` needs from unlabelled rows: their number ``N``,
    mean ``M``, scatter ``C = sum_i (u_i - M)(u_i - M)'`` (``d x d``) and the sums of
    ``||u_i - M||^2`` and ``||u_i - M||^4``, each row block reduced about its own mean and the
    blocks merged pairwise (exact; see :class:`RowMoments`). Memory: one row block plus
    ``O(d^2)`` per task.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
        Any row chunking; column chunks are merged into one (an array in memory: one block).
    name : str, default="X"
        The argument's name, for error messages.

    Returns
    -------
    RowMoments
        Fields ``n_rows``, ``mean``, ``scatter``, ``third`` (``sum ||u - M||^2 (u - M)``),
        ``norm2``, ``norm4``.

    Raises
    ------
    ValueError
        ``X`` not 2-d or not numeric, with unknown chunk sizes, with NaN / inf entries, or
        with entries whose squared sums overflow float64.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from skft.dask import row_moments
    >>> U = np.random.default_rng(0).standard_normal((1000, 5)) + 3.0
    >>> mom = row_moments(da.from_array(U, chunks=300))
    >>> mom.n_rows, bool(np.allclose(mom.scatter / (mom.n_rows - 1), np.cov(U.T)))
    (1000, True)
    """
    X = as_row_blocks(X, name)
    row = dask.delayed(_row_block, pure=True)
    parts = [row(b, name) for b in X.to_delayed().ravel()]
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: checked below
        mom = dask.compute(_tree(parts))[0]
    if not (np.all(np.isfinite(mom.scatter)) and np.isfinite(mom.norm2)):
        raise ValueError(
            f"{name} has entries too large for float64 Gram matrices (the sums of their "
            f"squares overflow); rescale {name} (e.g. with StandardScaler).")
    return mom


def _cross_block(Xb, yb, sb, encode, coef, intercept, name):
    Xb = _finite(Xb, name)
    Y = encode(np.asarray(yb)) if encode is not None else np.asarray(yb, dtype=np.float64)
    Y = Y.reshape(Xb.shape[0], -1)
    if sb is not None:
        sb = np.asarray(sb, dtype=np.float64)
        if np.any(sb < 0) or not np.all(np.isfinite(sb)):
            raise ValueError("sample_weight must be finite and non-negative")
    if not np.all(np.isfinite(Y)):
        raise ValueError("y contains NaN or inf.")
    with np.errstate(over="ignore", invalid="ignore"):  # overflow: the solve refuses it
        return _block_cross_moments(Xb, Y - Xb @ coef - intercept[None, :], sb)


def cross_moments(X, y, coef, intercept, *, sample_weight=None, encode=None, name="X"):
    """Weighted moments of the rows of ``X`` and of the residuals ``Y - X coef - intercept``.

    Each row block gives :class:`CrossMoments` about its own weighted
    means, merged pairwise on the cluster: what the exact solver needs (``X'SX``, ``X'S r``,
    ``X's``, ``s'r``, ``sum s``) in ``O(d^2 + d k)`` memory per task.

    Parameters
    ----------
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array or array-like of shape (n_samples,) or (n_samples, n_targets)
        Rechunked to the row chunks of ``X``.
    coef : ndarray of shape (n_features, n_targets)
    intercept : ndarray of shape (n_targets,)
        The point whose residuals are reduced.
    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
    encode : callable, default=None
        Maps a block of ``y`` to its ``(n_block, n_targets)`` float targets (e.g. the
        classifier's -1/+1 coding); None: ``y`` as floats.
    name : str, default="X"

    Returns
    -------
    CrossMoments

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from skft.dask import cross_moments
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 3)); y = X @ [1.0, 2.0, 3.0]
    >>> mom = cross_moments(da.from_array(X, chunks=100), y, np.zeros((3, 1)), np.zeros(1))
    >>> bool(np.allclose(np.linalg.solve(mom.scatter_xx, mom.scatter_xr).ravel(), [1, 2, 3]))
    True
    """
    X = as_row_blocks(X, name)
    ymat = y if getattr(y, "ndim", np.ndim(y)) == 2 and y.shape[1] > 1 else None
    if ymat is not None:
        if not isinstance(ymat, da.Array):
            ymat = da.from_array(np.asarray(ymat), chunks=(X.chunks[0], -1))
        yb = ymat.rechunk((X.chunks[0], -1)).to_delayed()[:, 0]
    else:
        yb = along_rows(y, X, "y").to_delayed()
    sw = along_rows(sample_weight, X, "sample_weight")
    sb = [None] * len(yb) if sw is None else sw.to_delayed()
    coef = dask.delayed(np.asarray(coef, dtype=np.float64), pure=True)
    intercept = dask.delayed(np.asarray(intercept, dtype=np.float64), pure=True)
    block = dask.delayed(_cross_block, pure=True)
    parts = [block(xb, b, s, encode, coef, intercept, name)
             for xb, b, s in zip(X.to_delayed()[:, 0], yb, sb, strict=True)]
    with np.errstate(over="ignore", invalid="ignore"):
        return dask.compute(_tree(parts))[0]
