"""Every ``examples/plot_*.py`` runs as a plain script and is a valid sphinx-gallery file.

Each example runs in a subprocess with ``MPLBACKEND=Agg`` in a temporary working
directory; it must exit cleanly, print no warning, and write nothing but figures.
Examples that take more than ~20 s are marked ``slow`` (run them with ``-m slow``).
"""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))

# measured on 2 shared cores (CPU time / wall time under load)
SLOW = {
    "plot_paper_experiments.py": "35 s CPU, 70 s wall on a loaded 2-core machine",
}
FIGURE_SUFFIXES = {".png", ".svg", ".pdf", ".jpg", ".jpeg"}


def _param(path):
    marks = [pytest.mark.slow] if path.name in SLOW else []
    return pytest.param(path, marks=marks, id=path.name)


def test_examples_are_found():
    names = {p.name for p in EXAMPLES}
    assert {"plot_finetune_vs_scratch.py", "plot_grid_search_pipeline.py"} <= names


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name) for p in EXAMPLES])
def test_example_is_a_gallery_script(path):
    source = path.read_text()
    tree = ast.parse(source)
    doc = ast.get_docstring(tree, clean=False)
    assert doc, f"{path.name}: no module docstring"
    lines = [line for line in doc.strip().splitlines()]
    # an RST title: over- and underline of '=' around the title line, long enough
    assert set(lines[0]) == {"="} and set(lines[2]) == {"="}, f"{path.name}: no RST title"
    assert len(lines[0]) >= len(lines[1].rstrip()), f"{path.name}: title overline too short"
    assert "# %%" in source, f"{path.name}: no '# %%' cells"


@pytest.mark.parametrize("path", [_param(p) for p in EXAMPLES])
def test_example_runs(path, tmp_path):
    before = sorted(p.name for p in EXAMPLES_DIR.iterdir())
    env = {**os.environ, "MPLBACKEND": "Agg"}
    res = subprocess.run(
        [sys.executable, str(path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, f"{path.name} failed:\n{res.stderr[-3000:]}"
    assert "Traceback" not in res.stderr
    assert "Warning" not in res.stderr, f"{path.name} warns:\n{res.stderr[-3000:]}"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    others = [p.name for p in written if p.suffix.lower() not in FIGURE_SUFFIXES]
    assert not others, f"{path.name} wrote files other than figures: {others}"
    assert sorted(p.name for p in EXAMPLES_DIR.iterdir()) == before
