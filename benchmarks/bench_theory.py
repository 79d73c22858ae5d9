"""Speed of skft.theory: O(d) per point once the spectrum is known.

1. A (d,) diagonal covariance with d = 10**6 (power-law spectrum, all eigenvalues
   distinct) and 100 values of n: ``regression_risk`` (alpha = 0 and 0.1) and
   ``classification_error``. The baseline is the direct O(d) route forced on the same
   problem (one pass over the d eigenvalues per point and Newton step); the default route
   bins the eigenvalues and expands exactly inside each bin.
2. A (d, d) matrix with d = 4000: ``Spectrum.from_covariance`` + ``regression_risk`` on
   100 values of n, against a bare ``numpy.linalg.eigh`` of the same matrix.

3. Other losses: one point (one ``n``, one ``alpha``) of ``convex_classification_error``,
   ``robust_regression_risk`` and ``multiclass_error`` for every loss on a (d,) diagonal with
   d = 10**4 (target: <= 50 ms per binary / regression point), beside ``classification_error``
   / ``regression_risk`` (squared loss, closed form) on the same problem as the baseline.

Usage: ``python benchmarks/bench_theory.py [--d-diag 1000000] [--d-matrix 4000]
[--d-losses 10000]``.
"""

import argparse
import time

import numpy as np

import skft.theory._sums as sums_module
from skft.datasets import make_spectrum
from skft.theory import (
    Spectrum,
    classification_error,
    convex_classification_error,
    multiclass_error,
    regression_risk,
    robust_regression_risk,
)


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_diagonal(d, repeat):
    rng = np.random.default_rng(0)
    lam = make_spectrum(d, "powerlaw")
    delta = rng.standard_normal(d) / np.sqrt(d)
    mean = rng.standard_normal(d) / np.sqrt(d)
    w0 = mean + 0.5 * rng.standard_normal(d) / np.sqrt(d)
    n = np.geomspace(0.05 * d, 3 * d, 100)
    print(f"(d,) diagonal, d = {d}, 100 values of n from {n[0]:.3g} to {n[-1]:.3g}")
    cases = {
        "regression_risk alpha=0": lambda: regression_risk(lam, delta, 0.5, n, 0.0).finetuned,
        "regression_risk alpha=0.1": lambda: regression_risk(lam, delta, 0.5, n, 0.1).finetuned,
        "classification_error alpha=0.1": lambda: (
            classification_error(lam, mean, w0, n, 0.1).finetuned
        ),
    }
    for name, fn in cases.items():
        t_fast, fast = best_of(fn, repeat)
        saved = sums_module._MIN_BINNED
        sums_module._MIN_BINNED = 10**18  # force the direct route
        try:
            t_direct, direct = best_of(fn, 1)
        finally:
            sums_module._MIN_BINNED = saved
        ok = np.isfinite(direct)
        rel = np.max(np.abs(fast[ok] - direct[ok]) / np.abs(direct[ok]))
        print(
            f"  {name:32s} {t_fast:7.3f} s  (direct route {t_direct:6.2f} s, "
            f"x{t_direct / t_fast:5.1f}; max rel. difference {rel:.1e})"
        )


def bench_matrix(d, repeat):
    rng = np.random.default_rng(1)
    lam = make_spectrum(d, "bilevel")
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (q * lam) @ q.T
    cov = (cov + cov.T) / 2
    delta = rng.standard_normal(d) / np.sqrt(d)
    n = np.geomspace(0.05 * d, 3 * d, 100)
    print(f"(d, d) matrix, d = {d}, 100 values of n")

    def full():
        spec = Spectrum.from_covariance(cov)
        return regression_risk(spec, delta, 0.5, n, 0.1)

    # interleaved, best of `repeat` each: the machine may be shared
    t_eigh, t_full = np.inf, np.inf
    for _ in range(repeat):
        t_eigh = min(t_eigh, best_of(lambda: np.linalg.eigh(cov), 1)[0])
        t_full = min(t_full, best_of(full, 1)[0])
    spec = Spectrum.from_covariance(cov)
    t_reuse, _ = best_of(lambda: regression_risk(spec, delta, 0.5, n, 0.1), repeat)
    print(f"  bare numpy.linalg.eigh            {t_eigh:7.3f} s")
    ratio = t_full / t_eigh
    print(f"  from_covariance + regression_risk {t_full:7.3f} s  (ratio to eigh {ratio:.3f})")
    print(f"  regression_risk on a Spectrum     {t_reuse:7.3f} s")


def bench_losses(d, repeat):
    rng = np.random.default_rng(2)
    lam = make_spectrum(d, "powerlaw")
    mean = rng.standard_normal(d)
    mean *= 1.2 / np.sqrt(np.sum(mean**2 / lam))
    w0 = 0.5 * mean / (mean @ mean) + 0.8 * rng.standard_normal(d) / np.sqrt(d)
    delta = rng.standard_normal(d) / np.sqrt(d)
    n, alpha = 0.5 * d, 0.05
    print(f"other losses, (d,) diagonal, d = {d}, one point n = {n:g}, alpha = {alpha}")
    base_c, _ = best_of(lambda: classification_error(lam, mean, w0, n, alpha), repeat)
    base_r, _ = best_of(lambda: regression_risk(lam, delta, 0.25, n, alpha), repeat)
    print(f"  classification_error (closed form)        {1e3 * base_c:8.2f} ms")
    print(f"  regression_risk (closed form)             {1e3 * base_r:8.2f} ms")
    for loss in ("squared_error", "log_loss", "hinge", "modified_huber"):
        for intercept in (False, True):
            t, _ = best_of(lambda loss=loss, fi=intercept: convex_classification_error(
                lam, mean, w0, n, alpha, loss=loss, priors=[0.4, 0.6], fit_intercept=fi),
                repeat)
            print(f"  convex_classification_error {loss:15s} intercept={intercept!s:5s} "
                  f"{1e3 * t:8.2f} ms  (x{t / base_c:6.1f} the closed form)")
    t, _ = best_of(lambda: convex_classification_error(lam, mean, w0, 2 * d, 0.0), repeat)
    print(f"  convex_classification_error log_loss alpha=0 (max margin) {1e3 * t:8.2f} ms")
    for loss, noise in (("huber", "gaussian"), ("huber", "student_t"),
                        ("epsilon_insensitive", "gaussian"), ("epsilon_insensitive", "laplace")):
        t, _ = best_of(lambda loss=loss, noise=noise: robust_regression_risk(
            lam, delta, 0.25, n, alpha, loss=loss, epsilon=0.3, noise=noise,
            fit_intercept=True), repeat)
        print(f"  robust_regression_risk {loss:20s} noise={noise:10s} {1e3 * t:8.2f} ms  "
              f"(x{t / base_r:6.1f} the closed form)")
    means = rng.standard_normal((3, d)) / np.sqrt(d) * 2.0
    W0 = 0.5 * means + 0.5 * rng.standard_normal((3, d)) / np.sqrt(d)
    for loss in ("squared_error", "log_loss", "hinge"):
        t, _ = best_of(lambda loss=loss: multiclass_error(lam, means, W0, n, alpha, loss=loss),
                       1)
        print(f"  multiclass_error K=3 {loss:15s} {1e3 * t:8.2f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d-diag", type=int, default=10**6)
    parser.add_argument("--d-matrix", type=int, default=4000)
    parser.add_argument("--d-losses", type=int, default=10**4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only-losses", action="store_true")
    args = parser.parse_args()
    if not args.only_losses:
        bench_diagonal(args.d_diag, args.repeat)
        bench_matrix(args.d_matrix, args.repeat)
    bench_losses(args.d_losses, args.repeat)


if __name__ == "__main__":
    main()
