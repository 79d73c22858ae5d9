"""Run the Monte-Carlo validation sweep or the decision-quality benchmark on a Dask cluster.

One task per seed, a progress bar, the same tables as the serial scripts
(``python tests/test_montecarlo.py``, ``python benchmarks/bench_advice.py``); every task is
seeded by its item, so the numbers do not depend on where or in which order the tasks run.

Run (``pip install -e ".[dask]"``)::

    python benchmarks/run_on_dask.py montecarlo [--slow] [--seeds 10] [--d 400]
    python benchmarks/run_on_dask.py advice [--quick] [--seed 1] [--family F ...]

Where it runs: ``--workers N`` starts a local cluster of N single-threaded worker processes
(default 2), ``--workers 0`` runs the tasks in this process, ``--scheduler ADDRESS`` connects
to a running cluster (e.g. ``tcp://scheduler:8786``; its workers need skft installed, the task
code itself is shipped with the tasks). Units of work: the sweep, one (case, seed) replicate;
the benchmark, one family (``evaluate`` draws a family's problems in sequence from one
generator seeded as in the serial run, so a family is the smallest unit that reproduces the
serial run exactly).
"""

import argparse
import importlib.util
import os
import pathlib
import sys
import time
from collections import defaultdict

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent


def _load(path, name):
    """Import a script by path, its functions pickled by value (workers need not have it)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    import cloudpickle

    cloudpickle.register_pickle_by_value(module)
    return module


if __name__ != "__main__":  # imported (e.g. by bench_dask.py): ship these functions by value
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def montecarlo():
    """``tests/test_montecarlo.py`` (its ``CASES``, ``simulate_seed``, ``summarise``)."""
    return sys.modules.get("skft_montecarlo_sweep") or _load(
        ROOT / "tests" / "test_montecarlo.py", "skft_montecarlo_sweep")


def bench_advice():
    """``benchmarks/bench_advice.py`` (its ``evaluate`` and ``report``)."""
    return sys.modules.get("skft_bench_advice") or _load(HERE / "bench_advice.py",
                                                         "skft_bench_advice")


# --------------------------------------------------------------------------- the tasks
def pack(func, *args):
    """A task's item: ``func(*args)`` pickled by value (the workers need not have the script;
    dask.distributed would pickle a function inside an item by reference)."""
    import cloudpickle

    return cloudpickle.dumps((func, args))


def call(item):
    """The task: unpack an item of :func:`pack` and run it."""
    import cloudpickle

    func, args = cloudpickle.loads(item)
    return func(*args)


def advice_rows(evaluate, family, n_problems, seed):
    """One family of the decision benchmark, the rows without their arrays (the report
    needs only the numbers, and the arrays would travel back from the workers)."""
    rows = evaluate(family, n_problems, seed)
    return [{k: v for k, v in r.items() if k not in ("X", "y", "truth")} for r in rows]


# --------------------------------------------------------------------------- the runs
def run_sweep(cases, d, n_seeds, client, progress=True):
    """All (case, seed) replicates as tasks; the per-case summaries in the order of ``cases``."""
    from skft.dask import map_tasks

    mc = montecarlo()
    keys = [(case, seed) for case in cases for seed in range(n_seeds)]
    items = [pack(mc.simulate_seed, *case, seed, d) for case, seed in keys]
    out = map_tasks(call, items, client=client, progress=progress, desc="replicates")
    per_case = defaultdict(list)
    for (case, _), pair in zip(keys, out, strict=True):
        per_case[tuple(case)].append(pair)
    return [(case, mc.summarise(*zip(*per_case[tuple(case)], strict=True))) for case in cases]


def print_sweep(results, d, n_seeds):
    print(f"d = {d}, {n_seeds} seeds per case")
    worst = 0.0
    for case, res in results:
        worst = max(worst, res["rel_gap"])
        ids = "-".join(str(c) for c in case)
        print(f"{ids:55s} theory {res['theory']:.4f} sim {res['realised']:.4f} "
              f"rel gap {res['rel_gap']:.4f} gap/se {abs(res['gap']) / res['se']:.2f}")
    print(f"worst relative gap: {worst:.4f}")


def run_advice(tasks, client, progress=True):
    """One task per ``(family, n_problems, seed)``; the rows of each, in order."""
    from skft.dask import map_tasks

    evaluate = bench_advice().evaluate
    items = [pack(advice_rows, evaluate, *t) for t in tasks]
    return map_tasks(call, items, client=client, progress=progress, desc="families")


def make_client(args):
    """A distributed client (local cluster or remote scheduler), or False for in-process."""
    if args.scheduler:
        from distributed import Client

        return Client(args.scheduler)
    if args.workers == 0:
        return False
    import dask
    from distributed import Client, LocalCluster

    # keep glibc's dynamic mmap threshold in the workers (dask sets MALLOC_TRIM_THRESHOLD_,
    # measured to slow these NumPy tasks by 35-40%; see docs/user_guide/scaling.rst)
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("montecarlo", "advice"))
    parser.add_argument("--scheduler", default=None, help="address of a running scheduler")
    parser.add_argument("--workers", type=int, default=2,
                        help="local cluster of this many worker processes (0: this process)")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--slow", action="store_true", help="montecarlo: the d = 2000 cases")
    parser.add_argument("--seeds", type=int, default=None, help="montecarlo: seeds per case")
    parser.add_argument("--d", type=int, default=None, help="montecarlo: n_features")
    parser.add_argument("--quick", action="store_true", help="advice: 12 problems per family")
    parser.add_argument("--problems", type=int, default=None, help="advice: per family")
    parser.add_argument("--seed", type=int, default=1, help="advice: the seed set, as "
                        "bench_advice.py --seed")
    parser.add_argument("--family", action="append", default=None,
                        help="advice: a family of bench_advice.FAMILIES (default all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # workers: dask's nanny sets it too
    client = make_client(args)
    progress = not args.no_progress
    start = time.perf_counter()
    try:
        if args.what == "montecarlo":
            mc = montecarlo()
            cases, d, seeds = ((mc.SLOW_CASES, 2000, 5) if args.slow
                               else (mc.CASES, mc.D, mc.N_SEEDS))
            d = args.d or d
            seeds = args.seeds or seeds
            print_sweep(run_sweep(cases, d, seeds, client, progress), d, seeds)
        else:
            adv = bench_advice()
            n_problems = args.problems or (12 if args.quick else 80)
            families = args.family or list(adv.FAMILIES)
            # seeded as bench_advice.py: the same problems and numbers as the serial run
            tasks = [(name, n_problems, args.seed * 1000 + k)
                     for k, name in enumerate(families)]
            rows = run_advice(tasks, client, progress)
            print(adv.HEADER)
            for (name, _, _), part in zip(tasks, rows, strict=True):
                hard = adv.FAMILIES[name][1]
                print(adv.line(name + ("" if hard else " (easy)"), adv.summarise(part)))
    finally:
        if client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    where = (args.scheduler or f"{args.workers} local worker(s)" if client is not False
             else "this process")
    print(f"\nwall time {time.perf_counter() - start:.1f} s on {where}")


if __name__ == "__main__":
    main()
