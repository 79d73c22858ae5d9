"""Displays: the predicted error of the pretrained and fine-tuned models against ``n``.

:class:`FinetuneCurveDisplay` follows scikit-learn's Display pattern
(:class:`sklearn.model_selection.ValidationCurveDisplay`,
:class:`sklearn.metrics.PredictionErrorDisplay`): ``__init__`` only stores the computed
arrays; :meth:`FinetuneCurveDisplay.plot` draws them (matplotlib is imported there, lazily,
so it stays an optional dependency) and stores the artists; the ``from_*`` class methods
compute the arrays and plot.
"""

import numpy as np

from ._finetune_curves import (
    advice_curves,
    as_curve,
    check_n_grid,
    crossings_from_curve,
    estimator_curves,
    finite_or_nan,
    theory_curves,
    title,
)

__all__ = ["FinetuneCurveDisplay"]

# one style for every advice and theory figure (FinetuneAdvice.plot draws through this class)
_STYLE = {
    "pretrained": {"color": "0.3", "ls": "--"},
    "decision_pretrained": {"color": "0.3", "ls": ":", "lw": 1.2},
    "finetuned": {"color": "C0"},
    "recommended": {"color": "C2", "ls": "-."},
    "crossings": {"marker": "o", "ls": "none", "color": "C3", "mfc": "none", "ms": 8},
    "observed_n": {"color": "0.55", "lw": 0.9, "zorder": 0},
    "n_features": {"color": "0.75", "lw": 0.9, "ls": ":", "zorder": 0},
    "prediction": {"fmt": "o", "color": "C0", "capsize": 3, "ms": 5},
    "loo": {"marker": "x", "ls": "none", "color": "C3", "ms": 8, "mew": 1.5},
    "simulated": {"fmt": "s", "color": "C1", "capsize": 3},
}


def _pyplot():
    """Import ``matplotlib.pyplot`` or raise an ImportError saying how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "FinetuneCurveDisplay needs matplotlib, which is not installed: "
            'pip install "skft[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


class FinetuneCurveDisplay:
    """Predicted test error of the pretrained and the fine-tuned model against ``n``.

    The pretrained model's error does not depend on the number ``n`` of target samples;
    the fine-tuned model's does: with ``alpha = 0`` it can be worse than the start for
    ``n`` close to the number of features (the interpolation peak) and better elsewhere.
    The display draws both curves, marks the sample sizes where they cross, and optionally
    the curve at a recommended ``alpha``, the observed ``n`` with the prediction there and the
    leave-one-out check, the interpolation threshold ``n = d``, and simulated (or measured)
    points with error bars. Every element has a legend entry.

    Build it with :meth:`from_theory` (known covariance and shift), :meth:`from_estimator`
    (a fitted :class:`~skft.WarmStartSGDRegressor` or :class:`~skft.WarmStartSGDClassifier`,
    or a Pipeline ending in one, and its target data) or :meth:`from_advice` (a
    :class:`~skft.FinetuneAdvice`; :meth:`FinetuneAdvice.plot <skft.FinetuneAdvice.plot>`
    draws the same figure). ``__init__`` only stores the arrays; call :meth:`plot` to draw them.

    Parameters
    ----------
    n_samples : array-like of shape (n_points,)
        Increasing sample sizes (the x axis).
    pretrained_error : float or array-like of shape (n_points,)
        Error of the pretrained model (MSE or misclassification rate).
    finetuned_error : array-like of shape (n_points,)
        Error of the fine-tuned model at ``alpha`` (``inf`` allowed: drawn as a gap).
    alpha : float, default=0.0
        Pull toward the start of ``finetuned_error`` (used in the legend).
    recommended_error : array-like of shape (n_points,), default=None
        Error of the fine-tuned model at ``recommended_alpha``.
    recommended_alpha : float, default=None
        The alpha of ``recommended_error``.
    crossings : array-like, default=None
        Sample sizes where the fine-tuned curve crosses the pretrained one (or
        ``decision_pretrained_error`` when given: the level a decision compares with);
        None: found from the arrays by linear interpolation when plotting.
    pretrained_band : (float, float), default=None
        Uncertainty band of the pretrained error (e.g. a confidence interval).
    simulated_n, simulated_error, simulated_std : array-like, default=None
        Simulated or measured errors at some sample sizes, with error bars
        (``simulated_std`` may be None).
    metric : str, default="MSE"
        Name of the error, for the y label (``"MSE"`` or ``"error rate"``).
    name : str, default=None
        Title (the ``from_*`` constructors write the data or model, then ``n``, ``d`` and
        ``alpha``).
    observed_n : int, default=None
        The number of labelled samples at hand: a vertical line.
    observed_error : (float, float, float), default=None
        ``(value, low, high)``: the predicted fine-tuned error at ``observed_n`` and its interval.
    loo_error : float, default=None
        Leave-one-out error of the fine-tuned model at ``observed_n`` (the empirical check).
    decision_pretrained_error : float, default=None
        The pretrained error a decision compared with, when it is not ``pretrained_error``
        (classification: the Gaussian-margin estimate).
    confidence : float, default=None
        Level of ``pretrained_band`` and ``observed_error``, for the legend.
    n_features : int, default=None
        Number of features ``d`` (the rank of the covariance): a vertical line at ``n = d``,
        where the ``alpha = 0`` fine-tuned error has its interpolation peak.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves (after :meth:`plot`).
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    lines_ : dict of str to matplotlib Line2D
        ``"pretrained"``, ``"finetuned"`` and, when drawn, ``"recommended"``,
        ``"decision_pretrained"``, ``"observed_n"``, ``"n_features"`` and ``"loo"``.
    crossings_ : matplotlib Line2D or None
        Markers at the crossing points.
    prediction_ : matplotlib ErrorbarContainer or None
        The predicted fine-tuned error at ``observed_n`` with its interval.
    errorbar_ : matplotlib ErrorbarContainer or None
        The simulated points.

    See Also
    --------
    skft.theory.regression_risk : Regression errors drawn by :meth:`from_theory`.
    skft.theory.classification_error : Classification errors drawn by :meth:`from_theory`.
    skft.should_finetune : The advice drawn by :meth:`from_advice`.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skft.plotting import FinetuneCurveDisplay
    >>> n = np.array([50.0, 100.0, 200.0, 400.0])
    >>> disp = FinetuneCurveDisplay(n, 1.0, [0.9, 1.1, 1.4, 0.6]).plot()
    >>> disp.lines_["finetuned"].get_ydata()
    array([0.9, 1.1, 1.4, 0.6])
    >>> disp.crossings_.get_xdata()          # where 0.9 -> 1.1 and 1.4 -> 0.6 cross 1.0
    array([ 75., 300.])
    """

    def __init__(
        self,
        n_samples,
        pretrained_error,
        finetuned_error,
        *,
        alpha=0.0,
        recommended_error=None,
        recommended_alpha=None,
        crossings=None,
        pretrained_band=None,
        simulated_n=None,
        simulated_error=None,
        simulated_std=None,
        metric="MSE",
        name=None,
        observed_n=None,
        observed_error=None,
        loo_error=None,
        decision_pretrained_error=None,
        confidence=None,
        n_features=None,
    ):
        self.n_samples = n_samples
        self.pretrained_error = pretrained_error
        self.finetuned_error = finetuned_error
        self.alpha = alpha
        self.recommended_error = recommended_error
        self.recommended_alpha = recommended_alpha
        self.crossings = crossings
        self.pretrained_band = pretrained_band
        self.simulated_n = simulated_n
        self.simulated_error = simulated_error
        self.simulated_std = simulated_std
        self.metric = metric
        self.name = name
        self.observed_n = observed_n
        self.observed_error = observed_error
        self.loo_error = loo_error
        self.decision_pretrained_error = decision_pretrained_error
        self.confidence = confidence
        self.n_features = n_features

    def plot(
        self,
        ax=None,
        *,
        log_x=True,
        pretrained_kw=None,
        finetuned_kw=None,
        recommended_kw=None,
        crossings_kw=None,
        simulated_kw=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure when None.
        log_x : bool, default=True
            Logarithmic ``n`` axis.
        pretrained_kw, finetuned_kw, recommended_kw, crossings_kw, simulated_kw : dict
            Keyword arguments of ``ax.plot`` (``ax.errorbar`` for the simulated points)
            overriding the defaults of each element, e.g. ``{"label": "...", "color": "k"}``.

        Returns
        -------
        display : FinetuneCurveDisplay
            ``self``, with ``ax_``, ``figure_``, ``lines_``, ``crossings_``,
            ``prediction_`` and ``errorbar_`` set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> disp = FinetuneCurveDisplay([10, 20, 40], 0.5, [0.7, 0.4, 0.3], n_features=30)
        >>> disp.plot(finetuned_kw={"color": "k"}).ax_.get_xscale()
        'log'
        >>> disp.lines_["n_features"].get_label()
        'n = d = 30'
        """
        plt = _pyplot()
        n = check_n_grid(self.n_samples)
        pre = as_curve(self.pretrained_error, "pretrained_error", n.size)
        ft = as_curve(self.finetuned_error, "finetuned_error", n.size)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.4))
        metric = self.metric
        level = "interval" if self.confidence is None else f"{100 * self.confidence:.0f}% interval"
        lines = {}

        def line(key, x, y, label, overrides=None):
            (lines[key],) = ax.plot(x, y, **{**_STYLE[key], "label": label, **(overrides or {})})
            return lines[key]

        line("pretrained", n, pre, f"pretrained {metric}", pretrained_kw)
        if self.pretrained_band is not None:
            low, high = (float(v) for v in self.pretrained_band)
            ax.axhspan(low, high, color=lines["pretrained"].get_color(), alpha=0.12, lw=0,
                       label=f"pretrained {metric}, {level}")
        if self.decision_pretrained_error is not None:
            dec = float(self.decision_pretrained_error)
            line("decision_pretrained", n, np.full(n.size, dec),
                 f"pretrained {metric}, Gaussian-margin estimate (decides)")
        line("finetuned", n, finite_or_nan(ft), f"fine-tuned, alpha={float(self.alpha):.3g}",
             finetuned_kw)
        shown = [pre, ft]
        if self.recommended_error is not None:
            rec = as_curve(self.recommended_error, "recommended_error", n.size)
            ra = self.recommended_alpha
            text = "recommended alpha" if ra is None else f"alpha={float(ra):.3g} (recommended)"
            line("recommended", n, finite_or_nan(rec), f"fine-tuned, {text}", recommended_kw)
            shown.append(rec)

        # the crossings are with the pretrained error the decision compares with
        base = pre if self.decision_pretrained_error is None else np.full(n.size, dec)
        if self.crossings is None:
            cross = crossings_from_curve(n, ft, base)
        else:
            cross = np.atleast_1d(np.asarray(self.crossings, dtype=np.float64))
        self.crossings_ = None
        if cross.size:
            label = "crossing at n = " + ", ".join(f"{c:.4g}" for c in cross)
            self.crossings_ = ax.plot(cross, np.interp(cross, n, base),
                                      **{**_STYLE["crossings"], "label": label,
                                         **(crossings_kw or {})})[0]

        lo, hi = n.min(), n.max()
        if self.n_features is not None and lo <= self.n_features <= hi:
            d = int(self.n_features)
            lines["n_features"] = ax.axvline(d, **_STYLE["n_features"], label=f"n = d = {d}")
        self.prediction_ = None
        if self.observed_n is not None:
            n_obs = int(self.observed_n)
            lines["observed_n"] = ax.axvline(n_obs, **_STYLE["observed_n"],
                                             label=f"observed n = {n_obs}")
            if self.observed_error is not None:
                value, low, high = (float(v) for v in self.observed_error)
                self.prediction_ = ax.errorbar(
                    [n_obs], [value], yerr=[[value - low], [high - value]],
                    **_STYLE["prediction"], label=f"fine-tuned at n = {n_obs}, predicted, {level}",
                )
                shown.append(np.array([high]))
            if self.loo_error is not None:
                line("loo", [n_obs], [float(self.loo_error)],
                     f"fine-tuned at n = {n_obs}, leave-one-out")
                shown.append(np.array([float(self.loo_error)]))

        self.errorbar_ = None
        if self.simulated_n is not None:
            sn = np.asarray(self.simulated_n, dtype=np.float64).ravel()
            se = as_curve(self.simulated_error, "simulated_error", sn.size)
            std = None
            if self.simulated_std is not None:
                std = as_curve(self.simulated_std, "simulated_std", sn.size)
            kw = {**_STYLE["simulated"], "label": "simulated"}
            self.errorbar_ = ax.errorbar(sn, se, yerr=std, **{**kw, **(simulated_kw or {})})
            shown.append(se + (0 if std is None else std))
        self.lines_ = lines

        if log_x:
            ax.set_xscale("log")
        # the interpolation peak goes to infinity: show up to three times the pretrained error
        finite = np.concatenate([v[np.isfinite(v)] for v in shown])
        top = min(finite.max(), 3 * np.max(pre)) if finite.size else 1.0
        if self.pretrained_band is not None:
            top = max(top, float(self.pretrained_band[1]))
        ax.set_ylim(0, 1.05 * top if top > 0 else 1.0)
        ax.set_xlabel("number of target samples n")
        ax.set_ylabel(f"test {metric}")
        if self.name is not None:
            ax.set_title(self.name, fontsize="medium")
        ax.legend(fontsize="x-small")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_theory(
        cls,
        covariance,
        *,
        n_samples,
        delta=None,
        noise_var=None,
        mean=None,
        coef_init=None,
        alpha=0.0,
        task="auto",
        recommended_at=None,
        simulated_n=None,
        simulated_error=None,
        simulated_std=None,
        name=None,
        ax=None,
        **plot_kwargs,
    ):
        """Plot the exact asymptotic errors of :mod:`skft.theory` for a known problem.

        Regression (``delta`` and ``noise_var``): :func:`~skft.theory.regression_risk`;
        classification (``mean`` and ``coef_init``): :func:`~skft.theory.classification_error`.
        The crossings are the ends of :func:`~skft.theory.finetune_helps_intervals`
        (:func:`~skft.theory.classification_finetune_helps_intervals`), found to machine
        precision rather than on the plotted grid. A dotted line marks ``n = d`` (``d`` the
        rank of the covariance).

        Parameters
        ----------
        covariance : array-like of shape (d, d) or (d,), or Spectrum
            Target covariance (regression) or within-class covariance (classification).
        n_samples : array-like of shape (n_points,)
            Increasing sample sizes at which to evaluate the curves.
        delta : array-like of shape (d,), default=None
            ``w0 - w_star`` (regression).
        noise_var : float, default=None
            Label noise variance (regression).
        mean : array-like of shape (d,), default=None
            Class mean ``mu`` (classification).
        coef_init : array-like of shape (d,), default=None
            Pretrained coefficients ``w0`` (classification).
        alpha : float, default=0.0
            Pull toward the start.
        task : {"auto", "regression", "classification"}, default="auto"
            ``"auto"``: regression when ``delta`` is given, classification when ``mean`` is.
        recommended_at : float, default=None
            When given, also draw the curve at the alpha that is optimal for this ``n``
            (:func:`~skft.theory.optimal_alpha`), the one a practitioner with that many
            samples would pick.
        simulated_n, simulated_error, simulated_std : array-like, default=None
            Simulated points to draw over the theory (see the class parameters).
        name : str, default=None
            What the problem is, the first line of the title (default: "regression theory"
            or "classification theory"); the second line gives ``d`` and ``alpha``.
        ax : matplotlib Axes, default=None
            Axes to draw on.
        **plot_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : FinetuneCurveDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> import numpy as np
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> d = 200
        >>> delta = np.full(d, 1 / np.sqrt(d))                # ||delta||^2 = 1
        >>> disp = FinetuneCurveDisplay.from_theory(
        ...     np.ones(d), delta=delta, noise_var=0.25, n_samples=np.geomspace(20, 2000, 50)
        ... )
        >>> disp.crossings_.get_xdata()                       # d (1 -+ 0.25)
        array([150., 250.])
        >>> print(disp.ax_.get_title())
        regression theory
        d = 200, alpha = 0
        """
        kw = theory_curves(
            covariance, n_samples=n_samples, delta=delta, noise_var=noise_var, mean=mean,
            coef_init=coef_init, alpha=alpha, task=task, recommended_at=recommended_at,
        )
        task = kw.pop("task")
        heading = f"{task} theory" if name is None else name
        disp = cls(
            **kw,
            simulated_n=simulated_n,
            simulated_error=simulated_error,
            simulated_std=simulated_std,
            name=title(heading, f"d = {kw['n_features']}, alpha = {kw['alpha']:g}"),
        )
        return disp.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        n_samples=None,
        X_unlabeled=None,
        name=None,
        ax=None,
        **plot_kwargs,
    ):
        """Plot the predicted errors of a fitted warm-start estimator at other sample sizes.

        The estimator's start ``coef_init_`` (``intercept_init_``), ``alpha`` and
        ``fit_intercept`` define the fine-tuning; the unknowns of the theory (noise, shift,
        spectrum) are estimated from the target data ``(X, y)`` as in
        :func:`skft.should_finetune`, through the estimator's ``predict_asymptotic_error``. The
        pretrained error is measured on ``(X, y)``. For multiclass classifiers the
        one-vs-rest error rates are averaged over the classes. For a
        :class:`~sklearn.pipeline.Pipeline` ending in a warm-start estimator, ``X`` (and
        ``X_unlabeled``) go through the fitted steps before it: the theory is about the
        features the estimator sees.

        Parameters
        ----------
        estimator : fitted WarmStartSGDRegressor, WarmStartSGDClassifier or Pipeline
            A fitted :class:`~skft.WarmStartSGDRegressor` or
            :class:`~skft.WarmStartSGDClassifier`, or a fitted Pipeline whose last step is one.
        X : array-like of shape (n, n_features)
            Labelled target features (usually the ones the estimator was fitted on).
        y : array-like of shape (n,)
            Target values or labels.
        n_samples : array-like, default=None
            Sample sizes of the curve (default: a log grid from 2 to ``4 max(n, d)``).
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Unlabelled target features (better covariance estimate).
        name : str, default=None
            First line of the title (default: the estimator's class name); the second line
            gives ``n``, ``d`` and ``alpha``.
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : FinetuneCurveDisplay

        Raises
        ------
        sklearn.exceptions.NotFittedError
            When the estimator (or the pipeline) is not fitted.
        TypeError
            When it is not a warm-start estimator or a Pipeline ending in one.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from sklearn.pipeline import make_pipeline
        >>> from sklearn.preprocessing import StandardScaler
        >>> from skft import WarmStartSGDRegressor
        >>> from skft.datasets import make_transfer_regression
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> X, y, truth = make_transfer_regression(100, 200, random_state=0)
        >>> est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
        >>> disp = FinetuneCurveDisplay.from_estimator(est, X, y)
        >>> disp.ax_.get_ylabel()
        'test MSE'
        >>> pipe = make_pipeline(StandardScaler(), WarmStartSGDRegressor(alpha=0.1)).fit(X, y)
        >>> print(FinetuneCurveDisplay.from_estimator(pipe, X, y).ax_.get_title())
        Pipeline(StandardScaler, WarmStartSGDRegressor)
        n = 100, d = 200, alpha = 0.1
        """
        kw = estimator_curves(estimator, X, y, n_samples=n_samples, X_unlabeled=X_unlabeled)
        if name is None:
            steps = getattr(estimator, "steps", None)
            name = type(estimator).__name__
            if steps is not None:
                name += "(" + ", ".join(type(step).__name__ for _, step in steps) + ")"
        details = kw.pop("details")
        disp = cls(**kw, name=title(name, details))
        return disp.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_advice(cls, advice, *, name=None, ax=None, **plot_kwargs):
        """Plot the curves of a :class:`~skft.FinetuneAdvice`.

        The measured pretrained error with its confidence band (and the Gaussian-margin
        estimate when that is what the classification decision compared with), the predicted
        fine-tuned error at the advice's ``alpha`` and at its ``recommended_alpha``, the
        crossings at the ends of ``advice.helps_intervals``, and at the observed ``n`` the
        prediction's interval and the leave-one-out check; dotted, ``n = d``.
        :meth:`FinetuneAdvice.plot <skft.FinetuneAdvice.plot>` draws the same figure.

        Parameters
        ----------
        advice : FinetuneAdvice
            Result of :func:`skft.should_finetune`.
        name : str, default=None
            What the data are, the first line of the title with the decision (default:
            ``"should_finetune"``); the second line gives ``n``, ``d`` and ``alpha``.
        ax : matplotlib Axes, default=None
        **plot_kwargs
            Passed to :meth:`plot`.

        Returns
        -------
        display : FinetuneCurveDisplay

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skft import should_finetune
        >>> from skft.datasets import make_transfer_regression
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> X, y, truth = make_transfer_regression(100, 200, random_state=0)
        >>> advice = should_finetune(truth.coef_init, X, y, fit_intercept=False)
        >>> disp = FinetuneCurveDisplay.from_advice(advice, name="generated data")
        >>> bool((disp.lines_["finetuned"].get_xdata() == advice.curve_n).all())
        True
        >>> print(disp.ax_.get_title())
        generated data: fine-tune
        n = 100, d = 200, alpha = 0
        """
        kw = advice_curves(advice)
        measured = {"label": f"pretrained {kw['metric']}, measured"}
        plot_kwargs["pretrained_kw"] = {**measured, **(plot_kwargs.get("pretrained_kw") or {})}
        heading = f"{'should_finetune' if name is None else name}: {kw.pop('verdict')}"
        details = kw.pop("details")
        disp = cls(**kw, name=title(heading, details))
        return disp.plot(ax=ax, **plot_kwargs)
