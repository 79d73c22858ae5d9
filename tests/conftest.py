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
