"""Sphinx configuration of the skft documentation.

The build must work offline: CI runs ``python -m sphinx -W --keep-going`` with no network.
Three choices follow from that, each explained where it is made below:

- MathJax is vendored (``_static/mathjax``, MathJax 3.2.2 from the npm registry), never a CDN;
- intersphinx reads inventories written at build time by ``_ext/offline_inventories.py``
  (no registry ships the projects' ``objects.inv``), so links to Python, NumPy, SciPy and
  scikit-learn objects resolve without downloading anything;
- sphinx-gallery's execution-times page loses its remote jQuery/DataTables block
  (``_ext/offline_html.py``), which also holds the checker CI runs on the built HTML.

``nitpicky = True``: every cross-reference must resolve, inside skft and outside; with ``-W`` an
unresolved one fails the build instead of rendering as plain code.

Page layout: each API object has ``generated/<documented path>.html`` (docs/api.rst); the
estimators' HTML repr links to ``generated/skft.<Name>.html`` under the URL in
``skft/utils/_doc_link.py`` (tests/test_api_reference.py checks the two agree).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.abspath(os.path.join(HERE, "..")))
sys.path.insert(0, os.path.join(HERE, "_ext"))

from offline_inventories import write_inventories  # noqa: E402

import skft  # noqa: E402

project = "skft"
author = "skft developers"
copyright = "2026, skft developers"
version = release = skft.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "offline_html",
    "public_names",
]

# --- API reference -------------------------------------------------------------------------
# The class template (_templates/autosummary/class.rst) documents every public method and
# property, inherited ones included (fit, partial_fit, predict_proba, ... live in a private
# base class); numpydoc's own member tables are off so that nothing is listed twice.
autosummary_generate = True
autodoc_typehints = "none"  # the numpydoc sections give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
nitpicky = True
templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "auto_examples/*.ipynb"]

# --- intersphinx, offline ------------------------------------------------------------------
# The inventories are generated from a list of the outside objects these pages refer to, each
# checked to exist in the installed library (see _ext/offline_inventories.py for why and how to
# add one). They are written under generated/ (ignored by git, rebuilt every run); intersphinx
# reads them from disk and never opens a network connection.
intersphinx_mapping = write_inventories(os.path.join(HERE, "generated", "_intersphinx"))

# --- maths, offline ------------------------------------------------------------------------
# MathJax 3.2.2 (Apache-2.0), the es5 "tex-chtml-full" bundle and its woff-v2 fonts, copied from
# the npm registry package mathjax@3.2.2 into _static/mathjax (see its README.md: provenance,
# checksum, how to update). Committed (about 1.7 MB) so a fresh checkout builds offline.
mathjax_path = "mathjax/tex-chtml-full.js"

html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = "skft"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" on each API page, and links from the examples' code to the API pages
    # (skft only: linking other projects would download their search index)
    "doc_module": ("skft",),
    "backreferences_dir": "generated/backreferences",
    "reference_url": {"skft": None},
}
