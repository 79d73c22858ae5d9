"""Many independent tasks (one per seed, per problem, per case) on a dask cluster."""

from __future__ import annotations

from ..utils._progress import progress_bar
from ._partial import _client

__all__ = ["map_tasks"]


def map_tasks(func, items, *, client=None, progress=True, desc="tasks"):
    """``[func(item) for item in items]``, one dask task per item, with a progress bar.

    With a ``dask.distributed`` client (given, or the active default one) each call is a task
    on the cluster and the bar advances as tasks finish, in any order; without one the calls
    run here, one after the other, with the same bar. The results come back in the order of
    ``items`` either way, so a computation seeded by its item gives the same list locally and
    on any cluster. The first task to fail raises its exception here (the others are
    cancelled).

    Parameters
    ----------
    func : callable
        Called as ``func(item)``; with a cluster it is pickled to the workers (a module-level
        function or a ``functools.partial`` of one).
    items : iterable
        One task per item (e.g. seeds, or ``(case, seed)`` tuples).
    client : distributed.Client, None or False, default=None
        None: the active default client if there is one, else run here; False: run here.
    progress : bool, default=True
        Show a progress bar (tqdm when installed, else a plain counter on stderr).
    desc : str, default="tasks"
        Label of the bar.

    Returns
    -------
    list
        ``func(item)`` for each item, in order.

    Examples
    --------
    >>> from skft.dask import map_tasks
    >>> map_tasks(abs, [-1, 2, -3], progress=False)
    [1, 2, 3]
    """
    items = list(items)
    bar = progress_bar(len(items), desc, enable=progress)
    client = _client() if client is None else client
    try:
        if client is None or client is False:
            out = []
            for item in items:
                out.append(func(item))
                bar.update()
            return out
        from distributed import as_completed

        futures = client.map(func, items, pure=False)
        try:
            for fut in as_completed(futures, loop=client.loop):
                if fut.status == "error":
                    fut.result()  # raises the task's exception
                bar.update()
        except BaseException:
            client.cancel(futures)
            raise
        return client.gather(futures)
    finally:
        bar.close()
