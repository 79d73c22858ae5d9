"""Reading delimited text for ``skft advise``: delimiters, header lines, index columns.

The reference is the array that was written: a file produced by ``np.savetxt`` (or in the
exact format of pandas ``to_csv``) must read back to that array, bit for bit (``%.18e``
round-trips float64), and the command line must say what it decided.
"""

import io
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skft._cli._io import InputFileError, load_array, load_labels
from skft._cli._main import main
from skft._cli._text import parse_delimiter, read_table


def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def to_csv(array, *, index=True, header=True, columns=None, sep=","):
    """The text pandas ``DataFrame(array, columns=columns).to_csv(...)`` writes."""
    array = np.atleast_2d(array)
    columns = list(range(array.shape[1])) if columns is None else columns
    lines = []
    if header:
        lines.append(sep.join(([""] if index else []) + [str(c) for c in columns]))
    for i, row in enumerate(array):
        lines.append(sep.join(([str(i)] if index else []) + [repr(float(v)) for v in row]))
    return "\n".join(lines) + "\n"


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 25))


# ---------------------------------------------------------------------- delimiters
@pytest.mark.parametrize("sep", [",", ";", "\t", " ", "|"])
@pytest.mark.parametrize("n_columns", [1, 3, 25, 400])
def test_savetxt_files_read_back_exactly(sep, n_columns, tmp_path):
    """>= 20 columns used to be refused: the sniffer saw a truncated first line."""
    X = np.random.default_rng(n_columns).standard_normal((12, n_columns)) * 10.0 ** np.arange(
        -3, 9
    )[:, None]
    np.savetxt(tmp_path / "X.txt", X, delimiter=sep)
    np.testing.assert_array_equal(load_array(tmp_path / "X.txt", "--X", ndim=2), X)
    given = {"\t": "tab", " ": "space"}.get(sep, sep)
    np.testing.assert_array_equal(
        load_array(tmp_path / "X.txt", "--X", ndim=2, delimiter=parse_delimiter(given)), X
    )


def test_savetxt_with_header_comment_crlf_bom_and_aligned_spaces(data, tmp_path):
    np.savetxt(tmp_path / "a.txt", data, header=" ".join(f"x{j}" for j in range(25)))
    np.testing.assert_array_equal(load_array(tmp_path / "a.txt", "--X", ndim=2), data)
    text = "\r\n".join(",".join(repr(float(v)) for v in row) for row in data) + "\r\n"
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    np.testing.assert_array_equal(load_array(tmp_path / "b.csv", "--X", ndim=2), data)
    np.savetxt(tmp_path / "c.txt", data, fmt="%30.18e", delimiter="  ")
    np.testing.assert_array_equal(load_array(tmp_path / "c.txt", "--X", ndim=2), data)


def test_latin1_header_and_trailing_delimiter(data, tmp_path):
    header = ",".join(["Größe"] + [f"x{j}" for j in range(24)]) + ","
    body = "\n".join(",".join(repr(float(v)) for v in row) + "," for row in data)
    (tmp_path / "l.csv").write_bytes((header + "\n" + body + "\n").encode("latin-1"))
    array, layout = read_table((tmp_path / "l.csv").read_bytes(), "l.csv", "--X")
    np.testing.assert_array_equal(array, data)
    assert layout.encoding == "latin-1" and layout.trailing_delimiter
    assert "trailing delimiter ignored" in layout.describe()


def test_delimiter_option_validation():
    assert parse_delimiter("auto") == "auto" and parse_delimiter("\\t") == "\t"
    for bad in (".", "-", "ab", "e", "1"):
        with pytest.raises(ValueError):
            parse_delimiter(bad)
    code, out, err = run_main("advise", "--coef", "w", "--X", "x", "--y", "y",
                              "--delimiter", ".")
    assert code == 2 and "--delimiter" in err and len(err.strip().splitlines()) == 1


def test_decimal_commas_get_a_clear_message(tmp_path):
    (tmp_path / "eu.csv").write_text("1,5;2,25;3,0\n4,5;5,75;6,0\n")
    with pytest.raises(InputFileError, match="decimal commas"):
        load_array(tmp_path / "eu.csv", "--X", ndim=2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("a,b,c\n1,2,3\n4,,6\n", "empty value in line 3, column 2 (missing values"),
        ("a,b,c\n1,2,3\n4,x,6\n", "non-numeric value 'x' in line 3, column 2"),
        ("1,2,3\n4,5\n6,7,8\n", "rows of different lengths: line 2 has 2 values, line 1 has 3"),
        ("\n# only a comment\n", "holds only comment lines"),
        ("a,b,c\n", "has a header but no data rows"),
    ],
)
def test_bad_text_names_line_and_column(text, message, tmp_path):
    (tmp_path / "X.csv").write_text(text)
    with pytest.raises(InputFileError, match=message.replace("(", r"\(")):
        load_array(tmp_path / "X.csv", "--X", ndim=2)


def test_usecols_path_still_checks_every_line_length(tmp_path):
    """Dropping an index column reads selected columns: a longer line must not pass."""
    text = to_csv(np.ones((4, 3))) + "4,1.0,1.0,1.0,9.0\n"
    (tmp_path / "X.csv").write_text(text)
    with pytest.raises(InputFileError, match="line 6 has 5 values, line 2 has 4"):
        load_array(tmp_path / "X.csv", "--X", ndim=2)


# ---------------------------------------------------------------------- header lines
def test_numeric_header_of_years_is_a_header_above_floats(data, tmp_path):
    years = ",".join(str(2000 + j) for j in range(25))
    body = "\n".join(",".join(repr(float(v)) for v in row) for row in data)
    (tmp_path / "X.csv").write_text(years + "\n" + body + "\n")
    array, layout = read_table((tmp_path / "X.csv").read_bytes(), "X.csv", "--X")
    np.testing.assert_array_equal(array, data)
    assert layout.header_line == 1 and "consecutive integers 2000, 2001" in layout.header_reason
    # and says how to read it as data instead
    assert load_array(tmp_path / "X.csv", "--X", ndim=2, header="no").shape == (31, 25)


def test_integer_data_keeps_its_first_line(tmp_path):
    """Counts 0..4 in the first row above other integers: data, never eaten."""
    X = np.array([[0, 1, 2, 3, 4], [3, 0, 1, 1, 2], [5, 5, 0, 2, 1]], dtype=float)
    np.savetxt(tmp_path / "X.csv", X, fmt="%d", delimiter=",")
    np.testing.assert_array_equal(load_array(tmp_path / "X.csv", "--X", ndim=2), X)


@pytest.fixture
def problem(tmp_path):
    rng = np.random.default_rng(1)
    n, d = 40, 25
    X = rng.standard_normal((n, d))
    w0 = rng.standard_normal(d) / 5
    y = X @ (w0 + rng.standard_normal(d) / 10) + 0.3 * rng.standard_normal(n)
    np.save(tmp_path / "w0.npy", w0)
    np.save(tmp_path / "y.npy", y)
    return tmp_path, X, y, w0


def advise(tmp, X_file, y_file=None, *extra):
    return run_main("advise", "--coef", tmp / "w0.npy", "--X", X_file,
                    "--y", y_file or tmp / "y.npy", "--intercept", "0", *extra)


def test_numeric_header_above_integers_is_read_as_data_and_the_error_says_so(problem):
    tmp, X, y, w0 = problem
    counts = np.round(np.abs(X) * 3)
    years = ",".join(str(2000 + j) for j in range(25))
    body = "\n".join(",".join(str(int(v)) for v in row) for row in counts)
    (tmp / "X.csv").write_text(years + "\n" + body + "\n")
    code, out, err = advise(tmp, tmp / "X.csv")
    assert code == 2
    assert "--y: " in err and "holds 40 values but --X" in err and "has 41 rows" in err
    assert "its first line (2000, 2001, 2002, ...) was read as data" in err
    assert "--header X=yes" in err
    code, out, err = advise(tmp, tmp / "X.csv", None, "--header", "X=yes", "--json")
    assert code == 0, err
    assert json.loads(out)["inputs"]["X"]["header"] == "--header yes"


def test_data_row_taken_for_a_header_is_caught_by_the_row_count(problem):
    """A first data row of consecutive integers above floats looks like a header: the row
    count of y exposes it, and the message says how to keep it."""
    tmp, X, y, w0 = problem
    X = X.copy()
    X[0] = np.arange(3, 28)
    np.savetxt(tmp / "X.csv", X, delimiter=",", fmt="%.17g")
    code, out, err = advise(tmp, tmp / "X.csv")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "holds 40 values but --X" in err and "has 39 rows" in err
    assert "its line 1 was taken as a header (consecutive integers 3, 4, ..." in err
    assert "--header X=no" in err
    code, out, err = advise(tmp, tmp / "X.csv", None, "--header", "X=no", "--json")
    assert code == 0, err
    assert json.loads(out)["n_samples"] == 40


def test_label_occurring_once_is_not_eaten(problem):
    """'cat' first and only once: the row count of X decides it is a label, not a header."""
    tmp, X, y, w0 = problem
    labels = ["cat"] + ["dog"] * 19 + ["emu"] * 20
    (tmp / "labels.csv").write_text("\n".join(labels) + "\n")
    assert load_labels(tmp / "labels.csv", "--y", n_expected=40).tolist() == labels
    (tmp / "named.csv").write_text("animal\n" + "\n".join(labels) + "\n")
    assert load_labels(tmp / "named.csv", "--y", n_expected=40).tolist() == labels
    # end to end: classification with the three classes, 40 labels
    np.save(tmp / "W0.npy", np.zeros((3, 25)))
    np.save(tmp / "X.npy", X)
    code, out, err = run_main("advise", "--coef", tmp / "W0.npy", "--X", tmp / "X.npy",
                              "--y", tmp / "labels.csv", "--no-intercept", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["classes"] == ["cat", "dog", "emu"] and got["n_samples"] == 40
    assert got["inputs"]["y"]["header_line"] is None
    assert "--X has 40 rows, the file 40 lines" in got["inputs"]["y"]["header"]


def test_text_output_states_every_decision(problem):
    tmp, X, y, w0 = problem
    (tmp / "X.csv").write_text(to_csv(X))
    rows = "".join(f"{i},{float(v)!r}\n" for i, v in enumerate(y))
    (tmp / "y.csv").write_text(",target\n" + rows)
    code, out, err = advise(tmp, tmp / "X.csv", tmp / "y.csv")
    assert code == 0, err
    read = out.split("should_finetune:")[0]
    x_line = next(ln for ln in read.splitlines() if ln.strip().startswith("--X"))
    assert "40 rows x 25 columns" in x_line and "comma-separated" in x_line
    assert "header line 1 skipped" in x_line
    assert "first column dropped as a row index" in x_line and "pandas to_csv" in x_line
    y_line = next(ln for ln in read.splitlines() if ln.strip().startswith("--y"))
    assert "40 values" in y_line and "first column dropped as a row index" in y_line
    assert "--coef" in read and ".npy file" in read


# ---------------------------------------------------------------------- index columns
def test_pandas_to_csv_with_index_reads_back(data, tmp_path):
    (tmp_path / "X.csv").write_text(to_csv(data))
    np.testing.assert_array_equal(load_array(tmp_path / "X.csv", "--X", ndim=2), data)
    (tmp_path / "named.csv").write_text(to_csv(data, columns=[f"f{j}" for j in range(25)]))
    np.testing.assert_array_equal(load_array(tmp_path / "named.csv", "--X", ndim=2), data)
    # --index-col none keeps it (then it is an unnamed column of row numbers)
    kept = load_array(tmp_path / "X.csv", "--X", ndim=2, index_col="none", header="yes")
    np.testing.assert_array_equal(kept[:, 0], np.arange(30))


def test_pandas_series_to_csv_as_y_and_coef(tmp_path):
    v = np.linspace(-1, 1, 7)
    rows = "".join(f"{i},{float(x)!r}\n" for i, x in enumerate(v))
    (tmp_path / "s.csv").write_text(",0\n" + rows)
    np.testing.assert_array_equal(load_array(tmp_path / "s.csv", "--coef", ndim=1), v)
    np.testing.assert_array_equal(load_labels(tmp_path / "s.csv", "--y"), v)


def test_pandas_dataframe_to_csv_if_available(data, tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(data, columns=[f"f{j}" for j in range(25)])
    df.to_csv(tmp_path / "X.csv")
    np.testing.assert_array_equal(load_array(tmp_path / "X.csv", "--X", ndim=2), data)
    pd.DataFrame(data).to_csv(tmp_path / "int_columns.csv", index=False)
    np.testing.assert_array_equal(load_array(tmp_path / "int_columns.csv", "--X", ndim=2), data)
    pd.Series(data[:, 0], name="y").to_csv(tmp_path / "y.csv")
    np.testing.assert_array_equal(load_labels(tmp_path / "y.csv", "--y"), data[:, 0])


def test_index_without_header_is_pointed_out(problem):
    tmp, X, y, w0 = problem
    (tmp / "X.csv").write_text(to_csv(X, header=False))
    code, out, err = advise(tmp, tmp / "X.csv")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--coef: " in err and "has 25 values but --X" in err and "has 26 columns" in err
    assert "first column counts 0, 1, 2, ... like a row index" in err
    assert "--index-col X=first" in err
    code, out, err = advise(tmp, tmp / "X.csv", None, "--index-col", "X=first")
    assert code == 0, err
    assert "first column dropped as a row index (--index-col first)" in out
    # y with an index and no header: one line with the hint
    (tmp / "y.csv").write_text("".join(f"{i},{float(v)!r}\n" for i, v in enumerate(y)))
    code, out, err = advise(tmp, tmp / "X.csv", tmp / "y.csv", "--index-col", "X=first")
    assert code == 2 and "has 2 columns" in err and "--index-col y=first" in err


def test_ragged_file_from_an_index_gets_a_hint(tmp_path):
    text = to_csv(np.ones((5, 2)), header=False) + "5,1.0\n"
    (tmp_path / "X.csv").write_text(text)
    with pytest.raises(InputFileError, match="rows of different lengths.*like a row index"):
        load_array(tmp_path / "X.csv", "--X", ndim=2)


def test_per_file_modes_and_their_errors(problem):
    tmp, X, y, w0 = problem
    code, out, err = advise(tmp, tmp / "x.csv", None, "--header", "Z=yes")
    assert code == 2 and "unknown file 'Z'" in err and len(err.strip().splitlines()) == 1
    code, out, err = advise(tmp, tmp / "x.csv", None, "--index-col", "X=maybe")
    assert code == 2 and "--index-col" in err


# ---------------------------------------------------------------------- property: round trip
@settings(max_examples=60, deadline=None)
@given(
    n_rows=st.integers(2, 6),
    n_columns=st.integers(1, 30),
    log_scale=st.integers(-150, 150),
    sep=st.sampled_from([",", ";", "\t", " ", "|"]),
    style=st.sampled_from(["plain", "names", "pandas", "years"]),
    seed=st.integers(0, 2**16),
)
def test_any_written_table_reads_back_exactly(n_rows, n_columns, log_scale, sep, style, seed):
    """Whatever the scale, width, delimiter or header style, the numbers come back."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_rows, n_columns)) * 10.0**log_scale
    X[0, 0] += 0.5 * 10.0**log_scale  # a non-integer in every row, as measurements are
    X[:, -1] = X[:, -1] + 0.25 * 10.0**log_scale
    rows = [sep.join(repr(float(v)) for v in row) for row in X]
    if style == "names":
        rows.insert(0, sep.join(f"x{j}" for j in range(n_columns)))
    elif style == "pandas" and sep != " ":  # whitespace cannot hold pandas' empty cell
        rows = [sep.join([""] + [str(j) for j in range(n_columns)])] + [
            f"{i}{sep}{row}" for i, row in enumerate(rows)
        ]
    elif style == "years" and n_columns >= 2:
        rows.insert(0, sep.join(str(1990 + j) for j in range(n_columns)))
        # the rule: a header only above rows that each hold a non-integer; beyond 2**53
        # every float is an integer, and an all-integer row makes the years ambiguous: data
        if not all(np.any(row != np.round(row)) for row in X):
            years = 1990.0 + np.arange(n_columns)
            X = np.vstack([years, X])
    array, layout = read_table(("\n".join(rows) + "\n").encode(), "X.csv", "--X")
    np.testing.assert_array_equal(array, X)
