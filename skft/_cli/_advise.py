"""``skft advise``: should I fine-tune my pretrained model? Answered from the user's files."""

import argparse
import json
import math
import warnings

import numpy as np

from ._io import InputFileError, load_array, load_labels, parse_intercept

__all__ = ["add_parser", "run"]

DESCRIPTION = """\
Should you fine-tune a pretrained linear model on your target data, or keep it as it is?

skft measures the pretrained model's error on your labelled target samples (it never saw
them), predicts the fine-tuned model's error from exact high-dimensional theory with the
unknowns (noise, shift, covariance spectrum) estimated from the same samples, checks it by
closed-form leave-one-out, and prints the decision, the recommended pull toward the start
(alpha) and the sample sizes at which fine-tuning pays. The fine-tuned model considered is
the limit of SGD started at the pretrained coefficients, with the pull alpha/2 ||w - w0||^2.

Files: CSV (comma, semicolon, tab or space separated, with or without a header line), .npy,
or .npz holding exactly one array. A vector may be one row or one column."""

EPILOG = """\
examples:
  skft advise --coef w0.csv --X X.csv --y y.csv
      regression or binary classification, decided from y (--task to force it)
  skft advise --coef w0.npy --intercept 0.3 --X X.npy --y y.npy --alpha 0.1 --json
      machine-readable answer for fine-tuning with alpha = 0.1
  skft advise --coef W0.csv --intercept b0.csv --X X.csv --y labels.csv --task classification
      multiclass: one row of W0 per class, in the sorted order of the labels
  skft advise --coef w0.csv --X X.csv --y y.csv --unlabeled X_more.csv --plot curve.png
      unlabelled target rows sharpen the covariance estimate; save the error curve

exit status: 0 on success, 2 on bad input (a one-line message on stderr)."""


def _non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def _confidence(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1), got {text!r}")
    return value


def add_parser(subparsers):
    """Register ``advise`` on ``subparsers``."""
    parser = subparsers.add_parser(
        "advise",
        help="should I fine-tune? answer from your own files",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    files = parser.add_argument_group("input files")
    files.add_argument(
        "--coef", required=True, metavar="W0",
        help="pretrained coefficients: a vector of n_features values, or an (n_classes, "
        "n_features) matrix for multiclass one-vs-rest (rows in sorted label order)",
    )
    files.add_argument(
        "--X", required=True, metavar="X", dest="X",
        help="labelled target features, (n_samples, n_features), at least 3 rows",
    )
    files.add_argument(
        "--y", required=True, metavar="Y", dest="y",
        help="target values (regression) or class labels, numbers or text (classification)",
    )
    files.add_argument(
        "--intercept", metavar="B0", default=None,
        help="pretrained intercept: a number, or a file with one value per class (default 0)",
    )
    files.add_argument(
        "--unlabeled", metavar="U", default=None,
        help="unlabelled target features (n_unlabeled, n_features), improve the covariance "
        "estimate",
    )
    files.add_argument(
        "--header", choices=("auto", "yes", "no"), default="auto",
        help="whether CSV files start with a header line (default: auto, a first row that "
        "is not all numbers)",
    )
    model = parser.add_argument_group("fine-tuning considered")
    model.add_argument(
        "--alpha", type=_non_negative, default=0.0, metavar="A",
        help="pull toward the start, alpha >= 0 (default 0: plain SGD to convergence)",
    )
    model.add_argument(
        "--task", choices=("auto", "regression", "classification"), default="auto",
        help="default auto: classification for text or two-valued labels or a coefficient "
        "matrix, regression for continuous y",
    )
    model.add_argument(
        "--no-intercept", dest="fit_intercept", action="store_false",
        help="the fine-tuned model keeps the intercept fixed (default: it fits one)",
    )
    model.add_argument(
        "--confidence", type=_confidence, default=0.95, metavar="LEVEL",
        help="level of the intervals and of the 'confident' flag (default 0.95)",
    )
    out = parser.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the answer as JSON")
    out.add_argument(
        "--plot", metavar="FILE", default=None,
        help="save the predicted error against n (needs matplotlib; format from the suffix, "
        "e.g. .png, .pdf, .svg)",
    )
    parser.set_defaults(func=run)
    return parser


def _load_inputs(args):
    header = args.header
    X = load_array(args.X, "--X", ndim=2, header=header)
    y = load_labels(args.y, "--y", header=header)
    coef = load_array(args.coef, "--coef", ndim="1or2", header=header)
    n, d = X.shape
    if y.shape[0] != n:
        raise InputFileError(
            f"--y: {args.y} holds {y.shape[0]} values but --X {args.X} has {n} rows"
        )
    if coef.shape[-1] != d:
        what = f"{coef.shape[0]} values" if coef.ndim == 1 else f"{coef.shape[1]} columns"
        raise InputFileError(
            f"--coef: {args.coef} has {what} but --X {args.X} has {d} columns (features)"
        )
    intercept = None if args.intercept is None else parse_intercept(args.intercept)
    unlabeled = None
    if args.unlabeled is not None:
        unlabeled = load_array(args.unlabeled, "--unlabeled", ndim=2, header=header)
        if unlabeled.shape[1] != d:
            raise InputFileError(
                f"--unlabeled: {args.unlabeled} has {unlabeled.shape[1]} columns but --X "
                f"{args.X} has {d}"
            )
    task = args.task
    if y.dtype.kind == "U":
        if task == "regression":
            raise InputFileError(f"--y: {args.y} holds text labels; regression needs numbers")
        task = "classification"
    return coef, intercept, X, y, unlabeled, task


def _check_plot_target(path):
    """Fail before the computation when the figure cannot be written."""
    from pathlib import Path

    try:
        import matplotlib
    except ImportError:
        raise InputFileError(
            "--plot: matplotlib is not installed: pip install \"skft[plot]\" "
            "(or pip install matplotlib)"
        ) from None
    matplotlib.use("Agg")
    from matplotlib.backend_bases import FigureCanvasBase

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FigureCanvasBase.get_supported_filetypes():
        raise InputFileError(
            f"--plot: cannot tell the image format of {path!r}; use a suffix such as .png, "
            ".pdf or .svg"
        )
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        raise InputFileError(f"--plot: directory {parent} does not exist")


def run(args, stdout, stderr):
    """Run ``skft advise``; return the exit status."""
    from ..advice import should_finetune

    if args.plot is not None:
        _check_plot_target(args.plot)
    coef, intercept, X, y, unlabeled, task = _load_inputs(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            advice = should_finetune(
                coef,
                X,
                y,
                intercept_init=intercept,
                task=task,
                alpha=args.alpha,
                X_unlabeled=unlabeled,
                fit_intercept=args.fit_intercept,
                confidence=args.confidence,
            )
        except ValueError as exc:
            raise InputFileError(str(exc).splitlines()[0]) from None
    seen = set()
    for w in caught:
        msg = str(w.message).splitlines()[0]
        if msg not in seen:
            seen.add(msg)
            print(f"skft advise: warning: {msg}", file=stderr)
    if args.json:
        print(json.dumps(advice.to_dict(), indent=2), file=stdout)
    else:
        print(advice.summary(), file=stdout)
        if advice.classes is not None:
            classes = ", ".join(str(c) for c in np.asarray(advice.classes).tolist())
            print(f"classes (label order): {classes}", file=stdout)
    if args.plot is not None:
        import matplotlib.pyplot as plt

        from ..plotting import FinetuneCurveDisplay

        disp = FinetuneCurveDisplay.from_advice(advice)
        try:
            disp.figure_.savefig(args.plot, dpi=120, bbox_inches="tight")
        except (OSError, ValueError) as exc:
            raise InputFileError(f"--plot: cannot write {args.plot}: {exc}") from None
        finally:
            plt.close(disp.figure_)
        if not args.json:
            print(f"figure saved to {args.plot}", file=stdout)
        else:
            print(f"figure saved to {args.plot}", file=stderr)
    return 0
