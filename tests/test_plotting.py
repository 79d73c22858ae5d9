"""FinetuneCurveDisplay: the drawn data are the theory's arrays, crossings where they cross."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor, should_finetune  # noqa: E402
from skft.advice import estimate_asymptotic_error  # noqa: E402
from skft.datasets import make_transfer_classification, make_transfer_regression  # noqa: E402
from skft.plotting import FinetuneCurveDisplay  # noqa: E402
from skft.theory import (  # noqa: E402
    classification_error,
    finetune_helps_intervals,
    isotropic_threshold,
    optimal_alpha,
    regression_risk,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def line_xy(line):
    return np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)


def test_from_theory_regression_draws_the_risk_and_exact_crossings():
    d, noise_var = 300, 0.3
    delta = np.full(d, 1 / np.sqrt(d))  # ||delta||^2 = 1, isotropic
    n = np.geomspace(10, 3000, 120)
    delta_before = delta.copy()
    disp = FinetuneCurveDisplay.from_theory(np.ones(d), delta=delta, noise_var=noise_var,
                                            n_samples=n)
    risk = regression_risk(np.ones(d), delta, noise_var, n)
    x, y = line_xy(disp.lines_["finetuned"])
    np.testing.assert_array_equal(x, n)
    np.testing.assert_allclose(y, np.where(np.isfinite(risk.finetuned), risk.finetuned, np.nan))
    x, y = line_xy(disp.lines_["pretrained"])
    np.testing.assert_allclose(y, np.full(n.size, risk.pretrained))
    # crossings at d (1 -+ s2/||delta||^2), the closed form, drawn on the pretrained level
    expected = [e for iv in isotropic_threshold(d, 1.0, noise_var).intervals for e in iv
                if 0 < e < np.inf]
    cx, cy = line_xy(disp.crossings_)
    np.testing.assert_allclose(cx, expected, rtol=1e-8)
    np.testing.assert_allclose(cy, risk.pretrained)
    assert "recommended" not in disp.lines_
    assert disp.ax_.get_xscale() == "log" and disp.figure_ is disp.ax_.figure
    np.testing.assert_array_equal(delta, delta_before)


def test_from_theory_recommended_curve_is_the_risk_at_the_optimal_alpha():
    X, y, truth = make_transfer_regression(10, 200, spectrum="bilevel", noise=0.7,
                                           random_state=0)
    n = np.geomspace(20, 1000, 60)
    disp = FinetuneCurveDisplay.from_theory(truth.covariance, delta=truth.delta,
                                            noise_var=truth.noise_var, n_samples=n,
                                            alpha=0.05, recommended_at=100)
    best = optimal_alpha(truth.covariance, truth.delta, truth.noise_var, 100)
    assert disp.recommended_alpha == pytest.approx(best.alpha)
    _, y_rec = line_xy(disp.lines_["recommended"])
    np.testing.assert_allclose(
        y_rec, regression_risk(truth.covariance, truth.delta, truth.noise_var, n,
                               best.alpha).finetuned)
    _, y_ft = line_xy(disp.lines_["finetuned"])
    np.testing.assert_allclose(
        y_ft, regression_risk(truth.covariance, truth.delta, truth.noise_var, n, 0.05).finetuned)
    helps = finetune_helps_intervals(truth.covariance, truth.delta, truth.noise_var, 0.05,
                                     n_max=n.max())
    ends = [e for iv in helps.intervals for e in iv if n.min() <= e <= n.max()]
    got = [] if disp.crossings_ is None else list(disp.crossings_.get_xdata())
    np.testing.assert_allclose(got, ends)


def test_from_theory_classification():
    _, _, truth = make_transfer_classification(10, 150, separation=1.5, shift=2.0,
                                               random_state=0)
    n = np.geomspace(10, 1500, 80)
    disp = FinetuneCurveDisplay.from_theory(truth.covariance, mean=truth.mean,
                                            coef_init=truth.coef_init, n_samples=n)
    err = classification_error(truth.covariance, truth.mean, truth.coef_init, n)
    _, y = line_xy(disp.lines_["finetuned"])
    np.testing.assert_allclose(y, err.finetuned)
    _, y = line_xy(disp.lines_["pretrained"])
    np.testing.assert_allclose(y, err.pretrained)
    assert disp.ax_.get_ylabel() == "test error rate"
    # at each crossing the error curve changes side of the pretrained level
    for c in disp.crossings_.get_xdata():
        lo, hi = classification_error(truth.covariance, truth.mean, truth.coef_init,
                                      [c * 0.98, c * 1.02]).finetuned
        assert (lo - err.pretrained) * (hi - err.pretrained) < 0 or c == pytest.approx(150)


def test_from_advice_draws_the_advice_curves():
    X, y, truth = make_transfer_regression(120, 300, noise=0.5, shift=1.0, random_state=2)
    advice = should_finetune(truth.coef_init, X, y, fit_intercept=False)
    fig, ax = plt.subplots()
    disp = FinetuneCurveDisplay.from_advice(advice, ax=ax)
    assert disp.ax_ is ax and disp.figure_ is fig
    x, y_ft = line_xy(disp.lines_["finetuned"])
    np.testing.assert_array_equal(x, advice.curve_n)
    np.testing.assert_allclose(y_ft, np.where(np.isfinite(advice.curve_finetuned),
                                              advice.curve_finetuned, np.nan))
    _, y_pre = line_xy(disp.lines_["pretrained"])
    np.testing.assert_allclose(y_pre, advice.pretrained_error.value)
    if advice.recommended_alpha != advice.alpha:
        _, y_rec = line_xy(disp.lines_["recommended"])
        np.testing.assert_allclose(y_rec, advice.curve_recommended)
    ends = sorted({e for iv in advice.helps_intervals for e in iv
                   if 0 < e < np.inf and x.min() <= e <= x.max()})
    np.testing.assert_allclose(disp.crossings_.get_xdata(), ends)
    assert "should_finetune" in disp.ax_.get_title()


def test_from_estimator_regressor_and_classifier_match_estimate_asymptotic_error():
    X, y, truth = make_transfer_regression(80, 160, noise=0.5, random_state=3)
    est = WarmStartSGDRegressor(truth.coef_init, alpha=0.1).fit(X, y)
    n = np.array([20.0, 50.0, 100.0, 400.0])
    disp = FinetuneCurveDisplay.from_estimator(est, X, y, n_samples=n)
    ref = estimate_asymptotic_error(truth.coef_init, 0.0, X, y, alpha=0.1, n_samples=n,
                                    task="regression")
    np.testing.assert_allclose(line_xy(disp.lines_["finetuned"])[1], ref.finetuned)
    np.testing.assert_allclose(line_xy(disp.lines_["pretrained"])[1], ref.pretrained)
    assert disp.ax_.get_title() == "WarmStartSGDRegressor"

    Xc, yc, tc = make_transfer_classification(80, 120, separation=2.0, random_state=0)
    labels = np.where(yc > 0, "b", "a")
    clf = WarmStartSGDClassifier(tc.coef_init, fit_intercept=False).fit(Xc, labels)
    disp = FinetuneCurveDisplay.from_estimator(clf, Xc, labels, n_samples=n)
    ref = estimate_asymptotic_error(tc.coef_init, 0.0, Xc, labels, n_samples=n,
                                    task="classification", fit_intercept=False)
    np.testing.assert_allclose(line_xy(disp.lines_["finetuned"])[1], ref.finetuned)
    assert disp.ax_.get_ylabel() == "test error rate"


def test_plot_simulated_points_and_interpolated_crossings():
    n = np.array([10.0, 20.0, 40.0, 80.0])
    disp = FinetuneCurveDisplay(n, 1.0, [0.5, 1.5, np.inf, 0.5], simulated_n=[20, 40],
                                simulated_error=[1.4, 2.0], simulated_std=[0.1, 0.2])
    disp.plot(log_x=False, simulated_kw={"label": "measured"})
    line = disp.errorbar_.lines[0]
    np.testing.assert_array_equal(line.get_xdata(), [20, 40])
    np.testing.assert_array_equal(line.get_ydata(), [1.4, 2.0])
    # 0.5 -> 1.5 crosses 1 at 15; the peak (inf) -> 0.5 crosses at the infinite point
    np.testing.assert_allclose(disp.crossings_.get_xdata(), [15.0, 40.0])
    assert np.isnan(disp.lines_["finetuned"].get_ydata()[2])
    assert disp.ax_.get_xscale() == "linear"
    assert disp.ax_.get_ylim()[1] == pytest.approx(1.05 * 2.2)  # top of the error bars
    labels = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert "measured" in labels


def test_no_crossing_when_the_curves_do_not_meet():
    disp = FinetuneCurveDisplay([1, 2, 3], [1.0, 1.0, 1.0], [0.5, 0.4, 0.3]).plot()
    assert disp.crossings_ is None


def test_peak_is_clipped_at_three_times_the_pretrained_error():
    disp = FinetuneCurveDisplay([1, 2, 3], 1.0, [0.5, 50.0, 0.3]).plot()
    assert disp.ax_.get_ylim() == pytest.approx((0.0, 1.05 * 3.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_samples=[3, 2, 1]), "strictly increasing"),
        (dict(n_samples=[1.0]), "at least 2"),
        (dict(n_samples=[0, 1, 2]), "> 0"),
        (dict(finetuned_error=[1.0, 2.0]), "finetuned_error must"),
        (dict(pretrained_error=[1.0, 2.0]), "pretrained_error must"),
    ],
)
def test_plot_bad_arrays(kwargs, match):
    args = dict(n_samples=[1, 2, 3], pretrained_error=1.0, finetuned_error=[1.0, 2.0, 3.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        FinetuneCurveDisplay(**args).plot()


def test_constructors_bad_input():
    d = 20
    with pytest.raises(ValueError, match="either delta"):
        FinetuneCurveDisplay.from_theory(np.ones(d), n_samples=[1, 2])
    with pytest.raises(ValueError, match="needs delta and noise_var"):
        FinetuneCurveDisplay.from_theory(np.ones(d), delta=np.ones(d), n_samples=[1, 2])
    with pytest.raises(ValueError, match="alpha"):
        FinetuneCurveDisplay.from_theory(np.ones(d), delta=np.ones(d), noise_var=1.0,
                                         n_samples=[1, 2], alpha=-1.0)
    with pytest.raises(ValueError, match="task"):
        FinetuneCurveDisplay.from_theory(np.ones(d), delta=np.ones(d), noise_var=1.0,
                                         n_samples=[1, 2], task="ranking")
    with pytest.raises(TypeError, match="fitted warm-start estimator"):
        FinetuneCurveDisplay.from_estimator(WarmStartSGDRegressor(), np.ones((5, 2)), np.ones(5))
    with pytest.raises(TypeError, match="FinetuneAdvice"):
        FinetuneCurveDisplay.from_advice(object())


def test_init_only_stores():
    n = [1, 2, 3]
    disp = FinetuneCurveDisplay(n, "not validated yet", None)
    assert disp.n_samples is n and not hasattr(disp, "ax_")


def test_clear_error_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install \"skft\[plot\]\""):
        FinetuneCurveDisplay([1, 2], 1.0, [1.0, 0.5]).plot()
