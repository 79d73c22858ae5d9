"""Reading delimited text (CSV and friends): delimiter, header line and index column.

Every decision is recorded in a :class:`TextLayout` that the command line prints, so that a
user sees what was read. The rules, in order:

- Lines that are blank or start with ``#`` (``np.savetxt``'s header) are skipped.
- Delimiter (unless given): among comma, tab, semicolon, pipe and runs of whitespace, the one
  that splits the first 200 lines into a constant number of cells (> 1), most of them numbers.
  Whole lines are examined, so a file of 20 or 2000 columns is read alike.
- Header line (``auto``): the first line is a header when it holds text or an empty cell, or
  when it is a run of consecutive integers (``0, 1, 2, ...`` as pandas writes integer column
  names, or years) above lines that all hold non-integer numbers. Otherwise it is data. A
  first line of numbers is never dropped on a guess: when the row counts of the files then
  disagree by one, the error says which file's first line to reconsider.
- Index column (``auto``): dropped when the header names it like pandas ``to_csv`` does (an
  empty first header cell, ``Unnamed: 0``, or ``index`` above consecutive integers) or when
  the header has one cell fewer than the data lines. Without a header nothing is dropped; a
  first column counting ``0, 1, 2, ...`` is pointed out in the errors.
"""

import csv
import io
import re
from dataclasses import dataclass, field

import numpy as np

from ._files import InputFileError

__all__ = [
    "TextLayout",
    "decode_text",
    "is_number",
    "parse_delimiter",
    "read_labels",
    "read_table",
    "row_index_hint",
]

_SAMPLE_LINES = 200
_CANDIDATES = (",", "\t", ";", "|", None)  # None: runs of whitespace
_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe", None: "whitespace"}
_ALIASES = {
    "comma": ",", "tab": "\t", "\\t": "\t", "semicolon": ";", "pipe": "|",
    "space": None, "whitespace": None, " ": None,
}
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,\d+(?:[eE][+-]?\d+)?")


def parse_delimiter(text):
    """The delimiter named by ``--delimiter``: a character, or None for runs of whitespace.

    Parameters
    ----------
    text : str
        ``"auto"``, ``"comma"``, ``"tab"`` (or ``\\t``), ``"semicolon"``, ``"pipe"``,
        ``"space"`` / ``"whitespace"``, or any single character that cannot be part of a
        number.

    Returns
    -------
    str or None or "auto"

    Examples
    --------
    >>> from skft._cli._text import parse_delimiter
    >>> parse_delimiter("tab"), parse_delimiter(";"), parse_delimiter("space")
    ('\\t', ';', None)
    """
    if text == "auto":
        return "auto"
    if text.lower() in _ALIASES or text in _ALIASES:
        return _ALIASES.get(text.lower(), _ALIASES.get(text))
    if len(text) != 1 or text in '0123456789.+-eE"#' or text in "\r\n":
        raise ValueError(
            f"expected auto, comma, tab, semicolon, pipe, space or a single character that "
            f"is not part of a number, got {text!r}"
        )
    return text


@dataclass
class TextLayout:
    """What was decided when reading one text file (printed by the command line)."""

    delimiter: object = None  # a character, None (whitespace); irrelevant for one column
    n_columns: int = 1
    header_line: int | None = None  # 1-based line number of the header, if any
    header_cells: list = field(default_factory=list)
    header_reason: str = ""
    first_data_line: int = 1
    first_data_cells: list = field(default_factory=list)
    numeric_header: bool = False  # an all-number first line taken as a header (auto)
    index_column: bool = False
    index_reason: str = ""
    first_column_counts: bool = False  # kept first column reads 0, 1, 2, ... (or 1, 2, ...)
    trailing_delimiter: bool = False
    encoding: str = "utf-8"

    @property
    def first_line_was_numeric_data(self):
        """True when ``header="auto"`` read an all-numeric first line as data."""
        cells = self.first_data_cells
        return self.header_line is None and bool(cells) and all(map(is_number, cells))

    def describe(self):
        """One phrase: ``"CSV, comma; header line 1 (text); ..."``."""
        parts = ["text"]
        if self.n_columns > 1 or self.index_column:
            parts[0] = f"text, {_NAMES.get(self.delimiter, repr(self.delimiter))}-separated"
        if self.header_line is not None:
            parts.append(f"header line {self.header_line} skipped ({self.header_reason})")
        else:
            parts.append(f"no header line ({self.header_reason})")
        if self.index_column:
            parts.append(f"first column dropped as a row index ({self.index_reason})")
        if self.trailing_delimiter:
            parts.append("trailing delimiter ignored")
        if self.encoding != "utf-8":
            parts.append(f"decoded as {self.encoding}")
        return "; ".join(parts)

    def to_dict(self):
        """JSON-ready record of the decisions."""
        return {
            "delimiter": _NAMES.get(self.delimiter, self.delimiter)
            if self.n_columns > 1 or self.index_column else None,
            "header_line": self.header_line,
            "header": self.header_reason,
            "index_column": self.index_column,
            "index_reason": self.index_reason or None,
            "encoding": self.encoding,
        }


def decode_text(data, path, option):
    """Text of a file: UTF-8 (with or without BOM), else Latin-1; binary data refused.

    Line ends are normalised to ``"\\n"`` (``"\\r\\n"`` and a lone ``"\\r"`` alike).

    Returns
    -------
    text : str
    encoding : str
    """
    head = data[:65536]
    if b"\x00" in head or sum(b < 32 and b not in b"\t\n\r\f" for b in head) > len(head) // 100:
        raise InputFileError(
            f"{option}: {path} is not a text (CSV) file; use .csv, .npy or .npz"
        )
    try:
        text, encoding = data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = data.decode("latin-1"), "latin-1"
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, encoding


def _as_utf8(data, text, encoding):
    """UTF-8 bytes of ``text`` for ``np.loadtxt`` (the file's own bytes when they are)."""
    if encoding == "utf-8" and not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data:
        return data
    return text.encode("utf-8")


def _content(text, limit=None):
    """``(line_number, line)`` of the lines that are neither blank nor comments.

    Lines are cut lazily from ``text`` (no copy of the whole file).
    """
    count, number, pos, end = 0, 0, 0, len(text)
    while pos < end:
        stop = text.find("\n", pos)
        stop = end if stop < 0 else stop
        line, pos, number = text[pos:stop], stop + 1, number + 1
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        yield number, line
        count += 1
        if limit is not None and count >= limit:
            return


def _split(line, delimiter):
    if delimiter is None:
        return line.split()
    if '"' in line:
        cells = next(csv.reader([line], delimiter=delimiter))
    else:
        cells = line.split(delimiter)
    return [cell.strip() for cell in cells]


def is_number(cell):
    """Whether ``float(cell)`` succeeds (``"1e-3"``, ``"nan"`` and ``"inf"`` do)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_int(cell):
    try:
        value = float(cell)
    except ValueError:
        return False
    return np.isfinite(value) and value == int(value)


def _consecutive(cells):
    """Integers increasing by exactly 1 (``0, 1, 2`` or ``2019, 2020, 2021``)."""
    if len(cells) < 2 or not all(_is_int(c) for c in cells):
        return False
    values = np.array([float(c) for c in cells])
    return bool(np.all(np.diff(values) == 1))


def _split_rows(lines, delimiter):
    rows = [_split(line, delimiter) for _, line in lines]
    trailing = delimiter is not None and all(len(r) > 1 and r[-1] == "" for r in rows[1:] or rows)
    if trailing:
        rows = [r[:-1] if r and r[-1] == "" else r for r in rows]
    return rows, trailing


def _candidate_score(rows, delimiter):
    """``(usable, numeric fraction, width)`` of splitting the sample with ``delimiter``."""
    data = rows[1:] or rows
    widths = {len(r) for r in data}
    cells = [c for r in data for c in r]
    frac = sum(is_number(c) for c in cells) / max(len(cells), 1)
    if len(widths) != 1:
        return False, frac, 0
    width = widths.pop()
    usable = width > 1 and len(rows[0]) in (width, width - 1)
    if delimiter is None and frac < 1:  # whitespace splits text labels: numbers only
        usable = False
    return usable, frac, width


def _detect_delimiter(sample, path, option):
    best, best_key = ",", None
    for rank, delimiter in enumerate(_CANDIDATES):
        rows, _ = _split_rows(sample, delimiter)
        usable, frac, width = _candidate_score(rows, delimiter)
        if usable and delimiter != ",":
            data = [c for r in rows[1:] or rows for c in r]
            if sum(bool(_DECIMAL_COMMA.fullmatch(c)) for c in data) > len(data) // 2:
                raise InputFileError(
                    f"{option}: {path} writes numbers with decimal commas (such as "
                    f"{next(c for c in data if _DECIMAL_COMMA.fullmatch(c))!r}); skft reads "
                    "a decimal point: save the file with '.' as the decimal separator"
                )
        key = (usable, frac, -rank)
        if usable and (best_key is None or key > best_key):
            best, best_key = delimiter, key
    return best


def _layout(text, path, option, delimiter, header, index_col, *, labels=False):
    """Decide delimiter, header and index column from the first lines of ``text``."""
    sample = list(_content(text, _SAMPLE_LINES))
    if not sample:
        what = "is empty" if not text.strip() else "holds only comment lines"
        raise InputFileError(f"{option}: {path} {what}")
    if delimiter == "auto":
        delimiter = _detect_delimiter(sample, path, option)
    rows, trailing = _split_rows(sample, delimiter)
    data_widths = [len(r) for r in rows[1:]] or [len(rows[0])]
    width = max(set(data_widths), key=data_widths.count)
    lay = TextLayout(delimiter=delimiter, n_columns=width, trailing_delimiter=trailing)
    first, rest = rows[0], rows[1:]

    if header == "yes":
        is_header, reason = True, "--header yes"
    elif header == "no":
        is_header, reason = False, "--header no"
    elif not all(is_number(c) for c in first):
        shown = ", ".join(repr(c) for c in first[:3]) + (", ..." if len(first) > 3 else "")
        is_header, reason = True, f"it holds text: {shown}"
    elif (
        not labels
        and rest
        and _consecutive(first)
        and all(any(not _is_int(c) for c in r) for r in rest)
    ):
        is_header = True
        reason = (
            f"consecutive integers {first[0]}, {first[1]}, ... above non-integer data; "
            "--header no reads it as data"
        )
    else:
        is_header, reason = False, "the first line holds numbers only"
    if is_header and not rest:
        if not labels:
            raise InputFileError(f"{option}: {path} has a header but no data rows")
        is_header, reason = False, "a single line"
    lay.header_reason = reason
    lay.numeric_header = is_header and header == "auto" and all(is_number(c) for c in first)
    if is_header:
        lay.header_line = sample[0][0]
        lay.header_cells = first
        lay.first_data_line = sample[1][0]
        lay.n_columns = width = len(rest[0])
    else:
        lay.first_data_line = sample[0][0]
        lay.first_data_cells = first
        lay.n_columns = width = len(first)

    if index_col == "first":
        lay.index_column, lay.index_reason = True, "--index-col first"
    elif index_col == "auto" and is_header and width > 1:
        name = first[0].strip().lower() if first else ""
        column = [r[0] for r in rest]
        if len(first) == width - 1:
            lay.index_column = True
            lay.index_reason = "the header has one name fewer than the data lines"
        elif name in ("", "unnamed: 0"):
            lay.index_column = True
            lay.index_reason = (
                "pandas to_csv writes one, with an empty first header cell; --index-col none "
                "keeps it"
            )
        elif name == "index" and _consecutive(column):
            lay.index_column, lay.index_reason = True, "named 'index', counting up"
    if lay.index_column and width < 2:
        raise InputFileError(
            f"{option}: {path} has a single column; it cannot also have a row index"
        )
    column = [r[0] for r in (rest if is_header else rows) if r]
    lay.first_column_counts = (
        not lay.index_column
        and width > 1
        and len(column) >= 3
        and _consecutive(column)
        and float(column[0]) in (0.0, 1.0)
    )
    return lay


def row_index_hint(lay, option):
    """A hint when the first data column counts 0, 1, 2, ... (an unnamed row index)."""
    if lay is None or not lay.first_column_counts:
        return ""
    return (
        " (its first column counts 0, 1, 2, ... like a row index: pass --index-col "
        f"{option.lstrip('-')}=first, or save the file without the index)"
    )


def _cells_of(line, lay):
    cells = _split(line, lay.delimiter)
    if lay.trailing_delimiter and cells and cells[-1] == "":
        cells = cells[:-1]
    return cells


def _diagnose(text, path, option, lay, expected, numeric=True):
    """Name the first bad line of ``text`` (ragged, empty or non-numeric cell)."""
    start = 1 if lay.index_column else 0
    for number, line in _content(text):
        if lay.header_line is not None and number <= lay.header_line:
            continue
        cells = _cells_of(line, lay)
        if len(cells) != expected:
            raise InputFileError(
                f"{option}: {path} has rows of different lengths: line {number} has "
                f"{len(cells)} values, line {lay.first_data_line} has {expected}"
                + row_index_hint(lay, option)
            )
        if not numeric:
            continue
        for j, cell in enumerate(cells[start:], start=start + 1):
            if cell == "":
                raise InputFileError(
                    f"{option}: {path}: empty value in line {number}, column {j} (missing "
                    "values are not supported: fill them in or drop those rows)"
                )
            if not is_number(cell):
                hint = " (a decimal comma? use '.')" if _DECIMAL_COMMA.fullmatch(cell) else ""
                raise InputFileError(
                    f"{option}: {path}: non-numeric value {cell!r} in line {number}, "
                    f"column {j}{hint}"
                )
    return None


def read_table(data, path, option, *, delimiter="auto", header="auto", index_col="auto"):
    """Parse a delimited numeric table.

    Parameters
    ----------
    data : bytes
        The file's content.
    path, option : str
        Named in the errors.
    delimiter : str, None or "auto", default="auto"
        A character, None for runs of whitespace, or ``"auto"`` (see the module's rules).
    header : {"auto", "yes", "no"}, default="auto"
    index_col : {"auto", "first", "none"}, default="auto"

    Returns
    -------
    array : ndarray of shape (n_rows, n_columns)
    layout : TextLayout

    Raises
    ------
    InputFileError
        Binary data, no data, ragged lines, empty or non-numeric cells (line and column
        named), decimal commas.

    Examples
    --------
    >>> from skft._cli._text import read_table
    >>> array, layout = read_table(b",a,b\\n0,1.5,2\\n1,3.5,4\\n", "X.csv", "--X")
    >>> array.tolist()
    [[1.5, 2.0], [3.5, 4.0]]
    >>> layout.describe()
    "text, comma-separated; header line 1 skipped (it holds text: '', 'a', 'b'); first column ..."
    """
    text, encoding = decode_text(data, path, option)
    lay = _layout(text, path, option, delimiter, header, index_col)
    lay.encoding = encoding
    width = lay.n_columns
    start = 1 if lay.index_column else 0
    sliced = lay.index_column or lay.trailing_delimiter
    try:
        array = np.loadtxt(
            io.BytesIO(_as_utf8(data, text, encoding)),
            encoding="utf-8",
            delimiter=lay.delimiter,
            comments="#",
            skiprows=lay.header_line or 0,
            quotechar='"',
            usecols=range(start, width) if sliced else None,
            ndmin=2,
            dtype=np.float64,
        )
    except ValueError:
        _diagnose(text, path, option, lay, width)
        raise InputFileError(f"{option}: {path} cannot be read as a table of numbers") from None
    if sliced:  # usecols ignores extra cells: check every line's length
        _check_lengths(text, path, option, lay, width)
    elif array.shape[1] != width:
        _diagnose(text, path, option, lay, width)
    return array, lay


def _check_lengths(text, path, option, lay, width):
    for number, line in _content(text):
        if lay.header_line is not None and number <= lay.header_line:
            continue
        if len(_cells_of(line, lay)) != width:
            _diagnose(text, path, option, lay, width)


def read_labels(data, path, option, *, delimiter="auto", header="auto", index_col="auto",
                n_expected=None):
    """Parse a single column (or a single row) of values or text labels.

    A text first cell above numbers is a header. A text first cell above text labels is
    ambiguous (a column name, or a label occurring once): with ``n_expected`` (the number
    of rows of ``X``), the count decides; without it, a header is assumed only when the
    first cell is not among the other, repeating, labels.

    Parameters
    ----------
    data : bytes
    path, option : str
    delimiter, header, index_col
        As in :func:`read_table`.
    n_expected : int, default=None
        Number of values the file should hold.

    Returns
    -------
    cells : list of str
    layout : TextLayout

    Examples
    --------
    >>> from skft._cli._text import read_labels
    >>> read_labels(b"cat\\ndog\\ndog\\n", "y.csv", "--y", n_expected=3)[0]
    ['cat', 'dog', 'dog']
    >>> read_labels(b"animal\\ncat\\ndog\\n", "y.csv", "--y", n_expected=2)[0]
    ['cat', 'dog']
    """
    text, encoding = decode_text(data, path, option)
    lay = _layout(text, path, option, delimiter, header, index_col, labels=True)
    lay.encoding = encoding
    lines = list(_content(text))
    rows = [_cells_of(line, lay) for _, line in lines]
    if len(rows) == 1:  # one row of values
        if lay.index_column:
            rows[0] = rows[0][1:]
        return rows[0], lay
    start = 1 if lay.index_column else 0
    data_rows = rows[1:] if lay.header_line is not None else rows
    if any(len(r) != lay.n_columns for r in data_rows):
        _diagnose(text, path, option, lay, lay.n_columns, numeric=False)
    if lay.n_columns - start != 1:
        raise InputFileError(
            f"{option}: {path} has {lay.n_columns - start} columns; expected a single column "
            "of values or labels" + row_index_hint(lay, option)
        )
    cells = [r[start] for r in rows]
    if header == "auto" and not lay.index_column and not is_number(cells[0]) and not all(
        map(is_number, cells[1:])
    ):
        # text above text labels: a column name, or a label that occurs once?
        if n_expected is not None and len(cells) in (n_expected, n_expected + 1):
            is_header = len(cells) == n_expected + 1
            reason = f"--X has {n_expected} rows, the file {len(cells)} lines"
            reason = (f"{cells[0]!r} above the labels: " if is_header else "") + reason
        else:
            is_header = cells[0] not in cells[1:] and len(set(cells[1:])) < len(cells) - 1
            reason = (
                f"{cells[0]!r} is not among the repeating labels below it" if is_header
                else f"{cells[0]!r} is one of the labels"
            )
        lay.header_reason = reason
        if not is_header:
            lay.header_line, lay.header_cells = None, []
            lay.first_data_line, lay.first_data_cells = lines[0][0], rows[0]
    if lay.header_line is not None:
        cells = cells[1:]
    for (number, _), cell in zip(lines[len(lines) - len(cells):], cells, strict=True):
        if cell == "":
            raise InputFileError(
                f"{option}: {path}: empty value in line {number} (missing values are not "
                "supported)"
            )
    return cells, lay
