"""
======================================================================
Tuning ``alpha`` with GridSearchCV in a Pipeline with a StandardScaler
======================================================================

:class:`~skft.linear_model.WarmStartSGDRegressor` is a scikit-learn estimator: it goes in a
:class:`~sklearn.pipeline.Pipeline` and :class:`~sklearn.model_selection.GridSearchCV`
tunes its pull toward the start, ``alpha``. One thing needs care: ``coef_init`` is a
starting point *for the estimator*, so it must live in the space the estimator sees. After
a :class:`~sklearn.preprocessing.StandardScaler` that is the scaled space, while the
pretrained model usually comes with coefficients ``w0``, ``b0`` for the raw features.

Since the scaler computes ``z = (x - mean_) / scale_``,
``x' w0 + b0 = z' (w0 * scale_) + (b0 + mean_' w0)``, so the same pretrained model reads, in
the scaled space,

.. code-block:: text

    w_scaled = w0 * scaler.scale_
    b_scaled = b0 + scaler.mean_ @ w0

This example converts the start correctly, checks that the conversion reproduces the
pretrained predictions exactly, tunes ``alpha`` by cross-validation, and shows what goes
wrong when the raw coefficients are passed unchanged.
"""

# %%
# Raw features on wildly different scales
# ---------------------------------------
# Target data from :func:`~skft.datasets.make_transfer_regression` (``d = 100``, 60
# labelled samples, a pretrained model at distance 0.8 from the truth), then each feature
# rescaled and shifted as raw measurements would be, with an intercept of 3 in the target.
# In the raw space the true and the pretrained coefficients are divided by the scales.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skft.datasets import make_transfer_regression
from skft.linear_model import WarmStartSGDRegressor

n, n_unlabeled, n_test, d = 60, 500, 4000, 100
X, y, truth = make_transfer_regression(
    n + n_unlabeled, d, noise=0.5, shift=0.8, n_test=n_test, random_state=2
)
rng = np.random.default_rng(0)
scales = 10.0 ** rng.uniform(-2, 2, d)  # from 0.01 to 100
offsets = rng.normal(0, 5, d) * scales


def to_raw(Z):
    return Z * scales + offsets


X_raw, X_unlabeled_raw, X_test_raw = to_raw(X[:n]), to_raw(X[n:]), to_raw(truth.X_test)
y, y_test = y[:n] + 3.0, truth.y_test + 3.0
w0 = truth.coef_init / scales  # the pretrained model, in raw units
b0 = 3.0 - offsets @ w0


def test_mse(model):
    return float(np.mean((model.predict(X_test_raw) - y_test) ** 2))


pretrained_mse = float(np.mean((X_test_raw @ w0 + b0 - y_test) ** 2))
print(f"pretrained model, test MSE: {pretrained_mse:.3f}")

# %%
# The start in the scaled space
# -----------------------------
# Fit the scaler once on every target feature row we have (labelled and unlabelled: no
# label is used, so nothing leaks) and freeze it with
# :class:`~sklearn.frozen.FrozenEstimator`, so that every cross-validation fold scales the
# same way and the converted start stays exact. Then convert ``(w0, b0)``.
scaler = StandardScaler().fit(np.vstack([X_raw, X_unlabeled_raw]))
w_scaled = w0 * scaler.scale_
b_scaled = b0 + scaler.mean_ @ w0
same = np.allclose(scaler.transform(X_test_raw) @ w_scaled + b_scaled, X_test_raw @ w0 + b0)
print(f"converted start reproduces the pretrained predictions: {same}")

# %%
# Grid search over ``alpha``
# --------------------------
# ``alpha = 0`` is plain SGD to convergence (here the interpolator closest to the start,
# since ``n < d``); a large ``alpha`` stays at the start. Three ways to pass the start:
#
# * **right**: ``(w_scaled, b_scaled)``;
# * **raw coefficients**: ``(w0, b0)`` unchanged, as if they were scaled-space coefficients;
# * **coefficients right, intercept raw**: ``(w_scaled, b0)``.
alphas = np.concatenate([[0.0], np.geomspace(1e-3, 1e3, 13)])
cv = KFold(5, shuffle=True, random_state=0)
starts = {
    "right: (w0 * scale_, b0 + mean_ @ w0)": (w_scaled, b_scaled),
    "wrong: raw (w0, b0)": (w0, b0),
    "wrong: (w0 * scale_, b0), intercept not moved": (w_scaled, b0),
}
searches = {}
for label, (coef, intercept) in starts.items():
    pipe = make_pipeline(
        FrozenEstimator(scaler), WarmStartSGDRegressor(coef, intercept, solver="exact")
    )
    search = GridSearchCV(
        pipe,
        {"warmstartsgdregressor__alpha": alphas},
        cv=cv,
        scoring="neg_mean_squared_error",
    )
    searches[label] = search.fit(X_raw, y)

scratch = GridSearchCV(
    make_pipeline(FrozenEstimator(scaler), WarmStartSGDRegressor(solver="exact")),
    {"warmstartsgdregressor__alpha": alphas},
    cv=cv,
    scoring="neg_mean_squared_error",
).fit(X_raw, y)

print(f"\n{'start':<48} {'best alpha':>10} {'CV MSE':>8} {'test MSE':>9}")
for label, search in [*searches.items(), ("from scratch (coef_init=None)", scratch)]:
    best = search.best_params_["warmstartsgdregressor__alpha"]
    print(f"{label:<48} {best:>10.3g} {-search.best_score_:>8.3f} {test_mse(search):>9.3f}")

# %%
# Cross-validated error against ``alpha``
# ---------------------------------------
# With the right start, the curve joins the pretrained model's error for large ``alpha``
# and dips below it where fine-tuning pays. Passed raw, the coefficients are a start
# unrelated to the pretrained model (off by the scales): large ``alpha`` pins the model to
# a bad point, and the best the search can do is to forget it, which ``n = 60 < d`` samples
# do badly. The intercept matters only at ``alpha = 0``: for ``alpha > 0`` the intercept is
# not pulled toward ``intercept_init`` (it is refitted freely), but at ``alpha = 0`` SGD
# treats it as one more coordinate and the raw ``b0`` drags the solution away (so does the
# zero intercept of training from scratch, far from the target mean 3). Note also how noisy
# a 5-fold CV estimate on 60 samples is: pick ``alpha`` from the shape of the curve, or ask
# :func:`skft.should_finetune` for its ``recommended_alpha`` on the scaled features.
fig, ax = plt.subplots(figsize=(7, 4.3))
x = np.where(alphas == 0, alphas[1] / 10, alphas)  # alpha = 0 drawn at the left edge
for (label, search), style in zip(searches.items(), ["o-", "s--", "^:"], strict=True):
    ax.plot(x, -search.cv_results_["mean_test_score"], style, ms=4, label=label)
ax.plot(x, -scratch.cv_results_["mean_test_score"], "x-.", color="C4", ms=4,
        label="from scratch (coef_init=None)")
ax.axhline(pretrained_mse, color="0.3", ls="--", lw=1, label="pretrained model (test MSE)")
ax.set_xscale("log")
ax.set_yscale("log")
decades = [1e-3, 1e-2, 1e-1, 1, 10, 100, 1000]
ax.set_xticks([x[0], *decades], ["0", *(f"{a:g}" for a in decades)])
ax.minorticks_off()
ax.set_xlabel("alpha (pull toward the start)")
ax.set_ylabel("5-fold CV MSE")
ax.set_title("GridSearchCV over alpha, StandardScaler + WarmStartSGDRegressor")
ax.legend(fontsize="x-small")
fig.tight_layout()
plt.show()
