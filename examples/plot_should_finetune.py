"""
=====================================================
Should I fine-tune? Deciding from a few target labels
=====================================================

A linear model was pretrained on a source distribution. On the target distribution we have
``n`` labelled samples, fewer than the ``d`` features. :func:`skft.advice.should_finetune`
measures the pretrained model's error on these labels, estimates the unknowns the exact
high-dimensional theory needs (noise level, size of the shift, covariance spectrum), predicts
the error of the fine-tuned model, and shows the closed-form leave-one-out error beside it.
Here the data are generated, so the answer can be checked against the truth.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from skft.advice import should_finetune
from skft.datasets import exact_test_error, make_transfer_regression
from skft.plotting import FinetuneCurveDisplay


def finetune(X, y, w0, alpha):
    """The fine-tuned model (no intercept), closed form on the n x n side."""
    n = X.shape[0]
    return w0 + X.T @ np.linalg.solve(X @ X.T + n * alpha * np.eye(n), y - X @ w0)


# %%
# A start that is far from the target task: fine-tuning should pay
# ------------------------------------------------------------------
X, y, truth = make_transfer_regression(
    n_samples=150, n_features=600, spectrum="bilevel", shift=1.5, noise=0.5, random_state=0
)
advice = should_finetune(truth.coef_init, X, y, alpha=0.0, fit_intercept=False)
print(advice.summary())
print(
    f"truth: pretrained {exact_test_error(truth, truth.coef_init):.3f}, fine-tuned "
    f"{exact_test_error(truth, finetune(X, y, truth.coef_init, 0.0)):.3f}"
)

# %%
# A good start and noisy labels: keep the pretrained model (or pull hard toward it)
# ----------------------------------------------------------------------------------
X2, y2, truth2 = make_transfer_regression(
    n_samples=150, n_features=600, spectrum="bilevel", shift=0.3, noise=1.0, random_state=1
)
advice2 = should_finetune(truth2.coef_init, X2, y2, alpha=0.0, fit_intercept=False)
print(advice2.summary())
print(
    f"truth: pretrained {exact_test_error(truth2, truth2.coef_init):.3f}, fine-tuned "
    f"{exact_test_error(truth2, finetune(X2, y2, truth2.coef_init, 0.0)):.3f}, fine-tuned "
    f"with the recommended alpha "
    f"{exact_test_error(truth2, finetune(X2, y2, truth2.coef_init, advice2.recommended_alpha)):.3f}"
)

# %%
# Error against the number of labels
# ----------------------------------
# The theory also answers for other ``n``: fine-tuning at ``alpha = 0`` hurts around the
# interpolation peak ``n = d`` and the recommended ``alpha`` removes the peak.
# :meth:`FinetuneCurveDisplay.from_advice <skft.plotting.FinetuneCurveDisplay.from_advice>`
# draws what ``advice.plot()`` draws, with a title naming the data.
fig, axes = plt.subplots(1, 2, figsize=(12, 4.8))
FinetuneCurveDisplay.from_advice(advice, name="poor start (shift 1.5), noise 0.5", ax=axes[0])
FinetuneCurveDisplay.from_advice(advice2, name="good start (shift 0.3), noise 1", ax=axes[1])
fig.tight_layout()
plt.show()
