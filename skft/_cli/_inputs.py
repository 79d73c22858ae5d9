"""The inputs of ``skft advise``: every file read, checked against the others, and the intercept.

Row and column counts are compared across files; when they disagree by one, the message
says which reading decision (a first line taken as data or as a header, a row-index
column) would explain it. The pretrained intercept is never guessed: it comes from
``--intercept``, or is 0 for a model declared without one (``--no-intercept``).
"""

from dataclasses import dataclass, field

import numpy as np

from ._io import InputFileError, ReadOptions, Source, parse_intercept, read_array, read_label_vector
from ._text import row_index_hint

__all__ = ["FILE_NAMES", "Inputs", "load_inputs", "per_file_modes"]

FILE_NAMES = ("X", "y", "coef", "intercept", "unlabeled")


def per_file_modes(values, default="auto"):
    """``{"X": mode, ...}`` from ``--header yes --header y=no`` style values.

    Parameters
    ----------
    values : list of list of (str, str) or None
        Parsed ``(name, mode)`` pairs of each occurrence of the option; name ``"*"`` is a
        mode for every file. Later occurrences win.
    default : str, default="auto"

    Returns
    -------
    dict

    Examples
    --------
    >>> from skft._cli._inputs import per_file_modes
    >>> modes = per_file_modes([[("*", "yes")], [("y", "no")]])
    >>> modes["X"], modes["y"]
    ('yes', 'no')
    """
    modes = dict.fromkeys(FILE_NAMES, default)
    for pairs in values or []:
        for name, mode in pairs:
            if name == "*":
                modes = dict.fromkeys(FILE_NAMES, mode)
            else:
                modes[name] = mode
    return modes


@dataclass
class Inputs:
    """Everything ``should_finetune`` gets, and where each part came from."""

    coef: np.ndarray
    X: np.ndarray
    y: np.ndarray
    unlabeled: np.ndarray | None
    intercept: object  # float or ndarray
    intercept_origin: str
    fit_intercept: bool
    task: str
    sources: dict = field(default_factory=dict)

    def intercept_line(self):
        """The sentence that states the intercept used (printed with the answer)."""
        value = np.asarray(self.intercept, dtype=float)
        shown = f"{float(value):.6g}" if value.ndim == 0 else (
            "[" + ", ".join(f"{v:.6g}" for v in value) + "]"
        )
        fine = (
            "the fine-tuned model fits its own (--no-intercept keeps it fixed)"
            if self.fit_intercept
            else "the fine-tuned model keeps it fixed"
        )
        return f"Intercept: pretrained {shown} ({self.intercept_origin}); {fine}."

    def to_dict(self):
        """JSON-ready record of the inputs."""
        value = np.asarray(self.intercept, dtype=float)
        return {
            "files": {name: src.to_dict() for name, src in self.sources.items()},
            "intercept_init": float(value) if value.ndim == 0 else value.tolist(),
            "intercept_source": self.intercept_origin,
            "fit_intercept": self.fit_intercept,
        }

    def magnitudes(self):
        """``{"--X": max |value|, ...}`` of the numeric inputs (for numerical errors)."""
        out = {"--X": self.X, "--coef": self.coef}
        if self.y.dtype.kind == "f":
            out["--y"] = self.y
        if self.unlabeled is not None:
            out["--unlabeled"] = self.unlabeled
        return {k: float(np.max(np.abs(v))) for k, v in out.items()}


def _header_hint(src, option, surplus):
    """Why a file may hold one row too many (``surplus=1``) or too few (``-1``)."""
    lay = None if src is None else src.layout
    name = option.lstrip("-")
    if lay is None:
        return ""
    if surplus == 1 and lay.first_line_was_numeric_data:
        cells = ", ".join(lay.first_data_cells[:3]) + (
            ", ..." if len(lay.first_data_cells) > 3 else ""
        )
        return (
            f"; its first line ({cells}) was read as data: if it is a header, pass "
            f"--header {name}=yes"
        )
    if surplus == -1 and lay.numeric_header:
        return (
            f"; its line {lay.header_line} was taken as a header ({lay.header_reason}): "
            f"if it is data, pass --header {name}=no"
        )
    return ""


def _options(args, name):
    return ReadOptions(
        delimiter=args.delimiter,
        header=args.header_modes[name],
        index_col=args.index_modes[name],
        max_bytes=args.max_bytes,
    )


def _intercept_evidence(X, y, coef):
    """`` (the mean of y - X w0 here: 152 +- 6)`` for a continuous target, else ``""``."""
    if coef.ndim != 1 or y.dtype.kind != "f" or np.unique(y).size <= 2:
        return ""
    with np.errstate(all="ignore"):
        r = y - X @ coef
        mean, se = float(np.mean(r)), float(np.std(r, ddof=1) / np.sqrt(r.size))
    if not (np.isfinite(mean) and np.isfinite(se)):
        return ""
    return f" (here y - X w0 has mean {mean:.4g} +- {se:.2g})"


def _intercept(args, X, y, coef, log):
    if args.intercept is not None:
        value, src = parse_intercept(args.intercept, options=_options(args, "intercept"))
        if src is not None:
            log(f"read --intercept {src.describe()}")
        origin = f"--intercept {args.intercept}"
        return value, origin, src
    if not args.fit_intercept:
        return 0.0, "--no-intercept: a model without intercept", None
    raise InputFileError(
        "--intercept is required: give the pretrained model's intercept (a number, or a "
        "file with one value per class), --intercept 0 if it has none, or --no-intercept "
        "for a model without intercept; skft does not assume 0"
        + _intercept_evidence(X, y, coef)
    )


def _read(log, sources, name, reader, args, **kwargs):
    """Read the file of ``--name`` with ``reader``, record its source, log the stage."""
    path = getattr(args, name)
    with log.stage(f"reading --{name} {path}") as notes:
        values, sources[name] = reader(path, f"--{name}", options=_options(args, name), **kwargs)
        notes.append(sources[name].describe(with_path=False))
    return values


def load_inputs(args, log):
    """Read and cross-check the files of ``skft advise``.

    Parameters
    ----------
    args : argparse.Namespace
        With ``X``, ``y``, ``coef``, ``intercept``, ``unlabeled``, ``fit_intercept``,
        ``task``, ``delimiter``, ``max_bytes``, ``header_modes``, ``index_modes``.
    log : callable
        Receives one line per file read (``--verbose``).

    Returns
    -------
    Inputs

    Raises
    ------
    InputFileError
    """
    sources = {}
    X = _read(log, sources, "X", read_array, args, ndim=2)
    n, d = X.shape
    y = _read(log, sources, "y", read_label_vector, args, n_expected=n)
    if y.shape[0] != n:
        surplus = y.shape[0] - n
        hint = ""
        if abs(surplus) == 1:
            hint = _header_hint(sources["y"], "--y", surplus) or _header_hint(
                sources["X"], "--X", -surplus
            )
        raise InputFileError(
            f"--y: {args.y} holds {y.shape[0]} values but --X {args.X} has {n} rows{hint}"
        )
    coef = _read(log, sources, "coef", read_array, args, ndim="1or2")
    if coef.shape[-1] != d:
        what = f"{coef.shape[0]} values" if coef.ndim == 1 else f"{coef.shape[1]} columns"
        hint = ""
        if coef.shape[-1] == d - 1:
            hint = row_index_hint(sources["X"].layout, "--X")
        elif coef.shape[-1] == d + 1 and coef.ndim == 1:
            hint = _header_hint(sources["coef"], "--coef", 1)
        raise InputFileError(
            f"--coef: {args.coef} has {what} but --X {args.X} has {d} columns"
            + (hint or " (features)")
        )
    intercept, origin, src = _intercept(args, X, y, coef, log)
    if src is not None:
        sources["intercept"] = src
    unlabeled = None
    if args.unlabeled is not None:
        unlabeled = _read(log, sources, "unlabeled", read_array, args, ndim=2)
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
    return Inputs(
        coef=coef, X=X, y=y, unlabeled=unlabeled, intercept=intercept, intercept_origin=origin,
        fit_intercept=bool(args.fit_intercept), task=task, sources=sources,
    )


def source_lines(inputs):
    """One line per file read: ``  --X     X.csv: 60 rows x 100 columns (...)``."""
    width = max(len(name) for name in inputs.sources) + 2
    return [
        f"  {'--' + name:<{width}} {src.describe()}" for name, src in inputs.sources.items()
        if isinstance(src, Source)
    ]
