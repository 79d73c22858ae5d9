"""Plot of a :class:`FinetuneAdvice`: the figure of ``FinetuneCurveDisplay.from_advice``.

One style for the advice, whichever way it is drawn: ``advice.plot()`` returns the axes of
:meth:`skft.plotting.FinetuneCurveDisplay.from_advice`. The import is inside the function: the
Display sits above the advice (it draws advice, theory and estimators) and imports matplotlib
lazily itself.
"""

__all__ = ["plot_advice"]


def plot_advice(advice, ax=None):
    """Draw ``advice`` on ``ax`` (a new figure when None) and return the axes."""
    from ..plotting import FinetuneCurveDisplay

    return FinetuneCurveDisplay.from_advice(advice, ax=ax).ax_
