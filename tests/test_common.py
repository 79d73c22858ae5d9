"""scikit-learn's estimator checks on both estimators, with documented expected failures."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skft.linear_model import WarmStartSGDClassifier, WarmStartSGDRegressor

_SGD_WEIGHTS = (
    "the SGD solver samples rows, so an integer weight equals repeating the row only in "
    "expectation, not draw by draw (scikit-learn declares the same for SGDRegressor and "
    "SGDClassifier); the exact solver passes this check"
)


def _expected_failed_checks(estimator):
    """Checks expected to fail, each with its reason."""
    uses_sgd = estimator.solver == "sgd" or estimator.loss != "squared_error"
    if uses_sgd:
        return {
            "check_sample_weight_equivalence_on_dense_data": _SGD_WEIGHTS,
            "check_sample_weight_equivalence_on_sparse_data": _SGD_WEIGHTS,
        }
    return {}


# Some check data sets are unscaled (features with a large mean), where SGD with a stable step
# converges slowly and says so with a ConvergenceWarning; that warning is the intended outcome.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@parametrize_with_checks(
    [
        WarmStartSGDRegressor(random_state=0),
        WarmStartSGDRegressor(solver="sgd", random_state=0),
        WarmStartSGDRegressor(loss="huber", alpha=0.01, random_state=0),
        WarmStartSGDClassifier(random_state=0),
        WarmStartSGDClassifier(loss="log_loss", random_state=0),
        WarmStartSGDClassifier(loss="hinge", alpha=0.01, random_state=0),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

