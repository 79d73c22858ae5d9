"""
=================================================
Fine-tuning from a start vs training from scratch
=================================================

With fewer target samples ``n`` than features ``d``, SGD started at the pretrained
coefficients ``w0`` converges to the interpolator *closest to* ``w0``; started at zero
("from scratch") it converges to the minimum-norm interpolator. The start is all the prior
knowledge the model keeps. This example fits both with
:class:`~skft.linear_model.WarmStartSGDRegressor` for a range of ``n`` and draws the exact
asymptotic test error of :func:`skft.theory.regression_risk` through the simulated points:
a good start beats training from scratch while ``n < d``, a start that is further from the
truth than zero is worse, and once ``n > d`` least squares forgets the start altogether.
"""

# %%
# The problem
# -----------
# ``d = 200`` features with a bilevel spectrum (10% of the directions ten times stronger),
# a true coefficient vector ``w_star`` of norm 1 and label noise of variance 0.25. We take
# two pretrained models: a good one at distance 0.5 from ``w_star`` and a poor one at
# distance 1.5 (zero is at distance 1).
import matplotlib.pyplot as plt
import numpy as np

from skft.datasets import exact_test_error, make_transfer_regression
from skft.linear_model import WarmStartSGDRegressor
from skft.plotting import FinetuneCurveDisplay
from skft.theory import regression_risk

d = 200
n_sim = np.array([40, 80, 120, 160, 250, 400, 800])
n_line = np.unique(np.round(np.geomspace(10, 1600, 300)))
n_seeds = 3

starts = {}
for shift in (0.5, 1.5):
    _, _, truth = make_transfer_regression(
        10, d, spectrum="bilevel", noise=0.5, shift=shift, random_state=0
    )
    starts[shift] = truth  # same w_star and covariance for both (same seed), different w0


# %%
# Simulation: the real estimator, solver ``"exact"`` (the point SGD converges to)
# -------------------------------------------------------------------------------
# ``coef_init=None`` starts from zero: plain training from scratch. Test errors are
# exact (``skft.datasets.exact_test_error``), so the only randomness is the training set.
def simulate(truth, coef_init):
    """Mean and standard deviation over seeds of the exact test MSE at each n."""
    means, stds = [], []
    for n in n_sim:
        errors = []
        for seed in range(n_seeds):
            X, _, _ = make_transfer_regression(
                n, d, spectrum=truth.covariance, random_state=100 + seed
            )
            rng = np.random.default_rng(seed)
            y = X @ truth.w_star + np.sqrt(truth.noise_var) * rng.standard_normal(n)
            est = WarmStartSGDRegressor(coef_init, fit_intercept=False, solver="exact")
            errors.append(exact_test_error(truth, est.fit(X, y).coef_))
        means.append(np.mean(errors))
        stds.append(np.std(errors))
    return np.array(means), np.array(stds)


scratch_truth = starts[0.5]
scratch = simulate(scratch_truth, None)
finetuned = {shift: simulate(truth, truth.coef_init) for shift, truth in starts.items()}

# %%
# Theory against simulation
# -------------------------
# For each start, :meth:`~skft.plotting.FinetuneCurveDisplay.from_theory` draws the
# pretrained error (flat: it does not depend on ``n``), the fine-tuned error and the sample
# sizes where they cross; training from scratch is fine-tuning from ``w0 = 0``, i.e.
# ``delta = -w_star``.
fig, axes = plt.subplots(1, 2, figsize=(12, 4.4), sharey=True)
for ax, (shift, truth) in zip(axes, starts.items(), strict=True):
    mean, std = finetuned[shift]
    FinetuneCurveDisplay.from_theory(
        truth.covariance,
        delta=truth.delta,
        noise_var=truth.noise_var,
        n_samples=n_line,
        simulated_n=n_sim,
        simulated_error=mean,
        simulated_std=std,
        name=f"start at distance {shift} from w_star",
        ax=ax,
        simulated_kw={"label": "fine-tuned from w0, simulated"},
        finetuned_kw={"label": "fine-tuned from w0, theory"},
    )
    from_zero = regression_risk(truth.covariance, -truth.w_star, truth.noise_var, n_line)
    ax.plot(n_line, np.where(np.isfinite(from_zero.finetuned), from_zero.finetuned, np.nan),
            color="C4", ls=":", label="from scratch, theory")
    ax.errorbar(n_sim, scratch[0], yerr=scratch[1], fmt="^", color="C4", capsize=3,
                label="from scratch, simulated")
    ax.set_ylim(0, 3.2)
    ax.legend(fontsize="x-small", loc="upper left")
fig.tight_layout()
plt.show()

# %%
# What the figure says: for ``n < d`` the fine-tuned error is
# ``s2 + bias(delta) + variance`` where only the bias depends on the start, so the good
# start (left) beats training from scratch and the poor start (right) loses to it. Both
# curves blow up at ``n = d`` (interpolating noisy labels) and merge for ``n > d``, where
# the unique least-squares solution no longer depends on where SGD started.
#
# The exact solver is the limit of SGD
# ------------------------------------
# ``solver="exact"`` is not a different model: it is the point minibatch SGD from ``w0``
# converges to. A quick check at ``n = 80``:
truth = starts[0.5]
X, y, _ = make_transfer_regression(80, d, spectrum=truth.covariance, random_state=7)
y = X @ truth.w_star + 0.5 * np.random.default_rng(7).standard_normal(80)
exact = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False, solver="exact").fit(X, y)
sgd = WarmStartSGDRegressor(
    truth.coef_init, fit_intercept=False, solver="sgd", random_state=0
).fit(X, y)
gap = np.linalg.norm(sgd.coef_ - exact.coef_) / np.linalg.norm(exact.coef_)
print(f"relative distance between the SGD and the exact solution: {gap:.1e}")
print(f"test MSE: exact {exact_test_error(truth, exact.coef_):.4f}, "
      f"SGD {exact_test_error(truth, sgd.coef_):.4f}")
