import subprocess
import sys

import skft


def test_version():
    assert isinstance(skft.__version__, str)


def test_demo_runs():
    out = subprocess.run(
        [sys.executable, "-m", "skft", "demo"], capture_output=True, text=True, check=True
    )
    assert "fine-tuned" in out.stdout
