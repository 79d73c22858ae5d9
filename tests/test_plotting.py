"""FinetuneCurveDisplay: the drawn data are the theory's arrays, crossings where they cross."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

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
    assert disp.ax_.get_title() == "WarmStartSGDRegressor\nn = 80, d = 160, alpha = 0.1"
    assert disp.lines_["observed_n"].get_xdata()[0] == 80

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
    with pytest.raises(NotFittedError):
        FinetuneCurveDisplay.from_estimator(WarmStartSGDRegressor(), np.ones((5, 2)), np.ones(5))
    with pytest.raises(TypeError, match="WarmStartSGDRegressor or WarmStartSGDClassifier"):
        FinetuneCurveDisplay.from_estimator(Ridge().fit(np.eye(3), [1, 2, 3]), np.eye(3),
                                            [1, 2, 3])
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


def _labels(ax):
    """Labels of the lines, and of the error-bar containers (their lines carry none)."""
    in_containers = {id(a) for c in ax.containers for a in c.get_children()}
    return [line.get_label() for line in ax.get_lines() if id(line) not in in_containers] + [
        c.get_label() for c in ax.containers]


def test_from_advice_marks_the_observed_n_the_prediction_and_the_check():
    X, y, truth = make_transfer_regression(120, 300, noise=0.5, shift=1.0, random_state=2)
    advice = should_finetune(truth.coef_init, X, y, fit_intercept=False)
    disp = FinetuneCurveDisplay.from_advice(advice, name="generated, bilevel")
    assert disp.lines_["observed_n"].get_xdata()[0] == 120
    assert disp.lines_["observed_n"].get_label() == "observed n = 120"
    assert disp.lines_["n_features"].get_xdata()[0] == 300
    assert disp.lines_["n_features"].get_label() == "n = d = 300"
    ft = advice.finetuned_error
    (point,) = disp.prediction_.lines[0].get_ydata()
    assert point == ft.value
    low, high = disp.prediction_.lines[2][0].get_segments()[0][:, 1]
    assert (low, high) == pytest.approx((ft.low, ft.high))
    assert disp.lines_["loo"].get_ydata()[0] == advice.loo_error
    assert disp.ax_.get_title() == (
        f"generated, bilevel: {'fine-tune' if advice.finetune else 'keep the pretrained model'}"
        f"{'' if advice.confident else ' (not confident)'}\nn = 120, d = 300, alpha = 0")


def test_every_drawn_line_has_a_legend_entry():
    # matplotlib leaves unlabelled artists out of the legend with a label starting with "_"
    X, y, truth = make_transfer_classification(150, 300, random_state=0)
    advice = should_finetune(truth.coef_init, X, y, alpha=0.1)
    assert advice.decision_basis == "gaussian_margin"
    ax = FinetuneCurveDisplay.from_advice(advice).ax_
    labels = _labels(ax)
    assert labels and not [lab for lab in labels if lab.startswith("_")]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "pretrained error rate, Gaussian-margin estimate (decides)" in legend
    assert "observed n = 150" in legend and "n = d = 300" in legend
    # the crossings are where the curve meets the level the decision compares with
    crossings = FinetuneCurveDisplay.from_advice(advice).crossings_
    assert crossings is not None
    np.testing.assert_allclose(crossings.get_ydata(), advice.decision_pretrained_error.value)
    disp = FinetuneCurveDisplay.from_theory(truth.covariance, mean=truth.mean,
                                            coef_init=truth.coef_init, alpha=0.0,
                                            n_samples=np.geomspace(10, 3000, 40))
    assert not [lab for lab in _labels(disp.ax_) if lab.startswith("_")]
    assert disp.ax_.get_title() == "classification theory\nd = 300, alpha = 0"


def test_advice_plot_is_the_from_advice_figure():
    X, y, truth = make_transfer_regression(60, 120, noise=0.4, random_state=5)
    advice = should_finetune(truth.coef_init, X, y, fit_intercept=False, alpha=0.2)
    ax_a = advice.plot()
    ax_b = FinetuneCurveDisplay.from_advice(advice).ax_
    assert _labels(ax_a) == _labels(ax_b)
    for la, lb in zip(ax_a.get_lines(), ax_b.get_lines(), strict=True):
        np.testing.assert_array_equal(la.get_xdata(), lb.get_xdata())
        np.testing.assert_array_equal(la.get_ydata(), lb.get_ydata())
        assert (la.get_color(), la.get_linestyle()) == (lb.get_color(), lb.get_linestyle())
    assert ax_a.get_title() == ax_b.get_title()
    assert "alpha = 0.2" in ax_a.get_title()


def test_from_estimator_pipeline_transforms_x_before_the_theory():
    X, y, truth = make_transfer_regression(80, 160, noise=0.5, random_state=3)
    X = 3.0 * X + 1.0  # raw features: the scaler matters
    U = 3.0 * make_transfer_regression(200, 160, random_state=4)[0] + 1.0
    pipe = make_pipeline(StandardScaler(), WarmStartSGDRegressor(alpha=0.1)).fit(X, y)
    n = np.array([20.0, 50.0, 100.0, 400.0])
    disp = FinetuneCurveDisplay.from_estimator(pipe, X, y, n_samples=n, X_unlabeled=U)
    est = pipe[-1]
    # independent route: scale by hand (mean, population std), then the estimate itself
    mu, sd = X.mean(axis=0), X.std(axis=0)
    ref = estimate_asymptotic_error(est.coef_init_, est.intercept_init_, (X - mu) / sd, y,
                                    alpha=0.1, n_samples=n, task="regression",
                                    X_unlabeled=(U - mu) / sd)
    np.testing.assert_allclose(line_xy(disp.lines_["finetuned"])[1], ref.finetuned, rtol=1e-10)
    np.testing.assert_allclose(line_xy(disp.lines_["pretrained"])[1], ref.pretrained)
    assert disp.ax_.get_title().startswith("Pipeline(StandardScaler, WarmStartSGDRegressor)")


def test_from_estimator_pipeline_errors():
    X, y, _ = make_transfer_regression(30, 20, random_state=0)
    with pytest.raises(NotFittedError):
        FinetuneCurveDisplay.from_estimator(
            make_pipeline(StandardScaler(), WarmStartSGDRegressor()), X, y)
    unfitted_scaler = make_pipeline(StandardScaler(), WarmStartSGDRegressor())
    unfitted_scaler[-1].fit(X, y)
    with pytest.raises(NotFittedError):
        FinetuneCurveDisplay.from_estimator(unfitted_scaler, X, y)
    with pytest.raises(TypeError, match="Pipeline whose last step is Ridge"):
        FinetuneCurveDisplay.from_estimator(make_pipeline(StandardScaler(), Ridge()).fit(X, y),
                                            X, y)
