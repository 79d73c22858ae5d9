"""Hostile inputs on the surfaces of ``should_finetune(loss=..., epsilon=..., noise=...,
verbose=...)``, its candidates, outputs and ``skft advise --loss`` (issues 9 and 11).

Each case gets a right answer (checked against an independent route where one exists: the
same advice in other units, the same labels coded otherwise, a dense copy of sparse input, the
estimator's own fit) or a clear error naming the user's argument, never a NumPy / SciPy
traceback nor a number computed for another setting. Each test's docstring says what the case
did before this pass ("was") and what it does now ("now").
"""

import io
import json
import re
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor, should_finetune
from skft._cli._main import main
from skft.theory import NoiseLaw

N, D = 60, 30


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, D))
    w_star = rng.standard_normal(D) / np.sqrt(D)
    w0 = w_star + 0.7 * rng.standard_normal(D) / np.sqrt(D)
    y = X @ w_star + 0.3 * rng.standard_normal(N)
    yc = np.where(X @ w_star + 0.3 * rng.standard_normal(N) > 0, 1, 0)
    return X, w0, y, yc


def _values(advice):
    """The numbers of every candidate (None without a prediction)."""
    return [(c.name, None if c.finetuned_error is None else c.finetuned_error.value,
             c.loo_error) for c in advice.candidates]


# ------------------------------------------------------------------ argument errors: loss
LOSS_ERRORS = [
    ("hubber", "got 'hubber'"),
    ("Huber", "got 'Huber'"),
    ([], "at least one fine-tuning"),
    ((), "at least one fine-tuning"),
    (np.array(["huber"]), "or a list of them, got ndarray"),
    (None, "got NoneType"),
    (3, "got int"),
    (WarmStartSGDRegressor, "got type"),
    (["huber", "log_loss"], "both tasks"),
    (["huber", "huber"], r"loss\[1\] names the same fine-tuning as loss\[0\]"),
    (["huber", WarmStartSGDRegressor(loss="huber")], r"loss\[1\] names the same"),
    (WarmStartSGDRegressor(loss="hinge"), r"loss\[0\] \(WarmStartSGDRegressor\): loss='hinge'"),
    (WarmStartSGDRegressor(alpha=np.nan), r"loss\[0\].*alpha must be"),
    (WarmStartSGDRegressor(alpha=-1.0), r"loss\[0\].*alpha must be"),
    (WarmStartSGDRegressor(alpha="0.1"), r"loss\[0\].*alpha must be"),
    (WarmStartSGDRegressor(loss="huber", epsilon=-1.0), r"loss\[0\].*epsilon must be"),
    (WarmStartSGDRegressor(calibrate_start="bogus"), r"loss\[0\].*calibrate_start must be"),
    (WarmStartSGDRegressor(calibrate_start=True), r"loss\[0\].*calibrate_start must be"),
]


@pytest.mark.parametrize("loss, match", LOSS_ERRORS,
                         ids=[f"loss{i}" for i in range(len(LOSS_ERRORS))])
def test_loss_argument_errors(data, loss, match):
    """Misspelt / wrongly cased names, empty lists, non-names, an estimator class, both tasks,
    duplicates, estimators with bad parameters. Was: a clear ValueError for all but
    duplicates, which were judged twice and listed twice under one name. Now: a ValueError
    naming ``loss`` (or ``loss[i]``) for each, duplicates included."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match=match):
        should_finetune(w0, X, y, loss=loss)


def test_sklearn_estimator_as_loss_is_refused(data):
    """A scikit-learn SGDRegressor as ``loss``. Was and is: a ValueError naming its type."""
    from sklearn.linear_model import SGDRegressor

    X, w0, y, _ = data
    with pytest.raises(ValueError, match="got SGDRegressor"):
        should_finetune(w0, X, y, loss=SGDRegressor())


def test_estimator_with_another_start_is_refused(data):
    """An estimator whose own ``coef_init`` differs from the start. Was and is: a ValueError
    (it would describe another fine-tuning); the same start is accepted and gives the loss
    name's numbers exactly."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match=r"loss\[0\].*own coef_init"):
        should_finetune(w0, X, y, loss=WarmStartSGDRegressor(coef_init=w0 + 1.0))
    with pytest.raises(ValueError, match=r"loss\[0\].*own intercept_init"):
        should_finetune(w0, X, y, loss=WarmStartSGDRegressor(intercept_init=3.0))
    same = should_finetune(w0, X, y, loss=WarmStartSGDRegressor(coef_init=w0, alpha=0.1))
    named = should_finetune(w0, X, y, loss="squared_error", alpha=0.1)
    assert same.finetuned_error.value == named.finetuned_error.value


def test_classification_loss_on_continuous_y(data):
    """``loss="log_loss"`` (or a classifier estimator) with a continuous ``y``. Was: "y has
    60 classes but coef_init has 1 row(s)". Now: a ValueError saying the task is
    classification but ``y`` is continuous."""
    X, w0, y, _ = data
    for loss in ("log_loss", WarmStartSGDClassifier()):
        with pytest.raises(ValueError, match="classification .* but y is continuous"):
            should_finetune(w0, X, y, loss=loss)


def test_regression_loss_on_labels_is_regression(data):
    """``loss="huber"`` on 0/1 labels: the user named a regression loss. Was and is: judged
    as regression on the numeric labels (the task follows the loss), with a prediction."""
    X, w0, _, yc = data
    advice = should_finetune(w0, X, yc, loss="huber", alpha=0.1)
    assert advice.task == "regression" and advice.finetuned_error is not None


def test_estimator_options_the_theory_does_not_describe(data):
    """``early_stopping=True``: no prediction, with the reason (was and is). ``average``:
    averaged SGD converges to the same minimiser, judged as the loss name (was and is)."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss=WarmStartSGDRegressor(early_stopping=True))
    assert adv.finetuned_error is None and "early_stopping" in adv.candidates[0].reason
    avg = should_finetune(w0, X, y, loss=WarmStartSGDRegressor(average=10, alpha=0.1))
    named = should_finetune(w0, X, y, loss="squared_error", alpha=0.1)
    assert avg.finetuned_error.value == named.finetuned_error.value


# ------------------------------------------------------------------ epsilon
@pytest.mark.parametrize("epsilon", [-1.0, np.nan, np.inf, "0.1", None, [0.1]])
def test_epsilon_errors(data, epsilon):
    """Negative, NaN, infinite, text, None, a list. Was and is: a ValueError naming
    ``epsilon``."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match="epsilon must be a finite number >= 0"):
        should_finetune(w0, X, y, loss="huber", epsilon=epsilon)


def test_huber_epsilon_zero_keeps_the_start(data):
    """``huber`` with ``epsilon=0``, the zero loss: the estimator never moves the start (its
    own fit, the independent route). Was: no prediction ("the theory's equations could not
    be solved"). Now: the candidate is the pretrained model, its error the measured one, with
    the reason."""
    X, w0, y, _ = data
    est = WarmStartSGDRegressor(coef_init=w0, loss="huber", epsilon=0.0, alpha=0.1,
                                solver="exact").fit(X, y)
    np.testing.assert_array_equal(est.coef_, w0)
    for alpha in (0.0, 0.1):
        adv = should_finetune(w0, X, y, loss="huber", epsilon=0.0, alpha=alpha)
        assert adv.finetuned_error.value == adv.pretrained_error.value
        assert not adv.finetune and adv.alpha == alpha
        assert any("zero loss" in f for f in adv.fallbacks)


@pytest.mark.parametrize("epsilon", [1e-300, 1e300])
def test_extreme_epsilon_is_no_prediction_or_a_number(data, epsilon):
    """``huber`` with ``epsilon`` 1e-300 or 1e300. Was and is: no prediction with the
    theory's reason (never another loss's number); 1e6 (the squared loss in effect) is
    predicted."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss="huber", epsilon=epsilon)
    cand = adv.candidates[0]
    assert cand.finetuned_error is None and cand.reason
    assert adv.finetuned_error is None and not adv.finetune
    big = should_finetune(w0, X, y, loss="huber", epsilon=1e6)
    assert np.isfinite(big.finetuned_error.value)


# ------------------------------------------------------------------ noise
NOISE_ERRORS = [
    ("Laplace", "noise must be one of"),
    ("cauchy", "noise must be one of"),
    (3, "noise must be a law name.*got int"),
    ([[0.0, 1.0], None], "noise must be a law name.*got list"),
    (((0, 1),), "noise must be a law name.*got tuple"),
    (([0.0, 1.0], [-1.0, 2.0]), "noise weights must be non-negative"),
    (([0.0, 1.0], [0, 0]), "noise weights must be non-negative"),
    (([0.0, np.nan], None), "noise values must be finite"),
    (([0.0, np.inf], None), "noise values must be finite"),
    (([0.0, 1.0], [np.nan, 1.0]), "noise weights must be finite"),
    ((np.ones((2, 2)), None), r"values must be a non-empty 1-D array.*shape \(2, 2\)"),
    (([], None), r"values must be a non-empty 1-D array.*shape \(0,\)"),
    (([0.0, 1.0], [1.0]), "weights must have the shape of values"),
    (("a", "b"), "values must be a non-empty 1-D array of real numbers, got dtype"),
    (([1j, 1.0], None), "got dtype complex128"),
]


@pytest.mark.parametrize("noise, match", NOISE_ERRORS,
                         ids=[f"noise{i}" for i in range(len(NOISE_ERRORS))])
def test_noise_argument_errors(data, noise, match):
    """Malformed noise laws. Was: clear errors for most, but a 2-D array of values silently
    ravelled (and judged), text values ending in "could not convert string to float" and
    complex values in a raw TypeError. Now: a ValueError naming ``noise`` for each."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match=match):
        should_finetune(w0, X, y, loss="huber", noise=noise)


def test_noise_without_a_robust_loss(data):
    """``noise`` with the squared loss only. Was and is: a ValueError (it would be ignored)."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match="noise is the law of the label noise"):
        should_finetune(w0, X, y, noise="laplace")


@pytest.mark.parametrize("noise", [NoiseLaw([0.0], [1.0], [1e300]), ([0.0, 1.0, 2.0], None)])
def test_noise_law_larger_than_the_residuals(data, noise):
    """A given law whose variance exceeds the start's mean squared residual (an upper bound
    of the noise variance): a ``NoiseLaw`` at 1e300, or values of variance 2/3 > 0.45. Was:
    a fine-tuned error of 1.0e300 (resp. 1.76) computed for that impossible setting. Now: no
    prediction, the reason naming ``noise`` and both variances."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss="huber", noise=noise)
    reason = adv.candidates[0].reason
    assert adv.finetuned_error is None and reason.startswith("noise: the law given")


def test_noise_law_smaller_than_the_data_say(data):
    """A point-mass law (variance 0) where the residuals show noise of variance ~0.1. Was: a
    fine-tuned error of 1e-31 with ``finetune=True`` and a passed noise_law check ("noise law
    given"). Now: the noise_law check fails (the law's variance is 4 standard errors from the
    estimate), so the advice is not confident and says why."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss="huber", noise=([1.0], None))
    check = next(c for c in adv.checks if c.name == "noise_law")
    assert not check.passed and "standard errors away" in check.detail
    assert not adv.confident
    ok = should_finetune(w0, X, y, loss="huber", noise="laplace")
    assert next(c for c in ok.checks if c.name == "noise_law").passed


@pytest.mark.parametrize("cy", [1e-150, 1e100])
def test_noise_and_epsilon_in_the_units_of_y(data, cy):
    """``noise`` and ``epsilon`` given in the units of ``y`` at ``y`` scaled by 1e-150 and
    1e100 (``coef_init`` alike). Was and is: the advice of the unscaled problem, its errors
    scaled by ``cy^2`` (independent route: the same advice at scale 1); the bound of the
    impossible-law message is in the user's units."""
    X, w0, y, _ = data
    values = np.array([-0.3, 0.3])
    ref = should_finetune(w0, X, y, loss="huber", epsilon=0.2, alpha=0.1,
                          noise=(values, None))
    got = should_finetune(w0 * cy, X, y * cy, loss="huber", epsilon=0.2 * cy, alpha=0.1,
                          noise=(values * cy, None))
    np.testing.assert_allclose(got.finetuned_error.value / cy**2, ref.finetuned_error.value,
                               rtol=1e-9)
    np.testing.assert_allclose(got.loo_error / cy**2, ref.loo_error, rtol=1e-9)
    bad = should_finetune(w0 * cy, X, y * cy, loss="huber", noise=(values * 10 * cy, None))
    reason = bad.candidates[0].reason
    # the sentence quotes 4 significant digits, rescaled to the user's units
    given = float(re.search(r"has noise variance (\S+),", reason).group(1))
    np.testing.assert_allclose(given, 9 * cy**2, rtol=1e-3)


# ------------------------------------------------------------------ verbose, alpha
@pytest.mark.parametrize("verbose", [-1, 1.5, "1", None])
def test_verbose_errors(data, verbose):
    """Negative, fractional, text, None. Was and is: a ValueError naming ``verbose``."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match="verbose must be an integer >= 0"):
        should_finetune(w0, X, y, verbose=verbose)


@pytest.mark.parametrize("verbose", [True, np.int64(1), 3])
def test_verbose_accepted(data, verbose, capsys):
    """``True``, a NumPy integer, 3. Was and is: stage lines on stderr, nothing on stdout,
    the same numbers as ``verbose=0``."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss="huber", alpha=0.1, verbose=verbose)
    out, err = capsys.readouterr()
    assert out == "" and "huber: unknowns, theory and check: done" in err
    quiet = should_finetune(w0, X, y, loss="huber", alpha=0.1)
    assert _values(adv) == _values(quiet)


def test_alpha_inf_as_argument_is_refused(data):
    """``alpha=np.inf`` as the function's argument. Was and is: a ValueError naming
    ``alpha`` (``alpha = inf`` is an estimator's setting, tested below)."""
    X, w0, y, _ = data
    with pytest.raises(ValueError, match="alpha must be a finite number >= 0"):
        should_finetune(w0, X, y, loss="huber", alpha=np.inf)


@pytest.mark.parametrize("loss", ["squared_error", "huber", "epsilon_insensitive",
                                  "log_loss", "hinge", "modified_huber"])
def test_estimator_alpha_inf_keeps_the_start(data, loss):
    """An estimator with ``alpha=np.inf``, every loss. Was and is: the candidate is the
    pretrained model, its error the pretrained (decision) error exactly, never 'fine-tune';
    its ``to_dict`` is strict JSON (was: ``Infinity``, now ``"inf"``)."""
    X, w0, y, yc = data
    if loss in ("squared_error", "huber", "epsilon_insensitive"):
        est, target = WarmStartSGDRegressor(loss=loss, alpha=np.inf), y
    else:
        est, target = WarmStartSGDClassifier(loss=loss, alpha=np.inf), yc
    adv = should_finetune(w0, X, target, loss=est)
    assert adv.finetuned_error.value == adv.decision_pretrained_error.value
    assert not adv.finetune
    d = adv.candidates[0].to_dict()
    assert d["alpha"] == "inf"
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("cal", ["intercept", "affine"])
@pytest.mark.parametrize("loss", ["squared_error", "log_loss", "hinge"])
def test_calibrated_classifier_starts(data, cal, loss):
    """``calibrate_start`` on classifiers, squared and other losses. Was and is: a
    prediction (an error rate in [0, 1]) and the calibrated start named."""
    X, w0, _, yc = data
    adv = should_finetune(w0, X, yc,
                          loss=WarmStartSGDClassifier(loss=loss, alpha=0.1, calibrate_start=cal))
    assert 0 <= adv.finetuned_error.value <= 1
    assert f"calibrate_start={cal!r}" in adv.candidates[0].name


def test_calibrated_regressor_keeping_its_start(data):
    """``calibrate_start="intercept"`` with ``alpha=inf``: the start with its offset fitted.
    Was and is: its error is 10-fold cross-validation of that offset; the independent route
    is a 10-line reference (the mean residual of the other folds; the folds are those of a
    fixed permutation, so we check the estimate is the held-out MSE of *some* 10-fold split:
    between the in-sample MSE of the shifted start and the start's own MSE plus its se)."""
    X, w0, y, _ = data
    adv = should_finetune(w0, X, y, loss=WarmStartSGDRegressor(alpha=np.inf,
                                                               calibrate_start="intercept"))
    r = y - X @ w0
    in_sample = np.mean((r - r.mean()) ** 2)
    held = adv.finetuned_error.value
    assert in_sample < held < in_sample * (1 + 4.0 / N)


# ------------------------------------------------------------------ labels
def test_one_class(data):
    """Labels of one class, as ints or floats, with or without ``task``. Was and is: a
    ValueError saying ``y`` is constant."""
    X, w0, _, _ = data
    with pytest.raises(ValueError, match="y is constant"):
        should_finetune(w0, X, np.ones(N), loss=["log_loss", "hinge"], task="classification")
    with pytest.raises(ValueError, match="y is constant"):
        should_finetune(w0, X, np.ones(N, dtype=int), loss="log_loss")


def test_mixed_label_types(data):
    """Labels mixing strings and integers. Was: NumPy's "'<' not supported between
    instances of 'int' and 'str'" TypeError. Now: a ValueError naming ``y``."""
    X, w0, _, _ = data
    y = np.array(["a", 1] * (N // 2), dtype=object)
    with pytest.raises(ValueError, match=r"y mixes label types \(int, str\)"):
        should_finetune(w0, X, y, loss="log_loss", alpha=0.1)


def test_label_codings_give_the_same_advice(data):
    """0/1, +-1 floats and text labels of the same classes (bool, float 0/1: tried by hand,
    the same). Was and is: the same numbers (independent route: the labels coded
    otherwise)."""
    X, w0, _, yc = data
    ref = _values(should_finetune(w0, X, yc, loss="log_loss", alpha=0.1))
    for coded in (2.0 * yc - 1, np.where(yc == 1, "spam", "ham")):
        assert _values(should_finetune(w0, X, coded, loss="log_loss", alpha=0.1)) == ref


def test_class_with_one_sample(data):
    """Three classes, one of them with a single sample. Was and is: every candidate without
    a prediction, with the reason (a class mean cannot be estimated), the counted error of
    the start beside it."""
    X, _, _, _ = data
    rng = np.random.default_rng(1)
    W = rng.standard_normal((3, D)) / np.sqrt(D)
    y = np.r_[np.zeros(N - 31), np.ones(30), [2]].astype(int)
    adv = should_finetune(W, X, y, loss=["squared_error", "log_loss"], alpha=0.1)
    assert adv.finetuned_error is None
    assert all("at least 2 samples" in c.reason for c in adv.candidates)
    assert 0 <= adv.pretrained_error.value <= 1


def test_constant_targets(data):
    """A constant ``y`` for regression. Was and is: a ValueError saying ``y`` is constant."""
    X, w0, _, _ = data
    with pytest.raises(ValueError, match="y is constant"):
        should_finetune(w0, X, np.full(N, 3.0), loss=["huber", "epsilon_insensitive"])


# ------------------------------------------------------------------ features
def _fits(adv):
    return all(c.finetuned_error is None or np.isfinite(c.finetuned_error.value)
               for c in adv.candidates)


@pytest.mark.parametrize("kind", ["duplicated", "constant"])
@pytest.mark.parametrize("task", ["regression", "classification"])
def test_degenerate_columns(data, kind, task):
    """Three duplicated columns, or a constant column. Was and is: finite predictions for
    every loss (or a reason), no traceback."""
    X, w0, y, yc = data
    if kind == "duplicated":
        X, w0 = np.c_[X, X[:, :3]], np.r_[w0, np.zeros(3)]
    else:
        X = X.copy()
        X[:, 0] = 5.0
    losses = (["squared_error", "huber", "epsilon_insensitive"] if task == "regression"
              else ["squared_error", "log_loss", "hinge", "modified_huber"])
    adv = should_finetune(w0, X, y if task == "regression" else yc, loss=losses, alpha=0.1)
    assert _fits(adv) and adv.finetuned_error is not None


@pytest.mark.parametrize("n", [3, 4, 5])
def test_tiny_samples(data, n):
    """n = 3, 4, 5 samples. Was and is: an answer for each candidate (a number, or no
    prediction with its reason, e.g. a class of one sample), never a traceback."""
    X, w0, y, _ = data
    labels = np.array([0, 1, 0, 1, 1])[:n]
    reg = should_finetune(w0, X[:n], y[:n], loss=["squared_error", "huber"], alpha=0.1)
    clf = should_finetune(w0, X[:n], labels, loss=["squared_error", "hinge"], alpha=0.1)
    for adv in (reg, clf):
        assert _fits(adv)
        assert all(c.finetuned_error is not None or c.reason for c in adv.candidates)


def test_one_feature(data):
    """d = 1. Was and is: finite predictions for every loss."""
    X, _, _, _ = data
    x = X[:, :1]
    rng = np.random.default_rng(2)
    y = x[:, 0] + 0.1 * rng.standard_normal(N)
    assert _fits(should_finetune([0.5], x, y, loss=["squared_error", "huber"], alpha=0.1))
    assert _fits(should_finetune([0.5], x, (x[:, 0] > 0).astype(int),
                                 loss=["log_loss", "hinge"], alpha=0.1))


def test_float32_pandas_sparse_are_the_same_problem(data):
    """float32 features, pandas inputs with ``X_unlabeled`` columns in another order, sparse
    ``X``. Was and is: the numbers of the float64 NumPy problem (float32: to its precision;
    reordered columns matched by name; sparse: exactly)."""
    pd = pytest.importorskip("pandas")
    X, w0, y, yc = data
    losses = ["squared_error", "huber"]
    ref = should_finetune(w0, X, y, loss=losses, alpha=0.1)
    f32 = should_finetune(w0, X.astype(np.float32), y, loss=losses, alpha=0.1)
    for (_, a, _), (_, b, _) in zip(_values(ref), _values(f32), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5)
    assert _values(should_finetune(w0, sp.csr_matrix(X), y, loss=losses, alpha=0.1)) \
        == _values(ref)
    rng = np.random.default_rng(3)
    U = rng.standard_normal((100, D))
    cols = [f"f{i}" for i in range(D)]
    by_name = should_finetune(w0, pd.DataFrame(X, columns=cols), pd.Series(yc),
                              loss=["log_loss"], alpha=0.1,
                              X_unlabeled=pd.DataFrame(U, columns=cols)[cols[::-1]])
    plain = should_finetune(w0, X, yc, loss=["log_loss"], alpha=0.1, X_unlabeled=U)
    np.testing.assert_allclose(by_name.finetuned_error.value, plain.finetuned_error.value,
                               rtol=1e-12)


# ------------------------------------------------------------------ scales
SCALES = [(1e-150, 1.0), (1e100, 1e-100), (1.0, 1e150), (1e-100, 1e-150), (1.0, 1.2)]
# epsilon_insensitive's check (10-fold cross-validation) costs ~1 s a call: fewer scales
CASES = ([("huber", cx, cy) for cx, cy in SCALES]
         + [("epsilon_insensitive", cx, cy) for cx, cy in SCALES[1:3] + SCALES[4:]])


@pytest.mark.parametrize("loss, cx, cy", CASES)
def test_robust_losses_at_any_scale(data, loss, cx, cy):
    """X scaled by ``cx`` and y by ``cy`` (``coef_init`` by ``cy / cx``; ``epsilon`` by
    ``cy``; ``alpha`` by ``cx^2`` for huber and ``cx^2 / cy`` for epsilon_insensitive, whose
    loss is linear in the residual). Independent route: the advice at scale 1, errors times
    ``cy^2``, the recommended pull in the same units as ``alpha``. Was: epsilon_insensitive
    off by 0.3-0.8% in its prediction and 0.7-0.9% in its recommended alpha whenever ``y``'s
    scale was not a power of two (the squared-loss designs that estimate its unknowns were
    fitted at its ``alpha`` taken in the squared loss's units). Now: equal to 1e-9."""
    X, w0, y, _ = data
    unit = cx**2 / cy if loss == "epsilon_insensitive" else cx**2
    ref = should_finetune(w0, X, y, loss=loss, alpha=0.1, epsilon=0.2)
    got = should_finetune(w0 * cy / cx, X * cx, y * cy, loss=loss, alpha=0.1 * unit,
                          epsilon=0.2 * cy)
    np.testing.assert_allclose(got.finetuned_error.value / cy**2, ref.finetuned_error.value,
                               rtol=1e-9)
    np.testing.assert_allclose(got.loo_error / cy**2, ref.loo_error, rtol=1e-9)
    # the recommended pull is the argmin of a smooth curve found by a bounded scalar
    # search: located to ~1e-8 relative (sqrt of float64's epsilon), not to rounding error
    np.testing.assert_allclose(got.recommended_alpha / unit, ref.recommended_alpha, rtol=1e-6)
    assert got.finetune == ref.finetune


# ------------------------------------------------------------------ outputs
@pytest.fixture(scope="module")
def advices(data):
    X, w0, y, yc = data
    rng = np.random.default_rng(4)
    W = rng.standard_normal((3, D)) / np.sqrt(D)
    return {
        "several": should_finetune(
            w0, X, y, alpha=0.1,
            loss=["squared_error", "huber", WarmStartSGDRegressor(loss="huber", alpha=0.2)]),
        "no_prediction": should_finetune(w0, X, yc, loss="hinge"),
        "keep": should_finetune(w0, X, yc, loss=WarmStartSGDClassifier(alpha=np.inf)),
        "multiclass": should_finetune(W, X, rng.integers(0, 3, N), alpha=0.1,
                                      loss=["squared_error", "hinge"]),
        "text_labels": should_finetune(w0, X, np.where(yc == 1, "spam", "ham"),
                                       loss="log_loss", alpha=0.1),
    }


@pytest.mark.parametrize("kind", ["several", "no_prediction", "keep", "multiclass",
                                  "text_labels"])
def test_outputs(advices, kind):
    """``summary()``, ``repr``, ``to_dict()`` (strict JSON) of the advice and of each
    candidate. Was: all fine but a candidate's ``to_dict`` with ``alpha=inf`` wrote
    ``Infinity`` (not JSON; the advice's own writes ``"inf"``). Now: strict JSON
    everywhere, every candidate named in the summary."""
    adv = advices[kind]
    text = adv.summary()
    assert isinstance(text, str) and text
    assert repr(adv).startswith("FinetuneAdvice(")
    d = json.loads(json.dumps(adv.to_dict(), allow_nan=False))
    assert len(d["candidates"]) == len(adv.candidates)
    for cand in adv.candidates:
        json.dumps(cand.to_dict(), allow_nan=False)
        assert repr(cand).startswith("CandidateAdvice(")
    if len(adv.candidates) > 1:
        assert all(c.name in text for c in adv.candidates)


@pytest.mark.parametrize("kind", ["several", "keep", "multiclass"])
def test_plot(advices, kind):
    """``plot()`` (Agg) with several candidates, a kept start, multiclass. Was and is: the
    axes with at least one line."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = advices[kind].plot()
    assert ax.lines
    plt.close("all")


def test_plot_without_prediction(advices):
    """``plot()`` when no fine-tuning has a prediction. Was and is: a ValueError saying
    there is nothing to plot and why."""
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="no fine-tuning named has a prediction"):
        advices["no_prediction"].plot()


# ------------------------------------------------------------------ command line
def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def files(data, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    X, w0, y, yc = data
    for name, arr in (("X", X), ("w0", w0), ("y", y), ("yc", yc)):
        np.save(tmp / f"{name}.npy", arr)
    return tmp


def _cli(tmp, y, *extra):
    return run_main("advise", "--coef", tmp / "w0.npy", "--X", tmp / "X.npy",
                    "--y", tmp / y, "--intercept", "0", *extra)


def _one_line_error(code, err):
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skft advise: error:"), err
    assert "Traceback" not in err


def test_cli_loss_twice_and_the_same_twice(files, data):
    """``--loss huber --loss squared_error`` and ``--loss huber --loss huber``. Was
    and is: both judged (the library's numbers); a repeated name is judged once."""
    X, w0, y, _ = data
    code, out, err = _cli(files, "y.npy", "--loss", "huber", "--loss", "squared_error",
                          "--alpha", "0.1", "--json")
    assert code == 0, err
    got = json.loads(out)
    ref = should_finetune(w0, X, y, intercept_init=0.0, alpha=0.1,
                          loss=["huber", "squared_error"])
    assert [c["finetuned_error"]["value"] for c in got["candidates"]] == \
        [c.finetuned_error.value for c in ref.candidates]
    code, out, err = _cli(files, "y.npy", "--loss", "huber", "--loss", "huber", "--json")
    assert code == 0, err
    assert len(json.loads(out)["candidates"]) == 1


@pytest.mark.parametrize("args, match", [
    (("--loss", "hubber"), "invalid choice: 'hubber'"),
    (("--epsilon", "-1", "--loss", "huber"), "--epsilon: must be a finite number"),
    (("--epsilon", "nan", "--loss", "huber"), "--epsilon: must be a finite number"),
    (("--alpha", "inf"), "--alpha: must be a finite number"),
    (("--epsilon", "0.3"), "--epsilon is the epsilon of --loss huber"),
    (("--loss", "log_loss"), "but y is continuous"),
])
def test_cli_argument_errors(files, args, match):
    """Misspelt loss, bad epsilon / alpha, ``--epsilon`` with no loss using it, a
    classification loss on continuous targets. Was: exit 2 with one line for all but
    ``--epsilon 0.3`` alone (silently ignored: the squared loss's answer) and ``--loss
    log_loss`` ("y has 60 classes"). Now: exit 2, one line naming the argument, for each."""
    code, out, err = _cli(files, "y.npy", *args)
    _one_line_error(code, err)
    assert match in err


def test_cli_plot_without_prediction(files, tmp_path):
    """``--plot`` when no fine-tuning has a prediction (hinge at alpha = 0, separable). Was
    and is: the answer printed, then exit 2 with one line saying there is nothing to plot."""
    code, out, err = _cli(files, "yc.npy", "--loss", "hinge", "--plot", tmp_path / "p.png")
    _one_line_error(code, err)
    assert "nothing to plot" in err and "no prediction" in out
    assert not (tmp_path / "p.png").exists()


def test_cli_verbose(files):
    """``--verbose`` with two losses. Was and is: the stages of each fine-tuning on stderr,
    the answer on stdout."""
    code, out, err = _cli(files, "y.npy", "--loss", "huber", "--loss", "squared_error",
                          "--alpha", "0.1", "--verbose")
    assert code == 0
    assert "[huber(epsilon=0.1)]" in err and "[squared_error]" in err
    assert "Fine-tunings judged against keeping the start" in out


def test_cli_json_into_a_closed_pipe(files):
    """``skft advise ... --json | head -c 10`` in a real pipe. Was and is: no traceback on
    stderr, the first bytes of the JSON on the pipe."""
    cmd = [sys.executable, "-m", "skft", "advise", "--coef", str(files / "w0.npy"), "--X",
           str(files / "X.npy"), "--y", str(files / "yc.npy"), "--intercept", "0",
           "--loss", "hinge", "--loss", "log_loss", "--json"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        head = proc.stdout.read(10)
        proc.stdout.close()
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
        proc.stderr.close()
    assert head.startswith(b"{")
    assert "Traceback" not in err and proc.returncode in (0, 2)
