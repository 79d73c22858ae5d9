"""``import_object("pkg.module.Class.attr")``: the object at a dotted Python path."""

import importlib


def import_object(path):
    """Import the longest importable module prefix of ``path``, then follow attributes.

    Raises ImportError when no prefix is a module, AttributeError naming the missing part.
    """
    module, attr = path, ""
    while module:
        try:
            obj = importlib.import_module(module)
        except ImportError:
            module, _, head = module.rpartition(".")
            attr = f"{head}.{attr}" if attr else head
            continue
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
        return obj
    raise ImportError(f"no module in {path!r}")
