"""``partial_fit`` over the row blocks of a dask array, one block in memory at a time."""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from sklearn.base import is_classifier

from ._reduce import along_rows, as_row_blocks

__all__ = ["partial_fit_chunks"]


def _client():
    """The active ``dask.distributed`` client, or None (then dask's local scheduler)."""
    try:
        from distributed import default_client
    except ImportError:  # pragma: no cover - dask without distributed
        return None
    try:
        return default_client()
    except ValueError:
        return None


def partial_fit_chunks(estimator, X, y, *, classes=None, sample_weight=None, n_passes=1,
                       shuffle_blocks=False, random_state=None, callback=None):
    """Call ``estimator.partial_fit`` on each row block of a dask array, ``n_passes`` times.

    The blocks are computed one at a time on dask's current scheduler (with a distributed
    client, the next block is computed on the cluster while the estimator learns from the
    current one), so the client holds at most two blocks in memory. For the warm-start
    estimators each call is one SGD epoch over the block (shuffled within it when the
    estimator's ``shuffle`` is True) continuing the step-size schedule; a pass over all blocks
    is therefore one epoch over ``X``, and ``n_passes`` passes follow the SGD of
    ``partial_fit`` on the whole data up to the order of the rows.

    Which point is reached: ``partial_fit`` keeps the schedule's step (``adaptive`` stays at
    ``eta0``, as in scikit-learn), so with consistent targets (``y`` in the span of the
    features) the iterate converges linearly to the exact limit of ``solver="exact"``, and
    with noisy targets it settles in SGD's noise ball around it, of size ``O(eta0)``; a
    decreasing step (``learning_rate="invscaling"``, ``"optimal"``) or ``average=True``
    brings it to the limit. ``fit`` on the dask array computes that limit directly (squared
    loss).

    Parameters
    ----------
    estimator : estimator with ``partial_fit``
        Updated in place (any scikit-learn incremental estimator works).
    X : dask.array.Array of shape (n_samples, n_features)
    y : dask.array.Array or array-like of shape (n_samples,)
        Rechunked to the row chunks of ``X``.
    classes : array-like, default=None
        Passed to every ``partial_fit`` call of a classifier; when None and the classifier is
        not fitted yet, the distinct labels of ``y`` (computed on the cluster).
    sample_weight : dask.array.Array or array-like of shape (n_samples,), default=None
    n_passes : int, default=1
        Passes over all the blocks.
    shuffle_blocks : bool, default=False
        Visit the blocks in a new random order at each pass.
    random_state : int, numpy.random.Generator or None, default=None
        Seed of the block orders.
    callback : callable, default=None
        ``callback(pass_index, estimator)`` after each pass (e.g. to record the iterates).

    Returns
    -------
    estimator
        The same object.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from skft import WarmStartSGDRegressor
    >>> from skft.dask import partial_fit_chunks
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((2000, 5)); y = X @ [1.0, -1.0, 2.0, 0.5, 0.0]
    >>> Xd = da.from_array(X, chunks=(500, 5))
    >>> est = WarmStartSGDRegressor(np.zeros(5), fit_intercept=False, random_state=0)
    >>> est = partial_fit_chunks(est, Xd, y, n_passes=5)
    >>> np.round(est.coef_, 3).tolist()
    [1.0, -1.0, 2.0, 0.5, 0.0]
    """
    if not isinstance(X, da.Array):
        raise TypeError(f"X must be a dask array, got {type(X).__name__}; for arrays in memory "
                        "call estimator.partial_fit directly.")
    if int(n_passes) != n_passes or n_passes < 1:
        raise ValueError(f"n_passes must be an integer >= 1, got {n_passes!r}.")
    X = as_row_blocks(X, "X")
    y = along_rows(y, X, "y")
    sw = along_rows(sample_weight, X, "sample_weight")
    kwargs = {}
    if is_classifier(estimator):
        if classes is None and not hasattr(estimator, "classes_"):
            classes = da.unique(y).compute()
        if classes is not None:
            kwargs["classes"] = classes
    blocks = list(zip(X.to_delayed()[:, 0], y.to_delayed(),
                      [None] * X.numblocks[0] if sw is None else sw.to_delayed(), strict=True))
    rng = np.random.default_rng(random_state)
    order = [i for _ in range(int(n_passes)) for i in
             (rng.permutation(len(blocks)) if shuffle_blocks else range(len(blocks)))]
    client = _client()

    def load(i):
        parts = [b for b in blocks[i] if b is not None]
        return client.compute(parts) if client is not None else parts

    pending = load(order[0])
    for step in range(len(order)):
        parts = client.gather(pending) if client is not None else dask.compute(*pending)
        if step + 1 < len(order):
            pending = load(order[step + 1])  # computed on the cluster meanwhile
        Xb, yb = np.asarray(parts[0]), np.asarray(parts[1])
        fit_kw = dict(kwargs)
        if sw is not None:
            fit_kw["sample_weight"] = np.asarray(parts[2])
        estimator.partial_fit(Xb, yb, **fit_kw)
        if callback is not None and (step + 1) % len(blocks) == 0:
            callback((step + 1) // len(blocks) - 1, estimator)
    return estimator
