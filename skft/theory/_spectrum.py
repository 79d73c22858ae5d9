"""Spectrum of a covariance and the effective regularisation ``kappa``.

Everything the asymptotic formulas need from a covariance ``Sigma`` is its eigenvalues
``l_j`` and the coordinates of a few vectors in its eigenbasis. :class:`Spectrum` holds
the eigen-decomposition once so that repeated calls do not re-diagonalise, and
:func:`_solve_kappa` finds the effective regularisation ``k`` solving

    k - alpha = k * df1(k) / n,        df1(k) = sum_j l_j / (l_j + k),

for many ``(n, alpha)`` pairs at once, at O(d) cost per pair and Newton step.
"""

from dataclasses import dataclass

import numpy as np

from .._core._dense_linalg import eigh
from ..utils._validation import refuse_complex
from ._sums import _SpectralSums

__all__ = ["Spectrum", "effective_regularization"]


@dataclass(frozen=True, eq=False)
class Spectrum:
    """Eigen-decomposition of a target covariance, computed once.

    Parameters
    ----------
    eigenvalues : ndarray of shape (n_features,)
        Eigenvalues ``l_j >= 0`` of ``Sigma`` (values below ``d * eps * max(l)``
        are set to exactly zero: those directions carry no variance).
    eigenvectors : ndarray of shape (n_features, n_features) or None
        Orthonormal eigenvectors as columns (``Sigma = V diag(l) V'``), or ``None``
        when ``Sigma`` is diagonal (the eigenbasis is the canonical basis).

    Attributes
    ----------
    n_features : int
        Dimension ``d``.
    rank : int
        Number of non-zero eigenvalues: the number of directions the features span.
    trace : float
        ``tr(Sigma) = sum_j l_j``.

    Examples
    --------
    >>> import numpy as np
    >>> from skft.theory import Spectrum
    >>> spec = Spectrum.from_covariance(np.array([[2.0, 0.0], [0.0, 1.0]]))
    >>> spec.eigenvalues
    array([1., 2.])
    >>> spec.rank, spec.trace
    (2, 3.0)
    >>> spec.coords(np.array([1.0, 0.0]))  # the first axis is the 2nd eigenvector
    array([0., 1.])
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None = None

    def __post_init__(self):
        refuse_complex(self.eigenvalues, "eigenvalues")
        refuse_complex(self.eigenvectors, "eigenvectors")
        lam = np.asarray(self.eigenvalues, dtype=np.float64)
        if lam.ndim != 1 or lam.size == 0:
            raise ValueError(f"eigenvalues must be a non-empty 1-d array, got shape {lam.shape}.")
        if not np.all(np.isfinite(lam)):
            raise ValueError("eigenvalues must be finite (no NaN or inf).")
        top = float(lam.max(initial=0.0))
        tol = lam.size * np.finfo(np.float64).eps * max(top, 0.0)
        if lam.min() < -1e-8 * max(np.abs(lam).max(), np.finfo(np.float64).tiny):
            raise ValueError(
                "covariance must be positive semi-definite: it has an eigenvalue "
                f"{lam.min():.3g} < 0."
            )
        lam = np.where(lam <= tol, 0.0, lam)
        lam.setflags(write=False)
        object.__setattr__(self, "eigenvalues", lam)
        if self.eigenvectors is not None:
            vec = np.asarray(self.eigenvectors, dtype=np.float64)
            if vec.shape != (lam.size, lam.size):
                raise ValueError(
                    f"eigenvectors must have shape ({lam.size}, {lam.size}), got {vec.shape}."
                )
            vec = vec.copy() if vec is self.eigenvectors else vec
            vec.setflags(write=False)
            object.__setattr__(self, "eigenvectors", vec)

    @classmethod
    def from_covariance(cls, covariance):
        """Diagonalise a covariance given as a (d, d) matrix or a (d,) diagonal.

        Parameters
        ----------
        covariance : array-like of shape (n_features, n_features) or (n_features,)
            Symmetric positive semi-definite matrix (checked, then one
            ``numpy.linalg.eigh``), or the diagonal of a diagonal covariance (no
            decomposition: the eigenbasis is the canonical basis), or a
            :class:`Spectrum` (returned unchanged).

        Returns
        -------
        spectrum : Spectrum

        Examples
        --------
        >>> from skft.theory import Spectrum
        >>> Spectrum.from_covariance([3.0, 1.0, 0.0]).rank
        2
        """
        if isinstance(covariance, Spectrum):
            return covariance
        cov = _as_float_array(covariance, "covariance")
        if cov.ndim == 1:
            if cov.size == 0:
                raise ValueError("covariance must not be empty.")
            if np.any(cov < 0):
                raise ValueError(
                    "covariance must be positive semi-definite: its diagonal has a "
                    f"negative entry {cov.min():.3g}."
                )
            return cls(cov.copy())
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or cov.size == 0:
            raise ValueError(
                "covariance must be a square (d, d) matrix or a (d,) diagonal, got shape "
                f"{cov.shape}."
            )
        scale = max(float(np.abs(cov).max()), np.finfo(np.float64).tiny)
        if np.abs(cov - cov.T).max() > 1e-8 * scale:
            raise ValueError("covariance must be symmetric.")
        lam, vec = eigh((cov + cov.T) / 2.0)  # one BLAS thread below 1024 rows
        if lam[0] < -1e-8 * scale * cov.shape[0] ** 0.5:
            raise ValueError(
                f"covariance must be positive semi-definite: it has an eigenvalue {lam[0]:.3g} < 0."
            )
        return cls(np.clip(lam, 0.0, None), vec)

    @property
    def n_features(self):
        return int(self.eigenvalues.size)

    @property
    def rank(self):
        return int(np.count_nonzero(self.eigenvalues))

    @property
    def trace(self):
        return float(self.eigenvalues.sum())

    def coords(self, v, name="v"):
        """Coordinates ``V' v`` of a vector in the eigenbasis.

        Parameters
        ----------
        v : array-like of shape (n_features,)
        name : str, default="v"
            Name used in the error message when ``v`` has the wrong shape.

        Returns
        -------
        coords : ndarray of shape (n_features,)

        Examples
        --------
        >>> from skft.theory import Spectrum
        >>> Spectrum.from_covariance([2.0, 1.0]).coords([3.0, 4.0])
        array([3., 4.])
        """
        v = _as_float_array(v, name)
        if v.shape != (self.n_features,):
            raise ValueError(
                f"{name} must have shape ({self.n_features},) to match covariance, got {v.shape}."
            )
        if self.eigenvectors is None:
            return v.copy()
        return self.eigenvectors.T @ v


def _as_float_array(x, name):
    refuse_complex(x, name)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {type(x).__name__}.") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf).")
    return arr


def _kappa_bounds(lam, n, alpha, rank, trace, weights=None):
    """Bracket [lo, hi] of the positive root (see :func:`_solve_kappa`)."""
    hi = alpha + trace / n
    pos = lam > 0
    w = 1.0 if weights is None else weights[pos]
    inv_sum = float(np.sum(w / lam[pos])) if np.any(pos) else np.inf
    # First Newton step from k = 0 of the concave increasing h(k) (alpha = 0): a lower bound.
    lo0 = np.where(n < rank, (rank - n) / inv_sum, 0.0)
    lo = np.maximum(alpha, lo0)
    return lo, hi


def _solve_kappa(lam, n, alpha, extra1=None, extra2=None, *, binned=None, rtol=1e-12, max_iter=200,
                 weights=None):
    """Effective regularisation ``k`` for 1-d arrays ``n``, ``alpha`` of equal length.

    Solves ``h(k) = 1 - alpha/k - df1(k)/n = 0``. ``h`` is strictly increasing and concave
    in ``k > 0`` with ``h(+inf) = 1``, so the positive root is unique; it exists unless
    ``alpha = 0`` and ``n >= rank``, where ``k = 0`` (least squares). The root is bracketed
    in ``[max(alpha, lo0), alpha + tr(Sigma)/n]`` and found by Newton's method in ``log k``
    safeguarded by bisection, started from a grid of ``h`` shared by all points.

    Returns ``(k, S1, S2)``: ``S1[:, 0] = df1(k)``, ``S1[:, 1:] = sum extra1/(l + k)``,
    ``S2[:, 0] = g(k) = sum l/(l + k)^2``, ``S2[:, 1:] = sum extra2/(l + k)^2``, evaluated at
    the root (rows of zeros where ``k = 0``).

    ``weights`` (default all 1): multiplicity of each eigenvalue, so that a spectrum with
    repeated values can be passed once per distinct value (``df1``, ``g``, the rank and the
    trace count each ``l_j`` ``weights_j`` times; ``extra1``, ``extra2`` are then the sums
    over each group).
    """
    n = np.asarray(n, dtype=np.float64)
    alpha = np.asarray(alpha, dtype=np.float64)
    p = n.size
    lw = lam if weights is None else lam * weights
    rank = int(np.count_nonzero(lam)) if weights is None else float(np.sum(weights[lam > 0]))
    trace = float(lw.sum())
    cols1 = lw[:, None] if extra1 is None else np.column_stack([lw, extra1])
    cols2 = lw[:, None] if extra2 is None else np.column_stack([lw, extra2])
    sums = _SpectralSums(lam, cols1, cols2, binned=binned)
    k = np.zeros(p)
    s1_out = np.zeros((p, cols1.shape[1]))
    s2_out = np.zeros((p, cols2.shape[1]))
    if rank == 0:
        # Sigma = 0: df1 = 0, so k = alpha.
        k = alpha.copy()
        idx = np.flatnonzero(k > 0)
        if idx.size:
            s1_out[idx], s2_out[idx] = sums(k[idx])
        return k, s1_out, s2_out
    idx = np.flatnonzero(~((alpha == 0) & (n >= rank)))
    if idx.size == 0:
        return k, s1_out, s2_out
    na, aa = n[idx], alpha[idx]
    lo, hi = _kappa_bounds(lam, na, aa, rank, trace, weights)
    lo = np.maximum(lo, np.finfo(np.float64).tiny * 1e10)
    hi = np.maximum(hi, lo)
    ulo, uhi = np.log(lo), np.log(hi)
    # Starting point: linear interpolation of h on a shared log-grid (cheap: grid x d).
    n_grid = 33 if idx.size >= 8 or lam.size * 33 <= 8192 else 0
    u = 0.5 * (ulo + uhi)
    if n_grid:
        grid = np.linspace(ulo.min(), uhi.max(), n_grid)
        df1_grid = sums(np.exp(grid))[0][:, 0]
        h_grid = 1.0 - aa[:, None] * np.exp(-grid)[None, :] - df1_grid[None, :] / na[:, None]
        j = np.clip((h_grid < 0).sum(axis=1), 1, n_grid - 1)
        rows = np.arange(idx.size)
        h0, h1 = h_grid[rows, j - 1], h_grid[rows, j]
        frac = np.where(h1 > h0, -h0 / np.where(h1 > h0, h1 - h0, 1.0), 0.5)
        u = grid[j - 1] + np.clip(frac, 0.0, 1.0) * (grid[j] - grid[j - 1])
        u = np.clip(u, ulo, uhi)
    todo = np.arange(idx.size)
    for _ in range(max_iter):
        kk = np.exp(u[todo])
        s1, s2 = sums(kk)
        nt, at = na[todo], aa[todo]
        h = 1.0 - at / kk - s1[:, 0] / nt
        dh = at / kk + kk * s2[:, 0] / nt  # dh / d(log k) > 0
        ulo[todo] = np.where(h < 0, u[todo], ulo[todo])
        uhi[todo] = np.where(h > 0, u[todo], uhi[todo])
        step = -h / dh
        unew = u[todo] + step
        bad = (unew <= ulo[todo]) | (unew >= uhi[todo]) | ~np.isfinite(unew)
        unew = np.where(bad, 0.5 * (ulo[todo] + uhi[todo]), unew)
        done = ((np.abs(step) <= rtol) & ~bad) | (h == 0) | (uhi[todo] - ulo[todo] <= rtol)
        # Points that are done keep the sums evaluated at their current k.
        sel = idx[todo[done]]
        k[sel] = kk[done]
        s1_out[sel], s2_out[sel] = s1[done], s2[done]
        u[todo] = np.where(done, u[todo], unew)
        todo = todo[~done]
        if todo.size == 0:
            break
    else:  # pragma: no cover - the bracket halves at worst, 200 halvings always suffice
        raise RuntimeError("effective regularisation did not converge.")
    return k, s1_out, s2_out


def _check_n_alpha(n_samples, alpha):
    """Validate and broadcast ``n_samples`` (> 0) and ``alpha`` (>= 0)."""
    n = _as_float_array(n_samples, "n_samples")
    if np.any(n <= 0):
        raise ValueError(f"n_samples must be > 0, got {np.min(n)!r}.")
    refuse_complex(alpha, "alpha")
    try:
        a = np.asarray(alpha, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"alpha must be numeric, got {type(alpha).__name__}.") from exc
    if np.any(np.isnan(a)):
        raise ValueError("alpha must not be NaN.")
    if np.any(a < 0):
        raise ValueError(f"alpha must be >= 0, got {np.min(a)!r}.")
    if np.any(np.isinf(a)):
        raise ValueError("alpha must be finite (alpha = inf is the pretrained model).")
    try:
        n, a = np.broadcast_arrays(n, a)
    except ValueError as exc:
        raise ValueError(
            f"n_samples (shape {n.shape}) and alpha (shape {a.shape}) must broadcast."
        ) from exc
    return n, a


def effective_regularization(covariance, n_samples, alpha=0.0):
    """Effective regularisation ``kappa`` of ridge toward the start.

    ``kappa`` is the unique non-negative solution of

    .. math:: \\kappa - \\alpha = \\frac{\\kappa}{n}\\,\\mathrm{df}_1(\\kappa), \\qquad
              \\mathrm{df}_1(\\kappa) = \\sum_j \\frac{l_j}{l_j + \\kappa},

    with ``l_j`` the eigenvalues of the covariance. For ``alpha = 0`` and ``n < rank``
    it solves ``df1(kappa) = n``; for ``alpha = 0`` and ``n >= rank`` it is 0 (least
    squares). It is the ridge that the finite sample adds implicitly, in the
    proportional limit ``n, d -> inf``.

    Parameters
    ----------
    covariance : array-like of shape (d, d) or (d,), or Spectrum
        Target covariance (matrix, diagonal, or precomputed :class:`Spectrum`).
    n_samples : float or array-like
        Number of target samples ``n > 0`` (real values allowed).
    alpha : float or array-like, default=0.0
        Pull toward the start, as in the estimators' objective. Broadcast with
        ``n_samples``.

    Returns
    -------
    kappa : float or ndarray
        Same shape as ``broadcast(n_samples, alpha)``; a float for scalar inputs.

    Examples
    --------
    >>> from skft.theory import effective_regularization
    >>> effective_regularization([1.0] * 100, 50)  # isotropic: kappa = d/n - 1
    1.0
    >>> effective_regularization([1.0] * 100, 200)  # n > d, alpha = 0: least squares
    0.0
    """
    spec = Spectrum.from_covariance(covariance)
    n, a = _check_n_alpha(n_samples, alpha)
    lam, t = _normalise(spec.eigenvalues)  # kappa(Sigma, alpha) = t kappa(Sigma / t, alpha / t)
    k = t * _solve_kappa(lam, n.ravel(), a.ravel() / t)[0].reshape(n.shape)
    return float(k) if k.ndim == 0 else k


# Beyond ALPHA_CLIP times the largest eigenvalue the fine-tuned model equals the pretrained one
# to relative O(1 / ALPHA_CLIP); larger values would overflow kappa^2 in the formulas.
ALPHA_CLIP = 1e12


def _normalise(eigenvalues):
    """``(eigenvalues / t, t)`` with ``t`` a power of four near the largest eigenvalue.

    Every formula of the theory is scale-equivariant: with ``Sigma -> Sigma / t`` and
    ``alpha -> alpha / t``, ``kappa`` scales by ``1 / t``, a bias ``k^2 d' Sigma (Sigma + k)^-2 d``
    by ``1 / t`` and the ratios (``df1``, ``df2``, error rates) not at all. Working at unit scale
    keeps squares such as ``kappa^2`` and ``l^2`` far from overflow and underflow for covariance
    scales anywhere in float64; ``t`` is a power of four so that ``t`` and ``sqrt(t)`` rescale
    exactly. It is read off the exponent of the largest eigenvalue (``top = m 2^e``, ``m`` in
    ``[1/2, 1)``; ``t = 4^floor((e - 1)/2)``, so ``top / t`` is in ``[1, 4)`` and ``t`` is finite
    for every finite ``top``): eigenvalues scaled by
    a power of four give ``t`` scaled by it, exactly, and unit eigenvalues give ``t = 1``.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    top = float(np.max(lam, initial=0.0))
    if not top > 0:
        return lam, 1.0
    t = float(np.ldexp(1.0, 2 * ((int(np.frexp(top)[1]) - 1) // 2)))
    return lam / t, t


def _clip_alpha(eigenvalues, alpha):
    """``alpha`` capped at ``ALPHA_CLIP * max(eigenvalues)`` (same result to ~1e-12)."""
    top = float(np.max(eigenvalues)) if np.size(eigenvalues) else 0.0
    return np.minimum(alpha, ALPHA_CLIP * (top if top > 0 else 1.0))
