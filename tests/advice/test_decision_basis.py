"""Classification: which pretrained error the decision compares with (issue 4).

``pretrained_error`` is always the counted rate; the decision (and the intervals of n and the
recommended alpha) uses the Gaussian-margin estimate when a per-class Shapiro-Wilk test
(Fisher-combined, level 0.01) does not reject normality of the pretrained margins, else the
count.
"""

import json
import warnings

import numpy as np
import pytest
from scipy.special import ndtr

from skft.advice import DegenerateEstimateWarning, should_finetune
from skft.advice._margins import (
    NORMALITY_LEVEL,
    gaussian_margin_error,
    margin_normality_pvalue,
)
from skft.datasets import exact_test_error, make_transfer_classification


def _gaussian_margin_by_hand(margin, y):
    """``sum_k pi_k Phi(-mean_k / s)``, ``s`` the pooled within-class standard deviation."""
    m = y * margin
    parts = [m[y > 0], m[y < 0]]
    ss = sum(np.sum((p - p.mean()) ** 2) for p in parts)
    s = np.sqrt(ss / (m.size - 2))
    return sum(p.size / m.size * ndtr(-p.mean() / s) for p in parts)


def test_gaussian_margins_use_the_gaussian_margin_estimate():
    # Gaussian features: the margins x'w0 are exactly Gaussian within each class, so the test
    # rejects with probability 1% per data set; 2 or more rejections among 5 has
    # probability 0.1%.
    used = 0
    for seed in range(5):
        X, y, truth = make_transfer_classification(120, 300, separation=1.5, random_state=seed)
        w0 = truth.coef_init
        adv = should_finetune(w0, X, y, alpha=0.1, fit_intercept=False)
        counted = np.mean(np.where(X @ w0 > 0, 1.0, -1.0) != y)
        assert adv.pretrained_error.value == counted  # the report stays the count
        if adv.decision_basis != "gaussian_margin":
            continue
        used += 1
        dec = adv.decision_pretrained_error
        assert dec.value == pytest.approx(_gaussian_margin_by_hand(X @ w0, y), rel=1e-12)
        assert adv.normality_pvalue >= NORMALITY_LEVEL
        # the decision, its uncertainty, the intervals of n and the recommended alpha all
        # compare with the decision's estimate
        assert adv.finetune == (adv.finetuned_error.value < dec.value)
        assert adv.gap_stderr == pytest.approx(np.hypot(adv.finetuned_error.stderr, dec.stderr))
        assert adv.recommended_error <= dec.value
        if not np.isfinite(adv.recommended_alpha):
            assert adv.recommended_error == dec.value
        text = adv.summary()
        assert "decision's pretrained error: Gaussian-margin estimate" in text
        assert "(Gaussian)" in text
        assert "Gaussian-margin estimate" in adv.assumptions[-1]
        d = json.loads(json.dumps(adv.to_dict()))
        assert d["decision_basis"] == "gaussian_margin"
        assert d["decision_pretrained_error"]["value"] == pytest.approx(dec.value)
        assert d["normality_pvalue"] == pytest.approx(adv.normality_pvalue)
    assert used >= 4


def test_gaussian_margin_estimate_beats_the_count_when_margins_are_gaussian():
    # the justification of the rule: on Gaussian margins the parametric estimate is closer
    # to the exact pretrained error than the count. At error rates near 8% (these problems)
    # the delta method gives a variance ratio of about 0.57; mean squared errors over 60 data
    # sets must be below 0.8 of the count's.
    sq_gauss, sq_count = [], []
    for seed in range(60):
        X, y, truth = make_transfer_classification(
            100, 200, separation=2.0, shift=1.0, random_state=seed
        )
        w0 = truth.coef_init
        true = exact_test_error(truth, w0)
        margin = X @ w0
        sq_gauss.append((gaussian_margin_error(margin, y)[0] - true) ** 2)
        sq_count.append((np.mean(np.where(margin > 0, 1.0, -1.0) != y) - true) ** 2)
    ratio = np.mean(sq_gauss) / np.mean(sq_count)
    assert ratio < 0.8, ratio


def test_normality_test_has_its_level():
    # Gaussian margins, unequal classes and an offset: the Fisher-combined per-class test
    # rejects at about its level 0.01 (testing the pooled
    # margins, a two-class mixture, would reject far more often with this offset)
    rng = np.random.default_rng(0)
    rejections = 0
    for _ in range(1000):
        y = np.where(rng.random(60) < 0.3, 1.0, -1.0)
        margin = 0.8 * y + 2.0 + rng.standard_normal(60)
        p = margin_normality_pvalue(margin, y)
        rejections += p is not None and p < NORMALITY_LEVEL
    # 1000 draws at level 0.01: 10 expected, sd ~3.2; both sides (a test that never rejects
    # would pass an upper bound alone)
    assert 1 <= rejections <= 20


def test_skewed_margins_use_the_count():
    # features from a skewed distribution and a start concentrated on a few of them: the
    # central limit theorem does not make the margins Gaussian, the test rejects, and the
    # decision compares with the count
    rng = np.random.default_rng(0)
    n, d = 150, 60
    y = rng.choice([-1.0, 1.0], n)
    mu = np.zeros(d)
    mu[:3] = 0.6
    X = y[:, None] * mu + rng.exponential(size=(n, d)) - 1.0
    w0 = np.zeros(d)
    w0[:3] = 1.0
    w0 += 0.05 * rng.standard_normal(d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateEstimateWarning)
        adv = should_finetune(w0, X, y, alpha=0.1, fit_intercept=False)
    assert adv.decision_basis == "counted"
    assert adv.normality_pvalue < NORMALITY_LEVEL
    assert adv.decision_pretrained_error == adv.pretrained_error
    assert adv.finetune == (adv.finetuned_error.value < adv.pretrained_error.value)
    assert "normality of the margins within each class rejected" in adv.summary()
    assert adv.to_dict()["decision_basis"] == "counted"


def test_untestable_normality_uses_the_count():
    # a class with 2 samples: Shapiro-Wilk needs 3, the count is used and the reason said
    X, y, truth = make_transfer_classification(40, 80, random_state=0)
    keep = np.r_[np.flatnonzero(y > 0)[:2], np.flatnonzero(y < 0)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateEstimateWarning)
        adv = should_finetune(truth.coef_init, X[keep], y[keep], alpha=0.1)
    assert adv.decision_basis == "counted" and adv.normality_pvalue is None
    assert "fewer than 3 samples" in adv.decision_basis_reason
    assert margin_normality_pvalue(np.ones(5), np.array([1.0, 1.0, -1.0, -1.0, -1.0])) is None


def test_large_classes_are_tested_on_a_subsample_without_warning():
    # scipy warns that Shapiro-Wilk's p-value may be inaccurate above 5000 samples: at most
    # 5000 evenly spaced margins per class are tested
    rng = np.random.default_rng(0)
    y = np.where(np.arange(24000) % 2 == 0, 1.0, -1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p_normal = margin_normality_pvalue(y + rng.standard_normal(y.size), y)
        p_skewed = margin_normality_pvalue(y + rng.exponential(size=y.size), y)
    assert p_normal > NORMALITY_LEVEL and p_skewed < 1e-6


def test_multiclass_reports_the_basis_per_class():
    """Multiclass decides on the argmax error (counted for the start: a 20-line reference
    here); the one-vs-rest problems keep their own bases in ``per_class``."""
    X, y, truth = make_transfer_classification(150, 60, random_state=1)
    y3 = np.arange(150) % 3
    coef = np.vstack([truth.coef_init, -truth.coef_init, 0.5 * truth.coef_init])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateEstimateWarning)
        adv = should_finetune(coef, X, y3, alpha=0.1)
    counted = float(np.mean(np.argmax(X @ coef.T, axis=1) != y3))
    assert adv.decision_basis == "counted"
    assert adv.decision_pretrained_error.value == pytest.approx(counted)
    assert adv.pretrained_error.value == pytest.approx(counted)
    assert adv.finetune == (adv.finetuned_error.value < counted)
    ovr = np.mean(np.where(X @ coef.T > 0, 1, -1) != np.where(y3[:, None] == np.arange(3), 1, -1),
                  axis=0)
    np.testing.assert_allclose(adv.pretrained_per_class, ovr)
    d = adv.to_dict()
    assert [c["decision_basis"] for c in d["per_class"]] == [
        a.decision_basis for a in adv.per_class
    ]
