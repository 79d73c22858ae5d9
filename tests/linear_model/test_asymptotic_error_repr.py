"""AsymptoticError's repr: short and readable, with the numbers of the attributes (rounded)."""

import dataclasses
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skft import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.datasets import make_transfer_regression
from skft.linear_model import AsymptoticError


def _numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e[-+]\d+)?|inf", text)]


@pytest.fixture(scope="module")
def multiclass_error():
    X, y = load_digits(return_X_y=True)
    keep = np.isin(y, [0, 1, 2])
    X, y = X[keep][:150] / 16.0, y[keep][:150]
    clf = WarmStartSGDClassifier(np.zeros((3, 64)), alpha=0.1).fit(X, y)
    return clf.predict_asymptotic_error(n_samples=[50, 150, 600])


def test_multiclass_repr_is_short_and_shows_every_number(multiclass_error):
    err = multiclass_error
    text = repr(err)
    # multiclass: the argmax errors (the one-vs-rest rates are attributes beside them)
    assert text.startswith("AsymptoticError(pretrained=")
    assert "Unknowns" not in text and "spectrum" not in text  # no nested dataclasses
    assert text.endswith("source='data', details=<EstimatedTheory>)")
    assert len(text) < 400
    # the numbers, in order: pretrained, finetuned (3 sizes), n_samples, alpha
    got = _numbers(text.split("source=")[0])
    want = np.concatenate([np.ravel(err.pretrained), np.ravel(err.finetuned),
                           np.ravel(err.n_samples), np.ravel(err.alpha)])
    np.testing.assert_allclose(got, want, rtol=5e-4)  # 4 significant digits


def test_regression_repr_scalars_and_inf():
    X, y, truth = make_transfer_regression(60, 120, random_state=0)
    est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
    err = est.predict_asymptotic_error(alpha=[0.0, np.inf], n_samples=60)
    text = repr(err)
    assert "alpha=[0, inf]" in text and "n_samples=[60, 60]" in text
    assert f"pretrained={err.pretrained:.4g}," in text


def test_long_curves_are_summarised():
    err = AsymptoticError(1.0, np.linspace(0.5, 1.5, 100), np.arange(1.0, 101.0),
                          np.zeros(100), "moments", None)
    text = repr(err)
    assert "..." in text and len(text) < 250
    assert "details=<NoneType>" in text


def test_the_dataclass_is_kept(multiclass_error):
    # fields and immutability are the dataclass's; only the repr is custom
    err = multiclass_error
    assert dataclasses.is_dataclass(err)
    assert [f.name for f in dataclasses.fields(err)] == [
        "pretrained", "finetuned", "n_samples", "alpha", "source", "details",
        "pretrained_per_class", "finetuned_per_class"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        err.source = "x"
