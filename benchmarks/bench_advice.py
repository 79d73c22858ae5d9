"""Decision quality and speed of ``should_finetune`` against four baselines.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_advice.py [--quick]``

Synthetic transfer problems with known truth (``skft.datasets``) spanning shift size, noise,
n/d from 0.1 to 2, spectra (isotropic, bilevel, power law) and feature distributions. For each
problem the truth is the *realised* test error of the fine-tuned model fitted on the very
``(X, y)`` given to the methods (exact, from the known covariance), against the pretrained
model's exact test error. Methods:

* ``theory``: ``should_finetune(...).finetune`` (skft);
* ``loo``: the closed-form leave-one-out error of the fine-tuned model vs the measured
  pretrained error (reported by ``should_finetune`` as ``loo_finetune``);
* ``cv5``: 5-fold cross-validation of the fine-tuned model (NumPy closed form of the same
  model) vs the pretrained model on the same folds;
* ``always`` / ``never``: always fine-tune / never fine-tune.

Reported: (a) the fraction of correct decisions among problems whose two true errors differ
by more than 10%; (b) the mean regret, ``chosen error / best error - 1`` (and in absolute
units); (c) the median relative error of the predicted fine-tuned error for n >= 100 and
d >= 400; (classification) how often the decision used the Gaussian-margin estimate of the
pretrained error rather than the count; and timings of ``should_finetune`` at n = 500,
d = 5000, with and without 20000 unlabelled rows.
"""

import argparse
import time
import warnings

import numpy as np

from skft.advice import DegenerateEstimateWarning, should_finetune
from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression

METHODS = ("theory", "loo", "cv5", "always", "never")


def finetune_closed_form(X, y, w0, alpha):
    """Fine-tuned coefficients (no intercept), on the smaller Gram side."""
    n, d = X.shape
    r = y - X @ w0
    if n <= d:
        return w0 + X.T @ np.linalg.solve(X @ X.T + n * alpha * np.eye(n), r)
    return w0 + np.linalg.lstsq(X.T @ X + n * alpha * np.eye(d), X.T @ r, rcond=None)[0]


def cv5_finetune(X, y, w0, alpha, task, rng):
    """5-fold CV: True when the fine-tuned model's held-out error beats the pretrained one."""
    n = X.shape[0]
    folds = np.array_split(rng.permutation(n), 5)
    ft_err = pre_err = 0.0
    for test in folds:
        train = np.setdiff1d(np.arange(n), test)
        w = finetune_closed_form(X[train], y[train], w0, alpha)
        if task == "regression":
            ft_err += np.sum((y[test] - X[test] @ w) ** 2)
            pre_err += np.sum((y[test] - X[test] @ w0) ** 2)
        else:
            ft_err += np.sum(np.sign(X[test] @ w) != y[test])
            pre_err += np.sum(np.sign(X[test] @ w0) != y[test])
    return ft_err < pre_err


def problems(task, n_problems, seed, d_choices=(200, 400, 800)):
    rng = np.random.default_rng(seed)
    for i in range(n_problems):
        d = int(rng.choice(d_choices))
        ratio = float(rng.choice([0.1, 0.2, 0.35, 0.5, 0.7, 1.4, 2.0]))
        n = max(int(ratio * d), 10)
        spectrum = str(rng.choice(["isotropic", "bilevel", "powerlaw"]))
        dist = str(rng.choice(["gaussian", "rademacher", "uniform", "student_t"]))
        alpha = float(rng.choice([0.0, 0.0, 0.1, 1.0]))
        common = dict(spectrum=spectrum, distribution=dist, random_state=int(seed * 10000 + i))
        if task == "regression":
            shift = float(rng.choice([0.2, 0.5, 1.0, 2.0]))
            noise = float(rng.choice([0.1, 0.5, 1.0]))
            X, y, truth = make_transfer_regression(n, d, noise=noise, shift=shift, **common)
            info = dict(shift=shift, noise=noise)
        else:
            shift = float(rng.choice([0.5, 1.0, 2.0, 4.0]))
            sep = float(rng.choice([1.0, 2.0, 3.0]))
            X, y, truth = make_transfer_classification(n, d, separation=sep, shift=shift, **common)
            info = dict(shift=shift, separation=sep)
        yield dict(
            X=X,
            y=y,
            truth=truth,
            n=n,
            d=d,
            alpha=alpha,
            spectrum=spectrum,
            distribution=dist,
            **info,
        )


def evaluate(task, n_problems, seed=0, d_choices=(200, 400, 800)):
    rows = []
    rng = np.random.default_rng(seed + 99)
    for p in problems(task, n_problems, seed, d_choices):
        X, y, truth, alpha = p["X"], p["y"], p["truth"], p["alpha"]
        w0 = truth.coef_init
        w_ft = finetune_closed_form(X, y, w0, alpha)
        pre = exact_test_error(truth, w0)
        ft = exact_test_error(truth, w_ft)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DegenerateEstimateWarning)
            adv = should_finetune(w0, X, y, alpha=alpha, task=task, fit_intercept=False)
        dec = dict(
            theory=adv.finetune,
            loo=adv.loo_finetune if adv.loo_finetune is not None else adv.finetune,
            cv5=cv5_finetune(X, y, w0, alpha, task, rng),
            always=True,
            never=False,
        )
        rows.append(
            dict(
                p,
                pre=pre,
                ft=ft,
                pred_ft=adv.finetuned_error.value,
                pred_pre=adv.pretrained_error.value,
                loo_ft=adv.loo_error,
                gap_se=adv.gap_stderr,
                basis=adv.decision_basis,
                confident=adv.confident,
                dec=dec,
            )
        )
    return rows


def report(rows, title):
    pre = np.array([r["pre"] for r in rows])
    ft = np.array([r["ft"] for r in rows])
    best = np.minimum(pre, ft)
    clear = np.abs(ft - pre) / best > 0.10
    print(f"\n{title}: {len(rows)} problems, {clear.sum()} with a true gap > 10%")
    print(
        f"{'method':8} {'correct (gap>10%)':>18} {'mean regret (rel)':>18} "
        f"{'mean regret (abs)':>18}"
    )
    out = {}
    for m in METHODS:
        dec = np.array([r["dec"][m] for r in rows])
        chosen = np.where(dec, ft, pre)
        truth_ft = ft < pre
        correct = np.mean(dec[clear] == truth_ft[clear])
        reg_rel = np.mean(chosen / best - 1.0)
        reg_abs = np.mean(chosen - best)
        out[m] = (correct, reg_rel, reg_abs)
        print(f"{m:8} {correct:>18.3f} {reg_rel:>18.4f} {reg_abs:>18.4g}")
    big_n = np.array([r["n"] >= 100 for r in rows])
    sel = clear & big_n
    if sel.any():
        parts = []
        for m in METHODS:
            dec = np.array([r["dec"][m] for r in rows])
            parts.append(f"{m} {np.mean(dec[sel] == (ft < pre)[sel]):.3f}")
        print(f"correct (gap>10%) with n >= 100 ({sel.sum()} problems): " + ", ".join(parts))
    basis = np.array([r["basis"] for r in rows])
    if np.any(basis != "measured"):
        gauss = basis == "gaussian_margin"
        print(
            f"theory's pretrained error for the decision: Gaussian-margin in {gauss.mean():.1%} "
            f"of problems, counted in {np.mean(basis == 'counted'):.1%} (normality of the "
            "margins rejected or untestable)"
        )
    conf = np.array([r["confident"] for r in rows])
    dec = np.array([r["dec"]["theory"] for r in rows])
    if conf.any():
        print(
            f"theory, confident only: {conf.mean():.0%} of problems, correct "
            f"{np.mean(dec[conf] == (ft < pre)[conf]):.3f}"
        )
    big = np.array([r["n"] >= 100 and r["d"] >= 400 for r in rows])
    pred = np.array([r["pred_ft"] for r in rows])
    rel = np.abs(pred - ft) / ft
    loo = np.array([np.nan if r["loo_ft"] is None else r["loo_ft"] for r in rows])
    rel_loo = np.abs(loo - ft) / ft
    if big.any():
        print(
            f"predicted fine-tuned error, n>=100 and d>=400: median relative error "
            f"{np.median(rel[big]):.3f} (leave-one-out: {np.nanmedian(rel_loo[big]):.3f}; "
            f"{big.sum()} problems)"
        )
    return out, rows


def print_misses(rows):
    """The clear cases (true gap > 10%) the theory decides wrongly."""
    print(
        f"{'n':>5} {'d':>4} {'alpha':>5} {'spectrum':>9} {'distrib':>10} {'shift':>5} "
        f"{'noise/sep':>9} {'true pre':>9} {'true ft':>9} {'meas pre':>9} {'pred ft':>9} "
        f"{'loo ft':>9} {'gap se':>8} conf"
    )
    for r in rows:
        best = min(r["pre"], r["ft"])
        if abs(r["ft"] - r["pre"]) / best > 0.10 and r["dec"]["theory"] != (r["ft"] < r["pre"]):
            other = r.get("noise", r.get("separation"))
            loo = float("nan") if r["loo_ft"] is None else r["loo_ft"]
            print(
                f"{r['n']:>5} {r['d']:>4} {r['alpha']:>5g} {r['spectrum']:>9} "
                f"{r['distribution']:>10} {r['shift']:>5g} {other:>9g} {r['pre']:>9.4g} "
                f"{r['ft']:>9.4g} {r['pred_pre']:>9.4g} {r['pred_ft']:>9.4g} {loo:>9.4g} "
                f"{r['gap_se']:>8.2g} {r['confident']}"
            )


def timing():
    rng = np.random.default_rng(0)
    n, d = 500, 5000
    X = rng.standard_normal((n, d))
    w = rng.standard_normal(d) / np.sqrt(d)
    y = X @ w + 0.5 * rng.standard_normal(n)
    w0 = w + rng.standard_normal(d) / np.sqrt(d)
    should_finetune(w0[:200], X[:50, :200], y[:50], fit_intercept=False)  # warm up imports
    t = time.perf_counter()
    should_finetune(w0, X, y)
    t1 = time.perf_counter() - t
    t = time.perf_counter()
    gram = X @ X.T
    np.linalg.eigvalsh(gram)
    base = time.perf_counter() - t
    print(
        f"\nshould_finetune n=500, d=5000: {t1:.2f} s (one n x n Gram + eigh alone: {base:.2f} s)"
    )
    XU = rng.standard_normal((20000, d))
    import skft.advice._estimate as est_mod

    spent = []
    original = est_mod.estimate_spectrum

    def timed_spectrum(*args, **kwargs):
        t0 = time.perf_counter()
        out = original(*args, **kwargs)
        spent.append(time.perf_counter() - t0)
        return out

    est_mod.estimate_spectrum = timed_spectrum
    try:
        t = time.perf_counter()
        should_finetune(w0, X, y, X_unlabeled=XU)
        t2 = time.perf_counter() - t
    finally:
        est_mod.estimate_spectrum = original
    t = time.perf_counter()
    np.linalg.eigvalsh(XU.T @ XU)
    base2 = time.perf_counter() - t
    print(
        f"should_finetune with 20000 unlabelled rows: {t2:.2f} s, of which the spectrum "
        f"estimate ({len(spent)} call(s), the pooled d x d Gram + eigh + fit): "
        f"{sum(spent):.2f} s = {sum(spent) / t2:.0%} (Gram + eigh of the unlabelled rows "
        f"alone: {base2:.2f} s)"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer problems, no timing")
    parser.add_argument("--no-timing", action="store_true")
    parser.add_argument("--timing-only", action="store_true")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="second set of problems: seeds 1 + 2*SEED (regression), 2 + 2*SEED (classification)",
    )
    parser.add_argument("--misses", action="store_true", help="print the theory's clear misses")
    parser.add_argument("--task", choices=("both", "regression", "classification"), default="both")
    args = parser.parse_args()
    if args.timing_only:
        timing()
        return
    n_reg, n_cls = (60, 40) if args.quick else (400, 250)
    for task, n_p, seed, title in (
        ("regression", n_reg, 1 + 2 * args.seed, "Regression"),
        ("classification", n_cls, 2 + 2 * args.seed, "Classification (binary)"),
    ):
        if args.task not in ("both", task):
            continue
        _, rows = report(evaluate(task, n_p, seed=seed), f"{title}, seed {seed}")
        if args.misses:
            print_misses(rows)
    if not (args.quick or args.no_timing):
        timing()


if __name__ == "__main__":
    main()
