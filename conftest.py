"""Collection rules for the whole repository (tests/ has its own conftest.py)."""

import importlib.util

# skft.dask needs the optional extra skft[dask]: without it, its doctests are not collected
# (its tests skip themselves with pytest.importorskip)
_HAS_DASK = all(importlib.util.find_spec(m) for m in ("dask", "distributed"))
collect_ignore = [] if _HAS_DASK else ["skft/dask"]
