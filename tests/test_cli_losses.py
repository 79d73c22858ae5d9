"""``skft advise --loss ... --epsilon ...``: the fine-tunings of other losses from the command
line, the same answer as the library."""

import io
import json

import numpy as np
import pytest

from skft import should_finetune
from skft._cli._main import main
from skft.datasets import make_transfer_classification, make_transfer_regression


def run_main(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("losses")
    Xr, yr, tr = make_transfer_regression(80, 120, noise=0.5, shift=1.5, random_state=0)
    Xc, yc, tc = make_transfer_classification(80, 160, random_state=0)
    for name, arr in (("Xr", Xr), ("yr", yr), ("wr", tr.coef_init), ("Xc", Xc), ("yc", yc),
                      ("wc", tc.coef_init)):
        np.save(tmp / f"{name}.npy", arr)
    return tmp, (Xr, yr, tr), (Xc, yc, tc)


def test_loss_and_epsilon_pass_through(files):
    tmp, (X, y, truth), _ = files
    code, out, err = run_main("advise", "--coef", tmp / "wr.npy", "--X", tmp / "Xr.npy",
                              "--y", tmp / "yr.npy", "--intercept", "0", "--alpha", "0.2",
                              "--loss", "huber", "--epsilon", "0.4", "--json")
    assert code == 0, err
    got = json.loads(out)
    expected = should_finetune(truth.coef_init, X, y, intercept_init=0.0, alpha=0.2,
                               loss="huber", epsilon=0.4)
    assert got["loss"] == "huber" and got["epsilon"] == 0.4
    np.testing.assert_allclose(got["finetuned_error"]["value"], expected.finetuned_error.value)
    assert got["finetune"] == expected.finetune


def test_repeated_loss_compares_the_candidates(files):
    tmp, _, (X, y, truth) = files
    code, out, err = run_main("advise", "--coef", tmp / "wc.npy", "--X", tmp / "Xc.npy",
                              "--y", tmp / "yc.npy", "--intercept", "0", "--loss",
                              "squared_error", "--loss", "hinge")
    assert code == 0, err
    # alpha = 0 on separable data: hinge has no prediction, and says why
    assert "Fine-tunings judged against keeping the start" in out
    assert "no prediction" in out and "no single limit" in out
    assert "loss='squared_error'" in out


def test_no_prediction_and_plot_is_one_line(files, tmp_path):
    tmp, _, _ = files
    code, out, err = run_main("advise", "--coef", tmp / "wc.npy", "--X", tmp / "Xc.npy",
                              "--y", tmp / "yc.npy", "--intercept", "0", "--loss", "hinge",
                              "--plot", tmp_path / "curve.png")
    assert code == 2
    assert "nothing to plot" in err and len(err.strip().splitlines()) == 1


def test_unknown_loss_is_a_usage_error(files):
    tmp, _, _ = files
    code, _, err = run_main("advise", "--coef", tmp / "wc.npy", "--X", tmp / "Xc.npy",
                            "--y", tmp / "yc.npy", "--intercept", "0", "--loss", "logistic")
    assert code == 2 and "--loss" in err


def test_loss_of_the_other_task_is_one_line(files):
    tmp, _, _ = files
    code, _, err = run_main("advise", "--coef", tmp / "wr.npy", "--X", tmp / "Xr.npy",
                            "--y", tmp / "yr.npy", "--intercept", "0", "--loss", "hinge",
                            "--task", "regression")
    assert code == 2 and "task='regression'" in err and len(err.strip().splitlines()) == 1
