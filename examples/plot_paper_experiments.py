"""
=========================================================
Theory against simulation: the paper's experiments
=========================================================

Ghane, Akhtiamov and Hassibi (NeurIPS 2024) show that the test error of a linear model
fine-tuned by SGD from pretrained coefficients converges, when ``n`` and ``d`` grow
together, to a number that depends on the target data only through its first two
moments. This example reproduces their experiments: the exact formulas of
:mod:`skft.theory` (lines) against :class:`~skft.linear_model.WarmStartSGDRegressor` and
:class:`~skft.linear_model.WarmStartSGDClassifier` fitted on simulated data (points) with
Gaussian, Bernoulli (Rademacher, +-1) and centred chi-squared features that share the
same mean and covariance.
"""

# %%
# Regression: error against d/n with a bilevel covariance
# -------------------------------------------------------
# ``d = 300`` features, 10% of the directions ten times stronger than the others; the
# pretrained coefficients miss the target by ``||delta|| = 1``. Fine-tuning with
# ``alpha = 0`` (the limit of SGD) interpolates when ``n < d``: its error peaks at
# ``n = d`` and can be worse than not fine-tuning at all, the more so the noisier the
# labels.
import matplotlib.pyplot as plt
import numpy as np

from skft.datasets import exact_test_error, make_transfer_classification, make_transfer_regression
from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor
from skft.theory import classification_error, regression_risk

d = 300
n_seeds = 3
distributions = {"gaussian": "o", "rademacher": "s", "chi2": "^"}
ratios_sim = np.array([0.3, 0.5, 0.7, 0.85, 1.25, 1.6, 2.5, 4.0])  # d / n
ratios_line = np.geomspace(0.25, 4.5, 400)
noise_levels = [0.01, 0.15, 2.0]  # noise variance


def log_ratio_axis(ax):
    """Log-scaled d/n axis with plain tick labels."""
    ax.set_xscale("log")
    ax.set_xticks([0.25, 0.5, 1, 2, 4], labels=["0.25", "0.5", "1", "2", "4"])
    ax.minorticks_off()
    ax.set_xlabel("d / n")


def features(n, covariance, distribution, seed):
    """n samples with the given covariance and standardised distribution (truth fixed)."""
    X, _, _ = make_transfer_regression(
        n, d, spectrum=covariance, distribution=distribution, random_state=1000 + seed
    )
    return X


fig_reg, axes = plt.subplots(1, 3, figsize=(13, 3.8), sharex=True)
for ax, noise_var in zip(axes, noise_levels, strict=True):
    # the truth is the same for every seed; only the samples change
    _, _, truth = make_transfer_regression(
        10, d, spectrum="bilevel", noise=np.sqrt(noise_var), shift=1.0, random_state=0
    )
    theory = regression_risk(truth.covariance, truth.delta, noise_var, d / ratios_line)
    ax.plot(ratios_line, theory.finetuned, "k-", lw=1.2, label="fine-tuned, alpha = 0 (theory)")
    ax.axhline(theory.pretrained, color="tab:gray", ls="--", label="pretrained (theory)")
    for dist, marker in distributions.items():
        errors = []
        for ratio in ratios_sim:
            n = int(round(d / ratio))
            errs = []
            for seed in range(n_seeds):
                X = features(n, truth.covariance, dist, seed)
                rng = np.random.default_rng(seed)
                y = X @ truth.w_star + np.sqrt(noise_var) * rng.standard_normal(n)
                est = WarmStartSGDRegressor(
                    coef_init=truth.coef_init, solver="exact", fit_intercept=False
                ).fit(X, y)
                errs.append(exact_test_error(truth, est.coef_))
            errors.append(np.mean(errs))
        ax.plot(ratios_sim, errors, marker, mfc="none", label=f"fine-tuned, simulated, {dist}")
    ax.set_yscale("log")
    log_ratio_axis(ax)
    ax.set_title(f"regression, bilevel covariance, d = {d}\nalpha = 0, noise variance {noise_var}",
                 fontsize="medium")
axes[0].set_ylabel("test MSE")
axes[0].legend(fontsize=7)
fig_reg.tight_layout()

# %%
# Classification: pretrained against fine-tuned
# ----------------------------------------------
# Two classes ``x = y * mean + z`` with a bilevel within-class covariance; the pretrained
# classifier is a noisy version of the best one. Square-loss fine-tuning of the +-1
# labels from it with ``alpha = 0`` loses to the pretrained classifier near ``n = d`` and
# wins with many samples; ``alpha = 0.1`` (a pull toward the start) removes the peak.
fig_clf, ax = plt.subplots(figsize=(6.4, 4.6))
_, _, truth = make_transfer_classification(
    10, d, spectrum="bilevel", separation=1.5, shift=1.5, random_state=0
)
for alpha, style in ((0.0, "k-"), (0.1, "b-")):
    theory = classification_error(
        truth.covariance, truth.mean, truth.coef_init, d / ratios_line, alpha
    )
    ax.plot(ratios_line, theory.finetuned, style, lw=1.2,
            label=f"fine-tuned, alpha = {alpha} (theory)")
    for dist, marker in distributions.items():
        errors = []
        for ratio in ratios_sim:
            n = int(round(d / ratio))
            errs = []
            for seed in range(n_seeds):
                labels = np.random.default_rng(seed).choice([-1, 1], size=n)
                X = labels[:, None] * truth.mean + features(n, truth.covariance, dist, seed)
                est = WarmStartSGDClassifier(
                    coef_init=truth.coef_init, alpha=alpha, solver="exact", fit_intercept=False
                ).fit(X, labels)
                errs.append(exact_test_error(truth, est.coef_.ravel()))
            errors.append(np.mean(errs))
        ax.plot(
            ratios_sim,
            errors,
            marker,
            color=style[0],
            mfc="none",
            label=f"simulated, {dist}, alpha = {alpha}",
        )
ax.axhline(theory.pretrained, color="tab:gray", ls="--", label="pretrained (theory)")
ax.set_title(f"two-class mixture, bilevel covariance, d = {d}\nalpha = 0 and 0.1",
             fontsize="medium")
log_ratio_axis(ax)
ax.set_ylabel("misclassification rate")
ax.legend(fontsize=7)
fig_clf.tight_layout()

# %%
# Save the figures when run as a script.
if __name__ == "__main__":
    fig_reg.savefig("paper_regression.png", dpi=120)
    fig_clf.savefig("paper_classification.png", dpi=120)
