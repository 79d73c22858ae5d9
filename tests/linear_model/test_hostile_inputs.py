"""Inputs that used to give a silent wrong answer or a message naming internals (issue 11):
columns matched by name, weighted fits, complex numbers, pandas nullable dtypes, errors that
name the user's argument."""

import warnings

import numpy as np
import pytest

from skft import should_finetune
from skft.datasets import exact_test_error, make_transfer_regression
from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.theory import classification_error, regression_risk

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def shifted():
    X, y, truth = make_transfer_regression(80, 40, spectrum="powerlaw", shift=1.5,
                                           random_state=0)
    Xu, _, _ = make_transfer_regression(400, 40, spectrum="powerlaw", random_state=1)
    cols = [f"f{j}" for j in range(40)]
    return pd.DataFrame(X, columns=cols), y, truth, pd.DataFrame(Xu[:, :40], columns=cols)


def test_x_unlabeled_columns_matched_by_name(shifted):
    X, y, truth, Xu = shifted
    reordered = Xu[Xu.columns[::-1]]
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    ref = est.predict_asymptotic_error(X_unlabeled=Xu)
    got = est.predict_asymptotic_error(X_unlabeled=reordered)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-12)
    # the same through should_finetune
    a = should_finetune(truth.coef_init, X, y, X_unlabeled=Xu, fit_intercept=False)
    b = should_finetune(truth.coef_init, X, y, X_unlabeled=reordered, fit_intercept=False)
    assert a.finetuned_error.value == b.finetuned_error.value
    assert a.recommended_alpha == b.recommended_alpha
    # other names: a clear error naming X_unlabeled
    renamed = Xu.rename(columns={"f3": "zz"})
    with pytest.raises(ValueError, match="feature names of X_unlabeled differ.*'f3'.*'zz'"):
        est.predict_asymptotic_error(X_unlabeled=renamed)
    with pytest.raises(ValueError, match="feature names of X_unlabeled differ"):
        should_finetune(truth.coef_init, X, y, X_unlabeled=renamed)
    # names on one side only: positional, with scikit-learn's warning
    with pytest.warns(UserWarning, match="X_unlabeled does not have valid feature names"):
        est.predict_asymptotic_error(X_unlabeled=Xu.to_numpy())


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_x_given_to_predict_asymptotic_error_matched_by_name(shifted):
    X, y, truth, _ = shifted
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    ref = est.predict_asymptotic_error(X, y)
    got = est.predict_asymptotic_error(X[X.columns[::-1]], y)
    np.testing.assert_allclose(got.finetuned, ref.finetuned, rtol=1e-12)
    assert got.pretrained == ref.pretrained
    with pytest.raises(ValueError, match="X has 5 features, but WarmStartSGDRegressor is "
                                         "expecting 40"):
        est.predict_asymptotic_error(X.to_numpy()[:, :5], y)


def test_weighted_fit_is_not_predicted_as_if_unweighted():
    X, y, truth = make_transfer_regression(60, 100, random_state=1)
    s = np.random.default_rng(0).uniform(0.1, 3.0, 60)
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y,
                                                                         sample_weight=s)
    with pytest.raises(ValueError, match="sample_weight.*unweighted"):
        est.predict_asymptotic_error()
    # explicit data: the unweighted fine-tuning on it, as documented
    assert np.isfinite(est.predict_asymptotic_error(X, y).finetuned)
    # uniform weights are no weights
    est.fit(X, y, sample_weight=np.full(60, 2.0))
    assert np.isfinite(est.predict_asymptotic_error().finetuned)


def _complex_cases():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 5))
    y = rng.standard_normal(20)
    yc = np.where(y > 0, 1, 0)
    w = np.ones(5)
    cx = X + 1j
    return [
        ("X", lambda: WarmStartSGDRegressor().fit(cx, y)),
        ("y", lambda: WarmStartSGDRegressor().fit(X, y + 1j)),
        ("sample_weight", lambda: WarmStartSGDRegressor().fit(X, y, sample_weight=y * 0 + 1j)),
        ("coef_init", lambda: WarmStartSGDRegressor(w + 1j).fit(X, y)),
        ("intercept_init", lambda: WarmStartSGDRegressor(w, 1j).fit(X, y)),
        ("coef_init", lambda: WarmStartSGDRegressor().fit(X, y, coef_init=w * 1j)),
        ("X", lambda: WarmStartSGDClassifier().fit(X, yc).predict(cx)),
        ("X", lambda: WarmStartSGDClassifier().fit(X, yc).decision_function(cx)),
        ("X", lambda: WarmStartSGDRegressor().fit(pd.DataFrame(cx), y)),
        ("X", lambda: should_finetune(w, cx, y)),
        ("X_unlabeled", lambda: should_finetune(w, X, y, X_unlabeled=cx)),
        ("coef_init", lambda: should_finetune(w * 1j, X, y)),
        ("X_unlabeled",
         lambda: WarmStartSGDRegressor(w).fit(X, y).predict_asymptotic_error(X_unlabeled=cx)),
        ("covariance", lambda: WarmStartSGDRegressor(w).fit(X, y).predict_asymptotic_error(
            covariance=np.ones(5) * 1j, noise_var=1.0, delta=w)),
        ("covariance", lambda: regression_risk(np.eye(5) + 0j, w, 1.0, 10)),
        ("delta", lambda: regression_risk(np.ones(5), w + 1j, 1.0, 10)),
        ("alpha", lambda: regression_risk(np.ones(5), w, 1.0, 10, alpha=1j)),
        ("mean", lambda: classification_error(np.ones(5), w * 1j, w, 10)),
        ("spectrum", lambda: make_transfer_regression(10, 5, spectrum=np.ones(5) + 0j)),
        ("coef", lambda: exact_test_error(make_transfer_regression(10, 5)[2], w + 1j)),
    ]


@pytest.mark.parametrize("case", range(len(_complex_cases())))
def test_complex_input_refused_with_the_argument_named(case):
    name, call = _complex_cases()[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # never a ComplexWarning dropping the imaginary part
        with pytest.raises(ValueError, match=f"Complex data not supported: {name} has "
                                             "complex values"):
            call()


@pytest.mark.parametrize("dtype", ["Float64", "Int64", "float32"])
def test_pandas_nullable_dtypes_accepted_as_scikit_learn_does(dtype):
    X, y, truth = make_transfer_regression(40, 20, random_state=2)
    Xi = np.round(X * 10) if dtype == "Int64" else X
    df = pd.DataFrame(Xi).astype(dtype)
    ref = should_finetune(truth.coef_init, np.asarray(Xi, dtype=np.float64), y)
    got = should_finetune(truth.coef_init, df, y, X_unlabeled=df)
    assert got.finetune == ref.finetune
    est = WarmStartSGDRegressor(truth.coef_init).fit(df, y)
    assert np.isfinite(est.predict_asymptotic_error(X_unlabeled=df).finetuned)
    # pd.NA is missing data: refused, naming X
    holes = df.copy()
    holes.iloc[0, 0] = pd.NA if dtype != "float32" else np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        should_finetune(truth.coef_init, holes, y)


def test_warm_start_refit_on_another_number_of_features():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((30, 6)), rng.standard_normal(30)
    est = WarmStartSGDRegressor(warm_start=True).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but WarmStartSGDRegressor is "
                                         "expecting 6 features.*warm_start=False"):
        est.fit(X[:, :3], y)
    clf = WarmStartSGDClassifier(warm_start=True).fit(X, np.arange(30) % 2)
    with pytest.raises(ValueError, match="warm_start=True continues from coef_ of shape"):
        clf.fit(X, np.arange(30) % 3)
    est.set_params(warm_start=False).fit(X[:, :3], y)  # allowed: a new fit


def test_errors_name_the_argument():
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((30, 8)), rng.standard_normal(30)
    est = WarmStartSGDRegressor(np.zeros(8)).fit(X, y)
    with pytest.raises(ValueError, match="alpha must be numbers"):
        est.predict_asymptotic_error(alpha="big")
    # entries whose squares overflow: named, not "Eigenvalues did not converge"
    with pytest.raises(ValueError, match="X has entries of magnitude up to .*overflow"):
        should_finetune(np.zeros(8), X * 1e160, y)
    with pytest.raises(ValueError, match="X_unlabeled has entries of magnitude"):
        should_finetune(np.zeros(8), X, y, X_unlabeled=X * 1e-300)
