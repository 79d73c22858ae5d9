"""The API reference (docs/api.rst) documents every public object of skft, with its methods.

The reference lists objects in ``autosummary`` blocks under ``.. currentmodule::``; each class page
comes from ``docs/_templates/autosummary/class.rst``. Read both as text (no Sphinx needed) and
compare with the ``__all__`` of every public module, by object identity: an object exported by two
modules (``skft.WarmStartSGDRegressor is skft.linear_model.WarmStartSGDRegressor``) is
documented once.
"""

import importlib
import importlib.util
import inspect
import re
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PUBLIC_MODULES = [
    "skft", "skft.linear_model", "skft.advice", "skft.theory", "skft.datasets", "skft.plotting",
    "skft.dask",
]
# modules of optional extras: documented always, checked when the extra is installed
OPTIONAL = {"skft.dask": "dask"}


def _module(name):
    """The module, or None for an optional one whose extra is not installed."""
    if name in OPTIONAL and importlib.util.find_spec(OPTIONAL[name]) is None:
        return None
    return importlib.import_module(name)


def _api_entries():
    """``[(module, name)]`` listed in the autosummary blocks of api.rst, and the automodules."""
    text = (DOCS / "api.rst").read_text()
    entries, modules, current, in_summary = [], [], None, False
    for line in text.splitlines():
        if m := re.match(r"\.\. currentmodule:: (\S+)", line):
            current = m.group(1)
        elif m := re.match(r"\.\. automodule:: (\S+)", line):
            modules.append(m.group(1))
        elif line.startswith(".. autosummary::"):
            in_summary = True
        elif in_summary and re.match(r"^   [A-Za-z_]\w*$", line):
            entries.append((current, line.strip()))
        elif in_summary and line and not line.startswith(" "):
            in_summary = False
    return entries, modules


ENTRIES, AUTOMODULES = _api_entries()
INSTALLED = [(m, n) for m, n in ENTRIES if _module(m) is not None]


def _public_names():
    out = []
    for modname in PUBLIC_MODULES:
        module = _module(modname)
        out += [(modname, name) for name in getattr(module, "__all__", [])]
    return out


def test_every_api_entry_imports():
    assert len(ENTRIES) > 30
    for module, name in INSTALLED:
        assert hasattr(importlib.import_module(module), name), f"api.rst lists {module}.{name}"


@pytest.mark.parametrize("module, name", _public_names(), ids=lambda v: v)
def test_public_name_is_in_the_api_reference(module, name):
    obj = getattr(importlib.import_module(module), name)
    if isinstance(obj, types.ModuleType):
        assert obj.__name__ in AUTOMODULES, f"module {obj.__name__} has no section in api.rst"
        return
    documented = [f"{m}.{n}" for m, n in INSTALLED if getattr(importlib.import_module(m), n) is obj]
    assert documented, f"{module}.{name} is public but not in docs/api.rst"


def test_every_public_module_has_a_section():
    assert sorted(AUTOMODULES) == sorted(PUBLIC_MODULES)


def test_no_object_is_documented_twice():
    # two pages for one object would make Sphinx warn about a duplicate description
    objs = [getattr(importlib.import_module(m), n) for m, n in INSTALLED]
    dupes = [f"{m}.{n}" for (m, n), o in zip(INSTALLED, objs, strict=True)
             if sum(p is o for p in objs) > 1 and not isinstance(o, str | int | float)]
    assert not dupes


def _template_options(name):
    text = (DOCS / "_templates" / "autosummary" / name).read_text()
    excluded = set()
    if m := re.search(r":exclude-members: (.*)", text):
        excluded = {s.strip() for s in m.group(1).split(",")}
    return text, excluded


def test_class_pages_document_methods_and_inherited_methods():
    text, excluded = _template_options("class.rst")
    assert "   :members:" in text and "   :inherited-members:" in text
    for module, name in INSTALLED:
        cls = getattr(importlib.import_module(module), name)
        if not inspect.isclass(cls):
            continue
        methods = {m for m, v in inspect.getmembers(cls)
                   if not m.startswith("_") and (callable(v) or isinstance(v, property))}
        # what the issue names: these must be on the pages
        for must in ("fit", "partial_fit", "predict", "predict_proba", "decision_function",
                     "predict_asymptotic_error", "summary", "to_dict", "plot", "from_estimator",
                     "from_advice", "from_theory"):
            if must in methods:
                assert must not in excluded, f"{module}.{name}.{must} excluded from its page"


def test_the_methods_the_issue_names_exist():
    from skft import FinetuneAdvice, WarmStartSGDClassifier, WarmStartSGDRegressor
    from skft.plotting import FinetuneCurveDisplay

    for cls, names in [
        (WarmStartSGDRegressor, ["fit", "partial_fit", "predict", "predict_asymptotic_error"]),
        (WarmStartSGDClassifier, ["fit", "partial_fit", "predict_proba",
                                  "predict_asymptotic_error"]),
        (FinetuneAdvice, ["summary", "to_dict", "plot"]),
        (FinetuneCurveDisplay, ["from_estimator", "from_advice", "from_theory", "plot"]),
    ]:
        for name in names:
            assert inspect.getdoc(getattr(cls, name)), f"{cls.__name__}.{name} has no docstring"


def test_html_repr_links_to_the_estimator_api_page():
    # the page autosummary writes for an entry is generated/<currentmodule>.<name>.html
    from skft import WarmStartSGDClassifier, WarmStartSGDRegressor

    pages = {getattr(importlib.import_module(m), n): f"generated/{m}.{n}.html"
             for m, n in INSTALLED if inspect.isclass(getattr(importlib.import_module(m), n))}
    for cls in (WarmStartSGDRegressor, WarmStartSGDClassifier):
        est = cls()
        link = est._get_doc_link()
        assert link.startswith("https://") and link.endswith("/" + pages[cls])
        assert f'href="{link}"' in est._repr_html_()
