"""The advice's fast paths against direct routes to the same numbers (issue 10).

A speed change must not change the advice beyond rounding. Each shortcut is checked against
an independent computation: the grouped spectra against the theory evaluated on every
eigenvalue, the unlabelled rows' moments against direct NumPy sums on a centred copy, the
within-class Gram ``P X X' P`` against the explicit within-class rows; the memory of the
unlabelled path with ``tracemalloc``; the explicit BLAS thread control with ``threadpoolctl``.
"""

import ast
import pathlib
import tracemalloc
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import skft.advice
from skft._core import _dense_linalg
from skft.advice import _spectrum, estimate_spectrum, should_finetune
from skft.advice._estimate import _classification_unknowns
from skft.advice._profile import ShiftProfile, _bins
from skft.datasets import make_transfer_classification, make_transfer_regression
from skft.theory import regression_risk
from skft.theory._classification import _classification_error, _classification_error_grouped
from skft.theory._spectrum import _solve_kappa

RNG = np.random.default_rng(20240610)


def _repeated_spectrum(d=300):
    """An estimated spectrum (few distinct values, each repeated), as the advice sees."""
    X = RNG.standard_normal((120, d)) * np.sqrt(np.linspace(0.2, 3.0, d))
    return estimate_spectrum(X - X.mean(axis=0)).eigenvalues


def test_estimated_spectra_repeat_few_values():
    ev = _repeated_spectrum()
    assert np.unique(ev).size <= 170 < ev.size  # what the grouping relies on for its speed


def test_solve_kappa_with_weights_equals_the_expanded_spectrum():
    vals = np.array([0.0, 0.3, 1.0, 2.5])
    counts = np.array([5.0, 40.0, 100.0, 15.0])
    lam = np.repeat(vals, counts.astype(int))
    n = np.array([20.0, 80.0, 155.0, 300.0, 80.0])
    alpha = np.array([0.0, 0.0, 0.0, 0.0, 0.5])
    k_full = _solve_kappa(lam, n, alpha)[0]
    k_grouped = _solve_kappa(vals, n, alpha, weights=counts)[0]
    np.testing.assert_allclose(k_grouped, k_full, rtol=1e-11)
    assert k_full[3] == 0.0 and k_grouped[3] == 0.0  # n >= rank = 155 at alpha = 0


def test_profile_risk_equals_the_theory_on_every_eigenvalue():
    # the profile groups equal eigenvalues; the reference is regression_risk on the d
    # eigenvalues with the shift delta_j = sqrt(level of j's bin)
    ev = _repeated_spectrum()
    bins, nb = _bins(ev)
    levels = RNG.uniform(0.0, 0.01, nb)
    s2 = 0.3
    prof = ShiftProfile(ev, bins, levels, s2, 100.0, 0.0, 0.0, np.zeros((nb + 1, nb + 1)))
    delta = np.sqrt(prof.delta_sq)
    n = np.array([30.0, 100.0, 250.0, 299.0, 400.0, 1200.0])
    for alpha in (0.0, 1e-3, 0.1, 5.0):
        ref = regression_risk(ev, delta, s2, n, alpha).finetuned
        np.testing.assert_allclose(prof.risk(n, alpha), ref, rtol=1e-10)


def test_grouped_classification_theory_equals_per_coordinate():
    vals = np.array([0.0, 0.5, 1.0, 4.0])
    counts = np.array([3, 50, 90, 17])
    lam = np.repeat(vals, counts)
    mu = RNG.standard_normal(lam.size) * 0.1
    w0 = RNG.standard_normal(lam.size) * 0.1
    inv = np.repeat(np.arange(vals.size), counts)
    W = np.column_stack(
        [np.bincount(inv, weights=v) for v in (mu * mu, mu * w0, w0 * w0)]
    )
    n = np.array([40.0, 120.0, 157.0, 400.0])
    for alpha in (0.0, 0.2):
        ref = _classification_error(lam, mu, w0, n, alpha)
        got = _classification_error_grouped(vals, counts.astype(float), W, n, alpha)
        for field in ("finetuned", "t", "q", "kappa"):
            np.testing.assert_allclose(getattr(got, field), getattr(ref, field), rtol=1e-10)
        assert got.pretrained == pytest.approx(ref.pretrained, rel=1e-12)


def test_within_class_gram_from_x_xt_equals_the_explicit_rows():
    X, y, truth = make_transfer_classification(80, 200, random_state=3)
    y = np.where(y == 1, 1.0, -1.0)
    unk = _classification_unknowns(X, y, truth.coef_init, 0.0, None, X @ X.T)
    Z = X - y[:, None] * (X.T @ y / y.size)  # the within-class rows, explicitly
    ref = estimate_spectrum(Z)
    np.testing.assert_allclose(unk.spectrum.eigenvalues, ref.eigenvalues, rtol=1e-9)
    assert unk.spectrum.trace_sq == pytest.approx(ref.trace_sq, rel=1e-10)


# ------------------------------------------------------------------ unlabelled rows
def _direct_moments(U):
    U = np.asarray(U, dtype=np.float64)
    mean = U.mean(axis=0)
    Z = U - mean
    e = np.einsum("ij,ij->i", Z, Z)
    return dict(mean=mean, scatter=Z.T @ Z, third=Z.T @ e, norm2=e.sum(), norm4=e @ e)


@pytest.mark.parametrize("case", ["in_memory", "offset", "float32", "strided", "fortran"])
def test_unlabeled_moments_equal_direct_sums(case, monkeypatch):
    monkeypatch.setattr(_spectrum, "BLOCK_ENTRIES", 700)  # several blocks of 100 rows
    U = RNG.standard_normal((1050, 7)) * np.array([1, 2, 3, 0.5, 1, 1, 4.0]) + 2.0
    if case == "offset":  # means 1e6 times the spread: U'U - N m m' would cancel 12 digits
        U = U + 1e6
    elif case == "float32":
        U = U.astype(np.float32)
    elif case == "strided":
        U = np.repeat(U, 2, axis=0)[::2]
    elif case == "fortran":
        U = np.asfortranarray(U)
    mom = _spectrum.unlabeled_moments(U)
    ref = _direct_moments(U)
    assert mom.n_rows == U.shape[0]
    for name, value in ref.items():
        # third: a sum of signed cubes, compared on the scale of its terms
        scale = np.max(np.abs(value)) if name != "third" else ref["norm2"] ** 1.5
        np.testing.assert_allclose(getattr(mom, name), value, rtol=0, atol=1e-10 * scale,
                                   err_msg=name)


def test_advice_same_through_the_one_product_and_the_blocks():
    # a C-contiguous float64 X_unlabeled takes U'U; a strided view of the same rows is read
    # block by block, centred explicitly: two routes to the same moments, the same advice
    X, y, truth = make_transfer_regression(60, 80, random_state=5)
    U = make_transfer_regression(900, 80, random_state=6)[0] + 1.5
    strided = np.repeat(U, 2, axis=0)[::2]
    assert not strided.flags.c_contiguous
    for fit_intercept in (False, True):
        a = should_finetune(truth.coef_init, X, y, X_unlabeled=U, fit_intercept=fit_intercept)
        b = should_finetune(truth.coef_init, X, y, X_unlabeled=strided,
                            fit_intercept=fit_intercept)
        assert a.finetune == b.finetune and a.confident == b.confident
        np.testing.assert_allclose(b.finetuned_error.value, a.finetuned_error.value, rtol=1e-9)
        np.testing.assert_allclose(b.curve_finetuned, a.curve_finetuned, rtol=1e-9)
        np.testing.assert_allclose(b.unknowns.spectrum.eigenvalues,
                                   a.unknowns.spectrum.eigenvalues, rtol=1e-9)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_unlabeled_rows_are_never_copied_whole(dtype, monkeypatch):
    # peak memory (tracemalloc) well below the size of X_unlabeled: no whole copy, centred
    # copy or stacked copy of it. float64: one U'U, O(d^2) with d = 100; float32: converted
    # block by block, O(d^2 + block) with blocks of 2 MiB here
    monkeypatch.setattr(_spectrum, "BLOCK_ENTRIES", 1 << 18)
    rng = np.random.default_rng(0)
    X, y, truth = make_transfer_regression(60, 100, random_state=0)
    U = rng.standard_normal((40000, 100)).astype(dtype) + 1.0  # 32 MB (float64)
    for fit_intercept in (False, True):
        tracemalloc.start()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                should_finetune(truth.coef_init, X, y, X_unlabeled=U, fit_intercept=fit_intercept)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < U.nbytes / 3, (peak, U.nbytes)  # a whole copy: >= U.nbytes


# ------------------------------------------------------------------ threads and BLAS pools
def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_small_eigendecompositions_run_on_one_blas_thread(monkeypatch):
    seen = []
    real = np.linalg.eigh

    def spy(M):
        seen.append((M.shape[0], _blas_threads()))
        return real(M)

    monkeypatch.setattr(_dense_linalg.np.linalg, "eigh", spy)
    with threadpool_limits(2):  # two threads outside, whatever the environment says
        outside = _blas_threads()
        _dense_linalg.eigh(np.eye(50))
        _dense_linalg.eigh(np.eye(_dense_linalg.EIG_SINGLE_THREAD_BELOW))
        assert _blas_threads() == outside  # restored
    assert seen[0][0] == 50 and all(t == 1 for t in seen[0][1])
    assert seen[1][1] == outside  # large ones on the default threads


def test_nnls_of_the_spectrum_runs_on_one_thread_in_every_pool(monkeypatch):
    seen = []
    real = _spectrum.nnls

    def spy(M, b):
        seen.append(_blas_threads())
        return real(M, b)

    monkeypatch.setattr(_spectrum, "nnls", spy)
    with threadpool_limits(2):
        estimate_spectrum(RNG.standard_normal((40, 120)))
    assert seen and all(t == 1 for threads in seen for t in threads)


def test_advice_uses_no_scipy_linear_algebra():
    # numpy's and scipy's BLAS pools must not alternate in the advice's hot path: no module
    # of skft.advice imports scipy.linalg (scipy.optimize's bounded least squares runs on
    # numpy's lstsq; its NNLS is wrapped in one thread, tested above)
    root = pathlib.Path(skft.advice.__file__).parent
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("scipy.linalg"), path.name
            if isinstance(node, ast.Import):
                assert all(not a.name.startswith("scipy.linalg") for a in node.names), path.name
