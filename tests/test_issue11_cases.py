"""The cases of issue 11 that no other test pins down, each with its new behaviour.

(The others: tests/test_numerics.py, tests/linear_model/test_hostile_inputs.py,
tests/theory/test_scale_equivariance.py, tests/test_cli*.py, tests/test_properties.py.)
"""

import io
import json
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor, should_finetune
from skft._cli._main import main as cli_main
from skft.datasets import make_transfer_regression
from skft.theory import classification_optimal_alpha, optimal_alpha


@pytest.fixture(scope="module")
def advice_problem():
    X, y, truth = make_transfer_regression(100, 200, noise=0.5, shift=1.0, random_state=0)
    return X, y, truth.coef_init


@pytest.mark.parametrize("c", [1e18, 1e100, 1e-100])
def test_should_finetune_at_1e18_and_1e100_is_the_advice_at_scale_1(advice_problem, c):
    """Was: X * 1e18 a fine-tuned MSE of exactly 0 said with confidence, X * 1e100 the wrong
    decision. Now the same advice in the new units (the pull alpha in units of x^2)."""
    X, y, w0 = advice_problem
    ref = should_finetune(w0, X, y, alpha=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = should_finetune(w0 / c, X * c, y, alpha=0.1 * c * c)
    assert (got.finetune, got.confident) == (ref.finetune, ref.confident)
    assert got.finetuned_error.value > 0
    # c is not a power of two: X * c is rounded once (1e-16 per entry), the rest identical
    for name in ("pretrained_error", "finetuned_error"):
        assert getattr(got, name).value == pytest.approx(getattr(ref, name).value, rel=1e-6)
    assert got.recommended_alpha == pytest.approx(ref.recommended_alpha * c * c, rel=1e-5)
    assert got.loo_error == pytest.approx(ref.loo_error, rel=1e-6)


def test_should_finetune_at_1e160_is_refused_by_name(advice_problem):
    """Was: an OverflowError traceback. The pulls alpha (units of x^2, ~1e320) cannot be
    float64 numbers: a clear error naming X."""
    X, y, w0 = advice_problem
    with pytest.raises(ValueError, match=r"X has entries of magnitude up to .*overflow"):
        should_finetune(w0 / 1e160, X * 1e160, y)
    with pytest.raises(ValueError, match=r"^y: the pretrained residuals"):
        should_finetune(w0 * 1e160, X, y * 1e160)


def test_command_line_at_1e100_and_1e160(advice_problem, tmp_path):
    """Was: X ~1e160 exit 1 with a traceback. Now 1e100 answers (the same decision as at
    scale 1) and 1e160 is one line, exit 2."""
    X, y, w0 = advice_problem
    np.savetxt(tmp_path / "y.csv", y)
    ref = should_finetune(w0, X, y, intercept_init=0.0)
    for c, code_expected in ((1e100, 0), (1e160, 2)):
        np.save(tmp_path / "X.npy", X * c)
        np.save(tmp_path / "w0.npy", w0 / c)
        out, err = io.StringIO(), io.StringIO()
        code = cli_main(["advise", "--X", str(tmp_path / "X.npy"), "--y", str(tmp_path / "y.csv"),
                         "--coef", str(tmp_path / "w0.npy"), "--intercept", "0", "--json"],
                        stdout=out, stderr=err)
        assert code == code_expected, err.getvalue()
        if code == 0:
            assert json.loads(out.getvalue())["finetune"] == ref.finetune
        else:
            lines = err.getvalue().strip().splitlines()
            assert len(lines) == 1 and "X has entries of magnitude" in lines[0]


@pytest.mark.parametrize("c", [1e-8, 1e8])
def test_sgd_with_features_far_from_the_intercept_scale(c):
    """Was: features ~1e8 or ~1e-8 with an intercept, SGD stopped far from its limit and
    warned nothing. With a unique minimiser it now runs on the rescaled problem and reaches
    the exact limit; where the limit depends on the scale (alpha = 0, n < d) it warns."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 10))
    y = X @ rng.standard_normal(10) + 3.0 + 0.1 * rng.standard_normal(200)
    exact = WarmStartSGDRegressor(solver="exact").fit(X * c, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning: it converges
        sgd = WarmStartSGDRegressor(solver="sgd", random_state=0).fit(X * c, y)
    # SGD stops at a relative change of tol = 1e-6 per epoch: its distance to the limit
    np.testing.assert_allclose(sgd.predict(X * c), exact.predict(X * c), rtol=0, atol=1e-3)
    labels = np.where(y > np.median(y), 1, -1)
    clf = WarmStartSGDClassifier(solver="sgd", random_state=0).fit(X * c, labels)
    ref = WarmStartSGDClassifier(solver="exact").fit(X * c, labels)
    assert np.mean(clf.predict(X * c) == ref.predict(X * c)) >= 0.99
    Xw = rng.standard_normal((20, 60)) * c
    with pytest.warns(ConvergenceWarning, match="intercept's constant feature 1"):
        WarmStartSGDRegressor(solver="sgd", max_iter=5, tol=None).fit(Xw, rng.standard_normal(20))


def test_sgd_with_offset_features_converges_or_warns():
    """Feature means 1000 standard deviations off 0 with an intercept: centred by SGD when
    least squares is unique (then its limit), else a ConvergenceWarning."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 5)) + 1000.0
    y = X @ rng.standard_normal(5) + 0.1 * rng.standard_normal(100)
    exact = WarmStartSGDRegressor(solver="exact").fit(X, y)
    sgd = WarmStartSGDRegressor(solver="sgd", random_state=0).fit(X, y)
    np.testing.assert_allclose(sgd.predict(X), exact.predict(X), atol=1e-3)
    Xw = rng.standard_normal((10, 30)) + 1000.0
    with pytest.warns(ConvergenceWarning, match="standard deviations off 0"):
        WarmStartSGDRegressor(solver="sgd", max_iter=5, tol=None).fit(Xw, rng.standard_normal(10))


def test_exact_solver_keeps_the_start_on_columns_the_data_do_not_see():
    """A zero column (or a constant one beside the intercept) at alpha = 0 with more samples
    than coordinates: SGD never moves its coefficient away from the start (or shares the
    move with the intercept); the exact solver returned 0 there (a silent wrong model on new
    data). Reference: lstsq's minimum-norm change on the augmented design."""
    rng = np.random.default_rng(2)
    X = rng.standard_normal((50, 5))
    y = rng.standard_normal(50) + 2.0
    w0, b0 = np.arange(1.0, 6.0), 0.5
    for column, fit_intercept in ((0.0, False), (3.5, True)):
        Xc = X.copy()
        Xc[:, 3] = column
        A = np.hstack([Xc, np.ones((50, 1))]) if fit_intercept else Xc
        u = np.linalg.lstsq(A, y - Xc @ w0 - b0, rcond=None)[0]
        est = WarmStartSGDRegressor(w0, b0, solver="exact",
                                    fit_intercept=fit_intercept).fit(Xc, y)
        np.testing.assert_allclose(est.coef_, w0 + u[:5], rtol=1e-10)
        if fit_intercept:
            assert est.intercept_[0] == pytest.approx(b0 + u[5], rel=1e-10)


def test_messages_name_the_users_argument():
    """Was: "delta must be finite" for a non-finite coef_star, numpy's "Number of samples,
    -1, must be non-negative." for n_grid."""
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 8)), rng.standard_normal(30)
    est = WarmStartSGDRegressor(np.zeros(8)).fit(X, y)
    with pytest.raises(ValueError, match="^coef_star must be finite"):
        est.predict_asymptotic_error(covariance=np.ones(8), noise_var=0.1,
                                     coef_star=np.full(8, np.inf))
    for fn, args in ((optimal_alpha, (np.ones(5), np.ones(5), 0.1, 10)),
                     (classification_optimal_alpha, (np.ones(5), np.ones(5), np.ones(5), 10))):
        with pytest.raises(ValueError, match="^n_grid must be an integer >= 2, got -1"):
            fn(*args, n_grid=-1)
    with pytest.raises(ValueError, match="^X has fewer than 3 distinct rows"):
        should_finetune(np.zeros(8), np.tile(X[:1], (30, 1)), y)


def test_huge_labels_give_no_warning_from_the_task_detection():
    """y ~1e19: scikit-learn's type_of_target casts it to int (a RuntimeWarning)."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((30, 8))
    y = (X @ rng.standard_normal(8) + rng.standard_normal(30)) * 2.0**63
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        advice = should_finetune(np.zeros(8), X, y)
    assert advice.task == "regression" and np.isfinite(advice.finetuned_error.value)


def test_negative_numbers_in_scientific_notation_on_the_command_line(tmp_path):
    """``--intercept -1e-05`` was "expected one argument" (argparse took it for an option)."""
    X, y, truth = make_transfer_regression(40, 20, random_state=5)
    np.save(tmp_path / "X.npy", X)
    np.savetxt(tmp_path / "y.csv", y)
    np.save(tmp_path / "w0.npy", truth.coef_init)
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["advise", "--X", str(tmp_path / "X.npy"), "--y", str(tmp_path / "y.csv"),
                     "--coef", str(tmp_path / "w0.npy"), "--intercept", "-1e-05", "--json"],
                    stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert json.loads(out.getvalue())["intercept_init"] == -1e-05
