"""Numerical kernels (NumPy/SciPy only, no validation, no scikit-learn).

- :mod:`skft._core._exact`: the closed-form limit of squared-loss SGD from a start;
- :mod:`skft._core._design`: the weighted (centred / augmented) design as an operator on ``X``;
- :mod:`skft._core._dense_linalg`: Cholesky solves and condition estimates on NumPy's BLAS only;
- :mod:`skft._core._sgd`: minibatch SGD with an L2 pull toward an anchor;
- :mod:`skft._core._sgd_sparse`: its steps on CSR input in O(nnz) per step (lazy updates);
- :mod:`skft._core._losses`: the pointwise losses.
"""
