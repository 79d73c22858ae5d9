"""The pretrained classifier's error rate on the target labels: counted or Gaussian-margin.

The pretrained error is *measured*: the error rate of ``sign(X w0 + b0)`` counted on the
target labels (the pretrained model never saw them, so the count is unbiased), with a Wilson
score interval. Under the theory's model the pretrained margins ``m_i = y_i (x_i'w0 + b0)``
are, within each class, Gaussian with a common variance, and then the *Gaussian-margin*
estimate ``sum_k pi_k Phi(-mean_k / s)`` is the efficient one; it is used for the decision
when a Shapiro-Wilk test of the margins within each class does not reject normality
(:func:`decision_pretrained_error`).
"""

import numpy as np
from scipy.special import ndtr
from scipy.stats import combine_pvalues, shapiro

__all__ = [
    "decision_pretrained_error",
    "gaussian_margin_error",
    "margin_normality_pvalue",
    "wilson_interval",
]

#: Level of the normality test of the pretrained margins (Fisher-combined over the two classes).
NORMALITY_LEVEL = 0.01
#: Shapiro-Wilk is run on at most this many margins per class (scipy's p-value is accurate
#: up to 5000; evenly spaced samples of a larger class are tested).
SHAPIRO_MAX_SAMPLES = 5000


def wilson_interval(errors, n, z):
    """Counted error rate ``errors / n``, its standard error and Wilson score interval.

    The interval is ``(c -+ h)`` with ``c = (p + z^2/(2n)) / (1 + z^2/n)`` and
    ``h = z sqrt(p (1 - p)/n + z^2/(4 n^2)) / (1 + z^2/n)``; the standard error reported is
    ``h / z`` (the binomial ``sqrt(p (1 - p)/n)`` up to ``O(1/n)``, but positive at ``p = 0``).

    Parameters
    ----------
    errors : int
        Number of misclassified samples.
    n : int
        Number of samples.
    z : float
        Normal quantile of the interval's level.

    Returns
    -------
    rate, stderr, low, high : float

    Examples
    --------
    >>> from skft.advice._margins import wilson_interval
    >>> [round(v, 3) for v in wilson_interval(0, 40, 1.96)]
    [0.0, 0.022, 0.0, 0.088]
    """
    p = errors / n
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z * np.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n)) / (1.0 + z2n)
    return float(p), float(half / z), float(max(centre - half, 0.0)), float(min(centre + half, 1.0))


def _class_margins(margin, y_pm):
    """Margins ``y_i (x_i'w0 + b0)`` of the classes +1 and -1 (in this order)."""
    m = y_pm * np.asarray(margin, dtype=float)
    return [m[y_pm > 0], m[y_pm < 0]]


def gaussian_margin_error(margin, y_pm):
    """Gaussian-margin estimate of an error rate and its standard error.

    Under the two-class mixture ``x = y mu + z`` (``z`` independent of ``y``) the margin
    ``y (x'w + b)`` of a fixed classifier is, within class ``k``, ``N(t + y_k b, q)``
    (Gaussian when the central limit theorem over the coordinates applies), so the error rate
    is ``sum_k pi_k Phi(-m_k / s)`` with ``m_k`` the mean margin of class ``k``, ``s^2`` the
    pooled within-class variance (``n - 2`` degrees of freedom) and ``pi_k`` the class
    proportion. By the delta method (``m_k`` and ``s`` independent under normality) its
    variance is ``sum_k pi_k^2 phi_k^2 / n_k + (sum_k pi_k phi_k s_k)^2 / (2 (n - 2))
    + pi (1 - pi) (Phi(-s_+) - Phi(-s_-))^2 / n`` with ``s_k = m_k / s`` and
    ``phi_k = phi(s_k)``; with one class it reduces to ``phi(s)^2 (1 + s^2/2) / n``.

    Parameters
    ----------
    margin : ndarray of shape (n_samples,)
        Decision values ``x_i'w + b``.
    y_pm : ndarray of shape (n_samples,)
        Labels coded -1/+1, each class with at least one sample and ``n_samples >= 3``.

    Returns
    -------
    error, stderr : float
        ``nan`` when the pooled within-class variance is 0.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import ndtr
    >>> from skft.advice._margins import gaussian_margin_error
    >>> rng = np.random.default_rng(0)
    >>> y = np.where(np.arange(400) % 2 == 0, 1.0, -1.0)
    >>> margin = y * (1.5 + rng.standard_normal(400))   # true error Phi(-1.5)
    >>> round(float(ndtr(-1.5)), 3)
    0.067
    >>> err, se = gaussian_margin_error(margin, y)
    >>> round(err, 3), round(se, 4)
    (0.071, 0.0098)
    >>> counted = float(np.mean(np.sign(margin) != y))   # the count and its standard error
    >>> round(counted, 3), round(float(np.sqrt(counted * (1 - counted) / 400)), 4)
    (0.042, 0.0101)
    """
    parts = [p for p in _class_margins(margin, y_pm) if p.size]
    n = sum(p.size for p in parts)
    dof = n - len(parts)
    ss = sum(float(np.sum((p - p.mean()) ** 2)) for p in parts)
    if not (dof > 0 and ss > 0):
        return float("nan"), float("nan")
    s = np.sqrt(ss / dof)
    pi = np.array([p.size / n for p in parts])
    snr = np.array([p.mean() / s for p in parts])
    tail = ndtr(-snr)
    phi = np.exp(-0.5 * snr**2) / np.sqrt(2 * np.pi)
    var = np.sum(pi**2 * phi**2 / np.array([p.size for p in parts]))
    var += np.sum(pi * phi * snr) ** 2 / (2.0 * dof)
    if len(parts) == 2:
        var += pi[0] * pi[1] * (tail[0] - tail[1]) ** 2 / n
    return float(np.sum(pi * tail)), float(np.sqrt(var))


def margin_normality_pvalue(margin, y_pm, max_samples=SHAPIRO_MAX_SAMPLES):
    """Shapiro-Wilk test of normality of the margins within each class, Fisher-combined.

    The margins form a two-class mixture (with an intercept, or unequal class proportions,
    the two classes' margins have different means), so normality is tested within each
    class, which is what the Gaussian-margin estimate assumes. The two classes are disjoint
    samples, so their p-values are independent and Fisher's combination
    ``-2 (log p_+ + log p_-) ~ chi2(4)`` has exactly the nominal level under the null. It is
    chosen over Bonferroni (``2 min(p_+, p_-)``, also valid) because under the theory's
    model ``x = y mu + z`` with ``z`` independent of ``y`` the within-class margins are the
    same variable ``z'w0`` (up to sign and location) in both classes: a departure from
    normality shows in both, and Fisher's method adds the two pieces of evidence where
    Bonferroni keeps only the stronger (breast cancer at ``n = 40``, 6 and 34 samples per
    class: per-class p = 0.062 and 0.012, Fisher 0.006, Bonferroni 0.025).

    A class larger than ``max_samples`` is tested on ``max_samples`` evenly spaced margins
    (in the given order): scipy's Shapiro-Wilk p-value is accurate up to 5000 samples and
    warns beyond, and at that size the test already detects departures whose bias in the
    Gaussian-margin estimate is below the count's own sampling error.

    Parameters
    ----------
    margin : ndarray of shape (n_samples,)
        Decision values ``x_i'w + b``.
    y_pm : ndarray of shape (n_samples,)
        Labels coded -1/+1.
    max_samples : int, default=5000
        Largest number of margins tested per class.

    Returns
    -------
    pvalue : float or None
        None when the test cannot be run: a class with fewer than 3 samples, or with
        constant margins.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._margins import margin_normality_pvalue
    >>> rng = np.random.default_rng(0)
    >>> y = np.where(np.arange(200) % 2 == 0, 1.0, -1.0)
    >>> bool(margin_normality_pvalue(y * (1 + rng.standard_normal(200)), y) > 0.01)
    True
    >>> bool(margin_normality_pvalue(y * rng.exponential(size=200), y) < 0.01)
    True
    >>> print(margin_normality_pvalue(np.ones(4), np.array([1.0, 1.0, 1.0, -1.0])))
    None
    """
    pvalues = []
    for m in _class_margins(margin, y_pm):
        if m.size < 3 or not np.ptp(m) > 0:
            return None
        if m.size > max_samples:
            m = m[np.round(np.linspace(0, m.size - 1, max_samples)).astype(int)]
        pvalues.append(float(shapiro(m).pvalue))
    if min(pvalues) <= 0.0:
        return 0.0
    return float(combine_pvalues(pvalues, method="fisher").pvalue)


def decision_pretrained_error(margin, y_pm, counted, level=NORMALITY_LEVEL):
    """The pretrained error the decision compares with: Gaussian-margin or counted.

    The Gaussian-margin estimate (:func:`gaussian_margin_error`) is the efficient estimate
    under the theory's model (margins Gaussian within each class); it is used when that
    assumption is not rejected by :func:`margin_normality_pvalue` at ``level``. Otherwise,
    and when the test cannot be run, the counted error rate (unbiased whatever the margins'
    distribution) is used.

    Parameters
    ----------
    margin : ndarray of shape (n_samples,)
        Pretrained decision values ``x_i'w0 + b0``.
    y_pm : ndarray of shape (n_samples,)
        Labels coded -1/+1.
    counted : (float, float)
        The counted error rate and its standard error.
    level : float, default=0.01
        Level of the (Fisher-combined) normality test.

    Returns
    -------
    dict
        ``value``, ``stderr``, ``basis`` (``"gaussian_margin"`` or ``"counted"``),
        ``reason`` (a sentence) and ``normality_pvalue`` (float or None).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._margins import decision_pretrained_error
    >>> rng = np.random.default_rng(0)
    >>> y = np.where(np.arange(300) % 2 == 0, 1.0, -1.0)
    >>> margin = y * (1.5 + rng.standard_normal(300))
    >>> counted = float(np.mean(np.sign(margin) != y))
    >>> decision_pretrained_error(margin, y, (counted, 0.015))["basis"]
    'gaussian_margin'
    >>> skewed = y * (rng.exponential(size=300) - 0.1)
    >>> decision_pretrained_error(skewed, y, (0.1, 0.017))["basis"]
    'counted'
    """
    pvalue = margin_normality_pvalue(margin, y_pm)
    value, stderr = gaussian_margin_error(margin, y_pm)
    test = "Shapiro-Wilk per class, Fisher-combined"
    if pvalue is None or not np.isfinite(value):
        small = min(int(np.sum(y_pm > 0)), int(np.sum(y_pm < 0))) < 3
        why = "a class has fewer than 3 samples" if small else "constant margins in a class"
        reason = f"counted error rate: normality of the margins cannot be tested ({why})"
        return dict(
            value=float(counted[0]),
            stderr=float(counted[1]),
            basis="counted",
            reason=reason,
            normality_pvalue=None,
        )
    if pvalue < level:
        return dict(
            value=float(counted[0]),
            stderr=float(counted[1]),
            basis="counted",
            reason=(
                f"counted error rate: normality of the margins within each class rejected "
                f"({test}: p = {pvalue:.2g} < {level:g})"
            ),
            normality_pvalue=pvalue,
        )
    return dict(
        value=value,
        stderr=stderr,
        basis="gaussian_margin",
        reason=(
            f"Gaussian-margin estimate: normality of the margins within each class not "
            f"rejected ({test}: p = {pvalue:.2g} >= {level:g})"
        ),
        normality_pvalue=pvalue,
    )
