"""The documentation link of the estimators' HTML representation (the "?" in a notebook).

scikit-learn's ``BaseEstimator`` draws a link to the estimator's API page in its HTML repr from
three class attributes (``sklearn.utils._repr_html.base._HTMLDocumentationLinkMixin``):
``_doc_link_module`` (the top-level package the link is for: ``"skft"``),
``_doc_link_template`` (the URL, formatted with ``estimator_module`` and ``estimator_name``)
and ``_doc_link_url_param_generator`` (None: the default parameters). imbalanced-learn sets the
same two attributes on its base class. The skft API reference documents each estimator once, at
``generated/skft.<Name>.html`` (docs/api.rst: the estimators are documented under ``skft``, the
path the README imports them from), so the template names that page; ``estimator_module``
(``skft.linear_model``) is not used.
"""

__all__ = ["DOCUMENTATION_URL", "DocLinkMixin"]

#: Where the built documentation (docs/) is published; ``{version_url}`` is ``"latest"`` for a
#: development version, ``"stable"`` for a release.
DOCUMENTATION_URL = "https://skft.readthedocs.io/en/{version_url}/"


def _version_url(version):
    return "latest" if "dev" in version else "stable"


class DocLinkMixin:
    """Points the HTML repr's documentation link at the estimator's skft API page."""

    _doc_link_module = "skft"
    _doc_link_url_param_generator = None

    @property
    def _doc_link_template(self):
        from .. import __version__

        base = DOCUMENTATION_URL.format(version_url=_version_url(__version__))
        return base + "generated/skft.{estimator_name}.html"
