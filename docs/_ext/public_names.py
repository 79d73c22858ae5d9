"""Resolve a reference to any public path of an skft object to the page that documents it.

skft exports some objects from two public modules (``skft.WarmStartSGDRegressor`` is also
``skft.linear_model.WarmStartSGDRegressor``; ``skft.should_finetune`` is also
``skft.advice.should_finetune``); the API reference documents each object once, under the path
the README imports it from. A docstring may use either path, or a bare name inside its own
package (``:func:`loo_residuals``` in a docstring of ``skft.advice``). Sphinx looks the target
up under the documented path only; this ``missing-reference`` handler maps

- a dotted ``skft...`` path to the documented path of the same Python object, and
- a bare name to the documented object with that last component, when there is exactly one.

Anything else stays unresolved, and ``nitpicky = True`` with ``-W`` makes the build fail on it.
"""

from import_object import import_object


def _documented(domain):
    """``{id(object): documented name}`` over the skft objects of the Python domain."""
    out = {}
    for name, *_ in domain.get_objects():
        if name.startswith("skft"):
            try:
                out.setdefault(id(import_object(name)), name)
            except (ImportError, AttributeError):
                continue
    return out


def resolve(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"]
    domain = env.get_domain("py")
    new = None
    if target.startswith("skft."):
        try:
            obj = import_object(target)
        except (ImportError, AttributeError):
            return None
        new = _documented(domain).get(id(obj))
    elif "." not in target:
        hits = {name for name, *_ in domain.get_objects()
                if name.startswith("skft") and name.rsplit(".", 1)[-1] == target}
        new = hits.pop() if len(hits) == 1 else None
    if new is None or new == target:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], new, node,
                               contnode)


def setup(app):
    app.connect("missing-reference", resolve)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
