import subprocess
import sys

import skft


def test_version_and_public_names():
    assert isinstance(skft.__version__, str)
    for name in skft.__all__:
        assert getattr(skft, name) is not None


def test_demo_runs(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "skft", "demo", "--output-dir", str(tmp_path)],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    assert "fine-tuned" in out.stdout
    assert (tmp_path / "skft-demo.png").exists()


def test_layers_point_down():
    # _core and theory never import the estimators (DESIGN.md section 2)
    import pathlib

    root = pathlib.Path(skft.__file__).parent
    for sub in ("_core", "theory", "advice", "datasets"):
        for path in (root / sub).glob("*.py"):
            text = path.read_text()
            assert "linear_model" not in text.replace("sklearn.linear_model", ""), path
