"""When does fine-tuning pay: intervals, closed forms, consistency with the risk."""

import numpy as np
import pytest

from skft.theory import (
    classification_error,
    classification_finetune_helps_intervals,
    finetune_helps_intervals,
    isotropic_threshold,
    regression_risk,
)

RNG = np.random.default_rng(3)


@pytest.mark.parametrize("s2", [0.05, 0.5, 1.5])
def test_isotropic_intervals_match_closed_form(s2):
    d = 500
    delta = RNG.standard_normal(d) / np.sqrt(d)
    e = delta @ delta
    found = finetune_helps_intervals(np.ones(d), delta, s2)
    closed = isotropic_threshold(d, e, s2)
    assert len(found.intervals) == len(closed.intervals)
    for (a, b), (c, e_) in zip(found.intervals, closed.intervals, strict=True):
        assert a == pytest.approx(c, rel=1e-9, abs=1e-9)
        assert b == pytest.approx(e_, rel=1e-9)


def test_isotropic_threshold_cases():
    assert isotropic_threshold(100, 1.0, 0.0).intervals == ((0.0, np.inf),)
    assert isotropic_threshold(100, 1.0, 2.0).intervals == ((300.0, np.inf),)
    assert isotropic_threshold(100, 0.0, 1.0).intervals == ()
    with pytest.raises(ValueError, match="excess_risk"):
        isotropic_threshold(100, -1.0, 1.0)
    with pytest.raises(ValueError, match="noise_var"):
        isotropic_threshold(100, 1.0, -1.0)
    with pytest.raises(ValueError, match="n_features"):
        isotropic_threshold(0, 1.0, 1.0)


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.5])
def test_intervals_agree_with_risk_on_a_fine_grid(alpha):
    d = 300
    lam = np.arange(1, d + 1.0) ** -0.8
    lam *= d / lam.sum()
    delta = RNG.standard_normal(d) * np.sqrt(lam) / np.sqrt(d) * 1.2
    s2 = 0.15
    res = finetune_helps_intervals(lam, delta, s2, alpha, n_max=3000)
    n = np.geomspace(0.5, 3000, 4000)
    n = n[np.abs(n - d) > 1e-6]
    risk = regression_risk(lam, delta, s2, n, alpha)
    helps = risk.finetuned < risk.pretrained
    # away from the endpoints (relative 1e-6) the intervals say exactly where it helps
    ends = np.array([x for iv in res.intervals for x in iv if np.isfinite(x) and x > 0])
    far = (
        np.all(np.abs(n[:, None] - ends[None, :]) > 1e-6 * n[:, None], axis=1)
        if ends.size
        else np.ones(n.size, bool)
    )
    np.testing.assert_array_equal(res.helps(n)[far], helps[far])
    # endpoints are roots of R_ft - R_pre (or the peak n = d)
    for x in ends:
        if x != d:
            val = regression_risk(lam, delta, s2, x, alpha).finetuned
            assert val == pytest.approx(risk.pretrained, rel=1e-8)


def test_classification_intervals_agree_with_error():
    d = 200
    lam = np.where(np.arange(d) < 40, 3.0, 0.5)
    mean = RNG.standard_normal(d) * 0.1
    w0 = mean + RNG.standard_normal(d) * 0.15
    res = classification_finetune_helps_intervals(lam, mean, w0, 0.0, n_max=4000)
    n = np.geomspace(0.5, 4000, 3000)
    err = classification_error(lam, mean, w0, n)
    helps = err.finetuned < err.pretrained
    ends = np.array([x for iv in res.intervals for x in iv if np.isfinite(x) and x > 0])
    far = np.all(np.abs(n[:, None] - ends[None, :]) > 1e-6 * n[:, None], axis=1)
    np.testing.assert_array_equal(res.helps(n)[far], helps[far])
    assert res.intervals  # this problem does have a helping range


def test_bad_input_derived():
    with pytest.raises(ValueError, match="alpha"):
        finetune_helps_intervals(np.ones(5), np.ones(5), 1.0, -1.0)
    with pytest.raises(ValueError, match="n_max"):
        finetune_helps_intervals(np.ones(5), np.ones(5), 1.0, n_max=-3)


def test_edge_cases_of_the_peak():
    d = 100
    # noiseless: the fine-tuned risk is 0 at n = d, no peak, helps everywhere
    found = finetune_helps_intervals(np.ones(d), np.ones(d) / 10, 0.0)
    assert found.intervals == isotropic_threshold(d, 1.0, 0.0).intervals
    # a pretrained classifier worse than a coin flip: the peak (error 1/2) still helps
    mean = np.ones(d) / 20
    assert classification_finetune_helps_intervals(np.ones(d), mean, -mean).intervals == (
        (0.0, np.inf),
    )
    # the Bayes-optimal direction as a start: fine-tuning never helps
    assert classification_finetune_helps_intervals(np.ones(d), mean, mean).intervals == ()


def test_each_boundary_counted_once_at_the_interpolation_threshold():
    # helps below the pole at n = rank, hurts on (rank, 56.2), helps after: the pole is one
    # boundary and 56.2 another; the old search counted the pole twice: (0,55) U (55, 56.2)
    from skft.theory._derived import _helps_intervals

    rank, other, pre = 55.0, 56.2, 1.0

    def finetuned(n):
        n = np.asarray(n, dtype=float)
        return np.where(n < rank, 0.5, np.where(n < other, 2.0, 0.5))

    res = _helps_intervals(finetuned, pre, rank, 0.0, None, 400)
    assert len(res.intervals) == 2
    (a0, b0), (a1, b1) = res.intervals
    assert a0 == 0 and b0 == rank and b1 == np.inf
    np.testing.assert_allclose(a1, other, rtol=1e-9)
