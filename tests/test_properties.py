"""Property-based tests of hostile scales and designs (issue 11, item 4).

Hypothesis draws small problems with hostile structure (duplicated rows, collinear and
constant columns, condition numbers up to 1e12, large offsets) and throws them at the public
entry points at scales from 2^-498 to 2^498 (1e-150 to 1e150), with and without a mantissa
that makes the scaled copy inexact. Each entry point must give the well-scaled problem's
answer in the new units, or a clear error: a ``ValueError`` / ``FloatingPointError``
whose message names the user's argument. Never NaN, never the start returned silently,
never a numpy or scipy traceback, never a ``RuntimeWarning`` (turned into errors here, from
any module).

What "the same answer in the new units" means (``X -> c X``, ``y -> c_y y``):

- regressor: ``coef_init -> (c_y / c) coef_init``, ``intercept_init -> c_y intercept_init``,
  ``alpha -> c^2 alpha`` (``alpha`` weighs squared coefficients against the loss: units of
  ``x^2``); then ``coef_ -> (c_y / c) coef_``, ``intercept_ -> c_y intercept_``, predictions
  ``-> c_y`` predictions. Except at ``alpha = 0`` with an intercept and a non-unique least-
  squares problem: there the intercept is a coordinate of constant feature 1 that does not
  scale with ``X`` (the estimators' documented SGD limit), so the reference is the minimum-
  norm solution of the scaled augmented design itself, computed independently below;
- classifier: labels unchanged, ``coef_init -> coef_init / c``, ``alpha -> c^2 alpha``; the
  decision function and the predicted classes do not change;
- ``should_finetune`` / ``estimate_asymptotic_error``: the decision and the confidence do not
  change, errors scale by ``c_y^2`` (regression; error rates do not change), pulls
  (``recommended_alpha``) by ``c^2``, sample sizes (``helps_intervals``) not at all; the
  intercept's ``alpha = 0`` design again excepted (its own test below);
- theory: ``covariance -> c covariance``, ``delta -> c_y delta / sqrt(c)``,
  ``noise_var -> c_y^2 noise_var``, ``alpha -> c alpha`` (here ``c`` scales the covariance):
  errors scale by ``c_y^2``, ``kappa`` by ``c``;
- command line: files holding the scaled arrays give the library's answer at scale 1 in the
  new units, or one line on stderr and exit status 2.

References are independent of the code under test where one is cheap (``numpy.linalg.lstsq``
at scale 1 for the fits, the limits of the augmented design), else the same function on the
well-scaled problem. Power-of-two scales give the same problem exactly, so there the
tolerance is rounding; with a mantissa the scaled copy is rounded once (relative 1e-16 per
entry) and the tolerance grows with the design's condition number. CI runs these examples
derandomised (``tests/conftest.py``).
"""

import io
import json
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor, should_finetune
from skft._cli._main import main as cli_main
from skft.advice import estimate_asymptotic_error
from skft.advice._scaling import unclassified_fields
from skft.theory import (
    classification_error,
    classification_optimal_alpha,
    finetune_helps_intervals,
    optimal_alpha,
    regression_risk,
)

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# SKFT_PROPERTY_SCALE=20 runs twenty times as many examples (a thorough local search)
SCALE = int(os.environ.get("SKFT_PROPERTY_SCALE", "1"))
ARGUMENTS = re.compile(
    r"(?<![\w-])(X|y|coef_init|intercept_init|alpha|eta0|sample_weight|X_unlabeled|covariance|"
    r"delta|noise_var|mean|n_samples|--X|--y|--coef|--intercept|--unlabeled|--alpha)\b"
)
MANTISSAS = [1.0, 1.0, 1.5, float(np.sqrt(10.0))]  # 1.0 twice: exact scalings are the core
STRUCTURES = ["gaussian", "duplicated_rows", "collinear", "constant_column", "ill_conditioned",
              "offset"]


# ---------------------------------------------------------------------- helpers
def _outcome(fn):
    """``("ok", value)`` or ``("error", exc)`` for a clear error; anything else fails.

    Every RuntimeWarning, whatever module raises it, is an error; a clear error is a
    ValueError or FloatingPointError (or ArithmeticError) whose message names an argument.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            return "ok", fn()
        except (ValueError, ArithmeticError) as exc:
            msg = str(exc)
            assert ARGUMENTS.search(msg), f"error without the argument's name: {exc!r}"
            assert "Traceback" not in msg
            event(f"clear error: {type(exc).__name__}")
            return "error", exc


def _scale(k, mantissa):
    return float(np.ldexp(mantissa, k))


def _tol(mantissa, cond, base=1e-9):
    """Relative tolerance: rounding for an exact scaling; one rounding of every entry
    (1.1e-16) amplified by the condition number otherwise."""
    return base if mantissa == 1.0 else max(base, 1e-14 * cond)


@st.composite
def designs(draw, min_n=3, max_n=14, max_d=12, classification=False):
    """``(X, y, w0, b0, cond, structure)`` of order one, with a hostile structure."""
    n = draw(st.integers(min_n, max_n))
    d = draw(st.integers(1, max_d))
    structure = draw(st.sampled_from(STRUCTURES))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    X = rng.standard_normal((n, d))
    cond = 1.0
    if structure == "duplicated_rows":
        k = draw(st.integers(1, n - 1))
        X[n - k:] = X[rng.integers(0, n - k, size=k)]
    elif structure == "collinear" and d >= 2:
        X[:, 1] = 2.0 ** draw(st.integers(-3, 3)) * X[:, 0]  # exactly collinear
    elif structure == "constant_column":
        X[:, -1] = draw(st.sampled_from([0.0, 1.0, 3.5]))
    elif structure == "ill_conditioned" and min(n, d) >= 2:
        cond = 10.0 ** draw(st.sampled_from([4, 8, 12]))
        U, _, Vt = np.linalg.svd(X, full_matrices=False)
        X = (U * np.logspace(0, -np.log10(cond), U.shape[1])) @ Vt
    elif structure == "offset":
        X = X + 1000.0
        cond = 1e6  # centring cancels about six digits
    event(f"structure {structure}")
    w_star = rng.standard_normal(d) / np.sqrt(d)
    w0 = w_star + 0.5 * rng.standard_normal(d) / np.sqrt(d)
    b0 = float(rng.standard_normal())
    signal = X @ w_star
    if classification:
        y = np.where(signal + 0.3 * rng.standard_normal(n) > np.median(signal), 1, -1)
        assume(np.unique(y).size == 2)
    else:
        y = signal + 0.3 + 0.2 * rng.standard_normal(n)
    return X, y, w0, b0, cond, structure


def _unique(X, fit_intercept, alpha):
    """Whether the fine-tuned model is unique (then scale-equivariant, see the docstring)."""
    A = np.hstack([X, np.ones((X.shape[0], 1))]) if fit_intercept else X
    return alpha > 0 or np.linalg.matrix_rank(A) == A.shape[1]


# ---------------------------------------------------------------------- the fits
@settings(max_examples=60 * SCALE, **SETTINGS)
@given(
    problem=designs(),
    kx=st.integers(-498, 498),
    ky=st.integers(-498, 498),
    mantissa=st.sampled_from(MANTISSAS),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.0, 0.3]),
)
def test_exact_regressor_is_the_rescaled_fit(problem, kx, ky, mantissa, fit_intercept, alpha):
    X, y, w0, b0, cond, _ = problem
    c, cy = _scale(kx, mantissa), _scale(ky, 1.0)
    assume(abs(kx - ky) <= 996)  # coef_init (c_y / c) w0 stays a float64
    Xc, yc = X * c, y * cy
    kw = dict(alpha=alpha * c * c, fit_intercept=fit_intercept, solver="exact")
    status, est = _outcome(lambda: WarmStartSGDRegressor(w0 * (cy / c), b0 * cy, **kw)
                           .fit(Xc, yc))
    assert status == "ok", f"the exact solver refused a problem lstsq solves: {est!r}"
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    n = X.shape[0]
    r = y - X @ w0 - b0
    scale_y = np.sqrt(np.mean(y**2) + np.mean((X @ w0 + b0) ** 2))
    if not (_unique(X, fit_intercept, alpha) or not fit_intercept):
        # alpha = 0, an intercept, not unique: the coefficients depend on the scale of X
        # (the intercept's feature 1 does not scale) but the training predictions are the
        # projection of r on the span of [X, 1], the same at every c; the one float64 route
        # that departs from it is lstsq's rule on [c X, 1] itself, dropping the directions of
        # c X far below the column 1 (then SGD does not move along them either)
        B = np.hstack([X, np.ones((n, 1))])
        exact = B @ np.linalg.lstsq(B, r, rcond=None)[0] + X @ w0 + b0
        A = np.hstack([Xc, np.ones((n, 1))])
        sv = np.linalg.svd(A, compute_uv=False)
        cut = np.finfo(float).eps * max(A.shape) * sv[0]
        rc = yc - Xc @ (w0 * (cy / c)) - b0 * cy
        truncated = (A @ np.linalg.lstsq(A, rc, rcond=None)[0] + yc - rc) / cy
        got = est.predict(Xc) / cy
        # a float64 solver of [c X, 1] is accurate to eps times its condition number
        kept = sv[sv > cut]
        tol = max(1e-14 * kept[0] / kept[-1], 1e-9) * scale_y
        if np.allclose(got, exact, rtol=0, atol=tol):
            event("augmented intercept: the projection on [X, 1]")
        else:
            assert np.any((sv > 0) & (sv <= 100 * cut)), "not the projection on [X, 1]"
            np.testing.assert_allclose(got, truncated, rtol=0, atol=tol)
            event("augmented intercept: lstsq's rank on [c X, 1]")
        return
    # unique, or no intercept: the well-scaled fit from lstsq (independent), ridge rows
    # stacked for alpha > 0; in the new units coef * c_y / c, intercept * c_y
    A = np.hstack([X, np.ones((n, 1))]) if fit_intercept else X
    rhs = r
    if alpha > 0:
        P = np.zeros((X.shape[1], A.shape[1]))
        P[:, : X.shape[1]] = np.sqrt(n * alpha) * np.eye(X.shape[1])
        A, rhs = np.vstack([A, P]), np.r_[r, np.zeros(X.shape[1])]
    u = np.linalg.lstsq(A, rhs, rcond=None)[0]
    v, beta = u[: X.shape[1]], (u[-1] if fit_intercept else 0.0)
    event("unique or no intercept: equivariant")
    fitted_ref = X @ (w0 + v) + b0 + beta
    tol = _tol(mantissa, cond)
    np.testing.assert_allclose(est.predict(Xc) / cy, fitted_ref,
                               atol=max(tol, 1e-9) * scale_y * np.sqrt(cond))
    if cond <= 1e4:  # coefficients themselves (ill-conditioned ones are not determined)
        ref = np.r_[w0 + v, b0 + beta]
        got = np.r_[est.coef_ * (c / cy), est.intercept_ / cy]
        assert np.linalg.norm(got - ref) <= max(tol, 1e-9) * 1e3 * np.linalg.norm(ref)
        if np.linalg.norm(v) > 1e-6 * np.linalg.norm(w0):  # never the start returned silently
            assert np.linalg.norm(got[:-1] - w0) > 0.5 * np.linalg.norm(v)


@settings(max_examples=40 * SCALE, **SETTINGS)
@given(
    problem=designs(classification=True),
    kx=st.integers(-498, 498),
    mantissa=st.sampled_from(MANTISSAS),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.3]),
)
def test_exact_classifier_decides_as_the_well_scaled_one(problem, kx, mantissa, fit_intercept,
                                                         alpha):
    X, y, w0, b0, cond, _ = problem
    assume(_unique(X, fit_intercept, alpha) or not fit_intercept)
    c = _scale(kx, mantissa)
    kw = dict(alpha=alpha, fit_intercept=fit_intercept, solver="exact")
    ref = WarmStartSGDClassifier(w0, b0, **kw).fit(X, y)
    kw["alpha"] = alpha * c * c
    status, est = _outcome(lambda: WarmStartSGDClassifier(w0 / c, b0, **kw).fit(X * c, y))
    assert status == "ok", f"the exact solver refused a problem lstsq solves: {est!r}"
    got, want = est.decision_function(X * c), ref.decision_function(X)
    tol = max(_tol(mantissa, cond), 1e-7) * np.sqrt(cond)
    np.testing.assert_allclose(got, want, atol=tol * (1.0 + np.abs(want).max()))
    clear = np.abs(want) > 10 * tol * (1.0 + np.abs(want).max())
    np.testing.assert_array_equal(est.predict(X * c)[clear], ref.predict(X)[clear])


@settings(max_examples=25 * SCALE, **SETTINGS)
@given(
    problem=designs(min_n=8),
    kx=st.integers(-498, 498),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.3]),
    classify=st.booleans(),
)
def test_sgd_reaches_the_rescaled_limit_or_says_why(problem, kx, fit_intercept, alpha, classify):
    """SGD: the well-scaled problem's exact limit in the new units (to SGD's tolerance), a
    ConvergenceWarning, or a clear error (extreme scales it cannot rescale)."""
    X, y, w0, b0, cond, _ = problem
    assume(_unique(X, fit_intercept, alpha) or not fit_intercept)
    c = _scale(kx, 1.0)
    if classify:
        y = np.where(y > np.median(y), 1, -1)
        assume(np.unique(y).size == 2)
    cls = WarmStartSGDClassifier if classify else WarmStartSGDRegressor
    kw = dict(fit_intercept=fit_intercept, random_state=0, max_iter=300)
    limit = cls(w0, b0, alpha=alpha, solver="exact", fit_intercept=fit_intercept).fit(X, y)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, est = _outcome(
            lambda: cls(w0 / c, b0, alpha=alpha * c * c, solver="sgd", **kw).fit(X * c, y))
    if status == "error":
        return
    assert np.all(np.isfinite(est.coef_)) and np.all(np.isfinite(est.intercept_))
    if any("converge" in str(w.message) or "differ in scale" in str(w.message)
           for w in caught):
        event("sgd: warned")
        return
    want = (limit.decision_function(X) if classify else limit.predict(X))
    got = est.decision_function(X * c) if classify else est.predict(X * c)
    # SGD stops at tol = 1e-6 of relative change: its distance to the limit, amplified by
    # the conditioning of the problem it runs on
    atol = 1e-3 * np.sqrt(cond) * (1.0 + np.abs(want).max())
    np.testing.assert_allclose(got, want, atol=atol)
    event("sgd: converged to the rescaled limit")


def test_sgd_overflow_found_by_hypothesis():
    """[[1e300, 4.9e-114]]: was 'RuntimeWarning: overflow encountered in scalar divide' (the
    ratio of the column scales); now a clear error (SGD cannot rescale this case)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="X has entries of size 1.0e\\+300"), \
                pytest.warns(Warning, match="differ in scale by a factor inf"):
            WarmStartSGDRegressor(None, solver="sgd").fit([[1e300, 4.9e-114]], [0.0])
        est = WarmStartSGDRegressor(None, solver="sgd", fit_intercept=False, tol=None,
                                    max_iter=5)
        with pytest.warns(Warning, match="differ in scale by a factor inf"):
            est.fit([[1e300, 4.9e-114]], [1e300])
        assert np.all(np.isfinite(est.coef_))


# ---------------------------------------------------------------------- the advice
_UNIT_LABELS = re.compile(r"(\balpha=|\bkappa=|debiased squared norm )")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|inf")


def _numbers(text):
    """The numbers of a sentence, each with whether it carries the units of x^2."""
    out = []
    for m in _NUMBER.finditer(text):
        before = text[: m.start()]
        unit = bool(re.search(r"(\balpha=|\bkappa=|debiased squared norm )$", before))
        out.append((m.group(0), unit))
    return out


def _same_sentences(got, want, a):
    """``got`` is ``want`` with its numbers in units of x^2 multiplied by ``a`` (to the
    digits printed) and every other number unchanged: nothing else in the sentences
    carries a unit."""
    assert _NUMBER.sub("#", got) == _NUMBER.sub("#", want)
    for (g, unit), (w, _) in zip(_numbers(got), _numbers(want), strict=True):
        if not unit:
            assert g == w, (got, want)
        elif w != "inf":
            digits = len(w.lower().split("e")[0].lstrip("+-").replace(".", "").lstrip("0"))
            assert float(g) == pytest.approx(float(w) * a, rel=10.0 ** (1 - max(digits, 1)))


def _assert_same_advice(got, want, e, a, rtol, *, recommended=True, sentences=True):
    """``got`` (scale c, c_y) against ``want`` (scale 1): errors * e, pulls * a. Errors are
    compared to ``rtol`` of themselves or of the pretrained error, the problem's own scale (a
    fine-tuned error far below it comes out of a cancellation, which amplifies rounding)."""
    atol = rtol * e * want.pretrained_error.value
    for name in ("pretrained_error", "finetuned_error", "decision_pretrained_error"):
        g, w = getattr(got, name), getattr(want, name)
        assert (g is None) == (w is None), (name, g, w)  # None: no prediction (and why)
        if w is None:
            # the reasons quote pulls (alpha=) in the user's units: compared as sentences
            for gc, wc in zip(got.candidates, want.candidates, strict=True):
                assert (gc.reason is None) == (wc.reason is None)
                if wc.reason is not None:
                    _same_sentences(gc.reason, wc.reason, a)
            continue
        np.testing.assert_allclose([g.value, g.stderr, g.low, g.high],
                                   np.array([w.value, w.stderr, w.low, w.high]) * e,
                                   rtol=rtol, atol=atol, err_msg=name)
    np.testing.assert_allclose(got.gap_stderr, want.gap_stderr * e, rtol=rtol, atol=atol)
    for name in ("loo_error", "gcv_error", "realised_spread"):
        g, w = getattr(got, name), getattr(want, name)
        assert (g is None) == (w is None), name
        if w is not None:
            np.testing.assert_allclose(g, w * e, rtol=rtol, atol=atol, err_msg=name)
    np.testing.assert_allclose(got.curve_finetuned, want.curve_finetuned * e, rtol=rtol,
                               atol=atol)
    assert got.alpha == pytest.approx(want.alpha * a, rel=1e-15)
    np.testing.assert_allclose(np.array(got.helps_intervals, dtype=float).reshape(-1, 2),
                               np.array(want.helps_intervals, dtype=float).reshape(-1, 2),
                               rtol=max(rtol, 1e-9))
    if recommended:
        # the minimum; its place only for an exact scaling (where the error curve is flat, a
        # rounding moves the minimiser of a grid search far)
        np.testing.assert_allclose(got.recommended_error, want.recommended_error * e,
                                   rtol=max(rtol, 1e-6), atol=atol)
        if rtol < 1e-9:
            np.testing.assert_allclose(got.recommended_alpha, want.recommended_alpha * a,
                                       rtol=rtol)
    assert [c.name for c in got.checks] == [c.name for c in want.checks]
    if sentences:  # exact scalings: every internal number is the same, the text too
        for g, w in zip(got.checks, want.checks, strict=True):
            _same_sentences(g.detail, w.detail, a)
        for g, w in zip(got.assumptions + got.fallbacks, want.assumptions + want.fallbacks,
                        strict=True):
            _same_sentences(g, w, a)
    assert "nan" not in got.summary().lower()


def _decisions_agree(got, want, rtol):
    """Decision and confidence equal, unless the reference sits within rounding of a tie."""
    assert (got.finetuned_error is None) == (want.finetuned_error is None)
    if want.finetuned_error is None:  # no prediction (and why): keep the start, not confident
        assert (got.finetune, got.confident) == (want.finetune, want.confident) == (False, False)
        return
    gap = want.finetuned_error.value - want.decision_pretrained_error.value
    z = want._z
    if abs(gap) > 1e3 * rtol * abs(want.pretrained_error.value):
        assert got.finetune == want.finetune
    if abs(abs(gap) - z * want.gap_stderr) > 1e3 * rtol * abs(want.pretrained_error.value):
        assert got.confident == want.confident


@settings(max_examples=20 * SCALE, **SETTINGS)
@given(
    problem=designs(min_n=6, max_n=30, max_d=24),
    kx=st.integers(-480, 480),
    ky=st.integers(-480, 480),
    mantissa=st.sampled_from(MANTISSAS),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.5]),
)
def test_should_finetune_regression_is_scale_equivariant(problem, kx, ky, mantissa,
                                                          fit_intercept, alpha):
    """The advice on (c X, c_y y) is the advice on (X, y) in the new units: decision and
    confidence unchanged, errors * c_y^2, pulls * c^2, sample sizes unchanged. With an
    intercept at alpha = 0 the model itself depends on the scale of X (see the next test):
    there only y is scaled; with an intercept at alpha > 0, the recommended pull is searched
    over both models and may differ where the alpha = 0 one wins at either scale."""
    X, y, w0, b0, cond, structure = problem
    if fit_intercept and alpha == 0:
        kx, mantissa = 0, 1.0
    # an inexact scaling perturbs every entry by ~1e-16, which the advice's eigen-
    # decompositions of X'X amplify by cond^2: beyond cond 1e4 that is no longer rounding
    assume(mantissa == 1.0 or cond <= 1e4)
    c, cy = _scale(kx, mantissa), _scale(ky, 1.0)
    assume(abs(kx - ky) <= 960)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dependent rows, degenerate estimates: said twice
        status, want = _outcome(lambda: should_finetune(w0, X, y, intercept_init=b0, alpha=alpha,
                                                        fit_intercept=fit_intercept))
        assume(status == "ok")  # a refusal at scale 1 (e.g. constant residuals) is tested
        status, got = _outcome(lambda: should_finetune(
            w0 * (cy / c), X * c, y * cy, intercept_init=b0 * cy, alpha=alpha * c * c,
            fit_intercept=fit_intercept))
    assert status == "ok", f"refused at scale 2^{kx}, 2^{ky}: {got!r}"
    exact = mantissa == 1.0
    rtol = 1e-12 if exact else 1e-4
    # with an intercept the alpha = 0 point of the search is the augmented model, whose
    # constant column is 1 / s_x: the same at both scales only when the other model wins
    recommended = not fit_intercept or alpha == 0 or (
        got.recommended_alpha > 0 and want.recommended_alpha > 0)
    _assert_same_advice(got, want, cy * cy, c * c, rtol, recommended=recommended,
                        sentences=exact)
    if exact:
        assert (got.finetune, got.confident) == (want.finetune, want.confident)
        unk, ref = got.unknowns, want.unknowns
        np.testing.assert_allclose(unk.noise_var, ref.noise_var * cy * cy, rtol=1e-12)
        np.testing.assert_allclose(unk.spectrum.eigenvalues, ref.spectrum.eigenvalues * c * c,
                                   rtol=1e-12)
    else:
        _decisions_agree(got, want, rtol)
    event(f"advice {'exact' if exact else 'rounded'} scaling, {structure}")


@settings(max_examples=15 * SCALE, **SETTINGS)
@given(
    problem=designs(min_n=8, max_n=30, max_d=24, classification=True),
    kx=st.integers(-480, 480),
    mantissa=st.sampled_from(MANTISSAS),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.5]),
    multiclass=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_should_finetune_classification_is_scale_equivariant(problem, kx, mantissa,
                                                              fit_intercept, alpha,
                                                              multiclass, seed):
    """Labels carry no unit: error rates and decisions unchanged, pulls * c^2."""
    X, y, w0, b0, cond, _ = problem
    assume(not (fit_intercept and alpha == 0))  # the leave-one-out's model depends on c
    assume(mantissa == 1.0 or cond <= 1e4)  # as for regression
    c = _scale(kx, mantissa)
    coef, b = w0, b0
    if multiclass:
        rng = np.random.default_rng(seed)
        y = np.where(X @ w0 > np.quantile(X @ w0, 0.66), 2, y)
        assume(np.all(np.unique(y, return_counts=True)[1] >= 2))
        coef = np.vstack([w0, -w0, rng.standard_normal(w0.size)])
        b = np.array([b0, -b0, 0.0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, want = _outcome(lambda: should_finetune(coef, X, y, intercept_init=b,
                                                        alpha=alpha, fit_intercept=fit_intercept,
                                                        task="classification"))
        assume(status == "ok")
        status, got = _outcome(lambda: should_finetune(
            coef / c, X * c, y, intercept_init=b, alpha=alpha * c * c,
            fit_intercept=fit_intercept, task="classification"))
    assert status == "ok", f"refused at scale 2^{kx}: {got!r}"
    exact = mantissa == 1.0
    rtol = 1e-12 if exact else 1e-4
    _assert_same_advice(got, want, 1.0, c * c, rtol, sentences=exact)
    if exact:
        assert (got.finetune, got.confident) == (want.finetune, want.confident)
    else:
        _decisions_agree(got, want, rtol)


@settings(max_examples=15 * SCALE, **SETTINGS)
@given(
    problem=designs(min_n=6, max_n=30, max_d=24),
    kx=st.integers(-480, 480),
    ky=st.integers(-480, 480),
    fit_intercept=st.booleans(),
    alpha=st.sampled_from([0.0, 0.5]),
)
def test_predict_asymptotic_error_data_route_is_scale_equivariant(problem, kx, ky,
                                                                  fit_intercept, alpha):
    """``estimate_asymptotic_error`` (the estimators' data route) and the fitted
    estimator's ``predict_asymptotic_error``: errors * c_y^2 at the pulls * c^2."""
    X, y, w0, b0, cond, _ = problem
    assume(not (fit_intercept and alpha == 0) and abs(kx - ky) <= 960)
    c, cy = _scale(kx, 1.0), _scale(ky, 1.0)
    n = X.shape[0]
    grid = dict(alpha=np.array([alpha, 2.0 * alpha + 0.1]), n_samples=[n, 3 * n])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, want = _outcome(lambda: estimate_asymptotic_error(
            w0, b0, X, y, fit_intercept=fit_intercept, task="regression", **grid))
        assume(status == "ok")
        scaled = dict(grid, alpha=grid["alpha"] * c * c)
        status, got = _outcome(lambda: estimate_asymptotic_error(
            w0 * (cy / c), b0 * cy, X * c, y * cy, fit_intercept=fit_intercept,
            task="regression", **scaled))
        assert status == "ok", got
        np.testing.assert_allclose(got.finetuned, want.finetuned * cy * cy, rtol=1e-12)
        np.testing.assert_allclose(got.pretrained, want.pretrained * cy * cy, rtol=1e-12)
        np.testing.assert_allclose(got.alpha, want.alpha * c * c, rtol=1e-15)
        est = WarmStartSGDRegressor(w0 * (cy / c), b0 * cy, alpha=alpha * c * c,
                                    fit_intercept=fit_intercept, solver="exact")
        status, est = _outcome(lambda: est.fit(X * c, y * cy))
        assert status == "ok", est
        ref = WarmStartSGDRegressor(w0, b0, alpha=alpha, fit_intercept=fit_intercept,
                                    solver="exact").fit(X, y)
        pa = est.predict_asymptotic_error(X * c, y * cy, n_samples=[n, 3 * n])
        pr = ref.predict_asymptotic_error(X, y, n_samples=[n, 3 * n])
    np.testing.assert_allclose(pa.finetuned, np.asarray(pr.finetuned) * cy * cy, rtol=1e-12)


def test_the_intercept_at_alpha_0_is_the_estimator_at_every_scale():
    """With an intercept at alpha = 0 the fine-tuned model is the closest point in
    ||w - w0||^2 + (b - b0)^2: the intercept's feature 1 does not scale with X, so the model
    (and the right advice) changes with the scale of X. The advice's leave-one-out error is
    that of the estimator itself at every scale (brute force: n refits of the exact solver
    on c X, an independent route), and the predicted errors approach the two limits: the
    intercept frozen (c -> inf) and free (c -> 0)."""
    rng = np.random.default_rng(11)
    n, d = 14, 30
    X = rng.standard_normal((n, d)) + 0.4
    w_star = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w_star + 1.5 + 0.3 * rng.standard_normal(n)
    w0, b0 = w_star + 0.4 * rng.standard_normal(d) / np.sqrt(d), 0.2
    advice = {}
    for k in (-40, -20, -6, 0, 6, 20, 40):
        c = 2.0**k
        adv = should_finetune(w0 / c, X * c, y, intercept_init=b0, alpha=0.0)
        advice[k] = adv
        if k == -40:  # the estimator itself is accurate to eps cond([c X, 1]) ~ 1e-4 there
            continue
        errors = []
        for i in range(n):
            keep = np.arange(n) != i
            est = WarmStartSGDRegressor(w0 / c, b0, solver="exact").fit(X[keep] * c, y[keep])
            errors.append(y[i] - est.predict(X[i:i + 1] * c)[0])
        # the advice caps the column's value at 2^13 times the features' scale: the free
        # intercept to within d / 2^26 (module docstring of skft/advice/_scaling.py)
        assert adv.loo_error == pytest.approx(np.mean(np.square(errors)), rel=1e-6)
    # the limits: the same advice beyond them (to the last digit)
    assert advice[40].finetuned_error.value == pytest.approx(advice[20].finetuned_error.value,
                                                             rel=1e-9)
    assert advice[-40].finetuned_error.value == advice[-20].finetuned_error.value
    # and they differ: the setting depends on the scale
    assert advice[40].loo_error != pytest.approx(advice[-40].loo_error, rel=1e-3)


def test_every_field_of_the_advice_is_rescaled_or_free_of_units():
    """A field added to FinetuneAdvice or the unknowns must be classified in
    skft/advice/_scaling.py (in the user's units, or free of units), else the advice would
    return it in the internal units."""
    assert unclassified_fields() == {}


# ---------------------------------------------------------------------- the theory
@st.composite
def spectra(draw):
    """Eigenvalues with zeros, ties and spreads up to 1e12, a shift, a class mean, a start."""
    d = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["flat", "spread", "zeros", "ties"]))
    ev = np.ones(d)
    if kind == "spread":
        ev = 10.0 ** rng.uniform(-12, 0, d)
    elif kind == "zeros":
        ev = rng.uniform(0.1, 1.0, d) * (rng.random(d) < 0.5)
        assume(ev.any())
    elif kind == "ties":
        ev = rng.choice([0.2, 1.0, 3.0], d)
    event(f"spectrum {kind}")
    delta = rng.standard_normal(d) / np.sqrt(d)
    mu = 0.3 * rng.standard_normal(d)
    w0 = mu + 0.5 * rng.standard_normal(d)
    return ev, delta, mu, w0


@settings(max_examples=40 * SCALE, **SETTINGS)
@given(
    spec=spectra(),
    kx=st.integers(-240, 240),
    ky=st.integers(-240, 240),
    noise=st.sampled_from([0.0, 0.1, 1.0]),
    alpha=st.sampled_from([0.0, 0.05]),
    matrix=st.booleans(),
)
def test_theory_is_scale_equivariant(spec, kx, ky, noise, alpha, matrix):
    """covariance * c (c = 4^kx, so that sqrt(c) is exact), delta * c_y / sqrt(c), noise_var
    * c_y^2, alpha * c: errors * c_y^2, kappa * c, error rates and sample sizes unchanged;
    or a clear error. The reference is the same function at scale 1."""
    ev, delta, mu, w0 = spec
    c, rc, cy = _scale(2 * kx, 1.0), _scale(kx, 1.0), _scale(ky, 1.0)
    d = ev.size
    n = np.array([max(d // 2, 1), d + 3, 4 * d], dtype=float)
    if matrix:
        Q = np.linalg.qr(np.random.default_rng(d).standard_normal((d, d)))[0]
        cov, delta_in, mu_in, w0_in = (Q * ev) @ Q.T, Q @ delta, Q @ mu, Q @ w0
        cov = (cov + cov.T) / 2
    else:
        cov, delta_in, mu_in, w0_in = ev, delta, mu, w0
    e = cy * cy
    # a matrix is diagonalised first: its small eigenvalues carry eps * cond of rounding
    pos = ev[ev > 0]
    rtol = 1e-9 + (1e-15 * pos.max() / pos.min() if matrix else 0.0)
    ref = regression_risk(cov, delta_in, noise, n, alpha)
    status, got = _outcome(lambda: regression_risk(cov * c, delta_in * (cy / rc), noise * e, n,
                                                   alpha * c))
    assert status == "ok", got
    np.testing.assert_allclose(got.finetuned, ref.finetuned * e, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(got.kappa, ref.kappa * c, rtol=rtol, atol=0)
    assert not np.any(np.isnan(got.finetuned))
    ref_c = classification_error(cov, mu_in, w0_in, n, alpha)
    status, got_c = _outcome(lambda: classification_error(cov * c, mu_in * rc, w0_in / rc, n,
                                                          alpha * c))
    assert status == "ok", got_c
    np.testing.assert_allclose(got_c.finetuned, ref_c.finetuned, rtol=rtol, atol=1e-300)
    assert got_c.pretrained == pytest.approx(ref_c.pretrained, rel=max(rtol, 1e-12))
    if not matrix and noise > 0:  # the derived answers (a search each: the cheaper case)
        ref_o = optimal_alpha(ev, delta, noise, n[:2])
        status, got_o = _outcome(lambda: optimal_alpha(ev * c, delta * (cy / rc), noise * e,
                                                       n[:2]))
        assert status == "ok", got_o
        np.testing.assert_allclose(got_o.alpha, ref_o.alpha * c, rtol=1e-6)
        np.testing.assert_allclose(got_o.error, ref_o.error * e, rtol=1e-9)
        ref_h = finetune_helps_intervals(ev, delta, noise, n_max=8 * d + 40)
        got_h = finetune_helps_intervals(ev * c, delta * (cy / rc), noise * e,
                                         n_max=8 * d + 40)
        np.testing.assert_allclose(np.array(got_h.intervals, dtype=float).reshape(-1, 2),
                                   np.array(ref_h.intervals, dtype=float).reshape(-1, 2),
                                   rtol=1e-8)
        ref_co = classification_optimal_alpha(ev, mu, w0, n[:2])
        got_co = classification_optimal_alpha(ev * c, mu * rc, w0 / rc, n[:2])
        np.testing.assert_allclose(got_co.error, ref_co.error, rtol=1e-9)


@settings(max_examples=25 * SCALE, **SETTINGS)
@given(
    spec=spectra(),
    bad=st.sampled_from(["nan_cov", "negative_cov", "inf_delta", "shape", "n", "alpha"]),
)
def test_theory_refuses_bad_input_by_name(spec, bad):
    """Invalid input: a ValueError naming the argument, never NaN or a numpy traceback."""
    ev, delta, _, _ = spec
    args = dict(covariance=ev.copy(), delta=delta.copy(), noise_var=0.1, n_samples=10.0,
                alpha=0.0)
    if bad == "nan_cov":
        args["covariance"][0] = np.nan
    elif bad == "negative_cov":
        args["covariance"][0] = -1.0
    elif bad == "inf_delta":
        args["delta"][0] = np.inf
    elif bad == "shape":
        args["delta"] = np.r_[args["delta"], 1.0]
    elif bad == "n":
        args["n_samples"] = -3.0
    else:
        args["alpha"] = -1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError) as info:
            regression_risk(**args)
    assert ARGUMENTS.search(str(info.value)), info.value


# ---------------------------------------------------------------------- the command line
def _advise(tmp_path, X, y, coef, *extra):
    np.savetxt(tmp_path / "X.csv", X, delimiter=",", fmt="%r")
    np.savetxt(tmp_path / "y.csv", y, fmt="%r")
    np.save(tmp_path / "coef.npy", coef)
    out, err = io.StringIO(), io.StringIO()
    code = cli_main(["advise", "--X", str(tmp_path / "X.csv"), "--y", str(tmp_path / "y.csv"),
                     "--coef", str(tmp_path / "coef.npy"), "--json", *extra],
                    stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=8 * SCALE, **SETTINGS)
@given(
    problem=designs(min_n=8, max_n=24, max_d=16),
    kx=st.integers(-480, 480),
    ky=st.integers(-480, 480),
    alpha=st.sampled_from([0.0, 0.5]),
)
def test_command_line_answers_in_the_new_units_or_says_one_line(tmp_path_factory, problem, kx,
                                                                ky, alpha):
    """Files written at any scale (text with every digit, .npy): exit 0 with the library's
    answer at scale 1 in the new units, or exit 2 with one line naming the input."""
    X, y, w0, b0, cond, _ = problem
    assume(abs(kx - ky) <= 960)
    c, cy = _scale(kx, 1.0), _scale(ky, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        status, want = _outcome(lambda: should_finetune(w0, X, y, intercept_init=b0,
                                                        alpha=alpha, fit_intercept=False,
                                                        task="regression"))
    assume(status == "ok")
    tmp = tmp_path_factory.mktemp("cli")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        code, out, err = _advise(tmp, X * c, y * cy, w0 * (cy / c), "--intercept",
                                 repr(b0 * cy), "--no-intercept", "--task", "regression",
                                 "--alpha", repr(alpha * c * c))
    if code != 0:
        lines = err.strip().splitlines()
        assert code == 2 and out == "" and len(lines) == 1, err
        assert ARGUMENTS.search(lines[0]), lines[0]
        event("command line: one-line error")
        return
    got = json.loads(out)
    assert got["finetune"] == want.finetune and got["confident"] == want.confident
    e = cy * cy
    np.testing.assert_allclose(got["finetuned_error"]["value"], want.finetuned_error.value * e,
                               rtol=1e-12)
    np.testing.assert_allclose(got["pretrained_error"]["value"],
                               want.pretrained_error.value * e, rtol=1e-12)
    event("command line: the rescaled answer")
