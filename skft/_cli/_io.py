"""Reading the arrays of ``skft advise`` from files: delimited text, .npy, .npz.

Every problem is reported as an :class:`InputFileError` whose one-line message names the
command-line option, the file and what is wrong, so that the command line can print it
without a traceback. What was decided while reading (delimiter, header line, index column)
is kept in a :class:`Source` that the command line prints. Opening is in :mod:`._files`
(regular files only, size cap, no pickles), text parsing in :mod:`._text`.
"""

import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._files import DEFAULT_MAX_BYTES, InputFileError, load_npy, load_npz, read_bytes
from ._text import TextLayout, is_number, read_labels, read_table

__all__ = [
    "InputFileError",
    "ReadOptions",
    "Source",
    "load_array",
    "load_labels",
    "parse_intercept",
    "read_array",
    "read_label_vector",
]


@dataclass(frozen=True)
class ReadOptions:
    """How to read one file: the command line's ``--delimiter``, ``--header``, ...

    Parameters
    ----------
    delimiter : str, None or "auto", default="auto"
        A character, None for runs of whitespace, ``"auto"`` to detect it.
    header : {"auto", "yes", "no"}, default="auto"
    index_col : {"auto", "first", "none"}, default="auto"
    max_bytes : int or None, default=1 GiB
        Largest file (and largest array declared by a .npy/.npz header) read.
    """

    delimiter: object = "auto"
    header: str = "auto"
    index_col: str = "auto"
    max_bytes: int | None = DEFAULT_MAX_BYTES


@dataclass
class Source:
    """Where an array came from and how it was read."""

    option: str
    path: str
    format: str  # "npy", "npz" or "text"
    shape: tuple = ()
    layout: TextLayout | None = None

    def describe(self, with_path=True):
        """``"X.csv: 60 rows x 100 columns; text, comma-separated; ..."``."""
        if len(self.shape) == 2:
            size = f"{self.shape[0]} rows x {self.shape[1]} columns"
        else:
            size = f"{self.shape[0]} values" if self.shape else "a number"
        how = f".{self.format} file" if self.layout is None else self.layout.describe()
        return f"{self.path}: {size}; {how}" if with_path else f"{size}; {how}"

    def to_dict(self):
        """JSON-ready record."""
        out = {"path": self.path, "format": self.format, "shape": list(self.shape)}
        if self.layout is not None:
            out.update(self.layout.to_dict())
        return out


def _load_raw(path, option, options, *, labels=False, n_expected=None):
    """``(values, source)``: an ndarray (npy/npz) or text cells / a float table."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return load_npy(path, option, options.max_bytes), Source(option, str(path), "npy")
        if suffix == ".npz":
            return load_npz(path, option, options.max_bytes), Source(option, str(path), "npz")
        data = read_bytes(path, option, options.max_bytes)
        kwargs = dict(
            delimiter=options.delimiter, header=options.header, index_col=options.index_col
        )
        if labels:
            cells, layout = read_labels(data, path, option, n_expected=n_expected, **kwargs)
        else:
            cells, layout = read_table(data, path, option, **kwargs)
        return cells, Source(option, str(path), "text", layout=layout)
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error,
            NotImplementedError) as exc:  # corrupt .npy / .npz, zip errors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{option}: cannot read {path}: {reason}") from None


def _shape_as(array, path, option, ndim):
    if ndim == 1:
        if array.ndim == 2 and 1 in array.shape:
            array = array.ravel()
        if array.ndim != 1:
            raise InputFileError(
                f"{option}: {path} holds an array of shape {array.shape}; expected a vector"
            )
    elif ndim == 2:
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2:
            raise InputFileError(
                f"{option}: {path} holds an array of shape {array.shape}; expected a matrix"
            )
    else:  # "vector or matrix": a single row or column is a vector
        if array.ndim == 2 and 1 in array.shape:
            array = array.ravel()
        if array.ndim not in (1, 2):
            raise InputFileError(
                f"{option}: {path} holds an array of shape {array.shape}; "
                "expected a vector or a matrix"
            )
    if array.size == 0:
        raise InputFileError(f"{option}: {path} holds no values")
    return array


def _check_finite(array, path, option):
    bad = ~np.isfinite(array)
    if np.any(bad):
        where = np.argwhere(bad)[0] + 1
        at = f"row {where[0]}, column {where[1]}" if array.ndim == 2 else f"value {where[0]}"
        raise InputFileError(
            f"{option}: {path} contains {int(bad.sum())} NaN or infinite value(s), the first "
            f"at data {at}"
        )


def read_array(path, option, *, ndim, options=ReadOptions()):
    """Load a finite numeric array from ``path`` and say how it was read.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file, an ``.npz`` archive holding exactly one array, or a delimited text
        file (any other suffix; comma, tab, semicolon, pipe or whitespace separated).
    option : str
        The command-line option the file was given to (named in every error).
    ndim : {1, 2, "1or2"}
        1: a vector (one row or one column is accepted); 2: a matrix (a vector becomes a
        single column); ``"1or2"``: a vector, or a matrix with several rows and columns.
    options : ReadOptions, default=ReadOptions()

    Returns
    -------
    array : ndarray of float64
    source : Source

    Raises
    ------
    InputFileError
        With a one-line message naming ``option``: missing file, not a regular file,
        too large, unreadable, pickled, text in a numeric column, ragged rows, wrong shape,
        no values, NaN or infinity.
    """
    path = Path(path)
    raw, source = _load_raw(path, option, options)
    array = np.asarray(raw)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputFileError(f"{option}: {path} does not hold real numbers (dtype {array.dtype})")
    array = _shape_as(np.asarray(array, dtype=np.float64), path, option, ndim)
    _check_finite(array, path, option)
    source.shape = array.shape
    return array, source


def load_array(path, option, *, ndim, header="auto", **kwargs):
    """Load a finite numeric array from ``path`` (:func:`read_array` without the source).

    Parameters
    ----------
    path : str or Path
    option : str
    ndim : {1, 2, "1or2"}
    header : {"auto", "yes", "no"}, default="auto"
    **kwargs
        ``delimiter``, ``index_col``, ``max_bytes`` of :class:`ReadOptions`.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skft._cli._io import load_array
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "X.csv"
    >>> _ = path.write_text("a;b\\n1;2\\n3;4\\n")
    >>> load_array(path, "--X", ndim=2).tolist()
    [[1.0, 2.0], [3.0, 4.0]]
    """
    options = ReadOptions(header=header, **kwargs)
    return read_array(path, option, ndim=ndim, options=options)[0]


def read_label_vector(path, option, *, options=ReadOptions(), n_expected=None):
    """Load target values or class labels (numbers or text) and say how they were read.

    Numbers are returned as float64; text labels (text cells that are not numbers, or a
    string ``.npy``) as a string array. See :func:`skft._cli._text.read_labels` for the
    header rule (``n_expected``, the number of rows of ``X``, settles a text first line).

    Parameters
    ----------
    path : str or Path
    option : str
    options : ReadOptions, default=ReadOptions()
    n_expected : int, default=None

    Returns
    -------
    values : ndarray of shape (n,), float64 or str
    source : Source

    Raises
    ------
    InputFileError
    """
    path = Path(path)
    raw, source = _load_raw(path, option, options, labels=True, n_expected=n_expected)
    if source.format == "text":
        if not all(map(is_number, raw)):
            array = np.asarray(raw, dtype=str)
            source.shape = array.shape
            return array, source
        array = np.asarray(raw, dtype=np.float64)
    else:
        array = _shape_as(np.asarray(raw), path, option, 1)
        if array.dtype.kind in "US":
            array = array.astype(str)
            source.shape = array.shape
            return array, source
        if array.dtype.kind not in "biuf":
            raise InputFileError(
                f"{option}: {path} does not hold numbers or text labels (dtype {array.dtype})"
            )
        array = np.asarray(array, dtype=np.float64)
    _check_finite(array, path, option)
    source.shape = array.shape
    return array, source


def load_labels(path, option, *, header="auto", n_expected=None, **kwargs):
    """Load target values or class labels (:func:`read_label_vector` without the source).

    Parameters
    ----------
    path : str or Path
    option : str
    header : {"auto", "yes", "no"}, default="auto"
    n_expected : int, default=None
    **kwargs
        ``delimiter``, ``index_col``, ``max_bytes`` of :class:`ReadOptions`.

    Returns
    -------
    ndarray of shape (n,), float64 or str

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skft._cli._io import load_labels
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "y.csv"
    >>> _ = path.write_text("species\\ncat\\ndog\\ncat\\n")
    >>> load_labels(path, "--y").tolist()
    ['cat', 'dog', 'cat']
    """
    options = ReadOptions(header=header, **kwargs)
    return read_label_vector(path, option, options=options, n_expected=n_expected)[0]


def parse_intercept(value, option="--intercept", options=ReadOptions()):
    """A number, or a file holding one value per class (a vector).

    Parameters
    ----------
    value : str
        ``"0.5"``, or a path to a text, ``.npy`` or ``.npz`` file.
    option : str, default="--intercept"
    options : ReadOptions, default=ReadOptions()

    Returns
    -------
    intercept : float or ndarray of shape (n_classes,)
    source : Source or None
        None when ``value`` is a number.

    Raises
    ------
    InputFileError

    Examples
    --------
    >>> from skft._cli._io import parse_intercept
    >>> parse_intercept("0.25")
    (0.25, None)
    """
    try:
        number = float(value)
    except ValueError:
        return read_array(value, option, ndim=1, options=options)
    if not np.isfinite(number):
        raise InputFileError(f"{option}: must be a finite number or a file, got {value!r}")
    return number, None
