"""WarmStartSGDRegressor: SGD fine-tuning of a pretrained linear regressor."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin

from .._core._losses import REGRESSION_LOSSES
from ..utils._sklearn_compat import StrOptions, _fit_context, check_is_fitted, validate_data
from ..utils._validation import refuse_complex
from ._base import _BaseWarmStartSGD

__all__ = ["WarmStartSGDRegressor"]


class WarmStartSGDRegressor(RegressorMixin, _BaseWarmStartSGD):
    """Linear regression fine-tuned by SGD from pretrained coefficients, with a pull toward them.

    Minimises, over ``w`` and ``b`` (``s_i`` the sample weights, rescaled to mean one),

    .. math::

        \\frac{1}{n} \\sum_{i=1}^n s_i\\, \\ell(y_i, x_i^\\top w + b)
        + \\frac{\\alpha}{2} \\lVert w - w_0 \\rVert^2

    starting from ``(w0, b0) = (coef_init, intercept_init)``; ``l`` is ``(y - p)^2 / 2`` for
    ``squared_error``. With ``alpha = 0`` and squared loss, SGD from ``w0`` converges to the
    least-squares solution closest to ``w0`` (the interpolator closest to ``w0`` when
    ``n_samples < n_features``), which ``solver="exact"`` computes in closed form:
    ``w = w0 + X' (X X')^+ (y - X w0)`` without intercept. With ``alpha > 0`` (ridge toward
    the start, "L2-SP"): ``w = w0 + X' (X X' + n alpha I)^-1 (y - X w0)``.

    **Intercept.** SGD treats ``b`` as one more coordinate with constant feature 1, the same
    step size and no pull. Hence with ``alpha = 0`` the limit is closest to ``(w0, b0)`` in
    ``||w - w0||^2 + (b - b0)^2`` (computed through ``X X' + 1 1'``); with ``alpha > 0`` ``b``
    is unpenalised (weighted centring, then ridge toward ``w0``). As ``alpha -> 0+`` the latter
    tends to the interpolator with ``b`` free, not to the ``alpha = 0`` point: moving ``b``
    costs nothing once ``alpha > 0``. Both are exactly what SGD converges to. With
    ``alpha > 0`` the SGD runs in the centred parametrisation ``(x - m)' w + c`` (``m`` the
    weighted feature means): same unique minimiser, but without the nearly flat direction that
    trades ``b`` against ``w`` when ``n_samples < n_features``. With ``fit_intercept=False``
    the intercept stays at ``intercept_init`` (default 0).

    **Sample weights** enter as ``s_i / mean(s)``: scaling all weights changes nothing, a zero
    weight drops the row, an integer weight repeats it (exactly for ``solver="exact"``, in
    expectation for SGD).

    **Numerics.** ``solver="exact"`` factorises the smaller Gram matrix after diagonal
    equilibration and refines the answer with residuals computed through ``X`` itself; when that
    cannot vouch for the answer (an ill-conditioned or singular Gram: collinear or duplicated
    columns or rows, features of wildly different scales) it falls back to the Gram's
    pseudo-inverse or to an SVD of the design, so it is as accurate as ``numpy.linalg.lstsq``
    (with ``alpha = 0`` and ``n_samples < n_features``, the closest interpolator in the original
    coordinates, with lstsq's rank cutoff). Entries of ``X`` whose squares overflow or underflow
    (absolute values beyond ~1e150 or below ~1e-150) are rescaled internally by powers of two.
    With more samples than coordinates (or ``alpha > 0`` there) the minimiser is computed
    without forming ``y - X w0``, so a start far off the scale of ``X`` costs no precision; with
    fewer samples the limit keeps the start's coordinates outside the row space, and a
    UserWarning says when their float64 rounding alone spoils the training predictions.
    ``solver="sgd"`` on extreme scales runs on an exactly rescaled problem where that leaves its
    limit unchanged (squared loss, ``eta0="auto"``, ``fit``) and raises a clear error otherwise;
    columns whose scales differ by more than 1e4 give a ConvergenceWarning (SGD's step is set by
    the largest). A diverging SGD raises ``SGDDivergenceError`` (a ``ValueError``) in ``fit``
    and in ``partial_fit`` alike: when its coefficients overflow, or when its training loss has
    risen in each of the last 4 epochs or ``partial_fit`` calls to 100 times its first and best
    values.

    Parameters
    ----------
    coef_init : array-like of shape (n_features,), fitted linear estimator, or None
        The pretrained coefficients ``w0`` (an estimator: its ``coef_`` and ``intercept_``,
        matched to the columns of ``X`` by name when both have feature names); None means
        zeros (training from scratch). Never modified; the resolved copy is ``coef_init_``.
        Also accepted by ``fit``, which then takes precedence. An estimator passed here is
        re-cloned unfitted by ``clone``/``GridSearchCV``: pass arrays there.
    intercept_init : float, array-like of shape (1,), or None
        The pretrained intercept ``b0`` (None: the estimator's ``intercept_`` or 0).
    alpha : float >= 0 or np.inf, default=0.0
        Strength of the pull ``alpha/2 ||w - w0||^2`` toward the start (0: plain SGD).
        ``np.inf`` keeps the start exactly (as ``should_finetune(...).recommended_alpha``
        advises when fine-tuning does not pay): ``coef_`` and ``intercept_`` are the start's
        (``coef_init_``, ``intercept_init_``; calibrated if ``calibrate_start`` is set), for
        every loss and solver; ``partial_fit`` only counts the samples.
    solver : {"auto", "sgd", "exact"}, default="auto"
        ``"sgd"``: minibatch SGD (``partial_fit`` always uses it). ``"exact"``: the point SGD
        converges to, computed deterministically: for the squared loss in closed form through
        the ``n x n`` kernel when ``n_samples < n_features`` (else the normal equations), as
        accurate as ``numpy.linalg.lstsq`` for any feature scaling and conditioning (see
        **Numerics**);
        for the other losses (``alpha > 0`` only: with ``alpha = 0`` a minimiser may not
        exist or be unique, which is refused) by Newton's method / an active-set solve of the
        optimality conditions (``skft._core._convex``). ``"auto"``: ``"exact"`` for ``fit``
        without early stopping, with squared loss and ``min(n_samples, n_features + 1)`` at
        most 5000, or another loss, ``alpha > 0`` and that size at most 2000; else ``"sgd"``.
        The resolved choice is ``solver_``.
    calibrate_start : {None, "intercept", "affine"}, default=None
        Put the start on the scale of the fine-tuning loss first: ``"affine"`` fits ``a, c``
        minimising the loss of ``a (X w0 + b0) + c`` on the data (weighted; least squares for
        the squared loss), then fine-tunes from and toward ``(a w0, a b0 + c)``;
        ``"intercept"`` fits ``c`` alone (``a = 1``: with ``alpha=np.inf``, the limit of the
        ``alpha > 0`` fits, whose intercept is never pulled). For a start trained with another
        loss or in other units. ``partial_fit`` calibrates on its first batch. The result is
        ``start_scale_`` and ``start_offset_``.
    loss : {"squared_error", "huber", "epsilon_insensitive"}, default="squared_error"
    fit_intercept : bool, default=True
    learning_rate : {"adaptive", "constant", "invscaling", "optimal"}, default="adaptive"
        ``constant``: ``eta0``; ``invscaling``: ``eta0 / tau^power_t`` (``tau`` the step count);
        ``optimal``: ``eta0 / (1 + alpha eta0 tau)`` (needs ``alpha > 0``); ``adaptive``:
        ``eta0`` until SGD stalls (no progress of the objective for ``n_iter_no_change`` epochs
        while successive epoch displacements point against each other: Pflug's test of SGD's
        noise ball). Then, with ``eta0="auto"`` and ``batch_size="auto"``, the batch grows
        4-fold (step recomputed) up to the full batch, whose iteration converges linearly to
        the exact limit; otherwise, and at full batch, the step is divided by 5.
    eta0 : float > 0 or "auto", default="auto"
        Initial step. ``"auto"``: ``B / (c beta + (B - 1) c lambda + B alpha)`` (Ma, Bassily &
        Belkin, 2018) from the largest squared row norm ``beta``, the top eigenvalue ``lambda``
        of ``X' X / n``, the loss curvature ``c`` and the batch size ``B``: stable on any
        data scale. The value used is ``eta0_``.
    power_t : float, default=0.25
    max_iter : int, default=1000
        Maximum number of epochs.
    tol : float >= 0 or None, default=1e-6
        Stop when the estimated remaining distance to the limit (the per-epoch coefficient
        change divided by one minus its observed contraction) is below ``tol`` times the
        largest coefficient; a stalled objective ends non-adaptive schedules and divides the
        adaptive step by 5. None: run ``max_iter`` epochs.
    n_iter_no_change : int, default=5
    shuffle : bool, default=True
    random_state : int, RandomState instance or None, default=None
    average : bool or int, default=False
        Report the running average of the iterates (from the ``average``-th sample on). The
        average keeps the transient, so it approaches the limit only at rate ``1 / epochs``.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the data; its loss drives the stall rule.
    validation_fraction : float in (0, 1), default=0.1
    batch_size : int or "auto", default="auto"
        ``"auto"``: as many rows as fit in 1 MiB of float64, between 1 and 256.
    warm_start : bool, default=False
        ``fit`` starts from the previous solution (the pull stays toward ``coef_init``).
    verbose : int, default=0
        Above 0, ``fit`` and ``partial_fit`` print their stages on stdout, as scikit-learn's
        ``SGDRegressor`` does: the solver chosen, for ``solver="sgd"`` one line per epoch
        (objective, largest change, step size) and the total, for ``solver="exact"`` the Gram
        matrix, the factorisation, the refinement steps and any fallback taken (pseudo-inverse,
        normal equations, SVD), each with its time.
    epsilon : float, default=0.1
        Width for ``huber`` and ``epsilon_insensitive``.

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : ndarray of shape (1,)
    coef_init_ : ndarray of shape (n_features,)
    intercept_init_ : ndarray of shape (1,)
    start_scale_, start_offset_ : ndarray of shape (1,)
        The calibration ``a, c`` of the start (1 and 0 without ``calibrate_start``).
    solver_ : str
    n_iter_ : int
        Epochs run (exact solver: 1 for the squared loss, else Newton / active-set steps).
    t_ : float
        Samples seen plus one; ``fit`` resets it, ``partial_fit`` continues it.
    eta0_ : float
        Initial step actually used (SGD only).
    batch_size_ : int
        Minibatch size actually used (SGD only).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (`n_features_in_`,)

    Examples
    --------
    >>> import numpy as np
    >>> from skft.linear_model import WarmStartSGDRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((20, 50)); w0 = rng.standard_normal(50)
    >>> y = X @ (w0 + 0.1 * rng.standard_normal(50))
    >>> est = WarmStartSGDRegressor(w0, fit_intercept=False).fit(X, y)
    >>> est.solver_, bool(np.allclose(est.predict(X), y))
    ('exact', True)
    >>> sgd = WarmStartSGDRegressor(w0, fit_intercept=False, solver="sgd", random_state=0)
    >>> bool(np.allclose(sgd.fit(X, y).coef_, est.coef_, atol=1e-4))
    True
    """

    _asymptotic_task = "regression"

    _parameter_constraints: dict = {
        **_BaseWarmStartSGD._parameter_constraints,
        "loss": [StrOptions(set(REGRESSION_LOSSES))],
    }
    _y_numeric = True
    _multi_coef = False

    def _encode_targets(self, y, *, first_call, classes=None, start_classes=None):
        return np.asarray(y, dtype=np.float64).reshape(-1, 1)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, coef_init=None, intercept_init=None, sample_weight=None):
        """Fine-tune from the start on ``(X, y)``; resets ``t_``.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        coef_init, intercept_init : optional
            Override the constructor's start for this call (parity with ``SGDRegressor``).
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        self
        """
        return self._fit_path(X, y, sample_weight=sample_weight, coef_init=coef_init,
                              intercept_init=intercept_init)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, sample_weight=None):
        """One SGD epoch over ``(X, y)``, continuing the schedule (``t_`` keeps growing).

        Returns
        -------
        self
        """
        return self._fit_path(X, y, sample_weight=sample_weight, partial=True)

    def predict(self, X):
        """Predict ``X @ coef_ + intercept_``.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        refuse_complex(X, "X")
        X = validate_data(self, X, accept_sparse="csr", dtype=[np.float64, np.float32],
                          reset=False)
        return np.asarray(X @ self.coef_).ravel() + self.intercept_[0]
