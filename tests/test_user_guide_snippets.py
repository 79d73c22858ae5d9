"""The ``>>>`` examples of the user guide (docs/user_guide/*.rst) run and print what they show.

Sphinx renders these pages without running them; this runs their doctests with the flags of the
package's own doctests (ELLIPSIS, NORMALIZE_WHITESPACE), so a page cannot drift from the code.
"""

import doctest
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[1] / "docs" / "user_guide").glob("*.rst"))
WITH_EXAMPLES = [p for p in PAGES if ">>> " in p.read_text()]


def test_pages_with_examples_are_found():
    names = {p.name for p in WITH_EXAMPLES}
    assert {"model_selection.rst", "not_confident.rst"} <= names


@pytest.mark.filterwarnings("ignore::skft.advice.DegenerateEstimateWarning")
@pytest.mark.parametrize("page", WITH_EXAMPLES, ids=lambda p: p.name)
def test_page_examples(page):
    text = page.read_text()
    test = doctest.DocTestParser().get_doctest(text, {}, page.name, str(page), 0)
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    out = []
    runner.run(test, out=out.append)
    assert runner.failures == 0, "".join(out)
