"""Speed and accuracy of skft's estimators against their natural baselines, in one run.

Run ``python benchmarks/bench_estimators.py`` (``--quick`` for smaller sizes). It prints:

1. time per SGD epoch, ``WarmStartSGDRegressor(solver="sgd")`` vs scikit-learn's
   ``SGDRegressor`` on the same data for the same number of epochs (``tol=None``), at
   (n, d) = (20000, 200) and (500, 20000). Per-epoch time is the slope between a short and a long
   run, so fixed costs (validation, the automatic step size) do not count; the totals are shown
   too. Target: ratio <= 2.0. Also on CSR input (2000 x 100000, density 1e-3, alpha=0.1 for
   both: the lazily scaled O(nnz) steps).
2. time of the exact solver vs a bare NumPy closed form
   ``w0 + X.T @ np.linalg.solve(X @ X.T, y - X @ w0)`` (no checks; with an intercept the same
   formula on the augmented design ``[X, 1]``, i.e. ``X @ X.T + 1``) at (n, d) = (500, 5000),
   (300, 60000), (1500, 15000): the kernel function ``solve_exact`` and the whole estimator
   ``fit``, without and with intercept. Target (issue 10): <= 1.25 at default threads.
   Baseline and skft alternate within each repeat; the minimum and the median ratio are shown.
3. how far scikit-learn's default ``SGDRegressor().fit(X, y, coef_init=w0)`` ends from the SGD
   limit (the interpolator closest to ``w0``), relative to the distance from ``w0`` to that limit,
   versus our default ``solver="sgd"`` and ``solver="auto"``; and whether the caller's ``w0`` was
   modified.

Every timing is taken twice: with the default BLAS threads (what users get) and with one
thread (threadpoolctl), best of ``--repeat`` runs (``--threads default`` or ``1`` for one of
them). On a shared machine default threads can be much slower than one for the baseline too
(an oversubscribed OpenBLAS waits for its threads): compare ratios within a thread setting.
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings

import numpy as np
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import SGDRegressor
from threadpoolctl import threadpool_limits

from skft._core._exact import solve_exact
from skft.linear_model import WarmStartSGDRegressor


def _best_time(fn, repeat):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _problem(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w_star + 0.5 * rng.standard_normal(n)
    w0 = w_star + 0.5 * rng.standard_normal(d) / np.sqrt(d)
    return X, y, w0


def bench_epochs(n, d, epochs, repeat):
    X, y, w0 = _problem(n, d)
    eta = 1.0 / np.max(np.einsum("ij,ij->i", X, X))  # a stable constant step for sklearn

    def ours(k):
        return lambda: WarmStartSGDRegressor(w0, solver="sgd", tol=None, max_iter=k,
                                             random_state=0).fit(X, y)

    def theirs(k):
        return lambda: SGDRegressor(tol=None, max_iter=k, learning_rate="constant", eta0=eta,
                                    alpha=0.0, random_state=0).fit(X, y, coef_init=w0.copy())

    k1, k2 = epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_o = [_best_time(ours(k), repeat) for k in (k1, k2)]
        t_s = [_best_time(theirs(k), repeat) for k in (k1, k2)]
    per_o = (t_o[1] - t_o[0]) / (k2 - k1)
    per_s = (t_s[1] - t_s[0]) / (k2 - k1)
    batch = WarmStartSGDRegressor(w0, solver="sgd", tol=None, max_iter=1).fit(X, y).batch_size_
    return dict(n=n, d=d, per_ours=per_o, per_sk=per_s, total_ours=t_o[1], total_sk=t_s[1],
                epochs=k2, batch=batch)


def bench_sparse_epochs(n, d, density, epochs, repeat, alpha=0.1):
    """Per-epoch time on CSR input, both with the same ``alpha`` (the pull toward the start for
    skft, toward 0 for sklearn: the same lazy rescaling work in both)."""
    rng = np.random.default_rng(3)
    X = sp.random(n, d, density=density, format="csr", random_state=3)
    y = np.asarray(X @ rng.standard_normal(d)).ravel() + 0.1 * rng.standard_normal(n)
    w0 = rng.standard_normal(d) * 0.01

    def ours(k):
        return lambda: WarmStartSGDRegressor(w0, alpha=alpha, solver="sgd", tol=None,
                                             max_iter=k, random_state=0).fit(X, y)

    def theirs(k):
        return lambda: SGDRegressor(tol=None, max_iter=k, alpha=alpha,
                                    random_state=0).fit(X, y, coef_init=w0.copy())

    k1, k2 = epochs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t_o = [_best_time(ours(k), repeat) for k in (k1, k2)]
        t_s = [_best_time(theirs(k), repeat) for k in (k1, k2)]
        batch = WarmStartSGDRegressor(w0, solver="sgd", tol=None, max_iter=1).fit(X, y)
    return dict(n=n, d=d, per_ours=(t_o[1] - t_o[0]) / (k2 - k1),
                per_sk=(t_s[1] - t_s[0]) / (k2 - k1), total_ours=t_o[1], total_sk=t_s[1],
                batch=batch.batch_size_)


def bench_exact(n, d, repeat):
    """Ratios of skft's exact solver to the bare NumPy closed form, alternating the two."""
    X, y, w0 = _problem(n, d, seed=1)
    b0 = 0.25

    def bare():
        return w0 + X.T @ np.linalg.solve(X @ X.T, y - X @ w0)

    def bare_icpt():  # the same formula on the augmented design [X, 1]
        v = np.linalg.solve(X @ X.T + 1.0, y - X @ w0 - b0)
        return w0 + X.T @ v, b0 + v.sum()

    def kernel():
        return solve_exact(X, y[:, None], w0[:, None], np.zeros(1), alpha=0.0,
                           fit_intercept=False)

    def estimator():
        return WarmStartSGDRegressor(w0, fit_intercept=False, solver="exact").fit(X, y)

    def estimator_icpt():
        return WarmStartSGDRegressor(w0, b0, solver="exact").fit(X, y)

    w_bare = bare()
    diff = np.linalg.norm(kernel().coef[:, 0] - w_bare) / np.linalg.norm(w_bare - w0)
    wb, bb = bare_icpt()
    est = estimator_icpt()
    diff_icpt = np.linalg.norm(np.r_[est.coef_ - wb, est.intercept_ - bb]) / np.linalg.norm(
        np.r_[wb - w0, bb - b0])
    pairs = {"kernel": (bare, kernel), "est": (bare, estimator),
             "est_icpt": (bare_icpt, estimator_icpt)}
    out = dict(n=n, d=d, diff=diff, diff_icpt=diff_icpt)
    for name, (base, ours) in pairs.items():
        tb, to = [], []
        for _ in range(repeat):
            for times, fn in ((tb, base), (to, ours)):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
        ratios = np.array(to) / np.array(tb)
        out[name] = dict(base=min(tb), ours=min(to), ratio_min=min(to) / min(tb),
                         ratio_med=float(np.median(ratios)))
    return out


def bench_limit(n, d, seed=2):
    X, y, w0 = _problem(n, d, seed=seed)
    limit = WarmStartSGDRegressor(w0, solver="exact").fit(X, y)
    z_lim = np.r_[limit.coef_, limit.intercept_]
    scale = np.linalg.norm(z_lim - np.r_[w0, 0.0])
    rows = []
    w_user = w0.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        sk = SGDRegressor(random_state=0).fit(X, y, coef_init=w_user)
        t_sk = time.perf_counter() - t0
    rows.append(("sklearn SGDRegressor() default", sk.coef_, sk.intercept_, sk.n_iter_, t_sk,
                 not np.array_equal(w_user, w0)))
    for name, kw in [("skft solver='sgd' default", dict(solver="sgd", random_state=0)),
                     ("skft solver='auto' (exact)", dict())]:
        w_user = w0.copy()
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # n_iter_ == max_iter shows it
            warnings.simplefilter("ignore", ConvergenceWarning)
            est = WarmStartSGDRegressor(w_user, **kw).fit(X, y)
        rows.append((name, est.coef_, est.intercept_, est.n_iter_, time.perf_counter() - t0,
                     not np.array_equal(w_user, w0)))
    out = []
    for name, coef, b, n_iter, t, mutated in rows:
        dist = np.linalg.norm(np.r_[coef, b] - z_lim) / scale
        out.append((name, dist, n_iter, t, mutated))
    return out


def _limits(threads):
    return threadpool_limits(1) if threads == "1" else contextlib.nullcontext()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", choices=["both", "default", "1"], default="both")
    parser.add_argument("--only", choices=["all", "sgd", "exact", "limit"], default="all")
    args = parser.parse_args(argv)
    q = args.quick
    sizes = [(2000, 200), (100, 2000)] if q else [(20000, 200), (500, 20000)]
    exact_sizes = [(200, 2000), (100, 12000), (400, 3000)] if q else [
        (500, 5000), (300, 60000), (1500, 15000)]
    sparse_size = (300, 100000, 1e-3) if q else (2000, 100000, 1e-3)
    epochs = (2, 6) if q else (5, 25)
    settings = ["default", "1"] if args.threads == "both" else [args.threads]
    label = {"default": "default BLAS threads", "1": "one BLAS thread"}

    for threads in settings:
        with _limits(threads):
            if args.only in ("all", "sgd"):
                print(f"1. Time per SGD epoch ({label[threads]}; slope between "
                      f"{epochs[0]} and {epochs[1]} epochs)")
                print(f"{'n':>7} {'d':>7} {'batch':>6} {'skft ms':>9} {'sklearn ms':>11} "
                      f"{'ratio':>6}   {'totals s (skft / sklearn)':>26}")
                for n, d in sizes:
                    r = bench_epochs(n, d, epochs, args.repeat)
                    print(f"{n:>7} {d:>7} {r['batch']:>6} {1e3 * r['per_ours']:>9.2f} "
                          f"{1e3 * r['per_sk']:>11.2f} {r['per_ours'] / r['per_sk']:>6.2f}   "
                          f"{r['total_ours']:>12.3f} / {r['total_sk']:.3f}")
                print(f"\n1b. Time per SGD epoch on CSR input (density {sparse_size[2]:g}, "
                      f"alpha=0.1 in both, {label[threads]})")
                r = bench_sparse_epochs(*sparse_size, epochs, args.repeat)
                print(f"{r['n']:>7} {r['d']:>7} {r['batch']:>6} {1e3 * r['per_ours']:>9.2f} "
                      f"{1e3 * r['per_sk']:>11.2f} {r['per_ours'] / r['per_sk']:>6.2f}   "
                      f"{r['total_ours']:>12.3f} / {r['total_sk']:.3f}\n")
            if args.only in ("all", "exact"):
                print(f"2. Exact solver vs the bare NumPy closed form ({label[threads]}; "
                      "ratio of the best times, and median of the per-repeat ratios)")
                print(f"{'n':>7} {'d':>7} {'what':<26} {'bare s':>8} {'skft s':>8} "
                      f"{'ratio':>6} {'median':>7}")
                for n, d in exact_sizes:
                    r = bench_exact(n, d, args.repeat)
                    for key, what in (("kernel", "solve_exact"),
                                      ("est", "fit, fit_intercept=False"),
                                      ("est_icpt", "fit, fit_intercept=True")):
                        t = r[key]
                        print(f"{n:>7} {d:>7} {what:<26} {t['base']:>8.3f} {t['ours']:>8.3f} "
                              f"{t['ratio_min']:>6.2f} {t['ratio_med']:>7.2f}")
                    print(f"{'':>16} relative difference to the bare solution: "
                          f"{r['diff']:.1e} (intercept: {r['diff_icpt']:.1e})")
                print()
    if args.only in ("all", "limit"):
        print("3. Distance from the SGD limit (the interpolator closest to the start),")
        print("   relative to ||limit - start||, standardised Gaussian data; 'mutated': the")
        print("   caller's coef_init array was changed by fit")
        for n, d in [(100, 150), (200, 1000) if q else (500, 5000)]:
            print(f"   n={n}, d={d}")
            print(f"   {'estimator':<32} {'rel. distance':>13} {'n_iter_':>8} {'time s':>7} "
                  f"{'mutated':>8}")
            for name, dist, n_iter, t, mutated in bench_limit(n, d):
                print(f"   {name:<32} {dist:>13.2e} {n_iter:>8} {t:>7.2f} {mutated!s:>8}")


if __name__ == "__main__":
    main()
