"""Every public object has a numpydoc docstring with its parameters and a running Examples section.

The doctests themselves run through ``--doctest-modules`` (pyproject.toml); this test checks that
each public object *has* one, and that every parameter of its signature is documented.
"""

import inspect
import re

import pytest

import skft
import skft.advice
import skft.datasets
import skft.linear_model
import skft.plotting
import skft.theory


def _optional_modules():
    try:  # the optional extra skft[dask]
        import skft.dask
    except ImportError:
        return ()
    return (skft.dask,)


def _public_objects():
    seen = {}
    for module in (skft, skft.theory, skft.datasets, skft.advice, skft.linear_model,
                   skft.plotting, *_optional_modules()):
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", obj)
    return sorted(seen.items())


PUBLIC = _public_objects()


def _documented_names(doc):
    # numpydoc parameter lines: "name : type" (several names may share a line: "a, b : int")
    names = set()
    for line in doc.splitlines():
        m = re.match(r"^\s*([\w*][\w, *]*?)\s*:(\s|$)", line)
        if m:
            names.update(part.strip().lstrip("*") for part in m.group(1).split(","))
    return names


def test_public_api_is_not_empty():
    assert len(PUBLIC) > 20


@pytest.mark.parametrize("qualname, obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_docstring_has_examples(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{qualname} has no docstring"
    assert re.search(r"^Examples\n-{8}", doc, flags=re.M), f"{qualname} has no Examples section"
    assert ">>> " in doc.split("Examples", 1)[1], f"{qualname}: Examples has no doctest"


@pytest.mark.parametrize("qualname, obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_parameters_are_documented(qualname, obj):
    if inspect.isclass(obj) and issubclass(obj, BaseException):
        return  # exceptions and warnings take the message only
    if inspect.isclass(obj) and getattr(obj, "__dataclass_fields__", None):
        params = list(obj.__dataclass_fields__)
    else:
        target = obj.__init__ if inspect.isclass(obj) else obj
        params = [p for p in inspect.signature(target).parameters if p not in ("self", "cls")]
    doc = inspect.getdoc(obj)
    documented = _documented_names(doc)
    if inspect.isclass(obj) and "other parameters" in doc.lower():
        return  # documented by reference to a sibling class (e.g. the classifier)
    missing = [p for p in params if p not in documented and not p.startswith("_")]
    assert not missing, f"{qualname}: parameters/fields not documented: {missing}"
