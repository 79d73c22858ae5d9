"""Formatting of :class:`FinetuneAdvice`: the readable summary and the JSON dictionary."""

import json
import math

import numpy as np
from scipy.special import ndtri

__all__ = ["advice_dict", "advice_summary"]


def _intervals_text(intervals):
    if not intervals:
        return "no n"
    parts = ["n in"]
    for lo, hi in intervals:
        hi_s = "inf" if math.isinf(hi) else f"{hi:.0f}"
        parts.append(f"({lo:.0f}, {hi_s})")
    return parts[0] + " " + " U ".join(parts[1:])


def _grouped(labels, texts):
    """``"class a: text; classes b, c: text"``, grouping the classes with the same text."""
    groups = {}
    for lab, txt in zip(labels, texts, strict=True):
        groups.setdefault(txt, []).append(str(lab))
    return [
        f"{'class' if len(labs) == 1 else 'classes'} {', '.join(labs)}: {txt}"
        for txt, labs in groups.items()
    ]


def _basis_short(advice):
    """``"Gaussian-margin (p = 0.43)"``: one class's basis in a multiclass reason."""
    words = {"gaussian_margin": "Gaussian-margin", "counted": "counted"}[advice.decision_basis]
    p = advice.normality_pvalue
    return words + (" (normality untestable)" if p is None else f" (normality p = {p:.2g})")


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return [_jsonable(v) for v in x.tolist()]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return "inf" if x > 0 else ("-inf" if x < 0 else "nan")
    return x


def _iv(est):
    return f"[{est.low:.4g}, {est.high:.4g}]"


#: Short names of the empirical checks (column headings).
_CHECK_SHORT = {
    "leave-one-out": "leave-one-out",
    "approximate leave-one-out": "approx. LOO",
}


def _check_short(method):
    if method is None:
        return "check"
    if method in _CHECK_SHORT:
        return _CHECK_SHORT[method]
    return method.split(" of ")[0].replace("cross-validation", "CV")


def _finetuning(advice):
    """``", loss='log_loss', calibrate_start='affine'"``: what is fine-tuned, when not the
    default squared loss."""
    parts = []
    if advice.loss != "squared_error" or len(advice.candidates) > 1:
        parts.append(f"loss={advice.loss!r}")
    if advice.epsilon is not None:
        parts.append(f"epsilon={advice.epsilon:g}")
    if advice.calibrate_start is not None:
        parts.append(f"calibrate_start={advice.calibrate_start!r}")
    return "".join(", " + p for p in parts)


def _candidate_lines(advice, pct):
    """The table of every fine-tuning judged, when there are several (or none predicted)."""
    cands = advice.candidates
    if len(cands) < 2 and all(c.has_prediction for c in cands):
        return []
    width = max(12, *(len(c.name) for c in cands))
    lines = [f"Fine-tunings judged against keeping the start ({advice.metric}; "
             f"pretrained {advice.decision_pretrained_error.value:.4g}):",
             f"  {'candidate':{width}}{'alpha':>7}  {'predicted [' + pct + ']':>24}  "
             f"{'check':>8}  verdict"]
    best = advice.best
    for c in cands:
        if not c.has_prediction:
            lines.append(f"  {c.name:{width}}{c.alpha:>7.3g}  {'no prediction':>24}")
            lines.append(f"    why: {c.reason}")
            continue
        ft = c.finetuned_error
        verdict = ("beats keeping the start" if c.finetune else "does not beat it") + (
            "" if c.confident else " (not confident)") + (" <- best" if c is best else "")
        check = "n/a" if c.loo_error is None else f"{c.loo_error:.4g}"
        lines.append(f"  {c.name:{width}}{c.alpha:>7.3g}  {f'{ft.value:.4g} ' + _iv(ft):>24}  "
                     f"{check:>8}  {verdict}")
    return lines


def advice_summary(advice):
    """The text of :meth:`FinetuneAdvice.summary`."""
    z = float(ndtri(0.5 + advice.confidence / 2.0))
    pct = f"{100 * advice.confidence:.0f}%"
    head = (f"should_finetune: {advice.task}, n_samples={advice.n_samples}, "
            f"n_features={advice.n_features}, alpha={advice.alpha:g}{_finetuning(advice)}")
    check = _check_short(advice.check_method)
    lines = [
        head,
        f"{'':22}{'estimate':>10}  {pct + ' interval':>22}  {check:>14}",
        f"{'pretrained ' + advice.metric:22}{advice.pretrained_error.value:>10.4g}  "
        f"{_iv(advice.pretrained_error):>22}  {'(measured)':>14}",
    ]
    if advice.finetuned_error is None:  # no fine-tuning named has a prediction
        lines += _candidate_lines(advice, pct)
        lines.append("Decision: keep the pretrained model, but NOT confident: no fine-tuning "
                     "named has a prediction here (see above).")
        return "\n".join(lines)
    gap = advice.finetuned_error.value - advice.decision_pretrained_error.value
    lines.append(
        f"{'fine-tuned ' + advice.metric:22}{advice.finetuned_error.value:>10.4g}  "
        f"{_iv(advice.finetuned_error):>22}  "
        f"{('n/a' if advice.loo_error is None else f'{advice.loo_error:.4g}'):>14}")
    if advice.pretrained_per_class is not None:
        lines.append("  (argmax errors; one-vs-rest rates per class, pretrained -> fine-tuned: "
                     + ", ".join(f"{c}: {p:.3g} -> {f:.3g}" for c, p, f in zip(
                         advice.classes, advice.pretrained_per_class,
                         advice.finetuned_per_class, strict=True)) + ")")
    if advice.decision_basis in ("gaussian_margin", "mixed"):
        dec = advice.decision_pretrained_error
        tag = "(Gaussian)" if advice.decision_basis == "gaussian_margin" else "(mixed)"
        lines.append(f"{'pretrained, decision':22}{dec.value:>10.4g}  {_iv(dec):>22}  {tag:>14}")
    if advice.decision_basis != "measured":
        lines.append(f"decision's pretrained error: {advice.decision_basis_reason}")
    lines += [
        f"recommended alpha: {advice.recommended_alpha:.3g} "
        f"(predicted {advice.metric} {advice.recommended_error:.4g})",
    ]
    lines += _candidate_lines(advice, pct)
    if advice.per_class is None:
        lines.append(
            f"fine-tuning at alpha={advice.alpha:g} helps for "
            f"{_intervals_text(advice.helps_intervals)}"
        )
    else:
        lines.append(f"fine-tuning at alpha={advice.alpha:g} helps, per class (one-vs-rest), for:")
        texts = [_intervals_text(a.helps_intervals) for a in advice.per_class]
        lines.extend("  " + t for t in _grouped(advice.classes, texts))
    verdict = "fine-tune" if advice.finetune else "keep the pretrained model"
    beyond = abs(gap) > z * advice.gap_stderr
    unc = f"{pct} uncertainty +-{z * advice.gap_stderr:.2g}"
    failed = [c for c in advice.checks if not c.passed]
    if advice.confident:
        lines.append(f"Decision: {verdict} (predicted gap {gap:+.3g}, beyond {unc}).")
    else:
        why = []
        if not beyond:
            why.append(
                f"the predicted gap {gap:+.3g} is inside the {unc}; the two are too close to "
                "call with these samples"
            )
        elif advice.loo_finetune is None:
            why.append(
                f"the predicted gap {gap:+.3g} is beyond the {unc}, but there is no "
                "leave-one-out check at this alpha (see Fallback): it rests on the theory alone"
            )
        elif advice.loo_finetune != advice.finetune:
            why.append(
                f"the predicted gap {gap:+.3g} is beyond the {unc}, but the "
                f"{advice.check_method} check decides otherwise"
            )
        if failed:
            why.append("failed check(s): " + ", ".join(c.name for c in failed))
        lines.append(f"Decision: {verdict}, but NOT confident: " + "; ".join(why) + ".")
    for c in failed:
        lines.append(f"Check FAILED: {c}")
    passed = [c.name for c in advice.checks if c.passed]
    if passed:
        lines.append("Checks passed: " + ", ".join(passed))
    if advice.loo_finetune is not None and advice.loo_finetune != advice.finetune:
        lines.append(f"Note: the {advice.check_method} check disagrees with the theory.")
    if advice.per_class is None:
        lines.extend(f"Fallback: {msg}" for msg in advice.fallbacks)
    else:
        msgs = {}
        for lab, a in zip(advice.classes, advice.per_class, strict=True):
            for msg in a.fallbacks:
                msgs.setdefault(msg, []).append(str(lab))
        for msg, labs in msgs.items():
            which = "class" if len(labs) == 1 else "classes"
            lines.append(f"Fallback ({which} {', '.join(labs)}): {msg}")
    return "\n".join(lines)


def advice_dict(advice):
    """The dictionary of :meth:`FinetuneAdvice.to_dict` (JSON-serialisable, checked)."""
    out = {
        "task": advice.task,
        "finetune": bool(advice.finetune),
        "confident": bool(advice.confident),
        "pretrained_error": vars(advice.pretrained_error),
        "decision_pretrained_error": vars(advice.decision_pretrained_error),
        "decision_basis": advice.decision_basis,
        "decision_basis_reason": advice.decision_basis_reason,
        "normality_pvalue": advice.normality_pvalue,
        "finetuned_error": (None if advice.finetuned_error is None
                            else vars(advice.finetuned_error)),
        "gap_stderr": advice.gap_stderr,
        "recommended_alpha": advice.recommended_alpha,
        "recommended_error": advice.recommended_error,
        "helps_intervals": advice.helps_intervals,
        "loo_error": advice.loo_error,
        "gcv_error": advice.gcv_error,
        "loo_finetune": advice.loo_finetune,
        "alpha": advice.alpha,
        "n_samples": advice.n_samples,
        "n_features": advice.n_features,
        "confidence": advice.confidence,
        "assumptions": advice.assumptions,
        "fallbacks": advice.fallbacks,
        "unknowns": _unknowns_dict(advice.unknowns),
        "classes": None if advice.classes is None else advice.classes.tolist(),
        "per_class": None if advice.per_class is None else [a.to_dict() for a in advice.per_class],
        "checks": [c.to_dict() for c in advice.checks],
        "n_effective": advice.n_effective,
        "loss": advice.loss,
        "epsilon": advice.epsilon,
        "fit_intercept": advice.fit_intercept,
        "calibrate_start": advice.calibrate_start,
        "check_method": advice.check_method,
        "pretrained_per_class": advice.pretrained_per_class,
        "finetuned_per_class": advice.finetuned_per_class,
        "candidates": [c.to_dict() for c in advice.candidates],
    }
    out = _jsonable(out)
    json.dumps(out)  # fail here, not in the user's code
    return out


def candidate_dict(fields):
    """The dictionary of :meth:`CandidateAdvice.to_dict` (JSON-serialisable, checked)."""
    out = _jsonable(fields)
    json.dumps(out)  # fail here, not in the user's code
    return out


def _unknowns_dict(unk):
    if unk is None:
        return None
    if isinstance(unk, tuple):
        return [_unknowns_dict(u) for u in unk]
    out = {}
    for name, value in vars(unk).items():
        if name == "spectrum":
            ev = value.eigenvalues
            out["spectrum"] = {
                "trace": value.trace,
                "trace_sq": value.trace_sq,
                "min": float(ev.min()),
                "max": float(ev.max()),
                "n_rows": value.n_rows,
                "method": value.method,
            }
        elif name == "profile":
            out["profile"] = None if value is None else _profile_dict(value)
        elif name != "moment_cov":
            out[name] = value
    return out


def _profile_dict(prof):
    """The fitted shift profile per eigenvalue bin (lowest to highest eigenvalue)."""
    ev, bins = prof.eigenvalues, prof.bins
    centres = [float(np.exp(np.mean(np.log(ev[bins == b])))) for b in range(prof.levels.size)]
    return {
        "noise_var": prof.noise_var,
        "bin_eigenvalue": centres,
        "bin_size": np.bincount(bins[bins >= 0], minlength=prof.levels.size).tolist(),
        "delta_sq_per_direction": prof.levels.tolist(),
        "resolution": prof.resolution,
        "unresolved_share": prof.unresolved_share,
        "lack_of_fit": prof.lack_of_fit,
    }
