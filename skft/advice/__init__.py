"""Should I fine-tune? Estimates of the unknowns, leave-one-out checks and the advice."""

from ._loo import LeaveOneOut, loo_residuals

__all__ = ["LeaveOneOut", "loo_residuals"]
