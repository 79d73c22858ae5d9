"""The documentation builds and reads offline (docs/_ext, docs/conf.py, docs/_static/mathjax).

CI builds the docs with ``-W`` and no network, then runs ``docs/_ext/offline_html.py`` on the
HTML; these tests check the pieces without a Sphinx build: the checker finds what it must, the
vendored MathJax is where ``conf.py`` says, the gallery filter removes sphinx-gallery's remote
block, and every outside object of the intersphinx inventories exists in the installed library.
"""

import ast
import importlib.util
import sys
import zlib
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load(name):
    # the docs extensions import each other as top-level modules (docs/conf.py puts _ext on
    # sys.path); do the same for the time of the import only
    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(DOCS / "_ext"))
    return module


offline_html = _load("offline_html")
offline_inventories = _load("offline_inventories")


@pytest.mark.parametrize(
    "html, expected",
    [
        ('<script src="https://cdn.example/mathjax.js"></script>', 1),
        ("<script src='//cdn.example/x.js' defer></script>", 1),
        ('<SCRIPT SRC="HTTP://cdn.example/x.js"></SCRIPT>', 1),
        ('<link rel="stylesheet" href="https://cdn.example/x.css">', 1),
        ('<link href="https://cdn.example/x.css" rel="preload" as="style">', 1),
        ("<style>@import url('https://fonts.example/f.css');</style>", 1),
        ('<style scoped><link href="https://cdn.example/b.css" /></style>', 0),  # text, not a tag
        ('<style>.a { background: url(https://img.example/a.png) }</style>', 1),
        ('<script src="_static/mathjax/tex-chtml-full.js"></script>', 0),
        ('<link rel="stylesheet" href="../_static/styles/theme.css">', 0),
        ('<link rel="canonical" href="https://skft.example/page.html">', 0),  # not loaded
        ('<a href="https://scikit-learn.org/stable/">sklearn</a>', 0),  # a link, not an asset
        ('<script>var u = "https://example.org";</script>', 0),  # inline code is local
    ],
)
def test_remote_assets(html, expected):
    assert len(offline_html.remote_assets(html)) == expected


def test_scan_and_main_on_a_tree(tmp_path, capsys):
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text('<script src="_static/a.js"></script>')
    (tmp_path / "sub" / "bad.html").write_text('<script src="https://cdn.x/j.js"></script>')
    (tmp_path / "sub" / "bad.css").write_text("@import url(https://fonts.x/f.css);")
    assert sorted(offline_html.scan(tmp_path)) == ["sub/bad.css", "sub/bad.html"]
    assert offline_html.main([str(tmp_path)]) == 1
    assert "sub/bad.html: remote asset <script src=https://cdn.x/j.js>" in capsys.readouterr().out
    (tmp_path / "sub" / "bad.html").unlink()
    (tmp_path / "sub" / "bad.css").unlink()
    assert offline_html.main([str(tmp_path)]) == 0
    assert offline_html.main([str(tmp_path / "missing")]) == 2


def _conf_value(name):
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def test_mathjax_is_vendored_where_conf_points():
    path = _conf_value("mathjax_path")
    assert "//" not in path, "mathjax_path must be a local file, not a URL"
    script = DOCS / "_static" / path
    assert script.is_file() and script.stat().st_size > 500_000
    fonts = DOCS / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2"
    assert len(list(fonts.glob("MathJax_*.woff"))) >= 20  # the fonts the bundle resolves
    assert "Apache License" in (DOCS / "_static" / "mathjax" / "LICENSE").read_text()
    # the bundle looks for its fonts next to itself, not on a remote host
    assert 'resolvePath("output/chtml/fonts/woff-v2"' in script.read_text()


def test_gallery_filter_on_the_installed_sphinx_gallery(tmp_path):
    # the page as the installed sphinx-gallery writes it (docs extra; skipped without it)
    pytest.importorskip("sphinx_gallery")
    from sphinx_gallery.gen_gallery import write_computation_times
    from sphinx_gallery.gen_rst import ExampleCost

    (tmp_path / "ex").mkdir()
    cost = ExampleCost(execution_time=1.5, memory=10.0, src_file=str(tmp_path / "ex" / "plot_a.py"),
                       target_dir=str(tmp_path / "ex"))
    write_computation_times({"write_computation_times": True, "src_dir": str(tmp_path)},
                            str(tmp_path / "ex"), [cost])
    source = [(tmp_path / "ex" / "sg_execution_times.rst").read_text()]
    assert "https://" in source[0]  # what the filter is for
    offline_html._strip_gallery_block(None, "ex/sg_execution_times", source)
    assert "http" not in source[0] and "raw:: html" not in source[0]
    assert "00:01.500" in source[0] and ".. list-table::" in source[0]


def test_gallery_filter_on_sphinx_gallery_text():
    # the block as sphinx-gallery (0.17 - 0.22) writes it into sg_execution_times.rst
    rst = (
        "**00:01.500** total execution time:\n\n.. container::\n\n  .. raw:: html\n\n"
        "    <style scoped>\n"
        '    <link href="https://cdnjs.example/bootstrap.min.css" rel="stylesheet" />\n'
        "    </style>\n"
        '    <script src="https://code.example/jquery-3.7.0.js"></script>\n'
        "    <script type=\"text/javascript\" class=\"init\">\n"
        "    $(document).ready( function () {\n"
        "        $('table.sg-datatable').DataTable({order: [[1, 'desc']]});\n"
        "    } );\n    </script>\n\n"
        "  .. list-table::\n   :header-rows: 1\n\n   * - Example\n     - Time\n"
    )
    source = [rst]
    offline_html._strip_gallery_block(None, "auto_examples/sg_execution_times", source)
    assert "http" not in source[0] and "<script" not in source[0]
    assert "  .. list-table::" in source[0] and ".. container::" in source[0]
    other = [rst]
    offline_html._strip_gallery_block(None, "user_guide/theory", other)
    assert other == [rst]


def test_every_outside_object_exists_in_the_installed_libraries():
    for base, entries in offline_inventories.PROJECTS.values():
        assert base.startswith("https://") and base.endswith("/")
        for name, (role, _uri) in entries.items():
            offline_inventories._check_exists(name, role)  # raises if the library lacks it


def test_a_missing_object_fails_the_inventory(tmp_path, monkeypatch):
    bad = {"sklearn": ("https://scikit-learn.org/stable/",
                       {"sklearn.linear_model.NoSuchEstimator": ("py:class", "x.html")})}
    monkeypatch.setattr(offline_inventories, "PROJECTS", bad)
    with pytest.raises(RuntimeError, match="NoSuchEstimator"):
        offline_inventories.write_inventories(tmp_path)


def test_inventories_are_valid_sphinx_inventories(tmp_path):
    mapping = offline_inventories.write_inventories(tmp_path)
    assert sorted(mapping) == ["numpy", "python", "scipy", "sklearn"]
    raw = (tmp_path / "sklearn.inv").read_bytes()
    header, _, body = raw.partition(b"zlib.\n")
    assert header.startswith(b"# Sphinx inventory version 2\n")
    lines = zlib.decompress(body).decode().splitlines()
    assert ("sklearn.frozen.FrozenEstimator py:class 1 modules/generated/"
            "sklearn.frozen.FrozenEstimator.html#sklearn.frozen.FrozenEstimator -") in lines
    inventory = pytest.importorskip("sphinx.util.inventory")
    with open(tmp_path / "sklearn.inv", "rb") as f:
        inv = inventory.InventoryFile.load(f, "https://scikit-learn.org/stable/",
                                           lambda base, uri: base + uri)
    data = inv.data if hasattr(inv, "data") else inv
    url = data["py:class"]["sklearn.pipeline.Pipeline"]
    url = url.uri if hasattr(url, "uri") else url[2]
    assert url == ("https://scikit-learn.org/stable/modules/generated/"
                   "sklearn.pipeline.Pipeline.html#sklearn.pipeline.Pipeline")
