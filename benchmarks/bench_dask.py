"""Dask: speed-up of a grid search and of the Monte-Carlo sweep with 1 and 2 workers, and the
peak memory of the out-of-core exact fit against the same fit in memory.

Run (``pip install -e ".[dask]"``)::

    python benchmarks/bench_dask.py [--quick] [--only grid|sweep|memory]

* Grid search: ``GridSearchCV`` of ``WarmStartSGDRegressor(solver="sgd")`` (8 values of
  ``alpha`` x 5 folds = 40 fits) run locally (``n_jobs=1``, the baseline; and joblib's own
  ``n_jobs=2``) and under ``joblib.parallel_backend("dask")`` on local clusters of 1 and 2
  single-threaded worker processes. Results are checked identical to the baseline.
* Sweep: the Monte-Carlo validation sweep of ``tests/test_montecarlo.py`` (20 cases x 10 seeds,
  d = 400: 200 tasks) through ``benchmarks/run_on_dask.py``, in this process (baseline) and on
  clusters of 1 and 2 workers. Results are checked identical.
* Memory: ``WarmStartSGDRegressor(solver="exact").fit`` on n = 400000 x d = 100 rows (320 MB)
  generated lazily by a dask array in chunks of 25000 rows, against the same rows written block
  by block into NumPy arrays and fitted in memory; each in a fresh process, peak traced by
  ``tracemalloc`` (NumPy buffers included) and the peak resident set size above the process's
  size after imports; times include generating the rows.

Timings: best of ``--rounds`` (3) rounds in which the modes alternate, so that a load drifting
on a shared machine hits them alike; the clusters are started and warmed up (imports) before.
One BLAS thread everywhere (dask's workers pin it too): the ratios measure task parallelism.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _clusters():
    """Two local clusters, of 1 and of 2 single-threaded worker processes, warmed up."""
    import dask
    from distributed import Client, LocalCluster

    # dask's workers start with MALLOC_TRIM_THRESHOLD_=65536, which turns off glibc's dynamic
    # mmap threshold: every array above 128 KiB is mapped and page-faulted anew, measured to
    # make these NumPy tasks 35-40% slower. Unset for the workers (run_on_dask.py does too).
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    out = {}
    for n_workers in (1, 2):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=40)
        client = Client(cluster, set_as_default=False)
        client.run(lambda: __import__("skft.linear_model") and None)  # worker imports
        out[n_workers] = (cluster, client)
    return out


def _close(clusters):
    for cluster, client in clusters.values():
        client.close()
        cluster.close()


def _interleaved(runs, rounds):
    """Best time and last result of each ``name -> func`` after one untimed warm-up run each,
    the runs interleaved over ``rounds`` (a drifting load then hits every mode alike)."""
    best = dict.fromkeys(runs, float("inf"))
    out = {name: func() for name, func in runs.items()}  # warm-up: imports, caches, pools
    for _ in range(rounds):
        for name, func in runs.items():
            t = time.perf_counter()
            out[name] = func()
            best[name] = min(best[name], time.perf_counter() - t)
    return best, out


def _report(best, out, base, check):
    print(f"{base:34s} {best[base]:7.2f} s")
    for name in best:
        if name != base:
            same = check(out[name], out[base])
            print(f"{name:34s} {best[name]:7.2f} s  speed-up x{best[base] / best[name]:.2f}"
                  f"  ({'identical results' if same else 'RESULTS DIFFER'})")


# --------------------------------------------------------------------------- grid search
def grid_search(quick, clusters, rounds):
    import joblib
    import numpy as np
    from sklearn.model_selection import GridSearchCV, KFold

    from skft import WarmStartSGDRegressor
    from skft.datasets import make_transfer_regression

    n, d, epochs = (2000, 100, 10) if quick else (5000, 200, 20)
    X, y, truth = make_transfer_regression(n, d, random_state=0)
    est = WarmStartSGDRegressor(truth.coef_init, solver="sgd", max_iter=epochs, tol=None,
                                random_state=0)
    grid = {"alpha": list(np.geomspace(1e-3, 10, 8))}

    def search(n_jobs=None, client=None):
        gs = GridSearchCV(est, grid, cv=KFold(5, shuffle=True, random_state=0), n_jobs=n_jobs)
        if client is None:
            return gs.fit(X, y).cv_results_["mean_test_score"]
        with joblib.parallel_backend("dask", client=client):
            return gs.fit(X, y).cv_results_["mean_test_score"]

    print(f"\nGrid search: 8 alphas x 5 folds = 40 SGD fits, n = {n}, d = {d}, {epochs} "
          f"epochs each; best of {rounds} interleaved rounds")
    runs = {"local, n_jobs=1 (baseline)": search,
            "local, joblib n_jobs=2 (loky)": lambda: search(n_jobs=2)}
    for w, (_, client) in clusters.items():
        runs[f"dask backend, {w} worker(s)"] = lambda c=client: search(client=c)
    _report(*_interleaved(runs, rounds), "local, n_jobs=1 (baseline)", np.array_equal)


# --------------------------------------------------------------------------- sweep
def sweep(quick, clusters, rounds):
    import run_on_dask

    mc = run_on_dask.montecarlo()
    cases, d, seeds = (mc.CASES[:6], 200, 5) if quick else (mc.CASES, mc.D, mc.N_SEEDS)
    print(f"\nMonte-Carlo sweep: {len(cases)} cases x {seeds} seeds = {len(cases) * seeds} "
          f"tasks (one per seed), d = {d}; best of {rounds} interleaved rounds")
    runs = {"this process (baseline)":
            lambda: run_on_dask.run_sweep(cases, d, seeds, False, progress=False)}
    for w, (_, client) in clusters.items():
        runs[f"dask, {w} worker(s)"] = lambda c=client: run_on_dask.run_sweep(
            cases, d, seeds, c, progress=False)
    _report(*_interleaved(runs, rounds), "this process (baseline)", lambda a, b: a == b)


# --------------------------------------------------------------------------- memory
def _memory_case(mode, n, d, chunk):
    """Run in a fresh process: fit, print a JSON line with the peaks and the coefficients."""
    import resource
    import tracemalloc

    import dask
    import dask.array as da
    import numpy as np

    from skft import WarmStartSGDRegressor

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # MiB (Linux: KiB)
    rng = da.random.default_rng(0)
    X = rng.standard_normal((n, d), chunks=(chunk, d)) + 0.5
    y = X @ np.linspace(-1, 1, d) + 1.0 + rng.standard_normal(n, chunks=chunk)
    w0 = np.zeros(d)
    tracemalloc.start()
    t = time.perf_counter()
    with dask.config.set(scheduler="threads", num_workers=2):
        if mode == "dask":
            est = WarmStartSGDRegressor(w0, solver="exact").fit(X, y)
            fit_extra = None
        else:  # the same rows written block by block into NumPy arrays, then fitted
            Xn, yn = np.empty(X.shape), np.empty(y.shape)
            da.store([X, y], [Xn, yn], lock=False)
            held, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            est = WarmStartSGDRegressor(w0, solver="exact").fit(Xn, yn)
            fit_extra = (tracemalloc.get_traced_memory()[1] - held) / 2**20
    elapsed = time.perf_counter() - t
    _, peak = tracemalloc.get_traced_memory()
    if fit_extra is not None:
        peak = held + fit_extra * 2**20
    tracemalloc.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(mode=mode, peak_traced=peak / 2**20, peak_rss=rss - rss0,
                          fit_extra=fit_extra,
                          time=elapsed, coef=est.coef_.tolist(),
                          intercept=float(est.intercept_[0]))))


def memory(quick):
    import numpy as np

    n, d, chunk = (100_000, 50, 10_000) if quick else (400_000, 100, 25_000)
    print(f"\nExact fit, n = {n}, d = {d} ({n * d * 8 / 2**20:.0f} MiB of float64), chunks of "
          f"{chunk} rows ({chunk * d * 8 / 2**20:.0f} MiB), dask's threaded scheduler, 2 threads")
    res = {}
    for mode in ("numpy", "dask"):
        out = subprocess.run([sys.executable, __file__, "--memory-case", mode, str(n), str(d),
                              str(chunk)], capture_output=True, text=True, check=True)
        res[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    diff = np.max(np.abs(np.subtract(res["dask"]["coef"], res["numpy"]["coef"])))
    for mode, label in (("numpy", "in memory (rows stored, then fit)"),
                        ("dask", "out of core (fit on the dask array)")):
        r = res[mode]
        print(f"{label:38s} peak traced {r['peak_traced']:8.1f} MiB, peak RSS +"
              f"{r['peak_rss']:7.1f} MiB, {r['time']:6.2f} s")
    print(f"(in memory, the fit itself allocates {res['numpy']['fit_extra']:.1f} MiB above the "
          "arrays it is given)")
    ratio = res["dask"]["peak_traced"] / res["numpy"]["peak_traced"]
    print(f"out-of-core / in-memory peak: x{ratio:.3f} traced, "
          f"x{res['dask']['peak_rss'] / res['numpy']['peak_rss']:.3f} RSS; "
          f"time x{res['dask']['time'] / res['numpy']['time']:.2f}; "
          f"max |coef difference| {diff:.2e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    parser.add_argument("--only", choices=("grid", "sweep", "memory"), default=None)
    parser.add_argument("--memory-case", nargs=4, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_case:
        mode, n, d, chunk = args.memory_case
        _memory_case(mode, int(n), int(d), int(chunk))
        return
    print(f"{os.cpu_count()} CPUs; OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    if args.only in (None, "grid", "sweep"):
        clusters = _clusters()
        try:
            for name, func in (("grid", grid_search), ("sweep", sweep)):
                if args.only in (None, name):
                    func(args.quick, clusters, args.rounds)
        finally:
            _close(clusters)
    if args.only in (None, "memory"):
        memory(args.quick)


if __name__ == "__main__":
    main()
