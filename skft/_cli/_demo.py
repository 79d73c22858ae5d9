"""``skft demo``: the whole story on generated data and on a dataset bundled with scikit-learn.

For each problem: ask :func:`skft.should_finetune`, fine-tune with the real estimator
(:class:`skft.WarmStartSGDRegressor`) at ``alpha = 0`` and at the recommended ``alpha``,
measure the realised test error, and print it next to the prediction. A figure of the
predicted curves with the realised points is saved when matplotlib is installed.
"""

import argparse
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["add_parser", "run"]

EPILOG = """\
examples:
  skft demo                          tables, and skft-output/skft-demo.png
  skft demo --output-dir results     save the figure in results/
  skft demo --no-figure              tables only"""


def add_parser(subparsers):
    """Register ``demo`` on ``subparsers``."""
    parser = subparsers.add_parser(
        "demo",
        help="fine-tune on generated and bundled data; predicted vs realised error",
        description="Show what skft does, end to end and offline: on generated data whose "
        "truth is known and on scikit-learn's bundled diabetes data (a pretrained model on "
        "younger patients, fine-tuned on a few older ones), ask should_finetune, fine-tune "
        "with WarmStartSGDRegressor, and compare the realised test error with the prediction.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output-dir", default="skft-output", metavar="DIR",
        help="folder for the figure, created if needed (default: ./skft-output)",
    )
    parser.add_argument(
        "--no-figure", dest="figure", action="store_false", help="do not draw the figure",
    )
    parser.add_argument(
        "--random-state", type=int, default=0, metavar="SEED",
        help="seed of the generated data and of the diabetes split (default 0)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the stages and their timings on stderr",
    )
    parser.set_defaults(func=run)
    return parser


@dataclass
class _Result:
    """One problem: its advice, the realised errors and what the figure needs."""

    title: str
    description: str
    advice: object
    realised_pretrained: float
    realised_finetuned: float
    realised_recommended: float
    realised_se: tuple = (None, None, None)
    truth_curve: np.ndarray | None = None
    truth_pretrained: float | None = None
    truth_finetuned: float | None = None


def _recommended_alpha(advice):
    """A finite alpha to fit (a very large one stands for "keep the start")."""
    a = advice.recommended_alpha
    return a if np.isfinite(a) else 1e8


def _generated(seed):
    from ..advice import should_finetune
    from ..datasets import exact_test_error, make_transfer_regression
    from ..linear_model import WarmStartSGDRegressor
    from ..theory import Spectrum, regression_risk

    n, d = 150, 400
    X, y, truth = make_transfer_regression(
        n, d, spectrum="bilevel", noise=0.5, shift=1.0, random_state=seed
    )
    advice = should_finetune(truth.coef_init, X, y, fit_intercept=False)
    ft = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    rec = WarmStartSGDRegressor(
        truth.coef_init, alpha=_recommended_alpha(advice), fit_intercept=False
    ).fit(X, y)
    spec = Spectrum.from_covariance(truth.covariance)
    curve = regression_risk(spec, truth.delta, truth.noise_var, advice.curve_n)
    at_n = regression_risk(spec, truth.delta, truth.noise_var, n)
    return _Result(
        title="generated",
        description=(
            "Generated data (skft.datasets.make_transfer_regression): the truth is known.\n"
            f"      n={n} labelled target samples, d={d} features (bilevel spectrum), "
            "pretrained coefficients\n      off by ||w0 - w*|| = 1, label noise sd 0.5."
        ),
        advice=advice,
        realised_pretrained=exact_test_error(truth, truth.coef_init),
        realised_finetuned=exact_test_error(truth, ft.coef_),
        realised_recommended=exact_test_error(truth, rec.coef_),
        truth_curve=np.asarray(curve.finetuned),
        truth_pretrained=curve.pretrained,
        truth_finetuned=float(at_n.finetuned),
    )


def _diabetes(seed, n_target=60):
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import RidgeCV

    from ..advice import should_finetune
    from ..linear_model import WarmStartSGDRegressor

    X, y = load_diabetes(return_X_y=True)
    X = X / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    older = X[:, 0] > np.median(X[:, 0])
    source = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(X[~older], y[~older])
    Xt, yt = X[older], y[older]
    perm = np.random.default_rng(seed).permutation(len(yt))
    train, test = perm[:n_target], perm[n_target:]
    advice = should_finetune(source, Xt[train], yt[train])
    ft = WarmStartSGDRegressor(source).fit(Xt[train], yt[train])
    rec = WarmStartSGDRegressor(source, alpha=_recommended_alpha(advice)).fit(
        Xt[train], yt[train]
    )

    def mse(model):
        return float(np.mean((model.predict(Xt[test]) - yt[test]) ** 2))

    def se(model):
        sq = (model.predict(Xt[test]) - yt[test]) ** 2
        return float(sq.std(ddof=1) / np.sqrt(sq.size))

    return _Result(
        title="diabetes",
        description=(
            "Diabetes (sklearn.datasets.load_diabetes, bundled with scikit-learn, no download).\n"
            f"      A Ridge model pretrained on the {int((~older).sum())} younger patients, "
            f"fine-tuned on n={n_target} of the\n      {int(older.sum())} older ones, tested "
            f"on the other {len(test)} (d=10 standardised features and target)."
        ),
        advice=advice,
        realised_pretrained=mse(source),
        realised_finetuned=mse(ft),
        realised_recommended=mse(rec),
        realised_se=(se(source), se(ft), se(rec)),
    )


def _verdict(r):
    """How the advice compares with what happened on the test data."""
    a = r.advice
    helped = r.realised_finetuned < r.realised_pretrained
    said = "fine-tune" if a.finetune else "keep the pretrained model"
    happened = "fine-tuning helped" if helped else "fine-tuning hurt"
    if not a.confident:
        return f"advice: {said}, but too close to call; realised: {happened}"
    agrees = "agrees" if helped == a.finetune else "DISAGREES"
    return f"advice: {said}; realised: {happened} ({agrees})"


def _table(results):
    """Predicted vs realised test error, one row per model and problem."""
    head = (
        f"{'problem':<10} {'model':<31} {'predicted [95% interval]':>25} "
        f"{'true theory':>11} {'realised':>16}"
    )
    lines = [head, "-" * len(head)]
    for r in results:
        a = r.advice
        pre, ft = a.pretrained_error, a.finetuned_error
        rows = [
            ("pretrained", f"{pre.value:.3f} [{pre.low:.3f}, {pre.high:.3f}]",
             r.truth_pretrained, r.realised_pretrained, r.realised_se[0]),
            (f"fine-tuned, alpha={a.alpha:g}", f"{ft.value:.3f} [{ft.low:.3f}, {ft.high:.3f}]",
             r.truth_finetuned, r.realised_finetuned, r.realised_se[1]),
            (f"fine-tuned, alpha={a.recommended_alpha:.3g} (recomm.)",
             f"{a.recommended_error:.3f}", None, r.realised_recommended, r.realised_se[2]),
        ]
        for i, (model, predicted, truth, realised, se) in enumerate(rows):
            truth_s = "-" if truth is None else f"{truth:.3f}"
            real_s = f"{realised:.3f}" + ("" if se is None else f" +- {se:.3f}")
            lines.append(
                f"{r.title if i == 0 else '':<10} {model:<31} {predicted:>25} {truth_s:>11} "
                f"{real_s:>16}"
            )
        lines.append(f"{'':<10} {_verdict(r)}")
    lines += [
        "",
        "predicted: should_finetune, from the labelled target samples only.",
        "true theory: skft.theory with the true covariance, shift and noise (generated data).",
        "realised: test MSE of the fitted estimator (exact for generated data; on the held-out",
        "patients for diabetes, +- its standard error).",
    ]
    return "\n".join(lines)


def _figure(results, output_dir, stdout):
    try:
        import matplotlib
    except ImportError:
        print(
            "\nNo figure: matplotlib is not installed (pip install \"skft[plot]\" or "
            "pip install matplotlib).",
            file=stdout,
        )
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..plotting import FinetuneCurveDisplay

    fig, axes = plt.subplots(1, len(results), figsize=(6.2 * len(results), 4.4))
    for ax, r in zip(np.atleast_1d(axes), results, strict=True):
        a = r.advice
        disp = FinetuneCurveDisplay.from_advice(
            a,
            ax=ax,
            name=r.title,  # the Display adds n, d and alpha, and marks the observed n
        )
        if r.truth_curve is not None:
            ax.plot(a.curve_n, np.where(np.isfinite(r.truth_curve), r.truth_curve, np.nan),
                    color="k", lw=0.8, label="fine-tuned, alpha=0, theory with true unknowns")
        ax.plot([a.n_samples], [r.realised_pretrained], "D", color="0.3", ms=6,
                label="realised, pretrained")
        ax.plot([a.n_samples], [r.realised_finetuned], "*", color="C0", ms=12,
                label=f"realised, fine-tuned alpha={a.alpha:g}")
        if disp.lines_.get("recommended") is not None:
            ax.plot([a.n_samples], [r.realised_recommended], "*", color="C2", ms=12,
                    label="realised, fine-tuned recommended alpha")
        ax.legend(fontsize="x-small")
    fig.tight_layout()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / "skft-demo.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(args, stdout, stderr):
    """Run ``skft demo``; return the exit status."""
    from ..utils._stages import StageLog
    from ._io import InputFileError

    log = StageLog(stderr, "skft demo", args.verbose)
    start = time.perf_counter()
    print(
        "skft demo: fine-tune a pretrained linear model on a few target samples, and know\n"
        "beforehand, from exact high-dimensional theory, whether it pays.\n",
        file=stdout,
    )
    results = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for i, problem in enumerate((_generated, _diabetes), start=1):
            with log.stage(f"problem {i}/2 ({problem.__name__.lstrip('_')}): advice and fits"):
                result = problem(args.random_state)
            results.append(result)
            print(f"[{i}/2] {result.description}\n", file=stdout)
            print(result.advice.summary(), file=stdout)
            print("", file=stdout)
    for msg in sorted({str(w.message).splitlines()[0] for w in caught}):
        print(f"skft demo: warning: {msg}", file=stderr)
    print("Predicted vs realised test MSE\n", file=stdout)
    print(_table(results), file=stdout)
    if args.figure:
        try:
            with log.stage("drawing the figure"):
                path = _figure(results, args.output_dir, stdout)
        except OSError as exc:
            raise InputFileError(f"--output-dir: cannot write the figure: {exc}") from None
        if path is not None:
            print(f"\nFigure saved to {path}", file=stdout)
    print(f"\nDone in {time.perf_counter() - start:.1f} s. Next: skft advise --help "
          "(your own files).", file=stdout)
    return 0
