"""Reading the arrays of ``skft advise`` from files: CSV (with or without a header), .npy, .npz.

Every problem is reported as an :class:`InputFileError` whose one-line message names the
command-line option, the file and what is wrong, so that the command line can print it
without a traceback.
"""

import csv
from pathlib import Path

import numpy as np

__all__ = ["InputFileError", "load_array", "load_labels", "parse_intercept"]


class InputFileError(ValueError):
    """A file given on the command line cannot be read as the array it should hold."""


def _is_number(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_rows(path, option):
    """Non-empty rows of stripped, non-empty cells of a delimited text file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError:
        raise InputFileError(
            f"{option}: {path} is not a text (CSV) file; use .csv, .npy or .npz"
        ) from None
    if not text.strip():
        raise InputFileError(f"{option}: {path} is empty")
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ").delimiter
    except csv.Error:
        delimiter = ","
    rows = csv.reader(text.splitlines(), delimiter=delimiter)
    rows = [[cell.strip() for cell in row if cell.strip() != ""] for row in rows]
    return [row for row in rows if row]


def _check_widths(rows, path, option):
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise InputFileError(
            f"{option}: {path} has rows of different lengths ({sorted(widths)} values)"
        )


def _numeric_rows(rows, path, option, header):
    """Rows of numbers as a float array; the first bad cell is named in the error."""
    try:
        return np.asarray(rows, dtype=float)
    except ValueError:
        pass
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if not _is_number(cell):
                line = i + 1 + int(header)
                raise InputFileError(
                    f"{option}: {path}: non-numeric value {cell!r} in row {line}, column {j + 1}"
                ) from None
    raise InputFileError(f"{option}: {path} cannot be read as numbers")  # pragma: no cover


def _read_csv(path, option, header="auto"):
    rows = _csv_rows(path, option)
    if header == "auto":
        header = not all(_is_number(cell) for cell in rows[0])
    else:
        header = header == "yes"
    if header:
        rows = rows[1:]
    if not rows:
        raise InputFileError(f"{option}: {path} has a header but no data rows")
    _check_widths(rows, path, option)
    return _numeric_rows(rows, path, option, header)


def _check_path(path, option):
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{option}: no such file: {path}")
    if path.is_dir():
        raise InputFileError(f"{option}: {path} is a directory, not a file")
    return path


def _load_raw(path, option, header):
    """The array stored in ``path`` (any dtype from .npy/.npz; floats from CSV)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            return np.load(path, allow_pickle=False)
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                if len(names) != 1:
                    raise InputFileError(
                        f"{option}: {path} holds {len(names)} arrays ({', '.join(names)}); "
                        "expected exactly one"
                    )
                return archive[names[0]]
        return _read_csv(path, option, header)
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError) as exc:
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


def load_array(path, option, *, ndim, header="auto"):
    """Load a finite numeric array from ``path``.

    Parameters
    ----------
    path : str or Path
        A ``.npy`` file, an ``.npz`` archive holding exactly one array, or a delimited text
        file (comma, semicolon, tab or space; any other suffix is read as CSV).
    option : str
        The command-line option the file was given to (named in every error).
    ndim : {1, 2, "1or2"}
        1: a vector (one row or one column is accepted); 2: a matrix (a vector becomes a
        single column); ``"1or2"``: a vector, or a matrix with several rows and columns.
    header : {"auto", "yes", "no"}, default="auto"
        Whether a CSV file starts with a header line; ``"auto"``: when its first row is not
        all numbers.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    InputFileError
        With a one-line message naming ``option``: missing file, unreadable file, text in a
        numeric column, ragged rows, wrong shape, no values, NaN or infinity.
    """
    path = _check_path(path, option)
    array = _load_raw(path, option, header)
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputFileError(f"{option}: {path} does not hold real numbers (dtype {array.dtype})")
    array = _shape_as(np.asarray(array, dtype=float), path, option, ndim)
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise InputFileError(f"{option}: {path} contains {bad} NaN or infinite value(s)")
    return array


def _label_header(rows, header):
    """Decide whether a one-column label file starts with a header."""
    if header != "auto":
        return header == "yes"
    first, rest = rows[0][0], [row[0] for row in rows[1:]]
    if not _is_number(first):
        if rest and all(_is_number(cell) for cell in rest):
            return True  # "label" above numbers
        # text labels: a header is a name that is not one of the (repeating) labels
        return bool(rest) and first not in rest and len(set(rest)) < len(rest)
    return False


def load_labels(path, option, *, header="auto"):
    """Load a vector of target values or class labels (numbers or text).

    Numbers are returned as float64; text labels (CSV cells that are not numbers, or a
    string ``.npy``) as a string array. A CSV header is detected when the first cell is text
    above numbers, or a name that is not among the other (repeating) text labels; pass
    ``header`` to decide explicitly.

    Parameters
    ----------
    path : str or Path
    option : str
        The command-line option (named in every error).
    header : {"auto", "yes", "no"}, default="auto"

    Returns
    -------
    ndarray of shape (n,), float64 or str

    Raises
    ------
    InputFileError
    """
    path = _check_path(path, option)
    suffix = path.suffix.lower()
    if suffix in (".npy", ".npz"):
        array = _shape_as(_load_raw(path, option, header), path, option, 1)
        if array.dtype.kind in "US":
            return array.astype(str)
        if array.dtype.kind not in "biuf":
            raise InputFileError(
                f"{option}: {path} does not hold numbers or text labels (dtype {array.dtype})"
            )
    else:
        rows = _csv_rows(path, option)
        _check_widths(rows, path, option)
        if len(rows[0]) != 1 and len(rows) != 1:
            raise InputFileError(
                f"{option}: {path} has {len(rows[0])} columns; expected a single column of "
                "values or labels"
            )
        if len(rows) == 1:  # one row of values
            cells = rows[0]
        else:
            cells = [row[0] for row in rows[int(_label_header(rows, header)) :]]
        if not cells:
            raise InputFileError(f"{option}: {path} has a header but no data rows")
        if not all(_is_number(cell) for cell in cells):
            return np.asarray(cells, dtype=str)
        array = np.asarray(cells, dtype=float)
    array = np.asarray(array, dtype=float)
    if not np.all(np.isfinite(array)):
        bad = int(np.sum(~np.isfinite(array)))
        raise InputFileError(f"{option}: {path} contains {bad} NaN or infinite value(s)")
    return array


def parse_intercept(value, option="--intercept"):
    """A number, or a file holding one value per class (a vector).

    Parameters
    ----------
    value : str
        ``"0.5"``, or a path to a CSV, ``.npy`` or ``.npz`` file.
    option : str, default="--intercept"

    Returns
    -------
    float or ndarray of shape (n_classes,)

    Raises
    ------
    InputFileError
    """
    try:
        number = float(value)
    except ValueError:
        return load_array(value, option, ndim=1)
    if not np.isfinite(number):
        raise InputFileError(f"{option}: must be a finite number or a file, got {value!r}")
    return number
