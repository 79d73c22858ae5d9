"""The command line: ``skft demo`` and ``skft advise``, run as a user would.

The main paths run the real command in a subprocess (``sys.executable -m skft``); the
matrix of bad files runs ``main`` in-process (same code, same streams) to keep the suite
fast, with two of them also checked in a subprocess.
"""

import io
import json
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from skft._cli._io import InputFileError, load_array, load_labels
from skft._cli._main import main
from skft.datasets import make_transfer_classification, make_transfer_regression


def run_skft(*args, cwd=None):
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "skft", *map(str, args)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=120,
    )


def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def write_csv(path, array, header=None):
    array = np.atleast_2d(np.asarray(array))
    lines = [] if header is None else [",".join(header)]
    lines += [",".join(str(v) for v in row) for row in array]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def regression_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reg")
    X, y, truth = make_transfer_regression(60, 100, noise=0.5, shift=1.5, random_state=0)
    files = {
        "X": write_csv(tmp / "X.csv", X, header=[f"f{j}" for j in range(100)]),
        "y": write_csv(tmp / "y.csv", y[:, None], header=["target"]),
        "coef": tmp / "w0.npy",
        "U": tmp / "U.npz",
    }
    np.save(files["coef"], truth.coef_init)
    U, _, _ = make_transfer_regression(80, 100, random_state=1)
    np.savez(files["U"], U=U)
    return files, (X, y, truth)


@pytest.fixture(scope="module")
def classification_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("clf")
    X, y, truth = make_transfer_classification(60, 80, separation=2.0, random_state=0)
    labels = np.where(y > 0, "spam", "ham")
    files = {
        "X": tmp / "X.npy",
        "y": tmp / "labels.csv",
        "coef": write_csv(tmp / "w0.csv", truth.coef_init[:, None]),  # one column, no header
    }
    np.save(files["X"], X)
    files["y"].write_text("label\n" + "\n".join(labels) + "\n")
    return files, (X, labels, truth)


def test_demo_subprocess(tmp_path):
    res = run_skft("demo", "--output-dir", tmp_path / "figs", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "Traceback" not in res.stderr
    # both problems, the advice, the predicted-vs-realised table, and the figure
    assert "make_transfer_regression" in out and "load_diabetes" in out
    assert out.count("should_finetune: regression") == 2
    assert "predicted [95% interval]" in out and "realised" in out
    figure = tmp_path / "figs" / "skft-demo.png"
    assert f"Figure saved to {figure.relative_to(tmp_path)}" in out or str(figure) in out
    assert figure.stat().st_size > 10_000
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the generated problem: realised fine-tuned error close to the exact theory
    rows = [line.split() for line in out.splitlines() if "fine-tuned, alpha=0 " in line]
    # generated: "fine-tuned, alpha=0  pred [low, high]  truth  realised"
    predicted, truth, realised = float(rows[0][2]), float(rows[0][-2]), float(rows[0][-1])
    assert abs(realised - truth) < 0.15 * truth
    assert abs(predicted - realised) < 0.3 * realised


def test_demo_no_figure_verbose(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, err = run_main("demo", "--no-figure", "--verbose")
    assert code == 0 and "Figure saved" not in out
    assert not (tmp_path / "skft-output").exists()
    # --verbose: each stage announced and timed on stderr, nothing of it on stdout
    assert "skft demo: [" in err and "problem 1/2 (generated)" in err
    assert "problem 2/2 (diabetes): advice and fits: done in" in err
    assert "skft demo: [" not in out


def test_advise_regression_subprocess(regression_files):
    files, (X, y, truth) = regression_files
    res = run_skft("advise", "--coef", files["coef"], "--X", files["X"], "--y", files["y"],
                   "--unlabeled", files["U"], "--no-intercept")
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    assert "should_finetune: regression, n_samples=60, n_features=100" in res.stdout
    assert "Decision:" in res.stdout


def test_advise_json_matches_library(regression_files):
    from skft import should_finetune

    files, (X, y, truth) = regression_files
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--alpha", "0.3", "--intercept", "0.25",
                              "--json")
    assert code == 0, err
    got = json.loads(out)
    expected = should_finetune(truth.coef_init, X, y, intercept_init=0.25, alpha=0.3)
    assert got["task"] == "regression" and got["alpha"] == 0.3
    assert got["intercept_init"] == 0.25 and got["fit_intercept"] is True
    assert got["intercept_source"] == "--intercept 0.25"
    assert got["inputs"]["X"]["header_line"] == 1 and got["inputs"]["y"]["header_line"] == 1
    assert got["finetune"] == expected.finetune
    np.testing.assert_allclose(got["finetuned_error"]["value"], expected.finetuned_error.value)
    np.testing.assert_allclose(got["pretrained_error"]["value"], expected.pretrained_error.value)


def test_advise_text_labels_json_and_plot_subprocess(classification_files, tmp_path):
    files, (X, labels, truth) = classification_files
    plot = tmp_path / "curve.png"
    res = run_skft("advise", "--coef", files["coef"], "--X", files["X"], "--y", files["y"],
                   "--json", "--plot", plot, "--no-intercept")
    assert res.returncode == 0, res.stderr
    got = json.loads(res.stdout)  # stdout is pure JSON even with --plot
    assert got["task"] == "classification"
    assert got["classes"] == ["ham", "spam"]  # the header "label" was not taken as a class
    assert got["n_samples"] == 60
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_advise_help_is_complete():
    res = run_skft("advise", "--help")
    assert res.returncode == 0
    for option in ("--coef", "--X", "--y", "--intercept", "--unlabeled", "--alpha", "--task",
                   "--json", "--plot", "--header", "--no-intercept", "--confidence",
                   "--delimiter", "--index-col", "--max-bytes", "--verbose"):
        assert option in res.stdout
    assert "examples:" in res.stdout and "exit status" in res.stdout


@pytest.mark.parametrize(
    "case",
    ["missing", "text_in_X", "nan_in_X", "coef_length", "y_length", "X_is_3d", "ragged",
     "empty", "unlabeled_width", "regression_text_labels", "npz_two_arrays", "bad_intercept",
     "binary_file", "constant_y", "plot_suffix"],
)
def test_advise_bad_input_one_line_exit_2(case, tmp_path, regression_files):
    files, (X, y, truth) = regression_files
    args = {"--coef": files["coef"], "--X": files["X"], "--y": files["y"]}
    extra = ["--intercept", "0"]
    expect = None
    if case == "missing":
        args["--X"], expect = tmp_path / "nope.csv", "--X: no such file"
    elif case == "text_in_X":
        bad = X.astype(object)
        bad[3, 7] = "abc"
        args["--X"] = write_csv(tmp_path / "X.csv", bad)
        expect = "non-numeric value 'abc' in line 4, column 8"
    elif case == "nan_in_X":
        bad = X.copy()
        bad[0, 0] = np.nan
        args["--X"], expect = write_csv(tmp_path / "X.csv", bad), "NaN or infinite"
    elif case == "coef_length":
        np.save(tmp_path / "w.npy", truth.coef_init[:-1])
        args["--coef"], expect = tmp_path / "w.npy", "has 99 values but --X"
    elif case == "y_length":
        args["--y"], expect = write_csv(tmp_path / "y.csv", y[:-2, None]), "holds 58 values"
    elif case == "X_is_3d":
        np.save(tmp_path / "X.npy", X.reshape(6, 10, 100))
        args["--X"], expect = tmp_path / "X.npy", "expected a matrix"
    elif case == "ragged":
        (tmp_path / "X.csv").write_text("1,2,3\n4,5\n6,7,8\n")
        args["--X"], expect = tmp_path / "X.csv", "rows of different lengths"
    elif case == "empty":
        (tmp_path / "y.csv").write_text("\n")
        args["--y"], expect = tmp_path / "y.csv", "is empty"
    elif case == "unlabeled_width":
        np.save(tmp_path / "U.npy", X[:, :50])
        extra, expect = ["--unlabeled", tmp_path / "U.npy"], "--unlabeled"
        extra += ["--no-intercept"]
    elif case == "regression_text_labels":
        (tmp_path / "y.csv").write_text("\n".join(["a", "b"] * 30) + "\n")
        args["--y"], expect = tmp_path / "y.csv", "regression needs numbers"
        extra += ["--task", "regression"]
    elif case == "npz_two_arrays":
        np.savez(tmp_path / "X.npz", a=X, b=X)
        args["--X"], expect = tmp_path / "X.npz", "holds 2 arrays"
    elif case == "bad_intercept":
        extra, expect = ["--intercept", tmp_path / "b.csv"], "--intercept: no such file"
    elif case == "binary_file":
        (tmp_path / "X.csv").write_bytes(bytes(range(256)) * 4)
        args["--X"], expect = tmp_path / "X.csv", "--X"
    elif case == "constant_y":
        args["--y"], expect = write_csv(tmp_path / "y.csv", np.ones((60, 1))), "constant"
        extra += ["--task", "regression"]
    elif case == "plot_suffix":
        extra, expect = ["--plot", tmp_path / "curve.xyz"], "--plot"
    argv = ["advise"] + [str(v) for kv in args.items() for v in kv] + [str(v) for v in extra]
    x_before = X.copy()
    code, out, err = run_main(*argv)
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("skft advise: error: ")
    assert expect in lines[0], lines[0]
    np.testing.assert_array_equal(X, x_before)


def test_bad_input_subprocess_no_traceback(tmp_path, regression_files):
    files, (X, y, truth) = regression_files
    np.save(tmp_path / "w.npy", truth.coef_init[:-5])
    res = run_skft("advise", "--coef", tmp_path / "w.npy", "--X", files["X"], "--y", files["y"],
                   "--no-intercept")
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.strip().count("\n") == 0
    assert "Traceback" not in res.stderr
    assert "has 95 values but --X" in res.stderr
    res = run_skft("advise", "--coef", files["coef"], "--X", files["X"])  # --y missing
    assert res.returncode == 2 and "--y" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0  # usage errors are one line too


def test_advise_negative_alpha_is_a_usage_error(regression_files):
    files, _ = regression_files
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--alpha", "-1")
    assert code == 2
    assert err.strip().count("\n") == 0 and "--alpha" in err and out == ""


# ---------------------------------------------------------------------- the file readers
@pytest.mark.parametrize("sep", [",", ";", "\t", " "])
def test_load_array_csv_delimiters_and_header(tmp_path, sep):
    data = np.arange(12.0).reshape(4, 3) / 7
    body = "\n".join(sep.join(map(str, r.tolist())) for r in data)
    text = sep.join(["a", "b", "c"]) + "\n" + body
    (tmp_path / "m.csv").write_text(text + "\n")
    np.testing.assert_allclose(load_array(tmp_path / "m.csv", "--X", ndim=2), data)
    (tmp_path / "n.txt").write_text("\n".join(sep.join(map(str, r.tolist())) for r in data))
    np.testing.assert_allclose(load_array(tmp_path / "n.txt", "--X", ndim=2), data)


def test_load_array_vector_as_row_or_column_and_npy(tmp_path):
    v = np.array([1.5, -2.0, 3.25])
    write_csv(tmp_path / "row.csv", v[None, :])
    write_csv(tmp_path / "col.csv", v[:, None])
    np.save(tmp_path / "v.npy", v[:, None])
    for name in ("row.csv", "col.csv", "v.npy"):
        np.testing.assert_array_equal(load_array(tmp_path / name, "--coef", ndim=1), v)
    write_csv(tmp_path / "m.csv", np.ones((2, 3)))
    with pytest.raises(InputFileError, match="--coef: .* expected a vector"):
        load_array(tmp_path / "m.csv", "--coef", ndim=1)
    assert load_array(tmp_path / "m.csv", "--coef", ndim="1or2").shape == (2, 3)


def test_load_labels_text_numbers_and_header(tmp_path):
    (tmp_path / "a.csv").write_text("cat\ndog\ncat\ndog\n")  # no header: 'cat' repeats
    assert load_labels(tmp_path / "a.csv", "--y").tolist() == ["cat", "dog", "cat", "dog"]
    (tmp_path / "b.csv").write_text("species\ncat\ndog\ncat\n")
    assert load_labels(tmp_path / "b.csv", "--y").tolist() == ["cat", "dog", "cat"]
    assert load_labels(tmp_path / "b.csv", "--y", header="no").tolist()[0] == "species"
    (tmp_path / "c.csv").write_text("y\n0.5\n1.5\n")
    np.testing.assert_array_equal(load_labels(tmp_path / "c.csv", "--y"), [0.5, 1.5])
    np.save(tmp_path / "d.npy", np.array(["x", "y", "x"]))
    assert load_labels(tmp_path / "d.npy", "--y").tolist() == ["x", "y", "x"]
    (tmp_path / "e.csv").write_text("1,2\n3,4\n")
    with pytest.raises(InputFileError, match="single column"):
        load_labels(tmp_path / "e.csv", "--y")


def test_advise_multiclass_coefficient_matrix_and_intercept_file(tmp_path):
    rng = np.random.default_rng(0)
    d, n = 30, 90
    means = rng.standard_normal((3, d))
    labels = rng.integers(0, 3, n)
    X = 0.5 * means[labels] + rng.standard_normal((n, d))
    W0 = 0.3 * means + 0.2 * rng.standard_normal((3, d))
    write_csv(tmp_path / "W0.csv", W0)
    np.save(tmp_path / "X.npy", X)
    (tmp_path / "y.csv").write_text(
        "animal\n" + "\n".join(np.array(["cat", "dog", "emu"])[labels]) + "\n"
    )
    write_csv(tmp_path / "b0.csv", [[0.1], [-0.2], [0.0]])
    code, out, err = run_main("advise", "--coef", tmp_path / "W0.csv", "--X", tmp_path / "X.npy",
                              "--y", tmp_path / "y.csv", "--intercept", tmp_path / "b0.csv",
                              "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["classes"] == ["cat", "dog", "emu"]
    assert len(got["per_class"]) == 3
    # W0 with the wrong number of classes
    write_csv(tmp_path / "W1.csv", W0[:2])
    code, out, err = run_main("advise", "--coef", tmp_path / "W1.csv", "--X", tmp_path / "X.npy",
                              "--y", tmp_path / "y.csv", "--intercept", "0")
    assert code == 2 and "3 classes" in err and len(err.strip().splitlines()) == 1


def test_without_matplotlib_demo_says_so_and_advise_plot_fails_cleanly(
    tmp_path, monkeypatch, regression_files
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out, err = run_main("demo")
    assert code == 0, err
    assert "No figure: matplotlib is not installed" in out and "pip install" in out
    assert not (tmp_path / "skft-output").exists()
    files, _ = regression_files
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--plot", tmp_path / "c.png", "--intercept", "0")
    assert code == 2 and "matplotlib is not installed" in err and out == ""


# ---------------------------------------------------------------------- the intercept
@pytest.fixture(scope="module")
def diabetes_files(tmp_path_factory):
    """A Ridge model pretrained on one half of diabetes (a large intercept, ~152)."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    tmp = tmp_path_factory.mktemp("diabetes")
    X, y = load_diabetes(return_X_y=True)
    source = Ridge(alpha=0.1).fit(X[:300], y[:300])
    Xt, yt = X[300:360], y[300:360]
    np.save(tmp / "w0.npy", source.coef_)
    np.savetxt(tmp / "X.csv", Xt, delimiter=",")
    np.savetxt(tmp / "y.csv", yt)
    files = {"coef": tmp / "w0.npy", "X": tmp / "X.csv", "y": tmp / "y.csv"}
    return files, (Xt, yt, source)


def test_advise_refuses_to_guess_the_intercept(diabetes_files):
    files, (X, y, source) = diabetes_files
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"])
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--intercept is required" in err and "--no-intercept" in err
    # the evidence: the mean residual of the model without intercept, computed here directly
    r = y - X @ source.coef_
    assert f"mean {np.mean(r):.4g}" in err


def test_advise_states_and_uses_the_given_intercept(diabetes_files):
    files, (X, y, source) = diabetes_files
    b0 = repr(float(source.intercept_))
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--intercept", b0, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["intercept_init"] == float(b0)
    assert got["intercept_source"] == f"--intercept {b0}" and got["fit_intercept"] is True
    # independent route: the pretrained model's MSE on the target rows, in NumPy
    mse = np.mean((y - X @ source.coef_ - source.intercept_) ** 2)
    np.testing.assert_allclose(got["pretrained_error"]["value"], mse, rtol=1e-10)
    assert mse < 1e4  # with its intercept; without, the error is ~ 152^2 larger
    code, out, _ = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                            "--y", files["y"], "--intercept", b0)
    assert code == 0
    line = next(ln for ln in out.splitlines() if ln.startswith("Intercept:"))
    assert f"pretrained {float(b0):.6g} (--intercept {b0})" in line
    assert "the fine-tuned model fits its own" in line
    assert out.index("Intercept:") < out.index("should_finetune:")


def test_advise_no_intercept_means_a_model_without_one(diabetes_files):
    files, (X, y, source) = diabetes_files
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--no-intercept", "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["intercept_init"] == 0.0 and got["fit_intercept"] is False
    assert got["intercept_source"].startswith("--no-intercept")
    np.testing.assert_allclose(
        got["pretrained_error"]["value"], np.mean((y - X @ source.coef_) ** 2), rtol=1e-10
    )
    # --intercept with --no-intercept: the given intercept, kept fixed by fine-tuning
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--no-intercept", "--intercept", "150")
    assert code == 0, err
    assert "Intercept: pretrained 150 (--intercept 150); the fine-tuned model keeps it fixed" in out


def test_advise_verbose_stages_on_stderr(diabetes_files):
    files, _ = diabetes_files
    argv = ["advise", "--coef", files["coef"], "--X", files["X"], "--y", files["y"],
            "--intercept", "152"]
    code, quiet_out, quiet_err = run_main(*argv)
    assert code == 0 and quiet_err == ""
    code, out, err = run_main(*argv, "--verbose")
    assert code == 0 and out == quiet_out
    for stage in ("reading --X", "reading --y", "reading --coef", "should_finetune (",
                  "Intercept: pretrained 152"):
        assert stage in err, err
    assert sum("skft advise: [" in line and "done in" in line for line in err.splitlines()) == 4
    # the stages of should_finetune itself (issue 12), started and done, on the same stderr
    for stage in ("validation", "factorisation of the 'free' design", "spectrum of the",
                  "shift profile of the", "leave-one-out", "assumption checks",
                  "recommended alpha"):
        assert "should_finetune: [" in err and stage in err, (stage, err)
    assert all(line.startswith(("skft advise: [", "should_finetune: ["))
               for line in err.splitlines())


# ---------------------------------------------------------------------- failures: one line
def _one_line_error(code, out, err):
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("skft advise: error: "), err
    return lines[0]


@pytest.mark.parametrize(
    "exc",
    [OverflowError(34, "Numerical result out of range"),
     FloatingPointError("overflow encountered in multiply"),
     np.linalg.LinAlgError("Eigenvalues did not converge")],
)
def test_numerical_failures_of_the_library_are_one_line(exc, diabetes_files, tmp_path,
                                                        monkeypatch):
    import skft.advice

    files, (X, y, _) = diabetes_files
    np.savetxt(tmp_path / "X.csv", X * 1e160, delimiter=",")

    def failing(*args, **kwargs):
        raise exc

    monkeypatch.setattr(skft.advice, "should_finetune", failing)
    line = _one_line_error(*run_main("advise", "--coef", files["coef"], "--X",
                                     tmp_path / "X.csv", "--y", files["y"], "--intercept", "0"))
    assert "numerical failure" in line and type(exc).__name__ in line
    assert "--X is extreme: rescale" in line  # names the input at fault
    assert f"--X {np.abs(X * 1e160).max():.3g}" in line


def test_nan_advice_is_refused(diabetes_files, monkeypatch):
    import skft.advice

    files, _ = diabetes_files

    def nan_advice(*args, **kwargs):  # what a numerical failure inside the advice looks like
        return SimpleNamespace(pretrained_error=SimpleNamespace(value=2900.0),
                               finetuned_error=SimpleNamespace(value=float("nan")))

    monkeypatch.setattr(skft.advice, "should_finetune", nan_advice)
    line = _one_line_error(*run_main("advise", "--coef", files["coef"], "--X", files["X"],
                                     "--y", files["y"], "--intercept", "0"))
    assert "NaN" in line and "--X" in line


def test_huge_features_end_in_an_answer_or_one_line(diabetes_files, tmp_path):
    """X ~ 1e160: today an OverflowError inside the advice; never a traceback or exit 1."""
    files, (X, y, _) = diabetes_files
    np.savetxt(tmp_path / "X.csv", X * 1e160, delimiter=",")
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", tmp_path / "X.csv",
                              "--y", files["y"], "--intercept", "152", "--json")
    if code == 0:  # the advice handles the scale: a finite answer
        got = json.loads(out)
        assert np.isfinite(got["pretrained_error"]["value"])
    else:
        assert "--X" in _one_line_error(code, out, err)


def test_unexpected_error_is_one_line_and_verbose_shows_the_traceback(diabetes_files,
                                                                       monkeypatch):
    import skft.advice

    files, _ = diabetes_files

    def buggy(*args, **kwargs):
        raise TypeError("unsupported operand")

    monkeypatch.setattr(skft.advice, "should_finetune", buggy)
    argv = ["advise", "--coef", files["coef"], "--X", files["X"], "--y", files["y"],
            "--intercept", "0"]
    line = _one_line_error(*run_main(*argv))
    assert "internal error (TypeError: unsupported operand)" in line and "--verbose" in line
    code, out, err = run_main(*argv, "--verbose")
    assert code == 2 and "Traceback" in err and "buggy" in err
    assert err.strip().splitlines()[-1].startswith("skft advise: error: internal error")


def test_keyboard_interrupt_exits_130(diabetes_files, monkeypatch):
    import skft.advice

    files, _ = diabetes_files

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(skft.advice, "should_finetune", interrupted)
    code, out, err = run_main("advise", "--coef", files["coef"], "--X", files["X"],
                              "--y", files["y"], "--intercept", "0")
    assert code == 130 and err.strip() == "skft advise: interrupted"


def test_broken_pipe_subprocess(diabetes_files):
    """``skft advise --json | head -0``: the reader is gone before the answer is written."""
    files, _ = diabetes_files
    proc = subprocess.Popen(
        [sys.executable, "-m", "skft", "advise", "--coef", files["coef"], "--X", files["X"],
         "--y", files["y"], "--intercept", "152", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    proc.stdout.close()  # long before the interpreter has even imported skft
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 2
    assert "Traceback" not in err and "Exception ignored" not in err
    assert err.strip().splitlines() == [
        "skft advise: error: the output was closed before it was all written (broken pipe)"
    ]
