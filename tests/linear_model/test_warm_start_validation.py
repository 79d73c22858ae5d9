"""Bad input: clear errors naming the parameter. Random input: a clean error or a finite model."""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sklearn.exceptions import ConvergenceWarning

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor

rng = np.random.default_rng(0)
X = rng.standard_normal((12, 5))
y = rng.standard_normal(12)
yc = np.array([0, 1, 2] * 4)


@pytest.mark.parametrize("bad, match", [
    (np.where(np.eye(12, 5) > 0, np.nan, X), "NaN"),
    (np.where(np.eye(12, 5) > 0, np.inf, X), "infinity"),
    (np.empty((0, 5)), "0 sample"),
    (np.full((12, 5), "a"), "(could not convert|numeric|dtype)"),
    (np.zeros((12, 5, 2)), "3"),
])
@pytest.mark.parametrize("Est", [WarmStartSGDRegressor, WarmStartSGDClassifier])
def test_bad_X(bad, match, Est):
    target = yc if Est is WarmStartSGDClassifier else y
    with pytest.raises(ValueError, match=match):
        Est().fit(bad, target[: len(bad)] if len(bad) else target[:0])


def test_bad_y():
    with pytest.raises(ValueError, match="NaN"):
        WarmStartSGDRegressor().fit(X, np.where(np.arange(12) == 3, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        WarmStartSGDRegressor().fit(X, y[:5])
    with pytest.raises(ValueError, match="at least 2"):
        WarmStartSGDClassifier().fit(X, np.zeros(12))


def test_coef_init_length_and_class_count():
    with pytest.raises(ValueError, match=r"coef_init has 4 features, but X has 5 features"):
        WarmStartSGDRegressor(np.zeros(4)).fit(X, y)
    with pytest.raises(ValueError, match=r"coef_init has 2 rows, expected 3 .*3 classes"):
        WarmStartSGDClassifier(np.zeros((2, 5))).fit(X, yc)
    with pytest.raises(ValueError, match=r"coef_init has 2 rows, expected 1"):
        WarmStartSGDClassifier(np.zeros((2, 5))).fit(X, yc % 2)
    with pytest.raises(ValueError, match=r"intercept_init has 2 values, expected 3"):
        WarmStartSGDClassifier(np.zeros((3, 5)), np.zeros(2)).fit(X, yc)
    with pytest.raises(ValueError, match="coef_init.*NaN"):
        WarmStartSGDRegressor(np.full(5, np.nan)).fit(X, y)
    with pytest.raises(ValueError, match="coef_init must be a finite numeric array"):
        WarmStartSGDRegressor(np.array(["a"] * 5)).fit(X, y)
    with pytest.raises(ValueError, match="coef_init must be 1-D or 2-D"):
        WarmStartSGDRegressor(np.zeros((1, 1, 5))).fit(X, y)


def test_other_bad_parameters():
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        WarmStartSGDRegressor().fit(X, y, sample_weight=-np.ones(12))
    with pytest.raises(ValueError, match="learning_rate='optimal' needs alpha > 0"):
        WarmStartSGDRegressor(solver="sgd", learning_rate="optimal").fit(X, y)
    with pytest.raises(ValueError, match="solver='exact' with loss='hinge' needs alpha > 0"):
        WarmStartSGDClassifier(solver="exact", loss="hinge").fit(X, yc)
    with pytest.raises(ValueError, match="'alpha' parameter"):
        WarmStartSGDRegressor(alpha=-1.0).fit(X, y)
    with pytest.raises(ValueError, match="'eta0' parameter"):
        WarmStartSGDRegressor(eta0="big").fit(X, y)
    est = WarmStartSGDRegressor().fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features"):
        est.predict(X[:, :4])


def test_diverging_eta0_raises():
    msg = r"(non-finite|diverging) coefficients at epoch \d+; try a smaller eta0"
    with pytest.raises(FloatingPointError, match=msg):
        WarmStartSGDRegressor(solver="sgd", eta0=100.0, learning_rate="constant",
                              random_state=0).fit(X * 10, y)


_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_any = st.one_of(_finite, st.sampled_from([np.nan, np.inf, -np.inf, 1e300, 0.0]))


@st.composite
def _problems(draw):
    n = draw(st.integers(0, 9))
    d = draw(st.integers(1, 6))
    Xd = draw(arrays(np.float64, (n, d), elements=_any if draw(st.booleans()) else _finite))
    yd = draw(arrays(np.float64, (n,), elements=_finite))
    k = draw(st.sampled_from([None, d, d + 1, max(d - 1, 0)]))
    w0 = None if k is None else draw(arrays(np.float64, (k,), elements=_finite))
    solver = draw(st.sampled_from(["exact", "sgd"]))
    alpha = draw(st.sampled_from([0.0, 1e-3, 1.0]))
    return Xd, yd, w0, solver, alpha


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_problems())
# subnormal features against targets of 1: SGD's rescaling overflowed y / g (a RuntimeWarning
# raised as an error here); now a ValueError naming X and y
@example((np.full((2, 1), 2.22507386e-311), np.ones(2), None, "sgd", 0.0))
def test_random_input_gives_clean_error_or_finite_model(problem):
    Xd, yd, w0, solver, alpha = problem
    saved = (Xd.tobytes(), yd.tobytes(), None if w0 is None else w0.tobytes())
    est = WarmStartSGDRegressor(w0, solver=solver, alpha=alpha, max_iter=20, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(Xd, yd)
        except ValueError as exc:  # includes the divergence error
            assert str(exc)
        else:
            assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
            assert np.all(np.isfinite(est.predict(Xd)))
    assert (Xd.tobytes(), yd.tobytes()) == saved[:2]
    if w0 is not None:
        assert w0.tobytes() == saved[2]
