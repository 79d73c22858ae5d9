"""Progress (issue 12): ``verbose`` on ``should_finetune`` and the estimators, progress bars.

Each test runs the real call and reads what it printed (pytest's ``capsys``): the stages
that ran, with their timings, and nothing at all with ``verbose=0``.
"""

import io
import re
import sys
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor, should_finetune
from skft.datasets import make_transfer_classification, make_transfer_regression
from skft.utils._progress import progress_bar

TIMED = re.compile(r"done in \d+\.\d\d s")


def _quiet_call(fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.fixture(scope="module")
def reg():
    X, y, truth = make_transfer_regression(60, 120, random_state=0)
    U = make_transfer_regression(300, 120, random_state=1)[0]
    return truth.coef_init, X, y, U


def test_should_finetune_verbose_prints_every_stage_on_stderr(reg, capsys):
    w0, X, y, U = reg
    advice = _quiet_call(lambda: should_finetune(w0, X, y, X_unlabeled=U, verbose=1))
    out, err = capsys.readouterr()
    assert out == ""  # results on stdout stay clean
    lines = err.splitlines()
    assert all(line.startswith("should_finetune: [") and TIMED.search(line) for line in lines)
    for stage in ("validation", "exact duplicate rows", "factorisation of the 'free' design",
                  "factorisation of the 'augmented' design", "moments of the unlabelled rows",
                  "spectrum of the 'free' design", "shift profile of the 'augmented' design",
                  "near-duplicate rows", "leave-one-out", "assumption checks",
                  "recommended alpha"):
        assert sum(stage in line for line in lines) >= 1, (stage, err)
    assert "regression, n=60, d=120, 300 unlabelled rows" in err
    # the same advice as without verbose
    quiet = _quiet_call(lambda: should_finetune(w0, X, y, X_unlabeled=U))
    assert quiet.finetuned_error == advice.finetuned_error


def test_should_finetune_verbose_0_prints_nothing(reg, capsys):
    w0, X, y, U = reg
    _quiet_call(lambda: should_finetune(w0, X, y, X_unlabeled=U, verbose=0))
    Xc, yc, truth = make_transfer_classification(60, 80, random_state=0)
    _quiet_call(lambda: should_finetune(truth.coef_init, Xc, yc, verbose=False))
    assert capsys.readouterr() == ("", "")


def test_should_finetune_verbose_2_announces_stages_classification(capsys):
    X, y, truth = make_transfer_classification(60, 80, random_state=0)
    _quiet_call(lambda: should_finetune(truth.coef_init, X, y, verbose=2))
    err = capsys.readouterr().err
    started = [line for line in err.splitlines() if line.endswith(" ...")]
    finished = [line for line in err.splitlines() if TIMED.search(line)]
    assert len(started) == len(finished) >= 7
    for stage in ("factorisation and leave-one-out along", "class-mean norm calibrated",
                  "moments and spectrum", "assumption checks"):
        assert stage in err, err


def test_should_finetune_verbose_names_the_class_of_each_one_vs_rest_problem(capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((90, 40))
    y = rng.integers(0, 3, 90)
    coef = rng.standard_normal((3, 40)) * 0.1
    _quiet_call(lambda: should_finetune(coef, X, y, task="classification", verbose=1))
    err = capsys.readouterr().err
    for k in range(3):
        assert f"should_finetune [class {k} vs rest]: [" in err, err


@pytest.mark.parametrize("bad", [-1, 1.5, "yes"])
def test_should_finetune_bad_verbose_is_refused_by_name(reg, bad):
    w0, X, y, _ = reg
    with pytest.raises(ValueError, match="verbose"):
        should_finetune(w0, X, y, verbose=bad)


def test_exact_solver_prints_its_stages(capsys):
    X, y, truth = make_transfer_regression(50, 80, random_state=0)
    WarmStartSGDRegressor(truth.coef_init, solver="exact", verbose=1).fit(X, y)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith("-- solver='exact': 'exact' (n_samples=50, n_features=80")
    assert any(line.startswith("-- Gram matrix (kernel side, 50 x 50") for line in lines)
    assert any("Cholesky factorisation accepted" in line for line in lines)
    assert lines[-1].startswith("-- exact solver done (cholesky on the kernel side")


def test_exact_solver_reports_its_fallback(capsys):
    # duplicated rows, alpha = 0, n < d: the kernel is singular, Cholesky is refused and the
    # pseudo-inverse tier answers (the module docstring's tier 2)
    X, y, truth = make_transfer_regression(30, 80, random_state=0)
    X2, y2 = np.vstack([X, X]), np.r_[y, y]
    est = WarmStartSGDRegressor(truth.coef_init, solver="exact", verbose=1).fit(X2, y2)
    out = capsys.readouterr().out
    assert "Cholesky factorisation not accepted" in out
    assert "fallback: pseudo-inverse of the Gram matrix (eigh) accepted" in out
    assert "exact solver done (eigh" in out
    quiet = WarmStartSGDRegressor(truth.coef_init, solver="exact").fit(X2, y2)
    np.testing.assert_array_equal(quiet.coef_, est.coef_)


def test_estimators_verbose_0_print_nothing(capsys):
    X, y, truth = make_transfer_classification(60, 40, random_state=0)
    WarmStartSGDRegressor(truth.coef_init, solver="exact").fit(X, y)
    WarmStartSGDRegressor(truth.coef_init, solver="sgd", max_iter=5, tol=None).fit(X, y)
    WarmStartSGDClassifier(truth.coef_init, solver="exact", loss="log_loss", alpha=0.1).fit(X, y)
    assert capsys.readouterr() == ("", "")


def test_sgd_and_convex_solvers_print_their_summary(capsys):
    X, y, truth = make_transfer_classification(60, 40, random_state=0)
    with pytest.warns(ConvergenceWarning):  # 3 epochs are not enough: fine here
        WarmStartSGDRegressor(truth.coef_init, solver="sgd", max_iter=3, verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "-- Epoch 1:" in out and "-- SGD done (" in out
    WarmStartSGDClassifier(truth.coef_init, solver="exact", loss="log_loss", alpha=0.1,
                           verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "-- exact solver done (Newton / active set for loss='log_loss'" in out


# ------------------------------------------------------------------ progress bars
def test_progress_bar_without_tqdm_is_a_plain_counter(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm fails as when not installed
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    stream = io.StringIO()
    bar = progress_bar(3, "seeds", file=stream)
    for _ in range(3):
        bar.update()
    bar.close()
    text = stream.getvalue()
    assert "seeds: 3/3 [" in text and text.endswith("\n")
    assert type(bar).__name__ == "_Counter"


def test_progress_bar_disabled_prints_nothing(capsys):
    bar = progress_bar(4, "cases", enable=False)
    bar.update(4)
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_progress_bar_uses_tqdm_when_installed():
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    bar = progress_bar(2, "families", file=stream)
    bar.update(2)
    bar.close()
    assert "families" in stream.getvalue() and "2/2" in stream.getvalue()
