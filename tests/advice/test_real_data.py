"""Advice against the truth on transfer scenarios built from scikit-learn's bundled data."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import Ridge

from skft.advice import DegenerateEstimateWarning, should_finetune


def finetune_with_intercept(X, y, w0, b0, alpha):
    """Reference fine-tuned model (NumPy): intercept unpenalised for alpha > 0, one more
    coordinate with feature 1 moved by the least-norm change for alpha = 0."""
    n, d = X.shape
    if alpha > 0:
        Xc = X - X.mean(axis=0)
        r = y - X @ w0
        A = Xc.T @ Xc + n * alpha * np.eye(d)
        w = w0 + np.linalg.solve(A, Xc.T @ (r - r.mean()))
        return w, float(np.mean(y - X @ w))
    Z = np.hstack([X, np.ones((n, 1))])
    c = np.linalg.pinv(Z) @ (y - X @ w0 - b0)
    return w0 + c[:d], b0 + c[d]


def diabetes(n_ft, seed):
    """Pretrained on one sex, fine-tuned on a few patients of the other."""
    X, y = load_diabetes(return_X_y=True)
    sex = X[:, 1] > 0
    src = Ridge(alpha=0.1).fit(X[~sex], y[~sex])
    idx = np.random.default_rng(seed).permutation(np.flatnonzero(sex))
    return src, X[idx[:n_ft]], y[idx[:n_ft]], X[idx[n_ft:]], y[idx[n_ft:]], "regression"


def digits(n_ft, seed):
    """3 vs 8, pretrained on upright images, target images shifted one pixel right."""
    X, y = load_digits(return_X_y=True)
    keep = np.isin(y, [3, 8])
    X, y = X[keep] / 16.0, np.where(y[keep] == 8, 1.0, -1.0)
    p = np.random.default_rng(seed).permutation(y.size)
    X, y = X[p], y[p]
    half = y.size // 2
    src = Ridge(alpha=1.0).fit(X[:half], y[:half])
    Xt = np.roll(X[half:].reshape(-1, 8, 8), 1, axis=2).reshape(-1, 64)
    yt = y[half:]
    return src, Xt[:n_ft], yt[:n_ft], Xt[n_ft:], yt[n_ft:], "classification"


def cancer(n_ft, seed):
    """Pretrained on small tumours (mean radius below average), target: large ones."""
    X, y = load_breast_cancer(return_X_y=True)
    X = (X - X.mean(0)) / X.std(0)
    y = np.where(y == 1, 1.0, -1.0)
    big = X[:, 0] > 0
    src = Ridge(alpha=1.0).fit(X[~big], y[~big])
    idx = np.random.default_rng(seed).permutation(np.flatnonzero(big))
    return src, X[idx[:n_ft]], y[idx[:n_ft]], X[idx[n_ft:]], y[idx[n_ft:]], "classification"


def truth_and_advice(scenario, n_ft, alpha, seed=0):
    src, X, y, Xte, yte, task = scenario(n_ft, seed)
    w, b = finetune_with_intercept(X, y.astype(float), src.coef_, src.intercept_, alpha)
    if task == "regression":
        pre = np.mean((yte - Xte @ src.coef_ - src.intercept_) ** 2)
        ft = np.mean((yte - Xte @ w - b) ** 2)
    else:
        pre = np.mean(np.sign(Xte @ src.coef_ + src.intercept_) != yte)
        ft = np.mean(np.sign(Xte @ w + b) != yte)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateEstimateWarning)
        adv = should_finetune(src, X, y, alpha=alpha, task=task, X_unlabeled=Xte)
    return pre, ft, adv


@pytest.mark.parametrize("scenario", [diabetes, digits, cancer])
def test_confident_advice_matches_the_truth(scenario):
    # Truth: errors of both models on the held-out rest of the target part. Whenever the
    # advice claims confidence, it must agree with the truth.
    for n_ft in (15, 40, 100):
        for alpha in (0.0, 0.1):
            pre, ft, adv = truth_and_advice(scenario, n_ft, alpha)
            if adv.confident:
                assert adv.finetune == (ft < pre), (scenario.__name__, n_ft, alpha, pre, ft)
            assert "leave-one-out" in adv.summary()


# cancer: 30 strongly correlated features, pretrained margins far from Gaussian. It was an
# xfail while the pretrained error was Phi(-mean/std) of the margins (0.19 against 0.08
# true at n=40); the decision now uses that Gaussian-margin estimate only when normality of
# the margins within each class is not rejected (test below), else the counted rate.
def test_advice_right_where_the_true_gap_is_large():
    # digits (3 vs 8, about balanced): where one model's true error is more than 1.5 times
    # the other's, the decision (even when not confident) must be right
    checked = 0
    for n_ft in (15, 40, 100):
        for alpha in (0.0, 0.1):
            pre, ft, adv = truth_and_advice(digits, n_ft, alpha)
            if max(pre, ft) > 1.5 * min(pre, ft):
                checked += 1
                assert adv.finetune == (ft < pre), ("digits", n_ft, alpha, pre, ft)
    assert checked >= 2


def test_cancer_imbalanced_classes_are_flagged_and_decided_by_leave_one_out():
    # breast cancer, large tumours: mostly malignant (27 to 35 of 40 in one class), so the
    # theory's equally-likely classes do not hold (issue 8): the class_balance check fails
    # from 40 samples on,
    # the advice is never confident, and the decision follows the assumption-free
    # leave-one-out error rate against the counted pretrained rate. Where the true gap is
    # large (> 1.5x) over seeds 0-5 that is right in 17 of 22 cases (the former theory
    # decision: 18 of 22; the bare leave-one-out comparison: 18 of 22): at least 70% here.
    right = total = 0
    for seed in range(6):
        for n_ft in (15, 40, 100):
            for alpha in (0.0, 0.1):
                pre, ft, adv = truth_and_advice(cancer, n_ft, alpha, seed)
                balance = next(c for c in adv.checks if c.name == "class_balance")
                if n_ft >= 40:  # (at 15 samples the binomial test cannot tell)
                    assert not balance.passed and not adv.confident
                    assert "class_balance" in adv.summary()
                if max(pre, ft) > 1.5 * min(pre, ft):
                    total += 1
                    right += adv.finetune == (ft < pre)
    assert total >= 15 and right >= 0.7 * total, (right, total)


def test_cancer_margins_are_not_gaussian_and_the_count_decides():
    # the normality test of the pretrained margins (Shapiro-Wilk per class, Fisher-combined,
    # level 0.01) rejects on breast cancer from 40 samples: the decision uses the count,
    # whose estimate (0.15 at n = 40) is nearer the truth than the Gaussian-margin one (0.19)
    for n_ft in (40, 100):
        pre, _, adv = truth_and_advice(cancer, n_ft, 0.1)
        assert adv.decision_basis == "counted", (n_ft, adv.normality_pvalue)
        assert adv.decision_pretrained_error == adv.pretrained_error
        assert "rejected" in adv.summary()
