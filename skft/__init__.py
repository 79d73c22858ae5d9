"""skft: fine-tune pretrained linear models, and know from exact theory whether it pays.

The public names are

- :class:`WarmStartSGDRegressor`, :class:`WarmStartSGDClassifier`: estimators that start
  from pretrained coefficients and fine-tune on target data;
- :mod:`skft.theory`: the exact high-dimensional test error of the pretrained and of the
  fine-tuned model (Ghane, Akhtiamov, Hassibi, NeurIPS 2024);
- :func:`should_finetune` and :class:`FinetuneAdvice`: answer "fine-tune or keep the
  pretrained model?" from data;
- :mod:`skft.datasets`: transfer problems whose truth is known.
"""

#: The version of skft (PEP 440).
__version__ = "0.1.0.dev0"

from . import datasets, theory
from .advice import FinetuneAdvice, should_finetune
from .linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor

__all__ = [
    "FinetuneAdvice",
    "WarmStartSGDClassifier",
    "WarmStartSGDRegressor",
    "__version__",
    "datasets",
    "should_finetune",
    "theory",
]
