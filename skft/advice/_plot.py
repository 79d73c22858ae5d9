"""Plot of a :class:`FinetuneAdvice`: predicted error against the number of samples."""

import numpy as np

__all__ = ["plot_advice"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "FinetuneAdvice.plot needs matplotlib: pip install matplotlib (or skft[plot])."
        ) from exc
    return plt


def plot_advice(advice, ax=None):
    """Draw ``advice`` on ``ax`` (a new figure when None) and return the axes."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6.4, 4.2))
    n = advice.curve_n
    pre = advice.pretrained_error
    ax.axhline(pre.value, color="0.3", lw=1.5, label="pretrained (measured)")
    ax.axhspan(pre.low, pre.high, color="0.3", alpha=0.12, lw=0)
    dec = advice.decision_pretrained_error
    if dec is not None and advice.decision_basis in ("gaussian_margin", "mixed"):
        ax.axhline(dec.value, color="0.3", lw=1.2, ls=":", label="pretrained (decision estimate)")
    ft = np.where(np.isfinite(advice.curve_finetuned), advice.curve_finetuned, np.nan)
    ax.plot(n, ft, color="C0", label=f"fine-tuned, alpha={advice.alpha:g} (theory)")
    if advice.curve_recommended is not None and advice.recommended_alpha != advice.alpha:
        ax.plot(
            n,
            advice.curve_recommended,
            color="C2",
            ls="--",
            label=f"fine-tuned, alpha={advice.recommended_alpha:.3g} (recommended at n)",
        )
    fe = advice.finetuned_error
    ax.errorbar(
        [advice.n_samples],
        [fe.value],
        yerr=[[fe.value - fe.low], [fe.high - fe.value]],
        fmt="o",
        color="C0",
        capsize=3,
        label=f"prediction at n={advice.n_samples}",
    )
    if advice.loo_error is not None:
        ax.plot(
            [advice.n_samples],
            [advice.loo_error],
            "x",
            color="C3",
            ms=8,
            label="leave-one-out check",
        )
    ax.set_xscale("log")
    top = np.nanmax(np.r_[ft[np.isfinite(ft)], pre.high, fe.high])
    ax.set_ylim(0, min(top, 3 * pre.value) * 1.05)
    ax.set_xlabel("number of target samples n")
    ax.set_ylabel(f"test {advice.metric}")
    verdict = "fine-tune" if advice.finetune else "keep pretrained"
    ax.set_title(f"should_finetune: {verdict}" + ("" if advice.confident else " (not confident)"))
    ax.legend(fontsize="small")
    return ax
