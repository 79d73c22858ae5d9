"""``skft advise``: should I fine-tune my pretrained model? Answered from the user's files."""

import argparse
import contextlib
import json
import math
import warnings

import numpy as np

from ..utils._stages import StageLog
from ._files import DEFAULT_MAX_BYTES, format_size, parse_size
from ._inputs import FILE_NAMES, load_inputs, per_file_modes, source_lines
from ._io import InputFileError
from ._text import parse_delimiter

__all__ = ["add_parser", "run"]

LOSSES = ("squared_error", "log_loss", "hinge", "modified_huber", "huber", "epsilon_insensitive")

DESCRIPTION = """\
Should you fine-tune a pretrained linear model on your target data, or keep it as it is?

skft measures the pretrained model's error on your labelled target samples (it never saw
them), predicts the fine-tuned model's error from exact high-dimensional theory with the
unknowns (noise, shift, covariance spectrum) estimated from the same samples, checks it by
closed-form leave-one-out, and prints the decision, the recommended pull toward the start
(alpha) and the sample sizes at which fine-tuning pays. The fine-tuned model considered is
the limit of SGD started at the pretrained coefficients, with the pull alpha/2 ||w - w0||^2.

Files: delimited text (comma, tab, semicolon, pipe or whitespace separated, detected from
whole lines; --delimiter to say it), .npy, or .npz holding exactly one array (pickled arrays
are never loaded). A vector may be one row or one column. Only regular files are read (not
FIFOs, devices or directories), each at most --max-bytes. What was decided for each file
(delimiter, header line, a pandas index column dropped) is printed with the answer.

The pretrained intercept is never guessed: pass --intercept (0 if the model has none), or
--no-intercept for a model without intercept. The answer states the intercept it used."""

EPILOG = """\
examples:
  skft advise --coef w0.csv --intercept 152.1 --X X.csv --y y.csv
      regression or binary classification, decided from y (--task to force it)
  skft advise --coef w0.csv --no-intercept --X X.csv --y y.csv
      a model without intercept (pretrained and fine-tuned)
  skft advise --coef w0.npy --intercept 0.3 --X X.npy --y y.npy --alpha 0.1 --json
      machine-readable answer for fine-tuning with alpha = 0.1
  skft advise --coef W0.csv --intercept b0.csv --X X.csv --y labels.csv --task classification
      multiclass: one row of W0 per class, in the sorted order of the labels
  skft advise --coef w0.csv --intercept 0 --X X.csv --y y.csv --unlabeled X_more.csv \\
      --plot curve.png
      unlabelled target rows sharpen the covariance estimate; save the error curve
  skft advise --coef w0.csv --intercept 0 --X X.csv --y labels.csv --alpha 0.1 \\
      --loss squared_error --loss log_loss --loss hinge
      compare fine-tunings with several losses, each by its own theory
  skft advise ... --header X=yes --header y=no --delimiter ';' --index-col X=first
      override what is detected, per file (X, y, coef, intercept, unlabeled) or for all

exit status: 0 on success, 2 on any failure (one line on stderr: bad usage or input, a
numerical failure, a closed output pipe)."""


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


def _per_file(choices):
    """argparse type for ``MODE`` or ``NAME=MODE[,NAME=MODE...]`` (NAME one of the files)."""

    def parse(text):
        pairs = []
        for part in text.split(","):
            name, sep, mode = part.strip().partition("=")
            if not sep:
                name, mode = "*", name
            name = name.strip().lstrip("-")
            if name != "*" and name not in FILE_NAMES:
                raise argparse.ArgumentTypeError(
                    f"unknown file {name!r} in {text!r}; use one of {', '.join(FILE_NAMES)}"
                )
            if mode not in choices:
                raise argparse.ArgumentTypeError(
                    f"expected one of {', '.join(choices)} (or FILE=MODE), got {text!r}"
                )
            pairs.append((name, mode))
        return pairs

    parse.__name__ = "mode"
    return parse


def _delimiter(text):
    try:
        return parse_delimiter(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _size(text):
    try:
        return parse_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
        help="pretrained intercept: a number, or a file with one value per class; required "
        "unless --no-intercept (use 0 if the model has none: skft does not assume it)",
    )
    files.add_argument(
        "--unlabeled", metavar="U", default=None,
        help="unlabelled target features (n_unlabeled, n_features), improve the covariance "
        "estimate",
    )
    reading = parser.add_argument_group(
        "reading text files (each option: MODE for every file, or FILE=MODE, repeatable)"
    )
    reading.add_argument(
        "--header", type=_per_file(("auto", "yes", "no")), action="append", default=None,
        metavar="MODE",
        help="whether a file starts with a header line: auto (default: a line with text, or "
        "consecutive integers such as years above non-integer data), yes, no; e.g. "
        "--header no, --header X=yes,y=no",
    )
    reading.add_argument(
        "--index-col", type=_per_file(("auto", "first", "none")), action="append",
        default=None, metavar="MODE", dest="index_col",
        help="a first column holding row names: auto (default: dropped when the header "
        "marks it as pandas to_csv does), first, none",
    )
    reading.add_argument(
        "--delimiter", type=_delimiter, default="auto", metavar="SEP",
        help="auto (default), comma, tab, semicolon, pipe, space (runs of whitespace) or "
        "one character",
    )
    reading.add_argument(
        "--max-bytes", type=_size, default=DEFAULT_MAX_BYTES, metavar="SIZE",
        help=f"largest file read (and largest array a .npy/.npz declares), e.g. 500M, 8G, "
        f"none (default {format_size(DEFAULT_MAX_BYTES)})",
    )
    model = parser.add_argument_group("fine-tuning considered")
    model.add_argument(
        "--alpha", type=_non_negative, default=0.0, metavar="A",
        help="pull toward the start, alpha >= 0 (default 0: plain SGD to convergence)",
    )
    model.add_argument(
        "--loss", choices=LOSSES, action="append", default=None, metavar="LOSS",
        help="the fine-tuning's loss: squared_error (default), log_loss, hinge, "
        "modified_huber (classification), huber, epsilon_insensitive (regression); repeat "
        "to compare several, each by its own theory against keeping the start",
    )
    model.add_argument(
        "--epsilon", type=_non_negative, default=None, metavar="E",
        help="epsilon of huber and epsilon_insensitive (default 0.1); refused with no such "
        "--loss",
    )
    model.add_argument(
        "--task", choices=("auto", "regression", "classification"), default="auto",
        help="default auto: classification for text or two-valued labels or a coefficient "
        "matrix, regression for continuous y",
    )
    model.add_argument(
        "--no-intercept", dest="fit_intercept", action="store_false",
        help="the fine-tuned model keeps the intercept fixed (default: it fits one); "
        "without --intercept, the model has no intercept at all (0)",
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
    out.add_argument(
        "-v", "--verbose", action="store_true",
        help="print the stages and their timings on stderr (reading the files, and each "
        "stage of the advice: factorisation, spectrum, profile, leave-one-out, checks)",
    )
    parser.set_defaults(func=run)
    return parser


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
    if Path(path).exists() and not Path(path).is_file():  # stat only: a FIFO is not opened
        raise InputFileError(
            f"--plot: {path} exists and is not a regular file (a directory, FIFO or device); "
            "give the name of a file to write"
        )


def _magnitudes(inputs):
    sizes = inputs.magnitudes()
    extreme = [k for k, v in sizes.items() if v > 1e100 or 0 < v < 1e-100]
    shown = ", ".join(f"{k} {v:.3g}" for k, v in sizes.items())
    if extreme:
        return (
            f"largest |value|: {shown}; {' and '.join(extreme)} "
            f"{'is' if len(extreme) == 1 else 'are'} extreme: rescale"
        )
    return f"largest |value|: {shown}"


def _losses(args):
    """The ``loss`` argument: one name, or the list of those given (repeated ``--loss``)."""
    names = list(dict.fromkeys(args.loss or ["squared_error"]))
    return names[0] if len(names) == 1 else names


def _epsilon(args):
    """``--epsilon`` (default 0.1), refused when no loss given uses it (it would be ignored)."""
    if args.epsilon is None:
        return 0.1
    if not {"huber", "epsilon_insensitive"} & set(args.loss or ()):
        raise InputFileError("--epsilon is the epsilon of --loss huber and --loss "
                             "epsilon_insensitive; no such --loss was given, so it would be "
                             "ignored")
    return args.epsilon


def _advice(inputs, args):
    """``should_finetune`` on the inputs; its failures become one-line input errors."""
    from ..advice import should_finetune

    try:
        advice = should_finetune(
            inputs.coef,
            inputs.X,
            inputs.y,
            intercept_init=inputs.intercept,
            task=inputs.task,
            alpha=args.alpha,
            X_unlabeled=inputs.unlabeled,
            fit_intercept=inputs.fit_intercept,
            confidence=args.confidence,
            loss=_losses(args),
            epsilon=_epsilon(args),
            verbose=2 if args.verbose else 0,
        )
    except (ArithmeticError, np.linalg.LinAlgError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else ""
        raise InputFileError(
            f"numerical failure computing the advice ({type(exc).__name__}: {reason}); "
            + _magnitudes(inputs)
        ) from None
    except ValueError as exc:
        raise InputFileError(str(exc).splitlines()[0]) from None
    values = (advice.pretrained_error.value,) + (
        () if advice.finetuned_error is None else (advice.finetuned_error.value,))
    if any(np.isnan(v) for v in values):
        raise InputFileError(
            "the advice came out NaN for these inputs (a numerical failure); "
            + _magnitudes(inputs)
        )
    return advice


def run(args, stdout, stderr):
    """Run ``skft advise``; return the exit status."""
    log = StageLog(stderr, "skft advise", args.verbose)
    args.header_modes = per_file_modes(args.header)
    args.index_modes = per_file_modes(args.index_col)
    if args.plot is not None:
        _check_plot_target(args.plot)
    inputs = load_inputs(args, log)
    log(inputs.intercept_line())
    n, d = inputs.X.shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with log.stage(f"should_finetune ({inputs.task}, n={n}, d={d}, alpha={args.alpha:g}, "
                       f"loss={_losses(args)})"), \
                contextlib.redirect_stderr(stderr):  # its --verbose stages
            advice = _advice(inputs, args)
    seen = set()
    for w in caught:
        msg = str(w.message).splitlines()[0]
        if msg not in seen:
            seen.add(msg)
            print(f"skft advise: warning: {msg}", file=stderr)
    if args.json:
        out = advice.to_dict()
        record = inputs.to_dict()
        for key in ("intercept_init", "intercept_source", "fit_intercept"):
            out.setdefault(key, record[key])
        out["inputs"] = record["files"]
        print(json.dumps(out, indent=2), file=stdout)
    else:
        print("Read:", file=stdout)
        print("\n".join(source_lines(inputs)), file=stdout)
        print(inputs.intercept_line() + "\n", file=stdout)
        print(advice.summary(), file=stdout)
        if advice.classes is not None:
            classes = ", ".join(str(c) for c in np.asarray(advice.classes).tolist())
            print(f"classes (label order): {classes}", file=stdout)
    if args.plot is not None and advice.finetuned_error is None:
        raise InputFileError("--plot: no fine-tuning named has a prediction here (see the "
                             "answer above): nothing to plot")
    if args.plot is not None:
        with log.stage(f"drawing {args.plot}"):
            _save_plot(advice, args.plot)
        print(f"figure saved to {args.plot}", file=stderr if args.json else stdout)
    log("done")
    return 0


def _save_plot(advice, path):
    import matplotlib.pyplot as plt

    from ..plotting import FinetuneCurveDisplay

    disp = FinetuneCurveDisplay.from_advice(advice)
    try:
        disp.figure_.savefig(path, dpi=120, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise InputFileError(f"--plot: cannot write {path}: {exc}") from None
    finally:
        plt.close(disp.figure_)
