"""Intersphinx inventories of Python, NumPy, SciPy and scikit-learn written at build time.

Why: CI builds the documentation with ``-W`` and no network, so intersphinx cannot download
the projects' ``objects.inv``, and no package registry ships them (Debian's ``*-doc`` packages
have inventories of older releases, without e.g. ``sklearn.frozen``). Instead this module lists
the outside objects the skft documentation refers to, checks that each one exists in the
installed library (an import, so a renamed object fails the build), and writes one small
inventory per project with the URL of the object's page in that project's online reference.
Intersphinx then reads these local files: links point at the real pages, nothing is fetched.

Adding a reference to a new outside object: the build (``nitpicky = True``, ``-W``) fails with
"reference target not found: <name>"; add the name below (the URL layout of each project is
in ``PROJECTS``) and rebuild.
"""

import importlib
import zlib
from pathlib import Path

from import_object import import_object


def _generated(name):
    """The API page layout shared by NumPy, SciPy and scikit-learn's generated pages."""
    return f"{name}.html#{name}"


# project -> (base URL, {object name: (role, URL relative to the base)})
PROJECTS = {
    "python": (
        "https://docs.python.org/3/",
        {
            **{name: ("py:class", f"library/functions.html#{name}")
               for name in ("bool", "dict", "float", "int", "list", "str", "tuple")},
            **{name: ("py:exception", f"library/exceptions.html#{name}")
               for name in ("ImportError", "RuntimeWarning", "TypeError", "UserWarning",
                            "ValueError")},
            "dataclasses.dataclass": ("py:function", "library/dataclasses.html#$"),
            "dataclasses.replace": ("py:function", "library/dataclasses.html#$"),
        },
    ),
    "numpy": (
        "https://numpy.org/doc/stable/",
        {
            "numpy.ndarray": ("py:class", "reference/generated/" + _generated("numpy.ndarray")),
            "numpy.random.Generator": ("py:class", "reference/random/generator.html#$"),
            "numpy.random.RandomState": ("py:class", "reference/random/legacy.html#$"),
        },
    ),
    "scipy": (
        "https://docs.scipy.org/doc/scipy/",
        {
            name: ("py:function", "reference/generated/" + _generated(name))
            for name in ("scipy.stats.shapiro", "scipy.linalg.eigh")
        },
    ),
    "sklearn": (
        "https://scikit-learn.org/stable/",
        {
            **{name: ("py:class", "modules/generated/" + _generated(name)) for name in (
                "sklearn.base.BaseEstimator",
                "sklearn.frozen.FrozenEstimator",
                "sklearn.linear_model.LinearRegression",
                "sklearn.linear_model.LogisticRegression",
                "sklearn.linear_model.SGDClassifier",
                "sklearn.linear_model.SGDRegressor",
                "sklearn.metrics.PredictionErrorDisplay",
                "sklearn.model_selection.GridSearchCV",
                "sklearn.model_selection.ValidationCurveDisplay",
                "sklearn.multioutput.MultiOutputRegressor",
                "sklearn.pipeline.Pipeline",
                "sklearn.preprocessing.StandardScaler",
            )},
            **{name: ("py:function", "modules/generated/" + _generated(name)) for name in (
                "sklearn.base.clone",
                "sklearn.metrics.accuracy_score",
                "sklearn.metrics.r2_score",
                "sklearn.model_selection.cross_val_score",
            )},
            # labels of scikit-learn's user guide used by docstrings inherited from its mixins
            "r2_score": ("std:label", "modules/model_evaluation.html#r2-score"),
            "accuracy_score": ("std:label", "modules/model_evaluation.html#accuracy-score"),
        },
    ),
}


def _check_exists(name, role):
    """Import ``name`` (a dotted Python path); raise if the installed library lacks it."""
    if not role.startswith("py:"):
        return
    import_object(name if "." in name else f"builtins.{name}")


def inventory_bytes(project, version, entries):
    """The bytes of a Sphinx version-2 ``objects.inv`` holding ``entries``."""
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        f"# Version: {version}\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    body = "".join(
        f"{name} {role} 1 {uri} -\n" for name, (role, uri) in sorted(entries.items())
    )
    return header.encode() + zlib.compress(body.encode())


def write_inventories(directory):
    """Write ``<project>.inv`` into ``directory``; return an ``intersphinx_mapping``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    mapping = {}
    for project, (base, entries) in PROJECTS.items():
        for name, (role, _) in entries.items():
            try:
                _check_exists(name, role)
            except (ImportError, AttributeError, KeyError) as exc:
                raise RuntimeError(
                    f"docs/_ext/offline_inventories.py lists {name!r}, which the installed "
                    f"{project} does not have ({exc!r})"
                ) from exc
        module = "builtins" if project == "python" else project
        version = getattr(importlib.import_module(module), "__version__", "3")
        path = directory / f"{project}.inv"
        path.write_bytes(inventory_bytes(project, version, entries))
        mapping[project] = (base, str(path))
    return mapping
