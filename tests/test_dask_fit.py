"""``fit`` / ``partial_fit`` of the warm-start estimators on dask arrays, on a LocalCluster.

References: the same estimator fitted in memory (NumPy), ``numpy.linalg.lstsq`` for the least
squares point, the estimator's own ``partial_fit`` called on the computed blocks, and
dask-ml's ``Incremental`` driver (when installed).
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor  # noqa: E402
from skft.dask import partial_fit_chunks  # noqa: E402


def _data(n=3000, d=25, seed=0, offset=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * rng.uniform(0.5, 2.0, d) + offset
    w = rng.standard_normal(d)
    y = X @ w + 1.5 + 0.5 * rng.standard_normal(n)
    return X, y, rng.standard_normal(d)


def _assert_same_fit(a, b, rtol=1e-10):
    scale = max(np.abs(a.coef_).max(), 1.0)
    np.testing.assert_allclose(b.coef_, a.coef_, rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(b.intercept_, a.intercept_, rtol=rtol, atol=rtol * scale)


@pytest.mark.parametrize("alpha", [0.0, 0.3, np.inf])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_exact_fit_on_dask_equals_in_memory(client, alpha, fit_intercept):
    X, y, w0 = _data()
    Xd = da.from_array(X, chunks=(700, 10))  # uneven row blocks, split columns
    yd = da.from_array(y, chunks=1000)  # other chunks than X: rechunked
    params = dict(alpha=alpha, fit_intercept=fit_intercept, solver="exact")
    ref = WarmStartSGDRegressor(w0, intercept_init=0.7, **params).fit(X, y)
    est = WarmStartSGDRegressor(w0, intercept_init=0.7, **params).fit(Xd, yd)
    _assert_same_fit(ref, est)
    assert est.solver_ == "exact" and est.n_features_in_ == X.shape[1]
    if alpha == 0 and fit_intercept:  # the least-squares point, independently
        full = np.linalg.lstsq(np.hstack([X, np.ones((len(y), 1))]), y, rcond=None)[0]
        np.testing.assert_allclose(est.coef_, full[:-1], rtol=1e-9, atol=1e-9)


def test_weighted_warm_start_and_float32(client):
    X, y, w0 = _data(seed=1)
    s = np.random.default_rng(1).uniform(0, 2, len(y)) * (np.arange(len(y)) % 7 != 0)
    Xd = da.from_array(X, chunks=500)
    ref = WarmStartSGDRegressor(w0, solver="exact", warm_start=True)
    est = WarmStartSGDRegressor(w0, solver="exact", warm_start=True)
    for fit_y in (y, 2 * y):  # second fit starts where the first ended (matters at alpha = 0)
        ref.fit(X, fit_y, sample_weight=s)
        est.fit(Xd, da.from_array(fit_y, chunks=800), sample_weight=da.from_array(s, chunks=900))
        _assert_same_fit(ref, est)
    ref32 = WarmStartSGDRegressor(w0, solver="exact").fit(X.astype(np.float32), y)
    est32 = WarmStartSGDRegressor(w0, solver="exact").fit(Xd.astype(np.float32), y)
    assert est32.coef_.dtype == np.float32
    _assert_same_fit(ref32, est32, rtol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_exact_fit_on_dask(client, n_classes):
    X, y, _ = _data(seed=2)
    labels = np.array(["cat", "dog", "emu"][:n_classes])
    yl = labels[np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))]
    ref = WarmStartSGDClassifier(alpha=0.1, solver="exact").fit(X, yl)
    est = WarmStartSGDClassifier(alpha=0.1, solver="exact").fit(
        da.from_array(X, chunks=600), da.from_array(yl, chunks=600))
    np.testing.assert_array_equal(est.classes_, ref.classes_)
    _assert_same_fit(ref, est)
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_fewer_rows_than_features_fits_in_memory(client):
    X, y, w0 = _data(n=40, d=60, seed=3)
    ref = WarmStartSGDRegressor(w0).fit(X, y)
    est = WarmStartSGDRegressor(w0).fit(da.from_array(X, chunks=15), y)
    _assert_same_fit(ref, est)


def test_dask_fit_errors_name_the_problem(client):
    X, y, w0 = _data(n=500, d=5)
    Xd = da.from_array(X, chunks=100)
    with pytest.raises(ValueError, match="partial_fit_chunks"):
        WarmStartSGDRegressor(w0, solver="sgd").fit(Xd, y)
    with pytest.raises(ValueError, match="loss='huber'"):
        WarmStartSGDRegressor(w0, loss="huber", alpha=0.1).fit(Xd, y)
    with pytest.raises(ValueError, match="calibrate_start='affine' is not available"):
        WarmStartSGDRegressor(w0, calibrate_start="affine").fit(Xd, y)
    bad = X.copy()
    bad[321, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN"):
        WarmStartSGDRegressor(w0).fit(da.from_array(bad, chunks=100), y)
    with pytest.raises(ValueError, match=r"y must have shape \(500,\)"):
        WarmStartSGDRegressor(w0).fit(Xd, y[:-1])
    with pytest.raises(ValueError, match="sample_weight must be finite and non-negative"):
        WarmStartSGDRegressor(w0).fit(Xd, y, sample_weight=-np.ones(500))
    with pytest.raises(ValueError, match="coef_init has 4 features"):
        WarmStartSGDRegressor(w0[:4]).fit(Xd, y)
    unknown = Xd[Xd[:, 0] > -np.inf]  # boolean indexing: unknown row chunks
    with pytest.raises(ValueError, match="unknown chunk sizes"):
        WarmStartSGDRegressor(w0).fit(unknown, y)


def test_partial_fit_on_dask_is_partial_fit_on_its_blocks(client):
    X, y, w0 = _data(n=1200, d=8, seed=4)
    Xd = da.from_array(X, chunks=300)
    ref = WarmStartSGDRegressor(w0, random_state=0)
    for start in range(0, 1200, 300):
        ref.partial_fit(X[start:start + 300], y[start:start + 300])
    est = WarmStartSGDRegressor(w0, random_state=0).partial_fit(Xd, y)
    np.testing.assert_array_equal(est.coef_, ref.coef_)
    assert est.t_ == ref.t_
    clf = partial_fit_chunks(WarmStartSGDClassifier(random_state=0), Xd, y > np.median(y))
    np.testing.assert_array_equal(clf.classes_, [False, True])


def test_partial_fit_chunks_reaches_the_exact_limit(client):
    # Consistent targets (no noise): every per-sample gradient vanishes at the least-squares
    # point, so SGD at its constant partial_fit step converges linearly to it. The tolerance is
    # the remaining distance the SGD's own per-pass changes predict, c_k / (1 - rho) with rho
    # the contraction per pass measured over the last 5 passes (the estimator's stopping rule).
    rng = np.random.default_rng(5)
    n, d = 4000, 20
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)
    y = X @ rng.standard_normal(d) + 2.0
    exact = WarmStartSGDRegressor(np.zeros(d), solver="exact").fit(X, y)
    hist = []
    est = WarmStartSGDRegressor(np.zeros(d), random_state=0)
    partial_fit_chunks(est, da.from_array(X, chunks=1000), y, n_passes=12, shuffle_blocks=True,
                       random_state=0,
                       callback=lambda k, e: hist.append(np.r_[e.coef_, e.intercept_]))
    H = np.array(hist)
    changes = np.abs(np.diff(H, axis=0)).max(axis=1)
    rho = (changes[-1] / changes[-6]) ** (1 / 5)
    assert rho < 0.5  # linear convergence
    remaining = changes[-1] / (1 - rho)
    dist = np.abs(H[-1] - np.r_[exact.coef_, exact.intercept_]).max()
    assert dist <= 2 * remaining, (dist, remaining)
    assert dist < 1e-5 * np.abs(exact.coef_).max()


def test_partial_fit_chunks_averaged_sgd_converges_with_noise(client):
    # Noisy targets: the constant step leaves SGD in a noise ball, its running average converges
    # to the exact point at rate 1/t (the transient decays as 1/t, the noise faster), so the
    # distance after 2P passes is about that still covered between P and 2P passes.
    rng = np.random.default_rng(6)
    n, d = 4000, 20
    X = rng.standard_normal((n, d)) * np.linspace(0.5, 2.0, d)
    y = X @ rng.standard_normal(d) + 2.0 + 0.5 * rng.standard_normal(n)
    exact = np.r_[WarmStartSGDRegressor(np.zeros(d), solver="exact").fit(X, y).coef_,
                  WarmStartSGDRegressor(np.zeros(d), solver="exact").fit(X, y).intercept_]
    hist = []
    est = WarmStartSGDRegressor(np.zeros(d), random_state=0, average=True)
    partial_fit_chunks(est, da.from_array(X, chunks=1000), y, n_passes=40,
                       callback=lambda k, e: hist.append(np.r_[e.coef_, e.intercept_]))
    dist = [np.abs(h - exact).max() for h in hist]
    covered = np.abs(hist[39] - hist[19]).max()
    assert dist[39] <= 1.5 * covered, (dist[39], covered)
    assert dist[39] < 0.6 * dist[19] < 0.36 * dist[9]


def test_partial_fit_chunks_rejects_arrays_in_memory():
    with pytest.raises(TypeError, match="dask array"):
        partial_fit_chunks(WarmStartSGDRegressor(), np.ones((4, 2)), np.ones(4))


def test_dask_ml_incremental_drives_partial_fit(client):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y, w0 = _data(n=1200, d=8, seed=7)
    Xd, yd = da.from_array(X, chunks=300), da.from_array(y, chunks=300)
    inc = wrappers.Incremental(WarmStartSGDRegressor(w0, random_state=0), shuffle_blocks=False)
    inc.fit(Xd, yd)
    ref = partial_fit_chunks(WarmStartSGDRegressor(w0, random_state=0), Xd, yd)
    np.testing.assert_allclose(inc.estimator_.coef_, ref.coef_, rtol=1e-12)
