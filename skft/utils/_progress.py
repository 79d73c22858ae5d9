"""A progress bar: tqdm when installed (it comes with ``skft[dask]``), else a plain counter."""

from __future__ import annotations

import sys
import time

__all__ = ["progress_bar"]


class _Counter:
    """``desc: k/total [elapsed]`` rewritten in place on stderr (the fallback without tqdm)."""

    def __init__(self, total, desc, file):
        self.total, self.desc, self.file = total, desc, file
        self.n, self.start = 0, time.perf_counter()
        self._show()

    def _show(self):
        elapsed = time.perf_counter() - self.start
        end = "\n" if self.n >= self.total else ""
        print(f"\r{self.desc}: {self.n}/{self.total} [{elapsed:.1f} s]", end=end,
              file=self.file, flush=True)

    def update(self, k=1):
        self.n += k
        self._show()

    def close(self):
        if self.n < self.total:
            print(file=self.file, flush=True)


class _Silent:
    def update(self, k=1):
        pass

    def close(self):
        pass


def progress_bar(total, desc="tasks", enable=True, file=None):
    """An object with ``update(k=1)`` and ``close()`` counting ``total`` steps.

    ``enable=False``: does nothing. Otherwise tqdm's bar when tqdm is importable (it comes
    with ``skft[dask]``), else a plain ``desc: k/total [elapsed]`` line rewritten on ``file``
    (default stderr): never an ImportError.

    Examples
    --------
    >>> import io
    >>> from skft.utils._progress import progress_bar
    >>> bar = progress_bar(3, "seeds", enable=False)
    >>> for _ in range(3):
    ...     bar.update()
    >>> bar.close()
    """
    if not enable:
        return _Silent()
    file = sys.stderr if file is None else file
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Counter(total, desc, file)
    return tqdm(total=total, desc=desc, file=file)
