"""Displays: the predicted error of the pretrained and fine-tuned models against ``n``.

:class:`FinetuneCurveDisplay` follows scikit-learn's Display pattern
(:class:`sklearn.model_selection.ValidationCurveDisplay`,
:class:`sklearn.metrics.PredictionErrorDisplay`): ``__init__`` only stores the computed
arrays; :meth:`FinetuneCurveDisplay.plot` draws them (matplotlib is imported there, lazily,
so it stays an optional dependency) and stores the artists; the ``from_*`` class methods
compute the arrays and plot.
"""

import numbers

import numpy as np

from .advice._advice import _curve_n
from .theory import (
    Spectrum,
    classification_error,
    classification_finetune_helps_intervals,
    classification_optimal_alpha,
    finetune_helps_intervals,
    optimal_alpha,
    regression_risk,
)

__all__ = ["FinetuneCurveDisplay"]


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


def _as_curve(values, name, size):
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(size, float(arr))
    if arr.shape != (size,):
        raise ValueError(f"{name} must be a scalar or have shape ({size},), got {arr.shape}.")
    return arr


def _finite_or_nan(values):
    return np.where(np.isfinite(values), values, np.nan)


def _crossings_from_curve(n, finetuned, pretrained):
    """Sample sizes where ``finetuned - pretrained`` changes sign (linear interpolation).

    A step to or from an infinite value (the interpolation peak) is placed at the grid
    point where the curve is infinite.
    """
    gap = finetuned - pretrained
    out = []
    for i in range(n.size - 1):
        a, b = gap[i], gap[i + 1]
        if np.isnan(a) or np.isnan(b) or (a < 0) == (b < 0):
            continue
        if np.isinf(a) or np.isinf(b):
            out.append(float(n[i] if np.isinf(a) else n[i + 1]))
        else:
            out.append(float(n[i] + (n[i + 1] - n[i]) * a / (a - b)))
    return np.asarray(out)


def _crossings_from_intervals(intervals, n):
    """Finite interval ends inside the plotted range of ``n``."""
    ends = {float(e) for iv in intervals for e in iv if 0 < e < np.inf}
    return np.asarray(sorted(e for e in ends if n.min() <= e <= n.max()))


def _check_n_grid(n_samples):
    n = np.asarray(n_samples, dtype=np.float64)
    if n.ndim != 1 or n.size < 2:
        raise ValueError(f"n_samples must be a 1-d array of at least 2 sizes, got shape {n.shape}.")
    if not np.all(np.isfinite(n)) or np.any(n <= 0):
        raise ValueError("n_samples must hold finite numbers > 0.")
    if np.any(np.diff(n) <= 0):
        raise ValueError("n_samples must be strictly increasing.")
    return n


class FinetuneCurveDisplay:
    """Predicted test error of the pretrained and the fine-tuned model against ``n``.

    The pretrained model's error does not depend on the number ``n`` of target samples;
    the fine-tuned model's does: with ``alpha = 0`` it can be worse than the start for
    ``n`` close to the number of features (the interpolation peak) and better elsewhere.
    The display draws both curves, marks the sample sizes where they cross, and optionally
    the curve at a recommended ``alpha`` and simulated (or measured) points with error bars.

    Build it with :meth:`from_theory` (known covariance and shift), :meth:`from_estimator`
    (a fitted :class:`~skft.linear_model.WarmStartSGDRegressor` or
    :class:`~skft.linear_model.WarmStartSGDClassifier` and its target data) or
    :meth:`from_advice` (a :class:`~skft.advice.FinetuneAdvice`). ``__init__`` only stores
    the arrays; call :meth:`plot` to draw them.

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
        Sample sizes where the fine-tuned curve crosses the pretrained one; None: found
        from the arrays by linear interpolation when plotting.
    pretrained_band : (float, float), default=None
        Uncertainty band of the pretrained error (e.g. a confidence interval).
    simulated_n, simulated_error, simulated_std : array-like, default=None
        Simulated or measured errors at some sample sizes, with error bars
        (``simulated_std`` may be None).
    metric : str, default="MSE"
        Name of the error, for the y label (``"MSE"`` or ``"error rate"``).
    name : str, default=None
        Name of the model, for the title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        Axes with the curves (after :meth:`plot`).
    figure_ : matplotlib Figure
        Figure holding ``ax_``.
    lines_ : dict of str to matplotlib Line2D
        ``"pretrained"``, ``"finetuned"`` and, when drawn, ``"recommended"``.
    crossings_ : matplotlib Line2D or None
        Markers at the crossing points.
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
            ``self``, with ``ax_``, ``figure_``, ``lines_``, ``crossings_`` and
            ``errorbar_`` set.

        Examples
        --------
        >>> import matplotlib
        >>> matplotlib.use("Agg")
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> disp = FinetuneCurveDisplay([10, 20, 40], 0.5, [0.7, 0.4, 0.3])
        >>> disp.plot(finetuned_kw={"color": "k"}).ax_.get_xscale()
        'log'
        """
        plt = _pyplot()
        n = _check_n_grid(self.n_samples)
        pre = _as_curve(self.pretrained_error, "pretrained_error", n.size)
        ft = _as_curve(self.finetuned_error, "finetuned_error", n.size)
        if ax is None:
            _, ax = plt.subplots(figsize=(6.4, 4.2))
        metric = self.metric
        lines = {}
        kw = {"color": "0.3", "ls": "--", "label": f"pretrained {metric}"}
        (lines["pretrained"],) = ax.plot(n, pre, **{**kw, **(pretrained_kw or {})})
        if self.pretrained_band is not None:
            low, high = (float(v) for v in self.pretrained_band)
            ax.axhspan(low, high, color=lines["pretrained"].get_color(), alpha=0.12, lw=0,
                       label=f"pretrained {metric}, interval")
        alpha_text = f"alpha={float(self.alpha):.3g}"
        kw = {"color": "C0", "label": f"fine-tuned, {alpha_text}"}
        (lines["finetuned"],) = ax.plot(n, _finite_or_nan(ft), **{**kw, **(finetuned_kw or {})})
        shown = [pre, ft]
        if self.recommended_error is not None:
            rec = _as_curve(self.recommended_error, "recommended_error", n.size)
            ra = self.recommended_alpha
            text = "recommended alpha" if ra is None else f"alpha={float(ra):.3g} (recommended)"
            kw = {"color": "C2", "ls": "-.", "label": f"fine-tuned, {text}"}
            (lines["recommended"],) = ax.plot(
                n, _finite_or_nan(rec), **{**kw, **(recommended_kw or {})}
            )
            shown.append(rec)
        self.lines_ = lines

        if self.crossings is None:
            cross = _crossings_from_curve(n, ft, pre)
        else:
            cross = np.atleast_1d(np.asarray(self.crossings, dtype=np.float64))
        self.crossings_ = None
        if cross.size:
            level = np.interp(cross, n, pre)
            label = "crossing at n = " + ", ".join(f"{c:.4g}" for c in cross)
            kw = {"marker": "o", "ls": "none", "color": "C3", "mfc": "none", "ms": 8,
                  "label": label}
            (self.crossings_,) = ax.plot(cross, level, **{**kw, **(crossings_kw or {})})

        self.errorbar_ = None
        if self.simulated_n is not None:
            sn = np.asarray(self.simulated_n, dtype=np.float64).ravel()
            se = _as_curve(self.simulated_error, "simulated_error", sn.size)
            std = None
            if self.simulated_std is not None:
                std = _as_curve(self.simulated_std, "simulated_std", sn.size)
            kw = {"fmt": "s", "color": "C1", "capsize": 3, "label": "simulated"}
            self.errorbar_ = ax.errorbar(sn, se, yerr=std, **{**kw, **(simulated_kw or {})})
            shown.append(se + (0 if std is None else std))

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
            ax.set_title(self.name)
        ax.legend(fontsize="small")
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
        precision rather than on the plotted grid.

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
            Title.
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
        """
        if task == "auto":
            if (delta is None) == (mean is None):
                raise ValueError(
                    "pass either delta and noise_var (regression) or mean and coef_init "
                    "(classification), or set task."
                )
            task = "regression" if delta is not None else "classification"
        if task not in ("regression", "classification"):
            raise ValueError(
                f"task must be 'auto', 'regression' or 'classification', got {task!r}."
            )
        if not (isinstance(alpha, numbers.Real) and np.isfinite(alpha) and alpha >= 0):
            raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}.")
        n = _check_n_grid(n_samples)
        spec = covariance if isinstance(covariance, Spectrum) else Spectrum.from_covariance(
            covariance
        )
        if task == "regression":
            if delta is None or noise_var is None:
                raise ValueError("task='regression' needs delta and noise_var.")
            risk = regression_risk(spec, delta, noise_var, n, alpha)
            helps = finetune_helps_intervals(spec, delta, noise_var, alpha, n_max=n.max())
            best = None
            if recommended_at is not None:
                best = optimal_alpha(spec, delta, noise_var, recommended_at)
                curve = regression_risk(spec, delta, noise_var, n, best.alpha)
            metric = "MSE"
        else:
            if mean is None or coef_init is None:
                raise ValueError("task='classification' needs mean and coef_init.")
            risk = classification_error(spec, mean, coef_init, n, alpha)
            helps = classification_finetune_helps_intervals(
                spec, mean, coef_init, alpha, n_max=n.max()
            )
            best = None
            if recommended_at is not None:
                best = classification_optimal_alpha(spec, mean, coef_init, recommended_at)
                curve = classification_error(spec, mean, coef_init, n, best.alpha)
            metric = "error rate"
        rec_err = rec_alpha = None
        if best is not None:
            rec_alpha = float(best.alpha)
            rec_err = np.full(n.size, risk.pretrained) if np.isinf(rec_alpha) else curve.finetuned
        disp = cls(
            n,
            risk.pretrained,
            np.asarray(risk.finetuned),
            alpha=float(alpha),
            recommended_error=rec_err,
            recommended_alpha=rec_alpha,
            crossings=_crossings_from_intervals(helps.intervals, n),
            simulated_n=simulated_n,
            simulated_error=simulated_error,
            simulated_std=simulated_std,
            metric=metric,
            name=name,
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
        one-vs-rest error rates are averaged over the classes.

        Parameters
        ----------
        estimator : fitted WarmStartSGDRegressor or WarmStartSGDClassifier
            A fitted :class:`~skft.WarmStartSGDRegressor` or
            :class:`~skft.WarmStartSGDClassifier` (anything with ``coef_init_``, ``alpha`` and
            ``predict_asymptotic_error``).
        X : array-like of shape (n, n_features)
            Labelled target features (usually the ones the estimator was fitted on).
        y : array-like of shape (n,)
            Target values or labels.
        n_samples : array-like, default=None
            Sample sizes of the curve (default: a log grid from 2 to ``4 max(n, d)``).
        X_unlabeled : array-like of shape (n_unlabeled, n_features), default=None
            Unlabelled target features (better covariance estimate).
        name : str, default=None
            Title (default: the estimator's class name).
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
        >>> from skft import WarmStartSGDRegressor
        >>> from skft.datasets import make_transfer_regression
        >>> from skft.plotting import FinetuneCurveDisplay
        >>> X, y, truth = make_transfer_regression(100, 200, random_state=0)
        >>> est = WarmStartSGDRegressor(truth.coef_init, fit_intercept=False).fit(X, y)
        >>> disp = FinetuneCurveDisplay.from_estimator(est, X, y)
        >>> disp.ax_.get_ylabel()
        'test MSE'
        """
        for attr in ("coef_init_", "alpha"):
            if not hasattr(estimator, attr):
                raise TypeError(
                    f"estimator must be a fitted warm-start estimator with {attr}; got "
                    f"{type(estimator).__name__} (fit it first)."
                )
        X_arr = np.asarray(X)
        if X_arr.ndim != 2:
            raise ValueError(f"X must be a 2-d array, got shape {X_arr.shape}.")
        n = _check_n_grid(_curve_n(*X_arr.shape) if n_samples is None else n_samples)
        alpha = float(estimator.alpha)
        is_classifier = hasattr(estimator, "classes_")
        kwargs = {} if X_unlabeled is None else {"X_unlabeled": X_unlabeled}
        res = estimator.predict_asymptotic_error(X, y, n_samples=n, **kwargs)
        pre = np.asarray(res.pretrained, dtype=np.float64)
        ft = np.asarray(res.finetuned, dtype=np.float64)
        if ft.ndim == 2:  # multiclass: one row per class
            pre, ft = pre.mean(), ft.mean(axis=0)
        disp = cls(
            n,
            float(pre),
            ft,
            alpha=alpha,
            metric="error rate" if is_classifier else "MSE",
            name=type(estimator).__name__ if name is None else name,
        )
        return disp.plot(ax=ax, **plot_kwargs)

    @classmethod
    def from_advice(cls, advice, *, name=None, ax=None, **plot_kwargs):
        """Plot the curves of a :class:`~skft.advice.FinetuneAdvice`.

        The measured pretrained error with its confidence band, the predicted fine-tuned
        error at the advice's ``alpha`` and at its ``recommended_alpha`` (binary problems),
        and the crossings at the ends of ``advice.helps_intervals``.

        Parameters
        ----------
        advice : FinetuneAdvice
            Result of :func:`skft.should_finetune`.
        name : str, default=None
            Title (default: the decision).
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
        >>> disp = FinetuneCurveDisplay.from_advice(advice)
        >>> bool((disp.lines_["finetuned"].get_xdata() == advice.curve_n).all())
        True
        """
        for attr in ("curve_n", "curve_finetuned", "pretrained_error", "helps_intervals"):
            if not hasattr(advice, attr):
                raise TypeError(
                    f"advice must be a FinetuneAdvice (from should_finetune), got "
                    f"{type(advice).__name__}."
                )
        n = np.asarray(advice.curve_n, dtype=np.float64)
        pre = advice.pretrained_error
        rec = advice.curve_recommended
        rec_alpha = advice.recommended_alpha
        if rec is not None and rec_alpha == advice.alpha:
            rec = None  # the same curve twice
        if name is None:
            verdict = "fine-tune" if advice.finetune else "keep the pretrained model"
            name = f"should_finetune: {verdict}" + ("" if advice.confident else " (not confident)")
        crossings = (
            _crossings_from_intervals(advice.helps_intervals, n)
            if advice.per_class is None
            else None  # multiclass: no intervals; interpolate the mean curve
        )
        disp = cls(
            n,
            pre.value,
            np.asarray(advice.curve_finetuned, dtype=np.float64),
            alpha=advice.alpha,
            recommended_error=rec,
            recommended_alpha=None if rec is None else rec_alpha,
            crossings=crossings,
            pretrained_band=(pre.low, pre.high),
            metric=advice.metric,
            name=name,
        )
        return disp.plot(ax=ax, **plot_kwargs)
