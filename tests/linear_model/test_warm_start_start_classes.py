"""WarmStartSGDClassifier with a fitted classifier as start: its classes_ fix the rows."""

from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier

from skft.linear_model import WarmStartSGDClassifier


def _data(n, d, labels, seed=0):
    rng = np.random.default_rng(seed)
    k = rng.integers(0, len(labels), n)
    means = rng.standard_normal((len(labels), d))
    return rng.standard_normal((n, d)) + means[k], np.asarray(labels)[k]


def _ovr_closest_interpolators(X, y, classes, W0, b0):
    """Per class of ``classes`` (in that order): the +-1 targets' least-squares solution
    closest to the start in the augmented norm, by the pseudo-inverse (n < d)."""
    A = np.hstack([X, np.ones((len(X), 1))])
    pinv = np.linalg.pinv(A)
    T = np.where(y[:, None] == np.asarray(classes)[None, :], 1.0, -1.0)
    if len(classes) == 2:
        T = T[:, 1:]
    U = pinv @ (T - X @ W0.T - b0)
    return W0 + U[:-1].T, b0 + U[-1]


@pytest.mark.parametrize("via_fit", [False, True])
def test_labels_subset_of_start_classes_keeps_its_classes_and_rows(via_fit):
    X, y = _data(60, 8, ["cat", "dog", "wolf"], seed=1)
    src = RidgeClassifier().fit(X, y)
    Xt, yt = _data(30, 8, ["dog", "wolf"], seed=2)  # two of the three classes present
    clf = WarmStartSGDClassifier(None if via_fit else src)
    clf.fit(Xt, yt, **({"coef_init": src} if via_fit else {}))
    assert clf.classes_.tolist() == ["cat", "dog", "wolf"]
    assert clf.coef_.shape == (3, 8)
    # n = 30 > d + 1 = 9: least squares, per class in the start's order (cat: all -1)
    W, b = _ovr_closest_interpolators(Xt, yt, src.classes_, src.coef_, src.intercept_)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(clf.intercept_, b, rtol=1e-8, atol=1e-10)
    assert set(clf.predict(Xt).tolist()) <= {"cat", "dog", "wolf"}


def test_start_row_order_is_kept_when_not_sorted():
    rng = np.random.default_rng(3)
    X, y = _data(20, 40, ["a", "m", "z"], seed=4)
    start = SimpleNamespace(coef_=rng.standard_normal((3, 40)) * 0.1,
                            intercept_=rng.standard_normal(3) * 0.1,
                            classes_=np.array(["z", "a", "m"]))
    clf = WarmStartSGDClassifier(start).fit(X, y)
    assert clf.classes_.tolist() == ["z", "a", "m"]
    W, b = _ovr_closest_interpolators(X, y, start.classes_, start.coef_, start.intercept_)
    np.testing.assert_allclose(clf.coef_, W, rtol=1e-8, atol=1e-10)
    np.testing.assert_array_equal(clf.predict(X), y)  # n < d: interpolates the +-1 targets
    np.testing.assert_array_equal(start.classes_, ["z", "a", "m"])  # not mutated


@pytest.mark.parametrize("src_labels, y_labels, missing", [
    (["cat", "dog"], ["dog", "wolf"], "wolf"),
    ([1, 2, 3], [0, 1, 2], "0"),
    ([0, 1], ["a", "b"], "a"),
])
@pytest.mark.parametrize("via_fit", [False, True])
def test_labels_outside_start_classes_raise(src_labels, y_labels, missing, via_fit):
    X, y = _data(40, 5, src_labels, seed=5)
    src = RidgeClassifier().fit(X, y)
    Xt, yt = _data(40, 5, y_labels, seed=6)
    clf = WarmStartSGDClassifier(None if via_fit else src)
    with pytest.raises(ValueError, match="coef_init.classes_") as info:
        clf.fit(Xt, yt, **({"coef_init": src} if via_fit else {}))
    msg = str(info.value)
    assert str(missing) in msg and str(src_labels[0]) in msg and "labels of y" in msg


def test_partial_fit_with_start_classes():
    X, y = _data(40, 6, [1, 2, 3], seed=7)
    src = RidgeClassifier().fit(X, y)
    # classes optional: they come from the start
    clf = WarmStartSGDClassifier(src, random_state=0).partial_fit(X[:10], y[:10])
    assert clf.classes_.tolist() == [1, 2, 3] and clf.coef_.shape == (3, 6)
    clf.partial_fit(X, y, classes=[1, 2, 3])
    clf.partial_fit(X[y != 3], y[y != 3], classes=[1, 2])  # a subset: consistent
    # classes consistent with the start on the first call
    ok = WarmStartSGDClassifier(src, random_state=0).partial_fit(X[y < 3], y[y < 3],
                                                                 classes=[1, 2])
    assert ok.classes_.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match=r"classes=.*coef_init.classes_ \[1, 2, 3\]"):
        WarmStartSGDClassifier(src).partial_fit(X, y, classes=[0, 1, 2, 3])
    with pytest.raises(ValueError, match="labels of y .*coef_init.classes_"):
        WarmStartSGDClassifier(src).partial_fit(X, y + 1)
    with pytest.raises(ValueError, match="y contains labels not in classes"):
        WarmStartSGDClassifier(src).partial_fit(X, y, classes=[1, 2])
    with pytest.raises(ValueError, match="differs from classes_"):
        clf.partial_fit(X, y, classes=[1, 2, 3, 4])


def test_array_start_still_uses_labels_of_y():
    X, y = _data(30, 5, ["dog", "wolf"], seed=8)
    clf = WarmStartSGDClassifier(np.zeros(5)).fit(X, y)
    assert clf.classes_.tolist() == ["dog", "wolf"]


def test_start_given_to_fit_is_remembered_by_partial_fit():
    rng = np.random.default_rng(5)
    X = rng.standard_normal((60, 8))
    labels = np.array(["z", "a", "m"])
    y = labels[np.argmax(X[:, :3], axis=1)]
    start = RidgeClassifier().fit(X, y)
    clf = WarmStartSGDClassifier(random_state=0).fit(X, y, coef_init=start)
    keep = np.isin(y, ["z", "a"])
    clf.partial_fit(X[keep], y[keep], classes=["z", "a"])  # a subset of the start's classes
    np.testing.assert_array_equal(clf.classes_, start.classes_)
    with pytest.raises(ValueError, match="first fit/partial_fit call"):
        WarmStartSGDClassifier(random_state=0).fit(X, y).partial_fit(X, y, classes=["z", "a"])
