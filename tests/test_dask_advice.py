"""``X_unlabeled`` as a dask array: the Gram reduced blockwise on a LocalCluster, the same advice.

Reference: the same call with the unlabelled rows in memory (NumPy), and for the reduced
moments direct NumPy sums.
"""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from skft import should_finetune  # noqa: E402
from skft.advice import estimate_asymptotic_error, estimate_spectrum  # noqa: E402
from skft.dask import row_moments  # noqa: E402
from skft.datasets import make_transfer_classification, make_transfer_regression  # noqa: E402


def _same_advice(a, b, rtol=1e-10):
    assert a.finetune == b.finetune and a.confident == b.confident
    for name in ("pretrained_error", "finetuned_error"):
        ea, eb = getattr(a, name), getattr(b, name)
        np.testing.assert_allclose([eb.value, eb.stderr], [ea.value, ea.stderr], rtol=rtol)
    np.testing.assert_allclose(b.gap_stderr, a.gap_stderr, rtol=rtol)
    np.testing.assert_allclose(b.curve_finetuned, a.curve_finetuned, rtol=rtol)
    np.testing.assert_allclose(b.recommended_error, a.recommended_error, rtol=rtol)
    # the minimiser of a flat error curve moves by ~sqrt(rounding) ~ 1e-8 when the curve moves
    # by ~1e-16 (the minimum value itself agrees to 1e-10, above)
    np.testing.assert_allclose(b.recommended_alpha, a.recommended_alpha, rtol=1e-6)


@pytest.mark.parametrize("fit_intercept", [True, False])
def test_regression_advice_with_dask_unlabeled_equals_in_memory(client, fit_intercept):
    X, y, truth = make_transfer_regression(120, 150, spectrum="bilevel", random_state=0)
    U, _, _ = make_transfer_regression(2500, 150, spectrum="bilevel", random_state=1)
    U = U + 3.0  # an offset: the unlabelled rows are centred by their own mean
    ref = should_finetune(truth.coef_init, X, y, X_unlabeled=U, fit_intercept=fit_intercept)
    got = should_finetune(truth.coef_init, X, y, fit_intercept=fit_intercept,
                          X_unlabeled=da.from_array(U, chunks=(600, 50)))
    _same_advice(ref, got)


def test_classification_advice_with_dask_unlabeled_equals_in_memory(client):
    X, y, truth = make_transfer_classification(150, 120, random_state=2)
    U, _, _ = make_transfer_classification(3000, 120, random_state=3)
    ref = should_finetune(truth.coef_init, X, y, alpha=0.1, X_unlabeled=U)
    got = should_finetune(truth.coef_init, X, y, alpha=0.1,
                          X_unlabeled=da.from_array(U, chunks=700))
    _same_advice(ref, got)
    est_ref = estimate_asymptotic_error(truth.coef_init, None, X, y, X_unlabeled=U)
    est = estimate_asymptotic_error(truth.coef_init, None, X, y,
                                    X_unlabeled=da.from_array(U, chunks=700))
    np.testing.assert_allclose(est.finetuned, est_ref.finetuned, rtol=1e-10)


@pytest.mark.parametrize("n_extra", [30, 5000])  # pooled rows below / far above d = 100
def test_spectrum_with_dask_extra_equals_in_memory(client, n_extra):
    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 100)) * np.linspace(0.3, 3, 100)
    U = rng.standard_normal((n_extra, 100)) * np.linspace(0.3, 3, 100) - 2.0
    ref = estimate_spectrum(A, extra=U)
    got = estimate_spectrum(A, extra=da.from_array(U, chunks=(1100, 100)))
    assert got.method == ref.method and got.n_rows == ref.n_rows
    np.testing.assert_allclose(got.eigenvalues, ref.eigenvalues, rtol=1e-10)
    np.testing.assert_allclose([got.trace, got.trace_sq], [ref.trace, ref.trace_sq], rtol=1e-10)


def test_row_moments_on_cluster_match_numpy(client):
    rng = np.random.default_rng(5)
    U = rng.standard_normal((3001, 6)) * 2.0 + 50.0
    mom = row_moments(da.from_array(U, chunks=(500, 4)))
    Z = U - U.mean(axis=0)
    e = np.sum(Z**2, axis=1)
    np.testing.assert_allclose(mom.scatter, Z.T @ Z, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose([mom.norm2, mom.norm4], [e.sum(), e @ e], rtol=1e-10)


def test_bad_dask_unlabeled_is_refused_by_name(client):
    X, y, truth = make_transfer_regression(60, 40, random_state=6)
    U = np.random.default_rng(7).standard_normal((500, 40))
    with pytest.raises(ValueError, match="X_unlabeled has entries too large"):
        should_finetune(truth.coef_init, X, y,
                        X_unlabeled=da.from_array(1e160 * U, chunks=100))
    U[123, 4] = np.inf
    with pytest.raises(ValueError, match="X_unlabeled contains NaN or inf"):
        should_finetune(truth.coef_init, X, y, X_unlabeled=da.from_array(U, chunks=100))
    with pytest.raises(ValueError, match="X_unlabeled has 39 features but X has 40"):
        should_finetune(truth.coef_init, X, y, X_unlabeled=da.zeros((500, 39), chunks=100))
