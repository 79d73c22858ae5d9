"""Test configuration: deterministic property-based tests in CI."""

import os

from hypothesis import settings

# CI runs the same examples every time (no example database, a fixed seed), so that a run is
# reproducible; locally hypothesis explores new examples on each run.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
