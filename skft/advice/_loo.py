"""Closed-form leave-one-out and GCV errors of the fine-tuned linear model.

The fine-tuned model is ridge regression pulled toward the pretrained start ``w0``,

.. math::

    \\hat w = \\arg\\min_w \\frac{1}{2n}\\sum_i (y_i - x_i^\\top w - b)^2
              + \\frac{\\alpha}{2}\\lVert w - w_0\\rVert^2,

whose ``alpha = 0`` member is the interpolator closest to ``w0`` when ``n < d`` (the limit of
SGD started at ``w0``) and least squares when ``n > d``. It only depends on the data through
the residuals ``r = y - X w0`` of the pretrained model: ``w = w0 + v`` with ``v`` the ridge fit
of ``r`` on ``X``. Its leave-one-out residuals therefore come from one eigendecomposition of the
smaller Gram matrix (:class:`GramFactor`), after which every ``alpha`` costs ``O(n^2)`` for the
residuals and ``O(n)`` (kernel side) or ``O(d)`` (feature side) for the GCV error. Three
designs, as the estimators treat the intercept (``skft/_core/_exact.py``):

* ``"none"`` (no intercept): the features as they are.
* ``"free"`` (intercept, ``alpha > 0``, or least squares): the intercept is unpenalised, so
  the fit is ridge on the centred features and residuals, and the hat matrix is
  ``H = 1 1'/n + H_c``. On the kernel side the centred Gram ``G_c = J X X' J`` (``J`` the
  centring projection) is factorised and its null direction ``1`` set aside.
* ``"augmented"`` (intercept, ``alpha = 0``): the intercept is one more coordinate with
  constant feature 1, moved from ``b0`` by the least-norm change: the kernel is
  ``X X' + 1 1'`` (the design ``[X, 1]``; for ``n > d + 1`` its ``alpha = 0`` fit is least
  squares with an intercept, the same as ``"free"``). Along ``alpha > 0`` it is ridge with
  the intercept pulled too: not an estimator's model, a path to read the design's curve.

Kernel side (``n`` rows, ``n <=`` the number of coordinates): with ``K = G + n alpha I`` and
``G = U diag(s) U'``, ``e_i = (K^-1 r)_i / (K^-1)_ii`` and
``GCV = n ||K^-1 r||^2 / tr(K^-1)^2``, both finite at ``alpha = 0`` when ``G`` is invertible
(the continuous limit). Feature side: ``H = Z (Z'Z + n alpha I)^-1 Z'`` and
``e_i = (r - H r)_i / (1 - H_ii)``, ``GCV = mean((r - H r)^2) / (1 - tr(H)/n)^2``; at
``alpha = 0`` with rank-deficient features ``(Z'Z)^-1`` is the pseudo-inverse.

For ``alpha > 0`` this is the leave-one-out error of the fit whose total penalty ``n alpha`` is
held fixed when a row is left out (the usual convention of ridge LOO).
"""

from dataclasses import dataclass

import numpy as np

from .._core._dense_linalg import eigh

__all__ = ["GramCache", "GramFactor", "LeaveOneOut", "SpectralTerms", "loo_residuals"]

_RANK_TOL = 1e-10


@dataclass(frozen=True)
class LeaveOneOut:
    """Leave-one-out and GCV errors of the fine-tuned model, for one or several ``alpha``.

    Attributes
    ----------
    alpha : float or ndarray of shape (n_alphas,)
        The pull toward the start.
    residuals : ndarray of shape (n_samples,) or (n_alphas, n_samples)
        ``e_i = y_i - f_{-i}(x_i)``: the error on sample ``i`` of the model fine-tuned on the
        other ``n - 1`` samples.
    mse : float or ndarray of shape (n_alphas,)
        ``mean(e_i^2)``, the leave-one-out estimate of the fine-tuned test MSE.
    gcv : float or ndarray of shape (n_alphas,)
        Generalised cross-validation ``n ||P r||^2 / tr(P)^2`` (kernel side) or
        ``mean((r - H r)^2) / (1 - tr(H)/n)^2`` (feature side); finite at ``alpha = 0``
        because it is taken as the limit.
    side : {"kernel", "features"}
        Which Gram matrix was factorised.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import loo_residuals
    >>> X = np.random.default_rng(0).standard_normal((10, 30))
    >>> loo = loo_residuals(X, np.ones(10), 0.5)
    >>> loo.side, loo.residuals.shape
    ('kernel', (10,))
    """

    alpha: float | np.ndarray
    residuals: np.ndarray
    mse: float | np.ndarray
    gcv: float | np.ndarray
    side: str

    def error_rate(self, y):
        """Leave-one-out misclassification rate for labels ``y`` in {-1, +1}.

        The leave-one-out prediction is ``y_i - e_i`` and sample ``i`` is misclassified when
        its sign differs from ``y_i`` (a tie at exactly 0 counts as an error).

        Parameters
        ----------
        y : array-like of shape (n_samples,)
            Labels coded as -1/+1.

        Returns
        -------
        float or ndarray of shape (n_alphas,)

        Examples
        --------
        >>> import numpy as np
        >>> from skft.advice import loo_residuals
        >>> rng = np.random.default_rng(0)
        >>> X = rng.standard_normal((20, 50))
        >>> y = np.sign(X[:, 0] + 0.1)
        >>> loo = loo_residuals(X, y, alpha=0.1)
        >>> 0.0 <= loo.error_rate(y) <= 1.0
        True
        """
        y = np.asarray(y, dtype=float)
        pred = y - self.residuals
        rate = (np.sign(pred) != y).mean(axis=-1)
        return float(rate) if np.ndim(rate) == 0 else rate


@dataclass(frozen=True)
class SpectralTerms:
    """Energies of the residuals along the eigen-directions of a design (see
    :meth:`GramFactor.spectral`): ``eigenvalues`` and ``energy`` per direction, and on the
    feature side the energy ``perp_energy`` of the ``perp_count`` directions outside the
    column space.
    """

    n: int
    eigenvalues: np.ndarray
    energy: np.ndarray
    perp_energy: float
    perp_count: int
    feature_side: bool

    def gcv_weights(self, alphas):
        """Rows ``a`` with ``GCV(alpha) = sum_j a_j e_j + a_perp perp_energy``."""
        n = self.n
        rows, perp = [], []
        for a in np.asarray(alphas, dtype=float):
            if self.feature_side:
                w = (n * a) / (self.eigenvalues + n * a) if a > 0 else np.zeros(self.energy.size)
                total = w.sum() + self.perp_count
            else:
                if a == 0.0 and np.any(self.eigenvalues <= 0):
                    rows.append(np.full(self.energy.size, np.nan))
                    perp.append(np.nan)
                    continue
                w = 1.0 / (self.eigenvalues + n * a)
                total = w.sum()
            rows.append(n * w**2 / total**2 if total > 0 else np.full(w.size, np.nan))
            perp.append(n / total**2 if total > 0 else np.nan)
        return np.array(rows), np.array(perp)

    def covariance(self, rows, perp):
        """Covariance of the quadratic forms ``rows @ e + perp * perp_energy``."""
        c2 = self.energy**2 / 3.0
        cov = 2.0 * (rows * c2) @ rows.T
        if self.perp_count > 0:
            cov += 2.0 * np.outer(perp, perp) * self.perp_energy**2 / self.perp_count
        return cov


class GramFactor:
    """One eigendecomposition of the smaller Gram matrix of a design, shared by all ``alpha``.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Features (not modified).
    intercept : {"none", "free", "augmented"}, default="none"
        How the intercept enters (see the module docstring).
    raw_gram : ndarray of shape (n_samples, n_samples), default=None
        ``X X'`` when already computed (kernel side only; not modified): the designs of one
        ``X`` share it.
    intercept_scaling : float, default=1.0
        Value ``t`` of the constant feature of the ``"augmented"`` design ``[X, t 1]``
        (scikit-learn's name for liblinear's synthetic feature). It is 1 for the estimators'
        model on the user's features; :func:`should_finetune`, which works on ``X / s``, passes
        ``1 / s`` so that the design is the user's one divided by ``s`` as a whole.

    Attributes
    ----------
    side : {"kernel", "features"}
        ``"kernel"`` when ``n_samples`` is at most the number of coordinates of the design.
    eigenvalues : ndarray
        Eigenvalues (ascending, clipped at 0) of the factorised Gram matrix of the design the
        theory sees: ``X X'`` (or ``X'X``), the centred one for ``"free"`` (its null direction
        ``1`` removed on the kernel side) and ``[X, 1]`` for ``"augmented"``.
    gram : ndarray of shape (n_samples, n_samples) or None
        The kernel-side Gram matrix of that design (None on the feature side).
    row_sq : ndarray of shape (n_samples,)
        Squared norms of the design's rows (centred for ``"free"``).
    n_features : int
        Number of coordinates of the design (``d + 1`` for ``"augmented"``).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import GramFactor
    >>> rng = np.random.default_rng(0)
    >>> X, r = rng.standard_normal((20, 50)), rng.standard_normal(20)
    >>> f = GramFactor(X, intercept="free")
    >>> gcv, _ = f.gcv_terms(r, np.array([0.1, 1.0]))
    >>> f.side, gcv.shape
    ('kernel', (2,))
    """

    def __init__(self, X, intercept="none", raw_gram=None, *, intercept_scaling=1.0):
        if intercept not in ("none", "free", "augmented"):
            raise ValueError(f"intercept must be 'none', 'free' or 'augmented', got {intercept!r}.")
        X = np.asarray(X, dtype=float)
        n, d = X.shape
        self.n = n
        self.intercept = intercept
        self.intercept_scaling = t = float(intercept_scaling)
        self.n_features = d + 1 if intercept == "augmented" else d
        kernel = n <= d + (intercept != "none")
        self.side = "kernel" if kernel else "features"
        self.X = X
        if kernel:
            gram = X @ X.T if raw_gram is None else raw_gram
            if intercept == "augmented":
                gram = gram + t * t
            elif intercept == "free":
                g = gram.mean(axis=1)
                gram = gram - g[:, None] - g[None, :] + g.mean()
            self.gram = gram
            self.row_sq = np.diag(gram).copy()
            if intercept == "free":
                # lift the null direction 1 above the spectrum, then set it aside
                lift = float(np.trace(gram)) + 1.0
                s, U = eigh(gram + lift / n)
                s, U = s[:-1], U[:, :-1]
            else:
                s, U = eigh(gram)
            self.eigenvalues = np.maximum(s, 0.0)
            self._U = U
        else:
            self.gram = None
            if intercept == "free":
                Xc = X - X.mean(axis=0)
            elif intercept == "augmented":  # the design (x, 1), nothing free
                Xc = np.hstack([X, np.full((n, 1), t)])
            else:
                Xc = X
            self.row_sq = np.einsum("ij,ij->i", Xc, Xc)
            s, V = eigh(Xc.T @ Xc)
            self.eigenvalues = np.maximum(s, 0.0)
            self._XV = Xc @ V

    # ------------------------------------------------------------------ helpers
    def _target(self, r):
        r = np.asarray(r, dtype=float)
        return r - r.mean() if self.intercept == "free" else r

    def _null(self):
        s = self.eigenvalues
        return s <= _RANK_TOL * max(s.max(initial=0.0), np.finfo(float).tiny)

    def apply_gram(self, v):
        """``Z Z' v`` for the design ``Z`` (centred for ``"free"``)."""
        if self.gram is not None:
            return self.gram @ v
        return self._XV @ (self._XV.T @ v)

    # ------------------------------------------------------------------ GCV curve
    def gcv_terms(self, r, alphas):
        """GCV errors along ``alphas`` and the per-sample terms ``g`` with ``GCV = mean(g^2)``.

        ``g_i = (r - H r)_i / (1 - tr(H)/n)`` (its ``alpha -> 0`` limit on the kernel side).
        Points where GCV is undefined (``alpha = 0`` with a singular kernel Gram matrix) are
        ``nan``.

        Parameters
        ----------
        r : ndarray of shape (n_samples,)
        alphas : ndarray of shape (n_alphas,)

        Returns
        -------
        gcv : ndarray of shape (n_alphas,)
        g : ndarray of shape (n_alphas, n_samples)
        """
        rt = self._target(r)
        alphas = np.asarray(alphas, dtype=float)
        n = self.n
        s = self.eigenvalues
        g_out = np.full((alphas.size, n), np.nan)
        if self.side == "kernel":
            U = self._U
            Ur = U.T @ rt
            singular = bool(np.any(self._null()))
            for j, a in enumerate(alphas):
                if a == 0.0 and singular:
                    continue
                inv = 1.0 / (s + n * a)
                g_out[j] = (n / inv.sum()) * (U @ (inv * Ur))
        else:
            XV = self._XV
            z = XV.T @ rt
            null = self._null()
            extra = 1.0 if self.intercept == "free" else 0.0
            for j, a in enumerate(alphas):
                if a == 0.0:
                    inv = np.where(null, 0.0, 1.0 / np.where(null, 1.0, s))
                else:
                    inv = 1.0 / (s + n * a)
                res = rt - XV @ (inv * z)
                denom = 1.0 - (extra + np.sum(s * inv)) / n
                if denom > 1e-12:
                    g_out[j] = res / denom
        return np.mean(g_out**2, axis=1), g_out

    def spectral(self, r):
        """The residuals' energy per eigen-direction of the design, for quadratic forms.

        Every statistic the profile is fitted to (GCV along ``alpha``, ``mean(r^2)``, the
        Dicker statistic) is a quadratic form ``r' M r`` whose matrix is diagonal in the
        eigenbasis of the design's Gram matrix (plus, on the feature side, a multiple of the
        identity on the complement of the column space). Their covariance follows as for
        Gaussian quadratic forms, ``Cov(r'Ar, r'Br) = 2 tr(A C B C)``, with ``C`` diagonal in
        that basis: the energy ``e_j = (u_j' r)^2`` of each direction estimates ``c_j``
        (``c_j^2`` by ``e_j^2 / 3``) and the complement's energy is spread evenly over it.
        This carries the dependence between samples that per-sample standard errors miss
        (a few directions dominate GCV near the interpolation threshold).

        Parameters
        ----------
        r : ndarray of shape (n_samples,)

        Returns
        -------
        SpectralTerms
        """
        rt = self._target(r)
        s = self.eigenvalues
        if self.side == "kernel":
            e = (self._U.T @ rt) ** 2
            return SpectralTerms(self.n, s, e, 0.0, 0, False)
        keep = ~self._null()
        z = self._XV.T @ rt
        e = np.where(keep, z**2 / np.where(keep, s, 1.0), 0.0)[keep]
        extra = 1 if self.intercept == "free" else 0
        perp = max(float(rt @ rt - e.sum()), 0.0)
        count = self.n - extra - int(keep.sum())
        return SpectralTerms(self.n, s[keep], e, perp, count, True)

    # ------------------------------------------------------------------ LOO
    def _feature_fit(self, rt, alpha):
        """Feature side: ``XV``, ``1 / (s + n alpha)`` (the pseudo-inverse at ``alpha = 0``),
        the fitted residuals and the leverages (``1/n`` added with a free intercept)."""
        XV, s, n = self._XV, self.eigenvalues, self.n
        if alpha == 0.0:
            null = self._null()
            inv = np.where(null, 0.0, 1.0 / np.where(null, 1.0, s))
        else:
            inv = 1.0 / (s + n * alpha)
        res = rt - XV @ (inv * (XV.T @ rt))
        h = (XV**2) @ inv + (1.0 / n if self.intercept == "free" else 0.0)
        return XV, inv, res, h

    def loo(self, r, alpha):
        """Leave-one-out residuals at one ``alpha`` (raises ``ValueError`` when undefined)."""
        rt = self._target(r)
        n = self.n
        s = self.eigenvalues
        if self.side == "kernel":
            if alpha == 0.0 and np.any(self._null()):
                raise ValueError(
                    "X is rank deficient on its smaller side, so the alpha=0 fine-tuned model is "
                    "not unique or its leave-one-out error is undefined; use alpha > 0."
                )
            U = self._U
            inv = 1.0 / (s + n * alpha)
            a = U @ (inv * (U.T @ rt))
            diag = (U**2) @ inv
            return a / diag, n * (a @ a) / inv.sum() ** 2
        XV, inv, res, h = self._feature_fit(rt, alpha)
        if np.any(h >= 1.0 - 1e-10):
            raise ValueError(
                "a sample has leverage 1 (it alone determines a direction of the fit), so its "
                "leave-one-out error is undefined at alpha=0; use alpha > 0."
            )
        return res / (1.0 - h), np.mean(res**2) / (1.0 - h.sum() / n) ** 2

    def group_loo(self, r, alpha, groups):
        """Leave-group-out residuals: the rows of each group left out together.

        ``e_B = (P_BB)^-1 (P r)_B`` on the kernel side (``P`` as for leave-one-out) and
        ``e_B = (I - H_BB)^-1 (r - H r)_B`` on the feature side; one ``b x b`` solve per group
        of ``b`` rows after the shared factorisation. Groups of one row are leave-one-out.

        Parameters
        ----------
        r : ndarray of shape (n_samples,)
        alpha : float
        groups : ndarray of int of shape (n_samples,)
            Group label of each row.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        rt = self._target(r)
        n = self.n
        s = self.eigenvalues
        if self.side == "kernel":
            if alpha == 0.0 and np.any(self._null()):
                raise ValueError("leave-group-out is undefined at alpha=0 on rank-deficient X.")
            U = self._U
            inv = 1.0 / (s + n * alpha)
            a = U @ (inv * (U.T @ rt))
            e = a / ((U**2) @ inv)
            for g in np.unique(groups):
                B = np.flatnonzero(groups == g)
                if B.size > 1:
                    P_BB = (U[B] * inv) @ U[B].T
                    e[B] = np.linalg.solve(P_BB, a[B])
            return e
        XV, inv, res, h = self._feature_fit(rt, alpha)
        e = res / (1.0 - h)
        for g in np.unique(groups):
            B = np.flatnonzero(groups == g)
            if B.size > 1:
                H_BB = (XV[B] * inv) @ XV[B].T
                if self.intercept == "free":
                    H_BB = H_BB + 1.0 / n
                e[B] = np.linalg.solve(np.eye(B.size) - H_BB, res[B])
        return e


class GramCache:
    """The :class:`GramFactor` of each design of one ``X``, with ``X X'`` formed once.

    The stages of one advice (spectrum, profile, leave-one-out, checks) ask for the
    factorisation of a design; the designs of one ``X`` share its kernel-side Gram product
    (the centred and the augmented kernels are ``O(n^2)`` updates of it).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice._loo import GramCache
    >>> grams = GramCache(np.random.default_rng(0).standard_normal((20, 50)))
    >>> grams.factor("free") is grams.factor("free")
    True
    """

    def __init__(self, X, *, intercept_scaling=1.0):
        self.X = np.asarray(X, dtype=float)
        self.intercept_scaling = float(intercept_scaling)
        self._raw = None
        self._factors = {}

    def kernel(self):
        """``X X'`` (computed once; never modified by its users)."""
        if self._raw is None:
            self._raw = self.X @ self.X.T
        return self._raw

    def factor(self, kind):
        """:class:`GramFactor` of the design ``kind``, computed on first use."""
        if kind not in self._factors:
            n, d = self.X.shape
            raw = self.kernel() if n <= d + (kind != "none") else None  # kernel side
            self._factors[kind] = GramFactor(self.X, intercept=kind, raw_gram=raw,
                                             intercept_scaling=self.intercept_scaling)
        return self._factors[kind]


def _design(alpha, fit_intercept, n, d):
    if not fit_intercept:
        return "none"
    return "augmented" if alpha == 0.0 and n <= d + 1 else "free"


def loo_residuals(X, r, alpha=0.0, *, fit_intercept=False, intercept_scaling=1.0):
    """Closed-form leave-one-out residuals of the model fine-tuned from ``w0``.

    Exact (no approximation) for the fine-tuned model of the module docstring, computed from
    one eigendecomposition of the smaller Gram matrix (``X X'`` if ``n <= d``, else ``X'X``),
    shared by all values of ``alpha`` (:class:`GramFactor`; with an intercept, ``alpha = 0``
    and ``n <= d + 1`` use the augmented kernel ``X X' + 1 1'``, a second factorisation).

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Target features (validated by the caller; not modified).
    r : ndarray of shape (n_samples,)
        Residuals of the pretrained model, ``y - X w0 - b0``. ``b0`` matters only at
        ``alpha = 0`` with an intercept; at ``alpha > 0`` the intercept is unpenalised.
    alpha : float or array-like of float >= 0
        Pull toward the start (same convention as the estimators: penalty
        ``alpha/2 ||w - w0||^2`` next to the mean half squared error).
    fit_intercept : bool, default=False
        Whether the fine-tuned model also fits an intercept.
    intercept_scaling : float, default=1.0
        Value of the constant feature at ``alpha = 0`` (see :class:`GramFactor`).

    Returns
    -------
    LeaveOneOut

    Raises
    ------
    ValueError
        At ``alpha = 0`` when the interpolator does not exist (``n <= d`` and linearly
        dependent rows) or a sample has leverage 1 (``n > d``).

    Examples
    --------
    >>> import numpy as np
    >>> from skft.advice import loo_residuals
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((30, 100))
    >>> w0, w_star = np.zeros(100), rng.standard_normal(100) / 10
    >>> y = X @ w_star + 0.1 * rng.standard_normal(30)
    >>> loo = loo_residuals(X, y - X @ w0, alpha=[0.0, 1.0])
    >>> loo.residuals.shape, loo.side
    ((2, 30), 'kernel')
    """
    X = np.asarray(X, dtype=float)
    alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
    if np.any(alphas < 0) or not np.all(np.isfinite(alphas)):
        raise ValueError(f"alpha must be finite and >= 0, got {alpha!r}.")
    return _loo_residuals(GramCache(X, intercept_scaling=intercept_scaling), r, alpha,
                          fit_intercept=fit_intercept)


def _loo_residuals(grams, r, alpha, *, fit_intercept):
    """:func:`loo_residuals` on the factorisations of a :class:`GramCache` (validated
    inputs)."""
    r = np.asarray(r, dtype=float)
    scalar = np.ndim(alpha) == 0
    alphas = np.atleast_1d(np.asarray(alpha, dtype=float))
    n, d = grams.X.shape
    if n < 3:
        raise ValueError(f"leave-one-out needs at least 3 samples, got n_samples={n}.")
    e, g = [], []
    for a in alphas:
        kind = _design(a, fit_intercept, n, d)
        ei, gi = grams.factor(kind).loo(r, a)
        e.append(ei)
        g.append(gi)
    e, g = np.array(e), np.array(g)
    side = "kernel" if n <= d + int(fit_intercept) else "features"
    mse = np.mean(e**2, axis=1)
    if scalar:
        return LeaveOneOut(float(alphas[0]), e[0], float(mse[0]), float(g[0]), side)
    return LeaveOneOut(alphas, e, mse, g, side)
