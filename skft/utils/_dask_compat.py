"""Is this a dask array? And a clear error when the ``skft[dask]`` extra is missing.

Nothing here imports dask: skft never imports it at import time. A dask array can only exist
once ``dask.array`` has been imported by its creator, so looking it up in ``sys.modules`` is
enough to recognise one.
"""

import importlib
import sys

__all__ = ["DASK_EXTRA", "import_dask", "is_dask_array"]

DASK_EXTRA = 'pip install "skft[dask]"'


def is_dask_array(obj):
    """True when ``obj`` is a ``dask.array.Array`` (without importing dask)."""
    mod = sys.modules.get("dask.array")
    return mod is not None and isinstance(obj, mod.Array)


def import_dask(module="dask.array", *, feature="this"):
    """Import ``module`` (a dask module), or raise an ImportError naming the extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{feature} needs dask ({module} could not be imported: {exc}); install the "
            f"optional extra with: {DASK_EXTRA}") from exc
