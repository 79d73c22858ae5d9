"""should_finetune: input handling, outputs, and decisions against known truth."""

import json
import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier

from skft.advice import (
    DegenerateEstimateWarning,
    FinetuneAdvice,
    estimate_asymptotic_error,
    should_finetune,
)
from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression
from skft.theory import (
    classification_finetune_helps_intervals,
    finetune_helps_intervals,
    regression_risk,
)


def _ft(X, y, w0, alpha=0.0):
    n, d = X.shape
    r = y - X @ w0
    if n <= d:
        return w0 + X.T @ np.linalg.solve(X @ X.T + n * alpha * np.eye(n), r)
    return w0 + np.linalg.solve(X.T @ X + n * alpha * np.eye(d), X.T @ r)


@pytest.fixture
def reg_data():
    X, y, truth = make_transfer_regression(80, 200, shift=1.5, noise=0.5, random_state=0)
    return X, y, truth


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages(reg_data):
    X, y, truth = reg_data
    w0 = truth.coef_init
    with pytest.raises(ValueError, match="y is constant"):
        should_finetune(w0, X, np.full(80, 3.0), task="regression")
    with pytest.raises(ValueError, match="X must have at least 3 samples"):
        should_finetune(w0, X[:2], y[:2])
    with pytest.raises(ValueError, match="X_unlabeled has 199 features"):
        should_finetune(w0, X, y, X_unlabeled=X[:, :199])
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        should_finetune(w0, bad, y)
    yb = y.copy()
    yb[0] = np.inf
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        should_finetune(w0, X, yb, task="regression")
    with pytest.raises(ValueError, match="X_unlabeled contains NaN or inf"):
        should_finetune(w0, X, y, X_unlabeled=bad)
    with pytest.raises(ValueError, match="coef_init must have shape"):
        should_finetune(w0[:-1], X, y)
    with pytest.raises(ValueError, match="y must have shape"):
        should_finetune(w0, X, y[:-1])
    with pytest.raises(ValueError, match="alpha"):
        should_finetune(w0, X, y, alpha=-1.0)
    with pytest.raises(ValueError, match="task"):
        should_finetune(w0, X, y, task="ranking")
    with pytest.raises(ValueError, match="coef_init looks like an estimator"):
        should_finetune(Ridge(), X, y)


def test_labels_not_matching_classes():
    X, y, truth = make_transfer_classification(60, 100, random_state=0)
    clf = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="not among the classes of coef_init"):
        should_finetune(clf, X, np.where(y > 0, 5, -1))
    with pytest.raises(ValueError, match="y has 3 classes but coef_init has 1 row"):
        should_finetune(truth.coef_init, X, np.arange(60) % 3, task="classification")
    with pytest.raises(ValueError, match="y is constant.*single class"):
        should_finetune(clf, X, np.ones(60))


@pytest.mark.parametrize("task", ["auto", "regression", "classification"])
@pytest.mark.parametrize("value", [3.0, 1, "a"])
def test_constant_y_says_so(task, value):
    # issue 4 item 8: with task="auto" a constant y used to read "y has 1 classes but
    # coef_init has 1 row(s)"; whatever the task, the error names y and says it is constant
    X, _, truth = make_transfer_regression(20, 30, random_state=0)
    y = np.full(20, value, dtype=object if isinstance(value, str) else None)
    with pytest.raises(ValueError, match="^y is constant"):
        should_finetune(truth.coef_init, X, y, task=task)


def test_bad_input_all_named(reg_data):
    # the remaining bad inputs of issue 4 item 8 not covered above, each naming the parameter
    X, y, truth = reg_data
    w0 = truth.coef_init
    for k in (0, 1, 2):
        with pytest.raises(ValueError, match="^X must have at least 3 samples"):
            should_finetune(w0, X[:k], y[:k])
    with pytest.raises(ValueError, match="^X_unlabeled has 201 features but X has 200"):
        should_finetune(w0, X, y, X_unlabeled=np.zeros((5, 201)))
    for bad_value in (np.nan, np.inf, -np.inf):
        for name in ("X", "X_unlabeled", "y", "coef_init"):
            args = {"X": X.copy(), "X_unlabeled": X[:10].copy(), "y": y.copy(), "coef_init": w0}
            arr = args[name] = np.array(args[name], dtype=float)
            arr.flat[3] = bad_value
            with pytest.raises(ValueError, match=f"^{name} contains NaN or inf"):
                should_finetune(
                    args["coef_init"], args["X"], args["y"], X_unlabeled=args["X_unlabeled"]
                )


def test_user_arrays_not_mutated(reg_data):
    X, y, truth = reg_data
    w0 = truth.coef_init.copy()
    XU = X[:30] * 2
    copies = [a.copy() for a in (X, y, w0, XU)]
    should_finetune(w0, X, y, X_unlabeled=XU, alpha=0.1)
    for a, c in zip((X, y, w0, XU), copies, strict=True):
        np.testing.assert_array_equal(a, c)


# ------------------------------------------------------------------------------ outputs
def test_estimator_as_coef_init_is_duck_typed(reg_data):
    X, y, truth = reg_data
    ridge = Ridge(alpha=1.0).fit(X[:40] * 1.1, y[:40])  # any fitted linear model
    a = should_finetune(ridge, X, y)
    b = should_finetune(ridge.coef_, X, y, intercept_init=ridge.intercept_)
    assert a.finetuned_error == b.finetuned_error
    assert a.pretrained_error.value == pytest.approx(
        np.mean((y - X @ ridge.coef_ - ridge.intercept_) ** 2)
    )


def test_to_dict_is_json_and_summary_is_readable(reg_data):
    X, y, truth = reg_data
    adv = should_finetune(truth.coef_init, X, y)
    assert isinstance(adv, FinetuneAdvice)
    d = json.loads(json.dumps(adv.to_dict()))
    assert d["finetune"] == adv.finetune
    assert d["pretrained_error"]["value"] == pytest.approx(adv.pretrained_error.value)
    text = adv.summary()
    assert "pretrained MSE" in text and "fine-tuned MSE" in text and "Decision" in text
    assert len(text.splitlines()) <= 12


def test_not_confident_when_the_gap_is_inside_the_uncertainty():
    # shift chosen so that the true fine-tuned and pretrained errors nearly coincide:
    # isotropic, alpha = 0: gap = -(n/d)||delta||^2 + s2 n/(d - n) = 0 at
    # ||delta||^2 = s2 d/(d - n)
    n, d, s2 = 60, 300, 1.0
    shift = np.sqrt(s2 * d / (d - n))
    X, y, truth = make_transfer_regression(n, d, shift=shift, noise=1.0, random_state=3)
    adv = should_finetune(truth.coef_init, X, y, fit_intercept=False)
    assert not adv.confident
    assert "NOT confident" in adv.summary()


def test_plot_returns_axes(reg_data):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y, truth = reg_data
    ax = should_finetune(truth.coef_init, X, y, alpha=0.5).plot()
    assert ax.get_xlabel() == "number of target samples n"
    assert len(ax.get_lines()) >= 2
    plt.close("all")


def test_multiclass_one_vs_rest():
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    # a one-vs-rest start (a multinomial LogisticRegression is refused: softmax logits)
    src = RidgeClassifier().fit(X[y % 2 == 0][:300], y[y % 2 == 0][:300])
    keep = np.isin(y, src.classes_)
    adv = should_finetune(src, X[keep][300:420], y[keep][300:420])
    assert adv.task == "classification"
    assert len(adv.per_class) == 5
    assert 0 <= adv.pretrained_error.value <= 1
    json.dumps(adv.to_dict())
    # the decision is on the argmax error (issue 9): counted for the start
    scores = X[keep][300:420] @ src.coef_.T + src.intercept_
    argmax = src.classes_[np.argmax(scores, axis=1)]
    assert adv.pretrained_error.value == pytest.approx(np.mean(argmax != y[keep][300:420]))
    assert adv.pretrained_per_class.shape == adv.finetuned_per_class.shape == (5,)
    # the intervals are per class: the summary says so and lists them, never "no n" when a
    # class has intervals; the theory alone (no leave-one-out at alpha=0 here) is not confident
    text = adv.summary()
    assert "per class (one-vs-rest)" in text and "helps for no n" not in text
    for a in adv.per_class:
        assert a.helps_intervals
    assert not adv.confident and "no leave-one-out check" in text
    # one-vs-rest problems are imbalanced by construction (1 class in 5), which the argmax
    # theory models (priors): no class_balance check at the top; it stays per class
    assert "class_balance" not in [c.name for c in adv.checks]
    assert any(not c.passed for a in adv.per_class for c in a.checks if c.name == "class_balance")
    assert len(text.splitlines()) <= 16 + 3  # + the check lines (issue 8)


def test_merge_intervals_sharing_an_endpoint():
    from skft.advice._result import merge_intervals

    inf = float("inf")
    assert merge_intervals([(389.0, 400.0), (400.0, inf)]) == ((389.0, inf),)
    assert merge_intervals([(1.0, 55.99999999997), (56.0, 57.2)]) == ((1.0, 57.2),)
    assert merge_intervals([(1.0, 90.0), (700.0, inf)]) == ((1.0, 90.0), (700.0, inf))
    assert merge_intervals([]) == ()


def test_helps_intervals_not_split_where_the_threshold_does_not_hurt():
    # no noise: the interpolation threshold n = d does not hurt (the alpha = 0 variance is
    # 0), fine-tuning helps for every n, and the advice shows one interval, not a split at d
    X, y, truth = make_transfer_regression(100, 200, noise=0.0, shift=1.0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateEstimateWarning)
        adv = should_finetune(truth.coef_init, X, y, fit_intercept=False)
    assert len(adv.helps_intervals) == 1 and np.isinf(adv.helps_intervals[0][1])
    assert " U " not in adv.summary()


# ---------------------------------------------------------------------- against the truth
@pytest.mark.parametrize("spectrum", ["isotropic", "bilevel", "powerlaw"])
def test_predicted_error_matches_the_truth(spectrum):
    # The issue's target: over problems with n >= 100 and d >= 400 drawn as in
    # benchmarks/bench_advice.py (d in {400, 800}, n/d in 0.2..2, shift, noise, alpha), the
    # median of |predicted - realised| / realised is below 10%. 12 problems per spectrum.
    # (At one hard setting alone, d = 400, n = 100..300, shift 1, noise 0.5, the median is
    # ~14%: mean(r^2) from n labels has a relative sampling error of ~sqrt(2/n) by itself.)
    rng = np.random.default_rng(42)
    rel = []
    for seed in range(12):
        d = int(rng.choice([400, 800]))
        n = max(int(rng.choice([0.2, 0.35, 0.5, 0.7, 1.4, 2.0]) * d), 100)
        alpha = float(rng.choice([0.0, 0.0, 0.1, 1.0]))
        X, y, truth = make_transfer_regression(
            n,
            d,
            spectrum=spectrum,
            shift=float(rng.choice([0.2, 0.5, 1.0, 2.0])),
            noise=float(rng.choice([0.1, 0.5, 1.0])),
            distribution=str(rng.choice(["gaussian", "rademacher", "uniform"])),
            random_state=seed,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateEstimateWarning)
            adv = should_finetune(truth.coef_init, X, y, alpha=alpha, fit_intercept=False)
        real = exact_test_error(truth, _ft(X, y, truth.coef_init, alpha))
        rel.append(abs(adv.finetuned_error.value - real) / real)
        assert adv.pretrained_error.value == pytest.approx(np.mean((y - X @ truth.coef_init) ** 2))
    assert np.median(rel) < 0.10


def _sweep(task, n_problems, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n_problems):
        d = int(rng.choice([200, 400]))
        n = int(rng.choice([0.25, 0.5, 0.7, 1.5, 2.0]) * d)
        alpha = float(rng.choice([0.0, 0.1, 1.0]))
        kw = dict(
            spectrum=str(rng.choice(["isotropic", "bilevel", "powerlaw"])),
            distribution=str(rng.choice(["gaussian", "rademacher", "uniform"])),
            random_state=1000 * seed + i,
        )
        if task == "regression":
            X, y, truth = make_transfer_regression(
                n,
                d,
                shift=float(rng.choice([0.3, 1.0, 2.0])),
                noise=float(rng.choice([0.2, 1.0])),
                **kw,
            )
        else:
            X, y, truth = make_transfer_classification(
                n,
                d,
                shift=float(rng.choice([1.0, 3.0])),
                separation=float(rng.choice([1.5, 3.0])),
                **kw,
            )
        pre = exact_test_error(truth, truth.coef_init)
        ft = exact_test_error(truth, _ft(X, y, truth.coef_init, alpha))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateEstimateWarning)
            adv = should_finetune(
                truth.coef_init, X, y, alpha=alpha, task=task, fit_intercept=False
            )
        out.append((pre, ft, adv.finetune, adv.loo_finetune))
    return np.array(out, dtype=float)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_decisions_at_least_as_good_as_leave_one_out(task):
    # What is tested: on 40 random problems (the sweep above), among those whose true errors
    # differ by > 10%, the theory's decisions are not significantly worse than the plain
    # leave-one-out comparison's. Paired, McNemar-style: with D_i = 1[theory right] -
    # 1[loo right], sum D >= -2 sqrt(sum D_i^2) (b + c discordant problems: the standard
    # error of sum D; one-sided level ~2% if both were equally good). Likewise the mean paired
    # difference of relative regret is below 2 of its standard errors. A raw "acc_t >= acc_l"
    # on 24 problems failed on one near-tie for some seeds; this holds on seeds 0-7 of the
    # sweep (the benchmark compares the two over 650 problems).
    res = _sweep(task, 40, seed=0)
    pre, ft, theory, loo = res.T
    best = np.minimum(pre, ft)
    clear = np.abs(ft - pre) / best > 0.10
    truth = ft < pre
    d = ((theory == truth).astype(int) - (loo == truth).astype(int))[clear]
    assert clear.sum() >= 20
    assert d.sum() >= -2 * np.sqrt(np.sum(d**2)), (d.sum(), np.sum(d**2))
    diff = np.where(theory, ft, pre) / best - np.where(loo, ft, pre) / best
    assert diff.mean() <= 2 * diff.std(ddof=1) / np.sqrt(diff.size)


def test_estimate_asymptotic_error_curve_against_true_theory():
    # isotropic truth; predictions at other n and alpha from one data set of n = 200,
    # d = 400 vs the theory with that seed's true unknowns (each seed draws its own delta).
    # The mean over 6 seeds of the paired difference (prediction - truth) is within 3 of its
    # standard errors (SE from the spread of the differences over seeds) of 0.
    n_grid = np.array([80.0, 300.0, 800.0])
    diffs = []
    for seed in range(6):
        X, y, truth = make_transfer_regression(200, 400, shift=1.2, noise=0.6, random_state=seed)
        est = estimate_asymptotic_error(
            truth.coef_init, None, X, y, alpha=0.05, n_samples=n_grid, fit_intercept=False
        )
        true = regression_risk(truth.covariance, truth.delta, truth.noise_var, n_grid, 0.05)
        diffs.append(est.finetuned - true.finetuned)
    diffs = np.array(diffs)
    se = diffs.std(axis=0, ddof=1) / np.sqrt(len(diffs))
    assert np.all(np.abs(diffs.mean(axis=0)) < 3 * se), (diffs.mean(axis=0), se)


def test_pretrained_model_fitting_every_label():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 60))
    w0 = rng.standard_normal(60)
    with pytest.warns(DegenerateEstimateWarning, match="fits every target label"):
        adv = should_finetune(w0, X, X @ w0, fit_intercept=False)
    assert not adv.finetune and not adv.confident
    assert adv.pretrained_error.value == 0.0 and adv.finetuned_error.value == 0.0
    assert "helps for no n" in adv.summary()


def _last_start(intervals):
    """Start of the unbounded interval ``(n*, inf)`` (None when there is none)."""
    return intervals[-1][0] if intervals and np.isinf(intervals[-1][1]) else None


@pytest.mark.parametrize("task", ["regression", "classification"])
@pytest.mark.parametrize("n", [150, 380])
def test_helps_intervals_against_the_true_theory(task, n):
    # Issue-4 bug: classification n=380, d=400, random_state=0 gave no interval while the true
    # theory gives (1199, inf) (least squares at large n beats the pretrained model). Cause:
    # spurious eigenvalues at the spectrum grid's floor (1e-4 tr/d) made tr(Sigma^-1), hence
    # the least-squares limit, arbitrary; and a noisy leave-one-out curve near n = d could
    # drag ||mu||^2 to its Cauchy-Schwarz bound. Here the start n* of the unbounded interval,
    # on 6 data sets with the same truth: the advice must have one whenever the truth does,
    # and the mean of log(n*_advice / n*_true) must be within 3 standard errors of 0 (SE from
    # the spread over the 6 seeds: the crossing is sensitive to the estimated unknowns).
    d = 400
    logs = []
    for seed in range(6):
        if task == "classification":
            X, y, t = make_transfer_classification(n, d, random_state=seed)
            true = classification_finetune_helps_intervals(t.covariance, t.mean, t.coef_init)
        else:
            X, y, t = make_transfer_regression(n, d, shift=0.8, noise=0.7, random_state=seed)
            true = finetune_helps_intervals(t.covariance, t.delta, t.noise_var, 0.0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateEstimateWarning)
            adv = should_finetune(t.coef_init, X, y, task=task, fit_intercept=False)
        n_true, n_adv = _last_start(true.intervals), _last_start(adv.helps_intervals)
        assert n_true is not None and n_true > d
        assert n_adv is not None, (seed, adv.helps_intervals, true.intervals)
        logs.append(np.log(n_adv / n_true))
    logs = np.array(logs)
    assert abs(logs.mean()) < 3 * logs.std(ddof=1) / np.sqrt(logs.size), logs


def test_issue_case_reports_the_large_n_interval():
    X, y, t = make_transfer_classification(380, 400, random_state=0)
    adv = should_finetune(t.coef_init, X, y)
    assert np.isinf(adv.helps_intervals[-1][1])
    assert "helps for no n" not in adv.summary()


def test_classification_pretrained_error_is_the_counted_rate():
    # issue 4 item 2: the pretrained error is the error rate of sign(X w0 + b0) counted on the
    # target labels (unbiased), with a Wilson interval; it used to be Phi(-mean/std) of the
    # margins, which assumes Gaussian margins.
    X, y, truth = make_transfer_classification(60, 100, random_state=0)
    w0, b0 = truth.coef_init, 0.2
    adv = should_finetune(w0, X, y, intercept_init=b0, alpha=0.1)
    counted = np.mean(np.where(X @ w0 + b0 > 0, 1.0, -1.0) != y)
    pre = adv.pretrained_error
    assert pre.value == counted
    assert pre.low < counted < pre.high and 0 <= pre.low and pre.high <= 1
    assert pre.stderr == pytest.approx(np.sqrt(counted * (1 - counted) / 60), rel=0.1)
    # the decision compares with the Gaussian-margin estimate or the count (see
    # test_decision_basis.py), never with anything else
    assert adv.decision_basis in ("gaussian_margin", "counted")
    assert adv.finetune == (adv.finetuned_error.value < adv.decision_pretrained_error.value)
    # no error at all: the interval stays sensible (from 0, positive width)
    Xs = X[np.where(X @ w0 > 0, 1.0, -1.0) == y]
    ys = y[np.where(X @ w0 > 0, 1.0, -1.0) == y]
    pre0 = should_finetune(w0, Xs, ys, alpha=0.1).pretrained_error
    assert pre0.value == 0.0 and pre0.low == 0.0 and 0 < pre0.high < 0.1 and pre0.stderr > 0


def test_confident_needs_the_leave_one_out_and_the_checks():
    # issue 4 item 3: near n = d the alpha = 0 theory sits on its interpolation peak (an
    # infinite predicted error) while the finite-sample interpolator and its leave-one-out
    # error are not; the advice used to say "keep, confident" with the leave-one-out check
    # saying fine-tune. Issue 8: at n = d the n_close_to_d check fails, so the advice is
    # never confident there, says why, and its prediction is finite (leave-one-out at the
    # pole, where the asymptotic error is infinite).
    for n, fit_intercept in ((20, False), (30, True)):
        for seed in range(4):
            X, y, truth = make_transfer_regression(n, n, shift=5.0, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DegenerateEstimateWarning)
                adv = should_finetune(truth.coef_init, X, y, fit_intercept=fit_intercept)
            assert adv.loo_finetune is not None
            assert np.isfinite(adv.finetuned_error.value)
            near = {c.name: c for c in adv.checks}["n_close_to_d"]
            assert not near.passed and not adv.confident
            assert "Check FAILED: n_close_to_d" in adv.summary()
            assert {"name": "n_close_to_d", "passed": False}.items() <= next(
                c for c in adv.to_dict()["checks"] if c["name"] == "n_close_to_d"
            ).items()
            if adv.loo_finetune != adv.finetune:
                assert "leave-one-out" in adv.summary()
    # away from n = d the rule is: beyond the uncertainty, leave-one-out agrees, checks pass
    for seed in range(4):
        X, y, truth = make_transfer_regression(60, 200, shift=1.0, random_state=seed)
        adv = should_finetune(truth.coef_init, X, y)
        gap = adv.finetuned_error.value - adv.pretrained_error.value
        assert adv.confident == (
            abs(gap) > 1.96 * adv.gap_stderr
            and adv.loo_finetune == adv.finetune
            and all(c.passed for c in adv.checks)
        )


def test_sparse_input(reg_data, monkeypatch):
    # issue 4 item 6: scipy.sparse X / X_unlabeled are densified when moderate (they were
    # refused with "X must be numeric, got csr_matrix"), else refused naming the parameter
    import scipy.sparse as sp

    from skft.advice import _validation

    X, y, truth = reg_data
    Xs = X.copy()
    Xs[np.abs(Xs) < 1.0] = 0.0
    dense = should_finetune(truth.coef_init, Xs, y, alpha=0.1, X_unlabeled=Xs[:30])
    sparse = should_finetune(
        truth.coef_init, sp.csr_matrix(Xs), y, alpha=0.1, X_unlabeled=sp.csr_array(Xs[:30])
    )
    assert sparse.finetuned_error == dense.finetuned_error
    assert sparse.pretrained_error == dense.pretrained_error
    monkeypatch.setattr(_validation, "MAX_DENSE_ENTRIES", Xs.size - 1)
    with pytest.raises(ValueError, match="^X is a sparse matrix of shape"):
        should_finetune(truth.coef_init, sp.csr_matrix(Xs), y)
    monkeypatch.setattr(_validation, "MAX_DENSE_ENTRIES", Xs.size)
    with pytest.raises(ValueError, match="^X_unlabeled is a sparse matrix"):
        should_finetune(truth.coef_init, Xs, y, X_unlabeled=sp.csr_matrix(np.vstack([Xs, Xs])))
