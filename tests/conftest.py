"""Test configuration: deterministic property-based tests in CI; a dask cluster fixture."""

import os

import pytest
from hypothesis import settings

# CI runs the same examples every time (no example database, a fixed seed), so that a run is
# reproducible; locally hypothesis explores new examples on each run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="module")
def client():
    """A ``dask.distributed`` client on a LocalCluster of 2 single-threaded in-process workers,
    started and stopped once per test module (skipped without the extra skft[dask])."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None, memory_limit="1GiB") as cluster:
        with distributed.Client(cluster) as c:
            yield c


@pytest.fixture(scope="module")
def one_blas_thread():
    """One BLAS thread in every pool for a module of simulations (many small factorisations
    and solver steps: a second thread only adds wake-ups, and on a loaded 2-core machine a
    multithreaded 250 x 250 QR was measured at 0.85 s instead of ~10 ms)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
