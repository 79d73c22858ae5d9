"""skft without dask: nothing imports it, and asking for a dask path names the extra."""

import subprocess
import sys

_NO_DASK = "import sys; sys.modules['dask'] = None; sys.modules['distributed'] = None; "


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_import_skft_never_imports_dask():
    out = _run("import sys, skft, skft.advice, skft.linear_model, skft.plotting, skft.theory; "
               "print(sorted(m for m in sys.modules if m.split('.')[0] in "
               "('dask', 'distributed')))")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_without_dask_everything_else_works_and_skft_dask_names_the_extra():
    code = _NO_DASK + (
        "import numpy as np; from skft import WarmStartSGDRegressor, should_finetune; "
        "rng = np.random.default_rng(0); X = rng.standard_normal((50, 20)); y = X[:, 0]; "
        "WarmStartSGDRegressor(np.zeros(20)).fit(X, y); "
        "should_finetune(np.zeros(20), X, y, X_unlabeled=X); "
        "import skft.dask")
    out = _run(code)
    assert out.returncode != 0
    assert "ImportError" in out.stderr
    assert 'pip install "skft[dask]"' in out.stderr
