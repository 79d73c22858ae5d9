"""Scaling skft out with Dask (the optional extra ``pip install "skft[dask]"``).

What runs where:

- ``WarmStartSGDRegressor(...).fit(X, y)`` / ``WarmStartSGDClassifier`` with ``X`` a dask array
  (squared loss, ``n_samples >> n_features``): the exact solver's moments reduced on the
  cluster (:func:`cross_moments`), the small solve local; the point ``fit`` computes in memory.
- ``should_finetune(..., X_unlabeled=U)`` / :func:`skft.advice.estimate_spectrum` with ``U`` a
  dask array: the ``d x d`` Gram of the unlabelled rows reduced on the cluster
  (:func:`row_moments`), the same advice as in memory.
- :func:`partial_fit_chunks`: ``partial_fit`` over the row blocks of a dask array.
- :func:`map_tasks`: independent tasks (one per seed) on a cluster, with a progress bar.
- Model selection: ``GridSearchCV`` / ``cross_validate`` of skft estimators run under
  ``joblib.parallel_backend("dask")`` as any scikit-learn estimator, with identical results.

Importing this module imports dask; ``import skft`` never does.
"""

from ..utils._dask_compat import import_dask

import_dask("dask.array", feature="skft.dask")

from .._core._moments import CrossMoments, RowMoments  # noqa: E402
from ._partial import partial_fit_chunks  # noqa: E402
from ._reduce import cross_moments, row_moments  # noqa: E402
from ._tasks import map_tasks  # noqa: E402

__all__ = [
    "CrossMoments",
    "RowMoments",
    "cross_moments",
    "map_tasks",
    "partial_fit_chunks",
    "row_moments",
]
