"""Decision quality and speed of ``should_finetune``, per family of transfer problems.

Run: ``OPENBLAS_NUM_THREADS=1 nice python benchmarks/bench_advice.py [--quick] [--family F]
[--loss L [--epsilon E]]`` (decision quality), ``python benchmarks/bench_advice.py --timing
[--timing-unlabeled]`` (speed: no ``OPENBLAS_NUM_THREADS``, the script sets the threads itself)

Synthetic transfer problems with known truth (``skft.datasets``), in families (``FAMILIES``):
today's easy one (random shift direction, centred features, independent rows, n/d from 0.1
to 2), and the hard ones of issue 8: the shift along the top or bottom eigen-directions of
spiked and power-law spectra, rotated covariances, uncentred features with a target intercept
the start does not know, duplicated and near-duplicated rows, heavy-tailed features, n/d from
0.9 to 1.1, and for classification today's family and imbalanced classes. For each problem the
truth is the *realised* test error of the fine-tuned model fitted on the very ``(X, y)`` given
to the methods (``WarmStartSGDRegressor`` / ``WarmStartSGDClassifier`` with
``solver="exact"``, the point SGD converges to; its exact test error from the known moments),
against the pretrained model's exact test error. Methods:

* ``theory``: ``should_finetune(...).finetune`` (skft);
* ``loo``: the closed-form leave-one-out error of the fine-tuned model vs the measured
  pretrained error (``should_finetune(...).loo_finetune``);
* ``cv5``: 5-fold cross-validation of the same fine-tuning (the exact estimator on four
  folds) vs the pretrained model on the fifth.

``--loss L`` (``log_loss``, ``hinge``, ``modified_huber``; ``huber``, ``epsilon_insensitive``
with ``--epsilon``) judges that fine-tuning instead of the squared loss's, on the families of its
task (the truth and ``cv5`` fit the same loss); problems drawn with ``alpha = 0`` are run at
``ALPHA_OTHER_LOSSES`` (the exact solver, and the empirical check, need ``alpha > 0``), and
``loo`` is then the approximate leave-one-out or 10-fold cross-validation of the advice.

Per family: ``clear`` problems (the two true errors differ by more than 10 %), the fraction
of them each method decides right, how often the advice is confident and how many confident
decisions are wrong among the clear problems, the median relative error of the predicted
fine-tuned error for n >= 100 (theory and leave-one-out), and the coverage of the advice's
95 % interval of the fine-tuned error (all problems).

Speed (issue 10): ``--timing`` times ``should_finetune`` at n = 500, d = 2000 and 5000
(regression without and with an intercept, classification) against one n x n Gram + ``eigh``;
``--timing-unlabeled`` with 20000 unlabelled rows at d = 2000 against their d x d Gram +
``eigvalsh``, and its peak memory (``tracemalloc``). Each with the default BLAS threads (what
users get) and one thread (``--threads``), baseline and advice alternating within each of
``--repeat`` repeats. With ``--timing`` or ``--timing-unlabeled`` alone no family is run.
"""

import argparse
import contextlib
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.advice import should_finetune
from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression
from skft.utils._progress import progress_bar

METHODS = ("theory", "loo", "cv5")
REGRESSION_LOSSES = ("squared_error", "huber", "epsilon_insensitive")
CLASSIFICATION_LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber")
#: alpha for the problems drawn at alpha = 0, with a loss other than the squared one
ALPHA_OTHER_LOSSES = 0.03


# ----------------------------------------------------------------------------- problems
def _reg(rng, seed, **over):
    d = int(over.pop("d", rng.choice([200, 400])))
    ratio = float(over.pop("ratio", rng.choice([0.2, 0.35, 0.5, 0.7, 1.4, 2.0])))
    n = max(int(round(ratio * d)), 12)
    kw = dict(
        spectrum=str(rng.choice(["isotropic", "bilevel", "powerlaw"])),
        distribution=str(rng.choice(["gaussian", "rademacher", "uniform", "student_t"])),
        noise=float(rng.choice([0.25, 0.5, 1.0])),
        shift=float(rng.choice([0.3, 0.6, 1.0, 2.0])),
        random_state=seed,
    )
    alpha = float(over.pop("alpha", rng.choice([0.0, 0.0, 0.1, 1.0])))
    fit_intercept = bool(over.pop("fit_intercept", False))
    kw.update(over)
    X, y, truth = make_transfer_regression(n, d, **kw)
    info = f"{kw['spectrum'] if isinstance(kw['spectrum'], str) else 'matrix'}"
    info += f" {kw.get('shift_direction', 'random')} {kw['distribution']}"
    info += f" shift={kw['shift']:g} noise={kw['noise']:g}"
    return dict(
        X=X,
        y=y,
        truth=truth,
        n=n,
        d=d,
        alpha=alpha,
        fit_intercept=fit_intercept,
        task="regression",
        info=info,
    )


def _cls(rng, seed, **over):
    d = int(over.pop("d", rng.choice([200, 400])))
    ratio = float(over.pop("ratio", rng.choice([0.2, 0.35, 0.5, 0.7, 1.4, 2.0])))
    n = max(int(round(ratio * d)), 12)
    kw = dict(
        spectrum=str(rng.choice(["isotropic", "bilevel", "powerlaw"])),
        distribution=str(rng.choice(["gaussian", "rademacher", "uniform"])),
        separation=float(rng.choice([1.0, 2.0, 3.0])),
        shift=float(rng.choice([0.5, 1.0, 2.0, 4.0])),
        random_state=seed,
    )
    alpha = float(over.pop("alpha", rng.choice([0.0, 0.0, 0.1, 1.0])))
    fit_intercept = bool(over.pop("fit_intercept", False))
    kw.update(over)
    X, y, truth = make_transfer_classification(n, d, **kw)
    info = f"{kw['spectrum']} {kw['distribution']} sep={kw['separation']:g} shift={kw['shift']:g}"
    if "weights" in kw:
        info += f" prior={truth.prior:g}"
    return dict(
        X=X,
        y=y,
        truth=truth,
        n=n,
        d=d,
        alpha=alpha,
        fit_intercept=fit_intercept,
        task="classification",
        info=info,
    )


def _spiked():
    return dict(spectrum="bilevel", spectrum_params={"ratio": 10.0, "fraction": 0.1})


FAMILIES = {
    # name: (task, hard, maker(rng, seed))
    "today": ("regression", False, lambda rng, s: _reg(rng, s)),
    "top_spiked": (
        "regression",
        True,
        lambda rng, s: _reg(rng, s, **_spiked(), shift_direction="top", shift_fraction=0.1),
    ),
    "top_powerlaw": (
        "regression",
        True,
        lambda rng, s: _reg(
            rng, s, spectrum="powerlaw", shift_direction="top", shift_fraction=0.05
        ),
    ),
    "bottom_spiked": (
        "regression",
        True,
        lambda rng, s: _reg(rng, s, **_spiked(), shift_direction="bottom", shift_fraction=0.5),
    ),
    "bottom_powerlaw": (
        "regression",
        True,
        lambda rng, s: _reg(
            rng, s, spectrum="powerlaw", shift_direction="bottom", shift_fraction=0.5
        ),
    ),
    "rotated": (
        "regression",
        True,
        lambda rng, s: _reg(
            rng,
            s,
            d=200,
            spectrum=str(rng.choice(["bilevel", "powerlaw"])),
            rotate=True,
            shift_direction=str(rng.choice(["top", "bottom", "random"])),
            shift_fraction=0.1,
        ),
    ),
    "intercept": (
        "regression",
        True,
        lambda rng, s: _reg(
            rng,
            s,
            fit_intercept=True,
            alpha=float(rng.choice([0.0, 0.0, 0.1, 1.0])),
            feature_mean=float(rng.choice([0.5, 1.0])),
            intercept=float(rng.choice([-1.0, 1.0, 2.0])),
            intercept_init=0.0,
        ),
    ),
    "duplicated": (
        "regression",
        True,
        lambda rng, s: _reg(rng, s, repeats=2, jitter=float(rng.choice([0.0, 0.0, 0.05]))),
    ),
    "heavy_tailed": (
        "regression",
        True,
        lambda rng, s: _reg(rng, s, distribution=str(rng.choice(["student_t3", "multivariate_t"]))),
    ),
    "near_d": (
        "regression",
        True,
        lambda rng, s: _reg(
            rng, s, ratio=float(rng.uniform(0.9, 1.1)), alpha=float(rng.choice([0.0, 1e-6, 0.01]))
        ),
    ),
    "cls_today": ("classification", False, lambda rng, s: _cls(rng, s)),
    "cls_imbalanced": (
        "classification",
        True,
        lambda rng, s: _cls(rng, s, weights=float(rng.choice([0.2, 0.3])), fit_intercept=True),
    ),
}


# ----------------------------------------------------------------------------- truth
def _fit(p, X, y, alpha):
    w0, b0 = p["truth"].coef_init, p["truth"].get("intercept_init", 0.0)
    common = dict(alpha=alpha, fit_intercept=p["fit_intercept"], solver="exact",
                  loss=p.get("loss", "squared_error"), epsilon=p.get("epsilon", 0.1))
    if p["task"] == "regression":
        est = WarmStartSGDRegressor(w0, intercept_init=b0, **common)
    else:
        est = WarmStartSGDClassifier(w0, intercept_init=b0, **common)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.fit(X, y)
    return np.ravel(est.coef_), float(np.ravel(est.intercept_)[0])


def _test_errors(p, X, y, coef, intercept):
    """Empirical errors on held-out rows (for cross-validation)."""
    pred = X @ coef + intercept
    if p["task"] == "regression":
        return np.sum((y - pred) ** 2)
    return np.sum(np.where(pred > 0, 1, -1) != y)


def cv5_finetune(p, rng):
    """5-fold CV: True when the fine-tuned model's held-out error beats the pretrained one."""
    X, y = p["X"], p["y"]
    n = X.shape[0]
    w0, b0 = p["truth"].coef_init, p["truth"].get("intercept_init", 0.0)
    ft = pre = 0.0
    for test in np.array_split(rng.permutation(n), 5):
        train = np.setdiff1d(np.arange(n), test)
        if p["task"] == "classification" and np.unique(y[train]).size < 2:
            return True
        coef, b = _fit(p, X[train], y[train], p["alpha"])
        ft += _test_errors(p, X[test], y[test], coef, b)
        pre += _test_errors(p, X[test], y[test], w0, b0)
    return bool(ft < pre)


def evaluate(family, n_problems, seed, loss="squared_error", epsilon=0.1, progress=False):
    task, _, maker = FAMILIES[family]
    rng = np.random.default_rng(seed)
    cv_rng = np.random.default_rng(seed + 99)
    rows = []
    bar = progress_bar(n_problems, family, enable=progress)
    for i in range(n_problems):
        p = maker(rng, int((seed * 100_003 + i) % (2**32 - 1)))
        p.update(loss=loss, epsilon=epsilon)
        if loss != "squared_error" and p["alpha"] == 0:
            p["alpha"] = ALPHA_OTHER_LOSSES
        truth = p["truth"]
        w0, b0 = truth.coef_init, truth.get("intercept_init", 0.0)
        coef, b = _fit(p, p["X"], p["y"], p["alpha"])
        true_ft = exact_test_error(truth, coef, b)
        true_pre = exact_test_error(truth, w0, b0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            adv = should_finetune(
                w0,
                p["X"],
                p["y"],
                intercept_init=b0,
                alpha=p["alpha"],
                task=task,
                fit_intercept=p["fit_intercept"],
                loss=loss,
                epsilon=epsilon,
            )
            elapsed = time.perf_counter() - t0
        fe = adv.finetuned_error
        rows.append(
            dict(
                p,
                X=None,
                y=None,
                truth=None,
                true_ft=true_ft,
                true_pre=true_pre,
                pred_ft=fe.value,
                low=fe.low,
                high=fe.high,
                loo_ft=adv.loo_error,
                confident=adv.confident,
                seconds=elapsed,
                spread=adv.realised_spread,
                pre_meas=adv.decision_pretrained_error.value,
                gap_se=adv.gap_stderr,
                failed=[c.name for c in adv.checks if not c.passed],
                dec=dict(
                    theory=adv.finetune,
                    loo=adv.finetune if adv.loo_finetune is None else adv.loo_finetune,
                    cv5=cv5_finetune(p, cv_rng),
                ),
            )
        )
        bar.update()
    bar.close()
    return rows


# ----------------------------------------------------------------------------- report
def summarise(rows):
    ft = np.array([r["true_ft"] for r in rows])
    pre = np.array([r["true_pre"] for r in rows])
    truth = ft < pre
    clear = np.abs(ft - pre) / np.minimum(ft, pre) > 0.10
    out = dict(n=len(rows), clear=int(clear.sum()))
    for m in METHODS:
        dec = np.array([r["dec"][m] for r in rows])
        out[m] = float(np.mean(dec[clear] == truth[clear])) if clear.any() else np.nan
    dec = np.array([r["dec"]["theory"] for r in rows])
    conf = np.array([r["confident"] for r in rows])
    out["confident"] = float(conf.mean())
    out["conf_wrong"] = int(np.sum(conf & clear & (dec != truth)))
    big = np.array([r["n"] >= 100 for r in rows])
    pred = np.array([r["pred_ft"] for r in rows])
    loo = np.array([np.nan if r["loo_ft"] is None else r["loo_ft"] for r in rows])
    out["med_rel"] = float(np.median(np.abs(pred[big] / ft[big] - 1))) if big.any() else np.nan
    out["med_rel_loo"] = (
        float(np.nanmedian(np.abs(loo[big] / ft[big] - 1))) if big.any() else np.nan
    )
    low = np.array([r["low"] for r in rows])
    high = np.array([r["high"] for r in rows])
    out["coverage"] = float(np.mean((low <= ft) & (ft <= high)))
    out["seconds"] = float(np.median([r["seconds"] for r in rows]))
    return out


HEADER = (
    f"{'family':16} {'n':>4} {'clear':>5} {'theory':>7} {'loo':>6} {'cv5':>6} "
    f"{'conf':>5} {'conf&wrong':>10} {'med rel':>8} {'(loo)':>6} {'cover95':>8} {'s':>5}"
)


def line(name, s):
    return (
        f"{name:16} {s['n']:>4} {s['clear']:>5} {s['theory']:>7.3f} {s['loo']:>6.3f} "
        f"{s['cv5']:>6.3f} {s['confident']:>5.0%} {s['conf_wrong']:>10d} {s['med_rel']:>8.3f} "
        f"{s['med_rel_loo']:>6.3f} {s['coverage']:>8.3f} {s['seconds']:>5.2f}"
    )


def print_misses(rows):
    print(
        f"  {'n':>5} {'d':>4} {'alpha':>6} {'true pre':>9} {'true ft':>9} {'pred ft':>9} "
        f"{'interval':>19} {'loo':>8} conf  failed checks / problem"
    )
    for r in rows:
        ft, pre = r["true_ft"], r["true_pre"]
        wrong = abs(ft - pre) / min(ft, pre) > 0.10 and r["dec"]["theory"] != (ft < pre)
        outside = not (r["low"] <= ft <= r["high"])
        if wrong or outside:
            loo = float("nan") if r["loo_ft"] is None else r["loo_ft"]
            print(
                f"  {r['n']:>5} {r['d']:>4} {r['alpha']:>6.2g} {pre:>9.4g} {ft:>9.4g} "
                f"{r['pred_ft']:>9.4g} [{r['low']:>8.3g},{r['high']:>8.3g}] {loo:>8.3g} "
                f"{'C' if r['confident'] else ' '}{'W' if wrong else ' '}  "
                f"{','.join(r['failed']) or '-'} | {r['info']}"
            )


# ----------------------------------------------------------------------------- timing
def _threads(setting):
    return threadpool_limits(1) if setting == "1" else contextlib.nullcontext()


def _alternate(base, work, repeat):
    """Best times of ``base`` and ``work`` run alternately ``repeat`` times, and the median
    of the per-repeat ratios (a loaded machine moves both; the ratio of one repeat is fairer
    than the ratio of two best times taken minutes apart)."""
    tb, tw = [], []
    for _ in range(repeat):
        for fn, out in ((base, tb), (work, tw)):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
    ratios = np.array(tw) / np.array(tb)
    return min(tb), min(tw), float(np.median(ratios))


def _problem(task, n, d, rng):
    if task == "regression":
        X = rng.standard_normal((n, d))
        w = rng.standard_normal(d) / np.sqrt(d)
        y = X @ w + 0.5 * rng.standard_normal(n)
        return w + rng.standard_normal(d) / np.sqrt(d), X, y
    X, y, truth = make_transfer_classification(n, d, random_state=int(rng.integers(1 << 31)))
    return truth.coef_init, X, y


def _quiet(fn):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    return run


def timing(threads=("default", "1"), repeat=3):
    """``should_finetune`` at n = 500, d = 2000 and 5000 against one n x n Gram + ``eigh``."""
    rng = np.random.default_rng(0)
    n = 500
    print(f"\nshould_finetune vs one n x n Gram + eigh (n = {n}; best of {repeat}, alternating; "
          "ratio of best times [median of per-repeat ratios])")
    print(f"{'threads':8} {'d':>5} {'task':15} {'intercept':9} {'advice s':>9} {'base s':>7} "
          f"{'ratio':>6} {'[median]':>8}")
    for d in (2000, 5000):
        problems = {task: _problem(task, n, d, rng) for task in ("regression", "classification")}
        w0, X, y = problems["regression"]
        should_finetune(w0[:200], X[:50, :200], y[:50])  # warm up imports
        for setting in threads:
            with _threads(setting):
                for task, fit_intercept in (("regression", False), ("regression", True),
                                            ("classification", False)):
                    w0, X, y = problems[task]

                    def base(X=X):
                        np.linalg.eigh(X @ X.T)

                    work = _quiet(lambda w0=w0, X=X, y=y, fi=fit_intercept, task=task:
                                  should_finetune(w0, X, y, fit_intercept=fi, task=task))
                    tb, tw, med = _alternate(base, work, repeat)
                    print(f"{setting:8} {d:>5} {task:15} {str(fit_intercept):9} {tw:>9.3f} "
                          f"{tb:>7.3f} {tw / tb:>6.2f} [{med:>6.2f}]", flush=True)


def timing_unlabeled(threads=("default", "1"), repeat=2, n_unlabeled=20000, d=2000):
    """With unlabelled rows: against the d x d Gram of the unlabelled rows + ``eigvalsh``;
    peak memory traced by ``tracemalloc`` (a separate run) against the size of the rows."""
    import tracemalloc

    rng = np.random.default_rng(1)
    n = 500
    w0, X, y = _problem("regression", n, d, rng)
    U = rng.standard_normal((n_unlabeled, d))
    should_finetune(w0[:200], X[:50, :200], y[:50])  # warm up imports
    print(f"\nshould_finetune with {n_unlabeled} unlabelled rows (n = {n}, d = {d}) vs the "
          f"d x d Gram of the unlabelled rows + eigvalsh (best of {repeat}, alternating)")
    print(f"{'threads':8} {'intercept':9} {'advice s':>9} {'base s':>7} {'ratio':>6} "
          f"{'[median]':>8}")
    for setting in threads:
        with _threads(setting):
            for fit_intercept in (False, True):
                def base():
                    np.linalg.eigvalsh(U.T @ U)

                work = _quiet(lambda fi=fit_intercept:
                              should_finetune(w0, X, y, X_unlabeled=U, fit_intercept=fi))
                tb, tw, med = _alternate(base, work, repeat)
                print(f"{setting:8} {str(fit_intercept):9} {tw:>9.2f} {tb:>7.2f} "
                      f"{tw / tb:>6.2f} [{med:>6.2f}]", flush=True)
    mib = 2.0**20
    for fit_intercept in (False, True):
        tracemalloc.start()
        tracemalloc.reset_peak()
        _quiet(lambda fi=fit_intercept:
               should_finetune(w0, X, y, X_unlabeled=U, fit_intercept=fi))()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"peak memory traced, fit_intercept={fit_intercept}: {peak / mib:.0f} MiB "
              f"(the unlabelled rows: {U.nbytes / mib:.0f} MiB; one d x d matrix: "
              f"{d * d * 8 / mib:.0f} MiB)", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12 problems per family")
    parser.add_argument("--problems", type=int, default=None, help="problems per family")
    parser.add_argument("--family", action="append", choices=sorted(FAMILIES), default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--loss", default="squared_error",
        choices=sorted(set(REGRESSION_LOSSES + CLASSIFICATION_LOSSES)),
        help="the fine-tuning judged (default squared_error); only the families of its task",
    )
    parser.add_argument("--epsilon", type=float, default=0.1,
                        help="epsilon of huber / epsilon_insensitive (default 0.1)")
    parser.add_argument(
        "--misses",
        action="store_true",
        help="list the wrong clear decisions and the intervals that miss",
    )
    parser.add_argument("--timing", action="store_true", help="also time should_finetune")
    parser.add_argument(
        "--timing-unlabeled", action="store_true",
        help="timing and peak memory with 20000 unlabelled rows",
    )
    parser.add_argument("--threads", choices=["both", "default", "1"], default="both",
                        help="BLAS threads of the timings: default, one (threadpoolctl), both")
    parser.add_argument("--repeat", type=int, default=3, help="repeats of each timing")
    parser.add_argument("--progress", action="store_true",
                        help="a progress bar per family on stderr (tqdm when installed)")
    args = parser.parse_args()
    n_problems = args.problems or (12 if args.quick else 80)
    families = args.family or list(FAMILIES)
    if args.loss != "squared_error":  # the families of the loss's task
        task = "regression" if args.loss in REGRESSION_LOSSES else "classification"
        families = [f for f in families if FAMILIES[f][0] == task]
    if (args.timing or args.timing_unlabeled) and args.family is None and not args.quick:
        families = []
    print(HEADER)
    for k, name in enumerate(families):
        rows = evaluate(name, n_problems, args.seed * 1000 + k, args.loss, args.epsilon,
                        progress=args.progress)
        print(line(name + ("" if FAMILIES[name][1] else " (easy)"), summarise(rows)), flush=True)
        if args.misses:
            print_misses(rows)
    threads = ("default", "1") if args.threads == "both" else (args.threads,)
    if args.timing:
        timing(threads, args.repeat)
    if args.timing_unlabeled:
        timing_unlabeled(threads, max(2, args.repeat - 1))


if __name__ == "__main__":
    main()
